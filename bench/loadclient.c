// SPDX-License-Identifier: MIT
/*
 * loadclient: the one load generator of the echo benchmarks. It opens N TCP connections to an
 * echo server and drives each in a closed loop: write a message (64 bytes by default), read
 * the whole echo back, check every byte, repeat. After a warm-up it counts the round trips
 * completed inside a measured window and prints one JSON line (total round trips/s, the
 * slowest and fastest connection, errors, and the CPU use of the client, of the server
 * (--server-pid), of each CPU and of every other process, so a reader can tell whether the
 * client, the server or a neighbour was the bottleneck). Other modes: --count (a fixed number
 * of round trips per connection, for tests), --idle (open N connections and hold them silent
 * until SIGINT/SIGTERM, for the idle-memory benchmark) and --probe (wait until a server
 * accepts connections). It mirrors nothing in Go: it is the client side of every run, so it is
 * kept cheaper per round trip than any server it measures (level-triggered epoll, one read and
 * one write per round trip, no EAGAIN read; see bench/README.md).
 */
#include "bench/benchutil.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROG		"loadclient"
#define MAX_THREADS	64
#define MAX_SIZE	65536
#define CONNECT_TIMEOUT 10.0 /* seconds for one handshake (SYN retries after 1 s, 3 s) */
#define MAX_ERR_PRINTS	5    /* per run: the rest are only counted */
#define MAX_CPUS	256  /* CPUs reported in cpu_busy */

enum mode {
	MODE_ECHO,
	MODE_COUNT,
	MODE_IDLE,
	MODE_PROBE
};

struct opts {
	struct sockaddr_in addr; /* server */
	char addr_str[64];	 /* as given, for messages */
	enum mode mode;
	long conns;	 /* connections to open */
	long threads;	 /* event-loop threads (echo/count) */
	long size;	 /* message size, bytes */
	long count;	 /* MODE_COUNT: round trips per connection */
	double warmup;	 /* MODE_ECHO: seconds before the window */
	double duration; /* MODE_ECHO: seconds of the measured window */
	double hold;	 /* MODE_IDLE: seconds to hold (0: until a signal) */
	double wait;	 /* seconds the first connect may retry on ECONNREFUSED */
	bool spin;	 /* poll with timeout 0 instead of sleeping in epoll_wait */
	long server_pid; /* > 0: also sample this process's CPU time over the window */
};

/* One connection's state; owned by exactly one worker thread. */
struct conn {
	int fd;
	uint32_t id;	    /* index, written into every message */
	uint64_t seq;	    /* round trips completed */
	uint64_t mark;	    /* seq when the measured window opened */
	size_t woff;	    /* bytes of the current message written */
	size_t roff;	    /* bytes of its echo read */
	bool want_out;	    /* EPOLLOUT armed because a write came up short */
	bool done;	    /* no more messages will be sent */
	unsigned char *msg; /* the message in flight (size bytes), then its echo (size bytes) */
};

struct worker {
	pthread_t th;
	const struct opts *o;
	int epfd;
	struct conn *conns; /* this worker's slice of the connections */
	size_t n;
	size_t ndone;	  /* connections with done set */
	double t_warm;	  /* window opens (CLOCK_MONOTONIC s) */
	double t_end;	  /* window closes */
	double t_marked;  /* when this worker actually opened its window */
	double t_stopped; /* when it actually closed it */
	uint64_t errors;
	char first_err[256];
};

