/* SPDX-License-Identifier: MIT */
/* The scenarios' client threads (sim/clients.c): blocking sockets, outside the runtime. */
#ifndef NPS_SIM_CLIENTS_H
#define NPS_SIM_CLIENTS_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * A blocking TCP socket connected to *to (rcvbuf > 0 sets SO_RCVBUF first), or -errno;
 * -ECANCELED when cancel (an fd, or -1 for none) is readable before the connection is made.
 */
int client_connect(const struct sockaddr_in *to, int rcvbuf, int cancel);
int client_send_all(int fd, const void *buf, size_t n); /* 0 or -errno */
/* 0, or -errno (-ECONNRESET at EOF, -ECANCELED once cancel, an fd or -1, is readable) */
int client_recv_all(int fd, void *buf, size_t n, int cancel);
void client_sleep_ms(int ms);

struct clients {
	pthread_t *threads;
	int n;
};
/*
 * Start n threads running fn(args + i * argsize), fewer once stop(ctx) says the run stopped
 * (c->n says how many). 0 or -errno (the ones started keep running).
 */
int clients_start(struct clients *c, int n, void *(*fn)(void *), void *args, size_t argsize,
		  bool (*stop)(void *ctx), void *ctx);
void clients_join(struct clients *c);

#endif /* NPS_SIM_CLIENTS_H */
