// SPDX-License-Identifier: MIT
/*
 * The scenarios' clients: plain POSIX threads with blocking sockets, connecting to the address
 * the server listens on. They live outside the simulated runtime on purpose: they never appear
 * as goroutines, so everything the event log shows is the server's side, as a Go server would
 * see it.
 */
#include "sim/clients.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * Wait until s is ready for ev, or cancel (an fd, or -1) is readable: 0, -ECANCELED or -errno.
 * A socket that is ready wins over the cancel, as in net.(*netFD).connect, whose ctx.Done()
 * only matters when the wait for writability failed: a client slow to see its connect finish
 * is connected, however late it looks.
 */
static int wait_ready(int s, short ev, int cancel)
{
	struct pollfd p[2] = {{.fd = s, .events = ev}, {.fd = cancel, .events = POLLIN}};
	for (;;) {
		int n = poll(p, cancel >= 0 ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		return p[0].revents || cancel < 0 || !p[1].revents ? 0 : -ECANCELED;
	}
}

/*
 * Wait for a non-blocking connect to finish, as net.(*netFD).connect waits for writability and
 * then reads SO_ERROR; cancel readable ends the wait (DialContext's ctx.Done). 0 or -errno.
 */
static int wait_connected(int s, int cancel)
{
	for (;;) {
		int err = wait_ready(s, POLLOUT, cancel);
		if (err)
			return err;
		int e = 0;
		socklen_t len = sizeof(e);
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
			return -errno;
		if (e != EINPROGRESS && e != EALREADY && e != EINTR)
			return -e; /* 0: connected */
	}
}

/*
 * To a loopback address, each new client takes the next source address of 127.0.1.0/24 (the
 * port chosen at connect, IP_BIND_ADDRESS_NO_PORT). From 127.0.0.1 alone, thousands of clients
 * exhaust its ~28,000 ephemeral ports, and long before that the kernel's search for a free one
 * (__inet_hash_connect) costs more than everything else: 10,000 clients took 100 s of system
 * time. A failure here only leaves the kernel's own choice.
 */
static void spread_source(int s, const struct sockaddr_in *to)
{
	static _Atomic uint32_t next;
	if ((ntohl(to->sin_addr.s_addr) >> 24) != 127)
		return;
	int one = 1;
	struct sockaddr_in from = {.sin_family = AF_INET};
	from.sin_addr.s_addr = htonl(0x7f000100u | (atomic_fetch_add(&next, 1) % 254 + 1));
	if (setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) == 0)
		bind(s, (struct sockaddr *)&from, sizeof(from));
}

int client_connect(const struct sockaddr_in *to, int rcvbuf, int cancel)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	spread_source(s, to);
	if (rcvbuf > 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/*
	 * Non-blocking, then waited for, as Go's DialContext does (net.(*netFD).connect): a blocking
	 * connect whose SYN a full listen queue dropped sleeps through the kernel's SYN
	 * retransmits (1, 3, 7 ... 127 s) and nothing the run does can end it.
	 */
	int err = 0;
	if (connect(s, (const struct sockaddr *)to, sizeof(*to)) != 0)
		err = errno == EINPROGRESS || errno == EINTR ? wait_connected(s, cancel) : -errno;
	/* The clients read and write blocking. */
	if (!err && fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK) != 0)
		err = -errno;
	if (err) {
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

int client_recv_all(int fd, void *buf, size_t n, int cancel)
{
	size_t done = 0;
	while (done < n) {
		/*
		 * Read what is there; wait only with the cancel: a connection the server never had
		 * (its SYN cookie's ACK dropped by the full queue) waits for its data's retransmits.
		 */
		ssize_t r = recv(fd, (char *)buf + done, n - done, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int err = wait_ready(fd, POLLIN, cancel);
			if (err)
				return err;
			continue;
		}
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

int clients_start(struct clients *c, int n, void *(*fn)(void *), void *args, size_t argsize,
		  bool (*stop)(void *ctx), void *ctx)
{
	c->n = 0;
	c->threads = calloc((size_t)(n > 0 ? n : 1), sizeof(pthread_t));
	if (!c->threads)
		return -ENOMEM;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* Small stacks: a benchmark may run hundreds of clients. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	/* Once the run stopped, more clients would only fail too (thousands took seconds). */
	for (int i = 0; i < n && !stop(ctx); i++) {
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
