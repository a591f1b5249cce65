// SPDX-License-Identifier: MIT
/*
 * `netpollsim export`: the Chrome document obeys the rules Perfetto's JSON importer applies
 * (shared/docs/peers.md section 4), checked here event by event: displayTimeUnit first, no \u
 * escapes, known phases with their required fields, X slices that never overlap on a lane except
 * by nesting, v2 flows whose every bind_id starts with flow_out and ends with flow_in,
 * single-series counters, names and sort indices for every process and lane. The flow of a
 * wake-up is followed from epoll to the goroutine running. The jsonl export round-trips, keeps
 * the header and footer as they were and writes valid UTF-8 without controls. The output: a
 * regular file is replaced whole (keeping its mode), a symlink followed, a FIFO or device written
 * in place, the input never overwritten, nothing left behind by a failure or a stop signal.
 */
#include "tests/test_trace_util.h"

#include <ctype.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "traces/json.h"

struct slice {
	double ts, end;
	const char *name;
	int tid;
	int index; /* a kernel ready entry's place in its ready list (args.index), else -1 */
	int ret;   /* an epoll_wait's return (args.n), else 0 */
	const struct slice *parent; /* the one it nests in directly, as Perfetto draws it */
	int seq;		    /* its place in the document */
};

static int by_start(const void *a, const void *b)
{
	const struct slice *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1; /* the enclosing one first */
	/*
	 * the same span: the first in the document holds the other, as a sort by time that keeps
	 * the order of equal ones (Perfetto's, we assume) nests them; qsort is not stable
	 */
	return x->seq - y->seq;
}

struct flowstep {
	double ts, dur;
	bool in, out;
	const char *name;
	int seq; /* its place in the document */
};

/*
 * The order in which Perfetto's importer reads a flow's slices, which must be the flow's: its
 * sorter (trace_sorter.h, SlowOperatorLess) orders JSON events by ts, X slices of equal ts
 * longest first, then by their place in the file. A step read before the one it follows gets
 * no arrow (stats: flow_end_without_start).
 */
static int by_perfetto(const void *a, const void *b)
{
	const struct flowstep *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->dur != y->dur)
		return x->dur > y->dur ? -1 : 1;
	return x->seq - y->seq;
}

static double dur_of(const cJSON *e)
{
	const cJSON *d = cJSON_GetObjectItem(e, "dur");
	return cJSON_IsNumber(d) ? d->valuedouble : 0;
}

/*
 * The kernel copies a ready list out as epoll_wait returns: its entries are the last slices in
 * the wait's (s[0..n): one lane, sorted by start, parents set), each at most 1 µs, one after
 * the other in the list's order, the last ending with the wait (the one that returned them: as
 * many entries as it returned, at most). Entries that shared a start or were drawn out of order
 * would show as parent and child, or tell another order than the kernel's.
 */
static void assert_ready_entries_end_their_wait(const struct slice *s, int n, const char *path)
{
	const struct slice *wait = NULL, *prev = NULL;
	for (int i = 0; i <= n; i++) {
		const struct slice *r = i < n ? &s[i] : NULL;
		if (r && strncmp(r->name, "ready", 5))
			continue;
		const struct slice *w = r ? r->parent : NULL;
		if (w != wait) { /* the entries of one wait are together: it has no other child */
			cr_assert(!prev || !wait || fabs(prev->end - wait->end) <= 1e-6,
				  "%s: the last ready entry of '%s' [%.3f, %.3f] ends at %.3f",
				  path, wait->name, wait->ts, wait->end, prev->end);
			wait = w;
			prev = NULL;
		}
		if (!r)
			break;
		cr_assert_leq(r->end - r->ts, 1 + 1e-6, "%s: '%s' at %.3f lasts %.3f µs", path,
			      r->name, r->ts, r->end - r->ts);
		cr_assert(!w || r->index < w->ret,
			  "%s: ready entry %d at %.3f in a wait that returned %d", path, r->index,
			  r->ts, w->ret);
		if (prev) {
			cr_assert(fabs(r->ts - prev->end) <= 1e-6,
				  "%s: '%s' at %.3f does not follow '%s' [%.3f, %.3f]", path,
				  r->name, r->ts, prev->name, prev->ts, prev->end);
			cr_assert_gt(r->index, prev->index,
				     "%s: ready entry %d drawn after entry %d at %.3f", path,
				     r->index, prev->index, r->ts);
		}
		prev = r;
	}
}

/*
 * The slice a slice is drawn in (the prefix of its name): a kernel ready entry in the
 * epoll_wait that returned it, a netpoll_event's step (netpollready, stale, break-drain...) in
 * its netpoll call, directly (in another entry it would tell of a step that never happened),
 * also when an event came late: nested, not moved after it. NULL for the slices of the lanes
 * themselves (a wait, a netpoll call, a G running, an M idle, a pollDesc's or a goroutine's
 * state), each after its lane's previous one: nested in it, one would hide the other.
 */
static const char *parent_kind(int pid, const char *name)
{
	if (pid == 4)
		return strncmp(name, "ready", 5) ? NULL : "epoll_";
	if (pid == 3 && strncmp(name, "netpoll #", 9) && strcmp(name, "idle (stopm)") &&
	    !(name[0] == 'G' && isdigit((unsigned char)name[1])))
		return "netpoll #";
	return NULL;
}

/* The args of the metadata event name of process pid (and lane tid, unless tid < 0), or NULL. */
static const cJSON *meta_args(const cJSON *evs, const char *name, int pid, int tid)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, evs)
	{
		const cJSON *ph = cJSON_GetObjectItem(e, "ph"), *n = cJSON_GetObjectItem(e, "name");
		const cJSON *p = cJSON_GetObjectItem(e, "pid"), *t = cJSON_GetObjectItem(e, "tid");
		if (strcmp(ph->valuestring, "M") || strcmp(n->valuestring, name) ||
		    p->valueint != pid)
			continue;
		if (tid < 0 || (t && t->valueint == tid))
			return cJSON_GetObjectItem(e, "args");
	}
	return NULL;
}

static bool has_meta(const cJSON *evs, const char *name, int pid, int tid)
{
	return meta_args(evs, name, pid, tid) != NULL;
}

/* Validate a Chrome trace document against Perfetto's rules; returns the parsed document. */
static cJSON *validate_chrome(const char *path)
{
	size_t len;
	char *text = tt_slurp(path, &len);
	cr_assert(!strncmp(text, "{\"displayTimeUnit\":", 19), "%s: displayTimeUnit is not first",
		  path);
	cr_assert(!strstr(text, "\\u"), "%s: \\u escapes (old Perfetto tokenizers reject them)",
		  path);
	cr_assert(tt_terminal_safe(text, len));
	cJSON *doc = cJSON_Parse(text);
	free(text);
	cr_assert(doc, "%s: not JSON", path);
	cJSON *evs = cJSON_GetObjectItem(doc, "traceEvents");
	cr_assert(cJSON_IsArray(evs));
	int n = cJSON_GetArraySize(evs);
	cr_assert_gt(n, 10);
	struct {
		int pid, tid;
		struct slice s[4096];
		int n;
	} *lanes = calloc(256, sizeof(*lanes));
	int nlanes = 0;
	struct {
		double id;
		struct flowstep st[16];
		int n;
	} *flows = calloc(512, sizeof(*flows));
	int nflows = 0;
	const cJSON *e;
	double min_ts = -1;
	int seq = 0;
	cJSON_ArrayForEach(e, evs)
	{
		const cJSON *ph = cJSON_GetObjectItem(e, "ph"),
			    *pid = cJSON_GetObjectItem(e, "pid");
		const cJSON *tid = cJSON_GetObjectItem(e, "tid"),
			    *ts = cJSON_GetObjectItem(e, "ts");
		const cJSON *name = cJSON_GetObjectItem(e, "name"),
			    *args = cJSON_GetObjectItem(e, "args");
		char *dump = cJSON_PrintUnformatted(e);
		cr_assert(cJSON_IsString(ph) && strlen(ph->valuestring) == 1, "%s", dump);
		cr_assert(cJSON_IsNumber(pid) && pid->valuedouble == floor(pid->valuedouble), "%s",
			  dump);
		cr_assert(cJSON_IsString(name) && *name->valuestring, "%s", dump);
		char p = ph->valuestring[0];
		cr_assert(strchr("XiCM", p), "unexpected phase: %s", dump);
		if (p != 'M') {
			cr_assert(cJSON_IsNumber(ts) && ts->valuedouble >= 0, "ts: %s", dump);
			if (min_ts < 0 || ts->valuedouble < min_ts)
				min_ts = ts->valuedouble;
			cr_assert(has_meta(evs, "process_name", pid->valueint, -1), "no name: %s",
				  dump);
			cr_assert(has_meta(evs, "process_sort_index", pid->valueint, -1), "%s",
				  dump);
		}
		if (p == 'X' ||
		    (p == 'i' && !strcmp(cJSON_GetObjectItem(e, "s")->valuestring, "t")))
			cr_assert(
			    has_meta(evs, "thread_name", pid->valueint, tid->valueint) &&
				has_meta(evs, "thread_sort_index", pid->valueint, tid->valueint),
			    "lane without name or sort index: %s", dump);
		if (p == 'i') {
			const cJSON *s = cJSON_GetObjectItem(e, "s");
			cr_assert(cJSON_IsString(s) && strchr("gpt", s->valuestring[0]), "%s",
				  dump);
		}
		if (p == 'C') {
			cr_assert(cJSON_IsObject(args) && cJSON_GetArraySize(args) == 1 &&
				      cJSON_IsNumber(args->child),
				  "counters are single-series: %s", dump);
		}
		if (p == 'M') {
			const char *mn = name->valuestring;
			cr_assert(!strcmp(mn, "process_name") || !strcmp(mn, "thread_name") ||
				      !strcmp(mn, "process_sort_index") ||
				      !strcmp(mn, "thread_sort_index"),
				  "%s", dump);
			const cJSON *a = strstr(mn, "name")
					     ? cJSON_GetObjectItem(args, "name")
					     : cJSON_GetObjectItem(args, "sort_index");
			cr_assert(a && (cJSON_IsString(a) || cJSON_IsNumber(a)), "%s", dump);
		}
		const cJSON *bind = cJSON_GetObjectItem(e, "bind_id");
		if (bind) {
			cr_assert_eq(p, 'X', "flows only on X slices (Catapult): %s", dump);
			bool in = cJSON_IsTrue(cJSON_GetObjectItem(e, "flow_in"));
			bool out = cJSON_IsTrue(cJSON_GetObjectItem(e, "flow_out"));
			cr_assert(in || out, "flow_without_direction: %s", dump);
			int f;
			for (f = 0; f < nflows && flows[f].id != bind->valuedouble; f++)
				;
			if (f == nflows) {
				cr_assert_lt(nflows, 512);
				flows[nflows++].id = bind->valuedouble;
			}
			cr_assert_lt(flows[f].n, 16);
			flows[f].st[flows[f].n++] = (struct flowstep){
			    ts->valuedouble, dur_of(e), in, out, name->valuestring, seq};
		}
		if (p == 'X') {
			const cJSON *dur = cJSON_GetObjectItem(e, "dur");
			/* Perfetto stacks a zero-duration slice on the next one at its time */
			cr_assert(cJSON_IsNumber(dur) && dur->valuedouble > 0, "dur: %s", dump);
			int l;
			for (l = 0; l < nlanes && (lanes[l].pid != pid->valueint ||
						   lanes[l].tid != tid->valueint);
			     l++)
				;
			if (l == nlanes) {
				cr_assert_lt(nlanes, 256);
				lanes[nlanes].pid = pid->valueint;
				lanes[nlanes++].tid = tid->valueint;
			}
			cr_assert_lt(lanes[l].n, 4096);
			const cJSON *index = cJSON_GetObjectItem(args, "index"),
				    *ret = cJSON_GetObjectItem(args, "n");
			lanes[l].s[lanes[l].n++] =
			    (struct slice){.ts = ts->valuedouble,
					   .end = ts->valuedouble + dur->valuedouble,
					   .name = name->valuestring,
					   .tid = tid->valueint,
					   .index = cJSON_IsNumber(index) ? index->valueint : -1,
					   .ret = cJSON_IsNumber(ret) ? ret->valueint : 0,
					   .seq = seq};
		}
		free(dump);
		seq++;
	}
	/* slices on one lane nest or follow each other (else Perfetto moves them aside) */
	for (int l = 0; l < nlanes; l++) {
		struct slice *s = lanes[l].s, *stack[64];
		int depth = 0;
		qsort(s, (size_t)lanes[l].n, sizeof(*s), by_start);
		for (int i = 0; i < lanes[l].n; i++) {
			while (depth && stack[depth - 1]->end <= s[i].ts + 1e-6)
				depth--;
			if (depth)
				cr_assert(s[i].end <= stack[depth - 1]->end + 1e-6,
					  "%s: pid %d tid %d: slice [%.3f, %.3f] overlaps [%.3f, "
					  "%.3f]",
					  path, lanes[l].pid, lanes[l].tid, s[i].ts, s[i].end,
					  stack[depth - 1]->ts, stack[depth - 1]->end);
			cr_assert_lt(depth, 64);
			s[i].parent = depth ? stack[depth - 1] : NULL;
			stack[depth++] = &s[i];
		}
	}
	for (int l = 0; l < nlanes; l++) {
		for (int i = 0; i < lanes[l].n; i++) {
			const struct slice *r = &lanes[l].s[i];
			const char *kind = parent_kind(lanes[l].pid, r->name);
			cr_assert(kind ? r->parent && !strncmp(r->parent->name, kind, strlen(kind))
				       : !r->parent,
				  "%s: '%s' at %.3f is in %s, not in %s", path, r->name, r->ts,
				  r->parent ? r->parent->name : "nothing", kind ? kind : "nothing");
			/* a goroutine runs on one M at a time: no other M lane shows it then */
			bool g = r->name[0] == 'G' && isdigit((unsigned char)r->name[1]);
			for (int o = 0; g && lanes[l].pid == 3 && o < nlanes; o++)
				for (int k = 0; o != l && lanes[o].pid == 3 && k < lanes[o].n;
				     k++) {
					const struct slice *q = &lanes[o].s[k];
					cr_assert(
					    strcmp(q->name, r->name) || q->end <= r->ts + 1e-6 ||
						r->end <= q->ts + 1e-6,
					    "%s: %s on M lanes %d and %d at once (%.3f, %.3f)",
					    path, r->name, r->tid, q->tid, r->ts, q->ts);
				}
		}
		assert_ready_entries_end_their_wait(lanes[l].s, lanes[l].n, path);
	}
	/* a pollDesc lane names the fds it served, never "fd -1" */
	cJSON_ArrayForEach(e, evs)
	{
		const cJSON *a = cJSON_GetObjectItem(e, "args"),
			    *nm = cJSON_GetObjectItem(a, "name");
		if (!strcmp(cJSON_GetObjectItem(e, "name")->valuestring, "thread_name"))
			cr_assert(!strstr(nm->valuestring, "-1"), "%s: lane '%s'", path,
				  nm->valuestring);
	}
	/* rebased: the first event is at 0 µs (Perfetto shows the trace from its start) */
	cr_assert_eq(min_ts, 0, "%s: the earliest event is at %.3f µs, not 0", path, min_ts);
	/* every flow, in the order Perfetto reads it: out-only first, in-only last, both between */
	for (int f = 0; f < nflows; f++) {
		struct flowstep *st = flows[f].st;
		int k = flows[f].n;
		qsort(st, (size_t)k, sizeof(*st), by_perfetto);
		cr_assert_geq(k, 2, "flow %g has one step", flows[f].id);
		for (int i = 0; i < k; i++) {
			bool first = i == 0, last = i == k - 1;
			cr_assert(st[i].in == !first && st[i].out == !last,
				  "flow %g step %d (%s): in %d out %d", flows[f].id, i, st[i].name,
				  st[i].in, st[i].out);
		}
	}
	free(lanes);
	free(flows);
	return doc;
}

