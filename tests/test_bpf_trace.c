// SPDX-License-Identifier: MIT
/*
 * `netpollsim trace --pid` against a real Go 1.22 program: a tiny echo server, built from source
 * in a temporary directory at test time (never committed), served over loopback by this test.
 * What a user would see must be there: Go's break pipe found, the listener in the interest set
 * read from /proc, the accepted connection's ADD with netpollopen's mask and tagged data, the
 * epoll_pwait(…, 128, …) returns with their ready entries resolved to fds, the DEL before the
 * close, and a recorded trace that the trace reader accepts. Needs root and Go 1.22.
 */
#include "tests/testutil.h"
#include "traces/json.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <linux/landlock.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GO "/usr/lib/go-1.22/bin/go"

static const char echo_go[] =
    "package main\n"
    "\n"
    "import (\n"
    "\t\"fmt\"\n"
    "\t\"net\"\n"
    "\t\"os\"\n"
    "\t\"runtime\"\n"
    "\t\"strconv\"\n"
    "\t\"syscall\"\n"
    "\t\"time\"\n"
    ")\n"
    "\n"
    "func main() {\n"
    "\t// -second-epoll: an epoll fd of the program's own, with a self-pipe registered for\n"
    "\t// EPOLLIN alone, as older fsnotify has: a second candidate for the break pipe.\n"
    "\tif len(os.Args) > 1 && os.Args[1] == \"-second-epoll\" {\n"
    "\t\tepfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)\n"
    "\t\tvar p [2]int\n"
    "\t\tif err == nil {\n"
    "\t\t\terr = syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC)\n"
    "\t\t}\n"
    "\t\tif err == nil {\n"
    "\t\t\tev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p[0])}\n"
    "\t\t\terr = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev)\n"
    "\t\t}\n"
    "\t\tif err != nil {\n"
    "\t\t\tfmt.Fprintln(os.Stderr, err)\n"
    "\t\t\tos.Exit(1)\n"
    "\t\t}\n"
    "\t}\n"
    "\t// -gomaxprocs N: set by the program, as neither its environment nor its CPUs say\n"
    "\tif len(os.Args) > 2 && os.Args[1] == \"-gomaxprocs\" {\n"
    "\t\tn, _ := strconv.Atoi(os.Args[2])\n"
    "\t\truntime.GOMAXPROCS(n)\n"
    "\t}\n"
    "\tln, err := net.Listen(\"tcp\", \"127.0.0.1:0\")\n"
    "\tif err != nil {\n"
    "\t\tfmt.Fprintln(os.Stderr, err)\n"
    "\t\tos.Exit(1)\n"
    "\t}\n"
    "\tfmt.Printf(\"port %d\\n\", ln.Addr().(*net.TCPAddr).Port)\n"
    "\t// Work, then sleep: the sleep's timer is earlier than the idle poller's wait,\n"
    "\t// so wakeNetPoller calls netpollBreak (a write on the break pipe).\n"
    "\tgo func() {\n"
    "\t\tfor {\n"
    "\t\t\tt := time.Now()\n"
    "\t\t\tfor time.Since(t) < time.Millisecond {\n"
    "\t\t\t}\n"
    "\t\t\ttime.Sleep(5 * time.Millisecond)\n"
    "\t\t}\n"
    "\t}()\n"
    "\tfor {\n"
    "\t\tc, err := ln.Accept()\n"
    "\t\tif err != nil {\n"
    "\t\t\treturn\n"
    "\t\t}\n"
    "\t\tgo func(c net.Conn) {\n"
    "\t\t\tdefer c.Close()\n"
    "\t\t\tbuf := make([]byte, 4096)\n"
    "\t\t\tfor {\n"
    "\t\t\t\t// A deadline is a timer: setting it wakes the poller (netpollBreak).\n"
    "\t\t\t\tc.SetReadDeadline(time.Now().Add(30 * time.Second))\n"
    "\t\t\t\tn, err := c.Read(buf)\n"
    "\t\t\t\tif err != nil {\n"
    "\t\t\t\t\treturn\n"
    "\t\t\t\t}\n"
    "\t\t\t\t// a panic nobody recovers ends the program: exit status 2\n"
    "\t\t\t\tif string(buf[:n]) == \"panic\\n\" {\n"
    "\t\t\t\t\tpanic(\"asked to\")\n"
    "\t\t\t\t}\n"
    "\t\t\t\tif _, err := c.Write(buf[:n]); err != nil {\n"
    "\t\t\t\t\treturn\n"
    "\t\t\t\t}\n"
    "\t\t\t}\n"
    "\t\t}(c)\n"
    "\t}\n"
    "}\n";

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return strdup("");
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

/*
 * Put the calling process in a Landlock domain of its own (one that handles only the making of
 * FIFOs, which nothing here does): Landlock then denies it ptrace access, /proc/PID/fd included,
 * to every process outside the domain, CAP_SYS_PTRACE or not. 0, or -1 (no Landlock).
 */
static int landlock_self(void)
{
	struct landlock_ruleset_attr a = {.handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_FIFO};
	int fd = (int)syscall(SYS_landlock_create_ruleset, &a, sizeof(a), 0);

	return fd < 0 || syscall(SYS_landlock_restrict_self, fd, 0) ? -1 : 0;
}

/* spawn() runs its command in a Landlock domain (landlock_self) */
static bool spawn_sandboxed;

static pid_t spawn(char *const argv[], const char *out)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    (spawn_sandboxed && landlock_self()))
			_exit(127);
		setpgid(0, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Wait until path contains needle (the test's .timeout bounds this). */
static char *wait_for(const char *path, const char *needle, pid_t pid)
{
	for (;;) {
		char *s = slurp(path);
		int status;

		if (strstr(s, needle))
			return s;
		cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "%s exited early:\n%s", path, s);
		free(s);
		usleep(20000);
	}
}

static int dial(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int s = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_geq(s, 0);
	cr_assert_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	return s;
}

static void round_trip(int s, int i)
{
	char buf[64], got[64];
	int len = snprintf(buf, sizeof(buf), "hello %d\n", i), have = 0;

	cr_assert_eq(write(s, buf, (size_t)len), len);
	while (have < len) {
		ssize_t r = read(s, got + have, sizeof(got) - (size_t)have);

		cr_assert_gt(r, 0, "echo read: %s", r ? strerror(errno) : "EOF");
		have += (int)r;
	}
	cr_assert_eq(memcmp(buf, got, (size_t)len), 0);
}

static void echo_round_trips(int port, int n)
{
	int s = dial(port);

	for (int i = 0; i < n; i++)
		round_trip(s, i);
	close(s);
}

/* `netpollsim ARGS` (stderr merged), which must exit 0: its output (free it). */
__attribute__((format(printf, 1, 2))) static char *np_ok(const char *fmt, ...)
{
	char args[1400], cmd[2000], *out;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s", tu_netpollsim(), args);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s:\n%s", cmd, out);
	return out;
}

/* The server and the tracer, killed by kill_children() even when an assertion fails. */
static pid_t children[2];

static void kill_children(void)
{
	for (int i = 0; i < 2; i++)
		if (children[i] > 0 && kill(children[i], SIGKILL) == 0)
			waitpid(children[i], NULL, 0);
}

/*
 * tests/epoll_workload with -s and args (NULL-terminated): started, and stopped by itself after
 * its set-up (the registrations a tracer finds in /proc). Its log goes to log (len bytes).
 */
static pid_t workload_start(const char *name, char *const args[], char *log, size_t len)
{
	char path[512];
	char *argv[16] = {path, "-s"};
	int i = 2;

	snprintf(path, sizeof(path), "%s/tests/epoll_workload", tu_build_dir());
	snprintf(log, len, "%s/%s.%d.log", tu_tmpdir(), name, (int)getpid());
	for (; args[i - 2] && i < 15; i++)
		argv[i] = args[i - 2];
	argv[i] = NULL;
	unlink(log); /* a test's second workload must not find the first one's "stopped" */
	children[0] = spawn(argv, log);
	free(wait_for(log, "stopped", children[0]));
	return children[0];
}

/*
 * Run `netpollsim trace` with args (NULL-terminated, after "trace"); once it says it is tracing,
 * continue the stopped workload wl (0: none). Returns the tracer's exit status and its output
 * (stdout and stderr) in *out; *secs: how long it ran, from start to exit (may be NULL).
 */
/* A command that trace_run runs netpollsim under (strace ... --), or NULL: netpollsim itself. */
static char *const *trace_wrapper;

static int trace_run(char *const args[], pid_t wl, char **out, double *secs)
{
	char *argv[40], path[600];
	struct timespec t0, t1;
	int i = 0, status;

	for (; trace_wrapper && trace_wrapper[i] && i < 12; i++)
		argv[i] = trace_wrapper[i];
	argv[i++] = (char *)tu_netpollsim();
	argv[i++] = "trace";
	for (int a = 0; args[a] && i < 39; a++)
		argv[i++] = args[a];
	argv[i] = NULL;
	snprintf(path, sizeof(path), "%s/trace.%d.out", tu_tmpdir(), (int)getpid());
	unlink(path); /* nor a second tracer the first one's "tracing pid" */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	children[1] = spawn(argv, path);
	if (wl > 0) {
		free(wait_for(path, "tracing pid", children[1]));
		cr_assert_eq(kill(wl, SIGCONT), 0);
	}
	cr_assert_eq(waitpid(children[1], &status, 0), children[1]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	children[1] = 0;
	*out = slurp(path);
	if (secs)
		*secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * The ts of the first and last events the probes saw in a recorded trace (not the seeded
 * registrations read from /proc), the first two thread ids in it (tids may be NULL); returns
 * the number of those events.
 */
static int record_span(const char *rec, uint64_t *first, uint64_t *last, unsigned tids[2])
{
	struct trace_reader *r = NULL;
	struct nps_event e;
	int rc, n = 0;

	cr_assert_eq(trace_reader_open(rec, &r), 0, "%s: %s", rec,
		     r ? trace_reader_error(r) : "open failed");
	while ((rc = trace_reader_next(r, &e)) == 1) {
		if (e.kind == NPS_EV_EPOLL_CTL && e.sub == NPS_CTL_SEEDED)
			continue;
		if (!n++)
			*first = e.ts;
		*last = e.ts;
		if (tids && e.tid && !tids[0])
			tids[0] = e.tid;
		else if (tids && e.tid && e.tid != tids[0] && !tids[1])
			tids[1] = e.tid;
	}
	cr_assert_eq(rc, 0, "%s", trace_reader_error(r));
	trace_reader_close(r);
	return n;
}

/*
 * The Go echo server above, built in the test's directory (dir: that directory); says "skipped:
 * needs Go 1.22" and skips without Go.
 */
static void build_go_echo(char *dir, size_t len)
{
	char cmd[2048], *out;
	struct stat st;

	if (stat(GO, &st)) {
		printf("skipped: needs Go 1.22 (" GO ")\n");
		fflush(stdout);
		cr_skip_test("needs Go 1.22");
	}
	snprintf(dir, len, "%s/goecho", tu_tmpdir());
	mkdir(dir, 0755);
	snprintf(cmd, sizeof(cmd), "%s/main.go", dir);
	FILE *f = fopen(cmd, "w");
	cr_assert_not_null(f);
	fputs(echo_go, f);
	fclose(f);
	/* A shared build cache: the standard library is compiled once, not per run. */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && GOCACHE=/tmp/nps-gocache GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0 "
		 "GO111MODULE=off " GO " build -o echo main.go",
		 dir);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "go build failed:\n%s", out);
	free(out);
}

/* The port the Go echo server (pid sp, output in srvout) says it listens on. */
static int server_port(const char *srvout, pid_t sp)
{
	int port = 0;
	char *out = wait_for(srvout, "port ", sp);
	cr_assert_eq(sscanf(strstr(out, "port "), "port %d", &port), 1, "%s", out);
	free(out);
	return port;
}

/*
 * A Go program with an epoll fd of its own beside the runtime's, each with a self-pipe registered
 * for EPOLLIN alone: Go's break pipe is the one on the epoll fd that holds netpollopen's
 * registrations (its listener's), and its netpollBreak writes are shown (it used to say "more
 * than one candidate" and show none).
 */
Test(bpf_trace, go_s_break_pipe_is_found_beside_another_epoll_fd, .timeout = 300,
     .fini = kill_children)
{
	char dir[512], srv[600], srvout[600], pidarg[16], *out;

	NEED_ROOT();
	build_go_echo(dir, sizeof(dir));
	snprintf(srv, sizeof(srv), "%s/echo", dir);
	snprintf(srvout, sizeof(srvout), "%s/echo2.out", dir);
	pid_t sp = children[0] = spawn((char *[]){srv, "-second-epoll", NULL}, srvout);
	free(wait_for(srvout, "port ", sp));
	snprintf(pidarg, sizeof(pidarg), "%d", (int)sp);
	int rc = trace_run((char *[]){"--pid", pidarg, "--duration", "1", NULL}, 0, &out, NULL);
	kill_children();
	children[0] = 0;
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	cr_assert_null(strstr(out, "more than one candidate"), "%s", out);
	cr_assert_not_null(strstr(out, "break pipe: read fd "), "%s", out);
	/* its busy-then-sleeping goroutine's timers wake the poller every 5 ms */
	cr_assert_not_null(strstr(out, "netpollBreak"), "no netpollBreak shown:\n%s", out);
	/* and the pipe is named where it shows: its registration, its readiness */
	cr_assert_not_null(strstr(out, "(Go: the break pipe, netpollBreakRd)"), "%s", out);
	cr_assert_not_null(strstr(out, "(the break pipe: netpollBreak woke the poller)"), "%s",
			   out);
	free(out);
}

/*
 * A Go program's end (all its threads, exit_group(2) from a panic): its status, and what a Go
 * engineer reads into a 2.
 */
