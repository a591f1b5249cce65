// SPDX-License-Identifier: MIT
/*
 * `netpollsim replay FILE --no-ui --narrate` as a user reads it: the story of a read that has to
 * wait, told in Go's words; the races as notes; the summary; --speed pacing in real time; Ctrl-C
 * stopping a replay with its summary.
 */
#include "tests/test_trace_util.h"
#include "traces/narrate.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <signal.h>
#include <fcntl.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The file name in the test's directory, made of fmt's text: its path. */
__attribute__((format(printf, 2, 3))) static const char *trace_file(const char *name,
								    const char *fmt, ...)
{
	const char *path = tt_tmp(name);
	FILE *f = fopen(path, "w");
	va_list ap;

	cr_assert(f, "%s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	return path;
}

/*
 * A hand-made trace of scenario "handmade", GOMAXPROCS procs, made of events (lines, no footer)
 * in the test's directory as name: its path.
 */
static const char *handmade_trace(const char *name, int procs, const char *events)
{
	return trace_file(
	    name,
	    "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"handmade\","
	    "\"gomaxprocs\":%d,\"go\":\"go1.22\",\"kernel\":\"k\",\"mono_origin_ns\":\"1000\"}"
	    "\n%s",
	    procs, events);
}

/* `replay TRACES/file --no-ui --narrate`, which must succeed: its output (free it). */
static char *narrate(const char *file)
{
	char *out;
	int rc = tt_np(&out, "replay " TRACES "/%s --no-ui --narrate", file);
	cr_assert_eq(rc, 0, "%s: exit %d\n%s", file, rc, out);
	return out;
}

/*
 * What a netpoll call will do, from its waitms (Go's netpoll: < 0 blocks, 0 polls), and
 * eventErr from atomicInfo's bit 0x2 (pollEventErr; 0x1 is pollClosing): each said as it is.
 */
Test(trace_replay, narrates_the_poll_kind_and_event_err_from_their_bits, .timeout = 30)
{
	static const char t[] =
	    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"pd_open\",\"m\":0,\"fd\":7,\"pd\":\"0x1000\","
	    "\"seq\":1,\"fn\":\"poll_runtime_pollOpen\"}\n"
	    "{\"ts\":2,\"src\":\"sim\",\"ev\":\"pd_eventerr\",\"m\":0,\"fd\":7,\"pd\":\"0x1000\","
	    "\"seq\":1,\"info\":3}\n"
	    "{\"ts\":3,\"src\":\"sim\",\"ev\":\"pd_eventerr\",\"m\":0,\"fd\":7,\"pd\":\"0x1000\","
	    "\"seq\":1,\"info\":1}\n"
	    "{\"ts\":4,\"src\":\"sim\",\"ev\":\"netpoll_begin\",\"m\":0,\"id\":1,\"delay\":0,"
	    "\"waitms\":0,\"caller\":\"findRunnable\"}\n"
	    "{\"ts\":5,\"src\":\"sim\",\"ev\":\"netpoll_begin\",\"m\":1,\"id\":2,\"delay\":-1,"
	    "\"waitms\":-1,\"caller\":\"findRunnable-block\"}\n"
	    "{\"ts\":6,\"src\":\"sim\",\"ev\":\"netpoll_begin\",\"m\":2,\"id\":3,"
	    "\"delay\":5000000,\"waitms\":5,\"caller\":\"findRunnable-block\"}\n";
	const char *path = handmade_trace("bits.jsonl", 3, t);
	char *out;
	tt_np(&out, "replay %s --no-ui --narrate", path);
	static const char *const lines[] = {
	    "eventErr set (info 0x3)\n",
	    "eventErr cleared (info 0x1)\n",
	    "netpoll #1 by findRunnable: epoll_pwait timeout 0 ms (non-blocking)\n",
	    "netpoll #2 by findRunnable (blocking poll): epoll_pwait timeout -1 (blocks)\n",
	    "netpoll #3 by findRunnable (blocking poll): epoll_pwait timeout 5 ms\n",
	};
	TT_IN_ORDER(out, lines);
	free(out);
}

/*
 * A note longer than an event's 32 bytes comes in pieces (sub 1: more follows from the same
 * producer), which may interleave with another producer's notes: each is narrated and exported
 * whole, once, where its last piece is.
 */
Test(trace_replay, a_note_in_pieces_is_told_whole, .timeout = 30)
{
	static const char t[] =
	    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"m\":0,\"tid\":5,\"sub\":1,"
	    "\"text\":\"the stop watcher: Go's go func()\"}\n"
	    "{\"ts\":2,\"src\":\"sim\",\"ev\":\"note\",\"tid\":9,\"sub\":1,"
	    "\"text\":\"client 1 \"}\n"
	    "{\"ts\":3,\"src\":\"sim\",\"ev\":\"note\",\"m\":1,\"tid\":6,"
	    "\"text\":\"a short one\"}\n"
	    "{\"ts\":4,\"src\":\"sim\",\"ev\":\"note\",\"m\":0,\"tid\":5,\"sub\":1,"
	    "\"text\":\" { <-ctx.Done(); ln.Close() }(),\"}\n"
	    "{\"ts\":5,\"src\":\"sim\",\"ev\":\"note\",\"tid\":9,\"text\":\"connects\"}\n"
	    "{\"ts\":6,\"src\":\"sim\",\"ev\":\"note\",\"m\":0,\"tid\":5,"
	    "\"text\":\" for Ctrl-C\"}\n";
	const char *path = handmade_trace("pieces.jsonl", 2, t), *doc = tt_tmp("pieces.json");
	char *out;
	cr_assert_eq(tt_np(&out, "replay %s --no-ui --narrate --quiet", path), 0, "%s", out);
	static const char *const lines[] = {
	    "note: a short one\n",
	    "note: client 1 connects\n",
	    "note: the stop watcher: Go's go func() { <-ctx.Done(); ln.Close() }(), for Ctrl-C\n",
	};
	TT_IN_ORDER(out, lines);
	cr_assert_eq(tu_count_lines(out, "note: "), 3, "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "export %s -o %s", path, doc), 0, "%s", out);
	free(out);
	char *d = tt_slurp(doc, NULL);
	cr_assert(strstr(d, "\"name\":\"the stop watcher: Go's go func() { <-ctx.Done(); "
			    "ln.Close() }(), for Ctrl-C\""),
		  "%s", d);
	cr_assert_null(strstr(d, "\"name\":\"client 1 \""), "a piece exported alone: %s", d);
	free(d);
}

/*
 * Five producers in the middle of a note at once, more than the fold keeps apart (4): the one
 * that finds no place takes over the first one's, and A's last piece then E's: each of the two
 * is told from the piece it came back with; no note is ever told with another producer's text.
 */
Test(trace_replay, more_notes_in_pieces_at_once_than_places_mix_no_text, .timeout = 30)
{
	char t[4096];
	size_t n = 0;
	for (int p = 0; p < 5; p++) /* the first pieces: producers A..E (threads 10..14) */
		n += (size_t)snprintf(t + n, sizeof(t) - n,
				      "{\"ts\":%d,\"src\":\"sim\",\"ev\":\"note\",\"tid\":%d,"
				      "\"sub\":1,\"text\":\"%c-first \"}\n",
				      1 + p, 10 + p, 'A' + p);
	for (int p = 0; p < 5; p++) /* their last pieces */
		n += (size_t)snprintf(t + n, sizeof(t) - n,
				      "{\"ts\":%d,\"src\":\"sim\",\"ev\":\"note\",\"tid\":%d,"
				      "\"text\":\"%c-last\"}\n",
				      10 + p, 10 + p, 'A' + p);
	const char *path = handmade_trace("five.jsonl", 2, t);
	char *out;
	cr_assert_eq(tt_np(&out, "replay %s --no-ui --narrate --quiet", path), 0, "%s", out);
	static const char *const lines[] = {
	    "note: A-last\n",	      "note: B-first B-last\n", "note: C-first C-last\n",
	    "note: D-first D-last\n", "note: E-last\n",
	};
	TT_IN_ORDER(out, lines);
	cr_assert_eq(tu_count_lines(out, "note: "), 5, "%s", out);
	free(out);
}

Test(trace_replay, narrates_a_read_that_has_to_wait, .timeout = 30)
{
	char *out = narrate("legal_read_wait.jsonl");
	static const char *const story[] = {
	    "   0.000010  M0 P0 G5       fd 7   (*FD).Read                   read(fd 7, 4096) = "
	    "-EAGAIN",
	    "   0.000011  M0 P0 G5       fd 7   netpollblock                 rg pdNil → pdWait (G5 "
	    "announces it will park)",
	    "park_m                       G5 running → waiting (IO wait on fd 7 read)",
	    "   0.000013  M0 P0          fd 7   netpollblockcommit           rg pdWait → G5 (G5 "
	    "parks: IO wait)",
	    "netpoll #1 by findRunnable (blocking poll): epoll_pwait timeout -1 (blocks)",
	    "netpoll #1: fd 7 EPOLLIN → read ready",
	    "netpollready                 rg G5 → pdReady (G5 ready: I/O)",
	    "netpoll #1 returns: 1 event, 1 goroutine ready, netpollWaiters delta -1",
	    "findRunnable                 G5 waiting → runnable (runs next on this M)",
	    "netpollblock                 rg pdReady → pdNil (G5 resumes: the readiness it was "
	    "woken for)",
	    "read(fd 7, 4096) = 5",
	    "note: read 5 bytes",
	    "poll_runtime_pollUnblock     fd 7 closing: rseq and wseq bumped, any parked reader or "
	    "writer is woken",
	    "netpollclose                 epoll_ctl(DEL, fd 7) = 0",
	    "pollCache.free               pollDesc 0x7f0000001000 back on pollcache (fdseq now 2)",
	    "summary: 32 events over 0.001035 s",
	    "goroutines: 2 created, 1 live",
	    "pollDescs: 0 in use, 16 free",
	    "netpoll: 1 call (1 blocking, 0 non-blocking), 1 event handled",
	    "wake-ups: 1 I/O, 0 deadline, 0 close, 0 past SetDeadline, 1 other",
	    "lost events: 0 sim, 0 kernel",
	    "verdicts: 0 notes, 0 violations",
	};
	TT_IN_ORDER(out, story);
	cr_assert_eq(tu_count_lines(out, "netpollblockcommit"), 1,
		     "waiters events are not narrated:\n%s", out);
	free(out);
}

/* Events the runtime's rings lost are counted in the summary (issue 2 section 5), not hidden. */
Test(trace_replay, the_summary_counts_lost_events, .timeout = 30)
{
	char *out = narrate("legal_lost.jsonl"); /* its one lost event: 12 sim events */
	cr_assert(strstr(out, "\n  lost events: 12 sim, 0 kernel;"), "%s", out);
	free(out);
}

Test(trace_replay, narrates_the_races_and_their_notes, .timeout = 30)
{
	char *out = narrate("legal_races.jsonl");
	static const char *const story[] = {
	    "rg pdNil → pdReady (readiness kept for the next read)",
	    "rg pdReady → pdNil (G5 takes the readiness: no park)",
	    "            check note: ready-before-park:",
	    "rg pdWait → pdReady (readiness during the announce: the commit will fail)",
	    "            check note: ready-before-commit:",
	    "G5 waiting → runnable",
	    "            check note: commit-failed:",
	    "rg pdReady → pdNil (G5's commit failed: it takes the readiness)",
	    "read deadline at 0.001011 s, write deadline none",
	    "read deadline expired",
	    "rg G5 → pdNil (deadline: G5 woken, gets i/o timeout)",
	    "            check note: deadline-while-parked:",
	    "returns \"i/o timeout\"",
	    "for an older incarnation (tag 7): ignored",
	    "wg G6 → pdNil (close: G6 woken, gets use of closed network connection)",
	    "returns \"use of closed network connection\"",
	    "wake-ups: 1 I/O, 1 deadline, 1 close, 0 past SetDeadline, 0 other",
	    "verdicts: 6 notes (1 ready-before-park, 1 ready-before-commit, 1 commit-failed, 1 "
	    "deadline-while-parked, 1 stale-event, 1 close-while-parked), 0 violations",
	};
	TT_IN_ORDER(out, story);
	free(out);
}

/*
 * A close while the reader has announced (pdWait) but not parked: netpollunblock wakes nobody
 * (from pdWait it returns nil), and the narration must not name the closer, who ran the event,
 * as the goroutine woken.
 */
Test(trace_replay, a_close_during_the_announce_wakes_nobody, .timeout = 30)
{
	char *out = narrate("legal_announce_cut.jsonl");
	static const char *const story[] = {
	    "rg pdNil → pdWait (G5 announces it will park)",
	    "rg pdWait → pdNil (close during the announce: nobody to wake; the announcing "
	    "goroutine does not stay parked, gets use of closed network connection)",
	    "            check note: close-while-parked: fd 7 rg: close while a goroutine "
	    "announces",
	    "G5       fd 7   (*FD).Read                   returns \"use of closed network "
	    "connection\"",
	    "wake-ups: 0 I/O, 0 deadline, 0 close, 0 past SetDeadline, 0 other",
	};
	TT_IN_ORDER(out, story);
	cr_assert(!strstr(out, "G1 woken"), "the closer is not woken:\n%s", out);
	free(out);
}

/* A footer that disagrees with the events (check: footer-counts, footer-lost) is said, not hidden. */
Test(trace_replay, a_footer_that_disagrees_is_said, .timeout = 30)
{
	static const char *const files[] = {"illegal/footer_counts.jsonl",
					    "illegal/footer_lost.jsonl", "legal_lost.jsonl"};
	for (size_t i = 0; i < 3; i++) {
		char *out = narrate(files[i]);
		bool said = strstr(out, "\n  the footer disagrees with the events read in 1 count "
					"(netpollsim check names it)\n");
		cr_assert(said == (i < 2), "%s:\n%s", files[i], out);
		free(out);
	}
}

Test(trace_replay, narrates_the_kernel_side_joined_to_netpoll, .timeout = 30)
{
	char *out = narrate("legal_kernel.jsonl");
	static const char *const story[] = {
	    "tid 100        fd 7   [kernel] epoll_ctl           epoll_ctl(epfd 3, ADD, fd 7, "
	    "EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, data 0x7f00000010000001) = 0",
	    "[kernel] epoll_pwait         epoll_pwait(epfd 3, 128, -1: no timeout) returned 1 "
	    "after 999.8 us (netpoll #1 on M0)",
	    "[kernel] epoll_pwait           ready[0]: fd 7 EPOLLIN (data 0x7f00000010000001)",
	    "netpollready                 rg G5 → pdReady (G5 ready: I/O)",
	    "kernel: 1 epoll wait seen by the probes, 0 fds in the interest set",
	};
	TT_IN_ORDER(out, story);
	free(out);
	/* every wait under a millisecond in us, not "0.000 ms" nor "0.001 ms" next to "0.8 us" */
	out = narrate("legal_kernel_agree.jsonl");
	cr_assert(
	    strstr(out,
		   "epoll_pwait(epfd 3, 128, 0 ms) returned 1 after 0.8 us (netpoll #1 on M0)"),
	    "%s", out);
	free(out);
}

/*
 * Every kernel line carries [kernel] in the function column, the break pipe's read and write
 * too; a DEL shows no mask (the kernel ignores it; CPython passes an uninitialised one).
 */
Test(trace_replay, kernel_lines_are_tagged_and_del_shows_no_mask, .timeout = 30)
{
	char *out = narrate("legal_kernel_agree.jsonl");
	static const char *const agree[] = {
	    "tid 100        fd 5   [kernel] write               write(fd 5, 1) = 1 by netpollBreak",
	    "tid 101        fd 4   [kernel] read                read(fd 4, 16) = 1 by netpoll",
	    "tid 100               [kernel] lost                LOST 1 kernel event",
	    "tid 100        fd 7   [kernel] epoll_ctl           epoll_ctl(epfd 3, DEL, fd 7) = 0\n",
	};
	TT_IN_ORDER(out, agree);
	free(out);
	out = narrate("legal_kernel_reuse.jsonl");
	cr_assert(strstr(out, "[kernel] epoll_ctl           epoll_ctl(epfd 3, DEL, fd 4) = 0\n"),
		  "%s", out);
	cr_assert(!strstr(out, "0x5800"), "%s", out);
	free(out);
	/* netpollinit's epoll_create1 as the kernel saw it, its flag by name (the fd it got
	 * depends on the recording's machine: scripts/record_samples.sh) */
	cr_assert_eq(tt_np(&out, "replay traces/samples/echo-kernel.jsonl --no-ui -n -q"), 0);
	const char *c = strstr(out, "[kernel] epoll_create1       epoll_create1(EPOLL_CLOEXEC) = ");
	cr_assert(c && c[60] >= '1' && c[60] <= '9', "%s", out);
	free(out);
}

/* A legal `trace --pid` recording (no runtime) made of events and footer: its path. */
static const char *kernel_trace(const char *name, const char *events_and_footer)
{
	static const char hdr[] =
	    "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"trace\",\"gomaxprocs\":"
	    "1,"
	    "\"go\":\"none\",\"kernel_view\":true,\"mono_origin_ns\":\"1\"}\n";
	const char *path = trace_file(name, "%s%s", hdr, events_and_footer);

	tt_assert_legal(path);
	return path;
}

/*
 * An epoll_ctl op the kernel refused (a program may pass any number) is recorded as that number
 * by `trace --record`: check, replay and export read it back (they refused the line).
 */
Test(trace_replay, an_op_without_a_name_is_read_back_as_its_number, .timeout = 30)
{
	static const char t[] =
	    "{\"ts\":1000,\"src\":\"kernel\",\"ev\":\"epoll_ctl\",\"tid\":200,\"fd\":4,\"op\":77,"
	    "\"epfd\":3,\"events\":1,\"data\":\"0x4\",\"ret\":-22}\n"
	    /* the kernel's op is an int: a negative one is a number too */
	    "{\"ts\":2000,\"src\":\"kernel\",\"ev\":\"epoll_ctl\",\"tid\":200,\"fd\":4,\"op\":-1,"
	    "\"epfd\":3,\"events\":1,\"data\":\"0x4\",\"ret\":-22}\n"
	    "{\"footer\":true,\"events\":2,\"counts\":{\"epoll_ctl\":2},\"lost\":{\"sim\":0,"
	    "\"kernel\":0}}\n";
	const char *path = kernel_trace("op77.jsonl", t);
	char *out;
	cr_assert_eq(tt_np(&out, "replay %s --no-ui -n -q", path), 0, "%s", out);
	cr_assert(strstr(out, "epoll_ctl(epfd 3, op 77, fd 4, EPOLLIN, data 0x4) = -EINVAL\n"),
		  "%s", out);
	cr_assert(strstr(out, "epoll_ctl(epfd 3, op -1, fd 4, EPOLLIN, data 0x4) = -EINVAL\n"),
		  "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "export %s --format jsonl", path), 0, "%s", out);
	cr_assert(strstr(out, "\"op\":77,"), "%s", out);
	cr_assert(strstr(out, "\"op\":-1,"), "%s", out);
	free(out);
}

/*
 * A Go process traced from outside has no netpollopen line: the narration decodes Go's
 * registrations (its mask) to the pollDesc and fdseq in their data, as trace's own output does;
 * another program's data is left alone, and a run's (whose netpollopen says it) too.
 */
#define KADD(ts, fd, events, data)                                                                 \
	"{\"ts\":" #ts ",\"src\":\"kernel\",\"ev\":\"epoll_ctl\",\"tid\":200,\"fd\":" #fd          \
	",\"op\":\"ADD\",\"epfd\":3,\"events\":" #events ",\"data\":\"" data "\",\"ret\":0}\n"
#define KCTL_FOOTER(n)                                                                             \
	"{\"footer\":true,\"events\":" #n ",\"counts\":{\"epoll_ctl\":" #n                         \
	"},\"lost\":{\"sim\":0,"                                                                   \
	"\"kernel\":0}}\n"
Test(trace_replay, a_go_registration_seen_from_outside_names_its_pd, .timeout = 30)
{
	static const char t[] =
	    KADD(1000, 7, 2147491845, "0x7f8a24843cc80003") KADD(2000, 8, 1, "0x7f8a24843cc80003")
	    /* Go's mask, another program's data: an fd (epoll_echo), a pointer (nginx) */
	    KADD(3000, 9, 2147491845, "0x9") KADD(4000, 10, 2147491845, "0x55d0c0a01238")
		KCTL_FOOTER(4);
	const char *path = kernel_trace("go_outside.jsonl", t);
	char *out;
	cr_assert_eq(tt_np(&out, "replay %s --no-ui -n -q", path), 0, "%s", out);
	cr_assert(strstr(out, "EPOLLET, data 0x7f8a24843cc80003) = 0 (Go: pd 0x7f8a24843cc8 "
			      "fdseq 3)\n"),
		  "%s", out);
	cr_assert(strstr(out, "EPOLLIN, data 0x7f8a24843cc80003) = 0\n"), "%s", out);
	cr_assert(strstr(out, "EPOLLET, data 0x9) = 0\n"), "%s", out);
	cr_assert(strstr(out, "EPOLLET, data 0x55d0c0a01238) = 0\n"), "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "replay traces/samples/echo-kernel.jsonl --no-ui -n -q"), 0);
	cr_assert(strstr(out, "EPOLLET, data 0x"), "%s", out);
	cr_assert(!strstr(out, "(Go: pd"), "%s", out);
	free(out);
}

/* A wait's blocked time: us under a millisecond, ms from one on, never "1000.0 us". */
Test(trace_replay, blocked_times_have_one_unit_each_side_of_a_millisecond, .timeout = 30)
{
	static const struct {
		uint64_t ns;
		const char *said;
	} c[] = {
	    {0, "(blocked time unknown)"}, {800, "after 0.8 us"},      {999800, "after 999.8 us"},
	    {999949, "after 999.9 us"},	   {999950, "after 1.000 ms"}, {1000000, "after 1.000 ms"},
	    {82605123, "after 82.605 ms"},
	};
	char buf[64];
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		cr_assert_str_eq(narrate_dur(c[i].ns, buf, sizeof(buf)), c[i].said, "%llu ns",
				 (unsigned long long)c[i].ns);
}

/*
 * A trace of a quiet process: its events stop long before the recording does. Its replay said
 * "summary: 2 events over 0.000001 s" of a 10 s trace; it says how long the recording lasted
 * (the footer's end_ns less the header's start_ns) when that is well past the events' span, and
 * nothing more when it is not.
 */
static const char *quiet_trace(const char *name, const char *end_ns)
{
	const char *path = trace_file(
	    name,
	    "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"trace\","
	    "\"gomaxprocs\":1,\"go\":\"none\",\"kernel_view\":true,\"mono_origin_ns\":\"1\","
	    "\"start_ns\":\"1000000000000\"}\n" KADD(1000, 7, 1, "0x7")
		KADD(2000, 8, 1, "0x8") "{\"footer\":true,\"events\":2,\"counts\":{\"epoll_ctl\":2}"
					",\"lost\":{\"sim\":0,"
					"\"kernel\":0},\"end_ns\":\"%s\"}\n",
	    end_ns);

	tt_assert_legal(path);
	return path;
}

Test(trace_replay, the_summary_says_the_recordings_span_when_events_stop_early, .timeout = 30)
{
	char *out;
	const char *path = quiet_trace("quiet10.jsonl", "1010000000000");
	cr_assert_eq(tt_np(&out, "replay %s --no-ui", path), 0, "%s", out);
	cr_assert(strstr(out, "\nsummary: 2 events over 0.000001 s, in a recording of 10.000 s\n"),
		  "%s", out);
	free(out);
	/* 5 ms past the last event: the span said is the events' own */
	path = quiet_trace("quiet5ms.jsonl", "1000005000000");
	cr_assert_eq(tt_np(&out, "replay %s --no-ui", path), 0, "%s", out);
	cr_assert(strstr(out, "\nsummary: 2 events over 0.000001 s\n"), "%s", out);
	free(out);
}

/*
 * A new epoll instance given an old one's number starts with an empty interest set: every fd
 * the old one held goes (two here), another instance's stay (epfd 5's fd 4).
 */
#define EPFD_ADD(ts, epfd, fd)                                                                     \
	"{\"ts\":" #ts ",\"src\":\"kernel\",\"ev\":\"epoll_ctl\",\"tid\":200,\"fd\":" #fd          \
	",\"op\":\"ADD\",\"epfd\":" #epfd ",\"events\":1,\"data\":\"0xa\",\"ret\":0}\n"
Test(trace_replay, an_epoll_fd_number_reused_starts_empty, .timeout = 30)
{
	static const char t[] = EPFD_ADD(1000, 12, 3) EPFD_ADD(1100, 5, 4) EPFD_ADD(
	    1200, 12,
	    6) "{\"ts\":2000,\"src\":\"kernel\",\"ev\":\"epoll_create\",\"tid\":200,\"flags\":0,"
	       "\"ret\":12}\n"
	       "{\"footer\":true,\"events\":4,\"counts\":{\"epoll_ctl\":3,\"epoll_create\":1},"
	       "\"lost\":{\"sim\":0,\"kernel\":0}}\n";
	const char *path = kernel_trace("epfd_reused.jsonl", t);
	char *out;
	cr_assert_eq(tt_np(&out, "replay %s --no-ui", path), 0, "%s", out);
	cr_assert(strstr(out, ", 1 fd in the interest set\n"), "%s", out);
	free(out);
}

/*
 * What `trace --pid --record` writes besides the calls: the interest set read from /proc at
 * attach (made by no thread: "/proc", not "tid 0") and an epoll_pwait2 timespec the kernel
 * refused (not "-2147483648 ms"); a run without probes says so instead of counting 0 waits.
 */
Test(trace_replay, seeded_registrations_and_invalid_timeouts_read_plainly, .timeout = 30)
{
	char *out = narrate("legal_kernel_seeded.jsonl");
	static const char *const want[] = {
	    "/proc          fd 3   [kernel] epoll_ctl           registered before tracing began "
	    "(read from /proc): epoll_ctl(epfd 5, ADD, fd 3, EPOLLIN, data 0x3) = 0",
	    "epoll_pwait2(epfd 5, 8, invalid timespec) returned -EINVAL",
	    "kernel: 2 epoll waits seen by the probes, 1 fd in the interest set",
	};
	TT_IN_ORDER(out, want);
	cr_expect(!strstr(out, "-2147483648"), "%s", out);
	free(out);
	out = narrate("legal_read_wait.jsonl");
	cr_expect(strstr(out, "kernel: no kernel events (the probes were off)"), "%s", out);
	free(out);
}

/* A system call's error reads as Go prints it (syscall.Errno's text), not "errno". */
Test(trace_replay, an_errno_reads_as_go_prints_it, .timeout = 30)
{
	char *out = narrate("legal_fd_errno.jsonl");
	cr_expect(strstr(out, "(*FD).Write                  returns \"broken pipe\" (EPIPE)"), "%s",
		  out);
	free(out);
}

/*
 * Timer lines, as Go's time.go has them: the function column names the timer function that
 * made the change (doaddtimer, modtimer, deltimer, runOneTimer), not the callback; the text
 * names the callback, the timer's time as the time column shows it, and how far that is from
 * the event, in milliseconds (a time since the origin read as "+0.101437s" read as a delay).
 */
static const char *timer_trace(void)
{
	static const char t[] =
	    "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"t\",\"gomaxprocs\":2,"
	    "\"go\":\"go1.22\",\"mono_origin_ns\":\"1000000000\"}\n"
	    "{\"ts\":1000,\"src\":\"sim\",\"ev\":\"sched\",\"m\":0,\"p\":0,\"op\":\"acquirep\","
	    "\"p2\":0}\n"
	    "{\"ts\":2000,\"src\":\"sim\",\"ev\":\"timer\",\"m\":0,\"p\":0,\"g\":5,\"fd\":7,"
	    "\"op\":\"add\",\"when\":1002000,\"arg\":\"0x7f0000001000\",\"seq\":1,"
	    "\"fn\":\"netpollReadDeadline\",\"tp\":0}\n"
	    "{\"ts\":3000,\"src\":\"sim\",\"ev\":\"timer\",\"m\":0,\"p\":0,\"g\":5,\"fd\":7,"
	    "\"op\":\"mod\",\"when\":503000,\"arg\":\"0x7f0000001000\",\"seq\":2,"
	    "\"fn\":\"netpollReadDeadline\",\"tp\":0}\n"
	    "{\"ts\":4000,\"src\":\"sim\",\"ev\":\"timer\",\"m\":0,\"p\":0,\"g\":5,\"fd\":7,"
	    "\"op\":\"del\",\"when\":503000,\"arg\":\"0x7f0000001000\",\"seq\":2,"
	    "\"fn\":\"netpollReadDeadline\",\"tp\":0}\n"
	    "{\"ts\":5000,\"src\":\"sim\",\"ev\":\"timer\",\"m\":0,\"p\":0,\"op\":\"add\","
	    "\"when\":2005000,\"arg\":\"0x5\",\"fn\":\"goroutineReady\",\"tp\":0}\n"
	    "{\"ts\":2255000,\"src\":\"sim\",\"ev\":\"timer\",\"m\":0,\"p\":0,\"op\":\"run\","
	    "\"when\":2005000,\"arg\":\"0x5\",\"fn\":\"goroutineReady\",\"tp\":0}\n"
	    "{\"ts\":2505000,\"src\":\"sim\",\"ev\":\"timer\",\"m\":0,\"p\":0,\"op\":\"add\","
	    "\"when\":2505000,\"arg\":\"0x5\",\"fn\":\"goroutineReady\",\"tp\":0}\n"
	    "{\"footer\":true,\"events\":7,\"counts\":{\"sched\":1,\"timer\":6},\"lost\":{}}\n";
	const char *path = tt_tmp("timers.jsonl");
	tt_spit(path, t, strlen(t));
	return path;
}

Test(trace_replay, timer_lines_name_the_timer_function_and_say_when, .timeout = 30)
{
	const char *path = timer_trace();
	char *out;
	int rc = tt_np(&out, "replay %s --no-ui --narrate", path);
	cr_assert_eq(rc, 0, "%s", out);
	static const char *const full[] = {
	    "   0.000002  M0 P0 G5       fd 7   doaddtimer                   timer "
	    "netpollReadDeadline at 0.001002 (in 1.000 ms) on P0\n",
	    "   0.000003  M0 P0 G5       fd 7   modtimer                     timer "
	    "netpollReadDeadline at 0.000503 (in 0.500 ms) on P0\n",
	    "   0.000004  M0 P0 G5       fd 7   deltimer                     timer "
	    "netpollReadDeadline at 0.000503 (in 0.499 ms) on P0\n",
	    "   0.000005  M0 P0                 doaddtimer                   timer goroutineReady "
	    "at 0.002005 (in 2.000 ms) on P0\n",
	    "   0.002255  M0 P0                 runOneTimer                  timer goroutineReady "
	    "at 0.002005 (0.250 ms ago) on P0\n",
	    "   0.002505  M0 P0                 doaddtimer                   timer goroutineReady "
	    "at 0.002505 (now) on P0\n",
	};
	TT_IN_ORDER(out, full);
	free(out);
	/* on a terminal (a pty 200 columns wide): the same in milliseconds, as the time column */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "script -qec 'stty cols 200 && exec %s replay %s --no-ui --narrate' /dev/null",
		 tu_netpollsim(), path);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	static const char *const term[] = {
	    "  0.002 M0 P0 G5  fd 7  doaddtimer           timer netpollReadDeadline at 1.002 (in "
	    "1.000 ms) on P0\r\n",
	    "  0.003 M0 P0 G5  fd 7  modtimer             timer netpollReadDeadline at 0.503 (in "
	    "0.500 ms) on P0\r\n",
	    "  0.004 M0 P0 G5  fd 7  deltimer             timer netpollReadDeadline at 0.503 (in "
	    "0.499 ms) on P0\r\n",
	    "  0.005 M0 P0           doaddtimer           timer goroutineReady at 2.005 (in 2.000 "
	    "ms) on P0\r\n",
	    "  2.255 M0 P0           runOneTimer          timer goroutineReady at 2.005 (0.250 ms "
	    "ago) on P0\r\n",
	    "  2.505 M0 P0           doaddtimer           timer goroutineReady at 2.505 (now) on "
	    "P0\r\n",
	};
	TT_IN_ORDER(out, term);
	free(out);
}

Test(trace_replay, without_narrate_prints_the_summary_only, .timeout = 30)
{
	char *out;
	int rc = tt_np(&out, "replay " TRACES "/legal_read_wait.jsonl --no-ui");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(!strstr(out, "netpollblockcommit"), "%s", out);
	cr_assert(strstr(out, "summary: 32 events"), "%s", out);
	free(out);
	rc = tt_np(&out, "replay " TRACES "/truncated_no_footer.jsonl --no-ui");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "the trace has no footer: it was cut short"), "%s", out);
	free(out);
	/* a run a signal ended is said to be so in the heading, as the live run said it */
	const char *intr = tt_tmp("interrupted.jsonl");
	char cmd[1200];
	snprintf(cmd, sizeof(cmd),
		 "sed 's/\"interrupted\":0/\"interrupted\":2,\"signal\":\"SIGINT\"/' "
		 "%s/legal_read_wait.jsonl >%s",
		 TRACES, intr);
	cr_assert_eq(tu_run(cmd, 1, NULL), 0);
	rc = tt_np(&out, "replay %s --no-ui", intr);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "== handmade (GOMAXPROCS 2) -- interrupted\n"), "%s", out);
	free(out);
}