/* The names of the slices of the flow that starts at a slice named first, in time order. */
static int flow_from(cJSON *doc, const char *first, const char **names, int max)
{
	cJSON *evs = cJSON_GetObjectItem(doc, "traceEvents"), *e;
	double id = -1;
	cJSON_ArrayForEach(e, evs)
	{
		cJSON *b = cJSON_GetObjectItem(e, "bind_id");
		if (b && !strcmp(cJSON_GetObjectItem(e, "name")->valuestring, first) &&
		    !cJSON_GetObjectItem(e, "flow_in"))
			id = b->valuedouble;
	}
	cr_assert_geq(id, 0, "no flow starts at '%s'", first);
	struct flowstep st[16];
	int n = 0, seq = 0;
	cJSON_ArrayForEach(e, evs)
	{
		cJSON *b = cJSON_GetObjectItem(e, "bind_id");
		if (b && b->valuedouble == id && n < 16)
			st[n++] = (struct flowstep){
			    cJSON_GetObjectItem(e, "ts")->valuedouble,	 dur_of(e), 0, 0,
			    cJSON_GetObjectItem(e, "name")->valuestring, seq};
		seq++;
	}
	qsort(st, (size_t)n, sizeof(*st), by_perfetto);
	for (int i = 0; i < n && i < max; i++)
		names[i] = st[i].name;
	return n;
}

static cJSON *export_chrome(const char *in, const char *name)
{
	char *out;
	const char *path = tt_tmp(name);
	int rc = tt_np(&out, "export %s --format chrome -o %s", in, path);
	cr_assert_eq(rc, 0, "%s", out);
	/* nothing said, but that a trace made by hand without a footer has none */
	cr_assert(!*out ||
		      (strstr(out, ": the trace has no footer: it was cut short after line ") &&
		       !strchr(out, '\n')[1]),
		  "%s", out);
	free(out);
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "jq empty %s", path);
	cr_assert_eq(tu_run(cmd, 1, NULL), 0, "jq does not parse %s", path);
	return validate_chrome(path);
}

/* The chrome export of in, checked, as one line of text (free it). */
static char *export_text(const char *in, const char *name)
{
	cJSON *doc = export_chrome(in, name);
	char *text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}

Test(trace_export, chrome_documents_follow_perfettos_rules, .timeout = 120)
{
	static const char *const legal[] = {
	    "legal_read_wait",	"legal_races",	    "legal_kernel",	"legal_lost",
	    "legal_lost_moved", "legal_late_ready", "legal_ready_both", "truncated_no_footer"};
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++) {
		char in[256], out[64];
		snprintf(in, sizeof(in), TRACES "/%s.jsonl", legal[i]);
		snprintf(out, sizeof(out), "%s.json", legal[i]);
		cJSON_Delete(export_chrome(in, out));
	}
	/* and every sample a class opens in Perfetto */
	static const char *const samples[] = {"echo",	      "echo-kernel", "deadline",
					      "close",	      "slow-reader", "ready-before-park",
					      "accept-burst", "break"};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char in[256], out[64];
		snprintf(in, sizeof(in), "traces/samples/%s.jsonl", samples[i]);
		snprintf(out, sizeof(out), "sample-%s.json", samples[i]);
		cJSON_Delete(export_chrome(in, out));
	}
}

/*
 * A student gives replay the export instead of the recording: it says what the file is and what
 * to give instead, as written and squeezed onto one line (jq -c), not "not valid JSON".
 */
Test(trace_export, an_export_given_back_is_named_for_what_it_is, .timeout = 60)
{
	cJSON *doc = export_chrome("traces/samples/deadline.jsonl", "given-back.json");
	const char *one = tt_tmp("given-back-1.json");
	char *text = cJSON_PrintUnformatted(doc);
	FILE *f = fopen(one, "w");
	cr_assert(f && text);
	fprintf(f, "%s\n", text);
	fclose(f);
	free(text);
	cJSON_Delete(doc);
	const char *files[] = {tt_tmp("given-back.json"), one};
	for (size_t i = 0; i < 2; i++) {
		char *out;
		cr_assert_eq(tt_np(&out, "replay %s --no-ui", files[i]), 1, "%s", out);
		cr_assert(strstr(out,
				 ":1: header: a Chrome trace-event document (as 'netpollsim "
				 "export --format chrome' writes, for Perfetto), not a netpollsim "
				 "trace: give the .jsonl recording it was exported from"),
			  "%s", out);
		free(out);
		cr_assert_eq(tt_np(&out, "check %s", files[i]), 1, "%s", out);
		cr_assert(strstr(out, "a Chrome trace-event document"), "%s", out);
		free(out);
	}
}

/* The flow that starts at a slice named first has the steps named want (n of them). */
static void assert_flow(cJSON *doc, const char *first, const char *const *want, int n)
{
	const char *names[16];
	int got = flow_from(doc, first, names, 16);
	cr_assert_eq(got, n, "the flow from '%s' has %d steps", first, got);
	for (int i = 0; i < n; i++)
		cr_assert_str_eq(names[i], want[i], "%s: step %d", first, i);
}

Test(trace_export, a_wake_up_is_one_flow_from_epoll_to_the_running_goroutine, .timeout = 60)
{
	static const char *const want[] = {"ready fd 7", "netpollready fd 7", "pdReady", "runnable",
					   "running"};
	cJSON *doc = export_chrome(TRACES "/legal_kernel.jsonl", "kernel.json");
	assert_flow(doc, "ready fd 7", want, 5);
	cJSON_Delete(doc);
	/* without the kernel view the flow starts at the runtime's netpoll */
	doc = export_chrome(TRACES "/legal_read_wait.jsonl", "read_wait.json");
	assert_flow(doc, "netpollready fd 7", want + 1, 4);
	cJSON_Delete(doc);
}

/* A wait whose entry the probes missed (dur 0) says its blocked time is unknown, as narrated. */
Test(trace_export, a_wait_begun_before_tracing_says_so, .timeout = 60)
{
	char *text = export_text(TRACES "/legal_kernel_agree.jsonl", "unknown-dur.json");
	cr_assert(strstr(text, "\"name\":\"epoll_pwait (blocked time unknown)\""), "%s", text);
	cr_assert(strstr(text, "\"n\":-4,\"blocked\":\"unknown: begun before tracing\""), "%s",
		  text);
	/* a wait the probes saw whole has no such mark */
	int marks = 0;
	for (const char *at = text; (at = strstr(at, "(blocked time unknown)")); at++)
		marks++;
	cr_assert_eq(marks, 1, "%d waits marked", marks);
	free(text);
}

/*
 * One kernel entry that readies both sides (EPOLLIN|EPOLLOUT) wakes a reader and a writer: a
 * slice carries one flow, so the writer's arrow starts at a slice of its own in the same netpoll
 * call, right after the reader's (it had none before: it began at the pollDesc).
 */
Test(trace_export, an_entry_waking_both_sides_gives_each_its_arrow, .timeout = 60)
{
	static const char *const rd[] = {"ready fd 7", "netpollready fd 7", "pdReady", "runnable",
					 "running"};
	static const char *const wr[] = {"netpollready fd 7 (wg too)", "pdReady", "runnable",
					 "running"};
	cJSON *doc = export_chrome(TRACES "/legal_ready_both.jsonl", "both.json");
	assert_flow(doc, "ready fd 7", rd, 5);
	assert_flow(doc, "netpollready fd 7 (wg too)", wr, 4);
	cJSON_Delete(doc);
}

