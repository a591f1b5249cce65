// SPDX-License-Identifier: MIT
/*
 * Without privileges the probes cannot load, and the user must get one line saying which
 * privilege is missing and what to do, not a libbpf error dump. As root the test drops to
 * nobody with setpriv (no capabilities; CAP_BPF+CAP_PERFMON, which still cannot read tracefs;
 * and CAP_BPF+CAP_PERFMON+CAP_DAC_READ_SEARCH, which is enough); as a normal user it checks the
 * first case as it is. The library is checked directly too, in a child that drops to nobody.
 *
 * The other reasons the kernel view can be missing are made real as root, each in a process of
 * its own: a mount namespace that hides the kernel's BTF or offers a tracefs without one of the
 * tracepoints, and a seccomp filter that makes bpf() fail with ENOSYS as a container runtime's
 * would. Each must give its own line. The kernel's verifier really rejects a program too, through
 * a TEST HOOK: NPS_TEST_BPF_REJECT=1 makes the loader set a flag that turns on a missing NULL
 * check in nps_exit_epoll_create1 (test_reject in bpf/netpoll.bpf.c); its EACCES at load must
 * read as the verifier's refusal, with the verifier's own reason, never as a privilege problem.
 */
#include "bpf/probes.h"
#include "tests/testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY "setpriv --reuid=65534 --regid=65534 --clear-groups "

/* Run `netpollsim trace` on our own pid, prefixed by how to drop privileges; rc, output. */
static int trace_as(const char *prefix, const char *opts, char **out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s%s trace --pid %d --duration 0.3 %s", prefix, tu_netpollsim(),
		 (int)getpid(), opts);
	return tu_run(cmd, 1, out);
}

static void assert_one_line(const char *out, const char *reason, const char *hint)
{
	cr_assert_eq(tu_count_lines(out, ""), 1, "not one line:\n%s", out);
	cr_assert(strstr(out, "netpollsim trace: kernel view unavailable: ") == out,
		  "unexpected message:\n%s", out);
	cr_assert(strstr(out, reason) != NULL, "no '%s' in:\n%s", reason, out);
	cr_assert(strstr(out, hint) != NULL, "no hint '%s' in:\n%s", hint, out);
	cr_assert(strstr(out, "libbpf") == NULL, "libbpf noise leaked:\n%s", out);
	cr_assert(strstr(out, "RLIMIT_MEMLOCK") == NULL, "misleading memlock hint:\n%s", out);
}

/* The build directory must be reachable by nobody for setpriv to run the binary. */
static void need_root_and_reachable(void)
{
	if (!tu_is_root()) {
		printf("skipped: needs root\n");
		cr_skip_test("needs root");
	}
	char *out = NULL;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), NOBODY "test -x %s", tu_netpollsim());
	if (tu_run(cmd, 1, &out) != 0) {
		printf("skipped: %s is not reachable by nobody\n", tu_netpollsim());
		free(out);
		cr_skip_test("binary not reachable by nobody");
	}
	free(out);
}

Test(bpf_priv, nobody_gets_one_line, .timeout = 60)
{
	char *out = NULL;
	int rc;

	if (tu_is_root()) {
		need_root_and_reachable();
		rc = trace_as(NOBODY, "", &out);
	} else {
		rc = trace_as("", "", &out);
	}
	cr_assert_eq(rc, 1, "exit status %d:\n%s", rc, out);
	assert_one_line(out, "not root: ", "run as root");
	free(out);
}

/*
 * Root without the capabilities (a container that dropped them) is not told it is not root:
 * the line names what it lacks.
 */
Test(bpf_priv, root_without_the_capabilities_is_told_which, .timeout = 60)
{
	char *out = NULL;
	need_root_and_reachable();
	int rc = trace_as("setpriv --bounding-set=-bpf,-sys_admin --inh-caps=-bpf,-sys_admin ", "",
			  &out);
	cr_assert_eq(rc, 1, "exit status %d:\n%s", rc, out);
	assert_one_line(out, "missing privilege: uid 0 lacks CAP_BPF (or CAP_SYS_ADMIN): ",
			"CAP_BPF+CAP_PERFMON");
	cr_assert_null(strstr(out, "not root"), "%s", out);
	free(out);
}

