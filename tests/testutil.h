/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the Criterion suites: where the build puts things, running the netpollsim
 * binary and capturing its output, temporary files.
 */
#ifndef NPS_TESTS_TESTUTIL_H
#define NPS_TESTS_TESTUTIL_H

#include <stddef.h>

/* The build directory of this variant (build, build/asan, build/tsan), from $B or "build". */
const char *tu_build_dir(void);

/* Path of the netpollsim binary of this variant. */
const char *tu_netpollsim(void);

/*
 * Run a shell command line, capture stdout (and stderr when merge_stderr) into a malloc'd,
 * NUL-terminated buffer (*out, may be NULL) and return the exit status (or -1 on failure to run,
 * 128+sig when killed by a signal).
 */
int tu_run(const char *cmdline, int merge_stderr, char **out);

/* A fresh temporary directory for this test process (removed by the caller or left in /tmp). */
const char *tu_tmpdir(void);

/* Count the lines of s that contain needle. */
int tu_count_lines(const char *s, const char *needle);

/*
 * Turn LeakSanitizer off for the commands this test runs from now on (ASAN_OPTIONS): it cannot
 * run under ptrace, so a sanitized netpollsim run under strace would fail at its exit.
 */
void tu_no_leak_check(void);

/*
 * From now on, epoll_ctl fails with ENOSPC (as at fs.epoll.max_user_watches) on the calling
 * thread, through a seccomp filter: the kernel refuses the call, the engine is not touched.
 * 0, or -errno when the filter could not be installed.
 */
int tu_epoll_ctl_fails_on_this_thread(void);

/* Is the process root (CAP_SYS_ADMIN / uid 0)? */
int tu_is_root(void);

/*
 * In a Criterion test that needs root: as anyone else, say "skipped: needs root" (tests/run.sh
 * shows it) and skip, so the test counts as skipped, not passed.
 */
#define NEED_ROOT()                                                                                \
	do {                                                                                       \
		if (!tu_is_root()) {                                                               \
			printf("skipped: needs root\n");                                           \
			fflush(stdout);                                                            \
			cr_skip_test("needs root");                                                \
		}                                                                                  \
	} while (0)

/* ---- running the simulated runtime in a test ---- */

#include <stdint.h>

#include "traces/event.h"

struct scenario_result;

/* Every event a run produced, in stream order. */
struct tu_events {
	struct nps_event *v;
	size_t n, cap;
};

/*
 * Run fn(arg) as the main goroutine of the runtime (GOMAXPROCS procs) with the event log on,
 * collect every event into ev (may be NULL: log off). Returns sim_run's result.
 */
int tu_sim_run(int procs, void (*fn)(void *), void *arg, struct tu_events *ev);

/* Run scenario name likewise (clients/rounds -1: its defaults). */
int tu_scenario_run(const char *name, int procs, int clients, int rounds,
		    struct scenario_result *res, struct tu_events *ev);

/* Fold all events; print each violation to stderr; return the number of violations. */
int tu_fold_violations(const struct tu_events *ev);

/*
 * The history of pd.rg ('r') or pd.wg ('w') as "nil>wait>G>ready>nil" (G for any goroutine),
 * from the pd_state events of pollDesc pd in ev, starting at the first change. Returns a static
 * buffer.
 */
const char *tu_pd_history(const struct tu_events *ev, uint64_t pd, char mode);
/* The same for one incarnation of pd (its fdseq). */
const char *tu_pd_history_seq(const struct tu_events *ev, uint64_t pd, uint32_t seq, char mode);

/* Index of the first event of kind at or after start that matches pred (NULL: any), or -1. */
long tu_find(const struct tu_events *ev, size_t start, uint16_t kind,
	     int (*pred)(const struct nps_event *e, void *ctx), void *ctx);

/* Number of open file descriptors of this process. */
int tu_open_fds(void);

/*
 * Run fn in a child process with stderr captured; return its exit status (128+sig if killed)
 * and its stderr in *err (malloc'd).
 */
int tu_fork_capture(void (*fn)(void *), void *arg, char **err);

/* ---- interrupting a blocked system call with a real signal ---- */

#include <sys/types.h>

struct tu_interrupter;

/*
 * From a thread of its own: each time thread tid is seen blocked in system call nr (from
 * /proc/self/task/TID/syscall), send it SIGUSR1 (whose handler does nothing and is installed
 * without SA_RESTART, so the call fails with EINTR), `times` times; then call then(arg) once
 * (may be NULL). tu_interrupt_stop stops it early if needed and joins it.
 */
struct tu_interrupter *tu_interrupt_start(pid_t tid, long nr, int times, void (*then)(void *),
					  void *arg);
void tu_interrupt_stop(struct tu_interrupter *it);
/* How many signals it sent. */
int tu_interrupt_sent(const struct tu_interrupter *it);

/* Is thread tid blocked in system call nr (from /proc/self/task/TID/syscall)? */
int tu_in_syscall(pid_t tid, long nr);

/*
 * A connected TCP pair on 127.0.0.1 made with plain syscalls: *a (accepted) non-blocking and
 * close-on-exec, *b (dialled) blocking. 0, or -1 with errno.
 */
int tu_tcp_pair(int *a, int *b);

/* A blocking TCP connection to 127.0.0.1:port (a user's client), or -1 with errno. */
int tu_dial(int port);

#endif /* NPS_TESTS_TESTUTIL_H */
