// SPDX-License-Identifier: MIT
/*
 * Recorded traces, end to end: `netpollsim run --record` interrupted by SIGINT, SIGTERM, SIGHUP,
 * SIGUSR1 and SIGKILL leaves a readable trace (a footer that says interrupted, or none after
 * SIGKILL), and SIGHUP under nohup does not interrupt it; a
 * recording read and written again is byte-identical; a live run's narration is the replay's;
 * the summary counts what the trace holds, and the trace holds every netpoll call the runtime
 * counted;
 * and every sample in traces/samples passes check and tells its scenario's story.
 */
#include "tests/test_trace_util.h"
#include "traces/names.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Run an echo scenario (with args, which may redirect its output) recording to path; once the
 * trace has its header line and secs more have passed, send sig. Returns the exit status. The run is the shell's foreground command (exec:
 * it keeps the shell's pid), so it gets SIGINT and SIGQUIT as from a terminal, which a
 * background job of a non-interactive shell would ignore; waiting for the header keeps a slow
 * (sanitized, loaded) start from being signalled before it has begun.
 */
static int record_and_signal_with(const char *path, const char *sig, const char *secs,
				  const char *args, char **out)
{
	char cmd[1600];
	snprintf(cmd, sizeof(cmd),
		 "( i=0; until head -n 1 %s 2>/dev/null | grep -q '}$'; do i=$((i+1)); "
		 "[ $i -gt 600 ] && exit; sleep 0.05; done; sleep %s; kill -s %s $$ ) "
		 ">/dev/null 2>&1 & "
		 "exec %s run --scenario echo %s --duration 60 --no-ui --no-bpf --record %s",
		 path, secs, sig, tu_netpollsim(), args, path);
	return tu_run(cmd, 1, out);
}

static int record_and_signal(const char *path, const char *sig, const char *secs, char **out)
{
	return record_and_signal_with(path, sig, secs, "--clients 1", out);
}

/* How many of the trace's lines jq's filter selects: counted apart from netpollsim's reader. */
static long jq_count(const char *path, const char *filter)
{
	char cmd[1024], *out = NULL;
	snprintf(cmd, sizeof(cmd), "jq -n '[inputs | select(%s)] | length' %s", filter, path);
	int rc = tu_run(cmd, 0, &out);
	cr_assert_eq(rc, 0, "%s: %s", cmd, out);
	long n = strtol(out, NULL, 10);
	free(out);
	return n;
}

/* The number just before "what" on the output's line that starts with "line". */
static long number_before(const char *out, const char *line, const char *what)
{
	const char *l = strstr(out, line);
	cr_assert(l, "no '%s' line in\n%s", line, out);
	const char *end = strchr(l, '\n'), *w = strstr(l, what);
	cr_assert(w && (!end || w < end), "no '%s' on the '%s' line in\n%s", what, line, out);
	while (w > l && w[-1] == ' ')
		w--;
	while (w > l && w[-1] >= '0' && w[-1] <= '9')
		w--;
	return strtol(w, NULL, 10);
}

/*
 * The runtime's own counters (its "runtime:" line, kept by the engine, not from the events)
 * against the events in the file: every netpoll call and every netpollBreak write the runtime
 * made is in the trace, whatever ended the run.
 */
static void assert_trace_has_every_call(const char *path, const char *out)
{
	long calls = number_before(out, "runtime: ", " netpoll call");
	long breaks = number_before(out, "runtime: ", " netpollBreak write");
	long begins = jq_count(path, ".ev == \"netpoll_begin\"");
	long ends = jq_count(path, ".ev == \"netpoll_end\"");
	long wrote = jq_count(path, ".ev == \"netpoll_break\" and .result == \"wrote\"");
	cr_assert_gt(calls, 0, "%s", out);
	/*
	 * However loaded the machine, a recording loses nothing: the runtime's Ms wait for the
	 * observer when their rings fill (evmerge_wait_when_full).
	 */
	cr_assert(strstr(out, "  lost events: 0 sim"), "%s", out);
	cr_assert_eq(jq_count(path, ".footer and .lost.sim == 0"), 1, "%s", out);
	cr_assert_eq(begins, calls, "%s", out);
	cr_assert_eq(ends, calls, "%s", out);
	cr_assert_eq(wrote, breaks, "%s", out);
}

/*
 * Narrated to a file, a recording stopped by a signal loses nothing either: a file always has
 * room, so the observer is never stuck and the Ms go on waiting for it after the stop (rings of
 * 256 events: without that, the narration's writes after the stop made them give up and lose).
 */