Test(bpf_priv, bpf_caps_without_tracefs_access, .timeout = 60)
{
	struct stat st;
	char *out = NULL;

	need_root_and_reachable();
	/* Make tracefs present, so that the message is about reading it, not mounting it. */
	if (stat("/sys/kernel/tracing/events", &st) != 0)
		cr_assert_eq(mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL), 0,
			     "mount tracefs: %s", strerror(errno));
	if (stat("/sys/kernel/tracing", &st) == 0 && (st.st_mode & 0005)) {
		printf("skipped: tracefs is world-readable here\n");
		cr_skip_test("tracefs readable by all");
	}
	int rc =
	    trace_as(NOBODY "--inh-caps=+bpf,+perfmon --ambient-caps=+bpf,+perfmon ", "", &out);
	cr_assert_eq(rc, 1, "exit status %d:\n%s", rc, out);
	assert_one_line(out, "tracefs not readable: ", "CAP_DAC_READ_SEARCH");
	free(out);
}

Test(bpf_priv, bpf_caps_with_tracefs_access_work, .timeout = 60)
{
	char *out = NULL;

	need_root_and_reachable();
	int rc = trace_as(NOBODY "--inh-caps=+bpf,+perfmon,+dac_read_search "
				 "--ambient-caps=+bpf,+perfmon,+dac_read_search ",
			  "-q", &out);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	cr_assert(strstr(out, "kernel view: ") != NULL, "no summary:\n%s", out);
	/* Our own process is root's: nobody cannot read its fds (no CAP_SYS_PTRACE), and says so. */
	char line[128];
	snprintf(line, sizeof(line), "warning: cannot read /proc/%d/fd", (int)getpid());
	cr_assert(strstr(out, line) != NULL, "no '%s':\n%s", line, out);
	cr_assert(strstr(out, "Permission denied") != NULL, "no errno:\n%s", out);
	cr_assert(strstr(out, "the interest set at attach") != NULL, "no consequence:\n%s", out);
	free(out);
}

/* The library itself, in a child that became nobody: -EPERM and the same reason. */
Test(bpf_priv, probes_open_as_nobody, .timeout = 60)
{
	int fds[2], status;
	char why[512] = "";

	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct probes_opts o = {.tgid = getpid()};
		struct probes *p = (struct probes *)1;
		char buf[512];

		close(fds[0]);
		if (geteuid() == 0 && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
				       setresuid(65534, 65534, 65534)))
			_exit(3);
		int err = probes_open(&o, &p, buf, sizeof(buf));
		if (write(fds[1], buf, strlen(buf)) < 0)
			_exit(4);
		_exit(err == -EPERM && p == NULL ? 0 : 1);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], why, sizeof(why) - 1);
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_geq(n, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "probes_open as nobody: status 0x%x, reason '%s'", status, why);
	cr_assert(!strncmp(why, "not root: ", 10), "reason: '%s'", why);
	cr_assert(strchr(why, '\n') == NULL, "reason is not one line: '%s'", why);
}

/* The lesson ran to its end with the runtime's view only: its story and its summary. */
static void assert_ran_without_kernel(const char *out, const char *story)
{
	cr_assert(strstr(out, story), "no '%s':\n%s", story, out);
	cr_assert(strstr(out, "kernel: no kernel events (the probes were off)"), "%s", out);
	cr_assert(strstr(out, "lost events: 0 sim, 0 kernel"), "%s", out);
	cr_assert(strstr(out, " 0 violations"), "%s", out);
	cr_assert(strstr(out, "libbpf") == NULL, "libbpf noise leaked:\n%s", out);
}

/* `netpollsim run --scenario echo --no-ui`, prefixed by how to drop privileges; its output. */
static char *run_echo_as(const char *prefix)
{
	char cmd[1024], *out = NULL;

	snprintf(cmd, sizeof(cmd), "%s%s run --scenario echo --no-ui", prefix, tu_netpollsim());
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	return out;
}

#define ECHO_STORY "2 connections served by one goroutine each; 6 round trips."

