// SPDX-License-Identifier: MIT
/*
 * `netpollsim check` as a user runs it: hand-made legal traces pass with the notes they should
 * raise, each hand-made illegal trace (tests/data/traces/illegal, one rule broken once) fails
 * with that rule at that line, kernel and runtime are checked against each other only when the
 * trace holds the kernel's view, and malformed files of every sort fail with file:line and the
 * field, without crashing and without printing anything a terminal would act on.
 */
#include "tests/test_trace_util.h"
#include "traces/json.h"

#include <errno.h>
#include <unistd.h>

/* pieces of hand-made malformed files */
#define HDR                                                                                        \
	"{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"m\",\"gomaxprocs\":1,"      \
	"\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\"}\n"
#define NOTE "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"ok\"}\n"
#define PD_STATE(from, mode)                                                                       \
	"{\"ts\":2,\"src\":\"sim\",\"ev\":\"pd_state\",\"fd\":7,\"pd\":\"0x7f0000001000\","        \
	"\"seq\":1," mode "," from ",\"to\":\"ready\",\"fn\":\"netpollready\"}\n"
#define FOOTER_REST "\"events\":1,\"counts\":{\"note\":1},\"lost\":{}}\n"

Test(trace_check, legal_traces_pass, .timeout = 60)
{
	static const char *const legal[] = {
	    "legal_read_wait",	  "legal_races",	   "legal_kernel",
	    "legal_lost",	  "legal_kernel_agree",	   "legal_kernel_off",
	    "legal_waiters_wrap", "legal_lost_moved",	   "legal_late_ready",
	    "legal_kernel_reuse", "legal_lost_agree",	   "legal_kernel_seeded",
	    "legal_fd_errno",	  "legal_lost_free_ready", "legal_kernel_wait_lost",
	    "legal_ready_both",	  "legal_kernel_unread",   "legal_announce_cut",
	    "legal_two_polls"};
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++) {
		char *out;
		int rc = tt_np(&out, "check " TRACES "/%s.jsonl", legal[i]);
		cr_assert_eq(rc, 0, "%s: rc %d\n%s", legal[i], rc, out);
		cr_assert(strstr(out, ": legal: "), "%s", out);
		cr_assert_eq(tu_count_lines(out, "error:"), 0, "%s", out);
		free(out);
	}
}

/*
 * Go's netpollWaiters is a Uint32 that a wake-up on another M can take below zero before the
 * parking M's +1: a note, not an error; the same numbers out of order are an error.
 */
Test(trace_check, a_wrapped_waiters_counter_is_a_note, .timeout = 30)
{
	char *out;
	int rc = tt_np(&out, "check " TRACES "/legal_waiters_wrap.jsonl");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "legal_waiters_wrap.jsonl:21: note: waiters-wrapped: netpollWaiters "
			      "wrapped below zero (0 - 1)"),
		  "%s", out);
	free(out);
}

Test(trace_check, races_are_notes_not_errors, .timeout = 30)
{
	char *out;
	int rc = tt_np(&out, "check " TRACES "/legal_races.jsonl");
	cr_assert_eq(rc, 0, "%s", out);
	static const char *const notes[] = {
	    "legal_races.jsonl:17: note: ready-before-park:",
	    "legal_races.jsonl:23: note: ready-before-commit:",
	    "legal_races.jsonl:26: note: commit-failed:",
	    "legal_races.jsonl:39: note: deadline-while-parked:",
	    "legal_races.jsonl:45: note: stale-event:",
	    "legal_races.jsonl:58: note: close-while-parked:",
	};
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
		cr_assert(strstr(out, notes[i]), "missing '%s' in\n%s", notes[i], out);
	cr_assert(strstr(out, "legal: 66 events, 6 notes"), "%s", out);
	free(out);
	rc = tt_np(&out, "check --quiet " TRACES "/legal_races.jsonl");
	cr_assert_eq(rc, 0);
	cr_assert_eq(tu_count_lines(out, "note:"), 0, "%s", out);
	free(out);
}

/* `check path` exits rc and prints want (and not absent, unless NULL). */
static void check_says(const char *path, int rc, const char *want, const char *absent)
{
	char *out;
	int got = tt_np(&out, "check %s", path);
	cr_assert_eq(got, rc, "%s: exit %d\n%s", path, got, out);
	cr_assert(strstr(out, want), "%s: expected '%s' in\n%s", path, want, out);
	cr_assert(!absent || !strstr(out, absent), "%s: unexpected '%s' in\n%s", path, absent, out);
	cr_assert(tt_terminal_safe(out, strlen(out)), "%s", out);
	free(out);
}

/*
 * netpoll checked fdseq, then fd 7 was closed and its pollDesc freed before netpollready ran:
 * Go's window, a note. A change on a pollDesc never opened, or on a freed one that is not that
 * race (another "from" than rg held), is pd-not-open (illegal/pd_not_open_*.jsonl, EXPECTED).
 */
Test(trace_check, a_late_netpollready_is_a_note_any_other_change_on_a_closed_pd_an_error,
     .timeout = 30)
{
	check_says(TRACES "/legal_late_ready.jsonl", 0,
		   "legal_late_ready.jsonl:15: note: late-ready: pd 0x7f0000001000 (fd 7) rg: "
		   "readiness for an incarnation freed meanwhile",
		   NULL);
	check_says(TRACES "/illegal/pd_not_open_never.jsonl", 1,
		   "pd_not_open_never.jsonl:17: error: pd-not-open: pd 0x7f0000009000 (fd 9) rg "
		   "changed by netpollready but the pollDesc was never opened (no pd_open)",
		   "late-ready");
	check_says(TRACES "/illegal/pd_not_open_freed.jsonl", 1,
		   "pd_not_open_freed.jsonl:15: error: pd-not-open: pd 0x7f0000001000 (fd 7) rg "
		   "changed by netpollready after the pollDesc was freed, and not as a late "
		   "netpollready: the event says G77 → pdReady but rg holds pdNil",
		   "late-ready");
}

/* netpollready says pdWait → pdReady but rg holds G5 (committed): no "the commit fails" note */
Test(trace_check, a_wrong_from_tells_no_race, .timeout = 30)
{
	check_says(TRACES "/illegal/pd_from.jsonl", 1,
		   "pd_from.jsonl:19: error: pd-from:", "ready-before-commit");
}

Test(trace_check, a_loss_resynchronises_instead_of_reporting, .timeout = 30)
{
	char *out;
	int rc = tt_np(&out, "check " TRACES "/legal_lost.jsonl");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "legal_lost.jsonl:16: note: lost: 12 sim events lost here"), "%s",
		  out);
	free(out);
}

Test(trace_check, each_illegal_trace_fails_with_its_rule_and_line, .timeout = 120)
{
	size_t len;
	char *exp = tt_slurp(TRACES "/illegal/EXPECTED", &len);
	int cases = 0;
	for (char *line = strtok(exp, "\n"); line; line = strtok(NULL, "\n")) {
		char file[128], rule[64], want[300];
		unsigned long at;
		if (line[0] == '#' || sscanf(line, "%127s %63s %lu", file, rule, &at) != 3)
			continue;
		char *out;
		int rc = tt_np(&out, "check --quiet " TRACES "/illegal/%s", file);
		cr_assert_eq(rc, 1, "%s: exit %d\n%s", file, rc, out);
		snprintf(want, sizeof(want), "%s:%lu: error: %s:", file, at, rule);
		cr_assert(strstr(out, want), "%s: expected '%s' in\n%s", file, want, out);
		cr_assert(strstr(out, ": ILLEGAL: "), "%s", out);
		cr_assert(tt_terminal_safe(out, strlen(out)));
		free(out);
		cases++;
	}
	free(exp);
	cr_assert_geq(cases, 45, "only %d illegal traces", cases);
}

/*
 * Spec section 4.4, every cell: each function that changes rg/wg, from each value to each value
 * (a change to the same value is no change: only pollOpen's unconditional store makes one). A trace brings fd 7's rg to the value by legal steps, then makes the change; check must
 * call it a pd-transition error at that line exactly when the table has no such row. The table
 * here is written from the spec (and Go 1.22's netpoll.go), not from traces/fold.c's.
 */
static const char *const pdv_names[] = {"nil", "ready", "wait", "G5"};

/* the legal steps that leave rg at pdv_names[v] after the pd was opened (rg pdNil) */
static const char *const pdv_setup[] = {
    "",
    "{\"ts\":11000,\"src\":\"sim\",\"ev\":\"pd_state\",\"m\":0,\"p\":0,\"g\":0,\"fd\":7,"
    "\"pd\":\"0x7f0000001000\",\"seq\":1,\"mode\":\"r\",\"from\":\"nil\",\"to\":\"ready\","
    "\"fn\":\"netpollready\"}\n",
    "{\"ts\":11000,\"src\":\"sim\",\"ev\":\"pd_state\",\"m\":0,\"p\":0,\"g\":5,\"fd\":7,"
    "\"pd\":\"0x7f0000001000\",\"seq\":1,\"mode\":\"r\",\"from\":\"nil\",\"to\":\"wait\","
    "\"fn\":\"netpollblock\"}\n",
    "{\"ts\":11000,\"src\":\"sim\",\"ev\":\"pd_state\",\"m\":0,\"p\":0,\"g\":5,\"fd\":7,"
    "\"pd\":\"0x7f0000001000\",\"seq\":1,\"mode\":\"r\",\"from\":\"nil\",\"to\":\"wait\","
    "\"fn\":\"netpollblock\"}\n"
    "{\"ts\":11500,\"src\":\"sim\",\"ev\":\"pd_state\",\"m\":0,\"p\":0,\"g\":0,\"fd\":7,"
    "\"pd\":\"0x7f0000001000\",\"seq\":1,\"mode\":\"r\",\"from\":\"wait\",\"to\":\"G5\","
    "\"fn\":\"netpollblockcommit\"}\n",
};