Test(trace_record, a_narrated_recording_stopped_by_a_signal_loses_nothing, .timeout = 120)
{
	const char *path = tt_tmp("narrated-stop.jsonl"), *narr = tt_tmp("narrated-stop.txt");
	char args[800], *out = NULL;
	snprintf(args, sizeof(args), "--clients 8 --ring-order 8 --narrate >%s", narr);
	int rc = record_and_signal_with(path, "TERM", "0.5", args, &out);
	cr_assert_eq(rc, 128 + SIGTERM, "exit %d\n%s", rc, out);
	free(out);
	tt_assert_legal(path);
	char *t = tt_slurp(narr, NULL);
	cr_assert(strstr(t, "\n== echo (GOMAXPROCS "), "no summary after the narration");
	cr_assert(strstr(t, "  lost events: 0 sim, 0 kernel"), "%s", strstr(t, "\n== echo"));
	free(t);
	cr_assert_eq(jq_count(path, ".footer and .lost.sim == 0"), 1);
}

static void signal_case(const char *sig, int signo)
{
	char name[64], *out;
	snprintf(name, sizeof(name), "sig%s.jsonl", sig);
	const char *path = tt_tmp(name);
	int rc = record_and_signal(path, sig, "0.7", &out);
	cr_assert_eq(rc, 128 + signo, "exit %d after SIG%s\n%s", rc, sig, out);
	assert_trace_has_every_call(path, out);
	free(out);
	/* the footer says so, and its counts match the events: nothing recorded was lost */
	tt_assert_legal(path);
	size_t len;
	char *t = tt_slurp(path, &len);
	char want[64];
	snprintf(want, sizeof(want), "\"interrupted\":%d,\"signal\":\"SIG%s\"", signo, sig);
	cr_assert(strstr(t, want), "no '%s' in the footer", want);
	cr_assert_eq(t[len - 1], '\n');
	free(t);
	unlink(path);
}

Test(trace_record, sigint_flushes_and_writes_the_footer, .timeout = 120)
{
	signal_case("INT", SIGINT);
}

Test(trace_record, sigterm_flushes_and_writes_the_footer, .timeout = 120)
{
	signal_case("TERM", SIGTERM);
}

/*
 * A closed terminal, or a batch system's signal: the same clean end as Ctrl-C. The run is given
 * SIGHUP's default action, whatever this test inherited: under `nohup make test` it would keep
 * SIGHUP ignored (as a run under nohup must, the next test).
 */
Test(trace_record, sighup_flushes_and_writes_the_footer, .timeout = 120)
{
	signal(SIGHUP, SIG_DFL);
	signal_case("HUP", SIGHUP);
}

Test(trace_record, sigusr1_flushes_and_writes_the_footer, .timeout = 120)
{
	signal_case("USR1", SIGUSR1);
}

/* Under nohup, SIGHUP stays ignored: the run goes on to its end and says it was not cut. */
Test(trace_record, nohup_keeps_sighup_ignored, .timeout = 120)
{
	const char *path = tt_tmp("nohup.jsonl");
	char cmd[1200], *out;
	snprintf(cmd, sizeof(cmd),
		 "timeout -s HUP 0.5 nohup %s run --scenario echo --clients 0 --listen 127.0.0.1:0 "
		 "--duration 1.5 --no-ui --no-bpf --record %s",
		 tu_netpollsim(), path);
	int rc = tu_run(cmd, 1, &out);
	/* timeout says 124 when its signal was sent; the program itself ran to its end */
	cr_assert_eq(rc, 124, "exit %d\n%s", rc, out);
	cr_assert(strstr(out, "interrupted") == NULL, "%s", out);
	free(out);
	size_t len;
	char *t = tt_slurp(path, &len);
	cr_assert(strstr(t, "\"footer\":true"), "no footer");
	cr_assert(strstr(t, "\"interrupted\":0,"), "the footer says the run was interrupted");
	free(t);
	rc = tt_np(&out, "check --quiet %s", path);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	unlink(path);
}

/*
 * A script's background job starts with SIGINT ignored (a non-interactive shell sets it so), and
 * `kill -INT $!` is how a script stops a tracer: the run kept it ignored and went on to the end
 * of --duration (60 s here) with its footer saying it was not cut. It ends as Ctrl-C ends it.
 */
Test(trace_record, a_script_s_kill_int_stops_a_background_run, .timeout = 120)
{
	const char *path = tt_tmp("bgint.jsonl");
	char cmd[1200], *out;
	unlink(path);
	snprintf(cmd, sizeof(cmd),
		 "sh -c '%s run --scenario echo --clients 0 --listen 127.0.0.1:0 --duration 60 "
		 "--no-ui --no-bpf -q --record %s & until [ -s %s ]; do sleep 0.02; done; "
		 "grep SigIgn /proc/$!/status; kill -INT $!; wait $!; echo status=$?'",
		 tu_netpollsim(), path, path);
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 0, "exit %d\n%s", rc, out);
	cr_assert(strstr(out, "status=130\n"), "%s", out);
	free(out);
	size_t len;
	char *t = tt_slurp(path, &len);
	cr_assert(strstr(t, "\"interrupted\":2,\"signal\":\"SIGINT\""), "%s", t + len / 2);
	free(t);
	unlink(path);
}