/*
 * Every kernel call still owed at the end is narrated and counted, as check reports them all:
 * the end's verdicts come 8 at a time, and a replay that asked once showed 8 of 12. Replay
 * narrates; judging is check's, so the replay itself succeeds.
 */
Test(trace_replay, every_call_owed_at_the_end_is_shown, .timeout = 30)
{
	enum {
		N = 12
	};
	const char *path = tt_owed_trace("owed.jsonl", N);
	char *out;
	int rc = tt_np(&out, "replay %s --no-ui --narrate", path);
	cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
	for (int i = 0; i < N; i++) {
		char want[200];
		snprintf(
		    want, sizeof(want),
		    "\n            check VIOLATION: kernel-add-missing: netpollopen of fd %d: the "
		    "kernel shows no epoll_ctl ADD from thread 100 (the trace ends without it)\n",
		    10 + i);
		cr_assert(strstr(out, want), "no '%s' in\n%s", want + 1, out);
	}
	cr_assert_eq(tu_count_lines(out, "VIOLATION"), N, "%s", out);
	cr_assert(strstr(out, "\n  verdicts: 0 notes, 12 violations (12 kernel-add-missing)\n"),
		  "%s", out);
	free(out);
	/* the summary alone counts them all too */
	rc = tt_np(&out, "replay %s --no-ui", path);
	cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
	cr_assert(strstr(out, "\n  verdicts: 0 notes, 12 violations (12 kernel-add-missing)\n"),
		  "%s", out);
	free(out);
}

