// SPDX-License-Identifier: MIT
/*
 * A process that makes a known sequence of epoll calls, for the BPF probe tests
 * (tests/test_bpf_probes.c) and for measuring the probes' cost. It logs every call it makes, with
 * the arguments it passed and what it got back, one line each on stdout, so that a test can
 * compare every field of every kernel event with what the program really did.
 *
 *   epoll_workload [-s] demo            the sequence below
 *   epoll_workload [-s] [-c CPU] bench N K [M]
 *                                      N x epoll_wait(timeout 0) with K fds ready; with -s and
 *                                      M > 0, stop again and make M more calls
 *   epoll_workload [-s] threads T N     T threads, each N x epoll_wait(timeout 0) on one shared
 *                                      epoll fd with one eventfd ready (logs "thread tid T")
 *   epoll_workload [-s] pipes N S [T]   N pipes, each read end registered level-triggered for
 *                                      EPOLLIN alone (a self-pipe, as Go's break pipe is); the
 *                                      first one written, waited for and drained, then S
 *                                      seconds of epoll_wait(…, T ms) (default 100)
 *   epoll_workload [-s] samedata S      two socketpairs registered with the same data (7); the
 *                                      first one closed without EPOLL_CTL_DEL, the second one
 *                                      made readable, waited for and drained; then S seconds
 *                                      of epoll_wait(…, 100 ms)
 *   epoll_workload [-s] forkadd S       a socketpair's fd registered (EPOLLIN, data 1); then a
 *                                      forked child registers the other fd (EPOLLOUT, data 2)
 *                                      on the shared epoll fd and exits, and the parent waits:
 *                                      its ready entry is one it never added; then S seconds
 *                                      of epoll_wait(…, 100 ms). Logs "child added fd F"
 *   epoll_workload [-s] spawn S         an epoll fd with a pipe registered, and a child (this
 *                                      program) running `pipes 1 S 60000`; then S seconds of
 *                                      epoll_wait(…, 100 ms). Logs "child PID"
 *   epoll_workload [-s] leaderexit S    a socketpair's fd registered (EPOLLIN, data 5); then main
 *                                      calls pthread_exit, and a second thread, once the
 *                                      leader is a zombie ("leader exited; tid N goes on";
 *                                      -s stops here), starts and joins a thread that ends
 *                                      at once, writes, waits and drains as pipes does, then
 *                                      S seconds of epoll_wait(…, 100 ms), and exits with
 *                                      status 3: the process's last thread is not its leader
 *   epoll_workload [-s] exec S [PROG]   an epoll fd without CLOEXEC holding a pipe without it
 *                                      (data 0x1), set up before -s stops; then a CLOEXEC
 *                                      epoll fd with a pipe (0x11) and a socket (0x12), and the
 *                                      CLOEXEC socket's peer added to the first one (0x13);
 *                                      then execv of PROG (default: this program, by its path
 *                                      in /proc/self/exe) as "after S": a new CLOEXEC epoll fd
 *                                      and pipe (0x21), written, waited for and drained; then
 *                                      S seconds of epoll_wait(…, 100 ms). Logs "exec PATH".
 *   epoll_workload [-s] exec-thread S   the same, execv called by a second thread (which the
 *                                      kernel makes the leader). Logs "exec by tid N" too.
 *
 * -s: after the setup that must not be traced, print "stopped" and SIGSTOP ourselves, so that
 * the tracer can attach (and learn the break pipe fds) before the traced part starts.
 * -c CPU: run on that CPU only (the loss test needs every loss on one CPU's counter).
 *
 * demo: a break pipe like Go's (pipe2, O_NONBLOCK|O_CLOEXEC), epoll_create1, epoll_ctl ADD with
 * Go's mask and tagged data, MOD, DEL (NULL event), a failing ADD (EBADF), an ADD of a regular
 * file (EPERM), an ADD and a MOD whose event is
 * at an unmapped address (EFAULT), epoll_wait, epoll_pwait,
 * epoll_pwait2 (1.25 s, 0.5 ms, 0, huge, invalid and NULL timeouts), a write/read of the break pipe,
 * an EFAULT wait, a 20-entry and a 300-entry ready list (more than one ring-buffer record), a
 * failing epoll_create1, the old epoll_create (size 16, and 0: EINVAL). Log lines:
 *   pid P tid T | pipe rd R wr W | create flags F ret R | create old size S ret R
 *   ctl epfd E op O fd F events X data D ret R
 *   ctl epfd E op O fd F unread ADDRESS ret R
 *   wait sub S epfd E maxevents M timeout T ret R | ready index I events X data D
 *   write fd F count C ret R | read fd F count C ret R | bench n N k K | done
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MANY 300 /* more than two ring-buffer records of ready entries (bpf/netpoll.h) */