enum {
	NIL = 1,
	READY = 2,
	WAIT = 4,
	G = 8,
};

static const struct {
	const char *fn;
	unsigned from, to; /* sets of pdv_names' bits */
} spec_rows[] = {
    /*
     * a new incarnation. Spec 4.4's row says "any", but its 3.1 step 2 (Go's pollOpen) throws
     * "blocked read on free polldesc" before the store when rg is pdWait or a G
     */
    {"poll_runtime_pollOpen", NIL | READY, NIL},
    /* prepareRead/Write: fdMutex lets one reader (writer) in, so rg (wg) is pdNil or pdReady */
    {"poll_runtime_pollReset", READY, NIL},
    {"netpollblock", READY, NIL}, /* step 1 takes a notification, or step 3's swap */
    {"netpollblock", NIL, WAIT},  /* step 1 announces */
    {"netpollblock", WAIT, NIL},  /* step 3 when an error kept it from parking */
    {"netpollblockcommit", WAIT, G},
    {"netpollready", NIL | WAIT | G, READY}, /* netpollunblock(ioready=true) */
    {"netpolldeadlineimpl", WAIT | G, NIL},  /* netpollunblock(ioready=false) */
    {"poll_runtime_pollUnblock", WAIT | G, NIL},
    {"poll_runtime_pollSetDeadline", WAIT | G, NIL},
};

static bool spec_legal(const char *fn, unsigned from, unsigned to)
{
	for (size_t i = 0; i < sizeof(spec_rows) / sizeof(spec_rows[0]); i++)
		if (!strcmp(spec_rows[i].fn, fn) && (spec_rows[i].from & 1u << from) &&
		    (spec_rows[i].to & 1u << to))
			return true;
	return false;
}

/* The first n lines of a file (each with its newline). */
static char *first_lines(const char *path, int n)
{
	char *text = tt_slurp(path, NULL), *cut = text;
	for (int i = 0; i < n; i++) {
		cut = strchr(cut, '\n');
		cr_assert(cut, "%s has fewer than %d lines", path, n);
		cut++;
	}
	*cut = '\0';
	return text;
}

/*
 * Whether check calls the change on the last line of text (line line) an error of rule; the
 * legal steps before it make no such error. *out: what check said (free it).
 */
static bool cell_breaks(const char *text, int line, const char *rule, char **out)
{
	char want[128];
	const char *path = tt_tmp("cell.jsonl");
	tt_spit(path, text, strlen(text));
	tt_np(out, "check --quiet %s", path);
	snprintf(want, sizeof(want), "cell.jsonl:%d: error: %s:", line, rule);
	bool said = strstr(*out, want) != NULL;
	snprintf(want, sizeof(want), "error: %s:", rule);
	cr_assert_eq(tu_count_lines(*out, want), said, "%s", *out);
	return said;
}

Test(trace_check, every_cell_of_the_transition_table, .timeout = 120)
{
	/* header, G5 running, fd 7's pollDesc open and registered, G5's read has had EAGAIN */
	char *head = first_lines(TRACES "/illegal/pd_transition.jsonl", 10);
	static const char *const fns[] = {"poll_runtime_pollOpen",
					  "poll_runtime_pollReset",
					  "netpollblock",
					  "netpollblockcommit",
					  "netpollready",
					  "netpolldeadlineimpl",
					  "poll_runtime_pollUnblock",
					  "poll_runtime_pollSetDeadline",
					  "netpollunblock"};
	int legal = 0, illegal = 0;
	for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++)
		for (unsigned from = 0; from < 4; from++)
			for (unsigned to = 0; to < 4; to++) {
				char text[8192], *out;
				snprintf(
				    text, sizeof(text),
				    "%s%s{\"ts\":12000,\"src\":\"sim\",\"ev\":\"pd_state\","
				    "\"m\":0,\"p\":0,\"g\":5,\"fd\":7,\"pd\":\"0x7f0000001000\","
				    "\"seq\":1,\"mode\":\"r\",\"from\":\"%s\",\"to\":\"%s\","
				    "\"fn\":\"%s\"}\n",
				    head, pdv_setup[from], pdv_names[from], pdv_names[to], fns[f]);
				/* the change is the file's last line */
				int line = 11 + (from == 0 ? 0 : from == 3 ? 2 : 1);
				bool said = cell_breaks(text, line, "pd-transition", &out);
				bool ok = spec_legal(fns[f], from, to);
				cr_assert(said != ok,
					  "%s %s → %s: the spec says %s, check says\n%s", fns[f],
					  pdv_names[from], pdv_names[to], ok ? "legal" : "illegal",
					  out);
				free(out);
				ok ? legal++ : illegal++;
			}
	cr_assert_eq(legal, 16, "cells the spec allows");
	cr_assert_eq(illegal, 9 * 16 - 16);
	free(head);
}

/*
 * The goroutine statuses the same way: G5 brought to each status by legal steps, then moved to
 * each status. Legal: the casgstatus calls of Go 1.22's runtime on the paths the engine models
 * (newproc1 idle → dead for a G malg made, dead → runnable; execute runnable → running, park_m running → waiting, gosched and
 * preemption running → runnable, goexit0 running → dead, entersyscall running → syscall,
 * exitsyscall syscall → running or runnable, ready waiting → runnable). Go's GC and cgo paths
 * also make waiting → running, runnable → waiting, syscall → dead and dead → syscall; the engine
 * has none of them, so those cells are not asked.
 */
static const char *const gst_names[] = {"dead",	   "runnable", "running",
					"syscall", "waiting",  "idle"};
enum {
	GDEAD,
	GRUNNABLE,
	GRUNNING,
	GSYSCALL,
	GWAITING,
	GIDLE
};

Test(trace_check, every_cell_of_the_goroutine_status_table, .timeout = 120)
{
	/* header, netpollinit, M0 has P0, G1 created and running */
	char *head = first_lines(TRACES "/illegal/pd_transition.jsonl", 5);
	/* the legal steps from nothing to each status, as "from>to" pairs */
	static const char *const path_to[] = {
	    [GDEAD] = "dead>runnable runnable>running running>dead",
	    [GRUNNABLE] = "dead>runnable",
	    [GRUNNING] = "dead>runnable runnable>running",
	    [GSYSCALL] = "dead>runnable runnable>running running>syscall",
	    [GWAITING] = "dead>runnable runnable>running running>waiting",
	    [GIDLE] = "", /* a new G, as malg makes it */
	};
	static const bool go[6][6] = {
	    [GDEAD][GRUNNABLE] = true,	  [GRUNNABLE][GRUNNING] = true,
	    [GRUNNING][GWAITING] = true,  [GRUNNING][GRUNNABLE] = true,
	    [GRUNNING][GDEAD] = true,	  [GRUNNING][GSYSCALL] = true,
	    [GSYSCALL][GRUNNING] = true,  [GSYSCALL][GRUNNABLE] = true,
	    [GWAITING][GRUNNABLE] = true, [GIDLE][GDEAD] = true,
	};
	static const bool not_modelled[6][6] = {
	    [GWAITING][GRUNNING] = true,
	    [GRUNNABLE][GWAITING] = true,
	    [GSYSCALL][GDEAD] = true,
	    [GDEAD][GSYSCALL] = true,
	};
	int legal = 0, illegal = 0;
	for (int from = GDEAD; from <= GIDLE; from++)
		for (int to = GDEAD; to <= GIDLE; to++) {
			if (not_modelled[from][to])
				continue;
			char text[8192], a[16], b[16], *out;
			size_t o = (size_t)snprintf(text, sizeof(text), "%s", head);
			int line = 5, ts = 10000;
			char steps[128];
			snprintf(steps, sizeof(steps), "%s %s>%s", path_to[from], gst_names[from],
				 gst_names[to]);
			for (char *save, *st = strtok_r(steps, " ", &save); st;
			     st = strtok_r(NULL, " ", &save)) {
				cr_assert_eq(sscanf(st, "%15[a-z]>%15[a-z]", a, b), 2);
				o += (size_t)snprintf(
				    text + o, sizeof(text) - o,
				    "{\"ts\":%d,\"src\":\"sim\",\"ev\":\"gstatus\",\"m\":0,\"p\":0,"
				    "\"g\":0,\"goid\":5,\"from\":\"%s\",\"to\":\"%s\",\"fn\":"
				    "\"execute\"%s}\n",
				    ts += 1000, a, b,
				    !strcmp(b, "waiting") ? ",\"reason\":\"sync.WaitGroup.Wait\""
							  : "");
				line++;
			}
			bool said = cell_breaks(text, line, "g-transition", &out);
			cr_assert(said != go[from][to], "%s → %s: Go %s it, check says\n%s",
				  gst_names[from], gst_names[to],
				  go[from][to] ? "makes" : "never makes", out);
			/* a legal change, but not for a goid that exited: goids are never reused */
			cr_assert_eq(strstr(out, "error: goid-reuse:") != NULL,
				     from == GDEAD && to == GRUNNABLE, "%s", out);
			free(out);
			go[from][to] ? legal++ : illegal++;
		}
	cr_assert_eq(legal, 10);
	cr_assert_eq(illegal, 6 * 6 - 4 - 10);
	free(head);
}

/*
 * After a loss an M's netpoll calls pair again from its next begin or end: a begin after the
 * loss starts a known call (a second begin is unpaired), and an M first seen after the loss may
 * end a call whose begin the loss hid, once.
 */
