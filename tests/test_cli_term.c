// SPDX-License-Identifier: MIT
/*
 * The narration as a class sees it: on a projected terminal 80 columns wide (a real one, tmux's
 * pane), every line fits, so the terminal never wraps one; the text of a long event continues
 * on lines indented under it, and the story's key lines are all there. Resized during a live
 * run or a paced replay, what follows fits the new width. Piped, the same command keeps the
 * full one-line-per-event layout whatever $COLUMNS says or however often SIGWINCH comes (the
 * byte-for-byte comparisons of the other suites rely on it).
 */
#include <criterion/criterion.h>

#include "tests/test_trace_util.h" /* and testutil.h */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void pane_kill(void);
TestSuite(cli_term, .timeout = 120, .fini = pane_kill);

#define COLS 80

/*
 * A detached tmux pane of COLS x 40 on a private server running "netpollsim ARGS", which writes
 * its pid to a file first and signals "done" when it ends (the wait for it ends in the suite's
 * timeout on a hang). Every pane test stops its server, even a failed one (.fini).
 */
static char sock[512], pidfile[512]; /* the server's socket: in the test's directory */

static void pane_start_at(const char *args, int cols)
{
	char conf[512], cmd[4096], *bin = realpath(tu_netpollsim(), NULL);
	cr_assert(bin, "the binary %s is built", tu_netpollsim());
	snprintf(sock, sizeof(sock), "%s/tmux.sock", tu_tmpdir());
	snprintf(pidfile, sizeof(pidfile), "%s/pane.pid", tu_tmpdir());
	/* the whole lesson must stay in the scrollback for capture-pane to see it */
	snprintf(conf, sizeof(conf), "%s/tmux.conf", tu_tmpdir());
	FILE *f = fopen(conf, "w");
	cr_assert(f);
	fprintf(f, "set -g history-limit 100000\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "tmux -S %s -f %s new-session -d -x %d -y 40 -c %s "
		 "'sh -c \"echo \\$\\$ >%s; exec %s %s\"; tmux -S %s wait-for -S done; sleep 600'",
		 sock, conf, cols, tu_tmpdir(), pidfile, bin, args, sock);
	free(bin);
	char *out = NULL;
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "tmux started: %s", out ? out : "");
	free(out);
}

static pid_t frozen; /* a tmux server a test stopped (SIGSTOP): resumed before it is killed */

static void pane_kill(void)
{
	char cmd[600];
	if (frozen)
		kill(frozen, SIGCONT);
	if (!sock[0])
		return;
	char *pid = NULL;
	snprintf(cmd, sizeof(cmd), "tmux -S %s display -p '#{pid}' 2>/dev/null", sock);
	pid_t server = tu_run(cmd, 1, &pid) == 0 && pid ? (pid_t)atoi(pid) : 0;
	free(pid);
	snprintf(cmd, sizeof(cmd), "tmux -S %s kill-server 2>/dev/null", sock);
	tu_run(cmd, 1, NULL);
	/*
	 * kill-server returns before the server is gone: a pane started at once on the same
	 * socket would find the dying server ("server exited unexpectedly").
	 */
	for (int i = 0; i < 500 && server && kill(server, 0) == 0; i++)
		usleep(10 * 1000);
	unlink(sock);
}

/*
 * Everything the pane printed so far, scrollback included, with the lines the terminal wrapped
 * joined again (-J): a line longer than the pane's width here is one the reader saw wrapped.
 */
static char *pane_text(void)
{
	char cmd[700], *out = NULL;
	snprintf(cmd, sizeof(cmd), "tmux -S %s capture-pane -p -J -S -", sock);
	cr_assert_eq(tu_run(cmd, 0, &out), 0, "capture-pane: %s", out ? out : "");
	/* without the pane's empty rows below the last line */
	size_t n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	return out;
}

/* The pane's text once it shows needle. */
static char *pane_wait_for(const char *needle)
{
	for (;;) {
		char *out = pane_text();
		if (strstr(out, needle))
			return out;
		free(out);
		usleep(20 * 1000);
	}
}

/*
 * Resize the window to cols columns and wait until its terminal has that size: the kernel has
 * then sent SIGWINCH to the command (TIOCSWINSZ does, and tmux applies it a moment later).
 */