static volatile sig_atomic_t stop_flag;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned err_printed;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: " PROG " --connect HOST:PORT [OPTIONS]\n\n"
	    "Closed-loop echo load: each connection writes a message, reads the echo, checks it,\n"
	    "repeats. Prints one JSON line with the result.\n\n"
	    "  -a, --connect HOST:PORT   the echo server (IPv4)\n"
	    "  -c, --conns N             connections (default 1)\n"
	    "  -s, --size BYTES          message size (default 64)\n"
	    "  -t, --threads N           event-loop threads sharing the connections (default 1)\n"
	    "  -w, --warmup S            seconds before the measured window (default 1)\n"
	    "  -d, --duration S          seconds of the measured window (default 3)\n"
	    "  -n, --count N             instead of a window: exactly N round trips per "
	    "connection\n"
	    "      --idle                open the connections and hold them silent until SIGINT "
	    "or\n"
	    "                            SIGTERM (or --hold S); prints a JSON line when all are "
	    "up\n"
	    "      --hold S              with --idle: stop by itself after S seconds\n"
	    "      --probe               connect once and exit 0 (use with --wait)\n"
	    "      --wait S              retry a refused first connect for up to S seconds\n"
	    "      --spin                poll without sleeping (epoll_wait timeout 0): a client\n"
	    "                            the server never has to wake, at the price of a full CPU\n"
	    "      --server-pid PID      also report the server's CPU use over the window\n"
	    "  -h, --help                this text\n\n"
	    "examples:\n"
	    "  " PROG " --connect 127.0.0.1:8080 --conns 50 --warmup 1 --duration 3\n"
	    "  " PROG " --connect 127.0.0.1:8080 --conns 10000 --idle\n"
	    "  " PROG " --connect 127.0.0.1:8080 --probe --wait 10\n\n"
	    "exit status: 0 ok, 1 a connection failed or an echo was wrong, 2 bad usage,\n"
	    "130 interrupted.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		OPT_IDLE = 256,
		OPT_HOLD,
		OPT_PROBE,
		OPT_WAIT,
		OPT_SPIN,
		OPT_SERVER_PID
	};
	static const struct option longopts[] = {
	    {"connect", required_argument, NULL, 'a'},
	    {"conns", required_argument, NULL, 'c'},
	    {"size", required_argument, NULL, 's'},
	    {"threads", required_argument, NULL, 't'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"duration", required_argument, NULL, 'd'},
	    {"count", required_argument, NULL, 'n'},
	    {"idle", no_argument, NULL, OPT_IDLE},
	    {"hold", required_argument, NULL, OPT_HOLD},
	    {"probe", no_argument, NULL, OPT_PROBE},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {"spin", no_argument, NULL, OPT_SPIN},
	    {"server-pid", required_argument, NULL, OPT_SERVER_PID},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *addr = NULL;
	int c, rc = 0;

	*o = (struct opts){
	    .mode = MODE_ECHO, .conns = 1, .threads = 1, .size = 64, .warmup = 1, .duration = 3};
	while (!rc && (c = getopt_long(argc, argv, "a:c:s:t:w:d:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'c':
			rc = bench_parse_count(PROG, "--conns", optarg, 1, 1000000, &o->conns);
			break;
		case 's':
			rc = bench_parse_count(PROG, "--size", optarg, 1, MAX_SIZE, &o->size);
			break;
		case 't':
			rc = bench_parse_count(PROG, "--threads", optarg, 1, MAX_THREADS,
					       &o->threads);
			break;
		case 'w':
			rc = bench_parse_seconds(PROG, "--warmup", optarg, &o->warmup);
			break;
		case 'd':
			rc = bench_parse_seconds(PROG, "--duration", optarg, &o->duration);
			break;
		case 'n':
			o->mode = MODE_COUNT;
			rc = bench_parse_count(PROG, "--count", optarg, 1, 1L << 40, &o->count);
			break;
		case OPT_IDLE:
			o->mode = MODE_IDLE;
			break;
		case OPT_HOLD:
			rc = bench_parse_seconds(PROG, "--hold", optarg, &o->hold);
			break;
		case OPT_PROBE:
			o->mode = MODE_PROBE;
			break;
		case OPT_WAIT:
			rc = bench_parse_seconds(PROG, "--wait", optarg, &o->wait);
			break;
		case OPT_SPIN:
			o->spin = true;
			break;
		case OPT_SERVER_PID:
			rc = bench_parse_count(PROG, "--server-pid", optarg, 1, 1L << 30,
					       &o->server_pid);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			rc = -EINVAL;
		}
	}
	if (rc)
		return rc;
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s' (try --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (!addr) {
		fprintf(stderr, PROG ": --connect HOST:PORT is required (try --help)\n");
		return -EINVAL;
	}
	if (o->mode == MODE_ECHO && o->duration <= 0) {
		fprintf(stderr, PROG ": --duration must be more than 0 seconds\n");
		return -EINVAL;
	}
	if (o->threads > o->conns)
		o->threads = o->conns; /* a thread without connections would only spin */
	snprintf(o->addr_str, sizeof(o->addr_str), "%s", addr);
	return bench_parse_addr(PROG, addr, &o->addr);
}

