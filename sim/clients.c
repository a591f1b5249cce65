// SPDX-License-Identifier: MIT
/*
 * The scenarios' clients: plain POSIX threads with blocking sockets, connecting to the address
 * the server listens on. They live outside the simulated runtime on purpose: they never appear
 * as goroutines, so everything the event log shows is the server's side, as a Go server would
 * see it.
 */
#include "sim/clients.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int client_connect(const struct sockaddr_in *to, int rcvbuf)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (rcvbuf > 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (connect(s, (const struct sockaddr *)to, sizeof(*to)) != 0) {
		if (errno == EINTR)
			continue;
		int err = -errno;
		close(s);
		return err;
	}
	return s;
}

int client_send_all(int fd, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		done += (size_t)r;
	}
	return 0;
}

int client_recv_all(int fd, void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = read(fd, (char *)buf + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ECONNRESET;
		done += (size_t)r;
	}
	return 0;
}

void client_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int clients_start(struct clients *c, int n, void *(*fn)(void *), void *args, size_t argsize)
{
	c->n = 0;
	c->threads = calloc((size_t)(n > 0 ? n : 1), sizeof(pthread_t));
	if (!c->threads)
		return -ENOMEM;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* Small stacks: a benchmark may run hundreds of clients. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < n; i++) {
		int err =
		    pthread_create(&c->threads[i], &attr, fn, (char *)args + (size_t)i * argsize);
		if (err) {
			pthread_attr_destroy(&attr);
			return -err;
		}
		c->n++;
	}
	pthread_attr_destroy(&attr);
	return 0;
}

void clients_join(struct clients *c)
{
	for (int i = 0; i < c->n; i++)
		pthread_join(c->threads[i], NULL);
	free(c->threads);
	c->threads = NULL;
	c->n = 0;
}