static void pane_resize(int cols)
{
	char cmd[1200], *tty = NULL;
	snprintf(cmd, sizeof(cmd),
		 "tmux -S %s resize-window -x %d && tmux -S %s display -p "
		 "'#{pane_tty}'",
		 sock, cols, sock);
	cr_assert_eq(tu_run(cmd, 0, &tty), 0, "resize-window: %s", tty ? tty : "");
	tty[strcspn(tty, "\n")] = '\0';
	int fd = open(tty, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	cr_assert_geq(fd, 0, "%s: %s", tty, strerror(errno));
	struct winsize ws = {0};
	while (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col != cols)
		usleep(10 * 1000);
	cr_assert_eq(ws.ws_col, cols, "%s", tty);
	close(fd);
	free(tty);
}

/* The command's pid, from the file it wrote. */
static pid_t pane_pid(void)
{
	FILE *f = fopen(pidfile, "r");
	int pid = 0;
	cr_assert(f && fscanf(f, "%d", &pid) == 1, "%s", pidfile);
	fclose(f);
	return pid;
}

static void pane_start(const char *args)
{
	pane_start_at(args, COLS);
}

/* Wait for the command to end: everything it printed (pane_text), and the server stopped. */
static char *pane_end(void)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "timeout 100 tmux -S %s wait-for done", sock);
	cr_assert_eq(tu_run(cmd, 1, NULL), 0, "the command ended");
	char *out = pane_text();
	pane_kill();
	return out;
}