Test(bpf_trace, a_go_program_s_panic_ends_the_trace_with_its_status, .timeout = 300,
     .fini = kill_children)
{
	char dir[512], srv[600], srvout[600], pidarg[16], want[160], *out;
	int port = 0;

	NEED_ROOT();
	build_go_echo(dir, sizeof(dir));
	snprintf(srv, sizeof(srv), "%s/echo", dir);
	snprintf(srvout, sizeof(srvout), "%s/panic.out", dir);
	pid_t sp = children[0] = spawn((char *[]){srv, NULL}, srvout);
	port = server_port(srvout, sp);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)sp);
	char trout[600], rec[600];
	snprintf(trout, sizeof(trout), "%s/panic.trace", dir);
	snprintf(rec, sizeof(rec), "%s/panic.jsonl", dir);
	pid_t tp = children[1] = spawn((char *[]){(char *)tu_netpollsim(), "trace", "--pid", pidarg,
						  "--duration", "60", "--record", rec, NULL},
				       trout);
	free(wait_for(trout, "interest set at attach", tp));
	int conn = dial(port);
	cr_assert_eq(write(conn, "panic\n", 6), 6);
	int status;
	cr_assert_eq(waitpid(tp, &status, 0), tp);
	children[1] = 0;
	close(conn);
	out = slurp(trout);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x:\n%s", status, out);
	/* once: every thread of the group leaves do_exit, the last one ends the process */
	const char *ev = strstr(out, "[kernel] the process exited with code 2\n");
	cr_assert(ev && !strstr(ev + 1, "[kernel] the process exited"), "%s", out);
	snprintf(want, sizeof(want), "\nprocess %d exited with code 2 at ", (int)sp);
	const char *end = strstr(out, want);
	cr_assert_not_null(end, "no '%s':\n%s", want + 1, out);
	cr_assert_not_null(strstr(end,
				  " s (a Go program exits with 2 after a panic nobody "
				  "recovered, a fatal error or SIGQUIT: its stderr says which)\n"),
			   "%s", out);
	free(out);
	out = slurp(srvout);
	cr_assert_not_null(strstr(out, "panic: asked to"), "%s", out);
	free(out);
	/* a replay of the recording says it too, in the story under its heading */
	out = np_ok("replay %s --no-ui", rec);
	snprintf(want, sizeof(want),
		 "\npid %d exited with code 2 (a Go program exits with 2 after ", (int)sp);
	cr_assert_not_null(strstr(out, want), "no '%s':\n%s", want + 1, out);
	free(out);
}

/*
 * A process with no epoll at all, traced until it exits, under -q: how it ended is the summary's
 * first line, and that it made no epoll call is said (its exit is no epoll activity).
 */
Test(bpf_trace, a_quiet_trace_of_a_process_without_epoll_says_how_it_ended, .timeout = 120,
     .fini = kill_children)
{
	char path[600], pid[16], want[160], *out;
	snprintf(path, sizeof(path), "%s/sh7.out", tu_tmpdir());
	pid_t sh = children[0] = spawn((char *[]){"/bin/sh", "-c", "sleep 2; exit 7", NULL}, path);
	snprintf(pid, sizeof(pid), "%d", (int)sh);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "60", "-q", NULL}, 0, &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	snprintf(want, sizeof(want), "\nprocess %d exited with code 7 at ", (int)sh);
	cr_assert_not_null(strstr(out, want), "no '%s':\n%s", want + 1, out);
	snprintf(want, sizeof(want), "\npid %d had no epoll fd and made no epoll call", (int)sh);
	cr_assert_not_null(strstr(out, want), "no '%s':\n%s", want + 1, out);
	cr_assert_null(strstr(out, "[kernel]"), "an event line under -q:\n%s", out);
	free(out);
}

Test(bpf_trace, go_echo_server, .timeout = 300, .fini = kill_children)
{
	char dir[512], cmd[2048], srv[600], srvout[600], trout[600], rec[600], *out, *s;
	int port = 0, status;

	NEED_ROOT();
	build_go_echo(dir, sizeof(dir));
	snprintf(srv, sizeof(srv), "%s/echo", dir);
	snprintf(srvout, sizeof(srvout), "%s/echo.out", dir);
	snprintf(trout, sizeof(trout), "%s/trace.out", dir);
	snprintf(rec, sizeof(rec), "%s/kernel.jsonl", dir);
	setenv("GOMAXPROCS", "2", 1);
	pid_t sp = children[0] = spawn((char *[]){srv, NULL}, srvout);
	port = server_port(srvout, sp);

	char pidarg[16];
	snprintf(pidarg, sizeof(pidarg), "%d", (int)sp);
	pid_t tp = children[1] = spawn(
	    (char *[]){(char *)tu_netpollsim(), "trace", "--pid", pidarg, "--record", rec, NULL},
	    trout);
	free(wait_for(trout, "interest set at attach", tp));

	/*
	 * The connection's readiness must reach epoll_pwait's ready list: it does when the
	 * server's goroutine parks in Read (EAGAIN) and only netpoll can wake it. A client that
	 * writes at once may always find the server reading data already there (it never parks;
	 * the test once failed so, on a loaded machine). So pause before each message, until the
	 * trace shows a ready entry for the connection's fd (or 50 round trips).
	 */
	int conn = dial(port), cfd0 = -1;
	char want[32];

	out = wait_for(trout, ", ADD, ", tp);
	s = strstr(out, ", ADD, ");
	cr_assert_eq(sscanf(s, ", ADD, %d,", &cfd0), 1, "%.80s", s);
	free(out);
	snprintf(want, sizeof(want), "] fd %d ", cfd0);
	for (int i = 0, seen = 0; i < 50 && !seen; i++) {
		usleep(20000);
		round_trip(conn, i);
		out = slurp(trout);
		seen = strstr(out, want) != NULL;
		free(out);
	}
	close(conn);
	echo_round_trips(port, 3);
	/* The server closes each connection when it reads EOF: DEL, then close. */
	out = wait_for(trout, "DEL", tp);
	free(out);
	usleep(
	    300000); /* let the second DEL arrive too; the assertions below do not depend on it */
	kill(tp, SIGINT);
	cr_assert_eq(waitpid(tp, &status, 0), tp);
	children[1] = 0;
	kill_children();
	children[0] = 0;
	out = slurp(trout);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130,
		  "trace did not end as interrupted (status 0x%x):\n%s", status, out);

	/* what runs there: the program, the Go that built it, its GOMAXPROCS and whence */
	snprintf(cmd, sizeof(cmd), "pid %d runs %s (go1.", (int)sp, srv);
	s = strstr(out, cmd);
	cr_assert_not_null(s, "no '%s' in:\n%s", cmd, out);
	cr_assert_not_null(strstr(s, ", GOMAXPROCS 2 read from runtime.gomaxprocs)\n"), "%s", out);
	/* Go's break pipe, found in /proc (Go 1.22: a pipe registered for EPOLLIN alone). */
	int brd, bwr, lfd = -1, epfd = -1, cfd = -1;
	s = strstr(out, "break pipe: read fd ");
	cr_assert_not_null(s, "break pipe not found:\n%s", out);
	cr_assert_eq(sscanf(s, "break pipe: read fd %d, write fd %d", &brd, &bwr), 2);
	/* The listener, registered before we attached, is in the interest set from /proc. */
	s = strstr(out, "interest set at attach (from /proc fdinfo): ");
	cr_assert_not_null(s);
	cr_assert(strstr(s, "EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET") != NULL,
		  "no netpollopen registration at attach:\n%s", out);
	/* The accepted connection: netpollopen's ADD. */
	s = strstr(out, ", ADD, ");
	cr_assert_not_null(s, "no epoll_ctl ADD:\n%s", out);
	while (s > out && s[-1] != '(')
		s--;
	cr_assert_eq(
	    sscanf(s, "%d, ADD, %d, {EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, 0x", &epfd, &cfd), 2,
	    "ADD line: %.120s", s);
	cr_assert(strstr(s, ") = 0  (Go: pd 0x") != NULL, "ADD line: %.160s", s);
	/* netpoll's epoll_pwait: maxevents 128, and the connection's readiness by fd. */
	snprintf(cmd, sizeof(cmd), "epoll_pwait(%d, 128, ", epfd);
	cr_assert(strstr(out, cmd) != NULL, "no %s...:\n%s", cmd, out);
	/*
	 * A wait in progress when we attached returns without its entry: its blocked time is
	 * unknown, said as the narration says it. Only a thread's first wait can be one. The idle
	 * server's poller is usually blocked then (no other M polls while one blocks: sched.lastpoll
	 * is 0), but its sleeping goroutine's timer wakes it every 5 ms: attached in that instant,
	 * no wait was in progress (seen once in make test), and none is unknown.
	 */
	unsigned tids[16];
	int ntids = 0;
	for (s = strstr(out, " epoll_pwait("); s; s = strstr(s + 1, " epoll_pwait(")) {
		const char *line = s, *eol = strchr(s, '\n'), *unk = strstr(s, "(blocked time");
		unsigned tid = 0;
		while (line > out && line[-1] != '\n')
			line--;
		if (sscanf(line, "%*f tid %u", &tid) != 1)
			continue;
		bool first = true;
		for (int k = 0; k < ntids; k++)
			first = first && tids[k] != tid;
		if (first && ntids < 16)
			tids[ntids++] = tid;
		cr_assert(first || !unk || unk > eol,
			  "a later wait of tid %u without its entry: %.200s", tid, line);
	}
	cr_assert_gt(ntids, 0, "no epoll_pwait line:\n%s", out);
	snprintf(cmd, sizeof(cmd), "] fd %d ", cfd);
	cr_assert(strstr(out, cmd) != NULL, "no ready entry for fd %d:\n%s", cfd, out);
	/* The listener (registered before we attached): its accept readiness, by fd too. */
	s = strstr(out, "interest set at attach");
	for (s = strchr(s, '\n');
	     s && sscanf(s, "\n %d %d EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET", &epfd, &lfd) != 2;
	     s = strchr(s + 1, '\n'))
		;
	cr_assert_geq(lfd, 0, "no listener in the interest set at attach:\n%s", out);
	snprintf(cmd, sizeof(cmd), "] fd %d ", lfd);
	cr_assert(strstr(out, cmd) != NULL, "no ready entry for the listener fd %d:\n%s", lfd, out);
	/* netpollBreak and netpoll's drain, seen from the kernel side. */
	snprintf(cmd, sizeof(cmd), "write(%d, 1) = 1  netpollBreak", bwr);
	cr_assert(strstr(out, cmd) != NULL, "no %s:\n%s", cmd, out);
	snprintf(cmd, sizeof(cmd), "read(%d, 16) = ", brd);
	cr_assert(strstr(out, cmd) != NULL, "no %s:\n%s", cmd, out);
	/* and counted in the summary, as many as were shown */
	snprintf(cmd, sizeof(cmd), "write(%d, 1) = 1  netpollBreak", bwr);
	int writes = tu_count_lines(out, cmd);
	snprintf(cmd, sizeof(cmd), "read(%d, 16) = ", brd);
	int reads = tu_count_lines(out, cmd);
	snprintf(cmd, sizeof(cmd),
		 " epoll_ctl, %d write%s to the break pipe (netpollBreak) and %d read%s "
		 "(netpoll's drain); and ",
		 writes, writes == 1 ? "" : "s", reads, reads == 1 ? "" : "s");
	cr_assert(strstr(out, cmd) != NULL, "no '%s' in:\n%s", cmd, strstr(out, "kernel view:"));
	/* Close: DEL of the connection. */
	snprintf(cmd, sizeof(cmd), "epoll_ctl(%d, DEL, %d) = 0", epfd, cfd);
	cr_assert(strstr(out, cmd) != NULL, "no %s:\n%s", cmd, out);
	cr_assert(strstr(out, ", lost 0 (") != NULL, "events were lost:\n%s", out);

	/* The recording is a trace file the reader accepts, kernel events only. */
	struct trace_reader *r = NULL;
	struct nps_event e;
	int rc, n = 0, waits = 0, readies_fd = 0, ctls = 0, seeded_listener = 0;
	cr_assert_eq(trace_reader_open(rec, &r), 0, "%s: %s", rec,
		     r ? trace_reader_error(r) : "open failed");
	while ((rc = trace_reader_next(r, &e)) == 1) {
		n++;
		cr_assert_eq(e.src, NPS_SRC_KERNEL);
		/* the registrations read from /proc at attach: ADDs without a thread */
		bool seeded = e.kind == NPS_EV_EPOLL_CTL && e.sub == NPS_CTL_SEEDED;
		cr_assert_eq(e.tid != 0 || e.kind == NPS_EV_LOST || seeded, 1);
		seeded_listener += seeded && e.fd == lfd && e.u.ctl.events == NPS_NETPOLL_EVENTS;
		waits += e.kind == NPS_EV_EPOLL_WAIT;
		ctls += e.kind == NPS_EV_EPOLL_CTL;
		readies_fd += e.kind == NPS_EV_EPOLL_READY && e.fd == cfd;
	}
	cr_assert_eq(rc, 0, "%s", trace_reader_error(r));
	cr_assert(trace_reader_info(r)->has_footer, "no footer in %s", rec);
	trace_reader_close(r);
	cr_assert_gt(waits, 0);
	cr_assert_gt(ctls, 0);
	cr_assert_gt(readies_fd, 0, "no ready entry for fd %d in %s", cfd, rec);
	cr_assert_eq(seeded_listener, 1, "the listener's registration at attach is not in %s", rec);
	printf("trace of a Go echo server: %d events recorded\n", n);
	free(out);
	/* its replay says how it ended: SIGINT, whether Ctrl-C or a script's kill sent it */
	out = np_ok("replay %s --no-ui", rec);
	cr_assert_not_null(
	    strstr(out, ")\nthe trace was stopped by SIGINT (Ctrl-C, or kill -INT).\n"), "%s", out);
	free(out);
}

/*
 * Every probe stops at once when the trace ends: no wait's exit is left without its entry in a
 * tail stamped after the stop (the probes used to be detached one by one, about 80 ms each,
 * entries first), and the summary's time span and rate are those of the events shown.
 */