/*
 * Record an error on connection c (or on the worker when c is NULL): count it, keep the first
 * message for the JSON line, print the first few to stderr. The connection is closed and marked
 * done so the run goes on with the others; the result is reported as failed at the end.
 */
static void conn_fail(struct worker *w, struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_fail(struct worker *w, struct conn *c, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char who[32] = "";

	if (c)
		snprintf(who, sizeof(who), "connection %u: ", c->id);
	w->errors++;
	if (!w->first_err[0])
		snprintf(w->first_err, sizeof(w->first_err), "%s%s", who, msg);
	pthread_mutex_lock(&err_lock);
	if (err_printed++ < MAX_ERR_PRINTS)
		fprintf(stderr, PROG ": %s: %s%s\n", w->o->addr_str, who, msg);
	pthread_mutex_unlock(&err_lock);
	if (c && c->fd >= 0) {
		close(c->fd); /* also removes it from the epoll set */
		c->fd = -1;
	}
	if (c && !c->done) {
		c->done = true;
		w->ndone++;
	}
}

/*
 * Open one connection: non-blocking connect, then wait for the handshake with poll, so that a
 * signal or a server that never answers cannot hang us. A refused connect is retried until
 * retry_until (CLOCK_MONOTONIC s), which lets --wait cover a server still starting. Returns the
 * connected fd (TCP_NODELAY, O_NONBLOCK) or -errno.
 */
static int conn_open(const struct sockaddr_in *sa, double retry_until)
{
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int err = 0;

		if (fd < 0)
			return -errno;
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) && errno != EINPROGRESS)
			err = errno;
		if (!err) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			double deadline = bench_now() + CONNECT_TIMEOUT;
			int n;

			do {
				n = poll(&pfd, 1, (int)((deadline - bench_now()) * 1000) + 1);
			} while (n < 0 && errno == EINTR && !stop_flag);
			socklen_t len = sizeof(err);
			if (n < 0)
				err = errno;
			else if (n == 0)
				err = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
				err = errno;
		}
		if (!err && bench_sock_tune(fd))
			err = errno;
		if (!err)
			return fd;
		close(fd);
		if (err != ECONNREFUSED || bench_now() >= retry_until || stop_flag)
			return -err;
		usleep(20000);
	}
}

/*
 * Open all o->conns connections, one after the other (a loopback handshake takes tens of
 * microseconds, so 10,000 take well under a second). On failure, print what failed and what
 * to do, close what was opened and return -errno.
 */
static int conns_open(const struct opts *o, struct conn *conns)
{
	double retry_until = bench_now() + o->wait;

	for (long i = 0; i < o->conns; i++) {
		int fd = conn_open(&o->addr, i == 0 ? retry_until : 0);

		if (fd < 0) {
			fprintf(stderr, PROG ": connect to %s (connection %ld of %ld): %s%s\n",
				o->addr_str, i + 1, o->conns, strerror(-fd), bench_errno_hint(-fd));
			for (long j = 0; j < i; j++)
				close(conns[j].fd);
			return fd;
		}
		conns[i].fd = fd;
		conns[i].id = (uint32_t)i;
	}
	return 0;
}

/* Fill msg with the content of round trip seq of connection id, so that echoes are checkable. */
static void msg_fill(unsigned char *msg, size_t size, uint32_t id, uint64_t seq)
{
	unsigned char hdr[12];

	memcpy(hdr, &seq, 8);
	memcpy(hdr + 8, &id, 4);
	for (size_t i = 0; i < size; i++)
		msg[i] = i < sizeof(hdr) ? hdr[i] : (unsigned char)(id * 31 + seq * 7 + i);
}

static int conn_arm_out(struct worker *w, struct conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};

	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		return -errno;
	c->want_out = on;
	return 0;
}

/* Write what is left of the current message; arm EPOLLOUT if the socket buffer is full. */
static void conn_send(struct worker *w, struct conn *c)
{
	size_t size = (size_t)w->o->size;

	while (c->woff < size) {
		ssize_t n = write(c->fd, c->msg + c->woff, size - c->woff);

		if (n > 0) {
			c->woff += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			if (!c->want_out && conn_arm_out(w, c, true))
				conn_fail(w, c, "epoll_ctl: %s", strerror(errno));
			return;
		} else {
			conn_fail(w, c, "write: %s", n < 0 ? strerror(errno) : "wrote 0 bytes");
			return;
		}
	}
	if (c->want_out && conn_arm_out(w, c, false))
		conn_fail(w, c, "epoll_ctl: %s", strerror(errno));
}