/* "netpollsim ARGS" run to its end in a pane: everything it printed. */
static char *in_terminal(const char *args)
{
	pane_start(args);
	return pane_end();
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

/* "netpollsim ARGS" run to its end in a pane of cols columns, every line of it fitting them. */
static char *in_pane_of(int cols, const char *args)
{
	pane_start_at(args, cols);
	char *out = pane_end();
	const char *line;
	size_t w = widest(out, &line);
	cr_assert_leq(w, (size_t)cols, "no line wider than %d columns; this one is %zu: %.*s", cols,
		      w, (int)strcspn(line, "\n"), line);
	return out;
}

/*
 * A pane split for a class (30 columns, the narrowest the narration fits): every line still
 * fits. The longest function name of the lesson cannot share the time's line: it gets a line of
 * its own, whole, and its text follows under it.
 */
Test(cli_term, a_30_column_pane_still_fits)
{
	char *out = in_pane_of(30, "run --scenario deadline --no-ui --narrate --no-bpf");
	cr_assert(strstr(out, "\n  poll_runtime_pollSetDeadline\n          read deadline"),
		  "the long name on a line of its own, its text under it: %s", out);
	cr_assert(strstr(out, "\n          netpolldeadlineimpl\n"), "the deadline fires: %s", out);
	cr_assert(strstr(out, "== deadline (GOMAXPROCS"), "the summary follows: %s", out);
	free(out);
}

/*
 * The notice a run or replay without --no-ui gives (no dashboard yet: it narrates) fits a 40-column pane
 * as the narration does, instead of breaking mid-word where the terminal wraps it.
 */
Test(cli_term, the_notices_fit_the_pane_too)
{
	char *out = in_pane_of(40, "run --scenario deadline --no-bpf");
	cr_assert(strstr(out, "netpollsim: no dashboard in this build"), "%s", out);
	cr_assert(strstr(out, "== deadline (GOMAXPROCS"), "the summary follows: %s", out);
	free(out);
	/* replay's, the same notice; and where the samples are, for a file that is not there */
	char cmd[1200], cwd[1024];
	cr_assert(getcwd(cwd, sizeof(cwd)));
	snprintf(cmd, sizeof(cmd), "replay %s/traces/samples/deadline.jsonl -q", cwd);
	out = in_pane_of(40, cmd);
	cr_assert(strstr(out, "netpollsim: no dashboard in this build"), "%s", out);
	cr_assert(strstr(out, "M0 exits"), "the narration follows: %s", out);
	free(out);
	/* the error itself is one line, as errors are; the hint after it fits */
	pane_start_at("replay no-such-lesson.jsonl", 40);
	out = pane_end();
	cr_assert(strstr(out, "\nnetpollsim replay: the sample traces are\n"), "%s", out);
	cr_assert_null(strstr(out, "no dashboard"), "a file not there is the one thing said: %s",
		       out);
	free(out);
}

/* The deadline lesson recorded: the trace's path (a static buffer). */
static const char *deadline_trace(void)
{
	static char path[512];
	char cmd[1024];
	snprintf(path, sizeof(path), "%s/d.jsonl", tu_tmpdir());
	snprintf(cmd, sizeof(cmd),
		 "%s run --scenario deadline --no-ui --quiet --record %s >/dev/null 2>&1",
		 tu_netpollsim(), path);
	cr_assert_eq(tu_run(cmd, 1, NULL), 0, "recorded the lesson");
	tt_assert_legal(path);
	return path;
}

Test(cli_term, replay_narration_fits_an_80_column_terminal)
{
	char cmd[1024], *out = NULL;
	snprintf(cmd, sizeof(cmd), "replay %s --no-ui --narrate", deadline_trace());
	out = in_terminal(cmd);
	assert_fits_and_tells_the_story(out);
	/* the columns named once, above the first event: the times have no unit of their own */
	const char *head = strstr(out, "\n     ms who       fd    Go function          what "
				       "happened\n");
	cr_assert(head && tu_count_lines(out, "Go function") == 1, "%s", out);
	/* a recording of `netpollsim trace`: the kernel's calls, no Go function among them */
	char kcmd[1200], cwd[1024];
	cr_assert(getcwd(cwd, sizeof(cwd)));
	snprintf(kcmd, sizeof(kcmd),
		 "replay %s/tests/data/traces/legal_kernel_seeded.jsonl --no-ui --narrate", cwd);
	char *k = in_terminal(kcmd);
	cr_assert(strstr(k, "\n     ms who       fd    system call          what happened\n") &&
		      !strstr(k, "Go function"),
		  "%s", k);
	free(k);
	cr_assert(!strncmp(strchr(head + 1, '\n') + 1, "  ", 2), "an event follows: %s", head);
	/* a line is not broken between "fd" and its number, nor after "=" or "→" */
	for (const char *l = out, *e; (e = strchr(l, '\n')); l = e + 1) {
		size_t n = (size_t)(e - l);
		bool bad = (n >= 3 && !memcmp(e - 3, " fd", 3)) ||
			   (n >= 2 && !memcmp(e - 2, " =", 2)) ||
			   (n >= 4 && !memcmp(e - 4, " \xe2\x86\x92", 4));
		cr_assert(!bad, "a line broken after its last word: '%.*s'\n%s", (int)n, l, out);
	}
	/* a name wider than its column: the text on the next line, at the text column */
	cr_assert(strstr(out, " poll_runtime_pollUnblock\n                                   "
			      "          fd "),
		  "%s", out);
	free(out);
}

/* The terminal column where p is on its line of text ("→" takes one). */
static size_t column_of(const char *text, const char *p)
{
	const char *l = p;
	while (l > text && l[-1] != '\n')
		l--;
	size_t c = 0;
	for (; l < p; l++)
		c += ((unsigned char)*l & 0xc0) != 0x80;
	return c;
}

/*
 * After 1000 ms a time is wider than its column (the nc demo, a long trace): it takes the
 * columns from who's and the fd's padding, so the function and the text stay under the names.
 */
Test(cli_term, times_past_a_second_keep_the_columns)
{
	const char *late = tt_tmp("late.jsonl");
	FILE *in = fopen(deadline_trace(), "r"), *out = fopen(late, "w");
	char line[8192];
	cr_assert(in && out);
	while (fgets(line, sizeof(line), in)) {
		unsigned long long ts;
		int at = 0;
		/* every event's "ts" 1.2 s later (the header and the footer have none) */
		if (sscanf(line, "{\"ts\":%llu%n", &ts, &at) == 1)
			fprintf(out, "{\"ts\":%llu%s", ts + 1200000000ULL, line + at);
		else
			fputs(line, out);
	}
	fclose(in);
	fclose(out);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "replay %s --no-ui --narrate", late);
	char *text = in_terminal(cmd);
	const char *names = strstr(text, "Go function"), *init = strstr(text, " netpollinit ");
	const char *read = strstr(text, " (*FD).Read ");
	cr_assert(names && init && read, "%s", text);
	const char *start = init;
	while (start > text && start[-1] != '\n')
		start--;
	cr_assert_geq(strtod(start, NULL), 1000, "a time past 1000 ms: %.40s", start);
	cr_assert_eq(column_of(text, init + 1), column_of(text, names), "%s", text);
	cr_assert_eq(column_of(text, read + 1), column_of(text, names), "%s", text);
	free(text);
}

/*
 * Between 30 and 65 columns there is no room for a text column: a text that does not fit beside
 * the function goes under it, each of its lines from the function's column (at 50 the text
 * column's one word a line used to continue 15 columns to the left of where it began).
 */