/* text with the len bytes at at replaced by with, into path: a trace edited by hand. */
static void spit_edited(const char *path, const char *text, const char *at, size_t len,
			const char *with)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot create %s", path);
	fprintf(f, "%.*s%s%s", (int)(at - text), text, with, at + len);
	fclose(f);
}

/*
 * Events out of time order (a live merge's late events, or a file edited) and an epoll_wait
 * that claims to have blocked longer than the trace lasts still give slices that nest, on a
 * timeline that starts at the trace's start and ends at its end.
 */
Test(trace_export, late_events_and_a_bad_duration_still_nest, .timeout = 60)
{
	const char *late = tt_tmp("late.jsonl"), *bad = tt_tmp("baddur.jsonl");
	char cmd[1200];
	/* echo's lines 58 and 59 swapped: G2's step to runnable comes after its later run */
	snprintf(cmd, sizeof(cmd),
		 "awk 'NR==58{a=$0;next} NR==59{print;print a;next} {print}' "
		 "traces/samples/echo.jsonl >%s",
		 late);
	cr_assert_eq(tu_run(cmd, 1, NULL), 0);
	cJSON_Delete(export_chrome(late, "late.json"));
	/* the first epoll_wait's dur made 2^53 - 1 ns: longer than the trace, by centuries */
	char *text = tt_slurp("traces/samples/echo-kernel.jsonl", NULL);
	char *w = strstr(text, "\"ev\":\"epoll_wait\""), *d = w ? strstr(w, "\"dur\":") : NULL;
	cr_assert(d && d < strchr(w, '\n'), "no epoll_wait with a dur");
	d += 6;
	spit_edited(bad, text, d, strspn(d, "0123456789"), "9007199254740991");
	free(text);
	cJSON *doc = export_chrome(bad, "baddur.json"), *e;
	double span = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "traceEvents"))
	{
		const cJSON *ts = cJSON_GetObjectItem(e, "ts"),
			    *dur = cJSON_GetObjectItem(e, "dur");
		double end = (ts ? ts->valuedouble : 0) + (dur ? dur->valuedouble : 0);
		span = end > span ? end : span;
	}
	/* the sample lasts under a second; a wrapped start would put it centuries away */
	cr_assert_lt(span, 1e6, "the timeline ends at %.3f µs", span);
	cJSON_Delete(doc);
}

/* Line n (from 1) of text, or NULL past its end. */
static char *line_at(char *text, unsigned n)
{
	for (unsigned i = 1; i < n && text; i++) {
		text = strchr(text, '\n');
		text = text ? text + 1 : NULL;
	}
	return text && *text ? text : NULL;
}

/*
 * in with line n stamped delta ns after line from, into out (line n - 1 and -1: out of time
 * order by a hair, as a live merge's late event). False when either line is no event (the
 * header, the footer, past the end).
 */
static bool restamped(const char *in, unsigned n, unsigned from, long long delta, const char *out)
{
	char *text = tt_slurp(in, NULL), *line = line_at(text, n), *src = line_at(text, from);
	bool ok = line && src && !strncmp(src, "{\"ts\":", 6) && !strncmp(line, "{\"ts\":", 6);
	if (ok) {
		char ts[24];
		snprintf(ts, sizeof(ts), "%lld", strtoll(src + 6, NULL, 10) + delta);
		spit_edited(out, text, line + 6, strspn(line + 6, "-0123456789"), ts);
	}
	free(text);
	return ok;
}

/*
 * in restamped (line n at line from's ts + delta, before an event written earlier) exports to
 * a document the validator accepts: every slice at least 1 ns, each after its lane's previous
 * one or nested in it (Perfetto drops a slice that overlaps another without nesting), ready
 * entries and netpoll_event steps directly in their parents. Export does not judge the
 * order: it exits 0 and says nothing (export_chrome asserts that; nor does it compare the
 * footer's "late" count, absent from these files, with the events). The document says what
 * check would: an "ILLEGAL ts-order" instant naming line n. False when a line is no event.
 */
static bool exports_restamped(const char *in, unsigned n, unsigned from, long long delta)
{
	const char *late = tt_tmp("restamped.jsonl");
	if (!restamped(in, n, from, delta, late))
		return false;
	cJSON *doc = export_chrome(late, "restamped.json"), *e;
	bool marked = false;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "traceEvents"))
	{
		const cJSON *line = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "args"), "line");
		marked |=
		    !strcmp(cJSON_GetObjectItem(e, "name")->valuestring, "ILLEGAL ts-order") &&
		    cJSON_IsNumber(line) && line->valueint == (int)n;
	}
	cr_assert(marked,
		  "%s with line %u at line %u's ts %+lld ns: no ILLEGAL ts-order at line %u", in, n,
		  from, delta, n);
	cJSON_Delete(doc);
	return true;
}

/* Is line n one of the lines skip[4] lists (0: none)? */
static bool skipped(const unsigned skip[4], unsigned n)
{
	for (int i = 0; i < 4; i++)
		if (skip[i] == n)
			return true;
	return false;
}

Test(trace_export, an_event_late_by_a_hair_still_nests, .timeout = 120)
{
	static const char both[] = TRACES "/legal_ready_both.jsonl",
			  agree[] = TRACES "/legal_kernel_agree.jsonl",
			  off[] = TRACES "/legal_kernel_off.jsonl";
	/*
	 * legal_ready_both's netpoll_end (line 30) 1 ns before the writer's netpollready (line
	 * 29), which began the "(wg too)" slice: the netpoll call must still hold it. (Line 30 1
	 * ns before its own ts is still after line 29: no event of that file shares a ts.)
	 */
	cr_assert(exports_restamped(both, 30, 29, -1));
	/* a second netpoll_event in the same ns as the first: after it, not around it */
	cr_assert(exports_restamped(agree, 34, 32, 0));
	/*
	 * every event of both, of agree (waits back to back) and of kernel_off (a netpoll_event
	 * right after its netpoll_begin), 1 ns before the one before it, in turn (a pd_state to
	 * pdReady stamped before the netpollready it follows, agree's 26 and 35, kernel_off's 21,
	 * 26 and 28, is drawn after it: the flow's steps in time order; a netpoll_event 1 ns before
	 * its netpoll_begin, kernel_off's 20, the call's only child, ends before its call, which
	 * it would hold with the same span, written first)
	 */
	static const struct {
		const char *in;
		unsigned skip[4];
	} ins[] = {{both, {0, 0}}, {agree, {0, 0}}, {off, {0, 0}}};
	for (size_t i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		unsigned n = 3; /* line 2, the first event, has no event before it */
		for (; skipped(ins[i].skip, n) || exports_restamped(ins[i].in, n, n - 1, -1); n++)
			;
		cr_assert_gt(n, 30, "%s: only %u lines", ins[i].in, n);
	}
}

/*
 * A `trace --pid` recording has no runtime: no runtime counters and no empty runtime tracks
 * (pollDescs, goroutines, Ms), the interest set read from /proc at attach on a lane that says
 * so (not "tid 0"), and a DEL without the mask and data the kernel ignores (CPython passes
 * garbage there).
 */
Test(trace_export, a_kernel_only_trace_shows_the_kernel_alone, .timeout = 60)
{
	char *text = export_text(TRACES "/legal_kernel_seeded.jsonl", "seeded.json");
	cr_assert(strstr(text, "\"args\":{\"name\":\"/proc: interest set at attach\"}"), "%s",
		  text);
	cr_assert(!strstr(text, "tid 0"), "%s", text);
	cr_assert(!strstr(text, "parked_goroutines"), "%s", text);
	cr_assert(!strstr(text, "registered_fds"), "%s", text);
	cr_assert(strstr(text, "\"name\":\"lost_events\""), "%s", text);
	cr_assert(strstr(text, "\"args\":{\"name\":\"kernel (eBPF)\"}"), "%s", text);
	cr_assert(!strstr(text, "\"args\":{\"name\":\"pollDescs (rg/wg)\"}"), "%s", text);
	cr_assert(!strstr(text, "\"args\":{\"name\":\"goroutines\"}"), "%s", text);
	cr_assert(!strstr(text, "\"args\":{\"name\":\"Ms (OS threads)\"}"), "%s", text);
	free(text);
	text = export_text(TRACES "/legal_kernel_reuse.jsonl", "reuse.json");
	cr_assert(strstr(text, "\"name\":\"epoll_ctl DEL fd 4\",\"cat\":\"kernel\""), "%s", text);
	cr_assert(!strstr(text, "0x7ffd00000004"), "the DEL's data: %s", text);
	free(text);
}

/*
 * A recording of `netpollsim trace` says which process and program it watched, and whence its
 * GOMAXPROCS: the export keeps them in otherData (it kept only scenario, go, kernel and the
 * number), the program's name escaped as JSON.
 */
Test(trace_export, a_trace_recording_names_its_process_in_other_data, .timeout = 60)
{
	size_t len;
	char *t = tt_slurp(TRACES "/legal_kernel_seeded.jsonl", &len);
	const char *hdr_end = strchr(t, '\n');
	const char *path = tt_tmp("named.jsonl");
	FILE *f = fopen(path, "w");
	cr_assert(f && hdr_end);
	/* the header with the fields trace writes, the events as they are */
	fprintf(f,
		"{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"trace\","
		"\"options\":{\"pid\":200},\"gomaxprocs\":3,\"go\":\"go1.22.12\",\"kernel\":"
		"\"6.1.0-test\",\"kernel_view\":true,\"mono_origin_ns\":\"1000000000\",\"exe\":"
		"\"/srv/a \\\"b\\\"\",\"gomaxprocs_from\":\"runtime\"}%s",
		hdr_end);
	fclose(f);
	free(t);
	cJSON *doc = export_chrome(path, "named.json");
	char *od = cJSON_PrintUnformatted(cJSON_GetObjectItem(doc, "otherData"));
	cr_assert_str_eq(od,
			 "{\"source\":\"netpollsim\",\"scenario\":\"trace\",\"go\":\"go1.22.12\","
			 "\"kernel\":\"6.1.0-test\",\"gomaxprocs\":3,\"pid\":200,\"exe\":\"/srv/a "
			 "\\\"b\\\"\",\"gomaxprocs_from\":\"runtime\"}");
	free(od);
	cJSON_Delete(doc);
}

/* The name of lane (pid, tid): its thread_name. */
static const char *lane_name(const cJSON *evs, int pid, int tid)
{
	const cJSON *a = meta_args(evs, "thread_name", pid, tid);
	cr_assert(a, "lane %d/%d has no name", pid, tid);
	return cJSON_GetObjectItem(a, "name")->valuestring;
}

/*
 * Each goroutine's time running is on its M's lane too, as slices named after it, with the
 * netpoll calls it made itself (netpoll(0) from a running goroutine) cut out of them: the M lane
 * does not go blank while the goroutine still runs. Returns the running slices checked.
 */