/* -q keeps the narration and drops the heading and the summary, as run's -q; -n is --narrate */
Test(trace_replay, quiet_prints_the_narration_alone, .timeout = 30)
{
	char *out, *full = narrate("legal_read_wait.jsonl");
	int rc = tt_np(&out, "replay " TRACES "/legal_read_wait.jsonl --no-ui -n -q");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "netpollblockcommit           rg pdWait → G5"), "%s", out);
	cr_assert(!strstr(out, "replay of"), "%s", out);
	cr_assert(!strstr(out, "summary:"), "%s", out);
	cr_assert(!strstr(out, "== handmade"), "%s", out);
	/* the same event lines as without -q: every line of it is in the full replay, in order */
	char *at = full;
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
		char *hit = strstr(at, l);
		cr_assert(hit, "'%s' is not in the full narration after its predecessor", l);
		at = hit + strlen(l);
	}
	free(out);
	free(full);
	/* what is wrong with the file is still said: a trace cut short */
	rc = tt_np(&out, "replay " TRACES "/truncated_no_footer.jsonl --no-ui --quiet");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_str_eq(out, "  the trace has no footer: it was cut short after line 13 (the "
			      "recording was killed, or its disk filled?)\n");
	free(out);
	/* and where: in the middle of a line, when it was (the incomplete line is left out) */
	const char *mid = tt_tmp("midline.jsonl");
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "head -c -20 " TRACES "/truncated_no_footer.jsonl > %s", mid);
	cr_assert_eq(tu_run(cmd, 0, NULL), 0);
	rc = tt_np(&out, "replay %s --no-ui --quiet", mid);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_str_eq(out, "  the trace has no footer: it was cut short after line 12, in the "
			      "middle of the next one (the recording was killed, or its disk "
			      "filled?)\n");
	free(out);
}