Test(cli_term, a_half_width_pane_puts_the_text_under_the_function)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "replay %s --no-ui --narrate", deadline_trace());
	char *out = in_pane_of(50, cmd);
	static const char *const under[] = {
	    "netpollinit\n                        epoll instance epfd ",
	    "netpolldeadlineimpl\n                        ",
	    "netpollblockcommit\n                        rg pdWait → G1 (G1 parks:\n"
	    "                        IO wait)\n",
	};
	for (size_t i = 0; i < sizeof(under) / sizeof(under[0]); i++)
		cr_assert(strstr(out, under[i]), "'%s' in: %s", under[i], out);
	free(out);
}

/*
 * A paced replay's shortened pause (--max-gap) is said in a line fitted to the pane as the
 * narration is: in a 40-column pane it used to keep the pipe's 12-column indent and wrap
 * where the terminal cut it.
 */
Test(cli_term, a_shortened_pause_fits_the_pane)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "replay %s --no-ui --narrate --quiet --speed 0.001 --max-gap 0.2",
		 deadline_trace());
	char *out = in_pane_of(40, cmd);
	cr_assert(strstr(out, "\n  ... ") && strstr(out, " ms without events, shown in"),
		  "the pause is said: %s", out);
	cr_assert(strstr(out, "(--max-gap)"), "%s", out);
	free(out);
}

/*
 * What the pane printed after it showed before (its text when the window was resized to cols):
 * every line of it fits cols, while before holds a wider one (the narration followed the
 * window, it was not narrow from the start). Returns the new part, within after.
 */
static const char *assert_new_lines_fit(const char *before, const char *after, size_t cols)
{
	const char *line;
	size_t n = strlen(before);
	cr_assert_eq(strncmp(after, before, n), 0, "the pane kept what it showed:\n%s\n--\n%s",
		     before, after);
	cr_assert_gt(widest(before, &line), cols, "wider than %zu before the resize: %s", cols,
		     before);
	const char *fresh = after + n;
	size_t w = widest(fresh, &line);
	cr_assert_leq(w, cols, "after the resize to %zu columns a line of %zu: %.*s", cols, w,
		      (int)strcspn(line, "\n"), line);
	return fresh;
}

/*
 * A live run follows the window's width (SIGWINCH): the lesson waits for an outside client at
 * 80 columns, the window shrinks to 60, and what the client's connection makes it narrate fits
 * the 60 columns, summary included.
 */
Test(cli_term, a_live_run_follows_a_resize)
{
	pane_start("run --scenario deadline --clients 0 --listen 127.0.0.1:0 --no-ui --narrate "
		   "--no-bpf");
	char *shown = pane_wait_for("Ctrl-C to stop");
	const char *at = strstr(shown, " on 127.0.0.1:");
	int port = at ? atoi(at + strlen(" on 127.0.0.1:")) : 0;
	cr_assert_gt(port, 0, "%s", shown);
	free(shown);
	pane_resize(60);
	char *before = pane_text();
	int s = tu_dial(port);
	cr_assert_geq(s, 0, "connect to %d: %s", port, strerror(errno));
	char *after = pane_end();
	close(s);
	const char *fresh = assert_new_lines_fit(before, after, 60);
	cr_assert(strstr(fresh, "netpolldeadlineimpl"), "the deadline is narrated: %s", fresh);
	cr_assert(strstr(fresh, "== deadline (GOMAXPROCS"), "the summary: %s", fresh);
	free(before);
	free(after);
}

/*
 * A paced replay follows it too: resized while it waits for the recording's next event, and
 * stopped (SIGTERM), what it prints after the resize, its summary, fits the new width.
 */
/* Type keys into the pane (tmux send-keys: as a user types them). */
static void pane_keys(const char *keys)
{
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "tmux -S %s send-keys -t 0 %s", sock, keys);
	cr_assert_eq(tu_run(cmd, 1, NULL), 0, "%s", cmd);
}

/*
 * A class talks over a paced replay: space pauses it (and says how to go on), n shows the next
 * narrated event while paused, space resumes, q ends it with the summary and exit 0. The keys
 * are not echoed into the narration, and the terminal is as it was after.
 */