static int assert_m_lanes_show_running(const char *in, const char *name)
{
	cJSON *doc = export_chrome(in, name);
	const cJSON *evs = cJSON_GetObjectItem(doc, "traceEvents"), *r, *e;
	int checked = 0;
	cJSON_ArrayForEach(r, evs)
	{
		const cJSON *ra = cJSON_GetObjectItem(r, "args"), *m = cJSON_GetObjectItem(ra, "m");
		if (strcmp(cJSON_GetObjectItem(r, "ph")->valuestring, "X") ||
		    strcmp(cJSON_GetObjectItem(r, "name")->valuestring, "running") || !m)
			continue;
		const char *g = lane_name(evs, cJSON_GetObjectItem(r, "pid")->valueint,
					  cJSON_GetObjectItem(r, "tid")->valueint);
		double a = cJSON_GetObjectItem(r, "ts")->valuedouble, b = a + dur_of(r), shown = 0;
		char mname[16];
		snprintf(mname, sizeof(mname), "M%d ", m->valueint);
		int pieces = 0;
		cJSON_ArrayForEach(e, evs)
		{
			const char *en = cJSON_GetObjectItem(e, "name")->valuestring;
			if (strcmp(cJSON_GetObjectItem(e, "ph")->valuestring, "X") ||
			    (strcmp(en, g) && strncmp(en, "netpoll #", 9)) ||
			    strncmp(lane_name(evs, cJSON_GetObjectItem(e, "pid")->valueint,
					      cJSON_GetObjectItem(e, "tid")->valueint),
				    mname, strlen(mname)))
				continue;
			double s = cJSON_GetObjectItem(e, "ts")->valuedouble, t = s + dur_of(e);
			double lo = s > a ? s : a, hi = t < b ? t : b;
			if (hi > lo) {
				shown += hi - lo;
				pieces++;
			}
		}
		/* each piece may start or end 1 ns off the goroutine's (a slice lasts ≥ 1 ns) */
		cr_assert_geq(shown + 0.0021 * pieces, b - a,
			      "%s: %s runs %.3f-%.3f µs on M%d, whose lane shows it %.3f µs of it",
			      name, g, a, b, m->valueint, shown);
		checked++;
	}
	cJSON_Delete(doc);
	return checked;
}

Test(trace_export, an_m_lane_shows_its_goroutine_around_the_netpoll_it_made, .timeout = 60)
{
	/* G5 calls netpoll(0) at 946.2 µs and runs on to 963.35 */
	cr_assert_gt(
	    assert_m_lanes_show_running(TRACES "/legal_kernel_agree.jsonl", "m-agree.json"), 0);
	/* the lesson whose goroutine polls while it runs, as a class opens it */
	cr_assert_gt(
	    assert_m_lanes_show_running("traces/samples/ready-before-park.jsonl", "m-rbp.json"), 0);
}

/*
 * Every flow tells one wake-up: its epoll steps ("ready fd N" on the kernel's lane,
 * "netpollready fd N" on the M's) name one fd, the pollDesc step that becomes pdReady is that
 * fd's, and the goroutine steps (runnable, running) are on the lane of the goroutine that
 * pollDesc held (its "from", G<goid>), the one the wake-up is for.
 */
static void assert_flows_tell_one_wake_up(const char *in, const char *name)
{
	cJSON *doc = export_chrome(in, name), *evs = cJSON_GetObjectItem(doc, "traceEvents"), *e;
	double ids[4096];
	int nids = 0, gsteps = 0;
	cJSON_ArrayForEach(e, evs)
	{
		const cJSON *b = cJSON_GetObjectItem(e, "bind_id");
		int i;
		for (i = 0; b && i < nids && ids[i] != b->valuedouble; i++)
			;
		if (b && i == nids) {
			cr_assert_lt(nids, 4096);
			ids[nids++] = b->valuedouble;
		}
	}
	cr_assert_gt(nids, 0, "%s: no flow", name);
	for (int i = 0; i < nids; i++) {
		int fd = -1;
		char g[32] = "";
		cJSON_ArrayForEach(e, evs)
		{
			const cJSON *b = cJSON_GetObjectItem(e, "bind_id");
			if (!b || b->valuedouble != ids[i])
				continue;
			const char *sn = cJSON_GetObjectItem(e, "name")->valuestring;
			int n = -1;
			if (sscanf(sn, "ready fd %d", &n) == 1 ||
			    sscanf(sn, "netpollready fd %d", &n) == 1) {
				cr_assert(fd < 0 || fd == n, "%s: flow %g: fd %d and %s", name,
					  ids[i], fd, sn);
				fd = n;
			}
		}
		cJSON_ArrayForEach(e, evs)
		{
			const cJSON *b = cJSON_GetObjectItem(e, "bind_id");
			if (!b || b->valuedouble != ids[i] ||
			    strcmp(cJSON_GetObjectItem(e, "name")->valuestring, "pdReady"))
				continue;
			const cJSON *args = cJSON_GetObjectItem(e, "args");
			int pfd = cJSON_GetObjectItem(args, "fd")->valueint;
			cr_assert(fd < 0 || pfd == fd,
				  "%s: flow %g: ready fd %d went to fd %d's pollDesc", name, ids[i],
				  fd, pfd);
			snprintf(g, sizeof(g), "%s",
				 cJSON_GetObjectItem(args, "from")->valuestring);
		}
		cJSON_ArrayForEach(e, evs)
		{
			const cJSON *b = cJSON_GetObjectItem(e, "bind_id");
			const char *sn = cJSON_GetObjectItem(e, "name")->valuestring;
			if (!b || b->valuedouble != ids[i] ||
			    (strcmp(sn, "runnable") && strcmp(sn, "running")))
				continue;
			const char *lane = lane_name(evs, cJSON_GetObjectItem(e, "pid")->valueint,
						     cJSON_GetObjectItem(e, "tid")->valueint);
			cr_assert_str_eq(lane, g, "%s: flow %g: the pollDesc held %s, %s is on %s",
					 name, ids[i], g[0] ? g : "no goroutine", sn, lane);
			gsteps++;
		}
	}
	cr_assert_gt(gsteps, 0, "%s: no flow reaches a goroutine", name);
	cJSON_Delete(doc);
}

Test(trace_export, each_flow_follows_one_fd_to_its_goroutine, .timeout = 60)
{
	assert_flows_tell_one_wake_up(TRACES "/legal_kernel_agree.jsonl", "flows-agree.json");
	assert_flows_tell_one_wake_up("traces/samples/echo-kernel.jsonl", "flows-echo.json");
	assert_flows_tell_one_wake_up("traces/samples/accept-burst.jsonl", "flows-burst.json");
	assert_flows_tell_one_wake_up("traces/samples/slow-reader.jsonl", "flows-slow.json");
}

/*
 * The epoll_wait event o (a line of the trace), whose return is at end µs in the document: a
 * slice on its thread's kernel lane that ends there, holding one "ready fd N" slice per entry of
 * its list, in the list's order, each lasting 1 µs or, in a wait too short for that, an equal
 * share of it (at least 1 ns: the exporter makes that room before the return).
 */
static void assert_wait_holds_its_ready_list(const cJSON *evs, const cJSON *o, double end,
					     const char *in)
{
	const char *sys = cJSON_GetObjectItem(o, "syscall")->valuestring;
	const cJSON *ready = cJSON_GetObjectItem(o, "ready"), *e, *wait = NULL;
	int n = cJSON_GetArraySize(ready), got = 0;
	char lane[32];
	struct slice entry[256];
	snprintf(lane, sizeof(lane), "tid %d", cJSON_GetObjectItem(o, "tid")->valueint);
	cJSON_ArrayForEach(e, evs)
	{
		const cJSON *ts = cJSON_GetObjectItem(e, "ts"),
			    *dur = cJSON_GetObjectItem(e, "dur");
		int pid = cJSON_GetObjectItem(e, "pid")->valueint;
		if (dur && pid == 4 && !strcmp(cJSON_GetObjectItem(e, "name")->valuestring, sys) &&
		    fabs(ts->valuedouble + dur->valuedouble - end) <= 1e-6 &&
		    !strcmp(lane_name(evs, pid, cJSON_GetObjectItem(e, "tid")->valueint), lane))
			wait = e;
	}
	cr_assert(wait, "%s: no %s slice on the lane '%s' ends at %.3f µs, the time of its return",
		  in, sys, lane, end);
	int tid = cJSON_GetObjectItem(wait, "tid")->valueint;
	double start = cJSON_GetObjectItem(wait, "ts")->valuedouble;
	long long step = llround((end - start) * 1000) / n;
	cJSON_ArrayForEach(e, evs)
	{
		const cJSON *ts = cJSON_GetObjectItem(e, "ts"),
			    *dur = cJSON_GetObjectItem(e, "dur");
		const char *name = cJSON_GetObjectItem(e, "name")->valuestring;
		if (!dur || cJSON_GetObjectItem(e, "pid")->valueint != 4 ||
		    cJSON_GetObjectItem(e, "tid")->valueint != tid || strncmp(name, "ready", 5) ||
		    ts->valuedouble < start - 1e-6 ||
		    ts->valuedouble + dur->valuedouble > end + 1e-6)
			continue;
		cr_assert_lt(got, 256);
		entry[got++] = (struct slice){
		    .ts = ts->valuedouble, .end = ts->valuedouble + dur->valuedouble, .name = name};
	}
	cr_assert_eq(got, n, "%s: the %s returning at %.3f µs holds %d ready slices, not %d", in,
		     sys, end, got, n);
	qsort(entry, (size_t)n, sizeof(entry[0]), by_start);
	for (int k = 0; k < n; k++) {
		char want[32];
		snprintf(want, sizeof(want), "ready fd %d",
			 cJSON_GetObjectItem(cJSON_GetArrayItem(ready, k), "fd")->valueint);
		cr_assert_str_eq(entry[k].name, want, "%s: entry %d of the %s at %.3f µs", in, k,
				 sys, end);
		cr_assert(fabs(entry[k].end - entry[k].ts - (step > 1000 ? 1000 : step) / 1000.0) <=
			      1e-6,
			  "%s: '%s' at %.3f lasts %.3f µs, in a wait of %.3f µs", in, want,
			  entry[k].ts, entry[k].end - entry[k].ts, end - start);
	}
}

/* Every epoll_wait of in that returned a ready list (assert_wait_holds_its_ready_list). */
static void assert_waits_hold_their_ready_lists(const char *in, const char *name)
{
	cJSON *doc = export_chrome(in, name);
	char *text = tt_slurp(in, NULL), *save = NULL;
	double base = -1;
	int waits = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);
		const cJSON *ts = cJSON_GetObjectItem(o, "ts"), *ev = cJSON_GetObjectItem(o, "ev");
		if (cJSON_IsNumber(ts) && base < 0)
			base = ts->valuedouble; /* the document's 0 */
		if (cJSON_IsString(ev) && !strcmp(ev->valuestring, "epoll_wait") &&
		    cJSON_GetArraySize(cJSON_GetObjectItem(o, "ready")) > 0) {
			assert_wait_holds_its_ready_list(cJSON_GetObjectItem(doc, "traceEvents"), o,
							 (ts->valuedouble - base) / 1000, in);
			waits++;
		}
		cJSON_Delete(o);
	}
	free(text);
	cr_assert_gt(waits, 0, "%s: no epoll_wait returned a ready list", in);
	cJSON_Delete(doc);
}

/*
 * The probe stamps epoll_wait's return, where the kernel copies the ready list out: the wait's
 * slice ends there and its entries are drawn at its end (the validator checks how they follow
 * each other; this, against the trace, where and which).
 */
Test(trace_export, a_ready_list_is_drawn_where_its_wait_returns, .timeout = 60)
{
	static const char *const kernel[] = {
	    TRACES "/legal_kernel.jsonl",	TRACES "/legal_kernel_agree.jsonl",
	    TRACES "/legal_ready_both.jsonl",	TRACES "/legal_kernel_seeded.jsonl",
	    TRACES "/legal_kernel_reuse.jsonl", "traces/samples/echo-kernel.jsonl"};
	for (size_t i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "lists-%zu.json", i);
		assert_waits_hold_their_ready_lists(kernel[i], name);
	}
	/* a wait of 1 ns that returned 2 entries: the room for them is made before its return */
	static const char dur[] = "\"n\":2,\"dur\":500000,";
	char *text = tt_slurp(TRACES "/legal_kernel_agree.jsonl", NULL), *d = strstr(text, dur);
	const char *shortw = tt_tmp("short-wait.jsonl");
	cr_assert(d, "no wait of 500 µs returning 2 entries");
	spit_edited(shortw, text, d, strlen(dur), "\"n\":2,\"dur\":1,");
	free(text);
	assert_waits_hold_their_ready_lists(shortw, "short-wait.json");
}