/*
 * run without privileges (issue 4): one line says the kernel view is off and why, and the
 * lesson still runs to its end with the runtime's view: its story, its summary, exit 0.
 */
Test(bpf_priv, run_as_nobody_goes_on_with_the_runtime_view, .timeout = 60)
{
	if (tu_is_root())
		need_root_and_reachable();
	char *out = run_echo_as(tu_is_root() ? NOBODY : "");
	cr_assert_eq(tu_count_lines(out, "kernel view off"), 1, "not one line:\n%s", out);
	cr_assert(strstr(out, "netpollsim: kernel view off: not root: "), "%s", out);
	cr_assert(strstr(out, "run as root with its capabilities, or grant CAP_BPF"),
		  "no hint:\n%s", out);
	assert_ran_without_kernel(out, ECHO_STORY);
	free(out);
}

/*
 * A recording nobody may write: that is the one line said, before the probes' set-up says
 * anything about privileges, and it names --record and the path.
 */
Test(bpf_priv, a_record_nobody_can_write_is_said_first_and_alone, .timeout = 60)
{
	if (tu_is_root())
		need_root_and_reachable();
	char cmd[1024], *out = NULL;
	/* root's own directory, 0700: no other user may create a file in it */
	snprintf(cmd, sizeof(cmd), "%s%s run --scenario echo --no-ui --record /root/np-x.jsonl",
		 tu_is_root() ? NOBODY : "", tu_netpollsim());
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 1, "exit status %d:\n%s", rc, out);
	cr_assert_str_eq(out, "netpollsim run: --record '/root/np-x.jsonl': cannot create: "
			      "Permission denied\n");
	free(out);
}

/*
 * A user granted CAP_BPF alone is told the one capability missing, CAP_PERFMON (the kernel
 * loads no tracing program without it), not that it is not root; the lesson goes on.
 */
Test(bpf_priv, run_with_cap_bpf_alone_is_told_it_lacks_cap_perfmon, .timeout = 60)
{
	need_root_and_reachable();
	char *out = run_echo_as(NOBODY "--inh-caps=+bpf --ambient-caps=+bpf ");
	cr_assert_eq(tu_count_lines(out, "kernel view"), 1, "not one line:\n%s", out);
	cr_assert(strstr(out, "netpollsim: kernel view off: missing privilege: uid 65534 lacks "
			      "CAP_PERFMON (or CAP_SYS_ADMIN): bpf() refused to load a tracing "
			      "program (Operation not permitted); run as root with its "
			      "capabilities, or grant CAP_BPF+CAP_PERFMON+CAP_DAC_READ_SEARCH "
			      "(runtime view only; --no-bpf hides this line)\n"),
		  "%s", out);
	assert_ran_without_kernel(out, ECHO_STORY);
	free(out);
}

/* TEST HOOK (see the top of the file): the real verifier refuses nps_exit_epoll_create1. */
#define REJECT "NPS_TEST_BPF_REJECT=1 "
#define VERIFIER_SAYS                                                                              \
	"verifier rejected program 'nps_exit_epoll_create1' (EACCES at load: the verifier, not a " \
	"permission problem): "
#define VERIFIER_HINT "; netpollsim trace -v --pid PID shows the whole log"

/*
 * The verifier's reason, read from its own log (`trace -v` prints it whole): the line before the
 * statistics that end it ("processed 99 insns (limit 1000000) ..."). It must be about the
 * missing NULL check. The log must be longer than 8 KB, as a real rejection's can be: the loader
 * once kept only the first 8 KB of a libbpf message, and so lost the reason at the end.
 */
static void verifier_reason(char *reason, size_t len)
{
	char *out = NULL;
	int rc = trace_as(REJECT, "-v", &out);

	cr_assert_eq(rc, 1, "exit status %d:\n%s", rc, out);
	const char *stats = strstr(out, "\nprocessed ");
	cr_assert(stats != NULL, "no verifier log:\n%s", out);
	const char *start = stats;
	while (start > out && start[-1] != '\n')
		start--;
	snprintf(reason, len, "%.*s", (int)(stats - start), start);
	cr_assert(strstr(reason, "invalid mem access 'map_value_or_null'"),
		  "the verifier refused something else: '%s'", reason);
	cr_assert_gt(stats - out, 8192,
		     "a %d-byte log: the test would miss a long log's truncation",
		     (int)(stats - out));
	free(out);
}