static const char *netpoll_line(char *buf, size_t size, int ts, int m, const char *ev, int id)
{
	snprintf(buf, size,
		 "{\"ts\":%d,\"src\":\"sim\",\"ev\":\"%s\",\"m\":%d,\"id\":%d,\"delay\":0,"
		 "\"waitms\":0,\"caller\":\"findRunnable\"%s}\n",
		 ts, ev, m, id, strcmp(ev, "netpoll_end") ? "" : ",\"n\":0,\"ngs\":0,\"delta\":0");
	return buf;
}

Test(trace_check, netpoll_calls_pair_again_after_a_loss, .timeout = 30)
{
	/* M1 announced a loss of 12 sim events at line 16; lines 17-20 follow it */
	char *head = first_lines(TRACES "/illegal/netpoll_unpaired_after_loss.jsonl", 20);
	static const struct {
		int m[2];
		const char *ev[2];
		int id[2];
	} cases[] = {
	    {{0, 0}, {"netpoll_begin", "netpoll_begin"}, {20, 21}}, /* the first begin is known */
	    {{2, 2}, {"netpoll_end", "netpoll_end"}, {9, 9}},	    /* a new M's end, then again */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[16384], a[256], b[256], *out;
		snprintf(text, sizeof(text), "%s%s%s", head,
			 netpoll_line(a, sizeof(a), 1021000, cases[i].m[0], cases[i].ev[0],
				      cases[i].id[0]),
			 netpoll_line(b, sizeof(b), 1022000, cases[i].m[1], cases[i].ev[1],
				      cases[i].id[1]));
		/* said at line 22 and only there (cell_breaks counts every netpoll-unpaired) */
		cr_assert(cell_breaks(text, 22, "netpoll-unpaired", &out), "case %zu:\n%s", i, out);
		free(out);
	}
	free(head);
}

/*
 * What Go 1.22's netpoll (netpoll_epoll.go) does with each epoll event, every cell: events 0
 * are skipped; the break pipe's data must come with EPOLLIN alone (anything else throws "break
 * fd ready for something unexpected") and is read only by a blocking poll (delay != 0); an event
 * with no r/w bit is skipped; any other is netpollready's or, by its tag, stale. check must call
 * an event's action an npev-action error exactly when Go would not take it. The table is written
 * from Go's source, not from traces/fold.c's.
 */
static const char *const npev_actions[] = {"ready",	  "stale", "break-drain",
					   "break-leave", "zero",  "nomode"};

static bool npev_go_takes(unsigned events, bool brk, bool blocking, const char *action)
{
	const unsigned r = 0x1 | 0x2000 | 0x10 | 0x8, w = 0x4 | 0x10 | 0x8; /* IN|RDHUP|HUP|ERR */
	if (events == 0)
		return !strcmp(action, "zero");
	if (brk)
		return events == 0x1 && !strcmp(action, blocking ? "break-drain" : "break-leave");
	if (!(events & (r | w)))
		return !strcmp(action, "nomode");
	return !strcmp(action, "ready") || !strcmp(action, "stale");
}

Test(trace_check, every_action_netpoll_takes_on_an_event, .timeout = 120)
{
	/* header .. G5 parked on fd 7 (rg G5), M0 about to poll */
	char *head = first_lines(TRACES "/illegal/npev_action.jsonl", 16);
	static const unsigned masks[] = {0, 0x1, 0x2, 0x4, 0x8, 0x11, 0x2001, 0x80000000};
	int legal = 0, cases = 0;
	for (int blocking = 0; blocking < 2; blocking++)
		for (int brk = 0; brk < 2; brk++)
			for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++)
				for (size_t a = 0;
				     a < sizeof(npev_actions) / sizeof(npev_actions[0]); a++) {
					char text[8192], *out;
					snprintf(
					    text, sizeof(text),
					    "%s{\"ts\":16000,\"src\":\"sim\",\"ev\":\"netpoll_"
					    "begin\","
					    "\"m\":0,\"p\":0,\"id\":1,\"delay\":%d,\"waitms\":%d,"
					    "\"caller\":\"findRunnable\"}\n"
					    "{\"ts\":17000,\"src\":\"sim\",\"ev\":\"netpoll_"
					    "event\","
					    "\"m\":0,\"p\":0,\"id\":1,\"data\":\"%s\",\"pd\":\"%"
					    "s\","
					    "\"events\":%u,\"action\":\"%s\"}\n",
					    head, blocking ? -1 : 0, blocking ? -1 : 0,
					    brk ? "0x55550000a0" : "0x7f00000010000001",
					    brk ? "0x0" : "0x7f0000001000", masks[i],
					    npev_actions[a]);
					bool takes =
					    npev_go_takes(masks[i], brk, blocking, npev_actions[a]);
					bool said = cell_breaks(text, 18, "npev-action", &out);
					cr_assert(
					    said != takes,
					    "%s poll, %s data, events 0x%x, action %s: Go %s, "
					    "check says\n%s",
					    blocking ? "blocking" : "non-blocking",
					    brk ? "break" : "pd", masks[i], npev_actions[a],
					    takes ? "takes it" : "never takes it", out);
					free(out);
					legal += takes;
					cases++;
				}
	cr_assert_eq(cases, 2 * 2 * 8 * 6);
	/* each poll: pd data zero, 5 masks ready or stale, 2 nomode; break data zero, EPOLLIN */
	cr_assert_eq(legal, 2 * (1 + 5 * 2 + 2 + 1 + 1), "%d", legal);
	free(head);
}

/*
 * The verdict line counts the goroutines the ready entries woke, not only the entries: a trace
 * whose one woken goroutine was made running instead of runnable said "fidelity 3 of 3" beside
 * its fidelity error.
 */
Test(trace_check, the_verdict_line_counts_the_woken_goroutines, .timeout = 30)
{
	check_says(TRACES "/illegal/fidelity_wake_status.jsonl", 1,
		   "kernel/runtime agreement: fidelity 3 of 3, woken goroutines 0 of 1, ", NULL);
}

Test(trace_check, kernel_and_runtime_agreement_is_counted, .timeout = 30)
{
	char *out;
	int rc = tt_np(&out, "check " TRACES "/legal_kernel_agree.jsonl");
	cr_assert_eq(rc, 0, "%s", out);
	/* every ready entry, ready list and epoll_ctl judged, and all of them agree */
	cr_assert(strstr(out, "legal: 81 events, 1 note, kernel/runtime agreement: fidelity 3 of "
			      "3, woken goroutines 1 of 1, ready lists 5 of 5, epoll_ctl 5 of 5"),
		  "%s", out);
	free(out);
	rc = tt_np(&out, "replay " TRACES "/legal_kernel_agree.jsonl --no-ui");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "kernel/runtime agreement: 3 of 3 ready events produced the expected "
			      "pollDesc change, 1 of 1 goroutines they woke were made runnable"),
		  "%s", out);
	cr_assert(strstr(out,
			 "kernel/runtime joins: 5 of 5 epoll_wait ready lists match netpoll, "
			 "5 of 5 netpollopen/netpollclose match the kernel's epoll_ctl, 1 epoll "
			 "wait not linked to a netpoll call"),
		  "%s", out);
	free(out);
}

/*
 * A program that closes a registered fd without EPOLL_CTL_DEL (closing removes it from epoll)
 * and gets the number back: the kernel's next ADD succeeds, which proves the fd was not in the
 * set. A note, and the ADD is the registration from then on; the runtime's own double
 * netpollopen stays an error (illegal/double_add.jsonl).
 */
Test(trace_check, a_kernel_add_after_close_without_del_is_no_double_add, .timeout = 30)
{
	check_says(TRACES "/legal_kernel_reuse.jsonl", 0,
		   "legal_kernel_reuse.jsonl:5: note: closed-without-del: kernel: fd 4 was added "
		   "to epfd 3 again without EPOLL_CTL_DEL: it was closed and the number reused",
		   "double-add");
	/* a `trace --pid` recording has no runtime to agree with: no "fidelity 0 of 0" */
	check_says(TRACES "/legal_kernel_reuse.jsonl", 0,
		   "legal_kernel_reuse.jsonl: legal: 11 events, 1 note\n", "agreement");
	check_says(TRACES "/illegal/double_add.jsonl", 1,
		   "double_add.jsonl:8: error: double-add: fd 7 registered with epoll twice", NULL);
}

/*
 * While a ring is losing events nothing is judged, and nothing is counted as judged: the
 * epoll_ctl whose events differ from netpollopen's, made during the loss, was "2 of 3" beside a
 * legal verdict.
 */
Test(trace_check, an_agreement_check_during_a_loss_is_not_counted, .timeout = 30)
{
	check_says(
	    TRACES "/legal_lost_agree.jsonl", 0,
	    "kernel/runtime agreement: fidelity 0 of 0, woken goroutines 0 of 0, ready lists 0 of "
	    "0, epoll_ctl 2 of 2",
	    NULL);
}

Test(trace_check, a_kernel_loss_cancels_what_the_kernel_owed, .timeout = 30)
{
	char *out;
	/* fd 9's ADD is in the loss: the probes report it before the thread's next kernel event */
	int rc = tt_np(&out, "check " TRACES "/legal_kernel_agree.jsonl");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "legal_kernel_agree.jsonl:53: note: lost: 1 kernel event lost here"),
		  "%s", out);
	cr_assert(!strstr(out, "kernel-add-missing"), "%s", out);
	free(out);
}

