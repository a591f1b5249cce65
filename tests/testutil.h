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

/* Is the process root (CAP_SYS_ADMIN / uid 0)? */
int tu_is_root(void);

#endif /* NPS_TESTS_TESTUTIL_H */