Test(trace_record, sigkill_leaves_a_trace_readable_up_to_its_last_line, .timeout = 120)
{
	const char *path = tt_tmp("sigkill.jsonl");
	char *out;
	int rc = record_and_signal(path, "KILL", "0.7", &out);
	cr_assert_eq(rc, 128 + SIGKILL, "exit %d\n%s", rc, out);
	free(out);
	rc = tt_np(&out, "check --quiet %s", path);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "error: no-footer: the trace has no footer: it was cut short"), "%s",
		  out);
	cr_assert_eq(tu_count_lines(out, "error:"), 1, "only the footer is missing:\n%s", out);
	free(out);
	rc = tt_np(&out, "check --quiet --allow-truncated %s", path);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	rc = tt_np(&out, "replay %s --no-ui", path);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "the trace has no footer"), "%s", out);
	free(out);
	unlink(path);
}

/*
 * An output whose reader went away: the run winds down as SIGPIPE would have ended it, says
 * which output failed, and the trace still gets its footer (the narration's reader here, `head`).
 */
Test(trace_record, a_closed_narration_pipe_ends_the_run_as_sigpipe, .timeout = 120)
{
	const char *path = tt_tmp("epipe.jsonl"), *err = tt_tmp("epipe.err"),
		   *rcf = tt_tmp("epipe.rc");
	char cmd[1600], *out;
	snprintf(cmd, sizeof(cmd),
		 "{ %s run --scenario echo --clients 1 --duration 60 --no-ui --no-bpf --narrate "
		 "--record %s 2>%s; echo $? >%s; } | head -n 3 >/dev/null",
		 tu_netpollsim(), path, err, rcf);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	free(out);
	char *rc = tt_slurp(rcf, NULL), *msg = tt_slurp(err, NULL);
	cr_expect_str_eq(rc, "141\n", "stderr:\n%s", msg);
	cr_expect(strstr(msg, "netpollsim run: narration to stdout stopped: Broken pipe"), "%s",
		  msg);
	free(rc);
	free(msg);
	tt_assert_legal(path);
	char *t = tt_slurp(path, NULL);
	cr_expect(strstr(t, "\"interrupted\":13,\"signal\":\"SIGPIPE\""), "footer: %s",
		  strrchr(t, '{'));
	free(t);
}

/*
 * `{ netpollsim run ARGS --record -; } | READER`: the run's exit status and its stderr (both
 * malloc'd), as the pipe's reader goes away.
 */
static void run_into(const char *args, const char *reader, char **rc, char **msg)
{
	const char *err = tt_tmp("tpipe.err"), *rcf = tt_tmp("tpipe.rc");
	char cmd[1600], *out;
	snprintf(cmd, sizeof(cmd), "{ %s run %s --record - 2>%s; echo $? >%s; } | %s",
		 tu_netpollsim(), args, err, rcf, reader);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	free(out);
	*rc = tt_slurp(rcf, NULL);
	*msg = tt_slurp(err, NULL);
}

/* The same for a trace recorded to stdout (`--record -`) whose reader went away. */
Test(trace_record, a_closed_trace_pipe_ends_the_run_as_sigpipe, .timeout = 120)
{
	char *rc, *msg;
	run_into("--scenario echo --clients 1 --duration 60 --no-ui --no-bpf",
		 "head -c 1000 >/dev/null", &rc, &msg);
	cr_expect_str_eq(rc, "141\n", "stderr:\n%s", msg);
	cr_expect(strstr(msg, "netpollsim run: writing -: Broken pipe"), "%s", msg);
	cr_expect(strstr(msg, "trace: - (incomplete: Broken pipe)"), "%s", msg);
	free(rc);
	free(msg);
	/* gone before the header: the same end, not "cannot write" and 1 */
	run_into("--scenario echo --no-ui --no-bpf -q", "true", &rc, &msg);
	cr_expect_str_eq(rc, "141\n", "stderr:\n%s", msg);
	free(rc);
	free(msg);
}

