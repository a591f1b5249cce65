/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the benchmark programs (bench/loadclient.c, bench/epoll_echo.c): parsing
 * "HOST:PORT" and numeric options, raising the open-file limit, the monotonic clock, and the
 * hints that turn a bare errno into a message saying what to do. Nothing here mirrors Go: these
 * programs are the baselines and the load, not the model. IPv4 only: every benchmark runs on
 * 127.0.0.1.
 */
#ifndef NPS_BENCH_BENCHUTIL_H
#define NPS_BENCH_BENCHUTIL_H

#include <netinet/in.h>
#include <stddef.h>

/*
 * Parse "HOST:PORT" (HOST a dotted IPv4 address or a name that resolves to one, PORT 0-65535)
 * into *sa. Returns 0 or -EINVAL (message already printed to stderr, prefixed with prog).
 */
int bench_parse_addr(const char *prog, const char *s, struct sockaddr_in *sa);

/* "a.b.c.d:port" of sa, in a static buffer (one caller at a time). */
const char *bench_addr_str(const struct sockaddr_in *sa);

/*
 * Parse a non-negative number of seconds ("3", "0.5") or a count within [lo, hi] for the option
 * named opt. Both return 0 or -EINVAL (message printed, prefixed with prog).
 */
int bench_parse_seconds(const char *prog, const char *opt, const char *s, double *out);
int bench_parse_count(const char *prog, const char *opt, const char *s, long lo, long hi,
		      long *out);

/*
 * Raise RLIMIT_NOFILE's soft limit to the hard limit, so that thousands of connections fit
 * without the user having to run ulimit first. When need > 0 and even the hard limit is below
 * need, print what to do and return -EMFILE. Returns the new soft limit (> 0) otherwise.
 */
long bench_raise_nofile(const char *prog, long need);

/* CLOCK_MONOTONIC in seconds (the clock the whole project uses). */
double bench_now(void);

/* Sleep until the CLOCK_MONOTONIC time t (seconds); returns early (-EINTR) on a signal. */
int bench_sleep_until(double t);

/*
 * A short "what to do" hint for errors a benchmark meets in practice (EMFILE: raise ulimit -n,
 * EADDRNOTAVAIL: widen the local port range, ECONNREFUSED: start the server), or "" when there
 * is nothing better to say than strerror.
 */
const char *bench_errno_hint(int err);

/* Set TCP_NODELAY (as Go's net package does on every TCP socket) and O_NONBLOCK on fd. */
int bench_sock_tune(int fd);

#endif /* NPS_BENCH_BENCHUTIL_H */