/* A legal trace whose two notes are span_ns apart. */
static const char *paced_trace(const char *name, unsigned long long span_ns)
{
	char t[1024];
	snprintf(
	    t, sizeof(t),
	    "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"p\",\"gomaxprocs\":1,"
	    "\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\"}\n"
	    "{\"ts\":0,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"first\"}\n"
	    "{\"ts\":%llu,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"second\"}\n"
	    "{\"footer\":true,\"events\":2,\"counts\":{\"note\":2},\"lost\":{}}\n",
	    span_ns);
	const char *path = tt_tmp(name);
	tt_spit(path, t, strlen(t));
	return path;
}

/* Replay path narrated at --speed speed: the seconds it took; its output must say "second". */
static double replay_seconds(const char *path, const char *speed)
{
	char *out;
	double t0 = now();
	int rc = tt_np(&out, "replay %s --no-ui --narrate --speed %s", path, speed);
	double real = now() - t0;
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "note: second"), "%s", out);
	free(out);
	return real;
}

Test(trace_replay, speed_paces_events_in_real_time, .timeout = 60)
{
	const char *path = paced_trace("paced.jsonl", 400000000ULL);
	char *out;
	double real = replay_seconds(path, "1");
	cr_assert_geq(real, 0.38, "--speed 1 replayed 0.4 s of trace in %.3f s", real);
	real = replay_seconds(path, "4");
	cr_assert_geq(real, 0.095, "--speed 4 replayed 0.4 s of trace in %.3f s", real);
	/* X below 1 is slower than real time: 0.4 s of trace at half speed takes 0.8 s */
	real = replay_seconds(path, "0.5");
	cr_assert_geq(real, 0.78, "--speed 0.5 replayed 0.4 s of trace in %.3f s", real);
	cr_assert_eq(tt_np(&out, "replay %s --no-ui --speed 0", path), 2);
	cr_assert(strstr(out, "--speed wants a number from 1e-6 (one microsecond of the trace a "
			      "second) up to 1e9 (1 = real time, 0.001 = one ms of the trace a "
			      "second, as a class watches it), not '0'"),
		  "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "replay %s --no-ui --narrate --speed 1e308", path), 2);
	cr_assert(strstr(out, "--speed wants a number from 1e-6 (one microsecond of the trace a "
			      "second) up to 1e9"),
		  "%s", out);
	free(out);
	/* without --narrate there is nothing to pace: it would sit silent, then summarise */
	cr_assert_eq(tt_np(&out, "replay %s --no-ui --speed 1", path), 2);
	cr_assert(strstr(out, "--speed paces the narration: add --narrate"), "%s", out);
	free(out);
}

/*
 * A paced replay that meets a pause longer than 10 s (here 1,000 s at --speed 1) says how long
 * and how to shorten it, instead of waiting in silence; Ctrl-C ends it as always.
 */
Test(trace_replay, a_long_pause_is_said_before_it_is_waited, .timeout = 30)
{
	static const char t[] =
	    "{\"ts\":1000,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"before\"}\n"
	    "{\"ts\":1000001000,\"src\":\"sim\",\"ev\":\"note\",\"text\":"
	    "\"after\"}\n";
	const char *path = handmade_trace("pause.jsonl", 1, t);
	char cmd[1200], *out;
	snprintf(cmd, sizeof(cmd),
		 "timeout --preserve-status -s INT 1 %s replay %s --no-ui -n -q --speed 0.001",
		 tu_netpollsim(), path);
	cr_assert_eq(tu_run(cmd, 1, &out), 130, "%s", out);
	static const char *const lines[] = {
	    "note: before\n",
	    "            ... 1000.000 ms without events: the next one in 17 min at --speed 0.001 "
	    "(--max-gap S shows such a pause in S seconds)\n",
	    "replay interrupted by SIGINT",
	};
	TT_IN_ORDER(out, lines);
	cr_assert_null(strstr(out, "note: after"), "%s", out);
	free(out);
}

/*
 * --max-gap: a paced replay of the deadline lesson, whose 100 ms deadline is 100 s of silence at
 * --speed 0.001, shows each long stretch without events in the time given and says so (without
 * it this test would run into its timeout).
 */
Test(trace_replay, max_gap_shortens_and_says_a_long_pause, .timeout = 60)
{
	char *out;
	int rc = tt_np(&out, "replay traces/samples/deadline.jsonl --no-ui --narrate --quiet "
			     "--speed 0.001 --max-gap 0.2");
	cr_assert_eq(rc, 0, "%s", out);
	static const char *const lines[] = {
	    "note: client 1 connects, idle\n",
	    " ms without events, shown in 0.2 s (--max-gap)\n",
	    "read deadline expired",
	};
	TT_IN_ORDER(out, lines);
	free(out);
	cr_assert_eq(tt_np(&out, "replay traces/samples/deadline.jsonl --no-ui --narrate "
				 "--max-gap 1"),
		     2);
	cr_assert_str_eq(out, "netpollsim replay: --max-gap shortens the pauses of --speed: add "
			      "--speed X\n");
	free(out);
	cr_assert_eq(tt_np(&out, "replay traces/samples/deadline.jsonl --no-ui --narrate "
				 "--speed 1 --max-gap 0"),
		     2);
	cr_assert(
	    strstr(out, "--max-gap wants a number of seconds from 0.001 up to 86400, not '0'"),
	    "%s", out);
	free(out);
}

/* How a process ended, narrated: a signal with no name is given by its number, not "?". */
Test(trace_replay, an_exit_is_narrated_with_its_status, .timeout = 30)
{
	static const char t[] =
	    "{\"ts\":1000,\"src\":\"kernel\",\"ev\":\"exit\",\"tid\":7,\"code\":3}\n"
	    "{\"ts\":2000,\"src\":\"kernel\",\"ev\":\"exit\",\"tid\":8,\"signal\":11,\"core\":1}\n"
	    "{\"ts\":3000,\"src\":\"kernel\",\"ev\":\"exit\",\"tid\":9,\"signal\":65}\n";
	const char *path = handmade_trace("exits.jsonl", 1, t);
	char *out;
	cr_assert_eq(tt_np(&out, "replay %s --no-ui -n -q", path), 0, "%s", out);
	static const char *const lines[] = {
	    "[kernel]                     the process exited with code 3\n",
	    "[kernel]                     the process was killed by SIGSEGV (core dumped)\n",
	    "[kernel]                     the process was killed by signal 65\n",
	};
	TT_IN_ORDER(out, lines);
	free(out);
}

/*
 * The slowest pace: a microsecond of the trace a second, gaps said in microseconds (they read
 * "0.005 ms"); slower is refused (1e-8 was taken, and its pauses, kept in whole nanoseconds of
 * the trace, came out as none at all).
 */
Test(trace_replay, the_slowest_speed_shows_microseconds, .timeout = 30)
{
	static const char t[] =
	    "{\"ts\":1000,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"before\"}\n"
	    "{\"ts\":6000,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"after\"}\n";
	const char *path = handmade_trace("micro.jsonl", 1, t);
	char *out;
	cr_assert_eq(tt_np(&out, "replay %s --no-ui -n -q --speed 1e-6 --max-gap 0.001", path), 0,
		     "%s", out);
	static const char *const lines[] = {
	    "note: before\n",
	    "            ... 5.0 us without events, shown in 0.001 s (--max-gap)\n",
	    "note: after\n",
	};
	TT_IN_ORDER(out, lines);
	free(out);
	cr_assert_eq(tt_np(&out, "replay %s --no-ui -n --speed 9e-7", path), 2, "%s", out);
	cr_assert(strstr(out, "--speed wants a number from 1e-6 (one microsecond of the trace a "
			      "second) up to 1e9"),
		  "%s", out);
	free(out);
}

Test(trace_replay, sigint_stops_the_replay_with_its_summary, .timeout = 60)
{
	const char *path = paced_trace("slow.jsonl", 600000000000ULL); /* ten minutes */
	char cmd[1200], *out;
	snprintf(cmd, sizeof(cmd),
		 "timeout --preserve-status -s INT 0.5 %s replay %s --no-ui --narrate --speed 1",
		 tu_netpollsim(), path);
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 130, "exit %d\n%s", rc, out);
	cr_assert(strstr(out, "note: first"), "%s", out);
	cr_assert(!strstr(out, "note: second"), "%s", out);
	cr_assert(strstr(out, "summary: 1 event over"), "%s", out);
	cr_assert(strstr(out, "replay interrupted by SIGINT (signal 2)"), "%s", out);
	free(out);
}