Test(trace_export, lanes_counters_and_markers, .timeout = 60)
{
	char *text = export_text(TRACES "/legal_races.jsonl", "races.json");
	static const char *const want[] = {
	    "\"name\":\"thread_name\",\"pid\":1,\"tid\":",
	    "\"args\":{\"name\":\"pd 0x7f0000001000 rg (fd 7)\"}",
	    "\"args\":{\"name\":\"pd 0x7f0000001000 wg (fd 7)\"}",
	    "\"args\":{\"name\":\"G5\"}",
	    "\"args\":{\"name\":\"M1 (tid 101)\"}",
	    "\"args\":{\"name\":\"pollDescs (rg/wg)\"}",
	    "{\"ph\":\"X\",\"name\":\"G5\",\"cat\":\"pollDesc\"",
	    "{\"ph\":\"X\",\"name\":\"pdWait\",\"cat\":\"pollDesc\"",
	    "{\"ph\":\"X\",\"name\":\"IO wait fd 7 read\",\"cat\":\"goroutine\"",
	    "{\"ph\":\"C\",\"name\":\"parked_goroutines\",\"pid\":5,\"tid\":0,\"ts\":8.9,"
	    "\"args\":{\"value\":1}}",
	    "\"name\":\"ready-before-park\"",
	    "\"name\":\"netpoll #1 (0 ms)\",\"cat\":\"M\"",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert(strstr(text, want[i]), "missing %s", want[i]);
	free(text);
	text = export_text(TRACES "/illegal/pd_from.jsonl", "illegal.json");
	cr_assert(strstr(text, "\"name\":\"ILLEGAL pd-from\""), "%s", text);
	free(text);
	text = export_text(TRACES "/legal_lost.jsonl", "lost.json");
	/* where the loss began (since, 14.5 µs into the trace), not where it was reported */
	cr_assert(strstr(text,
			 "{\"ph\":\"i\",\"s\":\"g\",\"name\":\"lost 12 sim events (from here "
			 "to 14.000 µs)\",\"cat\":\"marker\",\"pid\":5,\"tid\":0,\"ts\":13.5,"),
		  "%s", text);
	free(text);
	/* a loss announced ("sub":1, count 0) before its count is known: the report follows */
	text = export_text(TRACES "/legal_lost_agree.jsonl", "lost-announced.json");
	cr_assert(strstr(text, "{\"ph\":\"i\",\"s\":\"g\",\"name\":\"sim events lost from here "
			       "(how many: later)\",\"cat\":\"marker\",\"pid\":5,\"tid\":0,"
			       "\"ts\":19.6,"),
		  "%s", text);
	free(text);
}

/*
 * Go's pollCache gives a freed pollDesc to the next fd opened: its lanes name every fd they
 * served, so that fd 8's wake-up is not seen on a lane that says fd 7; a pollDesc reused by many
 * fds ends its list with "...".
 */
Test(trace_export, a_reused_polldesc_lane_names_each_fd, .timeout = 60)
{
	char *text = export_text(TRACES "/legal_lost_free_ready.jsonl", "reused.json");
	cr_assert(strstr(text, "\"args\":{\"name\":\"pd 0x7f0000001000 rg (fd 7, 8)\"}"), "%s",
		  text);
	cr_assert(strstr(text, "\"args\":{\"name\":\"pd 0x7f0000001000 wg (fd 7, 8)\"}"), "%s",
		  text);
	free(text);
	/* one pollDesc for fds 1000 to 1039, each announcing a read and giving up */
	char *trace = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&trace, &len);
	fputs("{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"m\",\"gomaxprocs\":1,"
	      "\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\"}\n",
	      f);
	for (int fd = 1000; fd < 1040; fd++) {
		unsigned ts = (unsigned)(fd - 1000) * 4000 + 1000, seq = (unsigned)(fd - 999);
		fprintf(f,
			"{\"ts\":%u,\"src\":\"sim\",\"ev\":\"pd_open\",\"fd\":%d,\"pd\":\"0x1000\","
			"\"seq\":%u,\"fn\":\"poll_runtime_pollOpen\"}\n",
			ts, fd, seq);
		for (int k = 0; k < 2; k++)
			fprintf(
			    f,
			    "{\"ts\":%u,\"src\":\"sim\",\"ev\":\"pd_state\",\"fd\":%d,\"pd\":"
			    "\"0x1000\",\"seq\":%u,\"mode\":\"r\",\"from\":\"%s\",\"to\":\"%s\","
			    "\"fn\":\"netpollblock\"}\n",
			    ts + 1000 + 1000 * (unsigned)k, fd, seq, k ? "wait" : "nil",
			    k ? "nil" : "wait");
		fprintf(f,
			"{\"ts\":%u,\"src\":\"sim\",\"ev\":\"pd_free\",\"fd\":%d,\"pd\":\"0x1000\","
			"\"seq\":%u,\"fn\":\"pollCache.free\"}\n",
			ts + 3000, fd, seq + 1);
	}
	fclose(f);
	const char *in = tt_tmp("reused40.jsonl");
	tt_spit(in, trace, len);
	free(trace);
	cJSON *doc = export_chrome(in, "reused40.json");
	const char *name = NULL;
	cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "traceEvents"))
	{
		const cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "args"), "name");
		if (!strcmp(cJSON_GetObjectItem(e, "name")->valuestring, "thread_name") &&
		    !strncmp(n->valuestring, "pd 0x1000 rg ", 13))
			name = n->valuestring;
	}
	cr_assert(name, "no lane for pd 0x1000 rg");
	cr_assert(!strncmp(name, "pd 0x1000 rg (fd 1000, 1001, 1002, ", 35), "%s", name);
	cr_assert(strlen(name) > 60 && !strcmp(name + strlen(name) - 6, ", ...)"), "%s", name);
	cJSON_Delete(doc);
}

/* "name ts value" for each sample of counter name, one per line, in the document's order. */
static void counter_series(cJSON *doc, const char *name, char *buf, size_t len)
{
	cJSON *e;
	size_t o = 0;
	buf[0] = '\0';
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "traceEvents"))
	{
		if (strcmp(cJSON_GetObjectItem(e, "ph")->valuestring, "C") ||
		    strcmp(cJSON_GetObjectItem(e, "name")->valuestring, name))
			continue;
		o += (size_t)snprintf(
		    buf + o, len - o, "%g %g\n", cJSON_GetObjectItem(e, "ts")->valuedouble,
		    cJSON_GetObjectItem(cJSON_GetObjectItem(e, "args"), "value")->valuedouble);
		cr_assert_lt(o, len);
	}
}

/*
 * Each counter follows the trace: legal_read_wait.jsonl's first event is at 1000 ns (0 µs), fd
 * 7 is registered by netpollopen at 6000 ns and leaves epoll at 1031000 ns; G5 parks in IO wait
 * (park_m) at 12000 ns and is made runnable at 1019000 ns; the waiters events say 1 at 14000
 * ns, 0 at 1020000 ns. legal_lost.jsonl loses 12 sim events at 15000 ns; legal_kernel_agree.jsonl,
 * whose first event is at 1000 ns too, 1 kernel event at 946200 ns.
 */
Test(trace_export, counters_follow_the_trace, .timeout = 60)
{
	static const struct {
		const char *trace, *counter, *want;
	} cases[] = {
	    {"legal_read_wait", "registered_fds", "0 0\n5 1\n1030 0\n"},
	    {"legal_read_wait", "parked_goroutines", "0 0\n11 1\n1018 0\n"},
	    {"legal_read_wait", "netpoll_waiters", "0 0\n13 1\n1019 0\n"},
	    {"legal_read_wait", "lost_events", "0 0\n"},
	    {"legal_lost", "lost_events", "0 0\n14 12\n"},
	    {"legal_kernel_agree", "lost_events", "0 0\n945.2 1\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char in[256], out[64], got[1024];
		snprintf(in, sizeof(in), TRACES "/%s.jsonl", cases[i].trace);
		snprintf(out, sizeof(out), "ctr-%zu.json", i);
		cJSON *doc = export_chrome(in, out);
		counter_series(doc, cases[i].counter, got, sizeof(got));
		cr_assert_str_eq(got, cases[i].want, "%s: %s", cases[i].trace, cases[i].counter);
		cJSON_Delete(doc);
	}
}

/*
 * Every kernel epoll_create and break-pipe read/write of the trace in is an instant on its
 * thread's kernel lane, in the same order, with the kernel's answer in its args. Returns how many
 * break-pipe reads it saw (the drains).
 */
static int kernel_instants_match(const char *in, cJSON *doc)
{
	size_t len;
	char *text = tt_slurp(in, &len), *save = NULL;
	struct {
		char name[32];
		long long ret;
	} want[256];
	int nwant = 0, reads = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);
		const cJSON *src = cJSON_GetObjectItem(o, "src"),
			    *ev = cJSON_GetObjectItem(o, "ev");
		if (cJSON_IsString(src) && !strcmp(src->valuestring, "kernel") &&
		    cJSON_IsString(ev) &&
		    (!strcmp(ev->valuestring, "epoll_create") ||
		     !strcmp(ev->valuestring, "syscall"))) {
			cr_assert_lt(nwant, 256);
			bool create = !strcmp(ev->valuestring, "epoll_create");
			const char *op = create ? "" : cJSON_GetObjectItem(o, "op")->valuestring;
			if (create)
				snprintf(want[nwant].name, sizeof(want[nwant].name),
					 "epoll_create1");
			else
				snprintf(want[nwant].name, sizeof(want[nwant].name), "%s fd %d", op,
					 cJSON_GetObjectItem(o, "fd")->valueint);
			reads += !strcmp(op, "read");
			want[nwant++].ret = (long long)cJSON_GetObjectItem(o, "ret")->valuedouble;
		}
		cJSON_Delete(o);
	}
	free(text);
	cr_assert_gt(nwant, 0, "%s has no kernel epoll_create or break-pipe event", in);
	int got = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "traceEvents"))
	{
		const char *name = cJSON_GetObjectItem(e, "name")->valuestring;
		const cJSON *cat = cJSON_GetObjectItem(e, "cat");
		if (strcmp(cJSON_GetObjectItem(e, "ph")->valuestring, "i") ||
		    !cJSON_IsString(cat) || strcmp(cat->valuestring, "kernel") ||
		    (strcmp(name, "epoll_create1") && strncmp(name, "read fd", 7) &&
		     strncmp(name, "write fd", 8)))
			continue;
		char *dump = cJSON_PrintUnformatted(e);
		cr_assert_lt(got, nwant, "an instant the trace has no event for: %s", dump);
		cr_assert_str_eq(name, want[got].name, "%s", dump);
		cr_assert_str_eq(cJSON_GetObjectItem(e, "s")->valuestring, "t", "%s", dump);
		const cJSON *args = cJSON_GetObjectItem(e, "args");
		cr_assert_eq((long long)cJSON_GetObjectItem(args, "ret")->valuedouble,
			     want[got].ret, "%s", dump);
		if (strcmp(name, "epoll_create1"))
			cr_assert(cJSON_IsString(cJSON_GetObjectItem(args, "what")) &&
				      cJSON_IsNumber(cJSON_GetObjectItem(args, "count")),
				  "%s", dump);
		else
			cr_assert_str_eq(cJSON_GetObjectItem(args, "flags")->valuestring,
					 "EPOLL_CLOEXEC", "%s", dump);
		free(dump);
		got++;
	}
	cr_assert_eq(got, nwant, "%d of the %d kernel epoll_create/read/write events exported", got,
		     nwant);
	return reads;
}