/*
 * A reader that stopped reading (`| less` left idle) cannot hold a run that was asked to stop:
 * the narration waits for it until the run's forced end (5 s after the stop), then is cut, and
 * the trace gets its footer. Without the cut the run stays blocked in write(2) until the
 * test's timeout. stderr goes to the same stalled pipe (err NULL: `2>&1 | less`), where the
 * messages must not block either, or to a file, which then says why the narration stopped.
 */
static void stalled_reader(const char *err)
{
	const char *path = tt_tmp("stall.jsonl"), *fifo = tt_tmp("stall.fifo");
	char cmd[2000], *out;
	/*
	 * The second call's trace has the first's name: without the unlink the wait for its header
	 * would find the old one at once, and a loaded machine could see the run stopped before it
	 * had opened anything (then the old trace is checked, and no stderr file exists).
	 */
	unlink(path);
	if (err)
		unlink(err);
	unlink(fifo);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	snprintf(cmd, sizeof(cmd),
		 "sleep 300 <%s & reader=$!; "
		 "%s run --scenario echo --clients 1 --duration 60 --no-ui --no-bpf --narrate "
		 "--record %s >%s 2>%s & run=$!; "
		 "i=0; until head -n 1 %s 2>/dev/null | grep -q '}$'; do i=$((i+1)); "
		 "[ $i -gt 600 ] && break; sleep 0.05; done; sleep 1; "
		 "kill -TERM $run; wait $run; echo \"rc=$?\"; kill $reader",
		 fifo, tu_netpollsim(), path, fifo, err ? err : "&1", path);
	tu_run(cmd, 1, &out);
	cr_expect(strstr(out, "rc=143"), "%s", out);
	free(out);
	tt_assert_legal(path);
	char *t = tt_slurp(path, NULL);
	cr_expect(strstr(t, "\"signal\":\"SIGTERM\""), "footer: %s", strrchr(t, '{'));
	/*
	 * The lesson stopped as asked, in time: the runtime did not wait for an observer stuck on
	 * its narration (the recording makes it wait for room otherwise).
	 */
	cr_expect_null(strstr(t, "the lesson did not reach its end"), "footer: %s",
		       strrchr(t, '{'));
	free(t);
	if (err) {
		t = tt_slurp(err, NULL);
		cr_expect(strstr(t,
				 "netpollsim run: narration to stdout stopped: its reader did not "
				 "take it in time after the stop"),
			  "stderr: %s", t);
		free(t);
	}
}

Test(trace_record, a_stalled_narration_reader_cannot_hold_a_stopped_run, .timeout = 120)
{
	stalled_reader(NULL);
	stalled_reader(tt_tmp("stall.err"));
}

/*
 * The recording itself into a FIFO whose reader stopped reading: the stop (--duration here, a
 * signal alike) gives it 5 s more, then the recording is cut and said, and the run ends with 1.
 * Before, the observer stayed blocked in write(2) and the run with it, deaf to every signal
 * but SIGKILL: the test's `timeout -s KILL` then ends it with 137.
 */
Test(trace_record, a_stalled_trace_reader_cannot_hold_a_stopped_run, .timeout = 120)
{
	const char *fifo = tt_tmp("tstall.fifo");
	char cmd[1600], *out;
	unlink(fifo);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	snprintf(cmd, sizeof(cmd),
		 "{ sleep 300 <%s & reader=$!; timeout -s KILL 60 %s run --scenario echo --clients "
		 "1 --duration 0.5 --no-ui --no-bpf --record %s; echo \"rc=$?\"; kill $reader; }",
		 fifo, tu_netpollsim(), fifo);
	tu_run(cmd, 1, &out);
	cr_expect(strstr(out, "\nrc=1\n"), "%s", out);
	cr_expect(strstr(out, "netpollsim run: writing /"), "%s", out);
	cr_expect(strstr(out, ": its reader did not take it in time after the stop (the trace ends "
			      "at its last complete line)"),
		  "%s", out);
	free(out);
}

/*
 * A run ended while its lesson still runs (a second signal; NPS_TEST_DEAF_LESSON=1 keeps the
 * first from the lesson, as a hung one would miss it): the recording ends where the probes
 * stopped, everything up to there is in it or counted as lost, and nothing after it is, so the
 * kernel's view and the runtime's still agree (a netpoll after the probes' stop would have no
 * epoll_wait to match: check would call it a violation).
 */