Test(trace_replay, usage_errors, .timeout = 30)
{
	char *out;
	/* as run: no dashboard in this build, so it says so and narrates */
	cr_assert_eq(tt_np(&out, "replay " TRACES "/legal_read_wait.jsonl"), 0, "%s", out);
	cr_assert(strstr(out, "no dashboard in this build yet; narrating instead"), "%s", out);
	cr_assert(strstr(out, "netpollblockcommit"), "the narration: %s", out);
	free(out);
	/* one line, not the whole help */
	cr_assert_eq(tt_np(&out, "replay --no-ui"), 2);
	cr_assert_str_eq(out, "netpollsim replay: give exactly one trace file (see --help)\n");
	free(out);
	cr_assert_eq(tt_np(&out, "replay --no-ui a.jsonl b.jsonl"), 2);
	cr_assert_str_eq(out, "netpollsim replay: give exactly one trace file (see --help)\n");
	free(out);
	cr_assert_eq(tt_np(&out, "replay --help"), 0);
	cr_assert(strstr(out, "usage: netpollsim replay FILE [--no-ui]"), "%s", out);
	free(out);
	/* a sample's name typed wrong: where the samples are */
	cr_assert_eq(tt_np(&out, "replay traces/samples/dedline.jsonl --no-ui"), 1);
	cr_assert(strstr(out,
			 "netpollsim replay: traces/samples/dedline.jsonl: cannot open: No such "
			 "file or directory\nnetpollsim replay: the sample traces are in "),
		  "%s", out);
	cr_assert(strstr(out, "/traces/samples (e.g. "), "%s", out);
	free(out);
}