Test(cli_term, a_paced_replay_pauses_steps_and_ends_on_keys)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "replay %s --no-ui --narrate --speed 0.0005", deadline_trace());
	pane_start_at(cmd, COLS);
	free(pane_wait_for("M0 takes P0"));
	pane_keys("Space");
	char *paused = pane_wait_for("-- paused: space resumes, n shows the next event, q ends");
	/* paused: nothing more comes (4 × 0.05 s at 0.0005 would be 100 µs of a dense trace) */
	usleep(200 * 1000);
	char *still = pane_text();
	cr_assert_str_eq(paused, still, "a paused replay goes on");
	pane_keys("n");
	char *stepped = NULL;
	for (int i = 0; i < 500; i++) {
		free(stepped);
		stepped = pane_text();
		if (strlen(stepped) > strlen(still))
			break;
		usleep(10 * 1000);
	}
	const char *fresh = stepped + strlen(still);
	cr_assert_eq(tu_count_lines(fresh, " M"), 1, "n shows one narrated event: '%s'", fresh);
	free(paused);
	free(still);
	free(stepped);
	pane_keys("Space");
	free(pane_wait_for("\n  -- resumed --\n"));
	pane_keys("q");
	free(pane_wait_for("replay ended by q after "));
	/* the terminal as it was: line editing and echo (the summary comes after keys_stop) */
	char *tty = NULL, *modes = NULL;
	snprintf(cmd, sizeof(cmd), "tmux -S %s display -p '#{pane_tty}'", sock);
	cr_assert_eq(tu_run(cmd, 0, &tty), 0);
	tty[strcspn(tty, "\n")] = '\0';
	snprintf(cmd, sizeof(cmd), "stty -a -F %s", tty);
	cr_assert_eq(tu_run(cmd, 0, &modes), 0, "%s", modes);
	cr_assert(strstr(modes, " icanon") && !strstr(modes, "-icanon") &&
		      strstr(modes, " echo ") && !strstr(modes, "-echo "),
		  "%s", modes);
	free(tty);
	free(modes);
	char *out = pane_end();
	cr_assert_null(strstr(out, "qreplay"), "q echoed: %s", out);
	cr_assert_null(strstr(out, "\nn"), "n echoed: %s", out);
	free(out);
}

/*
 * Ctrl-Z during a paced replay in a shell with job control: the shell gets its terminal back
 * as it was (echo, line editing), `fg` continues the replay with its keys, q ends it.
 */
Test(cli_term, a_paced_replay_stopped_by_ctrl_z_gives_the_terminal_back)
{
	char cmd[2000], modes[700], *bin = realpath(tu_netpollsim(), NULL), *out = NULL;
	cr_assert(bin);
	snprintf(sock, sizeof(sock), "%s/tmux.sock", tu_tmpdir());
	snprintf(modes, sizeof(modes), "%s/modes.txt", tu_tmpdir());
	snprintf(cmd, sizeof(cmd),
		 "tmux -S %s new-session -d -x %d -y 40 'env -i TERM=screen PS1=\"$ \" bash "
		 "--norc --noprofile -i'",
		 sock, COLS);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "'%s replay %s --no-ui --narrate --speed 0.0005' Enter", bin,
		 deadline_trace());
	pane_keys(cmd);
	free(bin);
	free(pane_wait_for("M0 takes P0"));
	pane_keys("C-z");
	free(pane_wait_for("Stopped"));
	snprintf(cmd, sizeof(cmd), "'stty -a > %s; fg' Enter", modes);
	pane_keys(cmd);
	char *m = NULL;
	for (int i = 0; i < 300 && !(m && strstr(m, "echo")); i++) {
		free(m);
		m = access(modes, F_OK) ? NULL : tt_slurp(modes, NULL);
		usleep(10 * 1000);
	}
	cr_assert(m, "stty wrote nothing");
	cr_assert(strstr(m, " icanon") && !strstr(m, "-icanon") && strstr(m, " echo ") &&
		      !strstr(m, "-echo "),
		  "the shell's terminal while the replay was stopped: %s", m);
	free(m);
	pane_keys("q");
	out = pane_wait_for("replay ended by q after ");
	free(out);
}

Test(cli_term, a_paced_replay_follows_a_resize)
{
	char cmd[1024];
	/* a thousand times slower: the 100 ms lesson would take 100 s */
	snprintf(cmd, sizeof(cmd), "replay %s --no-ui --narrate --speed 0.001", deadline_trace());
	pane_start(cmd);
	free(pane_wait_for("M0 takes P0"));
	pane_resize(60);
	char *before = pane_text();
	cr_assert_eq(kill(pane_pid(), SIGTERM), 0);
	char *after = pane_end();
	const char *fresh = assert_new_lines_fit(before, after, 60);
	cr_assert(strstr(fresh, "replay interrupted by SIGTERM (signal 15)"), "the summary: %s",
		  fresh);
	free(before);
	free(after);
}