static struct epoll_event evs[512];

static int ret_of(long r)
{
	return r < 0 ? -errno : (int)r;
}

static void die(const char *what)
{
	fprintf(stderr, "epoll_workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int create1(int flags)
{
	int r = ret_of(epoll_create1(flags));

	printf("create flags %d ret %d\n", flags, r);
	return r;
}

/* The old call, which Redis still makes: its size must be > 0, and is otherwise ignored. */
static void create_old(int size)
{
	int r = ret_of(syscall(SYS_epoll_create, size));

	printf("create old size %d ret %d\n", size, r);
	if (r >= 0)
		close(r);
}

static int ctl(int epfd, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};
	int r = ret_of(epoll_ctl(epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev));

	if (op == EPOLL_CTL_DEL)
		events = 0, data = 0; /* nothing passed */
	printf("ctl epfd %d op %d fd %d events %u data %llu ret %d\n", epfd, op, fd, events,
	       (unsigned long long)data, r);
	return r;
}

/* An ADD or MOD whose event is at an address nobody mapped: the kernel's EFAULT. */
static void ctl_unread(int epfd, int op, int fd, uintptr_t addr)
{
	int r = ret_of(epoll_ctl(epfd, op, fd, (struct epoll_event *)addr));

	printf("ctl epfd %d op %d fd %d unread %llu ret %d\n", epfd, op, fd,
	       (unsigned long long)addr, r);
}

static void log_wait(int sub, int epfd, int maxevents, int timeout, int r,
		     const struct epoll_event *out)
{
	printf("wait sub %d epfd %d maxevents %d timeout %d ret %d\n", sub, epfd, maxevents,
	       timeout, r);
	for (int i = 0; out && i < r; i++)
		printf("ready index %d events %u data %llu\n", i, out[i].events,
		       (unsigned long long)out[i].data.u64);
}

static int wait_(int epfd, int maxevents, int timeout)
{
	int r = ret_of(epoll_wait(epfd, evs, maxevents, timeout));

	log_wait(0, epfd, maxevents, timeout, r, evs);
	return r;
}

static int pwait(int epfd, int maxevents, int timeout)
{
	int r = ret_of(epoll_pwait(epfd, evs, maxevents, timeout, NULL));

	log_wait(1, epfd, maxevents, timeout, r, evs);
	return r;
}

/*
 * glibc 2.36 has epoll_pwait2(), but calling the syscall keeps this independent of it. ts NULL:
 * block until something is ready (shown as -1, as epoll_wait's -1).
 */
static int pwait2_ts(int epfd, int maxevents, const struct timespec *ts, int shown_ms)
{
	int r = ret_of(syscall(SYS_epoll_pwait2, epfd, evs, maxevents, ts, NULL, 8));

	log_wait(2, epfd, maxevents, shown_ms, r, evs);
	return r;
}

static int pwait2(int epfd, int maxevents, long sec, long nsec, int shown_ms)
{
	struct timespec ts = {.tv_sec = sec, .tv_nsec = nsec};

	return pwait2_ts(epfd, maxevents, &ts, shown_ms);
}

static void rw(int is_write, int fd, size_t count)
{
	char buf[16] = {0};
	int r = ret_of(is_write ? write(fd, buf, count) : read(fd, buf, count));

	printf("%s fd %d count %zu ret %d\n", is_write ? "write" : "read", fd, count, r);
}

static void stop_here(int stop)
{
	if (!stop)
		return;
	printf("stopped\n");
	fflush(stdout);
	raise(SIGSTOP);
}

static int demo(int stop)
{
	int brk[2], sp1[2], sp2[2], many[MANY], epfd, bad = 9999;
	int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC); /* epoll refuses files: EPERM */
	volatile uintptr_t badaddr = 8; /* mapped by nobody; volatile: gcc would object */

	if (pipe2(brk, O_NONBLOCK | O_CLOEXEC) || socketpair(AF_UNIX, SOCK_STREAM, 0, sp1) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sp2) || file < 0)
		die("setup");
	for (int i = 0; i < MANY; i++)
		if ((many[i] = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			die("eventfd");
	printf("pipe rd %d wr %d\n", brk[0], brk[1]);
	stop_here(stop);

	epfd = create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	/* netpollinit's registration of the break pipe: level-triggered, untagged data. */
	ctl(epfd, EPOLL_CTL_ADD, brk[0], EPOLLIN, 0x00000000005a1b2cULL);
	ctl(epfd, EPOLL_CTL_ADD, sp1[0], EPOLLIN | EPOLLRDHUP, 0x1122334455667788ULL);
	/* netpollopen's: EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, data = pd << 16 | fdseq. */
	ctl(epfd, EPOLL_CTL_ADD, sp2[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	    0x7ffaf8624e400002ULL);
	ctl(epfd, EPOLL_CTL_ADD, bad, EPOLLIN, 1);
	ctl(epfd, EPOLL_CTL_ADD, file, EPOLLIN, 2);
	ctl_unread(epfd, EPOLL_CTL_ADD, sp2[1], badaddr);
	ctl_unread(epfd, EPOLL_CTL_MOD, sp1[0], 0); /* NULL */
	rw(1, sp1[1], 1);
	wait_(epfd, 8, 1000);
	ctl(epfd, EPOLL_CTL_MOD, sp1[0], EPOLLIN, 0xffffffff00000001ULL);
	rw(1, brk[1], 1); /* netpollBreak */
	pwait(epfd, 1, 500);
	pwait2(epfd, 8, 1, 250000000, 1250);
	/* seconds whose ms overflow 64 bits: the longest wait there is, never a short one */
	pwait2(epfd, 8, LONG_MAX, 999999999, INT_MAX);
	pwait2(epfd, 8, 1L << 62, 0, INT_MAX);
	rw(0, brk[0], 16); /* netpoll's drain */
	ctl(epfd, EPOLL_CTL_DEL, sp1[0], 0, 0);
	wait_(epfd, 8, 0);
	pwait2(epfd, 8, 0, 500000, 1); /* 0.5 ms: shown rounded up, never as a poll */
	pwait2(epfd, 8, 0, 0, 0);
	pwait2(epfd, 8, -1, 0, INT_MIN); /* EINVAL: shown as invalid, never as -1 (block) */
	rw(1, brk[1], 1);
	{ /* the EFAULT case: something is ready, the array is not writable */
		int r = ret_of(epoll_wait(epfd, (struct epoll_event *)badaddr, 8, 0));

		log_wait(0, epfd, 8, 0, r, NULL);
	}
	rw(0, brk[0], 16);
	for (int i = 0; i < MANY; i++)
		ctl(epfd, EPOLL_CTL_ADD, many[i], EPOLLIN, 0xabc0000000000000ULL | (uint64_t)i);
	pwait(epfd, 20, -1);
	pwait2_ts(epfd, 16, NULL, -1); /* no timespec: blocks (-1), but 300 fds are ready */
	wait_(epfd, 512, 0);
	create1(-1); /* EINVAL */
	create_old(16);
	create_old(0); /* EINVAL */
	printf("done\n");
	return 0;
}

static int bench(int stop, long n, int k, long m)
{
	int epfd, fds[64];
	struct timespec t0, t1;

	if (k < 0 || k > 64)
		k = 64;
	for (int i = 0; i < k; i++)
		if ((fds[i] = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			die("eventfd");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	for (int i = 0; i < k; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};

		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev))
			die("epoll_ctl");
	}
	stop_here(stop);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		if (epoll_wait(epfd, evs, 64, 0) != k)
			die("epoll_wait");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (stop && m > 0) {
		stop_here(stop);
		for (long i = 0; i < m; i++)
			if (epoll_wait(epfd, evs, 64, 0) != k)
				die("epoll_wait");
	}
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	printf("bench n %ld k %d m %ld ns_per_call %.1f\n", n, k, stop ? m : 0,
	       n ? ns / (double)n : 0.0);
	printf("done\n");
	return 0;
}

struct spin {
	int epfd;
	long n;
	pthread_barrier_t ready, go; /* the threads exist (before -s stops us); they may spin */
};

static void *spin_thread(void *arg)
{
	struct spin *sp = arg;
	struct epoll_event ev[4];

	printf("thread tid %d\n", (int)gettid());
	pthread_barrier_wait(&sp->ready);
	pthread_barrier_wait(&sp->go);
	for (long i = 0; i < sp->n; i++)
		if (epoll_wait(sp->epfd, ev, 4, 0) != 1)
			die("epoll_wait");
	return NULL;
}

/* t threads polling one epoll fd at once: their events interleave across CPUs. */
static int threads(int stop, int t, long n)
{
	static pthread_t th[64];
	struct spin sp = {.n = n};
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
	int efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);

	if (t < 1 || t > 64)
		t = 2;
	sp.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (efd < 0 || sp.epfd < 0 || epoll_ctl(sp.epfd, EPOLL_CTL_ADD, efd, &ev) ||
	    pthread_barrier_init(&sp.ready, NULL, (unsigned)t + 1) ||
	    pthread_barrier_init(&sp.go, NULL, (unsigned)t + 1))
		die("setup");
	for (int i = 0; i < t; i++)
		if (pthread_create(&th[i], NULL, spin_thread, &sp))
			die("pthread_create");
	pthread_barrier_wait(&sp.ready);
	stop_here(stop);
	pthread_barrier_wait(&sp.go);
	for (int i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	printf("done\n");
	return 0;
}

/* Wait for secs seconds in epoll_wait(…, 100 ms) calls. */
/* The timeout of wait_for_secs' waits (ms): pipes' optional T. */
static int idle_wait_ms = 100;

static void wait_for_secs(int epfd, double secs)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		wait_(epfd, 8, idle_wait_ms);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
}