Test(trace_check, no_agreement_verdict_without_kernel_events, .timeout = 30)
{
	char *out;
	/* the probes were off: not a word about the kernel, whatever the runtime did */
	static const char *const off[] = {"legal_kernel_off", "legal_read_wait", "legal_races"};
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		int rc = tt_np(&out, "check " TRACES "/%s.jsonl", off[i]);
		cr_assert_eq(rc, 0, "%s: %s", off[i], out);
		cr_assert(!strstr(out, "kernel/runtime"), "%s", out);
		free(out);
	}
	/*
	 * A header that says the probes ran, but no kernel event in the file while the runtime
	 * polled: no agreement counts (nothing was compared), one kernel-silent error (the probes
	 * watched another process: a pid namespace they did not follow did this).
	 */
	size_t len;
	char *t = tt_slurp(TRACES "/legal_kernel_off.jsonl", &len);
	char *at = strstr(t, "\"kernel_view\":false");
	cr_assert(at);
	const char *path = tt_tmp("view_on_no_events.jsonl");
	FILE *f = fopen(path, "wb");
	cr_assert(f);
	fprintf(f, "%.*s\"kernel_view\":true%s", (int)(at - t), t,
		at + strlen("\"kernel_view\":false"));
	fclose(f);
	free(t);
	int rc = tt_np(&out, "check %s", path);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(!strstr(out, "kernel/runtime"), "%s", out);
	cr_assert(strstr(out,
			 "view_on_no_events.jsonl:61: error: kernel-silent: the probes were on "
			 "from the start, but the kernel shows none of the runtime's 5 netpoll "
			 "calls (no epoll_wait, no epoll_ctl, no loss): they watched another "
			 "process\n"),
		  "%s", out);
	cr_assert_eq(tu_count_lines(out, "error:"), 1, "%s", out);
	free(out);
	rc = tt_np(&out, "replay %s --no-ui", path);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(!strstr(out, "kernel/runtime"), "%s", out);
	/* but the summary does not claim the probes were off */
	cr_assert(strstr(out, "  kernel: no kernel events: the probes were on but saw no epoll "
			      "call of this process\n"),
		  "%s", out);
	free(out);
}

Test(trace_check, a_missing_kernel_call_names_the_runtime_call_it_belongs_to, .timeout = 30)
{
	char *out;
	/* found at the thread's next kernel event: reported there, with the netpollopen's line */
	tt_np(&out, "check " TRACES "/illegal/kernel_add_missing.jsonl");
	cr_assert(strstr(out,
			 "kernel_add_missing.jsonl:13: error: kernel-add-missing: netpollopen "
			 "of fd 7: the kernel shows no epoll_ctl ADD from thread 100 (its next "
			 "call the kernel saw is epoll_ctl ADD of fd 8)"),
		  "%s", out);
	cr_assert(strstr(out, "    earlier: " TRACES "/illegal/kernel_add_missing.jsonl:10"), "%s",
		  out);
	free(out);
	/* still owed when the trace ends: reported at the netpollclose itself */
	tt_np(&out, "check " TRACES "/illegal/kernel_del_missing_end.jsonl");
	cr_assert(strstr(out, "kernel_del_missing_end.jsonl:69: error: kernel-del-missing: "
			      "netpollclose of fd 8: the kernel shows no epoll_ctl DEL from thread "
			      "101 before the fd is closed (the trace ends without it)"),
		  "%s", out);
	cr_assert(strstr(out, "epoll_ctl 4 of 5"), "%s", out);
	free(out);
	/* a lost wake-up: the woken goroutine is still waiting when its M polls again */
	tt_np(&out, "check " TRACES "/illegal/fidelity_lost_wakeup.jsonl");
	cr_assert(strstr(out, "error: fidelity: G5 was taken from fd 7 rg by netpollready (netpoll "
			      "#2, kernel ready[0]) but is still waiting when M0 polls again "
			      "(netpoll #4): a lost wake-up"),
		  "%s", out);
	free(out);
}

/*
 * Every kernel call still owed when the trace ends is reported, however many (the end's
 * verdicts come 8 at a time: only the first 8 were), each at its own netpollopen.
 */
Test(trace_check, every_call_owed_at_the_end_is_reported, .timeout = 30)
{
	enum {
		N = 12
	};
	const char *path = tt_owed_trace("owed.jsonl", N);
	char *out;
	cr_assert_eq(tt_np(&out, "check -q %s", path), 1);
	for (int i = 0; i < N; i++) {
		char want[200];
		snprintf(want, sizeof(want),
			 "owed.jsonl:%d: error: kernel-add-missing: netpollopen of fd %d: ",
			 4 + 2 * i, 10 + i);
		cr_assert(strstr(out, want), "no '%s' in\n%s", want, out);
	}
	cr_assert(strstr(out, "ILLEGAL: 12 errors (12 violations, "), "%s", out);
	free(out);
}

Test(trace_check, a_violation_shows_the_event_and_the_earlier_line, .timeout = 30)
{
	char *out;
	tt_np(&out, "check " TRACES "/illegal/double_add.jsonl");
	cr_assert(strstr(out, "double_add.jsonl:8: error: double-add: fd 7 registered with epoll "
			      "twice"),
		  "%s", out);
	cr_assert(strstr(out, "    event: {\"ts\":6500,\"src\":\"sim\",\"ev\":\"netpollopen\""),
		  "%s", out);
	cr_assert(strstr(out, "    earlier: " TRACES "/illegal/double_add.jsonl:7"), "%s", out);
	free(out);
}

/* The earlier line is the one the rule compares with: the event before in time, the first handling. */
Test(trace_check, the_earlier_line_is_the_one_compared_with, .timeout = 30)
{
	check_says(
	    TRACES "/illegal/ts_order.jsonl", 1,
	    "ts_order.jsonl:11: error: ts-order: time goes backwards: 8500 ns before the "
	    "previous event\n    event: {\"ts\":500,\"src\":\"sim\",\"ev\":\"syscall\",\"m\":0,"
	    "\"p\":0,\"g\":5,\"fd\":7,\"op\":\"read\",\"ret\":-11,\"count\":4096,\"fn\":"
	    "\"(*FD).Read\"}\n    earlier: " TRACES "/illegal/ts_order.jsonl:10\n",
	    NULL);
	check_says(TRACES "/illegal/ready_list_twice.jsonl", 1,
		   "ready_list_twice.jsonl:34: error: ready-list-mismatch: netpoll #2: netpoll "
		   "handled entry [0] (EPOLLIN|EPOLLOUT) twice\n",
		   NULL);
	check_says(TRACES "/illegal/ready_list_twice.jsonl", 1,
		   "\n    earlier: " TRACES "/illegal/ready_list_twice.jsonl:31\n", NULL);
}

/* pollDesc events of fd 7 (pd 0x7f0000001000) by G1 on M0: one line of a hand-made trace */
static int pd_line(char *buf, size_t size, int ts, const char *ev, unsigned seq, const char *fn)
{
	return snprintf(buf, size,
			"{\"ts\":%d,\"src\":\"sim\",\"ev\":\"%s\",\"m\":0,\"p\":0,\"g\":1,"
			"\"fd\":7,\"pd\":\"0x7f0000001000\",\"seq\":%u,\"fn\":\"%s\"}\n",
			ts, ev, seq, fn);
}

/*
 * fdseq is a 19-bit tag (taggedPointerBits on amd64): pollCache.free bumps 524287 to 0, and
 * poll_runtime_pollOpen makes 0 into 1 (netpoll.go: "if pd.fdseq.Load() == 0"), so a tag 0
 * is never registered. An open that keeps 0, or jumps elsewhere, is pd-seq.
 */
Test(trace_check, fdseq_wraps_to_zero_and_opens_as_one, .timeout = 30)
{
	/* header, netpollinit, M0 has P0, G1 created and running */
	char *head = first_lines(TRACES "/illegal/pd_transition.jsonl", 5);
	static const struct {
		unsigned free_seq, open_seq;
		bool legal;
	} cases[] = {{0, 1, true}, {0, 0, false}, {0, 2, false}, {1, 1, false}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[8192], *out;
		size_t o = (size_t)snprintf(text, sizeof(text), "%s", head);
		o += (size_t)pd_line(text + o, sizeof(text) - o, 6000, "pd_open", (1u << 19) - 1,
				     "poll_runtime_pollOpen");
		o += (size_t)pd_line(text + o, sizeof(text) - o, 7000, "pd_free", cases[i].free_seq,
				     "pollCache.free");
		pd_line(text + o, sizeof(text) - o, 8000, "pd_open", cases[i].open_seq,
			"poll_runtime_pollOpen");
		/* a free that leaves 1 is the wrong bump, said at the free (line 7) */
		bool said = cell_breaks(text, cases[i].free_seq ? 7 : 8, "pd-seq", &out);
		cr_assert(said != cases[i].legal, "free to %u, open as %u: %s", cases[i].free_seq,
			  cases[i].open_seq, out);
		free(out);
	}
	free(head);
}

/*
 * "close polldesc w/o unblock" is said once, at netpollclose where Go throws it, not again at
 * the free; and once more for the next incarnation, freed without unblock and without
 * netpollclose (said at its free, with pd-free-registered).
 */