Test(bpf_trace, ends_cleanly_at_its_duration, .timeout = 120, .fini = kill_children)
{
	char log[600], rec[600], pid[16], *out;
	unsigned long long events;
	double secs, rate;
	uint64_t first = 0, last = 0;

	NEED_ROOT();
	snprintf(rec, sizeof(rec), "%s/busy.%d.jsonl", tu_tmpdir(), (int)getpid());
	pid_t wl =
	    workload_start("busy", (char *[]){"bench", "1000000000", "1", NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "0.5", "-q", "--record", rec,
				      "--break", "none", NULL},
			   wl, &out, NULL);
	kill_children();
	children[0] = 0;
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	char *s = strstr(out, "kernel view: ");
	cr_assert_not_null(s, "no summary:\n%s", out);
	cr_assert_eq(sscanf(s, "kernel view: %llu events in %lf s (%lf/s)", &events, &secs, &rate),
		     3, "summary: %.100s", s);
	cr_assert(secs >= 0.5, "a 0.5 s trace lasted %.3f s:\n%s", secs, out);
	cr_assert_gt(events, 1000, "the busy workload made %llu events", events);
	/* secs is printed to the ms: 0.3 % at most */
	cr_assert_leq(fabs(rate * secs / (double)events - 1), 0.003,
		      "rate %.0f for %llu events in %f s", rate, events, secs);
	/* The workload was stopped at attach: every return has its entry. */
	cr_assert_null(strstr(out, "without their entry"), "returns without entry:\n%s", out);
	cr_assert_eq(record_span(rec, &first, &last, NULL), (int)events);
	cr_assert_leq((double)(last - first) / 1e9, secs,
		      "events span %.3f s, the trace %.3f s: a tail after the stop",
		      (double)(last - first) / 1e9, secs);
	/*
	 * Time 0 is when the probes began: no event before it, and none later than the span the
	 * summary gives (it was the start of the probes' load, a quarter second earlier)
	 */
	struct trace_reader *r = NULL;
	cr_assert_eq(trace_reader_open(rec, &r), 0);
	uint64_t origin = trace_reader_info(r)->mono_origin;
	trace_reader_close(r);
	cr_assert_geq(first, origin);
	cr_assert_leq((double)(last - origin) / 1e9, secs + 0.0005,
		      "the last event at %.4f s of a %.3f s trace", (double)(last - origin) / 1e9,
		      secs);
	free(out);
	/* the recording says how the trace ended */
	out = np_ok("replay %s --no-ui", rec);
	cr_assert_not_null(strstr(out, ")\n--duration ended the trace.\n"), "%s", out);
	free(out);
}

/*
 * An epoll_pwait2 timespec the kernel refuses ({-1, 0}: EINVAL) is not shown as -1 (block); the
 * full layout names a failed call's error as the narration and strace do (= -EBADF, not = -9):
 * the demo workload's ADD of fd 9999 and its epoll_create1 with flags that are none. An ADD and a
 * MOD whose event is at an unmapped address (EFAULT) show the address, as strace does, live, in
 * the replay and in the export: never an event {0, 0} the program did not pass. The trace ends
 * when the workload exits.
 */
Test(bpf_trace, failed_calls_are_shown_as_such, .timeout = 120, .fini = kill_children)
{
	char log[600], rec[600], pid[16], line[700], *out;
	int epfd = -1, addfd = -1, modfd = -1;

	NEED_ROOT();
	snprintf(rec, sizeof(rec), "%s/failed.%d.jsonl", tu_tmpdir(), (int)getpid());
	pid_t wl = workload_start("demo", (char *[]){"demo", NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "30", "-o", rec, NULL}, wl, &out,
			   NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	char *wlog = slurp(log);
	for (char *l = wlog; (l = strstr(l, "ctl epfd ")); l++) {
		int op, fd;
		unsigned long long a;
		if (sscanf(l, "ctl epfd %*d op %d fd %d unread %llu ret -14", &op, &fd, &a) == 3) {
			if (op == NPS_EPOLL_CTL_ADD && a == 8)
				addfd = fd;
			if (op == NPS_EPOLL_CTL_MOD && a == 0)
				modfd = fd;
		}
	}
	free(wlog);
	cr_assert(addfd >= 0 && modfd >= 0, "no EFAULT ADD and MOD in %s", log);
	char *s = strstr(out, "epoll_create1(EPOLL_CLOEXEC) = ");
	cr_assert(s && sscanf(s, "epoll_create1(EPOLL_CLOEXEC) = %d", &epfd) == 1, "%s", out);
	snprintf(line, sizeof(line), "epoll_pwait2(%d, 8, invalid timespec) = -EINVAL", epfd);
	cr_assert_not_null(strstr(out, line), "no '%s':\n%s", line, out);
	snprintf(line, sizeof(line), "epoll_pwait2(%d, 8, -1)", epfd);
	cr_assert_null(strstr(out, line), "an invalid timespec shown as -1:\n%s", out);
	snprintf(line, sizeof(line), "epoll_ctl(%d, ADD, 9999, {EPOLLIN, 0x1}) = -EBADF\n", epfd);
	cr_assert_not_null(strstr(out, line), "no '%s':\n%s", line, out);
	/* a regular file: EPERM, which is no privilege problem, and the line says so */
	const char *perm =
	    strstr(out, ", {EPOLLIN, 0x2}) = -EPERM  (the fd does not support "
			"epoll: a regular file, a directory, /dev/null; Go then does "
			"blocking I/O on it)\n");
	cr_assert_not_null(perm, "%s", out);
	/* epoll_create1(-1): the flag there is, and the bits the kernel refused, in hex */
	cr_assert_not_null(strstr(out, "epoll_create1(EPOLL_CLOEXEC|0xfff7ffff) = -EINVAL\n"), "%s",
			   out);
	snprintf(line, sizeof(line), "epoll_ctl(%d, ADD, %d, 0x8) = -EFAULT\n", epfd, addfd);
	cr_assert_not_null(strstr(out, line), "no '%s':\n%s", line, out);
	snprintf(line, sizeof(line), "epoll_ctl(%d, MOD, %d, 0x0) = -EFAULT\n", epfd, modfd);
	cr_assert_not_null(strstr(out, line), "no '%s':\n%s", line, out);
	/* the old epoll_create, as strace shows it, with its size (0: EINVAL) */
	cr_assert_not_null(strstr(out, "epoll_create(16) = "), "%s", out);
	cr_assert_not_null(strstr(out, "epoll_create(0) = -EINVAL\n"), "%s", out);
	char *live = out;

	out = np_ok("replay %s --no-ui --narrate", rec);
	/* each event at the same time, to the microsecond, live and replayed (live rounded) */
	int n = 0;
	for (const char *l = live; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		char at[32], needle[64];
		unsigned tid;
		if (sscanf(l, "%31s tid %u", at, &tid) != 2)
			continue;
		snprintf(needle, sizeof(needle), " %s  tid %u ", at, tid);
		cr_assert_not_null(strstr(out, needle), "no '%s' in the replay:\n%s", needle, out);
		n++;
	}
	cr_assert_gt(n, 20, "%s", live);
	free(live);
	snprintf(line, sizeof(line), "epoll_ctl(epfd %d, ADD, fd %d, event at 0x8 unreadable) ",
		 epfd, addfd);
	cr_assert_not_null(strstr(out, line), "no '%s' in the replay:\n%s", line, out);
	snprintf(line, sizeof(line), "epoll_ctl(epfd %d, MOD, fd %d, event at 0x0 unreadable) ",
		 epfd, modfd);
	cr_assert_not_null(strstr(out, line), "no '%s' in the replay:\n%s", line, out);
	cr_assert_not_null(strstr(out, "[kernel] epoll_create        epoll_create(0) = -EINVAL"),
			   "%s", out);
	cr_assert_not_null(strstr(out,
				  "EPOLLIN, data 0x2) = -EPERM (the fd does not support "
				  "epoll: a regular file, a directory, /dev/null; Go then does "
				  "blocking I/O on it)"),
			   "%s", out);
	cr_assert_not_null(strstr(out, "[kernel] epoll_create        epoll_create(16) = "), "%s",
			   out);
	free(out);
	free(np_ok("export %s --format chrome -o %s.json", rec, rec));
	snprintf(line, sizeof(line), "%s.json", rec);
	out = slurp(line);
	snprintf(line, sizeof(line), "\"epfd\":%d,\"event\":\"unreadable at 0x8\",\"ret\":-14",
		 epfd);
	cr_assert_not_null(strstr(out, line), "no '%s' in the export", line);
	cr_assert_not_null(strstr(out, "\"name\":\"epoll_create\",\"cat\":\"kernel\""),
			   "no old epoll_create in the export");
	cr_assert_not_null(strstr(out, "\"size\":0,\"ret\":-22"), "no size in the export");
	free(out);
}

/*
 * The probes' records arrive in ring-buffer order, which is not timestamp order across CPUs;
 * trace prints and records in timestamp order, so that `check` accepts the recording of a busy
 * multi-threaded process.
 */
Test(bpf_trace, busy_threads_are_recorded_in_time_order, .timeout = 120, .fini = kill_children)
{
	char log[600], rec[600], pid[16], cmd[1400], *out, *chk;
	uint64_t first = 0, last = 0;

	NEED_ROOT();
	snprintf(rec, sizeof(rec), "%s/threads.%d.jsonl", tu_tmpdir(), (int)getpid());
	pid_t wl = workload_start("threads", (char *[]){"threads", "2", "1000000000", NULL}, log,
				  sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	/*
	 * 2 s: on a loaded machine the workload may be continued well after the tracing began.
	 * -o is --record's short name, as in run.
	 */
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "2", "-q", "-o", rec, NULL}, wl,
			   &out, NULL);
	kill_children();
	children[0] = 0;
	cr_assert_eq(rc, 0, "exit status %d:\n%.2000s", rc, out);
	cr_assert_null(strstr(out, "out of time order"), "%s", strstr(out, "kernel view:"));
	unsigned tids[2] = {0};
	/*
	 * Hundreds of thousands of calls on a quiet machine; a few hundred still interleave two
	 * threads across CPUs when the machine is loaded (the suites run two tests at once).
	 */
	int n = record_span(rec, &first, &last, tids);
	cr_assert_gt(n, 200, "only %d events recorded from two busy threads", n);
	cr_assert(tids[0] && tids[1], "one thread only in the trace");
	snprintf(cmd, sizeof(cmd), "%s check %s", tu_netpollsim(), rec);
	rc = tu_run(cmd, 1, &chk);
	cr_assert_eq(rc, 0, "check refused the recording (%d):\n%.3000s", rc, chk);
	free(chk);
	free(out);
}

/* --duration wants a positive, finite number of seconds (inf, 1e300 used to end at once, nan
 * never): trace and run refuse the rest with exit status 2. Needs no root. */
Test(bpf_trace, bad_durations_are_refused, .timeout = 60)
{
	static const char *const bad[] = {"inf", "nan", "1e300", "1e11", "-1", "0", "abc", "604801",
					  "", "1\x1b[2J", "0x10",
					  /* under 1 ns: 0 ns, which meant "no duration" */
					  "1e-10"};
	char cmd[1024], *out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s trace --pid %d --duration '%s' -q", tu_netpollsim(),
			 (int)getpid(), bad[i]);
		int rc = tu_run(cmd, 1, &out);
		cr_assert_eq(rc, 2, "trace --duration %s: exit %d:\n%s", bad[i], rc, out);
		cr_assert_not_null(strstr(out, "--duration: wants a positive number of seconds"),
				   "trace --duration %s:\n%s", bad[i], out);
		cr_assert_null(strstr(out, "tracing pid"), "trace --duration %s traced:\n%s",
			       bad[i], out);
		cr_assert_null(strchr(out, '\x1b'), "a raw escape printed:\n%s", out);
		free(out);
		snprintf(cmd, sizeof(cmd), "%s run --duration '%s' --no-ui --no-bpf -q",
			 tu_netpollsim(), bad[i]);
		rc = tu_run(cmd, 1, &out);
		cr_assert_eq(rc, 2, "run --duration %s: exit %d:\n%s", bad[i], rc, out);
		cr_assert_not_null(strstr(out, "wants a positive number of seconds"),
				   "run --duration %s:\n%s", bad[i], out);
		cr_assert_null(strchr(out, '\x1b'), "a raw escape printed:\n%s", out);
		free(out);
	}
}

/*
 * `trace --pid P | head -1` of a process that makes no epoll call: nothing more is written,
 * so no write would ever fail. The trace still sees its reader gone and ends as SIGPIPE would
 * (141), at once, not when --duration or a Ctrl-C comes (here: the test's timeout, 137).
 */
Test(bpf_trace, a_reader_gone_ends_a_quiet_trace, .timeout = 60)
{
	char cmd[1024], rcf[600], *out;

	NEED_ROOT();
	snprintf(rcf, sizeof(rcf), "%s/gone.rc", tu_tmpdir());
	snprintf(cmd, sizeof(cmd),
		 "{ timeout -s KILL 30 %s trace --pid %d; echo $? >%s; } | head -n 1 >/dev/null",
		 tu_netpollsim(), (int)getpid(), rcf);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "cat %s", rcf);
	tu_run(cmd, 0, &out);
	cr_assert_str_eq(out, "141\n");
	free(out);
}

/*
 * A reader that stopped reading (a FIFO held open, never read) cannot hold a stopped trace: its
 * output waits for room until the stop, then 5 s more, and is then cut and said, as run's
 * narration is (cli/out.h). Before, trace sat in stdio's write until SIGKILL (here: 137).
 */
Test(bpf_trace, a_stalled_reader_cannot_hold_a_stopped_trace, .timeout = 120)
{
	char cmd[2400], dir[600], *out;

	NEED_ROOT();
	snprintf(dir, sizeof(dir), "%s/stall", tu_tmpdir());
	mkdir(dir, 0700);
	/* the reader holds the FIFO open and never reads; a watchdog stands for the hang (137) */
	snprintf(cmd, sizeof(cmd),
		 "d=%s; mkfifo $d/out.fifo || exit; sleep 100 <$d/out.fifo & h=$!; "
		 "%s run --scenario echo --no-bpf --clients 4 --rounds 100000000 --duration 60 -q "
		 ">/dev/null 2>&1 & busy=$!; sleep 1; "
		 "%s trace --pid $busy >$d/out.fifo 2>$d/err.txt & t=$!; "
		 "( sleep 30; kill -KILL $t ) >/dev/null 2>&1 & w=$!; "
		 "sleep 2; kill -TERM $t; wait $t; echo rc=$?; kill $w $busy $h; cat $d/err.txt",
		 dir, tu_netpollsim(), tu_netpollsim());
	tu_run(cmd, 1, &out);
	cr_assert(strstr(out, "rc=143\n"), "%s", out);
	cr_assert(strstr(out, "netpollsim trace: writing to stdout stopped: its reader did not "
			      "take it in time after the stop\n"),
		  "%s", out);
	free(out);
}