/* Start round trip c->seq, unless the run is over for this connection. */
static void conn_next(struct worker *w, struct conn *c, bool more)
{
	if (!more) {
		c->done = true;
		w->ndone++;
		return;
	}
	msg_fill(c->msg, (size_t)w->o->size, c->id, c->seq);
	c->woff = 0;
	c->roff = 0;
	conn_send(w, c);
}

/*
 * Read the echo. Level-triggered: one read per readiness, never a read that ends in EAGAIN,
 * because the next byte cannot arrive before our next write. A complete echo is compared with
 * what was sent, then the next round trip starts at once (closed loop).
 */
static void conn_recv(struct worker *w, struct conn *c, bool more)
{
	size_t size = (size_t)w->o->size;
	unsigned char *echo = c->msg + size;
	ssize_t n;

	do {
		n = read(c->fd, echo + c->roff, size - c->roff);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_fail(w, c, "%s after %llu round trips",
			  n ? strerror(errno) : "the server closed the connection",
			  (unsigned long long)c->seq);
		return;
	}
	c->roff += (size_t)n;
	if (c->roff < size)
		return;
	if (c->woff < size || memcmp(echo, c->msg, size)) {
		conn_fail(w, c, "echo of round trip %llu differs from what was sent",
			  (unsigned long long)c->seq);
		return;
	}
	c->seq++;
	conn_next(w, c, more && (w->o->mode != MODE_COUNT || c->seq < (uint64_t)w->o->count));
}

/*
 * A worker's event loop (echo and count modes). The window boundaries are absolute times
 * shared by all workers, so no thread has to tell another when to start counting; epoll_wait's
 * timeout is capped so a boundary or a signal is noticed within a few milliseconds even when
 * no connection is ready.
 */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	bool measuring = false;

	for (size_t i = 0; i < w->n; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->conns[i]};

		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->conns[i].fd, &ev))
			conn_fail(w, &w->conns[i], "epoll_ctl: %s", strerror(errno));
	}
	for (size_t i = 0; i < w->n; i++)
		if (!w->conns[i].done)
			conn_next(w, &w->conns[i], true);

	while (w->ndone < w->n) {
		double now = bench_now();

		if (!measuring && now >= w->t_warm) {
			for (size_t i = 0; i < w->n; i++)
				w->conns[i].mark = w->conns[i].seq;
			w->t_marked = now;
			measuring = true;
		}
		if (now >= w->t_end || stop_flag)
			break;
		double wait_ms = ((measuring ? w->t_end : w->t_warm) - now) * 1000 + 1;
		int timeout = w->o->spin ? 0 : wait_ms < 50 ? (int)wait_ms : 50;
		int n = epoll_wait(w->epfd, evs, sizeof(evs) / sizeof(evs[0]), timeout);
		if (n < 0 && errno != EINTR) {
			conn_fail(w, NULL, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->fd < 0)
				continue; /* failed earlier in this batch */
			if (evs[i].events & EPOLLOUT)
				conn_send(w, c);
			if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				conn_recv(w, c, true);
		}
	}
	w->t_stopped = bench_now();
	if (!measuring)
		w->t_marked = w->t_stopped;
	return NULL;
}

/*
 * CPU seconds (user + system, all threads) used so far by process pid, from /proc/PID/stat,
 * or -1 when it cannot be read (the process is gone). Resolution: one clock tick (10 ms).
 */