Test(trace_check, close_without_unblock_is_said_once_per_incarnation, .timeout = 30)
{
	char *out, more[2048];
	tt_np(&out, "check --quiet " TRACES "/illegal/pd_free_unevicted.jsonl");
	cr_assert_eq(tu_count_lines(out, "error: pd-free-unevicted:"), 1, "%s", out);
	free(out);
	/* through fd 7's close (line 29), then a second incarnation closed the same way */
	char *head = first_lines(TRACES "/illegal/pd_free_unevicted.jsonl", 29);
	size_t o =
	    (size_t)pd_line(more, sizeof(more), 1040000, "pd_open", 2, "poll_runtime_pollOpen");
	o += (size_t)snprintf(
	    more + o, sizeof(more) - o,
	    "{\"ts\":1041000,\"src\":\"sim\",\"ev\":\"netpollopen\",\"m\":0,\"p\":0,\"g\":1,"
	    "\"fd\":7,\"op\":\"ADD\",\"epfd\":3,\"events\":2147491845,\"data\":"
	    "\"0x7f00000010000002\",\"ret\":0,\"pd\":\"0x7f0000001000\"}\n");
	pd_line(more + o, sizeof(more) - o, 1042000, "pd_free", 3, "pollCache.free");
	char *text = malloc(strlen(head) + strlen(more) + 1);
	cr_assert(text);
	strcpy(stpcpy(text, head), more);
	const char *path = tt_tmp("unevicted_twice.jsonl");
	tt_spit(path, text, strlen(text));
	tt_np(&out, "check --quiet %s", path);
	cr_assert_eq(tu_count_lines(out, "error: pd-free-unevicted:"), 2, "%s", out);
	cr_assert(strstr(out, "unevicted_twice.jsonl:27: error: pd-free-unevicted:"), "%s", out);
	cr_assert(strstr(out, "unevicted_twice.jsonl:32: error: pd-free-unevicted:"), "%s", out);
	free(out);
	free(text);
	free(head);
}

/*
 * TRACES/src with the first "from" replaced by "to" (NULL: none), cut after its first keep
 * lines (0: all), then tail_len bytes of tail: a file in the test's directory.
 */
static const char *variant(const char *src, const char *name, const char *from, const char *to,
			   int keep, const char *tail, size_t tail_len)
{
	char p[256];
	size_t len;
	snprintf(p, sizeof(p), TRACES "/%s", src);
	char *t = tt_slurp(p, &len);
	const char *path = tt_tmp(name);
	FILE *f = fopen(path, "wb");
	cr_assert(f);
	char *at = from ? strstr(t, from) : NULL;
	cr_assert(!from || at, "%s has no %s", src, from);
	size_t n = len;
	for (int l = 0, i = 0; keep && (size_t)i < len; i++)
		if (t[i] == '\n' && ++l == keep) {
			n = (size_t)i + 1;
			break;
		}
	if (at && (size_t)(at - t) < n) {
		fwrite(t, 1, (size_t)(at - t), f);
		fputs(to, f);
		fwrite(at + strlen(from), 1, n - (size_t)(at - t) - strlen(from), f);
	} else {
		fwrite(t, 1, n, f);
	}
	if (tail_len)
		fwrite(tail, 1, tail_len, f);
	fclose(f);
	free(t);
	return path;
}

/* A line of n bytes (newline excluded) that reads as a note: the object, then blanks. */
static char *long_note(size_t n)
{
	static const char obj[] = "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"long\"}";
	char *l = malloc(n + 1);
	cr_assert(l && n >= sizeof(obj) - 1);
	memcpy(l, obj, sizeof(obj) - 1);
	memset(l + sizeof(obj) - 1, ' ', n - (sizeof(obj) - 1));
	l[n] = '\0';
	return l;
}

/*
 * An event before the origin is kept and ordered by its real time; one before CLOCK_MONOTONIC's
 * zero (origin + ts wrapped around) is refused on its own line, not blamed on the lines after it.
 */
Test(trace_check, a_time_before_the_origin_is_ordered_one_before_zero_refused, .timeout = 30)
{
	char *out;
	check_says(variant("legal_read_wait.jsonl", "before_origin.jsonl", "\"ts\":1017000,",
			   "\"ts\":-2000000000,", 0, NULL, 0),
		   1,
		   "before_origin.jsonl:19: error: schema: field \"ts\": -2000000000 is before "
		   "CLOCK_MONOTONIC's zero (the origin is 1000000000 ns: ts is at least "
		   "-1000000000)\n",
		   "ts-order");
	/* 3 µs before the origin: legal, narrated as -0.000003 s */
	const char *p = variant("legal_read_wait.jsonl", "early.jsonl", "\"ts\":1000,",
				"\"ts\":-3000,", 0, NULL, 0);
	check_says(p, 0, ": legal: 32 events", "error");
	int rc = tt_np(&out, "replay %s --no-ui --narrate", p);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "\n  -0.000003  M0 "), "%s", out);
	cr_assert(strstr(out, "\n   0.000002  M0 P0 "), "%s", out);
	free(out);
}

/* Docs: "Anything after the footer is an error", with or without a newline, however long. */
Test(trace_check, anything_after_the_footer_is_an_error, .timeout = 60)
{
	check_says(variant("legal_read_wait.jsonl", "junk.jsonl", NULL, NULL, 0, "garbage", 7), 1,
		   "junk.jsonl:35: error: schema: data after the footer (line 34)", "truncated");
	size_t big = 3 * TRACE_LINE_MAX;
	char *x = malloc(big);
	memset(x, 'x', big);
	check_says(variant("legal_read_wait.jsonl", "junk_long.jsonl", NULL, NULL, 0, x, big), 1,
		   "junk_long.jsonl:35: error: schema: data after the footer: line longer than "
		   "1048576 bytes: skipped",
		   NULL);
	/* the same line in place of the footer: reported, then the missing footer */
	const char *p = variant("legal_read_wait.jsonl", "long_last.jsonl", NULL, NULL, 33, x, big);
	free(x);
	check_says(p, 1,
		   "long_last.jsonl:34: error: schema: line longer than 1048576 bytes: skipped",
		   NULL);
	check_says(p, 1, "no-footer: the trace has no footer: it was cut short after line 34 ",
		   NULL);
}

/* Several files: each gets its verdict, and one illegal file fails the whole, wherever it is. */
Test(trace_check, one_illegal_file_among_several_fails_the_check, .timeout = 30)
{
	static const char *const orders[] = {
	    "illegal/fresh_ignored.jsonl %s/legal_read_wait.jsonl",
	    "legal_read_wait.jsonl %s/illegal/fresh_ignored.jsonl"};
	for (int i = 0; i < 2; i++) {
		char args[600], *out;
		snprintf(args, sizeof(args), orders[i], TRACES);
		cr_assert_eq(tt_np(&out, "check %s/%s", TRACES, args), 1, "%s: %s", args, out);
		cr_assert(strstr(out, "fresh_ignored.jsonl: ILLEGAL: "), "%s", out);
		cr_assert(strstr(out, "legal_read_wait.jsonl: legal: "), "%s", out);
		free(out);
	}
}

/*
 * A count of one reads in the singular and no count says "(s)": check's last line, its "more
 * errors" line, and the replay's summary.
 */
Test(trace_check, counts_of_one_read_in_the_singular, .timeout = 30)
{
	const char *path = tt_tmp("one.jsonl");
	static const char one[] = HDR NOTE "{not json\n{not json\n{\"footer\":true," FOOTER_REST;
	tt_spit(path, one, strlen(one));
	check_says(
	    path, 1,
	    "one.jsonl: ILLEGAL: 2 errors (0 violations, 2 unreadable lines), 0 notes, 1 event\n",
	    "(s)");
	char *out;
	cr_assert_eq(tt_np(&out, "check --max-errors 1 %s", path), 1);
	cr_assert(strstr(out, "one.jsonl: 1 more error not shown\n"), "%s", out);
	cr_assert_eq(tu_count_lines(out, ": error: "), 1, "one shown, as asked: %s", out);
	free(out);
	check_says(TRACES "/illegal/fresh_ignored.jsonl", 1,
		   "ILLEGAL: 1 error (1 violation, 0 unreadable lines), 1 note, 32 events\n",
		   "(s)");
	static const char *const replays[][2] = {
	    {"legal_fd_errno", "summary: 1 event over "},
	    {"legal_kernel", "netpoll: 1 call (1 blocking, 0 non-blocking), 1 event handled, "},
	    {"legal_kernel", "kernel: 1 epoll wait seen by the probes, 0 fds in the interest set"},
	    {"legal_kernel_agree", ", 1 netpollBreak wake-up\n"},
	    {"legal_kernel_agree", ", 1 epoll wait not linked to a netpoll call\n"},
	    {"legal_kernel_agree", "1 fd in the interest set (the break pipe), 1 write"},
	    {"illegal/fresh_ignored",
	     "verdicts: 1 note (1 stale-event), 1 violation (1 fresh-ignored)\n"},
	};
	for (size_t i = 0; i < sizeof(replays) / sizeof(replays[0]); i++) {
		tt_np(&out, "replay " TRACES "/%s.jsonl --no-ui --narrate", replays[i][0]);
		cr_assert(strstr(out, replays[i][1]), "%s: no '%s' in\n%s", replays[i][0],
			  replays[i][1], out);
		cr_assert_null(strstr(out, "(s)"), "%s: %s", replays[i][0], out);
		free(out);
	}
}

/* TRACE_LINE_MAX is exact: 1 MiB of line (newline excluded) is read, one byte more is not. */
Test(trace_check, the_line_limit_is_exact, .timeout = 60)
{
	for (size_t extra = 0; extra <= 1; extra++) {
		char *l = long_note(TRACE_LINE_MAX + extra);
		const char *path = tt_tmp("limit.jsonl");
		FILE *f = fopen(path, "wb");
		cr_assert(f);
		fprintf(f, HDR "%s\n{\"footer\":true," FOOTER_REST, l);
		fclose(f);
		free(l);
		if (extra)
			check_says(path, 1,
				   "limit.jsonl:2: error: schema: line longer than 1048576 bytes: "
				   "skipped",
				   NULL);
		else
			check_says(path, 0, "limit.jsonl: legal: 1 event,", NULL);
	}
}

/* The missing footer counts the lines the file has, the unreadable ones too. */
Test(trace_check, no_footer_names_the_last_line_read, .timeout = 30)
{
	const char *p =
	    variant("legal_read_wait.jsonl", "bad2.jsonl", "\"ts\":1000,", "\"ts\":x,", 2, NULL, 0);
	check_says(p, 1, "bad2.jsonl:2: error: schema: not valid JSON (column 7)", NULL);
	check_says(p, 1, "no-footer: the trace has no footer: it was cut short after line 2 ",
		   NULL);
}