/* A byte written to wr, epoll_wait for it, rd drained; then secs of waiting; "done". */
static int wake_and_wait(int epfd, int rd, int wr, double secs)
{
	rw(1, wr, 1);
	wait_(epfd, 8, 100);
	rw(0, rd, 16);
	wait_for_secs(epfd, secs);
	printf("done\n");
	return 0;
}

/* n self-pipes registered for EPOLLIN alone: what a program that is not Go may well have. */
static int pipes(int stop, int n, double secs)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC), p[2] = {-1, -1}, first[2] = {-1, -1};

	if (epfd < 0)
		die("epoll_create1");
	for (int i = 0; i < n; i++) {
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC))
			die("pipe2");
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)p[0]};

		if (epoll_ctl(epfd, EPOLL_CTL_ADD, p[0], &ev))
			die("epoll_ctl");
		if (i == 0)
			first[0] = p[0], first[1] = p[1];
	}
	printf("pipe rd %d wr %d\n", first[0], first[1]);
	stop_here(stop);
	/* a self-pipe's wake-up and its drain, as netpollBreak's would be */
	return wake_and_wait(epfd, first[0], first[1], secs);
}

/* Two fds registered with the same data: epoll's answer cannot say which one is ready. */
static int samedata(int stop, double secs)
{
	int a[2], b[2], epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, a) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, b))
		die("setup");
	ctl(epfd, EPOLL_CTL_ADD, a[0], EPOLLIN, 7);
	ctl(epfd, EPOLL_CTL_ADD, b[0], EPOLLIN, 7);
	stop_here(stop);
	/* closed without EPOLL_CTL_DEL (as nginx does): epoll drops it, and no epoll call shows it */
	close(a[0]);
	printf("close fd %d\n", a[0]);
	return wake_and_wait(epfd, b[0], b[1], secs);
}

