// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the benchmark programs (bench/benchutil.h): option parsing, the open-file
 * limit, the clock and error hints. Kept apart so that the load client and the epoll echo
 * server report the same problems with the same words.
 */
#include "bench/benchutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

int bench_parse_addr(const char *prog, const char *s, struct sockaddr_in *sa)
{
	const char *colon = strrchr(s, ':');
	char host[256];
	long port;
	char *end;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host)) {
		fprintf(stderr, "%s: bad address '%s': expected HOST:PORT, e.g. 127.0.0.1:8080\n",
			prog, s);
		return -EINVAL;
	}
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 0 || port > 65535) {
		fprintf(stderr, "%s: bad port in '%s': expected 0-65535\n", prog, s);
		return -EINVAL;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
		return 0;

	/* Not a dotted address: let the resolver try (e.g. "localhost"). */
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc || !res) {
		fprintf(stderr, "%s: cannot resolve '%s' to an IPv4 address: %s\n", prog, host,
			rc ? gai_strerror(rc) : "no address");
		return -EINVAL;
	}
	sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	return 0;
}

const char *bench_addr_str(const struct sockaddr_in *sa)
{
	static char buf[INET_ADDRSTRLEN + 8];
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
	snprintf(buf, sizeof(buf), "%s:%u", ip, ntohs(sa->sin_port));
	return buf;
}

int bench_parse_seconds(const char *prog, const char *opt, const char *s, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 86400) {
		fprintf(stderr, "%s: %s '%s': expected seconds, e.g. 3 or 0.5\n", prog, opt, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int bench_parse_count(const char *prog, const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "%s: %s '%s': expected a whole number from %ld to %ld\n", prog, opt,
			s, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

long bench_raise_nofile(const char *prog, long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		/* Failure is harmless: we keep the old soft limit and report below if short. */
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (need > 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
		fprintf(
		    stderr,
		    "%s: %ld file descriptors are needed but the limit is %lu (hard limit %lu): "
		    "raise ulimit -n (as root: ulimit -Hn %ld; ulimit -n %ld)\n",
		    prog, need, (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max, need, need);
		return -EMFILE;
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)rl.rlim_cur;
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int bench_sleep_until(double t)
{
	struct timespec ts = {.tv_sec = (time_t)t};

	ts.tv_nsec = (long)((t - ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	/* clock_nanosleep returns the error number instead of setting errno. */
	int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	return rc ? -rc : 0;
}

const char *bench_errno_hint(int err)
{
	switch (err) {
	case EMFILE:
		return " (the process ran out of file descriptors: raise ulimit -n)";
	case ENFILE:
		return " (the system ran out of file descriptors: raise fs.file-max)";
	case EADDRNOTAVAIL:
		return " (no free local port: widen net.ipv4.ip_local_port_range or wait for "
		       "TIME_WAIT sockets to expire)";
	case ECONNREFUSED:
		return " (nothing listens there: is the server running?)";
	case ETIMEDOUT:
		return " (the server did not complete the handshake: is it accepting? is its "
		       "listen backlog full?)";
	case EADDRINUSE:
		return " (another process listens there: pick another port or port 0)";
	default:
		return "";
	}
}

int bench_sock_tune(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return -errno;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -errno;
	return 0;
}