static double proc_cpu_seconds(long pid)
{
	char path[64], buf[1024];
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Field 2 (comm) may hold spaces and ')': parse from the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/*
 * CPU use at one instant: ours and, with --server-pid, the server's (process times), and every
 * CPU's busy and total jiffies from /proc/stat. Process times leave out the softirq work the
 * kernel charges to no task (on loopback, TCP receive runs in softirq on the sender's CPU), so
 * a CPU's busy share is the better sign of saturation when each side has its own CPU.
 */
struct cpu_sample {
	double t;			    /* CLOCK_MONOTONIC s */
	double self;			    /* our CPU seconds so far */
	double server;			    /* the server's, or -1 */
	int ncpu;			    /* CPUs read from /proc/stat */
	unsigned long long busy[MAX_CPUS];  /* jiffies not idle nor iowait */
	unsigned long long total[MAX_CPUS]; /* all jiffies */
	unsigned long long tasks;	    /* user + nice + system jiffies, all CPUs */
};

static void proc_stat_read(struct cpu_sample *cs)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[512];

	cs->ncpu = 0;
	cs->tasks = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = {0}, total = 0;
		unsigned cpu;

		if (strncmp(line, "cpu", 3) || !isdigit((unsigned char)line[3]))
			continue;
		if (sscanf(line + 3, "%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5 ||
		    cpu >= MAX_CPUS)
			continue;
		for (int i = 0; i < 8; i++)
			total += v[i];
		cs->busy[cpu] = total - v[3] - v[4]; /* fields 4 and 5: idle, iowait */
		cs->tasks += v[0] + v[1] + v[2];
		cs->total[cpu] = total;
		if ((int)cpu >= cs->ncpu)
			cs->ncpu = (int)cpu + 1;
	}
	if (f)
		fclose(f);
}

static void cpu_sample_take(const struct opts *o, struct cpu_sample *cs)
{
	cs->t = bench_now();
	cs->self = cpu_seconds();
	cs->server = o->server_pid > 0 ? proc_cpu_seconds(o->server_pid) : -1;
	proc_stat_read(cs);
}

/*
 * ,"other_cpu":X: CPUs' worth of task time that neither we nor the server used in the window,
 * i.e. how much the rest of the machine (a build, a test run) competed with the benchmark.
 * Null without --server-pid. Task time excludes irq/softirq on both sides of the difference.
 */
static void print_other_cpu(const struct cpu_sample *c0, const struct cpu_sample *c1)
{
	double span = c1->t - c0->t;

	if (c0->server < 0 || c1->server < 0 || span <= 0) {
		printf(",\"other_cpu\":null");
		return;
	}
	double all = (double)(c1->tasks - c0->tasks) / (double)sysconf(_SC_CLK_TCK);
	double other = (all - (c1->self - c0->self) - (c1->server - c0->server)) / span;
	printf(",\"other_cpu\":%.3f", other > 0 ? other : 0.0);
}

/* ,"cpu_busy":[...]: each CPU's busy share over the window (0-1). */
static void print_cpu_busy(const struct cpu_sample *c0, const struct cpu_sample *c1)
{
	printf(",\"cpu_busy\":[");
	for (int i = 0; i < c1->ncpu && i < c0->ncpu; i++) {
		unsigned long long dt = c1->total[i] - c0->total[i];

		printf("%s%.3f", i ? "," : "", dt ? (double)(c1->busy[i] - c0->busy[i]) / dt : 0.0);
	}
	printf("]");
}

/* Print the JSON result line of an echo/count run and return the exit status. */
static int report_echo(const struct opts *o, struct worker *ws, const struct cpu_sample *c0,
		       const struct cpu_sample *c1)
{
	double span_cpu = c1->t - c0->t;
	uint64_t total = 0, errors = 0;
	double rate = 0, cmin = -1, cmax = 0, window = 0;
	const char *first_err = NULL;

	for (long t = 0; t < o->threads; t++) {
		struct worker *w = &ws[t];
		double span = w->t_stopped - w->t_marked;
		uint64_t sum = 0;

		for (size_t i = 0; i < w->n; i++) {
			uint64_t k = w->conns[i].seq - w->conns[i].mark;
			double r = span > 0 ? k / span : 0;

			sum += k;
			cmin = cmin < 0 || r < cmin ? r : cmin;
			cmax = r > cmax ? r : cmax;
		}
		total += sum;
		rate += span > 0 ? sum / span : 0;
		window = span > window ? span : window;
		errors += w->errors;
		if (!first_err && w->first_err[0])
			first_err = w->first_err;
	}
	printf("{\"mode\":\"%s\",\"addr\":\"%s\",\"conns\":%ld,\"threads\":%ld,\"size\":%ld,"
	       "\"warmup_s\":%.3f,\"duration_s\":%.3f,\"round_trips\":%llu,\"rt_per_s\":%.1f,"
	       "\"conn_min_rt_per_s\":%.1f,\"conn_max_rt_per_s\":%.1f,\"client_cpu\":%.3f,"
	       "\"errors\":%llu,",
	       o->mode == MODE_COUNT ? "count" : "echo", bench_addr_str(&o->addr), o->conns,
	       o->threads, o->size, o->mode == MODE_COUNT ? 0 : o->warmup, window,
	       (unsigned long long)total, rate, cmin < 0 ? 0 : cmin, cmax,
	       span_cpu > 0 ? (c1->self - c0->self) / span_cpu : 0, (unsigned long long)errors);
	/* CPUs' worth of time the server used in the window (up to 2 on this machine). */
	if (c0->server >= 0 && c1->server >= 0 && span_cpu > 0)
		printf("\"server_cpu\":%.3f,", (c1->server - c0->server) / span_cpu);
	else
		printf("\"server_cpu\":null,");
	printf("\"first_error\":");
	if (first_err) {
		/* Our own messages: only '"' and '\' could need escaping, and they never occur. */
		printf("\"%s\"", first_err);
	} else {
		printf("null");
	}
	print_cpu_busy(c0, c1);
	print_other_cpu(c0, c1);
	printf(",\"interrupted\":%s}\n", stop_flag ? "true" : "false");
	fflush(stdout);
	if (stop_flag)
		return 130;
	return errors ? 1 : 0;
}