/* Nothing in out reads as a privilege problem, and the verifier's log stayed out of it. */
static void assert_not_privilege(const char *out)
{
	static const char *const wrong[] = {"not root", "as root", "CAP_", "Permission denied"};

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		cr_assert(strstr(out, wrong[i]) == NULL, "'%s' in:\n%s", wrong[i], out);
	cr_assert_eq(tu_count_lines(out, "invalid mem access"), 1, "log leaked:\n%s", out);
	cr_assert(strstr(out, "processed ") == NULL, "verifier statistics leaked:\n%s", out);
}

Test(bpf_priv, a_verifier_rejection_is_its_own_reason, .timeout = 60)
{
	char reason[256], want[512], *out = NULL;

	NEED_ROOT();
	verifier_reason(reason, sizeof(reason));
	int rc = trace_as(REJECT, "", &out);
	cr_assert_eq(rc, 1, "exit status %d:\n%s", rc, out);
	snprintf(want, sizeof(want), VERIFIER_SAYS "%s" VERIFIER_HINT "\n", reason);
	assert_one_line(out, want, VERIFIER_HINT);
	assert_not_privilege(out);
	free(out);
}

/* Issue 4's run: the verifier's line, once, and the lesson goes on with the runtime's view. */
Test(bpf_priv, run_with_a_verifier_rejection_goes_on_with_the_runtime_view, .timeout = 60)
{
	char reason[256], want[512], cmd[1024], *out = NULL;

	NEED_ROOT();
	verifier_reason(reason, sizeof(reason));
	snprintf(cmd, sizeof(cmd), REJECT "%s run --scenario echo --no-ui --clients 1 --rounds 2",
		 tu_netpollsim());
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	cr_assert_eq(tu_count_lines(out, "kernel view"), 1, "not one line:\n%s", out);
	snprintf(want, sizeof(want),
		 "netpollsim: kernel view off: " VERIFIER_SAYS "%s" VERIFIER_HINT
		 " (runtime view only; --no-bpf hides this line)\n",
		 reason);
	cr_assert(strstr(out, want), "no '%s' in:\n%s", want, out);
	assert_not_privilege(out);
	assert_ran_without_kernel(out, "1 connection served by its own goroutine; 2 round trips.");
	free(out);
}

/*
 * `trace` (with the options opts) on our own pid in a private mount namespace, after the shell
 * commands setup have changed what it sees of /sys; rc, output.
 */
static int trace_opts_in_ns(const char *setup, const char *opts, char **out)
{
	char cmd[2048];

	NEED_ROOT();
	snprintf(cmd, sizeof(cmd),
		 "unshare -m sh -c '%s && exec %s trace %s --pid %d --duration 0.3' 2>&1", setup,
		 tu_netpollsim(), opts, (int)getpid());
	return tu_run(cmd, 1, out);
}

static int trace_in_ns(const char *setup, char **out)
{
	return trace_opts_in_ns(setup, "", out);
}

/*
 * No tracefs mounted (nor debugfs's tracing/, where libbpf would look first): root mounts it
 * and traces; -v says so.
 */
Test(bpf_priv, as_root_a_missing_tracefs_is_mounted, .timeout = 60)
{
	char *out = NULL;
	int rc = trace_opts_in_ns("mount -t tmpfs none /sys/kernel/debug && while umount "
				  "/sys/kernel/tracing 2>/dev/null; do :; done; ! test -e "
				  "/sys/kernel/tracing/events",
				  "-v", &out);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, out);
	cr_assert_not_null(strstr(out, "netpollsim: mounted tracefs on /sys/kernel/tracing\n"),
			   "%s", out);
	cr_assert_not_null(strstr(out, "\ntracing pid "), "%s", out);
	cr_assert_null(strstr(out, "tracefs not"), "%s", out);
	free(out);
}