/* A narration that cannot be written (a full device) is an error that says why, not exit 0. */
Test(trace_replay, a_failed_write_is_said_and_fails, .timeout = 30)
{
	char cmd[700], *out;
	snprintf(cmd, sizeof(cmd),
		 "{ %s replay traces/samples/echo.jsonl --no-ui --narrate >/dev/full; }",
		 tu_netpollsim());
	int rc = tu_run(cmd, 1, &out); /* stderr to the pipe, stdout to /dev/full */
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "netpollsim replay: writing to stdout: No space left on device"),
		  "%s", out);
	free(out);
}

/*
 * legal_read_wait.jsonl with three event lines spoiled: line 11 over 1 MiB, line 16 of an
 * unknown kind, line 26 with a string for an integer ("g":"5"); or, with drop, without them.
 */
static const char *spoiled(const char *name, bool drop)
{
	const char *path = tt_tmp(name);
	char cmd[1600], *out;
	snprintf(cmd, sizeof(cmd), "awk '%s' " TRACES "/legal_read_wait.jsonl > %s",
		 drop ? "NR != 11 && NR != 16 && NR != 26"
		      : "NR == 11 { printf \"{\\\"ts\\\":10000,\\\"src\\\":\\\"sim\\\",\\\"ev\\\":"
			"\\\"note\\\",\\\"text\\\":\\\"%1048576s\\\"}\\n\", \"\"; next }\n"
			"NR == 16 { print \"{\\\"ts\\\":15000,\\\"src\\\":\\\"sim\\\",\\\"ev\\\":"
			"\\\"bogus\\\"}\"; next }\n"
			"NR == 26 { sub(/\"g\":5/, \"\\\"g\\\":\\\"5\\\"\") }\n"
			"{ print }",
		 path);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s\n%s", cmd, out);
	free(out);
	return path;
}

