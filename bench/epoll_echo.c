// SPDX-License-Identifier: MIT
/*
 * epoll_echo: the ceiling of the echo benchmarks, a plain single-threaded edge-triggered epoll
 * echo server. Every connection is registered once with EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET,
 * the mask Go uses (spec section 9.5), and never modified; on readiness it reads until EAGAIN
 * and writes back what it read, so per message it makes the same system calls as Go's
 * goroutine-per-connection server (read, write, read = EAGAIN) and the measured gap between
 * the two is the cost of the runtime, not of a different syscall pattern. It leaves out all
 * the runtime: no goroutines, no deadlines, no timers, no second thread. A peer that does not
 * read its echoes is handled by keeping the unsent bytes and reading nothing more from that
 * connection until they are gone (back-pressure instead of unbounded buffering).
 */
#include "bench/benchutil.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROG	 "epoll_echo"
#define BUF_SIZE 65536 /* one read buffer for all connections: the server is single-threaded */

/* Unsent echo bytes of one connection; NULL data when there are none (the usual case). */
struct pending {
	unsigned char *data; /* malloc'd copy of what write could not take */
	size_t len;	     /* bytes in data */
	size_t off;	     /* bytes of data already written */
};

struct server {
	int epfd;
	int lfd;		  /* listening socket */
	int sfd;		  /* signalfd: SIGINT/SIGTERM end the loop */
	struct pending *pend;	  /* indexed by fd */
	size_t npend;		  /* entries in pend */
	unsigned long accepted;	  /* connections accepted so far */
	unsigned long long bytes; /* bytes echoed */
	bool emfile_said;	  /* the EMFILE advice was printed once */
	unsigned char buf[BUF_SIZE];
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: " PROG " [--listen HOST:PORT]\n\n"
	    "A plain single-threaded edge-triggered epoll echo server (the benchmark ceiling).\n"
	    "Prints 'listening on HOST:PORT' on stdout when ready; SIGINT/SIGTERM stop it and\n"
	    "print a one-line summary on stderr.\n\n"
	    "  -l, --listen HOST:PORT   address to listen on (default 127.0.0.1:0, any free port)\n"
	    "  -h, --help               this text\n\n"
	    "example:\n"
	    "  " PROG " --listen 127.0.0.1:8080\n");
}

static int listen_on(const struct sockaddr_in *sa, struct sockaddr_in *bound)
{
	int one = 1;
	socklen_t len = sizeof(*bound);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* As Go's net.Listen: a restarted server must not wait for TIME_WAIT sockets. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) || listen(fd, SOMAXCONN) ||
	    getsockname(fd, (struct sockaddr *)bound, &len)) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static void conn_close(struct server *s, int fd)
{
	if ((size_t)fd < s->npend) {
		free(s->pend[fd].data);
		s->pend[fd] = (struct pending){0};
	}
	close(fd); /* the last reference: the kernel drops it from the epoll set */
}

/* Keep the bytes write could not take; the fd-indexed table grows on demand. */
static int pending_keep(struct server *s, int fd, const unsigned char *p, size_t n)
{
	if ((size_t)fd >= s->npend) {
		size_t nn = s->npend ? s->npend : 1024;
		while (nn <= (size_t)fd)
			nn *= 2;
		struct pending *np = realloc(s->pend, nn * sizeof(*np));
		if (!np)
			return -ENOMEM;
		memset(np + s->npend, 0, (nn - s->npend) * sizeof(*np));
		s->pend = np;
		s->npend = nn;
	}
	struct pending *pd = &s->pend[fd];
	pd->data = malloc(n);
	if (!pd->data)
		return -ENOMEM;
	memcpy(pd->data, p, n);
	pd->len = n;
	pd->off = 0;
	return 0;
}

/* Write p[0..n); returns bytes written (< n when the socket is full) or -errno. */
static ssize_t write_some(int fd, const unsigned char *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);
		if (w > 0)
			done += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && errno == EAGAIN)
			break;
		else
			return w < 0 ? -errno : -EIO;
	}
	return (ssize_t)done;
}

/* Flush a connection's pending bytes. Returns 1 when some remain, 0 when none, -errno. */
static int pending_flush(struct server *s, int fd)
{
	struct pending *pd = (size_t)fd < s->npend ? &s->pend[fd] : NULL;

	if (!pd || !pd->data)
		return 0;
	ssize_t w = write_some(fd, pd->data + pd->off, pd->len - pd->off);
	if (w < 0)
		return (int)w;
	pd->off += (size_t)w;
	s->bytes += (size_t)w;
	if (pd->off < pd->len)
		return 1;
	free(pd->data);
	*pd = (struct pending){0};
	return 0;
}

