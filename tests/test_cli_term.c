// SPDX-License-Identifier: MIT
/*
 * The narration as a class sees it: on a projected terminal 80 columns wide (a real one, tmux's
 * pane), every line fits, so the terminal never wraps one; the text of a long event continues
 * on lines indented under it, and the story's key lines are all there. Piped, the same command
 * keeps the full one-line-per-event layout whatever $COLUMNS says (the byte-for-byte
 * comparisons of the other suites rely on it).
 */
#include <criterion/criterion.h>

#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(cli_term, .timeout = 120);

#define COLS 80

/*
 * Run "netpollsim ARGS" in a detached tmux pane of COLS x 40 (a private server), wait for it to
 * end and return everything it printed, scrollback included, with the lines the terminal wrapped
 * joined again (-J): a line longer than COLS here is one the reader saw wrapped.
 */
static char *in_terminal(const char *args)
{
	char sock[64], conf[512], cmd[4096], *bin = realpath(tu_netpollsim(), NULL);
	char *out = NULL;
	cr_assert(bin, "the binary %s is built", tu_netpollsim());
	snprintf(sock, sizeof(sock), "nps-test-%d", (int)getpid());
	/* the whole lesson must stay in the scrollback for capture-pane to see it */
	snprintf(conf, sizeof(conf), "%s/tmux.conf", tu_tmpdir());
	FILE *f = fopen(conf, "w");
	cr_assert(f);
	fprintf(f, "set -g history-limit 100000\n");
	fclose(f);
	/* wait-for: the pane says when the command is done; a hang ends in the suite's timeout */
	snprintf(cmd, sizeof(cmd),
		 "tmux -L %s -f %s new-session -d -x %d -y 40 -c %s "
		 "'%s %s; tmux -L %s wait-for -S done; sleep 600' && "
		 "timeout 100 tmux -L %s wait-for done && "
		 "tmux -L %s capture-pane -p -J -S -; rc=$?; tmux -L %s kill-server; exit $rc",
		 sock, conf, COLS, tu_tmpdir(), bin, args, sock, sock, sock, sock);
	free(bin);
	cr_assert_eq(tu_run(cmd, 0, &out), 0, "tmux ran the command: %s", out ? out : "");
	return out;
}

/* The widest line of s in terminal columns (UTF-8: "→" takes one), its text in *which. */
static size_t widest(const char *s, const char **which)
{
	size_t best = 0, c = 0;
	const char *start = s;
	*which = s;
	for (const char *p = s;; p++) {
		if (*p == '\n' || !*p) {
			if (c > best) {
				best = c;
				*which = start;
			}
			if (!*p)
				return best;
			c = 0;
			start = p + 1;
		} else {
			c += ((unsigned char)*p & 0xc0) != 0x80;
		}
	}
}

/* What a class must be able to follow of the deadline lesson, fitted to COLS. */
static void assert_fits_and_tells_the_story(const char *out)
{
	const char *line;
	size_t w = widest(out, &line);
	cr_assert_leq(w, COLS, "no line wider than %d columns; this one is %zu: %.*s", COLS, w,
		      (int)strcspn(line, "\n"), line);
	cr_assert(strstr(out, "netpolldeadlineimpl"), "the deadline fires: %s", out);
	cr_assert(strstr(out, "rg G1 → pdNil (deadline: G1 woken,"), "the reader is woken: %s",
		  out);
	cr_assert(strstr(out, "returns \"i/o timeout\""), "Read returns the timeout: %s", out);
	cr_assert(strstr(out, "== deadline (GOMAXPROCS"), "the summary follows: %s", out);
	/* long texts continue under the text column instead of being cut */
	cr_assert(strstr(out, "\n                                             gets i/o timeout"),
		  "the woken line continues under its text: %s", out);
}

Test(cli_term, run_narration_fits_an_80_column_terminal)
{
	char *out = in_terminal("run --scenario deadline --no-ui --narrate");
	assert_fits_and_tells_the_story(out);
	/*
	 * The time column is in milliseconds with 3 decimals: the 100 ms deadline cannot fire
	 * before 100 (in seconds it would read 0.1...). No upper bound: a slow (sanitized) start
	 * moves it later.
	 */
	const char *d = strstr(out, " netpolldeadlineimpl ");
	cr_assert(d, "%s", out);
	while (d > out && d[-1] != '\n')
		d--;
	double ms = 0;
	int frac = 0;
	cr_assert_eq(sscanf(d, "%lf", &ms), 1, "%s", d);
	const char *dot = strchr(d, '.');
	while (dot && dot[1 + frac] >= '0' && dot[1 + frac] <= '9')
		frac++;
	cr_assert(ms >= 100 && frac == 3, "times in ms: %.60s", d);
	free(out);
}

Test(cli_term, replay_narration_fits_an_80_column_terminal)
{
	char cmd[1024], *out = NULL;
	snprintf(cmd, sizeof(cmd),
		 "%s run --scenario deadline --no-ui --quiet --record %s/d.jsonl >/dev/null 2>&1",
		 tu_netpollsim(), tu_tmpdir());
	cr_assert_eq(tu_run(cmd, 1, NULL), 0, "recorded the lesson");
	snprintf(cmd, sizeof(cmd), "replay %s/d.jsonl --no-ui --narrate", tu_tmpdir());
	out = in_terminal(cmd);
	assert_fits_and_tells_the_story(out);
	free(out);
}

Test(cli_term, piped_narration_keeps_the_full_layout)
{
	char cmd[1024], *out = NULL;
	const char *line;
	/* $COLUMNS is exported by some shells: a pipe is still no terminal */
	snprintf(
	    cmd, sizeof(cmd),
	    "COLUMNS=80 %s run --scenario deadline --no-ui --narrate --no-bpf 2>/dev/null | cat",
	    tu_netpollsim());
	cr_assert_eq(tu_run(cmd, 0, &out), 0);
	cr_assert_gt(widest(out, &line), COLS, "one line per event, unwrapped: %s", out);
	/* the full layout: seconds with 6 decimals, the 28-column function column */
	cr_assert(strstr(out, " netpolldeadlineimpl          read deadline expired\n"),
		  "the full layout: %s", out);
	cr_assert_null(strstr(out, "\n                    "), "no continuation lines: %s", out);
	free(out);
}