Test(trace_record, a_forced_end_records_up_to_where_the_probes_stopped, .timeout = 120)
{
	NEED_ROOT();
	/*
	 * The forced end leaves the runtime running as the process exits: its goroutines' memory
	 * (on their own stacks, which LeakSanitizer does not scan) is in use, not leaked.
	 */
	tu_no_leak_check();
	const char *path = tt_tmp("forced.jsonl");
	char cmd[1600], *out;
	snprintf(cmd, sizeof(cmd),
		 "( i=0; until head -n 1 %s 2>/dev/null | grep -q '}$'; do i=$((i+1)); "
		 "[ $i -gt 600 ] && exit; sleep 0.05; done; sleep 1; kill -TERM $$; sleep 0.3; "
		 "kill -TERM $$ ) >/dev/null 2>&1 & NPS_TEST_DEAF_LESSON=1 exec %s run --scenario "
		 "echo --clients 4 --rounds 100000000 --no-ui --record %s",
		 path, tu_netpollsim(), path);
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 128 + SIGTERM, "%s", out);
	cr_assert(strstr(out, "the scenario did not stop; ending now"), "%s", out);
	cr_assert(strstr(out, "probes: "), "the probes were attached: %s", out);
	free(out);
	rc = tt_np(&out, "check --quiet %s", path);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	/* the footer counts every loss the trace places (check compares the kinds' counts) */
	long placed = jq_count(path, ".ev == \"lost\" and .count > 0");
	long footer = jq_count(path, ".footer and (.lost.sim + .lost.kernel) > 0");
	cr_assert_eq(placed > 0, footer == 1, "%ld lost events, footer with losses: %ld", placed,
		     footer);
}

/*
 * A violation the live checker finds is said where it happens (on stderr without --narrate,
 * without the narration's blank columns), counted by rule in the summary, makes the run exit 1,
 * and is in the recording, where check finds it again with its file:line. The runtime makes none:
 * the test hook NPS_TEST_ILLEGAL=1 judges one pd_state Go's table forbids.
 */
Test(trace_record, a_violation_is_said_and_fails_the_run_and_its_recording, .timeout = 120)
{
	const char *path = tt_tmp("illegal.jsonl");
	char cmd[1200], *out;
	snprintf(cmd, sizeof(cmd),
		 "NPS_TEST_ILLEGAL=1 %s run --scenario echo --no-bpf --no-ui --record %s 2>&1",
		 tu_netpollsim(), path);
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "\nnetpollsim run: VIOLATION: pd-transition: pd fd ") ||
		      !strncmp(out, "netpollsim run: VIOLATION: pd-transition: pd fd ", 48),
		  "%s", out);
	cr_assert(strstr(out, "netpollblockcommit cannot move pdNil → G"), "%s", out);
	cr_assert(strstr(out, " violations (1 pd-transition"), "the summary's verdicts: %s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "check %s", path), 1, "%s", out);
	cr_assert(strstr(out, ": error: pd-transition: pd fd "), "%s", out);
	cr_assert(strstr(out, ": ILLEGAL: "), "%s", out);
	free(out);
}

/* A full file system: said once, where it happens; the run goes on and exits 1. */
Test(trace_record, a_full_disk_is_said_and_the_trace_stays_readable, .timeout = 120)
{
	NEED_ROOT();
	char dir[600], cmd[1600], *out;
	snprintf(dir, sizeof(dir), "%s/small", tu_tmpdir());
	mkdir(dir, 0700);
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=128k nps-test %s", dir);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd),
		 "%s run --scenario echo --clients 4 --rounds 2000 --no-ui --no-bpf --record "
		 "%s/full.jsonl",
		 tu_netpollsim(), dir);
	int rc = tu_run(cmd, 1, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect_eq(tu_count_lines(out, "No space left on device (the trace ends at its last "
					 "complete line)"),
		     1, "%s", out);
	cr_expect(strstr(out, "/full.jsonl (incomplete: No space left on device)"), "%s", out);
	free(out);
	int chk = tt_np(&out, "check --quiet --allow-truncated %s/full.jsonl", dir);
	/* without --allow-truncated, the missing footer is an error that names a full disk */
	char *strict;
	int chk_strict = tt_np(&strict, "check --quiet %s/full.jsonl", dir);
	char *um;
	snprintf(cmd, sizeof(cmd), "umount %s", dir);
	tu_run(cmd, 1, &um);
	free(um);
	cr_expect_eq(chk, 0, "%s", out);
	free(out);
	cr_expect_eq(chk_strict, 1, "%s", strict);
	cr_expect(strstr(strict, "(the recording was killed, or its disk filled?)"), "%s", strict);
	free(strict);
}

Test(trace_record, a_recording_read_and_written_again_is_identical, .timeout = 120)
{
	const char *rec = tt_tmp("rec.jsonl"), *again = tt_tmp("again.jsonl");
	char *out;
	int rc = tt_np(&out, "run --scenario close --no-ui --no-bpf --record %s", rec);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	tt_assert_legal(rec);
	rc = tt_np(&out, "export %s --format jsonl -o %s", rec, again);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	size_t l1, l2;
	char *a = tt_slurp(rec, &l1), *b = tt_slurp(again, &l2);
	cr_assert_gt(l1, 1000);
	cr_assert(l1 == l2 && !memcmp(a, b, l1), "record → read → write changed the file");
	free(a);
	free(b);
}