/* After the exec: what the old program's CLOEXEC fds were is gone; a new epoll set. */
static int after_exec(double secs)
{
	int p[2], epfd = create1(EPOLL_CLOEXEC);

	if (epfd < 0 || pipe2(p, O_NONBLOCK | O_CLOEXEC))
		die("setup after exec");
	printf("pipe rd %d wr %d\n", p[0], p[1]);
	ctl(epfd, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x21);
	return wake_and_wait(epfd, p[0], p[1], secs);
}

struct exec_args {
	char *const *argv;
};

static void *exec_thread(void *arg)
{
	char *const *argv = ((struct exec_args *)arg)->argv;
	printf("exec by tid %d\n", (int)gettid());
	fflush(stdout);
	execv(argv[0], argv);
	die("execv");
	return NULL;
}

static int exec_(int stop, const char *secs, const char *prog, bool from_thread)
{
	int keep[2], p[2], s[2], epfd, kept = create1(0); /* survives the exec, as its pipe */
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (kept < 0 || pipe(keep) || n < 0)
		die("setup");
	self[n] = '\0';
	ctl(kept, EPOLL_CTL_ADD, keep[0], EPOLLIN, 0x1);
	stop_here(stop);
	epfd = create1(EPOLL_CLOEXEC);
	if (epfd < 0 || pipe2(p, O_NONBLOCK | O_CLOEXEC) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s))
		die("setup before exec");
	ctl(epfd, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x11);
	ctl(epfd, EPOLL_CTL_ADD, s[0], EPOLLIN | EPOLLOUT, 0x12);
	ctl(kept, EPOLL_CTL_ADD, s[1], EPOLLIN, 0x13); /* closed by the exec: epoll forgets it */
	printf("exec %s\n", prog ? prog : self);
	fflush(stdout);
	char *const *args =
	    prog ? (char *[]){(char *)prog, NULL} : (char *[]){self, "after", (char *)secs, NULL};
	pthread_t t;
	if (from_thread && !pthread_create(&t, NULL, exec_thread, &(struct exec_args){args}))
		pthread_join(t, NULL); /* never returns: the exec ends this thread too */
	execv(args[0], args);
	die("execv");
	return 1;
}