/* Whether the file at path ends with a complete trace footer. */
static bool has_footer(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096], last[4096] = "";
	while (f && fgets(line, sizeof(line), f))
		memcpy(last, line, sizeof(last));
	if (f)
		fclose(f);
	return strstr(last, "\"footer\":true") && strchr(last, '\n');
}

/*
 * A terminal that cannot keep up (here: one that reads nothing at all, its tmux server stopped)
 * must not cost the recording or the summary a single event: the run goes on, skips the lines
 * the terminal cannot take, finishes its trace while the terminal is still frozen, and once the
 * terminal reads again it says how many lines it did not show.
 */
Test(cli_term, a_frozen_terminal_costs_the_recording_nothing)
{
	char args[700], path[512], *pid = NULL, *out = NULL;
	snprintf(path, sizeof(path), "%s/frozen.jsonl", tu_tmpdir());
	snprintf(args, sizeof(args),
		 "run --clients 1 --rounds 3000 --no-ui --narrate --no-bpf --record %s", path);
	pane_start(args);
	snprintf(args, sizeof(args), "tmux -S %s display -p '#{pid}'", sock);
	cr_assert_eq(tu_run(args, 0, &pid), 0, "%s", pid ? pid : "");
	pid_t server = (pid_t)atoi(pid);
	/*
	 * A run that waits for its terminal ends this test in the suite's timeout, which skips
	 * .fini: a watchdog then resumes and ends the stopped server, so nothing is left behind.
	 */
	snprintf(
	    args, sizeof(args),
	    "setsid sh -c 'sleep 110; kill -CONT %d; tmux -S %s kill-server' >/dev/null 2>&1 & "
	    "echo $!",
	    (int)server, sock);
	char *dog = NULL;
	cr_assert_eq(tu_run(args, 0, &dog), 0);
	pid_t watchdog = (pid_t)atoi(dog);
	free(dog);
	frozen = server;
	cr_assert_eq(kill(server, SIGSTOP), 0, "tmux server %d", server);
	/* waits for the trace's end: a run that waited for its terminal times out here */
	while (!has_footer(path))
		usleep(50 * 1000);
	cr_assert_eq(kill(server, SIGCONT), 0);
	frozen = 0;
	kill(-watchdog, SIGKILL); /* its sleep too: setsid made it a group */
	out = pane_end();
	snprintf(args, sizeof(args), "jq -c 'select(.footer) | .lost' %s", path);
	free(pid);
	pid = NULL;
	cr_assert_eq(tu_run(args, 0, &pid), 0, "%s", pid ? pid : "");
	cr_assert_str_eq(pid, "{\"sim\":0,\"kernel\":0}\n", "no event lost to the display");
	cr_assert(strstr(out, " not shown: the terminal fell behind"), "the skip is said: %s", out);
	cr_assert(strstr(out, "\nclients: 3000 round trips over 1 connection"), "%s", out);
	tt_assert_legal(path);
	free(pid);
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
	cr_assert_null(strstr(out, "Go function"), "no column names: %s", out);
	free(out);
}

/*
 * Piped, the narration ignores a resize: a paced replay into a pipe, sent SIGWINCH all along,
 * prints the very bytes the same replay prints unpaced.
 */
Test(cli_term, piped_narration_ignores_sigwinch)
{
	const char *trace = deadline_trace();
	char cmd[1024], *plain = NULL, *paced = NULL;
	size_t len = 0;
	snprintf(cmd, sizeof(cmd), "%s replay %s --no-ui --narrate", tu_netpollsim(), trace);
	cr_assert_eq(tu_run(cmd, 0, &plain), 0);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		execl(tu_netpollsim(), "netpollsim", "replay", trace, "--no-ui", "--narrate",
		      "--speed", "0.2", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	FILE *mem = open_memstream(&paced, &len);
	for (;;) {
		kill(pid, SIGWINCH);
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		char buf[4096];
		ssize_t n = poll(&pf, 1, 10) > 0 ? read(p[0], buf, sizeof(buf)) : -1;
		if (n == 0)
			break;
		if (n > 0)
			fwrite(buf, 1, (size_t)n, mem);
	}
	fclose(mem);
	close(p[0]);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	cr_assert_str_eq(paced, plain);
	free(plain);
	free(paced);
}