/*
 * Perfetto orders processes and lanes by their sort indices (peers.md §4.3, "Metadata"): the
 * processes in the order the docs list them, pollDescs with rg just before wg, goroutines by
 * goid, Ms by number, kernel threads by tid.
 */
struct meta_lane {
	int pid;
	long sort;
	const char *name;
};

static int by_pid_sort(const void *a, const void *b)
{
	const struct meta_lane *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid - y->pid;
	return x->sort < y->sort ? -1 : x->sort > y->sort;
}

/* the number a lane's name orders by: goid, M number, tid; -1 for a pollDesc lane */
static long lane_key(const char *name)
{
	long k = -1;
	if (sscanf(name, "G%ld", &k) == 1 || sscanf(name, "M%ld", &k) == 1 ||
	    sscanf(name, "tid %ld", &k) == 1)
		return k;
	return -1;
}

static long sort_index(const cJSON *evs, const char *what, int pid, int tid)
{
	const cJSON *a = meta_args(evs, what, pid, tid);
	cr_assert(a, "no %s for pid %d tid %d", what, pid, tid);
	return (long)cJSON_GetObjectItem(a, "sort_index")->valuedouble;
}

static void assert_sorted_lanes(const char *in, const char *name)
{
	cJSON *doc = export_chrome(in, name), *e;
	cJSON *evs = cJSON_GetObjectItem(doc, "traceEvents");
	static const char *const procs[] = {"pollDescs (rg/wg)", "goroutines", "Ms (OS threads)",
					    "kernel (eBPF)", "netpoll counters"};
	long prev = LONG_MIN;
	struct meta_lane lanes[256];
	int n = 0, p = 0;
	/* the processes, in the order the docs list them */
	cJSON_ArrayForEach(e, evs)
	{
		if (strcmp(cJSON_GetObjectItem(e, "name")->valuestring, "process_name"))
			continue;
		int pid = cJSON_GetObjectItem(e, "pid")->valueint;
		const char *pname =
		    cJSON_GetObjectItem(cJSON_GetObjectItem(e, "args"), "name")->valuestring;
		cr_assert_lt(p, 5);
		cr_assert_str_eq(pname, procs[p], "%s: process %d", name, p);
		long sort = sort_index(evs, "process_sort_index", pid, -1);
		cr_assert_gt(sort, prev, "%s: %s sorts before %s", name, pname,
			     p ? procs[p - 1] : "");
		prev = sort;
		p++;
	}
	cr_assert_eq(p, 5);
	/* every lane: its name and its sort index */
	cJSON_ArrayForEach(e, evs)
	{
		if (strcmp(cJSON_GetObjectItem(e, "name")->valuestring, "thread_name"))
			continue;
		int pid = cJSON_GetObjectItem(e, "pid")->valueint;
		int tid = cJSON_GetObjectItem(e, "tid")->valueint;
		cr_assert_lt(n, 256);
		lanes[n++] = (struct meta_lane){
		    pid, sort_index(evs, "thread_sort_index", pid, tid),
		    cJSON_GetObjectItem(cJSON_GetObjectItem(e, "args"), "name")->valuestring};
	}
	qsort(lanes, (size_t)n, sizeof(lanes[0]), by_pid_sort);
	int pairs = 0;
	for (int i = 1; i < n; i++) {
		if (lanes[i].pid != lanes[i - 1].pid)
			continue;
		const char *a = lanes[i - 1].name, *b = lanes[i].name;
		cr_assert_neq(lanes[i].sort, lanes[i - 1].sort, "%s: %s and %s share a sort index",
			      name, a, b);
		if (!strncmp(a, "pd ", 3)) {
			/* "pd 0x... rg (fd 7)": a pollDesc's wg lane comes right after its rg lane */
			size_t at = strcspn(a + 3, " ") + 3;
			if (!strncmp(a, b, at) && strstr(a, " rg ") && strstr(b, " wg "))
				pairs++;
			else
				cr_assert(strncmp(a, b, at), "%s: %s before %s", name, a, b);
			continue;
		}
		cr_assert_lt(lane_key(a), lane_key(b), "%s: %s sorts before %s", name, a, b);
	}
	cr_assert_geq(pairs, 1, "%s: no pollDesc with both lanes", name);
	cJSON_Delete(doc);
}

Test(trace_export, processes_and_lanes_are_in_order, .timeout = 60)
{
	assert_sorted_lanes(TRACES "/legal_kernel_agree.jsonl", "sort-agree.json");
	assert_sorted_lanes("traces/samples/echo-kernel.jsonl", "sort-echo.json");
}

Test(trace_export, kernel_epoll_create_and_break_pipe_are_instants_on_kernel_lanes, .timeout = 120)
{
	/* the sample: netpollinit's epoll_create1 and a netpollBreak write */
	cJSON *doc = export_chrome("traces/samples/echo-kernel.jsonl", "echo-kernel.json");
	kernel_instants_match("traces/samples/echo-kernel.jsonl", doc);
	cJSON_Delete(doc);
	/* a live break lesson with the probes: netpollBreak's writes and netpoll's drain */
	NEED_ROOT();
	const char *rec = tt_tmp("break.jsonl");
	char *out = NULL;
	/*
	 * On a busy machine no M may be asleep in netpoll(-1) when the timer comes, and the
	 * lesson says it had no break to show: run it again, a few times at most.
	 */
	bool broke = false;
	for (int i = 0; i < 5 && !broke; i++) {
		free(out);
		int rc = tt_np(&out, "run --scenario break --procs 2 --no-ui --record %s", rec);
		cr_assert_eq(rc, 0, "%s", out);
		cr_assert(strstr(out, "probes:"), "the probes did not run:\n%s", out);
		broke = strstr(out, "was woken by netpollBreak") != NULL;
	}
	cr_assert(broke, "no netpollBreak in 5 runs of the break lesson:\n%s", out);
	free(out);
	tt_assert_legal(rec); /* as every trace the tests record */
	doc = export_chrome(rec, "break.json");
	cr_assert_gt(kernel_instants_match(rec, doc), 0, "no drain of the break pipe in %s", rec);
	cJSON_Delete(doc);
}

static size_t read_all(const char *path, struct nps_event *out, size_t max)
{
	struct trace_reader *r;
	size_t n = 0;
	cr_assert_eq(trace_reader_open(path, &r), 0, "%s", trace_reader_error(r));
	while (n < max && trace_reader_next(r, &out[n]) > 0)
		n++;
	trace_reader_close(r);
	return n;
}

Test(trace_export, jsonl_round_trips_and_is_a_fixed_point, .timeout = 60)
{
	static struct nps_event a[256], b[256];
	const char *once = tt_tmp("once.jsonl"), *twice = tt_tmp("twice.jsonl");
	char *out;
	cr_assert_eq(tt_np(&out, "export " TRACES "/legal_kernel.jsonl --format jsonl -o %s", once),
		     0, "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "export %s --format jsonl -o %s", once, twice), 0, "%s", out);
	free(out);
	size_t na = read_all(TRACES "/legal_kernel.jsonl", a, 256);
	size_t nb = read_all(once, b, 256);
	cr_assert_eq(na, nb);
	cr_assert_eq(memcmp(a, b, na * sizeof(a[0])), 0, "events changed on the way");
	size_t l1, l2;
	char *t1 = tt_slurp(once, &l1), *t2 = tt_slurp(twice, &l2);
	cr_assert(l1 == l2 && !memcmp(t1, t2, l1), "export of an export differs");
	/* the kernel events under the names and fields issue 3 reserved for them */
	static const char *const reserved[] = {
	    "\"ev\":\"epoll_ctl\",\"tid\":100,\"fd\":7,\"op\":\"ADD\",\"epfd\":3,"
	    "\"events\":2147491845,\"data\":\"0x7f00000010000001\",\"ret\":0}",
	    "\"ev\":\"epoll_ctl\",\"tid\":100,\"fd\":7,\"op\":\"DEL\",\"epfd\":3,\"events\":0,"
	    "\"data\":\"0x0\",\"ret\":0}",
	    "\"ev\":\"epoll_wait\",\"tid\":100,\"syscall\":\"epoll_pwait\",\"id\":1,\"epfd\":3,"
	    "\"maxevents\":128,\"timeout_ms\":-1,\"n\":1,\"dur\":999800,"
	    "\"ready\":[{\"fd\":7,\"events\":1,\"data\":\"0x7f00000010000001\"}]}",
	};
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		cr_assert(strstr(t1, reserved[i]), "no '%s' in\n%s", reserved[i], t1);
	free(t1);
	free(t2);
	char *chk;
	cr_assert_eq(tt_np(&chk, "check -q %s", once), 0, "%s", chk);
	free(chk);
	/* plain enough for jq, to stdout */
	char cmd[1200];
	snprintf(cmd, sizeof(cmd),
		 "%s export " TRACES "/legal_kernel.jsonl --format jsonl | jq -c "
		 "'select(.ev==\"pd_state\") | .to' | tr '\\n' ' '",
		 tu_netpollsim());
	cr_assert_eq(tu_run(cmd, 0, &out), 0);
	cr_assert_str_eq(out, "\"wait\" \"G5\" \"ready\" \"nil\" ");
	free(out);
}

Test(trace_export, usage_errors, .timeout = 30)
{
	char *out;
	cr_assert_eq(tt_np(&out, "export " TRACES "/legal_kernel.jsonl --format svg"), 2);
	cr_assert_str_eq(out, "netpollsim export: --format 'svg': unknown format (use chrome, also "
			      "named perfetto, or jsonl)\n");
	free(out);
	cr_assert_eq(tt_np(&out, "export"), 2);
	free(out);
	cr_assert_eq(tt_np(&out, "export " TRACES "/legal_kernel.jsonl -o /nonexistent/x.json"), 1);
	cr_assert_str_eq(out, "netpollsim export: cannot create '/nonexistent/x.json': No such "
			      "file or directory\n");
	free(out);
}

/* ---- the output file ---- */

#define SAMPLE "traces/samples/close.jsonl"

/* The directory's entries that contain needle (a temporary file left behind), as one string. */
static const char *entries_with(const char *dir, const char *needle)
{
	static char found[1024];
	DIR *d = opendir(dir);
	struct dirent *e;
	found[0] = '\0';
	cr_assert(d, "%s", dir);
	while ((e = readdir(d)))
		if (strstr(e->d_name, needle) &&
		    strlen(found) + strlen(e->d_name) + 2 < sizeof(found)) {
			strcat(found, e->d_name);
			strcat(found, " ");
		}
	closedir(d);
	return found;
}

/* A new empty directory under the test's temporary one. */
static const char *fresh_dir(const char *name)
{
	const char *dir = tt_tmp(name);
	cr_assert_eq(mkdir(dir, 0755), 0, "%s: %s", dir, strerror(errno));
	return dir;
}

static bool is_chrome(const char *path)
{
	char *t = tt_slurp(path, NULL);
	bool ok = !strncmp(t, "{\"displayTimeUnit\":", 19) && strstr(t, "\n]}\n");
	free(t);
	return ok;
}

Test(trace_export, a_symlink_fifo_or_files_mode_stays_what_it_was, .timeout = 60)
{
	const char *dir = fresh_dir("kinds");
	char p[4][700], *out;
	struct stat st;
	/* a regular file keeps its mode */
	snprintf(p[0], sizeof(p[0]), "%s/mode.json", dir);
	tt_spit(p[0], "old", 3);
	cr_assert_eq(chmod(p[0], 0600), 0);
	cr_assert_eq(tt_np(&out, "export " SAMPLE " -o %s", p[0]), 0, "%s", out);
	free(out);
	cr_assert_eq(stat(p[0], &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_assert(is_chrome(p[0]));
	/* a symlink stays a symlink; the file it names (here relative, in another directory, not
	 * there yet) is written */
	snprintf(p[1], sizeof(p[1]), "%s/sub", dir);
	cr_assert_eq(mkdir(p[1], 0755), 0);
	snprintf(p[1], sizeof(p[1]), "%s/sub/lnk.json", dir);
	cr_assert_eq(symlink("../real.json", p[1]), 0);
	cr_assert_eq(tt_np(&out, "export " SAMPLE " -o %s", p[1]), 0, "%s", out);
	free(out);
	cr_assert_eq(lstat(p[1], &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the symlink was replaced");
	snprintf(p[2], sizeof(p[2]), "%s/real.json", dir);
	cr_assert(is_chrome(p[2]));
	/* a FIFO stays a FIFO, and its reader gets the trace */
	snprintf(p[3], sizeof(p[3]), "%s/ofifo", dir);
	cr_assert_eq(mkfifo(p[3], 0644), 0);
	char cmd[2400];
	snprintf(cmd, sizeof(cmd),
		 "cat %s > %s/got.jsonl & %s export " SAMPLE " --format jsonl -o %s; wait", p[3],
		 dir, tu_netpollsim(), p[3]);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	free(out);
	cr_assert_eq(stat(p[3], &st), 0);
	cr_assert(S_ISFIFO(st.st_mode), "the FIFO was replaced");
	cr_assert_eq(tt_np(&out, "check -q %s/got.jsonl", dir), 0, "%s", out);
	free(out);
	cr_assert_str_eq(entries_with(dir, ".tmp"), "");
	snprintf(cmd, sizeof(cmd), "%s/sub", dir);
	cr_assert_str_eq(entries_with(cmd, ".tmp"), "");
}

Test(trace_export, a_device_is_written_in_place, .timeout = 30)
{
	if (!tu_is_root()) {
		printf("skipped: needs root\n");
		cr_skip_test("needs root");
	}
	const char *dir = fresh_dir("dev");
	char null[700], full[700], *out;
	struct stat st;
	snprintf(null, sizeof(null), "%s/mydevnull", dir);
	snprintf(full, sizeof(full), "%s/mydevfull", dir);
	cr_assert_eq(mknod(null, S_IFCHR | 0666, makedev(1, 3)), 0, "%s", strerror(errno));
	cr_assert_eq(mknod(full, S_IFCHR | 0666, makedev(1, 7)), 0, "%s", strerror(errno));
	cr_assert_eq(tt_np(&out, "export " SAMPLE " -o %s", null), 0, "%s", out);
	cr_assert_str_eq(out, "");
	free(out);
	cr_assert_eq(tt_np(&out, "export " SAMPLE " --format jsonl -o %s", null), 0, "%s", out);
	free(out);
	cr_assert_eq(stat(null, &st), 0);
	cr_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3), "the device was replaced");
	/* a write error names the output as given */
	static const char *const fmts[] = {"chrome", "jsonl"};
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(tt_np(&out, "export " SAMPLE " --format %s -o %s", fmts[i], full), 1,
			     "%s", out);
		char want[800];
		snprintf(want, sizeof(want),
			 "netpollsim export: cannot write '%s': No space left on device\n", full);
		cr_assert_str_eq(out, want);
		free(out);
	}
	cr_assert_eq(stat(full, &st), 0);
	cr_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 7));
	cr_assert_str_eq(entries_with(dir, ".tmp"), "");
}

