/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the trace suites (tests/test_trace_*.c): files in the test's temporary
 * directory, running the netpollsim binary with a formatted command line, and the check that
 * nothing printed could change a terminal's state.
 */
#ifndef NPS_TESTS_TEST_TRACE_UTIL_H
#define NPS_TESTS_TEST_TRACE_UTIL_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"

#define TRACES "tests/data/traces"

/* A path in this test process's temporary directory (a few kept alive at once). */
static inline const char *tt_tmp(const char *name)
{
	static char p[8][600];
	static int i;
	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tu_tmpdir(), name);
	return p[i];
}

static inline char *tt_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	cr_assert(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static inline void tt_spit(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert(f, "cannot create %s", path);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* Run "netpollsim ARGS" (stderr merged into *out); returns the exit status. */
__attribute__((format(printf, 2, 3))) static inline int tt_np(char **out, const char *fmt, ...)
{
	char args[4096], cmd[4700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s", tu_netpollsim(), args);
	return tu_run(cmd, 1, out);
}

/* `check` calls the recording at path legal (issue 3: it runs on every trace the tests record). */
static inline void tt_assert_legal(const char *path)
{
	char *out = NULL;
	int rc = tt_np(&out, "check --quiet %s", path);
	cr_assert_eq(rc, 0, "check refused %s (exit %d):\n%.3000s", path, rc, out);
	free(out);
}

/* Each of want[n] appears in out, in this order. */
static inline void tt_assert_in_order(const char *out, const char *const *want, size_t n)
{
	const char *at = out;
	for (size_t i = 0; i < n; i++) {
		const char *p = strstr(at, want[i]);
		cr_assert(p, "missing (or out of order): '%s' in\n%s", want[i], out);
		at = p + strlen(want[i]);
	}
}
#define TT_IN_ORDER(out, arr) tt_assert_in_order((out), (arr), sizeof(arr) / sizeof((arr)[0]))

/* No byte that a terminal would act on: C0 controls but newline, DEL, C1 (raw or UTF-8). */
static inline bool tt_terminal_safe(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f ||
		    (c >= 0x80 && c <= 0x9f &&
		     (i == 0 || (unsigned char)s[i - 1] == 0xc2 || (unsigned char)s[i - 1] < 0x80)))
			return false;
	}
	return true;
}

/*
 * A complete trace (footer and all, kernel view on from the start) in which thread 100 makes n
 * netpollopen calls, fds 10 to 9+n on epfd 3, and the kernel never shows their epoll_ctl ADDs:
 * all n are still owed at the end. The end's verdicts come 8 at a time (fold_end), so n over 8
 * tells whether a command asked for them all. Written at tt_tmp(name); returns that path.
 */
static inline const char *tt_owed_trace(const char *name, int n)
{
	cr_assert(n > 0 && n < 256, "n %d: the pollDesc addresses have two hex digits", n);
	const char *path = tt_tmp(name);
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot create %s", path);
	fputs("{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"owed\","
	      "\"gomaxprocs\":1,\"go\":\"go1.22\",\"kernel_view\":true,\"mono_origin_ns\":\"1\"}\n"
	      "{\"ts\":1000,\"src\":\"kernel\",\"ev\":\"epoll_create\",\"tid\":100,\"flags\":"
	      "524288,\"ret\":3}\n",
	      f);
	for (int i = 0; i < n; i++)
		fprintf(
		    f,
		    "{\"ts\":%d,\"src\":\"sim\",\"ev\":\"pd_open\",\"m\":0,\"tid\":100,\"fd\":%d,"
		    "\"pd\":\"0x7f00000%02x000\",\"seq\":1,\"fn\":\"poll_runtime_pollOpen\"}\n"
		    "{\"ts\":%d,\"src\":\"sim\",\"ev\":\"netpollopen\",\"m\":0,\"tid\":100,\"fd\":%"
		    "d,"
		    "\"op\":\"ADD\",\"epfd\":3,\"events\":2147491845,\"data\":"
		    "\"0x7f00000%02x0000001\",\"ret\":0,\"pd\":\"0x7f00000%02x000\"}\n",
		    2000 + 2 * i, 10 + i, i + 1, 2001 + 2 * i, 10 + i, i + 1, i + 1);
	fprintf(f,
		"{\"footer\":true,\"events\":%d,\"counts\":{\"epoll_create\":1,\"pd_open\":%d,"
		"\"netpollopen\":%d},\"lost\":{\"sim\":0,\"kernel\":0}}\n",
		1 + 2 * n, n, n);
	fclose(f);
	return path;
}

#endif /* NPS_TESTS_TEST_TRACE_UTIL_H */