/*
 * One readiness report for a connection. Edge-triggered, so the socket is drained: read until
 * EAGAIN, echoing each chunk, unless the peer stops reading and an echo stays unsent, in which
 * case reading stops too and resumes on the EPOLLOUT edge that comes when the peer drains.
 */
static void conn_event(struct server *s, int fd, uint32_t events)
{
	bool had_pending = (size_t)fd < s->npend && s->pend[fd].data;
	int rc = pending_flush(s, fd);

	if (rc)
		goto out;
	/*
	 * An EPOLLOUT-only edge with nothing pending (the peer ACKed an echo): skip the read, it
	 * would only return EAGAIN. After a flush, read even without EPOLLIN: input that came
	 * while we were not reading raised its edge back then.
	 */
	if (!had_pending && !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		ssize_t n = read(fd, s->buf, sizeof(s->buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			rc = n ? -errno : -ECONNRESET;
			goto out;
		}
		ssize_t w = write_some(fd, s->buf, (size_t)n);
		if (w < 0) {
			rc = (int)w;
			goto out;
		}
		s->bytes += (size_t)w;
		if (w < n) {
			rc = pending_keep(s, fd, s->buf + w, (size_t)(n - w));
			if (!rc)
				return; /* wait for EPOLLOUT */
			goto out;
		}
	}
out:
	if (rc < 0)
		conn_close(s, fd); /* EOF, reset or out of memory: the peer sees the close */
}

/* Accept every queued connection (edge-triggered listener: until EAGAIN). */
static void accept_all(struct server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && !s->emfile_said) {
				/* The rest stay queued; the next connection's edge retries. */
				fprintf(stderr, PROG ": accept: %s%s\n", strerror(errno),
					bench_errno_hint(errno));
				s->emfile_said = true;
			} else if (errno != EAGAIN && errno != EMFILE && errno != ENFILE) {
				fprintf(stderr, PROG ": accept: %s\n", strerror(errno));
			}
			return;
		}
		struct epoll_event ev = {
		    .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		    .data.fd = fd,
		};
		if (bench_sock_tune(fd) || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			fprintf(stderr, PROG ": setting up connection fd %d: %s\n", fd,
				strerror(errno));
			close(fd);
			continue;
		}
		s->accepted++;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	static struct server s = {.epfd = -1, .lfd = -1, .sfd = -1};
	struct sockaddr_in sa, bound;
	const char *listen_addr = "127.0.0.1:0";
	struct epoll_event evs[128];
	sigset_t mask;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s' (try --help)\n", argv[optind]);
		return 2;
	}
	if (bench_parse_addr(PROG, listen_addr, &sa))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	bench_raise_nofile(PROG, 0);

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s.lfd = listen_on(&sa, &bound);
	if (s.lfd < 0) {
		fprintf(stderr, PROG ": listen on %s: %s%s\n", listen_addr, strerror(-s.lfd),
			bench_errno_hint(-s.lfd));
		goto cleanup;
	}
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	s.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.fd = s.lfd};
	struct epoll_event sev = {.events = EPOLLIN, .data.fd = s.sfd};
	if (s.epfd < 0 || s.sfd < 0 || epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.lfd, &lev) ||
	    epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.sfd, &sev)) {
		fprintf(stderr, PROG ": setting up epoll: %s\n", strerror(errno));
		goto cleanup;
	}
	printf("listening on %s\n", bench_addr_str(&bound));
	fflush(stdout);

	for (bool running = true; running;) {
		int n = epoll_wait(s.epfd, evs, 128, -1);

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, PROG ": epoll_wait: %s\n", strerror(errno));
			goto cleanup;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == s.lfd)
				accept_all(&s);
			else if (evs[i].data.fd == s.sfd)
				running = false;
			else
				conn_event(&s, evs[i].data.fd, evs[i].events);
		}
	}
	fprintf(stderr, PROG ": stopped: %lu connections accepted, %llu bytes echoed\n", s.accepted,
		s.bytes);
	rc = 0;
cleanup:
	for (size_t fd = 0; fd < s.npend; fd++)
		free(s.pend[fd].data);
	free(s.pend);
	if (s.sfd >= 0)
		close(s.sfd);
	if (s.epfd >= 0)
		close(s.epfd);
	if (s.lfd >= 0)
		close(s.lfd);
	return rc;
}