Test(trace_export, the_input_is_never_the_output, .timeout = 60)
{
	const char *dir = fresh_dir("same");
	char in[700], hard[700], soft[700], cmd[2400], *out;
	size_t l0, l1;
	char *orig = tt_slurp(SAMPLE, &l0);
	snprintf(in, sizeof(in), "%s/in.jsonl", dir);
	snprintf(hard, sizeof(hard), "%s/hard.jsonl", dir);
	snprintf(soft, sizeof(soft), "%s/soft.jsonl", dir);
	tt_spit(in, orig, l0);
	cr_assert_eq(link(in, hard), 0);
	cr_assert_eq(symlink("in.jsonl", soft), 0);
	const char *const outs[] = {in, hard, soft};
	for (int i = 0; i < 3; i++)
		for (int f = 0; f < 2; f++) {
			cr_assert_eq(tt_np(&out, "export %s --format %s -o %s", in,
					   f ? "jsonl" : "chrome", outs[i]),
				     1, "%s", out);
			char want[1600];
			snprintf(want, sizeof(want),
				 "netpollsim export: %s is the same file as the input %s: refusing "
				 "to overwrite the trace\n",
				 outs[i], in);
			cr_assert_str_eq(out, want);
			free(out);
		}
	/* standard output appended to the input: it would read what it writes, forever */
	snprintf(cmd, sizeof(cmd), "%s export %s --format jsonl 2>%s/err >> %s", tu_netpollsim(),
		 in, dir, in);
	cr_assert_eq(tu_run(cmd, 0, NULL), 1);
	snprintf(cmd, sizeof(cmd), "%s/err", dir);
	out = tt_slurp(cmd, NULL);
	cr_assert(strstr(out, "standard output is the same file as the input"), "%s", out);
	free(out);
	char *now = tt_slurp(in, &l1);
	cr_assert(l0 == l1 && !memcmp(orig, now, l0), "the input changed");
	free(now);
	free(orig);
	cr_assert_str_eq(entries_with(dir, ".tmp"), "");
}

Test(trace_export, errors_name_the_output_as_given, .timeout = 30)
{
	char *out[2];
	for (int f = 0; f < 2; f++) {
		cr_assert_eq(tt_np(&out[f],
				   "export " SAMPLE
				   " --format %s -o 'nodir\x1b]0;TITLE\x07/x.jsonl'",
				   f ? "jsonl" : "chrome"),
			     1, "%s", out[f]);
		cr_assert(tt_terminal_safe(out[f], strlen(out[f])), "%s", out[f]);
	}
	cr_assert_str_eq(out[0],
			 "netpollsim export: cannot create 'nodir\\x1b]0;TITLE\\x07/x.jsonl': "
			 "No such file or directory\n");
	cr_assert_str_eq(out[1], out[0]);
	free(out[0]);
	free(out[1]);
}

/*
 * A file whose directory takes no new file (/proc; a read-only directory) cannot be replaced
 * whole: the error says so, not that the file it names is missing.
 */
Test(trace_export, a_directory_refusing_the_new_file_is_named, .timeout = 30)
{
	char *out;
	cr_assert_eq(tt_np(&out, "export " SAMPLE " -o /proc/version"), 1, "%s", out);
	cr_assert_str_eq(out, "netpollsim export: cannot write '/proc/version': it is replaced "
			      "whole by a new file made beside it, and /proc refuses that: No such "
			      "file or directory (-o a file in a directory you can write, or - for "
			      "standard output)\n");
	free(out);
}

/*
 * A file its user may not write (mode 444) is left as it is, as run --record leaves it, though
 * its directory would let the new file replace it: a student's write-protected export stayed
 * write-protected and was overwritten all the same.
 */
Test(trace_export, a_file_you_may_not_write_is_left_as_it_is, .timeout = 30)
{
	if (!tu_is_root()) {
		printf("skipped: needs root\n");
		cr_skip_test("needs root (to run it as nobody)");
	}
	/* not under the tests' own directory, which nobody may not enter */
	char dir[] = "/tmp/nps-ro-XXXXXX", ro[700], cmd[2000], want[1400], *out;
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ro, sizeof(ro), "%s/ro.json", dir);
	tt_spit(ro, "kept\n", 5);
	cr_assert_eq(chmod(dir, 0777), 0);
	cr_assert_eq(chown(ro, 65534, 65534), 0);
	cr_assert_eq(chmod(ro, 0444), 0);
	snprintf(cmd, sizeof(cmd),
		 "setpriv --reuid=65534 --regid=65534 --clear-groups %s export " SAMPLE " -o %s",
		 tu_netpollsim(), ro);
	cr_assert_eq(tu_run(cmd, 1, &out), 1, "%s", out);
	snprintf(want, sizeof(want), "netpollsim export: cannot write '%s': Permission denied\n",
		 ro);
	cr_assert_str_eq(out, want);
	free(out);
	out = tt_slurp(ro, NULL);
	cr_assert_str_eq(out, "kept\n");
	free(out);
	cr_assert_str_eq(entries_with(dir, ".tmp"), "");
	/* root's file in a sticky directory (/tmp), writable by all: only root may replace it */
	char sticky[700], theirs[800];
	snprintf(sticky, sizeof(sticky), "%s/sticky", dir);
	snprintf(theirs, sizeof(theirs), "%s/theirs.json", sticky);
	cr_assert_eq(mkdir(sticky, 0777), 0);
	cr_assert_eq(chmod(sticky, 01777), 0);
	tt_spit(theirs, "kept\n", 5);
	cr_assert_eq(chmod(theirs, 0666), 0);
	snprintf(cmd, sizeof(cmd),
		 "setpriv --reuid=65534 --regid=65534 --clear-groups %s export " SAMPLE " -o %s",
		 tu_netpollsim(), theirs);
	cr_assert_eq(tu_run(cmd, 1, &out), 1, "%s", out);
	snprintf(want, sizeof(want),
		 "netpollsim export: cannot write '%s': it is replaced whole by a new file made "
		 "beside it, and in a sticky directory (as /tmp is) only its owner may replace it "
		 "(-o a file of yours, or - for standard output)\n",
		 theirs);
	cr_assert_str_eq(out, want);
	free(out);
	unlink(theirs);
	rmdir(sticky);
	unlink(ro);
	rmdir(dir);
}

/* Does process pid hold a file in dir open (named or not: "DIR/#123 (deleted)")? */
static bool holds_a_file_in(pid_t pid, const char *dir)
{
	char fds[64], link[PATH_MAX + 64], to[PATH_MAX];
	snprintf(fds, sizeof(fds), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(fds);
	struct dirent *e;
	bool held = false;
	while (d && !held && (e = readdir(d))) {
		snprintf(link, sizeof(link), "%s/%s", fds, e->d_name);
		ssize_t n = readlink(link, to, sizeof(to) - 1);
		to[n > 0 ? n : 0] = '\0';
		held = !strncmp(to, dir, strlen(dir)) && !strstr(to, ".fifo");
	}
	if (d)
		closedir(d);
	return held;
}

/*
 * Start `export FIFO -o OUT` on a FIFO that gives it a few lines, then stalls; signal it. Even
 * SIGKILL, which no handler sees, leaves no file: the one being written has no name yet.
 */
static void signal_a_stalled_export(int sig)
{
	const char *dir = fresh_dir(sig == SIGINT    ? "killed_int"
				    : sig == SIGTERM ? "killed_term"
						     : "killed_kill");
	char fifo[700], dst[700], err[700];
	snprintf(fifo, sizeof(fifo), "%s/in.fifo", dir);
	snprintf(dst, sizeof(dst), "%s/killed.json", dir);
	snprintf(err, sizeof(err), "%s/stderr.txt", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		signal(SIGINT, SIG_DFL); /* as in a terminal, whatever the test runner does */
		signal(SIGTERM, SIG_DFL);
		int efd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(efd, STDERR_FILENO);
		execl(tu_netpollsim(), "netpollsim", "export", fifo, "-o", dst, (char *)NULL);
		_exit(127);
	}
	int w = open(fifo, O_WRONLY);
	cr_assert_geq(w, 0);
	size_t len;
	char *text = tt_slurp(SAMPLE, &len);
	char *third = strchr(strchr(strchr(text, '\n') + 1, '\n') + 1, '\n') + 1;
	cr_assert_eq(write(w, text, (size_t)(third - text)), third - text);
	free(text);
	for (int i = 0; i < 500 && !holds_a_file_in(pid, dir); i++)
		usleep(10000);
	cr_assert(holds_a_file_in(pid, dir), "no output file open while exporting");
	kill(pid, sig);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	close(w);
	if (sig == SIGKILL)
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
	else
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 128 + sig, "status 0x%x", st);
	cr_assert_str_eq(entries_with(dir, "killed"), "", "left behind");
	/* the signal by name, as replay says it */
	char *said = tt_slurp(err, NULL), want[100];
	snprintf(want, sizeof(want), "netpollsim export: interrupted by SIG%s (signal %d)\n",
		 sigabbrev_np(sig), sig);
	cr_assert_str_eq(said, sig == SIGKILL ? "" : want);
	free(said);
}