/*
 * A traced process that has exited is seen as such while it is a zombie (kill(pid, 0) still
 * succeeds): the workload here is this test's child and is not reaped until the trace ends.
 */
Test(bpf_trace, a_zombie_counts_as_exited, .timeout = 120, .fini = kill_children)
{
	char log[600], pid[16], line[64], rec[600], *out;

	NEED_ROOT();
	snprintf(rec, sizeof(rec), "%s/exits.%d.jsonl", tu_tmpdir(), (int)getpid());
	pid_t wl =
	    workload_start("exits", (char *[]){"bench", "1000", "1", NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	/* a trace that missed the exit would run its 30 s and never say "exited" */
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "30", "--record", rec, NULL}, wl,
			   &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	snprintf(line, sizeof(line), "process %d exited with code 0 at ", (int)wl);
	const char *said = strstr(out, line);
	cr_assert_not_null(said, "no '%s':\n%s", line, out);
	/* said after the last of its events, which the trace delivers before it stops */
	cr_assert_null(strstr(said, "epoll_wait("), "events after '%s':\n%s", line, said);
	cr_assert_gt(tu_count_lines(out, "epoll_wait("), 900, "the workload's waits:\n%.2000s",
		     out);
	free(out);
	/* and the recording says so: its footer's closing line, under replay's heading */
	snprintf(line, sizeof(line), ")\npid %d exited with code 0: the trace ends with it.\n",
		 (int)wl);
	out = np_ok("replay %s --no-ui", rec);
	cr_assert_not_null(strstr(out, line), "no '%s':\n%s", line, out);
	free(out);
}

/*
 * The process's end is an event: when, and how it ended, as wait(2) tells its parent. Here its
 * leader exits first (pthread_exit) and its last thread later calls exit(3): the end is that
 * thread's, with its status, not the leader's (which ended nothing).
 */
Test(bpf_trace, the_process_s_exit_is_an_event_with_its_status, .timeout = 120,
     .fini = kill_children)
{
	char log[600], pid[16], want[160], rec[600], *out;
	int last = 0;

	NEED_ROOT();
	snprintf(rec, sizeof(rec), "%s/exit3.%d.jsonl", tu_tmpdir(), (int)getpid());
	pid_t wl = workload_start("exit3", (char *[]){"leaderexit", "0.3", NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "30", "--record", rec, NULL}, wl,
			   &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	/*
	 * In the flow of events, by its last thread (the one that went on, or under TSan its
	 * own background thread, which outlives it): never the leader. Then the closing line.
	 */
	const char *ev = strstr(out, " [kernel] the process exited with code 3\n");
	cr_assert_not_null(ev, "no exit:\n%s", out);
	const char *tid = ev;
	while (tid > out && strncmp(tid, " tid ", 5))
		tid--;
	cr_assert(sscanf(tid, " tid %d", &last) == 1 && last != wl, "by the leader:\n%s", out);
	cr_assert_null(strstr(ev, "epoll_wait("), "events after the exit:\n%s", out);
	snprintf(want, sizeof(want), "\nprocess %d exited with code 3 at ", (int)wl);
	cr_assert_not_null(strstr(ev, want), "no '%s' after the event:\n%s", want, out);
	cr_assert_not_null(strstr(ev, "\ninterest set as it exited (rebuilt from epoll_ctl): 1 "
				      "registration\n"),
			   "%s", out);
	cr_assert_not_null(strstr(out, ", the exit; and 1 registration read from /proc"), "%s",
			   out);
	free(out);
	/* the recording holds it: legal, narrated by replay, its story under the heading */
	out = np_ok("check %s", rec);
	free(out);
	snprintf(want, sizeof(want), "select(.ev == \"exit\") | [.tid, .code, .signal]");
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "jq -c '%s' %s", want, rec);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	snprintf(want, sizeof(want), "[%d,3,null]\n", last);
	cr_assert_str_eq(out, want);
	free(out);
	out = np_ok("replay %s --no-ui --narrate", rec);
	cr_assert_not_null(strstr(out, "[kernel]                     the process exited with code "
				       "3\n"),
			   "%s", out);
	snprintf(want, sizeof(want), ")\npid %d exited with code 3: the trace ends with it.\n",
		 (int)wl);
	cr_assert_not_null(strstr(out, want), "no '%s':\n%s", want, out);
	free(out);
	/* an instant on its thread's kernel lane in the export */
	free(np_ok("export %s --format chrome -o %s.json", rec, rec));
	snprintf(cmd, sizeof(cmd), "%s.json", rec);
	out = slurp(cmd);
	cr_assert_not_null(strstr(out, "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"exited with code "
				       "3\""),
			   "no exit in the export");
	cr_assert_not_null(strstr(out, "\"args\":{\"code\":3}"), "no exit's args in the export");
	free(out);
}

/* Is process pid blocked in system call nr (from /proc/PID/syscall)? */
/* Is process pid a zombie (from /proc/PID/stat)? */
static bool is_zombie(pid_t pid)
{
	char path[64], state = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool z = fscanf(f, "%*d (%*[^)]) %c", &state) == 1 && state == 'Z';
	fclose(f);
	return z;
}

/*
 * A process killed in epoll_wait: its wait, interrupted (= -EINTR), is its last event, and the
 * trace says "process N exited" after it (the final drain delivers it), never before. The tracer
 * is stopped while the process dies, so that it finds it dead with that event still held back
 * for reordering, as a tracer that polls just then does.
 */
Test(bpf_trace, a_killed_process_exits_after_its_interrupted_wait, .timeout = 120,
     .fini = kill_children)
{
	char log[600], pid[16], path[600], line[64], *out;
	int status;

	NEED_ROOT();
	/* 60 s waits: the kill cannot land as one times out (100 ms ones did, once in CI) */
	pid_t wl = workload_start("killed", (char *[]){"pipes", "1", "120", "60000", NULL}, log,
				  sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	snprintf(path, sizeof(path), "%s/killed.%d.out", tu_tmpdir(), (int)getpid());
	pid_t tr = children[1] = spawn(
	    (char *[]){(char *)tu_netpollsim(), "trace", "--pid", pid, "--duration", "60", NULL},
	    path);
	free(wait_for(path, "tracing pid", tr));
	cr_assert_eq(kill(wl, SIGCONT), 0);
	/* the self-pipe's wake-up is shown: the workload then waits, nothing ready */
	free(wait_for(path, ", 8, 100) = 1 ", tr));
	while (!tu_in_syscall(wl, SYS_epoll_wait))
		usleep(1000);
	cr_assert_eq(kill(tr, SIGSTOP), 0);
	cr_assert_eq(kill(wl, SIGKILL), 0);
	while (!is_zombie(wl)) /* not reaped until kill_children */
		usleep(100);
	cr_assert_eq(kill(tr, SIGCONT), 0);
	cr_assert_eq(waitpid(tr, &status, 0), tr);
	children[1] = 0;
	out = slurp(path);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
	const char *eintr = strstr(out, ", 8, 60000) = -EINTR");
	cr_assert_not_null(eintr, "no interrupted wait:\n%s", out);
	/* its end, as the parent reaps it: the event in the flow, then the closing line */
	const char *ev = strstr(out, "[kernel] the process was killed by SIGKILL\n");
	cr_assert(ev && eintr < ev, "no kill after the last wait:\n%s", out);
	snprintf(line, sizeof(line), "process %d was killed by SIGKILL at ", (int)wl);
	const char *said = strstr(out, line);
	cr_assert(said && ev < said, "'%s' not after the event:\n%s", line, out);
	cr_assert_null(strstr(said, "epoll_wait("), "events after '%s':\n%s", line, said);
	free(out);
}

/*
 * The summary's parts add up to its events, as a replay counts them: a trace that lost events
 * said "29022 events" over parts that made 28897 (its 125 reports of losses were not named),
 * and the registrations read from /proc, events in a recording, were counted nowhere.
 */
Test(bpf_trace, the_summary_s_parts_add_up_to_its_events, .timeout = 120, .fini = kill_children)
{
	char log[600], pid[16], rec[600], *out;
	unsigned long long events = 0, waits = 0, readies = 0, ctls = 0, reports = 0, seeded = 0;

	NEED_ROOT();
	snprintf(rec, sizeof(rec), "%s/parts.%d.jsonl", tu_tmpdir(), (int)getpid());
	/* 20 fds ready at each wait: far more than a 4 KiB ring holds between two polls */
	pid_t wl = workload_start("parts", (char *[]){"bench", "1000000000", "20", NULL}, log,
				  sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "0.5", "-q", "--ring", "4096",
				      "--break", "none", "--record", rec, NULL},
			   wl, &out, NULL);
	kill_children();
	children[0] = 0;
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	const char *s = strstr(out, "kernel view: ");
	cr_assert_not_null(s, "%s", out);
	cr_assert_eq(sscanf(s,
			    "kernel view: %llu events in %*f s (%*f/s): %llu epoll_wait returns, "
			    "%llu ready entries, %llu epoll_ctl",
			    &events, &waits, &readies, &ctls),
		     4, "%s", s);
	const char *r = strstr(s, " reports of lost events");
	cr_assert_not_null(r, "no losses named:\n%s", s);
	while (r > s && r[-1] != ' ')
		r--;
	cr_assert_eq(sscanf(r, "%llu", &reports), 1);
	const char *d = strstr(s, "; and ");
	cr_assert(d &&
		      sscanf(d, "; and %llu registrations read from /proc at attach", &seeded) == 1,
		  "%s", s);
	cr_assert_eq(seeded, 20, "%s", s);
	cr_assert_eq(waits + readies + ctls + reports, events, "%s", s);
	cr_assert_not_null(strstr(s, "\nprobes: events were lost because the ring buffer was full: "
				     "a larger --ring (now 4 KiB) holds more"),
			   "%s", s);
	free(out);
	/* and a replay counts them all */
	out = np_ok("replay %s --no-ui", rec);
	char want[64];
	snprintf(want, sizeof(want), "summary: %llu events over ", events + seeded);
	cr_assert_not_null(strstr(out, want), "no '%s':\n%s", want, out);
	free(out);
}

/* The probes filter on the process: a thread id given to --pid traces that thread's process. */
Test(bpf_trace, a_thread_id_traces_its_process, .timeout = 120, .fini = kill_children)
{
	char log[600], tid[16], line[128], *out, *s;
	int thr = 0;

	NEED_ROOT();
	pid_t wl =
	    workload_start("tid", (char *[]){"threads", "2", "1000000000", NULL}, log, sizeof(log));
	s = slurp(log);
	cr_assert_not_null(strstr(s, "thread tid "), "%s", s);
	cr_assert_eq(sscanf(strstr(s, "thread tid "), "thread tid %d", &thr), 1);
	free(s);
	cr_assert_neq(thr, (int)wl);
	snprintf(tid, sizeof(tid), "%d", thr);
	int rc =
	    trace_run((char *[]){"--pid", tid, "--duration", "0.5", "-q", NULL}, wl, &out, NULL);
	kill_children();
	children[0] = 0;
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	snprintf(line, sizeof(line), "pid %d is a thread of process %d: tracing %d", thr, (int)wl,
		 (int)wl);
	cr_assert_not_null(strstr(out, line), "no '%s':\n%s", line, out);
	snprintf(line, sizeof(line), "tracing pid %d:", (int)wl);
	cr_assert_not_null(strstr(out, line), "no '%s':\n%s", line, out);
	unsigned long long events = 0;
	cr_assert_not_null(s = strstr(out, "kernel view: "), "%s", out);
	cr_assert_eq(sscanf(s, "kernel view: %llu events", &events), 1);
	cr_assert_gt(events, 1000, "%s", out);
	free(out);
}

/*
 * Seeding from /proc reads each fd's link once: a process with 2000 self-pipes registered in
 * epoll (the tester's python program had 1000: 574,233 readlink calls and 9.2 s for a 1 s trace)
 * costs about one readlink per fd (counted by strace, not timed), its interest set at attach is
 * complete, and the probes' events lie within the span the summary gives (they used to be
 * attached during the seeding, which the duration did not count).
 */
Test(bpf_trace, seeding_from_proc_is_linear, .timeout = 300, .fini = kill_children)
{
	char log[600], pid[16], rec[600], sc[600], fddir[64], *out, *s;
	double span;
	uint64_t first = 0, last = 0;
	unsigned long calls = 0;
	int fds = 0;

	NEED_ROOT();
	pid_t wl =
	    workload_start("pipes", (char *[]){"pipes", "2000", "60", NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	snprintf(fddir, sizeof(fddir), "/proc/%d/fd", (int)wl);
	DIR *d = opendir(fddir);
	cr_assert_not_null(d);
	for (struct dirent *de; (de = readdir(d));)
		fds += de->d_name[0] != '.';
	closedir(d);
	snprintf(rec, sizeof(rec), "%s/pipes.%d.jsonl", tu_tmpdir(), (int)getpid());
	snprintf(sc, sizeof(sc), "%s/pipes.%d.strace", tu_tmpdir(), (int)getpid());
	tu_no_leak_check(); /* under strace */
	trace_wrapper = (char *[]){"/usr/bin/strace",		"-f", "-qq", "-c", "-e",
				   "trace=readlink,readlinkat", "-o", sc,    "--", NULL};
	int rc = trace_run(
	    (char *[]){"--pid", pid, "--duration", "1", "--break", "none", "--record", rec, NULL},
	    wl, &out, NULL);
	trace_wrapper = NULL;
	kill_children();
	children[0] = 0;
	cr_assert_eq(rc, 0, "exit status %d:\n%.3000s", rc, out);
	cr_assert_not_null(strstr(out, "interest set at attach (from /proc fdinfo): 2000 "),
			   "%.3000s", out);
	cr_assert_not_null(s = strstr(out, "kernel view: "), "%s", out);
	cr_assert_eq(sscanf(s, "kernel view: %*u events in %lf s", &span), 1);
	cr_assert_geq(span, 1, "a 1 s trace said %.3f s", span);
	if (record_span(rec, &first, &last, NULL) > 1)
		cr_assert_leq((double)(last - first) / 1e9, span,
			      "events span %.3f s, the trace says %.3f s",
			      (double)(last - first) / 1e9, span);
	/* strace -c: "... calls errors readlink" rows; add readlink and readlinkat */
	char *sum = slurp(sc);
	for (char *l = sum; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long c;
		char name[32];
		if ((sscanf(l, "%*f %*f %*u %lu %*u %31s", &c, name) == 2 ||
		     sscanf(l, "%*f %*f %*u %lu %31s", &c, name) == 2) &&
		    !strncmp(name, "readlink", 8))
			calls += c;
	}
	cr_assert_gt(calls, 0, "strace counted no readlink:\n%s", sum);
	cr_assert_leq(calls, 2UL * (unsigned long)fds + 64, "%lu readlink calls for %d fds:\n%s",
		      calls, fds, sum);
	free(sum);
	free(out);
}

/*
 * A self-pipe registered for EPOLLIN alone in a program that is not Go is not Go's netpollBreak
 * pipe: its reads and writes are not traced (the read/write probes see every process's) nor
 * narrated as netpollBreak.
 */
Test(bpf_trace, a_self_pipe_of_another_program_is_not_go_s, .timeout = 120, .fini = kill_children)
{
	char log[600], pid[16], line[160], *out;

	NEED_ROOT();
	pid_t wl =
	    workload_start("selfpipe", (char *[]){"pipes", "1", "0.3", NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "10", NULL}, wl, &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	snprintf(line, sizeof(line),
		 "break pipe: none (pid %d is not a Go program: its executable has no "
		 ".go.buildinfo section); --break RD,WR names one",
		 (int)wl);
	cr_assert_not_null(strstr(out, line), "no '%s':\n%s", line, out);
	cr_assert_null(strstr(out, "netpollBreak"), "%s", out);
	cr_assert_null(strstr(out, "and the break pipe"), "%s", out);
	cr_assert_null(strstr(out, "had no epoll fd"), "%s", out);
	/* the pipe's registration is still in the interest set, and its readiness resolved */
	cr_assert_not_null(strstr(out, "interest set at attach (from /proc fdinfo): 1 "), "%s",
			   out);
	cr_assert_not_null(strstr(out, "[0] fd "), "%s", out);
	free(out);
}

/*
 * The samedata workload (stopped, as workload_start leaves it), with its epoll fd and its two
 * fds: a, the first registered (closed without EPOLL_CTL_DEL once continued), and b.
 */
static pid_t samedata_start(const char *name, const char *secs, char *log, size_t len, int *epfd,
			    int *a, int *b)
{
	pid_t wl = workload_start(name, (char *[]){"samedata", (char *)secs, NULL}, log, len);
	char *s = slurp(log), *first = strstr(s, "ctl epfd");
	cr_assert(first && sscanf(first, "ctl epfd %d op 1 fd %d", epfd, a) == 2, "%s", s);
	char *second = strstr(first + 1, "ctl epfd");
	cr_assert(second && sscanf(second, "ctl epfd %*d op 1 fd %d", b) == 1, "%s", s);
	free(s);
	return wl;
}

/*
 * Two fds registered on one epoll fd with the same data: a ready entry with that data cannot
 * name its fd. It says fd ?, and why, once (it used to name the last one registered: fd 6,
 * although only the other one was readable).
 */
Test(bpf_trace, fds_sharing_their_data_are_not_told_apart, .timeout = 120, .fini = kill_children)
{
	char log[600], pid[16], *out;
	int epfd = -1, a = -1, b = -1;

	NEED_ROOT();
	pid_t wl = samedata_start("samedata", "0.3", log, sizeof(log), &epfd, &a, &b);
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "10", NULL}, wl, &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	cr_assert_not_null(strstr(out, "[0] fd ?   EPOLLIN  data 0x7"), "%.3000s", out);
	cr_assert_eq(tu_count_lines(out, "(fd ?: more than one fd was registered on epfd"), 1, "%s",
		     out);
	/*
	 * the whole line, right under the entry (not a terminal: the full layout's indent), with
	 * the workload's epfd and shared data
	 */
	char why[400];
	snprintf(why, sizeof(why),
		 "] fd ?   EPOLLIN  data 0x7\n%28s(fd ?: more than one fd was registered on epfd "
		 "%d with data 0x7, and epoll returns only the data; some may have been closed "
		 "since without EPOLL_CTL_DEL, which removes them from epoll unseen)\n",
		 "", epfd);
	cr_assert_not_null(strstr(out, why), "no '%s' in:\n%.3000s", why, out);
	char wrong[32];
	snprintf(wrong, sizeof(wrong), "] fd %d ", b);
	cr_assert_null(strstr(out, wrong), "a confident fd:\n%.3000s", out);
	snprintf(wrong, sizeof(wrong), "] fd %d ", a);
	cr_assert_null(strstr(out, wrong), "a confident fd:\n%.3000s", out);
	free(out);
}

/*
 * Start `netpollsim trace --pid WL` with extra (NULL-terminated) into name's output file (path,
 * len) as children[1], and once it traces, continue the stopped workload wl.
 */
static pid_t trace_start(const char *name, pid_t wl, char *const extra[], char *path, size_t len)
{
	char pid[16], *argv[12] = {(char *)tu_netpollsim(), "trace", "--pid", pid};
	int i = 4;

	snprintf(pid, sizeof(pid), "%d", (int)wl);
	snprintf(path, len, "%s/%s.%d.out", tu_tmpdir(), name, (int)getpid());
	for (; extra[i - 4] && i < 11; i++)
		argv[i] = extra[i - 4];
	argv[i] = NULL;
	pid_t tp = children[1] = spawn(argv, path);
	free(wait_for(path, "tracing pid", tp));
	cr_assert_eq(kill(wl, SIGCONT), 0);
	return tp;
}

/* Stop the tracer tp with sig; its wait status. */
static int trace_stop(pid_t tp, int sig)
{
	int status;

	cr_assert_eq(kill(tp, sig), 0);
	cr_assert_eq(waitpid(tp, &status, 0), tp);
	children[1] = 0;
	return status;
}

/*
 * A registration whose fd was closed without EPOLL_CTL_DEL (the samedata workload's first fd,
 * as nginx closes its connections) stays in the set rebuilt from the epoll calls, which cannot
 * see it go; when the trace ends (Ctrl-C, its usual end) it reads /proc again and names it, and
 * only it.
 */
Test(bpf_trace, a_registration_closed_unseen_is_named_at_the_end, .timeout = 120,
     .fini = kill_children)
{
	char log[600], out_path[600], want[200], *out;
	int epfd = -1, a = -1, b = -1;

	NEED_ROOT();
	pid_t wl = samedata_start("unseen", "60", log, sizeof(log), &epfd, &a, &b);
	pid_t tp = trace_start("unseen", wl, (char *[]){"-q", NULL}, out_path, sizeof(out_path));
	free(wait_for(log, "read fd", wl)); /* closed, woken, drained: now it waits */
	int status = trace_stop(tp, SIGINT);
	out = slurp(out_path);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status 0x%x:\n%s", status, out);
	cr_assert_not_null(strstr(out, "interest set (rebuilt from epoll_ctl): 2 registrations\n"),
			   "%s", out);
	snprintf(want, sizeof(want),
		 "not in the kernel's set when tracing ended (/proc/%d/fdinfo): closed without "
		 "EPOLL_CTL_DEL, which removes a registration unseen, or removed after the probes "
		 "stopped:\n   fd %d on epfd %d\nkernel view: ",
		 (int)wl, a, epfd);
	cr_assert_not_null(strstr(out, want), "no '%s' in:\n%s", want, out);
	free(out);
}

/*
 * A registration another process made on a shared epoll fd (a forked child: the probes trace one
 * process) is never seen added: its ready entries say fd ? and why, and the end of the trace
 * names it from /proc.
 */
Test(bpf_trace, a_registration_made_by_a_fork_is_named, .timeout = 120, .fini = kill_children)
{
	char log[600], out_path[600], want[400], *out;
	int cfd = -1, epfd = -1;

	NEED_ROOT();
	pid_t wl = workload_start("forkadd", (char *[]){"forkadd", "60", NULL}, log, sizeof(log));
	char *s = slurp(log), *at = strstr(s, "ctl epfd ");
	cr_assert(at && sscanf(at, "ctl epfd %d", &epfd) == 1, "%s", s);
	free(s);
	pid_t tp = trace_start("forkadd", wl, (char *[]){NULL}, out_path, sizeof(out_path));
	s = wait_for(log, "wait sub", wl); /* the child added, the parent waited */
	cr_assert(sscanf(strstr(s, "child added fd "), "child added fd %d", &cfd) == 1, "%s", s);
	free(s);
	free(wait_for(out_path, "EPOLLOUT  data 0x2", tp));
	int status = trace_stop(tp, SIGINT);
	out = slurp(out_path);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status 0x%x:\n%s", status, out);
	snprintf(
	    want, sizeof(want),
	    "[0] fd ?   EPOLLOUT  data 0x2\n%28s(fd ?: no registration on epfd %d with data "
	    "0x2 was seen: another process that shares the epoll fd made it (a fork's parent or "
	    "child: the probes trace pid %d only)",
	    "", epfd, (int)wl);
	cr_assert_not_null(strstr(out, want), "no '%s' in:\n%s", want, out);
	snprintf(
	    want, sizeof(want),
	    "in the kernel's set when tracing ended (/proc/%d/fdinfo) but not seen added: by "
	    "another process that shares the epoll fd (a fork's parent or child: the probes "
	    "trace pid %d only), or after the probes stopped:\n   fd %d on epfd %d (data 0x2)\n",
	    (int)wl, (int)wl, cfd, epfd);
	cr_assert_not_null(strstr(out, want), "no '%s' in:\n%s", want, out);
	free(out);
}

/*
 * A process whose main thread has exited (pthread_exit) while another goes on: /proc/PID shows
 * none of its fds, /proc/PID/task/TID does. The interest set at attach and the fds of the ready
 * entries come from there, not "0 registrations" and fd ?.
 */
Test(bpf_trace, a_process_whose_leader_exited_is_read_from_its_threads, .timeout = 120,
     .fini = kill_children)
{
	char log[600], out_path[600], want[200], *out;
	int epfd = -1, fd = -1;

	NEED_ROOT();
	pid_t wl =
	    workload_start("leaderexit", (char *[]){"leaderexit", "60", NULL}, log, sizeof(log));
	char *s = slurp(log), *at = strstr(s, "ctl epfd ");
	cr_assert(at && sscanf(at, "ctl epfd %d op 1 fd %d", &epfd, &fd) == 2, "%s", s);
	cr_assert_not_null(strstr(s, "leader exited"), "%s", s);
	free(s);
	pid_t tp = trace_start("leaderexit", wl, (char *[]){NULL}, out_path, sizeof(out_path));
	free(wait_for(log, "read fd", wl)); /* written, woken, drained */
	snprintf(want, sizeof(want), "[0] fd %d ", fd);
	free(wait_for(out_path, want, tp));
	trace_stop(tp, SIGINT);
	out = slurp(out_path);
	cr_assert_not_null(
	    strstr(out, "interest set at attach (from /proc fdinfo): 1 registration\n"), "%s", out);
	snprintf(want, sizeof(want), "[0] fd %d   EPOLLIN  data 0x5\n", fd);
	cr_assert_not_null(strstr(out, want), "no '%s' in:\n%s", want, out);
	cr_assert_null(strstr(out, "No such file"), "%s", out);
	free(out);
}

/*
 * A recording killed with SIGKILL (no footer, no final flush) holds every event the trace had
 * shown: it is flushed as the events are delivered, not when 512 KiB have piled up.
 */
Test(bpf_trace, a_killed_recording_keeps_what_was_shown, .timeout = 120, .fini = kill_children)
{
	char log[600], out_path[600], rec[600], *out;
	int epfd = -1, a = -1, b = -1;

	NEED_ROOT();
	pid_t wl = samedata_start("killed", "60", log, sizeof(log), &epfd, &a, &b);
	snprintf(rec, sizeof(rec), "%s/killed.%d.jsonl", tu_tmpdir(), (int)getpid());
	pid_t tp = trace_start("killed", wl, (char *[]){"--record", rec, NULL}, out_path,
			       sizeof(out_path));
	free(wait_for(out_path, "[0] fd ?   EPOLLIN  data 0x7", tp)); /* a wait's return, shown */
	trace_stop(tp, SIGKILL);
	char want[96], *text = slurp(rec);
	snprintf(want, sizeof(want), "\"epfd\":%d,\"maxevents\":8,\"timeout_ms\":100,\"n\":1,",
		 epfd);
	cr_assert_not_null(strstr(text, want), "no %s in the killed recording:\n%s", want, text);
	free(text);
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "%s check --allow-truncated %s", tu_netpollsim(), rec);
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_not_null(strstr(out, "note: no-footer:"), "%s", out);
	free(out);
}

/*
 * The interest set read from /proc when tracing began is recorded too (epoll_ctl ADDs with sub
 * NPS_CTL_SEEDED at ts 0), so that replay shows the fds the live trace showed.
 */
Test(bpf_trace, the_interest_set_at_attach_is_recorded, .timeout = 120, .fini = kill_children)
{
	char log[600], rec[600], pid[16], *out;
	struct trace_reader *r = NULL;
	struct nps_event e;
	int n = 0, seeded = 0;

	NEED_ROOT();
	snprintf(rec, sizeof(rec), "%s/seeded.%d.jsonl", tu_tmpdir(), (int)getpid());
	pid_t wl =
	    workload_start("seeded", (char *[]){"pipes", "3", "0.3", NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "10", "--record", rec, NULL}, wl,
			   &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	cr_assert_not_null(strstr(out, "interest set at attach (from /proc fdinfo): 3 "), "%s",
			   out);
	cr_assert_null(strstr(out, "epoll_ctl("), "a seeded ADD printed as a call:\n%s", out);
	free(out);

	cr_assert_eq(trace_reader_open(rec, &r), 0, "%s", rec);
	while (trace_reader_next(r, &e) == 1) {
		bool s = e.kind == NPS_EV_EPOLL_CTL && e.sub == NPS_CTL_SEEDED;

		cr_assert(!s || n == seeded, "event %d: a seeded ADD after other events", n);
		if (s) {
			cr_assert_eq(e.u.ctl.op, NPS_EPOLL_CTL_ADD);
			cr_assert_eq(e.u.ctl.events, 0x1, "events 0x%x", e.u.ctl.events);
			cr_assert_eq(e.u.ctl.data, (uint64_t)e.fd, "the workload's data is the fd");
			cr_assert_eq(e.tid, 0);
			cr_assert_eq(e.ts, trace_reader_info(r)->mono_origin);
		}
		seeded += s;
		n++;
	}
	trace_reader_close(r);
	cr_assert_eq(seeded, 3, "%d seeded ADDs", seeded);
	out = np_ok("replay %s --no-ui", rec);
	cr_assert_not_null(strstr(out, "3 fds in the interest set"), "%s", out);
	free(out);
	free(np_ok("check %s", rec));
}

/*
 * The interest set `trace --pid` rebuilds from the epoll_ctl calls it saw: every successful ADD
 * of the demo workload (none was registered at attach), less what it deleted; its failed ADD
 * (EBADF) registers nothing. The count comes from the workload's own log.
 */
Test(bpf_trace, the_interest_set_is_rebuilt_from_epoll_ctl, .timeout = 120, .fini = kill_children)
{
	char log[600], pid[16], want[200], *out;
	int adds = 0, dels = 0, failed = 0;

	NEED_ROOT();
	pid_t wl = workload_start("rebuilt", (char *[]){"demo", NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "60", NULL}, wl, &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	char *wlog = slurp(log);
	for (const char *l = wlog; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		int epfd, op, fd, ret;
		if (sscanf(l, "ctl epfd %d op %d fd %d events %*u data %*u ret %d", &epfd, &op, &fd,
			   &ret) != 4)
			continue;
		failed += ret != 0;
		adds += ret == 0 && op == NPS_EPOLL_CTL_ADD;
		dels += ret == 0 && op == NPS_EPOLL_CTL_DEL;
	}
	free(wlog);
	cr_assert(adds > 2 && dels > 0 && failed > 0, "log %s: %d ADDs, %d DELs, %d failed", log,
		  adds, dels, failed);
	cr_assert_not_null(strstr(out, "interest set at attach (from /proc fdinfo): 0 "), "%s",
			   out);
	snprintf(want, sizeof(want),
		 "interest set as it exited (rebuilt from epoll_ctl): %d registrations",
		 adds - dels);
	cr_assert_not_null(strstr(out, want), "no '%s' in:\n%s", want, out);
	free(out);
}

/*
 * The traced process execs itself: the trace says so, forgets the old program's registrations
 * (its CLOEXEC epoll fd is closed, and so is a CLOEXEC socket registered in the epoll fd that
 * survives), keeps what /proc shows survived, and tells the new program's epoll set; the
 * recording passes check and replays the exec.
 */
Test(bpf_trace, an_exec_starts_a_new_interest_set, .timeout = 120, .fini = kill_children)
{
	char log[600], rec[600], pid[16], line[800], self[520], *out, *s, *x;
	int kept = -1, keeprd = -1, newrd = -1;

	NEED_ROOT();
	snprintf(rec, sizeof(rec), "%s/exec.%d.jsonl", tu_tmpdir(), (int)getpid());
	pid_t wl = workload_start("exec", (char *[]){"exec", "1", NULL}, log, sizeof(log));
	s = slurp(log);
	cr_assert_eq(sscanf(strstr(s, "ctl epfd"), "ctl epfd %d op 1 fd %d", &kept, &keeprd), 2,
		     "%s", s);
	free(s);
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "30", "--record", rec, NULL}, wl,
			   &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	s = slurp(log);
	cr_assert_eq(sscanf(strstr(s, "exec "), "exec %511s", self), 1, "%s", s);
	x = strstr(s, "exec ");
	cr_assert_not_null(strstr(x, "pipe rd "), "%s", s);
	cr_assert_eq(sscanf(strstr(x, "pipe rd "), "pipe rd %d", &newrd), 1, "%s", s);
	free(s);

	/* the exec, then the break pipe decided again and what survived it, from /proc */
	snprintf(line, sizeof(line), "[kernel] %d exec'd %s\n", (int)wl, self);
	x = strstr(out, line);
	cr_assert_not_null(x, "no '%s' in:\n%s", line, out);
	snprintf(line, sizeof(line), "break pipe: none (pid %d is not a Go program", (int)wl);
	cr_assert_not_null(strstr(x, line), "Go detection not redone after the exec:\n%s", out);
	cr_assert_not_null(strstr(x, "interest set after the exec (from /proc fdinfo): 1 "
				     "registration\n"),
			   "%s", out);
	snprintf(line, sizeof(line),
		 "interest set after the exec (from /proc fdinfo): 1 registration\n"
		 "  %5s %5s  %-44s %-18s\n  %5d %5d  %-44s 0x0000000000000001\n",
		 "epfd", "fd", "events", "data", kept, keeprd, "EPOLLIN");
	cr_assert_not_null(strstr(x, line), "no '%s' in:\n%s", line, out);
	/* the new program's ready entry is resolved in its own epoll set */
	snprintf(line, sizeof(line), "] fd %d ", newrd);
	cr_assert_not_null(strstr(x, line), "the new pipe's ready entry:\n%s", out);
	/* the rebuilt set: the survivor and the new registration, none of the old program's */
	x = strstr(out, "interest set as it exited (rebuilt from epoll_ctl): 2 registrations");
	cr_assert_not_null(x, "%s", out);
	static const unsigned kept_data[] = {0x1, 0x21}, gone_data[] = {0x11, 0x12, 0x13};
	for (size_t i = 0; i < 5; i++) {
		bool want = i < 2;
		snprintf(line, sizeof(line), "0x%016x", want ? kept_data[i] : gone_data[i - 2]);
		cr_assert(!strstr(x, line) == !want, "%s %s:\n%s", line, want ? "missing" : "stale",
			  x);
	}
	free(out);

	out = np_ok("check %s", rec);
	cr_assert_null(strstr(out, "closed-without-del"), "%s", out);
	free(out);
	out = np_ok("replay %s --no-ui --narrate", rec);
	snprintf(line, sizeof(line), "%d exec'd %s", (int)wl, self);
	cr_assert_not_null(strstr(out, line), "%s", out);
	free(out);
	free(np_ok("export %s --format chrome -o %s.json", rec, rec));
	snprintf(line, sizeof(line), "%s.json", rec);
	out = slurp(line);
	snprintf(line, sizeof(line), "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"exec'd %s\"", self);
	cr_assert_not_null(strstr(out, line), "no '%s' in the export", line);
	free(out);
}

/*
 * execve called by a thread other than the leader: the kernel makes that thread the leader (the
 * process keeps its pid); the line says which thread called it, in the full layout as in the
 * narration.
 */
Test(bpf_trace, an_exec_by_another_thread_names_it, .timeout = 120, .fini = kill_children)
{
	char log[600], pid[16], line[900], self[512], *out, *s;
	int by = -1;

	NEED_ROOT();
	pid_t wl =
	    workload_start("exec-thread", (char *[]){"exec-thread", "1", NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "30", NULL}, wl, &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	s = slurp(log);
	cr_assert_eq(sscanf(strstr(s, "exec "), "exec %511s", self), 1, "%s", s);
	cr_assert_eq(sscanf(strstr(s, "exec by tid "), "exec by tid %d", &by), 1, "%s", s);
	free(s);
	cr_assert_neq(by, (int)wl, "the exec was the leader's");
	snprintf(line, sizeof(line), "[kernel] %d exec'd %s (execve called by thread %d)\n",
		 (int)wl, self, by);
	cr_assert_not_null(strstr(out, line), "no '%s' in:\n%s", line, out);
	free(out);
}

/*
 * A program that is not Go execs a Go server: the break pipe is looked for again, in the new
 * program (its netpollinit registers it, before or after trace reads /proc), and its reads and
 * writes are traced from then on.
 */
Test(bpf_trace, an_exec_into_go_finds_its_break_pipe, .timeout = 300, .fini = kill_children)
{
	char dir[512], log[600], pid[16], line[700], prog[600], *out, *x;

	NEED_ROOT();
	build_go_echo(dir, sizeof(dir));
	snprintf(prog, sizeof(prog), "%s/echo", dir);
	pid_t wl = workload_start("exec-go", (char *[]){"exec", "1", prog, NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "3", NULL}, wl, &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	snprintf(line, sizeof(line), "break pipe: none (pid %d is not a Go program", (int)wl);
	cr_assert_not_null(strstr(out, line), "%s", out);
	snprintf(line, sizeof(line), "[kernel] %d exec'd %s\n", (int)wl, prog);
	const char *exec = x = strstr(out, line);
	cr_assert_not_null(x, "no '%s' in:\n%s", line, out);
	snprintf(line, sizeof(line), "break pipe: none (pid %d is not a Go program", (int)wl);
	cr_assert_null(strstr(x, line), "the old program's verdict kept:\n%s", out);
	/* with the Go that built it, as at attach */
	snprintf(line, sizeof(line), "break pipe: pid %d now runs a Go program (go1.", (int)wl);
	const char *now = strstr(x, line);
	cr_assert_not_null(now, "no '%s' in:\n%s", line, out);
	cr_assert_not_null(strstr(now, "): its netpollinit's EPOLLIN registration names it\n"),
			   "%s", out);
	/* named when netpollinit's registration shows, not guessed from the pipe that survived */
	x = strstr(x, "break pipe: read fd ");
	cr_assert(x && strstr(x, "(its netpollinit's registration, the write end found in /proc)"),
		  "no break pipe after the exec:\n%s", out);
	int rd = -1, wr = -1, addfd = -1;
	cr_assert_eq(sscanf(x, "break pipe: read fd %d, write fd %d", &rd, &wr), 2);
	/* netpollinit's ADD: the first registration for EPOLLIN alone after the exec */
	const char *add = strstr(exec, "{EPOLLIN, 0x");
	cr_assert_not_null(add, "%s", out);
	while (add > exec && strncmp(add, ", ADD, ", 7))
		add--;
	cr_assert_eq(sscanf(add, ", ADD, %d,", &addfd), 1, "%.80s", add);
	cr_assert_eq(addfd, rd, "the break pipe is not the one netpollinit registered:\n%s", out);
	free(out);
}

/*
 * A path of exactly len bytes to /bin/true: a symlink at the end of nested directories under
 * the test's temporary directory (no name longer than NAME_MAX), in path (cap bytes).
 */
static void long_true(char *path, size_t cap, size_t len)
{
	int n = snprintf(path, cap, "%s/long%zu", tu_tmpdir(), len);
	const size_t tail = strlen("/true");

	cr_assert(n > 0 && (size_t)n + tail + 2 <= len && len < cap, "%s", path);
	cr_assert_eq(mkdir(path, 0755), 0, "%s: %s", path, strerror(errno));
	while (strlen(path) + tail < len) {
		size_t have = strlen(path), left = len - tail - have, k = left - 1;
		if (k > 200)
			k = left - 1 - 200 >= 2 ? 200 : 100; /* never leave a lone '/' to fill */
		path[have] = '/';
		memset(path + have + 1, 'd', k);
		path[have + 1 + k] = '\0';
		cr_assert_eq(mkdir(path, 0755), 0, "%s: %s", path, strerror(errno));
	}
	strcat(path, "/true");
	cr_assert_eq(strlen(path), len);
	cr_assert_eq(symlink("/bin/true", path), 0, "%s: %s", path, strerror(errno));
}

/*
 * The probe keeps 255 bytes of an exec's path (bpf/netpoll.h): a path that long is printed and
 * recorded whole, a longer one cut there with "..." after it, in the live view, the recording
 * (its exec event's path), and the replay. Before, the longer one was cut silently, and the
 * recording cut every path at 63 bytes.
 */
Test(bpf_trace, a_long_exec_path_is_marked_where_it_is_cut, .timeout = 120, .fini = kill_children)
{
	static const size_t lens[] = {255, 300};
	char prog[600], want[600], log[600], rec[600], pid[16], line[800], *out;

	NEED_ROOT();
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		long_true(prog, sizeof(prog), lens[i]);
		snprintf(want, sizeof(want), "%.255s%s", prog, lens[i] > 255 ? "..." : "");
		snprintf(rec, sizeof(rec), "%s/long%zu.jsonl", tu_tmpdir(), lens[i]);
		pid_t wl = workload_start("exec-long", (char *[]){"exec", "1", prog, NULL}, log,
					  sizeof(log));
		snprintf(pid, sizeof(pid), "%d", (int)wl);
		int rc =
		    trace_run((char *[]){"--pid", pid, "--duration", "30", "--record", rec, NULL},
			      wl, &out, NULL);
		cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
		snprintf(line, sizeof(line), "[kernel] %d exec'd %s\n", (int)wl, want);
		cr_assert_not_null(strstr(out, line), "no '%s' in:\n%s", line, out);
		free(out);
		out = np_ok("check %s", rec);
		free(out);
		out = slurp(rec);
		snprintf(line, sizeof(line), "\"ev\":\"exec\",\"tid\":%d,\"path\":\"%s\",", (int)wl,
			 want);
		cr_assert_not_null(strstr(out, line), "no '%s' in the recording:\n%s", line, out);
		free(out);
		out = np_ok("replay %s --no-ui --narrate", rec);
		snprintf(line, sizeof(line), "%d exec'd %s\n", (int)wl, want);
		cr_assert_not_null(strstr(out, line), "no '%s' in the replay:\n%s", line, out);
		free(out);
		children[0] = 0; /* the workload ran /bin/true, which has exited */
		waitpid(wl, NULL, 0);
	}
}

/*
 * The header of `trace --record` for a program started as `PREFIX PROG` (a shell command):
 * [go, gomaxprocs] as jq prints them on one line (free it).
 */
static char *recorded_go(const char *prefix, const char *prog)
{
	char cmd[2400], rec[600], *out = NULL;

	snprintf(rec, sizeof(rec), "%s/header.jsonl", tu_tmpdir());
	snprintf(cmd, sizeof(cmd),
		 "%s %s >/dev/null & p=$!; sleep 0.2; %s trace --pid $p --duration 0.2 -q "
		 "--record %s >/dev/null 2>&1; kill $p; head -n 1 %s | jq -c '[.go, .gomaxprocs] + "
		 "if .gomaxprocs_from then [.gomaxprocs_from] else [] end'",
		 prefix, prog, tu_netpollsim(), rec, rec);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	return out;
}

/*
 * A Go program's recording says which Go built it (its build info, as `go version` reads it) and
 * its GOMAXPROCS: runtime.gomaxprocs read from its memory (its symbol table gives the address),
 * so that a runtime.GOMAXPROCS call in the program shows; without a symbol table (-ldflags=-s)
 * as Go would have it at its start: its $GOMAXPROCS, else the CPUs of its affinity mask
 * (getproccount), not the machine's CPU count. It used to say "go1.22", whatever built it, and
 * the environment's 3 for a program that had set 2.
 */
Test(bpf_trace, a_go_program_s_header_gives_its_go_and_gomaxprocs, .timeout = 300)
{
	char dir[512], prog[600], progs[600], stripped[600], cmd[1400], want[160], *out, *ver;

	NEED_ROOT();
	build_go_echo(dir, sizeof(dir));
	snprintf(prog, sizeof(prog), "%s/echo", dir);
	snprintf(progs, sizeof(progs), "%s/echo -gomaxprocs 2", dir);
	snprintf(stripped, sizeof(stripped), "%s/echo-s -gomaxprocs 2", dir);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && GOCACHE=/tmp/nps-gocache GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0 "
		 "GO111MODULE=off " GO " build -ldflags=-s -o echo-s main.go && " GO " version %s",
		 dir, prog);
	cr_assert_eq(tu_run(cmd, 0, &out), 0, "%s", out);
	cr_assert_not_null(ver = strstr(out, ": go1."), "%s", out);
	ver[2 + strcspn(ver + 2, "\n")] = '\0';
	const struct {
		const char *env, *prog, *procs, *from;
	} c[] = {
	    {"taskset -c 0", prog, "1", "runtime"},
	    {"taskset -c 0 env GOMAXPROCS=3", prog, "3", "runtime"},
	    {"env GOMAXPROCS=3", progs, "2", "runtime"},
	    {"env GOMAXPROCS=3", stripped, "3", "environment"},
	    /* as Go reads it: digits only (atoi32), else the CPUs */
	    {"taskset -c 0 env GOMAXPROCS=4x", stripped, "1", "environment"},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *got = recorded_go(c[i].env, c[i].prog);

		snprintf(want, sizeof(want), "[\"%s\",%s,\"%s\"]\n", ver + 2, c[i].procs,
			 c[i].from);
		cr_assert_str_eq(got, want, "%s %s", c[i].env, c[i].prog);
		free(got);
		/* where it came from, in the replay's heading */
		char *rp = np_ok("replay %s/header.jsonl --no-ui", tu_tmpdir());
		snprintf(want, sizeof(want), "/echo%s (%s, GOMAXPROCS %s %s)\n",
			 strstr(c[i].prog, "echo-s") ? "-s" : "", ver + 2, c[i].procs,
			 c[i].from[0] == 'r' ? "read from runtime.gomaxprocs"
					     : "from its environment or CPUs");
		const char *h = strstr(rp, "== trace of pid ");
		cr_assert(h && strstr(h, want), "no '== trace of pid N, ...%s' in:\n%s", want, rp);
		free(rp);
	}
	free(out);
}

/*
 * A program that is not Go has no Go version and no GOMAXPROCS: its recording says "go":"none"
 * and the placeholder 1 the reader requires, whatever its environment. It used to claim
 * "go1.22" and GOMAXPROCS 2 (the CPUs) for bash, and replay titled it "GOMAXPROCS 2".
 */
Test(bpf_trace, a_program_that_is_not_go_gets_no_go_header, .timeout = 60)
{
	NEED_ROOT();
	char *got = recorded_go("env GOMAXPROCS=3", "sleep 5");

	cr_assert_str_eq(got, "[\"none\",1]\n");
	free(got);
	/* replayed, it has no GOMAXPROCS and no runtime lines, which would all say 0 */
	char *out = np_ok("replay %s/header.jsonl --no-ui --narrate", tu_tmpdir());
	const char *h = strstr(out, "\n== trace of pid ");
	cr_assert(h && strstr(h, "sleep (not a Go program)\n"), "%s", out);
	free(out);
	/* a process with no epoll fd, that makes no epoll call: the trace says why it saw nothing */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "sleep 5 & p=$!; %s trace --pid $p --duration 0.2 -q 2>&1; kill $p",
		 tu_netpollsim());
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	cr_assert_not_null(strstr(out, " had no epoll fd and made no epoll call: it waits some "
				       "other way (poll(2), select(2)) or not at all"),
			   "%s", out);
	free(out);
	out = np_ok("replay %s/header.jsonl --no-ui --narrate", tu_tmpdir());
	cr_assert_not_null(strstr(out, "\n  runtime: none seen"), "%s", out);
	cr_assert_null(strstr(out, "GOMAXPROCS"), "%s", out);
	cr_assert_null(strstr(out, "goroutines:"), "%s", out);
	free(out);
}

/*
 * A server that forks its workers (nginx) waits in them: traced by its first pid, the parent,
 * it showed nothing and said only that pid waits some other way. The processes it started that
 * have an epoll fd are named, as tracing begins and in the summary, with the --pid to use: here
 * a shell whose child is the workload. So they are when the parent polls too (`go run`, whose
 * child is the program). A shell with no epoll child is told nothing more.
 */
Test(bpf_trace, a_parent_names_its_children_with_an_epoll_fd, .timeout = 60)
{
	char cmd[2048], want[256], *out;
	int child = 0;

	NEED_ROOT();
	snprintf(cmd, sizeof(cmd),
		 "f=%s/child.%d; rm -f $f; sh -c '%s/tests/epoll_workload pipes 1 120 60000 & "
		 "echo $! > '$f'; wait' & p=$!; until [ -s $f ]; do sleep 0.02; done; c=$(cat $f); "
		 "until ls -l /proc/$c/fd | grep -q eventpoll; do sleep 0.02; done; echo child=$c; "
		 "%s trace --pid $p --duration 0.2 2>&1; kill $c; wait",
		 tu_tmpdir(), (int)getpid(), tu_build_dir(), tu_netpollsim());
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	const char *c = strstr(out, "child=");
	cr_assert(c && sscanf(c, "child=%d", &child) == 1 && child > 0, "%s", out);
	snprintf(want, sizeof(want),
		 " has no epoll fd, but a process it started does: %d (epoll_workload); this "
		 "traces pid ",
		 child);
	const char *start = strstr(out, want), *end;
	cr_assert_not_null(start, "no '%s':\n%s", want, out);
	snprintf(want, sizeof(want), " alone, --pid %d traces it\n", child);
	cr_assert_not_null(strstr(start, want), "no '%s':\n%s", want, out);
	snprintf(
	    want, sizeof(want),
	    "\na process it started has an epoll fd: %d (epoll_workload); --pid %d traces it\n",
	    child, child);
	cr_assert_not_null(end = strstr(out, want), "no '%s':\n%s", want, out);
	cr_assert_not_null(strstr(out, " had no epoll fd and made no epoll call"), "%s", out);
	free(out);
	/* `go run`'s case: the parent polls too, its child is the program to trace */
	snprintf(cmd, sizeof(cmd),
		 "f=%s/spawn.%d; rm -f $f; %s/tests/epoll_workload spawn 120 > $f & p=$!; "
		 "until grep -q '^child ' $f; do sleep 0.02; done; grep '^child ' $f; "
		 "%s trace --pid $p --duration 0.2 2>&1; kill $p; wait",
		 tu_tmpdir(), (int)getpid(), tu_build_dir(), tu_netpollsim());
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	c = strstr(out, "child ");
	cr_assert(c && sscanf(c, "child %d", &child) == 1 && child > 0, "%s", out);
	snprintf(want, sizeof(want),
		 " has a child process with an epoll fd too: %d (epoll_workload); this traces "
		 "pid ",
		 child);
	cr_assert_not_null(start = strstr(out, want), "no '%s':\n%s", want, out);
	snprintf(want, sizeof(want), " alone, --pid %d traces it\n", child);
	cr_assert_not_null(strstr(start, want), "no '%s':\n%s", want, out);
	free(out);
	/* no child with an epoll fd: nothing said of children */
	snprintf(cmd, sizeof(cmd),
		 "f=%s/child.%d; rm -f $f; sh -c 'sleep 30 & echo $! > '$f'; wait' & "
		 "until [ -s $f ]; do sleep 0.02; done; %s trace --pid $! --duration 0.2 2>&1; "
		 "kill $(cat $f); wait",
		 tu_tmpdir(), (int)getpid(), tu_netpollsim());
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	cr_assert_not_null(strstr(out, " had no epoll fd and made no epoll call"), "%s", out);
	cr_assert_null(strstr(out, "it started"), "%s", out);
	free(out);
	/* the shell that runs the tracer: the tracer (its ring buffer's epoll fd) is not named */
	snprintf(cmd, sizeof(cmd), "sh -c '%s trace --pid $$ --duration 0.2 2>&1; true'",
		 tu_netpollsim());
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	cr_assert_not_null(strstr(out, " had no epoll fd and made no epoll call"), "%s", out);
	cr_assert_null(strstr(out, "it started"), "%s", out);
	free(out);
}

/*
 * A thread blocked in epoll_wait since before tracing began shows nothing until it returns: a
 * trace of an idle server said "0 events" and nothing of why. The threads in an epoll wait are
 * named as tracing begins and as it ends, with the last return seen of each, or none.
 */
Test(bpf_trace, a_wait_in_progress_is_named_at_both_ends, .timeout = 120, .fini = kill_children)
{
	char log[600], pid[16], want[256], *out;

	NEED_ROOT();
	/* stopped before its first wait; continued once traced: one wait returns, then 60 s */
	pid_t wl = workload_start("inwait", (char *[]){"pipes", "1", "120", "60000", NULL}, log,
				  sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "0.5", NULL}, wl, &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	/* stopped as it began: no wait in progress; then its first wait's return is seen */
	cr_assert_null(strstr(out, "as tracing begins"), "%s", out);
	const char *ret = strstr(out, ", 8, 100) = 1 ");
	cr_assert_not_null(ret, "no first wait:\n%s", out);
	/* the last return seen is that one: the time its line begins with */
	const char *line = ret;
	while (line > out && line[-1] != '\n')
		line--;
	double at = -1;
	cr_assert_eq(sscanf(line, "%lf", &at), 1, "%s", line);
	snprintf(want, sizeof(want),
		 "in an epoll wait as tracing ends (/proc/%d/task/TID/syscall):\n   tid %-7d "
		 "epoll_wait(",
		 (int)wl, (int)wl);
	const char *end = strstr(out, want);
	cr_assert_not_null(end, "no '%s':\n%s", want, out);
	snprintf(want, sizeof(want), ", 8, 60000): since its last return at %.6f s or later\n", at);
	cr_assert_not_null(strstr(end, want), "no '%s':\n%s", want, end);
	free(out);
	/* traced again, in its 60 s wait: named as tracing begins, and none returned */
	rc = trace_run((char *[]){"--pid", pid, "--duration", "0.3", NULL}, 0, &out, NULL);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	snprintf(want, sizeof(want),
		 "in an epoll wait as tracing begins (its return will show without its blocked "
		 "time):\n   tid %-7d epoll_wait(",
		 (int)wl);
	const char *begin = strstr(out, want);
	cr_assert_not_null(begin, "no '%s':\n%s", want, out);
	cr_assert_not_null(strstr(begin, ", 8, 60000)\n"), "%s", out);
	snprintf(want, sizeof(want), "   tid %-7d epoll_wait(", (int)wl);
	end = strstr(out, "as tracing ends");
	cr_assert(end && strstr(end, want) &&
		      strstr(end, ", 8, 60000): none of its waits returned while tracing\n"),
		  "%s", out);
	free(out);
}

/*
 * `trace --pid 1 --pid 2` traced pid 2 and said nothing of pid 1: a second --pid is refused,
 * exit status 2, nothing traced. Needs no root.
 */
Test(bpf_trace, a_second_pid_is_refused, .timeout = 60)
{
	char cmd[1024], *out;

	snprintf(cmd, sizeof(cmd), "%s trace --pid 1 -p %d --duration 0.1", tu_netpollsim(),
		 (int)getpid());
	int rc = tu_run(cmd, 1, &out);

	cr_assert_eq(rc, 2, "exit %d:\n%s", rc, out);
	snprintf(cmd, sizeof(cmd),
		 "netpollsim trace: --pid given twice (1, then %d): a trace follows one process; "
		 "run one trace per process\n",
		 (int)getpid());
	cr_assert_not_null(strstr(out, cmd), "no '%s' in:\n%s", cmd, out);
	cr_assert_null(strstr(out, "tracing pid"), "%s", out);
	free(out);
}

/*
 * A recording asked of a closed stdout (`-o - >&-`) would go to the /dev/null that takes its
 * place: refused, exit 1, before anything is attached (so it needs no root). Refused or not, the
 * trace is bounded: a tracer that went ahead ends at its --duration.
 */
/*
 * A --record path that cannot be written is the one thing said, before the probes load and say
 * what they found (as run does); a trace that fails before its header leaves no empty file.
 * Needs no root: the file comes first.
 */
Test(bpf_trace, a_record_path_that_cannot_be_written_is_said_first, .timeout = 60)
{
	char cmd[1024], want[700], *out;

	snprintf(cmd, sizeof(cmd), "%s trace --pid %d --record %s/nodir/x.jsonl", tu_netpollsim(),
		 (int)getpid(), tu_tmpdir());
	cr_assert_eq(tu_run(cmd, 1, &out), 1, "%s", out);
	snprintf(want, sizeof(want),
		 "netpollsim trace: --record '%s/nodir/x.jsonl': No such file or directory\n",
		 tu_tmpdir());
	cr_assert_str_eq(out, want);
	free(out);
	/* as nobody, the probes cannot load: the file made for the recording is taken back */
	snprintf(cmd, sizeof(cmd),
		 "cd /tmp && setpriv --reuid=nobody --regid=nogroup --clear-groups %s/%s trace "
		 "--pid %d --record /tmp/nps-nobody-%d.jsonl 2>&1; echo rc=$?; ls "
		 "/tmp/nps-nobody-%d.jsonl 2>&1",
		 getcwd(want, sizeof(want)), tu_netpollsim(), (int)getpid(), (int)getpid(),
		 (int)getpid());
	NEED_ROOT(); /* setpriv */
	tu_run(cmd, 1, &out);
	cr_assert(strstr(out, "kernel view unavailable"), "%s", out);
	cr_assert(strstr(out, "rc=1\n"), "%s", out);
	cr_assert(strstr(out, "No such file or directory"), "the file is still there: %s", out);
	free(out);
}

Test(bpf_trace, a_recording_to_a_closed_stdout_is_refused, .timeout = 60)
{
	char cmd[1024], *out;

	snprintf(cmd, sizeof(cmd),
		 "timeout -s KILL 50 %s trace --pid %d -o - --duration 2 </dev/null 2>&1 >&-",
		 tu_netpollsim(), (int)getpid());
	int rc = tu_run(cmd, 0, &out);

	cr_assert_eq(rc, 1, "exit %d:\n%s", rc, out);
	cr_assert_str_eq(out, "netpollsim trace: standard output is closed: the output asked of it "
			      "('-') would be lost\n");
	free(out);
}

/*
 * A kernel thread makes no system call: `trace --pid 2` (kthreadd) used to trace it without a
 * word, and show nothing. It is refused, by name. Needs no root.
 */
Test(bpf_trace, a_kernel_thread_is_refused, .timeout = 60)
{
	char cmd[1024], want[160], *out = NULL;
	int kthreadd = 0;

	/* kthreadd is pid 2 outside a pid namespace; in one, there is none to see */
	cr_assert_eq(tu_run("pgrep -x kthreadd || true", 0, &out), 0);
	if (sscanf(out, "%d", &kthreadd) != 1) {
		printf("skipped: no kthreadd in this pid namespace\n");
		free(out);
		cr_skip_test("no kthreadd");
	}
	free(out);
	snprintf(cmd, sizeof(cmd), "%s trace --pid %d --duration 0.1", tu_netpollsim(), kthreadd);
	int rc = tu_run(cmd, 1, &out);

	cr_assert_eq(rc, 1, "exit %d:\n%s", rc, out);
	snprintf(
	    want, sizeof(want),
	    "netpollsim trace: pid %d is a kernel thread (kthreadd): it makes no epoll calls\n",
	    kthreadd);
	cr_assert_str_eq(out, want);
	free(out);
}

/*
 * /proc/PID/fd refused to root, who has CAP_SYS_PTRACE, by a security module (here Landlock:
 * trace runs in a domain of its own; `trace --pid 1` in a sandboxed VM meets the same): the
 * warning says so, it used to say "another user's process needs CAP_SYS_PTRACE". The header
 * then cannot tell whether the program is Go: "unknown".
 */
Test(bpf_trace, proc_refused_despite_cap_sys_ptrace_blames_no_privilege, .timeout = 120,
     .fini = kill_children)
{
	char log[600], pid[16], rec[600], want[300], *out;
	struct trace_reader *r = NULL;

	NEED_ROOT();
	if (syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) < 1) {
		printf("skipped: needs Landlock\n");
		cr_skip_test("needs Landlock");
	}
	snprintf(rec, sizeof(rec), "%s/landlock.jsonl", tu_tmpdir());
	pid_t wl =
	    workload_start("landlock", (char *[]){"pipes", "1", "0.3", NULL}, log, sizeof(log));
	snprintf(pid, sizeof(pid), "%d", (int)wl);
	spawn_sandboxed = true;
	int rc = trace_run((char *[]){"--pid", pid, "--duration", "10", "--record", rec, NULL}, wl,
			   &out, NULL);
	spawn_sandboxed = false;
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	snprintf(
	    want, sizeof(want),
	    "warning: cannot read /proc/%d/fd/0: Permission denied (netpollsim has "
	    "CAP_SYS_PTRACE, so no privilege is missing: a security module (Landlock, SELinux, "
	    "AppArmor, a BPF LSM) keeps pid %d's /proc from it)",
	    (int)wl, (int)wl);
	cr_assert_not_null(strstr(out, want), "no '%s' in:\n%s", want, out);
	cr_assert_null(strstr(out, "another user"), "%s", out);
	cr_assert_eq(trace_reader_open(rec, &r), 0, "%s", rec);
	cr_assert_str_eq(trace_reader_info(r)->go_version, "unknown");
	trace_reader_close(r);
	free(out);
}

/* ---- a real terminal: a tmux pane ---- */

static char tmux_sock[600];

/* `tmux -S SOCKET ARGS`, which must succeed: its output (free it). */
__attribute__((format(printf, 1, 2))) static char *tmux(const char *fmt, ...)
{
	char args[2400], cmd[3200], *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "tmux -S %s %s", tmux_sock, args);
	cr_assert_eq(tu_run(cmd, 0, &out), 0, "%s: %s", cmd, out ? out : "");
	return out;
}

/* The tmux server, the tracer in it and the server traced: stopped even on a failure. */
static void stop_pane(void)
{
	char cmd[700];

	kill_children();
	if (!tmux_sock[0])
		return;
	snprintf(cmd, sizeof(cmd), "tmux -S %s kill-server 2>/dev/null", tmux_sock);
	tu_run(cmd, 1, NULL);
	tmux_sock[0] = '\0';
}

/*
 * A detached pane cols wide running `netpollsim trace ARGS`, which writes its pid to pidfile
 * first and signals "done" when it ends. Its scrollback holds the whole trace.
 */
static void trace_pane(int cols, const char *args, const char *pidfile)
{
	char conf[600];
	FILE *f;

	snprintf(tmux_sock, sizeof(tmux_sock), "%s/tmux.sock", tu_tmpdir());
	snprintf(conf, sizeof(conf), "%s/tmux.conf", tu_tmpdir());
	cr_assert_not_null(f = fopen(conf, "w"));
	fputs("set -g history-limit 200000\n", f);
	fclose(f);
	free(tmux("-f %s new-session -d -x %d -y 40 'sh -c \"echo \\$\\$ >%s; exec %s trace %s\"; "
		  "tmux -S %s wait-for -S done; sleep 600'",
		  conf, cols, pidfile, tu_netpollsim(), args, tmux_sock));
}

/* What the pane shows, scrollback included, with the lines the terminal wrapped joined (-J). */
static char *pane_lines(void)
{
	return tmux("capture-pane -p -J -S -");
}

/*
 * The pane's text as words: a line that continues the one before (it starts with blanks) is
 * joined to it, with one space, or none after a '|' (a mask broken in "EPOLLIN|EPOLLOUT").
 */
static char *pane_words(void)
{
	char *s = pane_lines(), *w = s;

	for (const char *r = s; *r; r++) {
		if (*r == '\n' && r[1] == ' ') {
			while (r[1] == ' ')
				r++;
			if (w > s && w[-1] != '|')
				*w++ = ' ';
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

/* The pane's words once they hold needle. */
static char *pane_shows(const char *needle)
{
	char *s;

	while (!strstr(s = pane_words(), needle)) {
		free(s);
		usleep(20000);
	}
	return s;
}

/* Columns of the widest line of s (UTF-8 continuation bytes take none), *at: that line. */
static size_t widest_line(const char *s, const char **at)
{
	size_t best = 0;

	*at = s;
	for (const char *l = s; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != '\0')) {
		size_t c = 0, n = strcspn(l, "\n");

		for (size_t i = 0; i < n; i++)
			c += ((unsigned char)l[i] & 0xc0) != 0x80;
		if (c > best) {
			best = c;
			*at = l;
		}
	}
	return best;
}

static void assert_fits(const char *s, size_t cols)
{
	const char *at;
	size_t w = widest_line(s, &at);

	cr_assert_leq(w, cols, "a line of %zu columns in a %zu-column pane: %.*s\n%s", w, cols,
		      (int)strcspn(at, "\n"), at, s);
}

/*
 * The Go echo server traced in a pane cols wide, resized to `resize` columns (0: not) once the
 * tracer is attached; a client then connects and echoes until the trace shows its connection's
 * readiness, and closes. Returns what the pane showed (its lines), *cfd: the connection's fd.
 */
static char *trace_echo_in_a_pane(int cols, int resize, int *cfd)
{
	char dir[512], srv[600], srvout[600], pidfile[600], args[64], want[64], *out;
	int port = 0, pid = 0;

	NEED_ROOT();
	build_go_echo(dir, sizeof(dir));
	snprintf(srv, sizeof(srv), "%s/echo", dir);
	snprintf(srvout, sizeof(srvout), "%s/echo.out", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/trace.pid", dir);
	pid_t sp = children[0] = spawn((char *[]){srv, NULL}, srvout);
	port = server_port(srvout, sp);
	snprintf(args, sizeof(args), "--pid %d", (int)sp);
	trace_pane(cols, args, pidfile);
	free(pane_shows("Ctrl-C to stop"));
	if (resize) {
		/* the kernel sends SIGWINCH when the pane's terminal takes the new size */
		free(tmux("resize-window -x %d", resize));
		char *tty = tmux("display -p '#{pane_tty}'");
		struct winsize ws = {0};
		int fd = open(strtok(tty, "\n"), O_RDONLY | O_NOCTTY);

		cr_assert_geq(fd, 0, "%s: %s", tty, strerror(errno));
		while (!ioctl(fd, TIOCGWINSZ, &ws) && ws.ws_col != resize)
			usleep(10000);
		close(fd);
		free(tty);
	}
	int conn = dial(port);

	out = pane_shows(", ADD, "); /* the narration's "epoll_ctl(epfd 5, ADD, fd 4, ...)" */
	cr_assert_eq(sscanf(strstr(out, ", ADD, "), ", ADD, fd %d,", cfd), 1, "%s", out);
	free(out);
	/* pauses let the server's goroutine park in Read: netpoll then wakes it (see above) */
	snprintf(want, sizeof(want), "]: fd %d ", *cfd);
	for (int i = 0, seen = 0; i < 50 && !seen; i++) {
		usleep(20000);
		round_trip(conn, i);
		out = pane_words();
		seen = strstr(out, want) != NULL;
		free(out);
	}
	close(conn);
	snprintf(want, sizeof(want), ", DEL, fd %d)", *cfd);
	free(pane_shows(want));
	FILE *f = fopen(pidfile, "r");

	cr_assert(f && fscanf(f, "%d", &pid) == 1, "%s", pidfile);
	fclose(f);
	cr_assert_eq(kill(pid, SIGINT), 0);
	char *end = tmux("wait-for done");

	free(end);
	return pane_lines();
}

/* What a user must find in the pane's words: the connection's ADD, its readiness, the summary. */
static void assert_key_facts(const char *words, int cfd)
{
	char want[160];
	int epfd = -1;
	const char *add = strstr(words, ", ADD, fd ");

	cr_assert_not_null(add, "%s", words);
	while (add > words && strncmp(add, "epoll_ctl(epfd ", 15))
		add--;
	cr_assert_eq(sscanf(add, "epoll_ctl(epfd %d,", &epfd), 1, "%.100s", add);
	snprintf(want, sizeof(want),
		 "epoll_ctl(epfd %d, ADD, fd %d, EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, data 0x",
		 epfd, cfd);
	cr_assert_not_null(strstr(words, want), "no '%s':\n%s", want, words);
	/* netpoll's epoll_pwait returns, and one of them lists the connection's readiness */
	snprintf(want, sizeof(want), "epoll_pwait(epfd %d, 128, ", epfd);
	cr_assert_not_null(strstr(words, want), "no '%s':\n%s", want, words);
	int fd = -1;

	for (const char *r = words; fd != cfd && (r = strstr(r, "ready[")); r++)
		if (sscanf(r, "ready[%*u]: fd %d EPOLL", &fd) != 1)
			fd = -1;
	cr_assert_eq(fd, cfd, "no ready entry for fd %d:\n%s", cfd, words);
	cr_assert_not_null(strstr(words, "interest set (rebuilt from epoll_ctl): "), "%s", words);
	cr_assert_not_null(strstr(words, "kernel view: "), "%s", words);
}

/*
 * On a terminal trace fits its width, as run and replay do: each event narrated as replay
 * narrates it (traces/narrate.h), the interest-set table and the summary fitted. It used to
 * print the full layout whatever the width: lines of 141 columns in an 80-column pane
 * (`epoll_ctl(5, ADD, 4, {EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, 0x7f50…}) = 0  (Go: pd …)`), an
 * interest-set table 111 wide.
 */
Test(bpf_trace, fits_an_80_column_terminal, .timeout = 300, .fini = stop_pane)
{
	int cfd = -1;
	char *out = trace_echo_in_a_pane(80, 0, &cfd);

	assert_fits(out, 80);
	/* the table keeps the columns that fit: epfd, fd, events, data */
	cr_assert_not_null(strstr(out, "interest set at attach (from /proc fdinfo): 2 "
				       "registrations\n  epfd  fd  events"),
			   "%s", out);
	/* the column holds system calls, not Go's functions: the kernel's view has none */
	cr_assert_not_null(strstr(out, "fd    system call          what happened\n"), "%s", out);
	cr_assert_null(strstr(out, "Go function"), "%s", out);
	free(out);
	out = pane_words();
	assert_key_facts(out, cfd);
	free(out);
}

/*
 * Resized from 80 to 50 columns while it runs (SIGWINCH), trace narrates what follows in 50:
 * the connection made after the resize, its readiness, the tables and the summary at the end.
 */
Test(bpf_trace, follows_a_resize_to_50_columns, .timeout = 300, .fini = stop_pane)
{
	int cfd = -1;
	char *out = trace_echo_in_a_pane(80, 50, &cfd);
	const char *at, *add = strstr(out, "[kernel] epoll_ctl");

	/* the first call narrated is the connection's ADD, made after the resize */
	cr_assert_not_null(add, "%s", out);
	while (add > out && add[-1] != '\n')
		add--;
	cr_assert_gt(widest_line(out, &at), 50, "wider than 50 before the resize:\n%s", out);
	assert_fits(add, 50);
	free(out);
	out = pane_words();
	assert_key_facts(strstr(out, "[kernel] epoll_ctl"), cfd);
	free(out);
}