/* A run ended by a signal (its footer says which): legal, with a note that says so. */
Test(trace_check, an_interrupted_run_is_a_note, .timeout = 30)
{
	size_t len;
	char *t = tt_slurp(TRACES "/legal_read_wait.jsonl", &len), *out;
	char *at = strstr(t, "\"interrupted\":0");
	cr_assert(at);
	char *text;
	cr_assert(asprintf(&text, "%.*s\"interrupted\":2,\"signal\":\"SIGINT\"%s", (int)(at - t), t,
			   at + strlen("\"interrupted\":0")) > 0);
	const char *path = tt_tmp("interrupted.jsonl");
	tt_spit(path, text, strlen(text));
	int rc = tt_np(&out, "check %s", path);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out,
			 "interrupted.jsonl:34: note: interrupted: the run was ended by SIGINT "
			 "(signal 2); everything before the footer was recorded\n"),
		  "%s", out);
	cr_assert(strstr(out, "interrupted.jsonl: legal: 32 events, 1 note\n"), "%s", out);
	free(out);
	/* a `trace` recording ends so when it has no --duration: said as its usual end */
	char *sc = strstr(text, "\"scenario\":\"");
	cr_assert(sc);
	char *trace_text;
	cr_assert(asprintf(&trace_text, "%.*s\"scenario\":\"trace\",\"was\":%s", (int)(sc - text),
			   text, sc + strlen("\"scenario\":")) > 0);
	tt_spit(path, trace_text, strlen(trace_text));
	rc = tt_np(&out, "check %s", path);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "note: interrupted: the trace was ended by SIGINT (signal 2), as a "
			      "trace without --duration ends; everything before the footer was "
			      "recorded\n"),
		  "%s", out);
	free(out);
	free(trace_text);
	free(text);
	free(t);
}

/*
 * A process makes no call once it has exited, nor exits twice: a trace that says otherwise was
 * edited or joined from two (check called both legal).
 */
Test(trace_check, nothing_of_the_process_follows_its_exit, .timeout = 30)
{
	static const char wait[] = "{\"ts\":1000,\"src\":\"kernel\",\"ev\":\"epoll_wait\"";
	const char *after =
	    variant("legal_kernel_seeded.jsonl", "after_exit.jsonl", wait,
		    "{\"ts\":900,\"src\":\"kernel\",\"ev\":\"exit\",\"tid\":200,"
		    "\"code\":0}\n{\"ts\":1000,\"src\":\"kernel\",\"ev\":\"epoll_wait\"",
		    0, NULL, 0);
	check_says(after, 1,
		   "after_exit.jsonl:4: error: after-exit: an event of the process after "
		   "the process exited",
		   NULL);
	const char *twice = variant("legal_kernel_seeded.jsonl", "exit_twice.jsonl", wait,
				    "{\"ts\":900,\"src\":\"kernel\",\"ev\":\"exit\",\"tid\":200,"
				    "\"code\":0}\n{\"ts\":950,\"src\":\"kernel\",\"ev\":\"exit\","
				    "\"tid\":200,\"signal\":9}\n{\"ts\":1000,\"src\":\"kernel\","
				    "\"ev\":\"epoll_wait\"",
				    0, NULL, 0);
	check_says(twice, 1,
		   "exit_twice.jsonl:4: error: exit-twice: a second exit after the process exited",
		   NULL);
}

Test(trace_check, a_trace_without_footer_is_cut_short, .timeout = 30)
{
	char *out;
	int rc = tt_np(&out, "check " TRACES "/truncated_no_footer.jsonl");
	cr_assert_eq(rc, 1);
	cr_assert(strstr(out, "error: no-footer: the trace has no footer: it was cut short after "
			      "line 13"),
		  "%s", out);
	/* cut short, it is not ILLEGAL: nothing it holds breaks a rule */
	cr_assert(strstr(out,
			 "truncated_no_footer.jsonl: INCOMPLETE: cut short, without its footer "
			 "(--allow-truncated accepts that); the 12 events before break no "
			 "rule: 0 violations, 0 notes\n"),
		  "%s", out);
	free(out);
	rc = tt_np(&out, "check --allow-truncated " TRACES "/truncated_no_footer.jsonl");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "note: no-footer:"), "%s", out);
	free(out);
}

Test(trace_check, a_file_killed_mid_line_reads_up_to_the_last_complete_line, .timeout = 30)
{
	size_t len;
	char *t = tt_slurp(TRACES "/legal_read_wait.jsonl", &len);
	/* cut in the middle of line 20, as a SIGKILL during a write would */
	size_t cut = 0;
	for (int nl = 0; cut < len && nl < 19; cut++)
		nl += t[cut] == '\n';
	cut += 25;
	tt_spit(tt_tmp("killed.jsonl"), t, cut);
	free(t);
	char *out;
	int rc = tt_np(&out, "check %s", tt_tmp("killed.jsonl"));
	cr_assert_eq(rc, 1);
	cr_assert(strstr(out, "note: truncated: the last line is incomplete"), "%s", out);
	cr_assert(strstr(out, "error: no-footer: the trace has no footer: it was cut short after "
			      "line 19"),
		  "%s", out);
	cr_assert(strstr(out, "18 events"), "%s", out);
	free(out);
}

/*
 * The header line itself cut short says so (not just "not valid JSON"); a whole header whose
 * newline is missing is read, not called ignored; blank lines before the header are skipped,
 * as they are everywhere else.
 */
Test(trace_check, a_file_cut_in_its_header_says_so, .timeout = 30)
{
	size_t len;
	char *t = tt_slurp(TRACES "/legal_read_wait.jsonl", &len), *out;
	size_t hlen = (size_t)(strchr(t, '\n') - t);
	tt_spit(tt_tmp("in_header.jsonl"), t, 120);
	int rc = tt_np(&out, "check %s", tt_tmp("in_header.jsonl"));
	cr_assert_eq(rc, 1);
	cr_assert(strstr(out, "in_header.jsonl:1: error: schema: header: cut short: the file ends "
			      "inside the header line, after 120 bytes"),
		  "%s", out);
	free(out);
	tt_spit(tt_tmp("header_only.jsonl"), t, hlen);
	rc = tt_np(&out, "check %s", tt_tmp("header_only.jsonl"));
	cr_assert_eq(rc, 1);
	cr_assert(!strstr(out, "ignored"), "the header was read: %s", out);
	cr_assert(strstr(out, "error: no-footer: the trace has no footer: it was cut short after "
			      "line 1"),
		  "%s", out);
	free(out);
	char *blank;
	cr_assert(asprintf(&blank, "\n  \n%s", t) > 0);
	tt_spit(tt_tmp("blank_first.jsonl"), blank, strlen(blank));
	rc = tt_np(&out, "check %s", tt_tmp("blank_first.jsonl"));
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "blank_first.jsonl: legal:"), "%s", out);
	free(out);
	tt_spit(tt_tmp("blank_only.jsonl"), "\n\n", 2);
	rc = tt_np(&out, "check %s", tt_tmp("blank_only.jsonl"));
	cr_assert_eq(rc, 1);
	cr_assert(strstr(out, "no header line: the file holds blank lines only"), "%s", out);
	free(out);
	free(blank);
	free(t);
}

/* ---- malformed input ---- */

struct malformed {
	const char *name;
	const char *text;
	const char *want; /* in check's output */
};