struct leaderless {
	int stop, epfd, rd, wr;
	double secs;
	pid_t leader;
};

static void *nothing(void *arg)
{
	return arg;
}

/* The process's work, once its leader has exited: /proc/PID then shows no fd of it. */
static void *leaderless(void *arg)
{
	struct leaderless *l = arg;
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)l->leader);
	for (char *r = NULL;; usleep(1000)) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		if ((r = strrchr(buf, ')')) && r[1] == ' ' && r[2] == 'Z')
			break;
	}
	printf("leader exited; tid %d goes on\n", (int)gettid());
	stop_here(l->stop);
	/* a thread that ends at once, while traced: its exit is not the process's */
	pthread_t t;
	if (pthread_create(&t, NULL, nothing, NULL) || pthread_join(t, NULL))
		die("pthread_create");
	wake_and_wait(l->epfd, l->rd, l->wr, l->secs);
	exit(3);
}

static int leaderexit(int stop, double secs)
{
	static struct leaderless l;
	int a[2];
	pthread_t t;

	l.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l.epfd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, a))
		die("setup");
	ctl(l.epfd, EPOLL_CTL_ADD, a[0], EPOLLIN, 5);
	l.stop = stop;
	l.rd = a[0];
	l.wr = a[1];
	l.secs = secs;
	l.leader = getpid();
	if (pthread_create(&t, NULL, leaderless, &l))
		die("pthread_create");
	pthread_exit(NULL);
}

/* A registration made by another process (a fork's child) on an epoll fd the parent shares. */
static int forkadd(int stop, double secs)
{
	int a[2], epfd = epoll_create1(EPOLL_CLOEXEC), status;

	if (epfd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, a))
		die("setup");
	ctl(epfd, EPOLL_CTL_ADD, a[0], EPOLLIN, 1);
	stop_here(stop);
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		_exit(ctl(epfd, EPOLL_CTL_ADD, a[1], EPOLLOUT, 2) ? 1 : 0);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		die("child");
	printf("child added fd %d\n", a[1]);
	wait_(epfd, 8, 100);
	wait_for_secs(epfd, secs);
	printf("done\n");
	return 0;
}