Test(bpf_priv, no_btf_is_its_own_reason, .timeout = 60)
{
	char *out = NULL;
	int rc = trace_in_ns("mount -t tmpfs none /sys/kernel/btf", &out);
	cr_assert_eq(rc, 1, "exit status %d:\n%s", rc, out);
	assert_one_line(out, "no BTF: /sys/kernel/btf/vmlinux is missing", "CONFIG_DEBUG_INFO_BTF");
	free(out);
}

Test(bpf_priv, a_missing_tracepoint_is_its_own_reason, .timeout = 60)
{
	/* A tracefs with every tracepoint the probes use but sys_exit_epoll_ctl. */
	static const char *const tps[] = {
	    "sys_exit_epoll_create1", "sys_enter_epoll_wait", "sys_exit_epoll_wait",
	    "sys_enter_epoll_pwait",  "sys_exit_epoll_pwait", "sys_enter_epoll_pwait2",
	    "sys_exit_epoll_pwait2",  "sys_exit_read",	      "sys_exit_write",
	};
	char dir[512], setup[1024], *out = NULL;

	NEED_ROOT();
	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
		snprintf(
		    dir, sizeof(dir),
		    "mkdir -p %s/tfs/events/syscalls/%s && echo 1 >%s/tfs/events/syscalls/%s/id",
		    tu_tmpdir(), tps[i], tu_tmpdir(), tps[i]);
		cr_assert_eq(system(dir), 0, "%s", dir);
	}
	/* debugfs's tracing/ is hidden too: libbpf would look there first */
	snprintf(setup, sizeof(setup),
		 "mount --bind %s/tfs /sys/kernel/tracing && mount -t tmpfs none /sys/kernel/debug",
		 tu_tmpdir());
	int rc = trace_in_ns(setup, &out);
	cr_assert_eq(rc, 1, "exit status %d:\n%s", rc, out);
	assert_one_line(out, "tracepoint missing: syscalls/sys_exit_epoll_ctl",
			"CONFIG_FTRACE_SYSCALLS");
	free(out);
}

/* A child that cannot call bpf() (seccomp: ENOSYS) runs `trace`; its output in out. */
Test(bpf_priv, no_bpf_syscall_is_its_own_reason, .timeout = 60)
{
	char path[512], out[4096] = "";
	int status;

	NEED_ROOT();
	snprintf(path, sizeof(path), "%s/nobpf.out", tu_tmpdir());
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sock_filter f[] = {
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
		char spid[16];
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		snprintf(spid, sizeof(spid), "%d", (int)getppid());
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(99);
		execl(tu_netpollsim(), "netpollsim", "trace", "--pid", spid, "--duration", "0.3",
		      (char *)NULL);
		_exit(98);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	FILE *fp = fopen(path, "r");
	cr_assert_not_null(fp);
	size_t n = fread(out, 1, sizeof(out) - 1, fp);
	out[n] = '\0';
	fclose(fp);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status 0x%x:\n%s", status, out);
	assert_one_line(out, "no bpf(): this kernel has no BPF system call", "blocked by seccomp");
}

/*
 * Without privileges a port below 1024 is refused: Go's error ("bind: permission denied"), then
 * the privilege that is missing, not "permission denied" alone.
 */
Test(bpf_priv, a_privileged_port_as_nobody_names_the_privilege, .timeout = 60)
{
	char cmd[700], *out = NULL;
	need_root_and_reachable();
	/* a container may open every port to everyone (net.ipv4.ip_unprivileged_port_start) */
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
	int start = 1024;
	if (f && fscanf(f, "%d", &start) != 1)
		start = 1024;
	if (f)
		fclose(f);
	if (start <= 80) {
		printf("skipped: ports from %d need no privilege here\n", start);
		cr_skip_test("no privileged ports");
	}
	snprintf(cmd, sizeof(cmd),
		 NOBODY "%s run --listen 127.0.0.1:80 --clients 0 --no-ui --no-bpf --duration 1",
		 tu_netpollsim());
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 1, "exit status %d:\n%s", rc, out);
	cr_assert_str_eq(out,
			 "netpollsim run: --listen 127.0.0.1:80: listen tcp 127.0.0.1:80: bind: "
			 "permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE; "
			 "port 0 picks a free one)\n");
	free(out);
}