static const struct malformed cases[] = {
    {"bad_json", HDR NOTE "{\"ts\":2,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"\n" NOTE,
     "bad_json.jsonl:3: error: schema: not valid JSON"},
    /* a raw control character in a string: cJSON would take it, JSON and jq do not */
    {"raw_escape", HDR "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"a\x1b[2Jb\"}\n" NOTE,
     "raw_escape.jsonl:2: error: schema: not valid JSON: control character 0x1b at column 42 "
     "(JSON wants it escaped)"},
    {"raw_tab_in_string", HDR "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"a\tb\"}\n" NOTE,
     "raw_tab_in_string.jsonl:2: error: schema: not valid JSON: control character 0x09 at "
     "column 42"},
    /* a name twice: cJSON reads the first, jq the last; neither is taken (RFC 8259 section 4) */
    {"key_twice", HDR "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"a\",\"ts\":5}\n" NOTE,
     "key_twice.jsonl:2: error: schema: field \"ts\": appears twice in one object (JSON readers "
     "disagree on which counts)"},
    {"key_twice_in_a_ready_entry",
     HDR "{\"ts\":1,\"src\":\"kernel\",\"ev\":\"epoll_wait\",\"tid\":9,\"epfd\":3,"
	 "\"maxevents\":8,\"timeout_ms\":0,\"n\":1,\"ready\":[{\"fd\":8,\"events\":1,\"fd\":9,"
	 "\"data\":\"0x8\"}]}\n" NOTE,
     "key_twice_in_a_ready_entry.jsonl:2: error: schema: field \"fd\": appears twice"},
    {"key_twice_in_the_header",
     "{\"format\":\"netpollsim-trace\",\"version\":1,\"version\":2,\"scenario\":\"m\","
     "\"gomaxprocs\":1,\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\"}\n" NOTE,
     "key_twice_in_the_header.jsonl:1: error: schema: header: field \"version\": appears twice"},
    /* an escaped quote does not end the string: the tab after it is still inside */
    {"raw_tab_after_escaped_quote",
     HDR "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"a\\\"\tb\"}\n" NOTE,
     "raw_tab_after_escaped_quote.jsonl:2: error: schema: not valid JSON: control character "
     "0x09 at column 44"},
    /* an fd is -1 (none) or a descriptor */
    {"fd_below_none",
     HDR "{\"ts\":1,\"src\":\"sim\",\"ev\":\"pd_open\",\"fd\":-5,\"pd\":\"0x10\"}\n",
     "fd_below_none.jsonl:2: error: schema: field \"fd\": -5 is out of range [-1, 2147483647]"},
    {"wrong_type",
     HDR "{\"ts\":1,\"src\":\"sim\",\"ev\":\"pd_open\",\"fd\":\"7\",\"pd\":\"0x10\"}\n",
     "wrong_type.jsonl:2: error: schema: field \"fd\": expected an integer, got a string"},
    {"unknown_version",
     "{\"format\":\"netpollsim-trace\",\"version\":99,\"scenario\":\"m\"}\n" NOTE,
     "unknown_version.jsonl:1: error: schema: header: field \"version\": unsupported version "
     "99"},
    /* below the first: no version 0 ever existed */
    {"version_zero", "{\"format\":\"netpollsim-trace\",\"version\":0,\"scenario\":\"m\"}\n" NOTE,
     "version_zero.jsonl:1: error: schema: header: field \"version\": unsupported version 0"},
    {"missing_field",
     HDR "{\"ts\":1,\"src\":\"sim\",\"ev\":\"pd_state\",\"fd\":7,\"pd\":\"0x10\",\"seq\":1,"
	 "\"mode\":\"r\",\"from\":\"nil\",\"fn\":\"netpollblock\"}\n",
     "missing_field.jsonl:2: error: schema: field \"to\": missing"},
    {"missing_ts", HDR "{\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}\n",
     "missing_ts.jsonl:2: error: schema: field \"ts\": missing"},
    {"missing_src", HDR NOTE "{\"ts\":2,\"ev\":\"note\",\"text\":\"x\"}\n",
     "missing_src.jsonl:3: error: schema: field \"src\": missing"},
    {"huge_number", HDR "{\"ts\":1e400,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}\n",
     "huge_number.jsonl:2: error: schema: field \"ts\": 1e400 is not an exact integer"},
    /* numbers strtod (and so cJSON) reads but JSON does not: jq and Python refuse them */
    {"leading_zero", HDR "{\"ts\":01,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}\n" NOTE,
     "leading_zero.jsonl:2: error: schema: field \"ts\": 01 is not a JSON number (column 7: a "
     "leading zero)"},
    {"bare_point", HDR "{\"ts\":1.,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}\n" NOTE,
     "bare_point.jsonl:2: error: schema: field \"ts\": 1. is not a JSON number (column 7: no "
     "digit after the point)"},
    {"point_first",
     HDR "{\"ts\":1,\"src\":\"kernel\",\"ev\":\"epoll_wait\",\"tid\":9,\"epfd\":3,"
	 "\"maxevents\":8,\"timeout_ms\":0,\"n\":1,\"ready\":[{\"fd\":-.8,\"events\":1,"
	 "\"data\":\"0x8\"}]}\n" NOTE,
     "point_first.jsonl:2: error: schema: field \"fd\": -.8 is not a JSON number (column 109: "
     "no digit before the point)"},
    {"leading_zero_in_the_header",
     "{\"format\":\"netpollsim-trace\",\"version\":01,\"scenario\":\"m\",\"gomaxprocs\":1,"
     "\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\"}\n" NOTE,
     "leading_zero_in_the_header.jsonl:1: error: schema: header: field \"version\": 01 is not a "
     "JSON number (column 40: a leading zero)"},
    /* the header's options and clock: of the type and range run and trace write them */
    {"options_huge",
     "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"m\",\"gomaxprocs\":1,"
     "\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\",\"options\":{\"procs\":1e400}}\n" NOTE,
     "options_huge.jsonl:1: error: schema: header: field \"options.procs\": 1e400 is out of "
     "range [1, 32768]"},
    {"options_wrong_type",
     "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"m\",\"gomaxprocs\":1,"
     "\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\",\"options\":{\"clients\":\"2\"}}\n" NOTE,
     "options_wrong_type.jsonl:1: error: schema: header: field \"options.clients\": expected "
     "an integer, got a string"},
    {"options_negative_seed",
     "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"m\",\"gomaxprocs\":1,"
     "\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\",\"options\":{\"seed\":-5}}\n" NOTE,
     "options_negative_seed.jsonl:1: error: schema: header: field \"options.seed\": expected an "
     "integer from 0, got -5"},
    {"another_clock",
     "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"m\",\"gomaxprocs\":1,"
     "\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\",\"clock\":\"CLOCK_REALTIME\"}\n" NOTE,
     "another_clock.jsonl:1: error: schema: header: field \"clock\": expected "
     "\"CLOCK_MONOTONIC\", got \"CLOCK_REALTIME\""},
    {"huge_integer",
     HDR "{\"ts\":123456789012345678901234567890,\"src\":\"sim\",\"ev\":\"note\",\"text\":"
	 "\"x\"}\n",
     "huge_integer.jsonl:2: error: schema: field \"ts\": 123456789012345678901234567890 is not "
     "an exact integer"},
    {"control_chars",
     "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"\\u001b[2J\\u001b]0;pwn"
     "\\u0007\",\"gomaxprocs\":1,\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\"}\n"
     "{\"ts\":1,\"src\":\"sim\",\"ev\":\"\\u001b[31mred\\u009b0m\"}\n"
     "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"\x1b[5mraw\x07\"}\n"
     "{\"ts\":2,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"\\u001b[1m\"}\n",
     "control_chars.jsonl:2: error: schema: field \"ev\": unknown event kind "
     "\\x1b[31mred\\xc2\\x9b0m"},
    {"empty", "", "empty.jsonl: error: schema: empty file: no header line"},
    /* 2^53 + 1 reads as 2^53 in every JSON reader: not exact, refused */
    {"ts_beyond_2_53",
     HDR "{\"ts\":9007199254740993,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}\n",
     "ts_beyond_2_53.jsonl:2: error: schema: field \"ts\": 9007199254740993 is not an exact "
     "integer (integers must be within ±(2^53 - 1) to be exact in JSON)"},
    {"ts_far_below",
     HDR "{\"ts\":-99999999999999999,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}\n",
     "ts_far_below.jsonl:2: error: schema: field \"ts\": -99999999999999999 is not an exact "
     "integer"},
    /* as written, also when the value is exact but the text is not the canonical one */
    {"ts_before_zero_exp",
     HDR NOTE "{\"ts\":-2e3,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}\n",
     "ts_before_zero_exp.jsonl:3: error: schema: field \"ts\": -2e3 is before "
     "CLOCK_MONOTONIC's zero"},
    /* before the origin is fine, before CLOCK_MONOTONIC's zero is not (it wrapped around) */
    {"ts_before_zero", HDR NOTE "{\"ts\":-2000,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}\n",
     "ts_before_zero.jsonl:3: error: schema: field \"ts\": -2000 is before CLOCK_MONOTONIC's "
     "zero (the origin is 1000 ns: ts is at least -1000)"},
    {"origin_too_large",
     "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"m\",\"gomaxprocs\":1,"
     "\"go\":\"go1.22\",\"mono_origin_ns\":\"18446744073709551000\"}\n" NOTE,
     "origin_too_large.jsonl:1: error: schema: header: field \"mono_origin_ns\": "
     "18446744073709551000 is out of range [0, 9214364837600034815]"},
    /* cJSON would end the string at the NUL and drop the rest silently */
    {"nul_in_text",
     HDR "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"a\\u0000b\\u001b[2J\"}\n",
     "nul_in_text.jsonl:2: error: schema: field \"text\": holds \\u0000 (column 42): a NUL "
     "cannot be kept"},
    {"pdv_hex", HDR PD_STATE("\"from\":\"0x10\"", "\"mode\":\"r\""),
     "pdv_hex.jsonl:2: error: schema: field \"from\": expected \"nil\", \"ready\", \"wait\" or "
     "\"G<goid>\", got 0x10"},
    {"pdv_leading_zero", HDR PD_STATE("\"from\":\"G05\"", "\"mode\":\"r\""),
     "pdv_leading_zero.jsonl:2: error: schema: field \"from\": expected \"nil\", \"ready\", "
     "\"wait\" or \"G<goid>\", got G05"},
    {"mode_number", HDR PD_STATE("\"from\":\"nil\"", "\"mode\":114"),
     "mode_number.jsonl:2: error: schema: field \"mode\": expected \"r\" or \"w\", got a number"},
    {"mode_rw", HDR PD_STATE("\"from\":\"nil\"", "\"mode\":\"rw\""),
     "mode_rw.jsonl:2: error: schema: field \"mode\": expected \"r\" or \"w\", got rw"},
    {"footer_false", HDR NOTE "{\"footer\":false," FOOTER_REST,
     "footer_false.jsonl:3: error: schema: footer: field \"footer\": expected true, got false"},
    /* no newline at the end: not an incomplete last line, data after the footer */
    {"junk_after_footer", HDR NOTE "{\"footer\":true," FOOTER_REST "garbage",
     "junk_after_footer.jsonl:4: error: schema: data after the footer (line 3)"},
};

static void check_malformed(const struct malformed *m)
{
	char file[64], *out;
	snprintf(file, sizeof(file), "%s.jsonl", m->name);
	const char *path = tt_tmp(file);
	tt_spit(path, m->text, strlen(m->text));
	char *dir = strdup(path);
	*strrchr(dir, '/') = '\0';
	char cmd[1200], np[512];
	int rc;
	cr_assert(realpath(tu_netpollsim(), np));
	snprintf(cmd, sizeof(cmd), "cd %s && %s check %s", dir, np, file);
	rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 1, "%s: check exit %d\n%s", m->name, rc, out);
	cr_assert(strstr(out, m->want), "%s: expected '%s' in\n%s", m->name, m->want, out);
	cr_assert(tt_terminal_safe(out, strlen(out)), "%s: unsafe output\n%s", m->name, out);
	free(out);
	/* replay and export fail too, as safely: a bad header stops them, a bad event line is
	 * skipped (docs/trace-format.md) and the export still written, without it */
	bool whole = strstr(m->want, ".jsonl:1: ") || strstr(m->want, ".jsonl: error: ");
	snprintf(cmd, sizeof(cmd), "cd %s && %s replay %s --no-ui --narrate", dir, np, file);
	rc = tu_run(cmd, 1, &out);
	cr_assert(rc == 1, "%s: replay exit %d\n%s", m->name, rc, out);
	cr_assert(strstr(out, file), "%s: replay names no file\n%s", m->name, out);
	cr_assert(tt_terminal_safe(out, strlen(out)), "%s: unsafe replay output\n%s", m->name, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "cd %s && %s export %s --format chrome -o %s.json", dir, np,
		 file, m->name);
	rc = tu_run(cmd, 1, &out);
	cr_assert(rc == 1, "%s: export exit %d\n%s", m->name, rc, out);
	cr_assert(tt_terminal_safe(out, strlen(out)));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s/%s.json", dir, m->name);
	if (whole) {
		cr_assert_neq(access(cmd, F_OK), 0, "%s: a failed export left %s", m->name, cmd);
	} else {
		char *doc = tt_slurp(cmd, NULL);
		size_t n = strlen(doc);
		cr_assert(!strncmp(doc, "{\"displayTimeUnit\":", 19) && n > 4 &&
			      !strcmp(doc + n - 4, "\n]}\n"),
			  "%s: the export is not a whole document:\n%s", m->name, doc);
		free(doc);
	}
	free(dir);
}

Test(trace_check, malformed_files_fail_with_file_line_and_field, .timeout = 120)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_malformed(&cases[i]);
}

Test(trace_check, control_characters_never_reach_the_terminal_in_narration, .timeout = 30)
{
	const char *t =
	    "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"\\u001b[2Jx\","
	    "\"gomaxprocs\":1,\"go\":\"go1.22\\u009b\",\"kernel\":\"\\u0007\","
	    "\"mono_origin_ns\":\"1000\"}\n"
	    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"\\u001b]52;c;AAAA\\u0007\"}\n"
	    "{\"footer\":true,\"events\":1,\"counts\":{\"note\":1},\"lost\":{}}\n";
	tt_spit(tt_tmp("esc.jsonl"), t, strlen(t));
	char *out;
	int rc = tt_np(&out, "replay %s --no-ui --narrate", tt_tmp("esc.jsonl"));
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "note: \\x1b]52;c;AAAA\\x07"), "%s", out);
	cr_assert(strstr(out, "\\x1b[2Jx"), "%s", out);
	cr_assert(tt_terminal_safe(out, strlen(out)), "%s", out);
	free(out);
}

/*
 * A footer that is there but wrong is said once, as what it is: not also "no footer, cut short"
 * (a bad footer), and its count is not a violation nor an unreadable line (a wrong count).
 */
Test(trace_check, a_bad_footer_is_not_a_missing_one, .timeout = 30)
{
	const char *bad = variant("legal_read_wait.jsonl", "badfoot.jsonl", "\"events\":32,",
				  "\"events\":\"many\",", 0, NULL, 0);
	check_says(bad, 1, "badfoot.jsonl:34: error: schema: footer: field \"events\"",
		   "no-footer");
	char *out;
	cr_assert_eq(tt_np(&out, "replay %s --no-ui -q", bad), 1);
	cr_assert(!strstr(out, "cut short"), "%s", out);
	free(out);
	const char *wrong = variant("legal_read_wait.jsonl", "wrongfoot.jsonl", "\"events\":32,",
				    "\"events\":33,", 0, NULL, 0);
	check_says(wrong, 1,
		   "ILLEGAL: 1 error (0 violations, 0 unreadable lines, 1 about the file as a "
		   "whole), 0 notes, 32 events",
		   "no-footer");
}

/* An endless first line (`check /dev/zero`) is refused once past the limit, not read forever. */
Test(trace_check, an_endless_header_line_is_refused, .timeout = 30)
{
	char *out;
	int rc = tt_np(&out, "check /dev/zero");
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "/dev/zero:1: error: schema: line longer than 1048576 bytes (not a "
			      "trace?)"),
		  "%s", out);
	free(out);
}