/*
 * The narration proper (event lines and the verdicts under them, all indented), line for line:
 * the replay has every line of the live run and no other, in the same order. Both are consumed.
 */
static void assert_same_narration(char *live, char *replay)
{
	char *ls = live, *rs = replay, *l = NULL, *r = NULL;
	int lines = 0;
	for (;;) {
		while ((l = strsep(&ls, "\n")) && strncmp(l, "   ", 3))
			;
		while ((r = strsep(&rs, "\n")) && strncmp(r, "   ", 3))
			;
		if (!l || !r)
			break;
		cr_assert_str_eq(r, l, "line %d of the narration differs", lines + 1);
		lines++;
	}
	cr_assert(!l && !r, "one narration goes on after %d lines: %s", lines, l ? l : r);
	cr_assert_gt(lines, 50);
}

/*
 * `run ARGS --narrate --record REC` narrates what `replay REC --narrate` narrates; the live
 * narration also says must (NULL: nothing more).
 */
static void live_equals_replay(const char *args, const char *name, const char *must)
{
	const char *rec = tt_tmp(name);
	char *live, *replay;
	int rc = tt_np(&live, "run %s --no-ui --narrate --record %s", args, rec);
	cr_assert_eq(rc, 0, "%s", live);
	if (must)
		cr_assert(strstr(live, must), "no '%s':\n%s", must, live);
	tt_assert_legal(rec);
	rc = tt_np(&replay, "replay %s --no-ui --narrate", rec);
	cr_assert_eq(rc, 0, "%s", replay);
	assert_same_narration(live, replay);
	free(live);
	free(replay);
}

Test(trace_record, a_live_run_narrates_what_the_replay_narrates, .timeout = 120)
{
	live_equals_replay("--scenario deadline --no-bpf", "narr.jsonl", NULL);
}

/* The same with the probes: the kernel's lines, merged live, come back in the same places. */
Test(trace_record, a_live_run_with_the_probes_narrates_what_the_replay_narrates, .timeout = 120)
{
	NEED_ROOT();
	live_equals_replay("--scenario echo", "narr-kernel.jsonl", "[kernel] epoll_ctl");
}

/*
 * `--record -`: the trace goes to stdout, whole (header first, footer last, legal), and the
 * narration to stderr, where it tells what the trace's replay tells.
 */
Test(trace_record, a_trace_recorded_to_stdout_is_whole_and_the_narration_goes_to_stderr,
     .timeout = 120)
{
	const char *rec = tt_tmp("stdout.jsonl"), *err = tt_tmp("stdout.err");
	char cmd[1600], *out, *replay;
	size_t len;
	snprintf(cmd, sizeof(cmd),
		 "%s run --scenario close --no-ui --no-bpf --narrate --record - >%s 2>%s",
		 tu_netpollsim(), rec, err);
	cr_assert_eq(tu_run(cmd, 0, &out), 0, "%s", out); /* 0: no 2>&1 after our 2> */
	free(out);
	tt_assert_legal(rec);
	char *t = tt_slurp(rec, &len), *live = tt_slurp(err, NULL);
	cr_assert(!strncmp(t, "{\"format\":\"netpollsim-trace\",\"version\":1,", 41), "%.200s", t);
	cr_assert(len > 1 && t[len - 1] == '\n');
	t[len - 1] = '\0';
	const char *last = strrchr(t, '\n');
	cr_assert(last && strstr(last, ",\"footer\":true,"), "last line: %s", last);
	cr_assert(!strstr(t, "\n   "), "narration in the trace");
	cr_assert_eq(tt_np(&replay, "replay %s --no-ui --narrate", rec), 0);
	assert_same_narration(live, replay);
	free(replay);
	free(live);
	free(t);
}

struct sample {
	const char *name;
	const char *story[6];
};