/*
 * Deal the connections to the threads in contiguous slices and give each thread its epoll
 * instance. In count mode the window is the whole run: it opens at once and closes when every
 * connection is done. Returns 0 or -errno (message printed).
 */
static int workers_init(const struct opts *o, struct worker *ws, struct conn *conns,
			unsigned char *bufs, double t0)
{
	double t_warm = o->mode == MODE_COUNT ? t0 : t0 + o->warmup;
	double t_end = o->mode == MODE_COUNT ? 1e300 : t_warm + o->duration;

	for (long t = 0, first = 0; t < o->threads; t++) {
		long n = o->conns / o->threads + (t < o->conns % o->threads);
		struct worker *w = &ws[t];

		*w = (struct worker){.o = o,
				     .conns = conns + first,
				     .n = (size_t)n,
				     .t_warm = t_warm,
				     .t_end = t_end};
		for (long i = 0; i < n; i++)
			conns[first + i].msg = bufs + (size_t)(first + i) * 2 * (size_t)o->size;
		first += n;
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0) {
			fprintf(stderr, PROG ": epoll_create1: %s%s\n", strerror(errno),
				bench_errno_hint(errno));
			return -errno;
		}
	}
	return 0;
}

static int run_echo(const struct opts *o)
{
	struct conn *conns = calloc((size_t)o->conns, sizeof(*conns));
	unsigned char *bufs = calloc((size_t)o->conns, 2 * (size_t)o->size);
	struct worker *ws = calloc((size_t)o->threads, sizeof(*ws));
	static struct cpu_sample c0, c1; /* 4 KiB each: off the stack */
	long started = 0;
	int rc = 1;

	if (!conns || !bufs || !ws) {
		fprintf(stderr, PROG ": out of memory for %ld connections\n", o->conns);
		goto cleanup;
	}
	if (conns_open(o, conns))
		goto cleanup;
	cpu_sample_take(o, &c0); /* count mode: the window is the whole run */
	if (workers_init(o, ws, conns, bufs, c0.t))
		goto close_all;
	for (; started < o->threads; started++) {
		int err = pthread_create(&ws[started].th, NULL, worker_run, &ws[started]);
		if (err) {
			fprintf(stderr, PROG ": pthread_create: %s\n", strerror(err));
			stop_flag = 1;
			break;
		}
	}
	if (o->mode == MODE_ECHO) {
		/* Sample our CPU time at the window's edges; this thread only sleeps meanwhile. */
		while (!stop_flag && bench_sleep_until(ws[0].t_warm) == -EINTR)
			;
		cpu_sample_take(o, &c0);
		while (!stop_flag && bench_sleep_until(ws[0].t_end) == -EINTR)
			;
	}
	if (o->mode == MODE_ECHO)
		cpu_sample_take(o, &c1); /* before the joins: the window just closed */
	for (long t = 0; t < started; t++)
		pthread_join(ws[t].th, NULL);
	if (o->mode == MODE_COUNT)
		cpu_sample_take(o, &c1);
	if (started == o->threads)
		rc = report_echo(o, ws, &c0, &c1);
close_all:
	for (long i = 0; i < o->conns; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	for (long t = 0; t < o->threads; t++)
		if (ws[t].epfd > 0)
			close(ws[t].epfd);
cleanup:
	free(ws);
	free(bufs);
	free(conns);
	return rc;
}

/*
 * Idle mode: open the connections, say so on stdout, then sit in epoll_wait until a signal
 * (through a signalfd in the same set), --hold expires or the server has closed them all. A
 * connection the server closes or resets meanwhile is counted and fails the run, since an
 * idle-memory figure is only valid if every connection was still open when it was taken.
 */
static int run_idle(const struct opts *o)
{
	struct conn *conns = calloc((size_t)o->conns, sizeof(*conns));
	int epfd = -1, sfd = -1, rc = 1;
	long closed = 0;
	sigset_t mask;

	if (!conns) {
		fprintf(stderr, PROG ": out of memory for %ld connections\n", o->conns);
		return 1;
	}
	double t0 = bench_now();
	if (conns_open(o, conns))
		goto cleanup;
	double connect_s = bench_now() - t0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epfd < 0 || sfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &sev)) {
		fprintf(stderr, PROG ": setting up epoll/signalfd: %s\n", strerror(errno));
		goto close_conns;
	}
	for (long i = 0; i < o->conns; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = &conns[i]};

		if (epoll_ctl(epfd, EPOLL_CTL_ADD, conns[i].fd, &ev)) {
			fprintf(stderr, PROG ": epoll_ctl: %s%s\n", strerror(errno),
				bench_errno_hint(errno));
			goto close_conns;
		}
	}
	printf("{\"mode\":\"idle\",\"state\":\"holding\",\"addr\":\"%s\",\"conns\":%ld,"
	       "\"connect_s\":%.3f}\n",
	       bench_addr_str(&o->addr), o->conns, connect_s);
	fflush(stdout);

	double t_end = o->hold > 0 ? bench_now() + o->hold : 0;
	bool stop = stop_flag; /* a signal before the mask went up */
	while (!stop) {
		struct epoll_event evs[64];
		int timeout = t_end ? (int)((t_end - bench_now()) * 1000) + 1 : -1;

		if (t_end && timeout <= 0)
			break;
		int n = epoll_wait(epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, PROG ": epoll_wait: %s\n", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			char buf[512];

			if (!c) {
				stop = true;
				continue;
			}
			/* The server sent something (it should not) or closed: read to tell. */
			ssize_t r = read(c->fd, buf, sizeof(buf));
			if (r > 0 || (r < 0 && errno == EAGAIN))
				continue;
			if (closed++ < MAX_ERR_PRINTS)
				fprintf(stderr, PROG ": %s: idle connection %u %s\n", o->addr_str,
					c->id, r ? strerror(errno) : "closed by the server");
			epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			c->fd = -1;
			if (closed == o->conns)
				stop = true; /* nothing left to hold */
		}
	}
	printf("{\"mode\":\"idle\",\"state\":\"stopped\",\"addr\":\"%s\",\"conns\":%ld,"
	       "\"closed_by_server\":%ld,\"errors\":%ld}\n",
	       bench_addr_str(&o->addr), o->conns, closed, closed);
	fflush(stdout);
	rc = closed ? 1 : 0;
close_conns:
	for (long i = 0; i < o->conns; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
cleanup:
	if (sfd >= 0)
		close(sfd);
	if (epfd >= 0)
		close(epfd);
	free(conns);
	return rc;
}

static int run_probe(const struct opts *o)
{
	int fd = conn_open(&o->addr, bench_now() + o->wait);

	if (fd < 0) {
		fprintf(stderr, PROG ": connect to %s: %s%s\n", o->addr_str, strerror(-fd),
			bench_errno_hint(-fd));
		return 1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct sigaction sa = {.sa_handler = on_signal};

	if (parse_opts(argc, argv, &o))
		return 2;
	/* A peer that resets must show up as EPIPE/ECONNRESET on write, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Each connection is one fd; a few more for epoll, signalfd and stdio. */
	if (bench_raise_nofile(PROG, o.mode == MODE_PROBE ? 0 : o.conns + 16 + o.threads) < 0)
		return 1;

	switch (o.mode) {
	case MODE_PROBE:
		return run_probe(&o);
	case MODE_IDLE:
		return run_idle(&o);
	default:
		return run_echo(&o);
	}
}