Test(trace_check, a_binary_file_is_refused, .timeout = 30)
{
	static unsigned char bin[65536];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(bin); i++) {
		x = x * 1103515245u + 12345u;
		bin[i] = (unsigned char)(x >> 16);
	}
	bin[3] = 0;
	tt_spit(tt_tmp("blob.bin"), bin, sizeof(bin));
	char *out;
	int rc = tt_np(&out, "check %s", tt_tmp("blob.bin"));
	cr_assert_eq(rc, 1);
	cr_assert(strstr(out, "blob.bin:1: error: schema: header:"), "%s", out);
	cr_assert(tt_terminal_safe(out, strlen(out)), "%s", out);
	free(out);
}

Test(trace_check, a_100mb_line_is_refused_in_bounded_memory, .timeout = 120)
{
	const char *path = tt_tmp("huge_line.jsonl");
	FILE *f = fopen(path, "wb");
	cr_assert(f);
	fputs(HDR "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"", f);
	static char chunk[1 << 20];
	memset(chunk, 'A', sizeof(chunk));
	for (int i = 0; i < 100; i++)
		fwrite(chunk, 1, sizeof(chunk), f);
	fputs("\"}\n" NOTE "{\"footer\":true,\"events\":1,\"counts\":{\"note\":1},\"lost\":{}}\n",
	      f);
	fclose(f);
	char *out;
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "/usr/bin/time -f 'maxrss %%M KB' %s check %s", tu_netpollsim(),
		 path);
	int rc = tu_run(cmd, 1, &out);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "huge_line.jsonl:2: error: schema: line longer than 1048576 bytes: "
			      "skipped"),
		  "%s", out);
	cr_assert(strstr(out, ": ILLEGAL: 1 error ("), "the lines after it are read:\n%s", out);
	const char *m = strstr(out, "maxrss ");
	cr_assert(m, "%s", out);
	long kb = atol(m + 7);
	cr_assert_lt(kb, 64 * 1024, "check used %ld KB on a 100 MB line", kb);
	free(out);
}

/*
 * A program that is not Go closes without EPOLL_CTL_DEL thousands of times (nginx): each rule's
 * notes are printed ten at a time, the rest counted on one line, and --max-notes shows more; an
 * error is never hidden by them, and every note is counted in the verdict.
 */
Test(trace_check, a_repeated_note_is_shown_ten_times_and_counted, .timeout = 30)
{
	const char *path = tt_tmp("repeated.jsonl");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fputs(HDR, f);
	for (int i = 0; i < 15; i++)
		fprintf(f,
			"{\"ts\":%d,\"src\":\"kernel\",\"ev\":\"epoll_ctl\",\"tid\":1,\"fd\":7,"
			"\"op\":\"ADD\",\"epfd\":5,\"events\":1,\"data\":\"0x10\",\"ret\":0}\n",
			1000 + i);
	fputs("{\"footer\":true,\"events\":15,\"counts\":{\"epoll_ctl\":15},\"lost\":{}}\n", f);
	fclose(f);
	tt_spit(path, text, len);
	free(text);
	char *out;
	cr_assert_eq(tt_np(&out, "check %s", path), 0, "%s", out);
	cr_assert_eq(tu_count_lines(out, ": note: closed-without-del: "), 10, "%s", out);
	cr_assert(strstr(out, "repeated.jsonl:12: note: closed-without-del"), "%s", out);
	cr_assert(strstr(out, "repeated.jsonl: 4 more closed-without-del notes not shown "
			      "(--max-notes N shows more)\n"),
		  "%s", out);
	cr_assert(strstr(out, "repeated.jsonl: legal: 15 events, 14 notes\n"), "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "check --max-notes 14 %s", path), 0, "%s", out);
	cr_assert_eq(tu_count_lines(out, ": note: closed-without-del: "), 14, "%s", out);
	cr_assert(!strstr(out, "not shown"), "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "check --max-notes 13 %s", path), 0, "%s", out);
	cr_assert(strstr(out, ": 1 more closed-without-del note not shown "), "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "check --max-notes 0 %s", path), 2, "%s", out);
	cr_assert_str_eq(out,
			 "netpollsim check: --max-notes '0': wants a number from 1 to 1000000\n");
	free(out);
}

Test(trace_check, usage_errors, .timeout = 30)
{
	char *out;
	cr_assert_eq(tt_np(&out, "check"), 2);
	cr_assert(strstr(out, "no trace file given"), "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "check --max-errors 0 x"), 2);
	free(out);
	cr_assert_eq(tt_np(&out, "check --help"), 0);
	cr_assert(strstr(out, "usage: netpollsim check"), "%s", out);
	free(out);
	/*
	 * a file that cannot be opened is not a trace with an unreadable line: one line says so,
	 * and one more where the samples are (a sample's name typed wrong?), no report
	 */
	cr_assert_eq(tt_np(&out, "check /nonexistent/trace.jsonl"), 1);
	static const char want[] =
	    "netpollsim check: /nonexistent/trace.jsonl: cannot open: No "
	    "such file or directory\nnetpollsim check: the sample traces are "
	    "in ";
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s", out);
	cr_assert_eq(tu_count_lines(out, ""), 2, "%s", out);
	free(out);
}