static const struct sample samples[] = {
    /* a note longer than an event (32 bytes) is told whole */
    {"echo",
     {"note: wait for what happens outside the runtime (clients, Ctrl-C, --duration): a Read on "
      "a pipe they write to\n",
      "parks: IO wait)", "ready: I/O)", "note: client 1 sends 64 bytes",
      "(pending readiness cleared: the syscall is tried first)"}},
    /* the client says it connects before the server registers what it accepted */
    {"deadline",
     {"note: client 1 connects, idle", "netpollopen", "read deadline expired",
      "woken, gets i/o timeout)", "note: deadline-while-parked", "returns \"i/o timeout\""}},
    {"close",
     {"closing: rseq and wseq bumped", "woken, gets use of closed network connection)",
      "note: close-while-parked", "returns \"use of closed network connection\""}},
    {"slow-reader",
     {"wg pdNil → pdWait (", "announces it will park)", "wg pdWait → G", "parks: IO wait)",
      "ready: I/O)"}},
    {"ready-before-park",
     {"note: server: read got EAGAIN; the lesson holds this goroutine here (a test hook after "
      "EAGAIN) until the client's data makes rg pdReady\n",
      "takes the readiness: no park)", "note: ready-before-park"}},
    {"accept-burst", {"note: 4 clients connect at once", "accept4(fd ", ") = -EAGAIN"}},
    {"break",
     {"wake the poller: one byte to the break pipe (asked by wakeNetPoller)",
      "break pipe readable: drain it", "drained 1 byte from the break pipe",
      "(the model's exit, so that its Ms leave: Go's exit(0) needs none)"}},
};

/* Every sample in dir passes check, is small enough to read, ends with its closing line, and
 * (exact_story) tells its scenario's story. */
static void samples_tell_their_stories(const char *dir, bool exact_story)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct sample *s = &samples[i];
		char *out;
		char path[700];
		snprintf(path, sizeof(path), "%s/%s.jsonl", dir, s->name);
		tt_assert_legal(path);
		char cmd[800], *lines = NULL;
		snprintf(cmd, sizeof(cmd), "wc -l <%s", path);
		cr_assert_eq(tu_run(cmd, 0, &lines), 0);
		long n = strtol(lines, NULL, 10);
		free(lines);
		cr_assert(n > 50 && n < 600, "sample %s: %ld lines: not a few hundred events", path,
			  n);
		int rc = tt_np(&out, "replay %s --no-ui --narrate", path);
		cr_assert_eq(rc, 0, "sample %s:\n%s", s->name, out);
		const char *at = out;
		for (int k = 0; exact_story && k < 6 && s->story[k]; k++) {
			const char *p = strstr(at, s->story[k]);
			cr_assert(p,
				  "sample %s: missing (or out of order) '%s' (regenerate with "
				  "scripts/record_samples.sh?)",
				  s->name, s->story[k]);
			at = p;
		}
		/* the live run's ending, from the footer: its heading and the closing line */
		char heading[80];
		snprintf(heading, sizeof(heading), "\n== %s (GOMAXPROCS ", s->name);
		const char *h = strstr(out, heading);
		cr_assert(h, "sample %s: no '%s' heading:\n%s", s->name, heading + 1, out);
		h = strchr(h + 1, '\n');
		cr_assert(h && h[1] && strncmp(h + 1, "summary:", 8),
			  "sample %s: no closing line after the heading (regenerate with "
			  "scripts/record_samples.sh?)",
			  s->name);
		free(out);
	}
}

Test(trace_record, every_sample_passes_check_and_tells_its_story, .timeout = 120)
{
	samples_tell_their_stories("traces/samples", true);
}

/* The one script regenerates them (issue 3), and what it makes tells the same stories. */
Test(trace_record, record_samples_regenerates_every_sample, .timeout = 180)
{
	const char *dir = tt_tmp("samples");
	char cmd[1200], *out = NULL;
	snprintf(cmd, sizeof(cmd), "SAMPLES_DIR=%s scripts/record_samples.sh %s", dir,
		 tu_netpollsim());
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 0, "%s: exit %d\n%s", cmd, rc, out);
	free(out);
	/*
	 * A fresh recording's details depend on real socket timing (under ASan a client's bytes
	 * can arrive before its reader parks), so its exact story is not required: only that it
	 * is legal, small, and ends with its scenario's closing line.
	 */
	samples_tell_their_stories(dir, false);
}

/*
 * The headless summary (issue 2 section 5) says what the events say: each count, recomputed
 * from the recorded file with jq, is the one printed.
 */