/* The output without its first line (it names the file). */
static const char *after_first_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	return nl ? nl + 1 : s;
}

/* docs/trace-format.md: a bad line is reported and skipped, the replay goes on with the next. */
Test(trace_replay, a_bad_line_is_reported_and_the_replay_goes_on, .timeout = 60)
{
	const char *bad = spoiled("spoiled.jsonl", false), *good = spoiled("dropped.jsonl", true);
	char *out, *want;
	int rc = tt_np(&out, "replay %s --no-ui --narrate", bad);
	cr_assert_eq(rc, 1, "exit %d\n%s", rc, out);
	static const char *const errors[] = {
	    "spoiled.jsonl:11: line longer than 1048576 bytes: skipped",
	    "spoiled.jsonl:16: field \"ev\": unknown event kind bogus",
	    "spoiled.jsonl:26: field \"g\": expected an integer, got a string",
	    "summary: 29 events",
	    "  3 lines skipped: unreadable (the errors above name them)",
	};
	TT_IN_ORDER(out, errors);
	cr_assert(tt_terminal_safe(out, strlen(out)));
	free(out);
	/* every other event narrated as if the bad lines were not there, then the count */
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "%s replay %s --no-ui --narrate 2>/dev/null", tu_netpollsim(),
		 bad);
	cr_assert_eq(tu_run(cmd, 0, &out), 1, "%s", out);
	cr_assert_eq(tt_np(&want, "replay %s --no-ui --narrate", good), 0, "%s", want);
	cr_assert(strstr(want, "pollCache.free"), "%s", want);
	size_t n = strlen(after_first_line(want));
	cr_assert_eq(strncmp(after_first_line(out), after_first_line(want), n), 0,
		     "narration differs from the trace without the bad lines:\n%s\n---\n%s", out,
		     want);
	cr_assert_str_eq(after_first_line(out) + n,
			 "  3 lines skipped: unreadable (the errors above name them)\n");
	free(out);
	free(want);
}