/*
 * spawn S: an epoll fd of its own with a pipe registered, and a child (this program again, by
 * /proc/self/exe) that runs `pipes 1 S 60000`; then S seconds of epoll_wait(..., 100 ms).
 * Logs "child PID" once the child has its epoll fd.
 */
static int spawn(int stop, double secs)
{
	char self[4096], s[32];
	int p[2], epfd = epoll_create1(EPOLL_CLOEXEC), ready[2];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (epfd < 0 || n <= 0 || pipe2(p, O_NONBLOCK | O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		die("setup");
	self[n] = '\0';
	ctl(epfd, EPOLL_CTL_ADD, p[0], EPOLLIN, 1);
	stop_here(stop);
	snprintf(s, sizeof(s), "%g", secs);
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		/* its stdout, the pipe: its first line says it is set up */
		dup2(ready[1], STDOUT_FILENO);
		execv(self, (char *[]){self, "pipes", "1", s, "60000", NULL});
		_exit(127);
	}
	close(ready[1]);
	FILE *f = fdopen(ready[0], "r");
	char line[256];
	/* "pipe rd": after its epoll fd and pipe are made */
	while (f && fgets(line, sizeof(line), f) && strncmp(line, "pipe rd", 7))
		;
	printf("child %d\n", (int)child);
	wait_for_secs(epfd, secs);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	printf("done\n");
	return 0;
}

int main(int argc, char **argv)
{
	int stop = 0, a = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (a < argc && !strcmp(argv[a], "-s")) {
		stop = 1;
		a++;
	}
	if (a + 1 < argc && !strcmp(argv[a], "-c")) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(atoi(argv[a + 1]), &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("sched_setaffinity");
		a += 2;
	}
	printf("pid %d tid %d\n", (int)getpid(), (int)gettid());
	if (a < argc && !strcmp(argv[a], "demo"))
		return demo(stop);
	if (a + 2 < argc && !strcmp(argv[a], "bench"))
		return bench(stop, atol(argv[a + 1]), atoi(argv[a + 2]),
			     a + 3 < argc ? atol(argv[a + 3]) : 0);
	if (a + 2 < argc && !strcmp(argv[a], "threads"))
		return threads(stop, atoi(argv[a + 1]), atol(argv[a + 2]));
	if (a + 2 < argc && !strcmp(argv[a], "pipes")) {
		if (a + 3 < argc)
			idle_wait_ms = atoi(argv[a + 3]);
		return pipes(stop, atoi(argv[a + 1]), atof(argv[a + 2]));
	}
	if (a + 1 < argc && !strcmp(argv[a], "samedata"))
		return samedata(stop, atof(argv[a + 1]));
	if (a + 1 < argc && !strcmp(argv[a], "spawn"))
		return spawn(stop, atof(argv[a + 1]));
	if (a + 1 < argc && !strcmp(argv[a], "forkadd"))
		return forkadd(stop, atof(argv[a + 1]));
	if (a + 1 < argc && !strcmp(argv[a], "leaderexit"))
		return leaderexit(stop, atof(argv[a + 1]));
	if (a + 1 < argc && !strcmp(argv[a], "exec"))
		return exec_(stop, argv[a + 1], a + 2 < argc ? argv[a + 2] : NULL, false);
	if (a + 1 < argc && !strcmp(argv[a], "exec-thread"))
		return exec_(stop, argv[a + 1], NULL, true);
	if (a + 1 < argc && !strcmp(argv[a], "after"))
		return after_exec(atof(argv[a + 1]));
	fprintf(stderr,
		"usage: epoll_workload [-s] demo | [-s] [-c CPU] bench N K [M] | "
		"[-s] threads T N | [-s] pipes N S [T] | [-s] samedata S | [-s] forkadd S | "
		"[-s] leaderexit S | "
		"[-s] exec S [PROG] | "
		"[-s] exec-thread S\n");
	return 2;
}