Test(trace_record, the_summary_counts_what_the_trace_holds, .timeout = 120)
{
	const char *path = tt_tmp("summary.jsonl");
	char *out = NULL, want[256];
	int rc = tt_np(&out,
		       "run --scenario echo --clients 3 --rounds 4 --procs 2 --no-ui --no-bpf "
		       "--record %s",
		       path);
	cr_assert_eq(rc, 0, "%s", out);
	tt_assert_legal(path);
	cr_assert(strstr(out, "3 connections served by one goroutine each; 12 round trips."), "%s",
		  out);
	assert_trace_has_every_call(path, out);

	long created = jq_count(path, ".ev == \"gstatus\" and .fn == \"newproc\"");
	snprintf(want, sizeof(want), "goroutines: %ld created, 0 live", created);
	cr_assert(strstr(out, want), "no '%s' in\n%s", want, out);
	cr_assert_eq(created, 5, "main, the accept loop and 3 handlers: %ld", created);
	/*
	 * io.EOF, recorded as EOF (no errno): each handler's Read when its client closes, and
	 * Listen's read of /proc/sys/net/core/somaxconn to its end (Go's maxListenerBacklog)
	 */
	long eofs = jq_count(path, ".ev == \"fd_err\" and .err == \"EOF\" and .fn == "
				   "\"(*FD).Read\"");
	cr_assert_eq(eofs, 4, "one EOF per connection and the somaxconn file's: %ld", eofs);

	long calls = jq_count(path, ".ev == \"netpoll_begin\"");
	long blocking = jq_count(path, ".ev == \"netpoll_begin\" and .waitms != 0");
	long handled = jq_count(path, ".ev == \"netpoll_event\"");
	/* Go's wake-ups apart from the one the model's exit makes (Go's exit needs none) */
	long breaks = jq_count(path, ".ev == \"netpoll_break\" and .result == \"wrote\" and "
				     ".fn != \"main\"");
	long exits = jq_count(path, ".ev == \"netpoll_break\" and .result == \"wrote\" and "
				    ".fn == \"main\"");
	cr_assert_eq(exits, 1, "the model's exit wakes its poller once: %ld", exits);
	snprintf(want, sizeof(want),
		 "netpoll: %ld call%s (%ld blocking, %ld non-blocking), %ld event%s handled, %ld "
		 "netpollBreak wake-up%s (and 1 by the model's exit)\n",
		 calls, nps_plural(calls), blocking, calls - blocking, handled, nps_plural(handled),
		 breaks, nps_plural(breaks));
	cr_assert(strstr(out, want), "no '%s' in\n%s", want, out);
	/* the runtime's own counter is of writes to the pipe: both kinds */
	snprintf(want, sizeof(want), "netpoll call%s, %ld netpollBreak write%s\n",
		 nps_plural(calls), breaks + exits, nps_plural(breaks + exits));
	cr_assert(strstr(out, want), "no '%s' in\n%s", want, out);

	/*
	 * pollCache's free list: every pollDesc of the 4 KiB blocks it allocated (pd_open sub 1:
	 * 16 each, Go 1.22 on amd64) that is not in use, as the runtime's own line counts it
	 */
	long blocks = jq_count(path, ".ev == \"pd_open\" and .sub == 1");
	cr_assert_geq(blocks, 1);
	snprintf(want, sizeof(want), "pollDescs: 0 in use, %ld free (0 registered", blocks * 16);
	cr_assert(strstr(out, want), "no '%s' in\n%s", want, out);
	snprintf(want, sizeof(want), "pollCache 0 in use / %ld free (%ld block%s of 16)",
		 blocks * 16, blocks, nps_plural(blocks));
	cr_assert(strstr(out, want), "the runtime's line disagrees: no '%s' in\n%s", want, out);

	/* every wake-up of a goroutine parked in IO wait has one of the four I/O-side causes */
	char wq[600], *w = NULL;
	snprintf(
	    wq, sizeof(wq),
	    "jq -rn 'reduce (inputs | select(.ev == \"gstatus\")) as $e ({r: {}, io: 0, n: 0}; "
	    "if $e.to == \"waiting\" then .r[$e.goid | tostring] = $e.reason "
	    "elif $e.from == \"waiting\" and $e.to == \"runnable\" then .n += 1 | "
	    "(if .r[$e.goid | tostring] == \"IO wait\" then .io += 1 else . end) else . end) | "
	    "\"\\(.io) \\(.n)\"' %s",
	    path);
	cr_assert_eq(tu_run(wq, 0, &w), 0, "%s", w);
	long io_parked = strtol(w, NULL, 10), wakes = strtol(strchr(w, ' ') + 1, NULL, 10);
	free(w);
	long io = number_before(out, "  wake-ups: ", " I/O"),
	     dl = number_before(out, "  wake-ups: ", " deadline"),
	     cl = number_before(out, "  wake-ups: ", " close"),
	     sd = number_before(out, "  wake-ups: ", " past SetDeadline"),
	     other = number_before(out, "  wake-ups: ", " other");
	cr_assert_eq(io + dl + cl + sd, io_parked, "jq: %ld of %ld wakes were of IO-wait Gs\n%s",
		     io_parked, wakes, out);
	cr_assert_eq(io + dl + cl + sd + other, wakes, "%s", out);
	cr_assert(strstr(out, "lost events: 0 sim, 0 kernel"), "%s", out);
	free(out);
}