/* A file of garbage does not flood the terminal: 50 bad lines shown, all of them counted. */
Test(trace_replay, many_bad_lines_are_counted_not_all_shown, .timeout = 30)
{
	const char *path = tt_tmp("garbage.jsonl");
	char cmd[1200], *out;
	snprintf(cmd, sizeof(cmd),
		 "{ head -1 " TRACES "/legal_read_wait.jsonl; seq 60 | sed 's/.*/{\"ev\":&}/'; } "
		 "> %s",
		 path);
	cr_assert_eq(tu_run(cmd, 1, NULL), 0);
	int rc = tt_np(&out, "replay %s --no-ui", path);
	cr_assert_eq(rc, 1, "exit %d\n%s", rc, out);
	cr_assert_eq(tu_count_lines(out, "field \"ev\": expected a kind name"), 50, "%s", out);
	static const char *const tail[] = {
	    "garbage.jsonl:51: field \"ev\"",
	    "garbage.jsonl: more unreadable lines follow, not shown (the count comes at the end)",
	    "summary: 0 events",
	    "  60 lines skipped: unreadable (the errors above name them)",
	};
	TT_IN_ORDER(out, tail);
	free(out);
}

/*
 * Stopped while it waits to open a FIFO nobody writes yet: it ends as the signal says (143), with
 * no "cannot open: Interrupted system call", as check and export do.
 */
Test(trace_replay, a_signal_during_the_open_ends_it_quietly, .timeout = 30)
{
	const char *fifo = tt_tmp("nobody-writes");
	char out_path[600];
	unlink(fifo);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	snprintf(out_path, sizeof(out_path), "%s.out", fifo);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(tu_netpollsim(), "netpollsim", "replay", fifo, "--no-ui", (char *)NULL);
		_exit(127);
	}
	while (!tu_in_syscall(pid, SYS_openat)) /* the test's timeout bounds this */
		usleep(10000);
	int status;
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	char *out = tt_slurp(out_path, NULL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 143, "status 0x%x: %s", status, out);
	cr_assert_str_eq(out, "");
	free(out);
}