Test(trace_export, a_stop_signal_or_a_kill_leaves_no_file, .timeout = 30)
{
	signal_a_stalled_export(SIGTERM);
	signal_a_stalled_export(SIGINT);
	signal_a_stalled_export(SIGKILL);
}

/* ---- jsonl: strings and the header and footer as they were ---- */

/* Is s valid UTF-8? */
static bool utf8_valid(const char *path)
{
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "iconv -f UTF-8 -t UTF-8 %s > /dev/null", path);
	return tu_run(cmd, 1, NULL) == 0;
}

Test(trace_export, jsonl_strings_are_valid_utf8_without_controls, .timeout = 30)
{
	static const char text[] =
	    "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"strs\",\"gomaxprocs\":1,"
	    "\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\"}\n"
	    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"c1:\\u009b31m \\u0085 "
	    "del:\\u007f\"}\n"
	    "{\"ts\":2,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"raw \xff\xfe end\"}\n";
	const char *in = tt_tmp("strs.jsonl"), *once = tt_tmp("strs1.jsonl"),
		   *twice = tt_tmp("strs2.jsonl"), *doc = tt_tmp("strs.json");
	char *out;
	tt_spit(in, text, strlen(text));
	cr_assert_eq(tt_np(&out, "export %s --format jsonl -o %s", in, once), 0, "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "export %s --format jsonl -o %s", once, twice), 0, "%s", out);
	free(out);
	size_t l1, l2;
	char *t1 = tt_slurp(once, &l1), *t2 = tt_slurp(twice, &l2);
	cr_assert(utf8_valid(once), "%s", t1);
	cr_assert(tt_terminal_safe(t1, l1), "%s", t1);
	cr_assert(strstr(t1, "\"text\":\"c1:\\u009b31m \\u0085 del:\\u007f\"}\n"), "%s", t1);
	/* an invalid byte is U+FFFD, as Go's encoding/json makes it; the narration says the same */
	cr_assert(strstr(t1, "\"text\":\"raw \xef\xbf\xbd\xef\xbf\xbd end\"}\n"), "%s", t1);
	cr_assert(l1 == l2 && !memcmp(t1, t2, l1), "export of an export differs:\n%s\n%s", t1, t2);
	free(t1);
	free(t2);
	cr_assert_eq(tt_np(&out, "replay --no-ui --narrate %s", in), 0, "%s", out);
	cr_assert(strstr(out, "note: raw \xef\xbf\xbd\xef\xbf\xbd end\n"), "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "export %s -o %s", in, doc), 0, "%s", out);
	free(out);
	t1 = tt_slurp(doc, &l1);
	cr_assert(strstr(t1, "\"name\":\"raw \xef\xbf\xbd\xef\xbf\xbd end\""), "%s", t1);
	free(t1);
}

Test(trace_export, jsonl_copies_the_footer_as_it_was, .timeout = 60)
{
	static const char *const bad[][2] = {{"footer_counts", "footer-counts"},
					     {"footer_lost", "footer-lost"}};
	for (int i = 0; i < 2; i++) {
		char in[256], name[64], *out;
		snprintf(in, sizeof(in), TRACES "/illegal/%s.jsonl", bad[i][0]);
		snprintf(name, sizeof(name), "%s.jsonl", bad[i][0]);
		const char *x = tt_tmp(name);
		cr_assert_eq(tt_np(&out, "export %s --format jsonl -o %s", in, x), 0, "%s", out);
		free(out);
		cr_assert_eq(tt_np(&out, "check %s", x), 1, "%s", out);
		cr_assert(strstr(out, bad[i][1]), "%s", out);
		free(out);
		size_t la, lb;
		char *a = tt_slurp(in, &la), *b = tt_slurp(x, &lb);
		const char *fa = strstr(a, "{\"footer\""), *fb = strstr(b, "{\"footer\"");
		cr_assert(fa && fb, "%s", b);
		cr_assert_str_eq(fb, fa);
		free(a);
		free(b);
	}
	/* no footer in, none out */
	const char *x = tt_tmp("nofooter.jsonl");
	char *out;
	cr_assert_eq(
	    tt_np(&out, "export " TRACES "/truncated_no_footer.jsonl --format jsonl -o %s", x), 0,
	    "%s", out);
	/* said: Perfetto would show what was under way as never ending, with no word why */
	cr_assert_str_eq(
	    out, "netpollsim export: " TRACES "/truncated_no_footer.jsonl: the trace has no "
		 "footer: it was cut short after line 13 (the recording was killed, or "
		 "its disk filled?); the output holds the events before, and what was "
		 "under way then shows as never ending\n");
	free(out);
	char *b = tt_slurp(x, NULL);
	cr_assert(!strstr(b, "\"footer\""), "%s", b);
	free(b);
}

Test(trace_export, jsonl_copies_the_header_as_it_was, .timeout = 30)
{
	/* in the writer's form (controls as \u escapes, other characters as they are), not by
	 * netpollsim, no kernel: an export must give it back byte for byte, every time */
	static const char header[] =
	    "{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"C:\\\\temp \\u001b[31m "
	    "\\u0085 \\u007f "
	    "\xc2\xa0\",\"options\":{\"path\":\"a\\\\b\",\"n\":1.5},\"gomaxprocs\":1,"
	    "\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\",\"writer\":\"handmade\"}\n";
	static const char event[] = "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}\n";
	const char *in = tt_tmp("hdr.jsonl"), *once = tt_tmp("hdr1.jsonl"),
		   *twice = tt_tmp("hdr2.jsonl");
	char text[sizeof(header) + sizeof(event)], *out;
	snprintf(text, sizeof(text), "%s%s", header, event);
	tt_spit(in, text, strlen(text));
	cr_assert_eq(tt_np(&out, "export %s --format jsonl -o %s", in, once), 0, "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "export %s --format jsonl -o %s", once, twice), 0, "%s", out);
	free(out);
	char *t1 = tt_slurp(once, NULL), *t2 = tt_slurp(twice, NULL);
	cr_assert_str_eq(t1, text);
	cr_assert_str_eq(t2, text);
	free(t1);
	free(t2);
}

/* ---- unreadable lines ---- */

static bool is_spoiled(unsigned line)
{
	return line == 40 || line == 90 || line == 140;
}

/*
 * SAMPLE with lines 40 (an unknown kind), 90 (a number for "src") and 140 (over 1 MiB) spoiled,
 * into bad; into dropped blank instead (a blank line is no event, and the lines of the others
 * stay where they were: the Chrome document names them).
 */
static void spoil_sample(const char *bad, const char *dropped)
{
	char *text = tt_slurp(SAMPLE, NULL), *huge = malloc(TRACE_LINE_MAX + 2);
	FILE *b = fopen(bad, "w"), *d = fopen(dropped, "w");
	cr_assert(b && d && huge);
	memset(huge, 'x', TRACE_LINE_MAX + 1);
	huge[TRACE_LINE_MAX + 1] = '\0';
	unsigned n = 0;
	for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		n++;
		char *src = strstr(line, "\"src\":\"sim\"");
		fprintf(d, "%s\n", is_spoiled(n) ? "" : line);
		if (!is_spoiled(n)) {
			fprintf(b, "%s\n", line);
		} else if (n == 40) {
			fputs("{\"ts\":1,\"src\":\"sim\",\"ev\":\"bogus\"}\n", b);
		} else if (n == 90) {
			cr_assert(src, "line 90 of " SAMPLE ": %s", line);
			fprintf(b, "%.*s\"src\":7%s\n", (int)(src - line), line, src + 11);
		} else {
			fprintf(b, "%s\n", huge);
		}
	}
	fclose(b);
	fclose(d);
	free(huge);
	free(text);
}

/* docs/trace-format.md: a bad line is reported and skipped, the export goes on with the next. */
Test(trace_export, a_bad_line_is_reported_and_left_out, .timeout = 60)
{
	static struct nps_event orig[1024], got[1024];
	const char *bad = tt_tmp("spoiled.jsonl"), *dropped = tt_tmp("dropped.jsonl");
	const char *x = tt_tmp("spoiled-out.jsonl");
	spoil_sample(bad, dropped);
	char *out;
	int rc = tt_np(&out, "export %s --format jsonl -o %s", bad, x);
	cr_assert_eq(rc, 1, "exit %d\n%s", rc, out);
	static const char *const errors[] = {
	    "spoiled.jsonl:40: field \"ev\": unknown event kind bogus\n",
	    "spoiled.jsonl:90: field \"src\": expected \"sim\" or \"kernel\", got a number\n",
	    "spoiled.jsonl:140: line longer than 1048576 bytes: skipped\n",
	    "spoiled.jsonl: 3 lines skipped: unreadable (the errors above name them); the output "
	    "holds every other event\n",
	};
	TT_IN_ORDER(out, errors);
	free(out);
	/* the output is a whole trace: every event of the input but those of the bad lines */
	struct trace_reader *r;
	size_t n = 0, m = 0;
	cr_assert_eq(trace_reader_open(SAMPLE, &r), 0);
	while (n < 1024 && trace_reader_next(r, &orig[n]) > 0)
		if (!is_spoiled((unsigned)trace_reader_line(r)))
			n++;
	trace_reader_close(r);
	cr_assert_eq(trace_reader_open(x, &r), 0, "%s", trace_reader_error(r));
	while (m < 1024 && (rc = trace_reader_next(r, &got[m])) > 0)
		m++;
	cr_assert_eq(rc, 0, "%s", trace_reader_error(r));
	cr_assert(trace_reader_info(r)->has_footer);
	trace_reader_close(r);
	cr_assert_eq(m, n, "%zu events exported, %zu expected", m, n);
	cr_assert_eq(memcmp(orig, got, n * sizeof(orig[0])), 0, "events changed on the way");
	/* chrome: the document of the trace without the bad lines */
	const char *xc = tt_tmp("spoiled.json"), *dc = tt_tmp("dropped.json");
	cr_assert_eq(tt_np(&out, "export %s -o %s", bad, xc), 1, "%s", out);
	cr_assert(strstr(out, "3 lines skipped"), "%s", out);
	free(out);
	cr_assert_eq(tt_np(&out, "export %s -o %s", dropped, dc), 0, "%s", out);
	free(out);
	cJSON_Delete(validate_chrome(xc));
	char *a = tt_slurp(xc, NULL), *b = tt_slurp(dc, NULL);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}
