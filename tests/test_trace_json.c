// SPDX-License-Identifier: MIT
/*
 * The trace file format through its API (traces/json.h): every event kind formats to a line that
 * cJSON parses and that reads back into the identical struct; the writer and the streaming
 * reader round-trip a file; a file cut at any byte reads up to its last complete line; the fast
 * path and cJSON agree on every line; bad input gets an error naming the field, with no raw
 * control characters.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tests/test_trace_util.h"
#include "traces/json.h"
#include "traces/names.h"

#define ORIGIN 5000000000ULL
#define PD     0x7f0000001000ULL

/* One event of each kind with every field the kind carries set to a non-default value. */
static struct nps_event make_event(unsigned kind, unsigned i)
{
	struct nps_event e;
	memset(&e, 0, sizeof(e));
	e.ts = ORIGIN + 1000 + i * 17;
	e.kind = (uint16_t)kind;
	e.src = NPS_SRC_SIM;
	e.m = (int16_t)(i % 3);
	e.p = (int16_t)(i % 2);
	e.g = 12 + i;
	e.tid = 4242;
	e.fd = 7;
	switch (kind) {
	case NPS_EV_PD_STATE:
		e.u.pd_state = (struct nps_ev_pd_state){
		    PD, NPS_PDV_WAIT, NPS_PDV_G(12 + i), 3, 'r', NPS_FN_NETPOLLBLOCKCOMMIT, 0};
		break;
	case NPS_EV_PD_OPEN:
	case NPS_EV_PD_FREE:
	case NPS_EV_PD_EVICT:
	case NPS_EV_PD_DEADLINE:
	case NPS_EV_PD_EXPIRE:
	case NPS_EV_PD_EVENTERR:
		e.sub = 1;
		e.u.pd = (struct nps_ev_pd){PD,	       (int64_t)(ORIGIN + 9000000), -1,	 4,
					    'r' + 'w', NPS_FN_POLLSETDEADLINE,	    0x15};
		break;
	case NPS_EV_GSTATUS:
		e.u.gstatus = (struct nps_ev_gstatus){
		    12,	 PD, NPS_GRUNNING, NPS_GWAITING, NPS_WR_IOWAIT, NPS_FN_PARK_M, NPS_RQ_LOCAL,
		    'w', 1};
		break;
	case NPS_EV_NETPOLL_BEGIN:
	case NPS_EV_NETPOLL_END:
		e.u.netpoll = (struct nps_ev_netpoll){
		    77, 2500000, 2, 3, 2, -2, NPS_NPC_FINDRUNNABLE_BLOCK, 1, 0};
		break;
	case NPS_EV_NETPOLL_EVENT:
		e.u.npev = (struct nps_ev_netpoll_event){77,	    PD << 16 | 3,   PD, 0x2005,
							 'r' + 'w', NPS_NPEV_READY, 2};
		break;
	case NPS_EV_NETPOLL_BREAK:
	case NPS_EV_NETPOLL_DRAIN:
		e.u.brk.when = (int64_t)(ORIGIN + 123);
		e.u.brk.ret = 1;
		e.u.brk.result = NPS_BRK_WROTE;
		e.u.brk.fn = NPS_FN_WAKENETPOLLER;
		break;
	case NPS_EV_WAITERS:
		e.u.waiters.delta = -2;
		e.u.waiters.value = 5;
		e.u.waiters.fn = NPS_FN_FINDRUNNABLE;
		break;
	case NPS_EV_NETPOLLOPEN:
	case NPS_EV_NETPOLLCLOSE:
	case NPS_EV_EPOLL_CTL:
		e.u.ctl = (struct nps_ev_ctl){
		    PD << 16 | 3, NPS_NETPOLL_EVENTS, 4, NPS_EPOLL_CTL_ADD, -17, PD};
		if (kind == NPS_EV_EPOLL_CTL)
			e.src = NPS_SRC_KERNEL;
		break;
	case NPS_EV_SCHED:
		e.u.sched = (struct nps_ev_sched){NPS_SCHED_STEAL, 1, 2, 1, 0, 3, 1, 2, 0, 4};
		break;
	case NPS_EV_TIMER:
		e.u.timer = (struct nps_ev_timer){(int64_t)(ORIGIN + 5000000), PD, 9, NPS_TIMER_MOD,
						  NPS_FN_NETPOLLREADDEADLINE,  1,  0};
		break;
	case NPS_EV_SYSMON:
		e.u.sysmon.sleep = 20;
		e.u.sysmon.lastpoll = (int64_t)(ORIGIN + 77);
		e.u.sysmon.idle = 3;
		e.u.sysmon.op = NPS_SYSMON_POLL;
		break;
	case NPS_EV_SYSCALL:
		e.u.sys = (struct nps_ev_sys){-11, 4096, NPS_SYS_READ, NPS_FN_FD_READ, {0}};
		break;
	case NPS_EV_FD_ERR:
		e.u.fderr.errno_ = 104;
		e.u.fderr.err = NPS_FDERR_ERRNO;
		e.u.fderr.fn = NPS_FN_FD_WRITE;
		break;
	case NPS_EV_THROW:
		e.u.thr.msg = 7;
		break;
	case NPS_EV_LOST:
		e.u.lost.count = 12;
		e.u.lost.since = ORIGIN + 900;
		e.u.lost.source = NPS_SRC_KERNEL;
		break;
	case NPS_EV_NOTE:
		snprintf(e.u.note.text, sizeof(e.u.note.text), "q\"uote\\ and \x01 %u", i);
		break;
	case NPS_EV_NETPOLLINIT:
		e.u.init = (struct nps_ev_init){3, 4, 5, 0, 0x55550000a0, 0};
		break;
	case NPS_EV_EPOLL_WAIT:
		e.src = NPS_SRC_KERNEL;
		e.sub = NPS_WAIT_EPOLL_PWAIT;
		e.fd = -1;
		e.u.wait = (struct nps_ev_wait){NPS_KERNEL_ID_BIT | 99, 123456, 3, 128, -1, 0};
		break;
	case NPS_EV_EPOLL_READY:
		e.src = NPS_SRC_KERNEL;
		e.u.ready = (struct nps_ev_ready){99, PD << 16 | 3, 1, 5, 3, 0};
		break;
	case NPS_EV_EPOLL_CREATE:
		e.src = NPS_SRC_KERNEL;
		e.u.create.flags = 0x80000;
		e.u.create.ret = 3;
		break;
	case NPS_EV_EXEC: /* a path with a quote and a control character: escaped, and back */
		e.src = NPS_SRC_KERNEL;
		e.fd = e.m = e.p = -1;
		e.g = 0;
		e.u.exec.path = nps_path_intern("/opt/my \"server\"\x01", 64);
		e.u.exec.old_tid = 4243;
		break;
	case NPS_EV_EXIT: /* killed, with a core dump: every field of the kind */
		e.src = NPS_SRC_KERNEL;
		e.fd = e.m = e.p = -1;
		e.g = 0;
		e.u.exit = (struct nps_ev_exit){.code = -1, .signal = 11, .core = 1};
		break;
	}
	return e;
}

static bool known_kind(unsigned k)
{
	return k > 0 && k < NPS_EV__COUNT && nps_kind_name(k);
}

static void assert_same(const struct nps_event *a, const struct nps_event *b, const char *what)
{
	if (memcmp(a, b, sizeof(*a))) {
		char la[TRACE_EVENT_MAX], lb[TRACE_EVENT_MAX];
		trace_event_format(a, ORIGIN, la, sizeof(la));
		trace_event_format(b, ORIGIN, lb, sizeof(lb));
		cr_assert_fail("%s: events differ\n  want %s\n  got  %s", what, la, lb);
	}
}

Test(trace_json, every_kind_formats_parses_and_round_trips, .timeout = 30)
{
	int kinds = 0;
	for (unsigned k = 0; k < NPS_EV__COUNT; k++) {
		if (!known_kind(k))
			continue;
		kinds++;
		struct nps_event e = make_event(k, k), back;
		char line[TRACE_EVENT_MAX], err[256];
		int n = trace_event_format(&e, ORIGIN, line, sizeof(line));
		cr_assert(n > 0, "kind %s does not format", nps_kind_name(k));
		cJSON *j = cJSON_ParseWithLength(line, (size_t)n);
		cr_assert(j && cJSON_IsObject(j), "cJSON cannot parse the %s line: %s",
			  nps_kind_name(k), line);
		cr_assert_str_eq(cJSON_GetObjectItem(j, "ev")->valuestring, nps_kind_name(k));
		cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "ts")));
		cJSON_Delete(j);
		cr_assert_eq(trace_event_parse(line, (size_t)n, ORIGIN, &back, NULL, 0, NULL, err,
					       sizeof(err)),
			     0, "%s: %s", line, err);
		assert_same(&e, &back, nps_kind_name(k));
		cr_assert_eq(trace_event_parse_slow(line, (size_t)n, ORIGIN, &back, NULL, 0, NULL,
						    err, sizeof(err)),
			     0, "%s: %s", line, err);
		assert_same(&e, &back, "cJSON path");
	}
	cr_assert_eq(kinds, 31, "a kind was added: give it a case in make_event");
}

Test(trace_json, pd_state_line_has_the_documented_fields, .timeout = 10)
{
	struct nps_event e = make_event(NPS_EV_PD_STATE, 0);
	char line[TRACE_EVENT_MAX];
	trace_event_format(&e, ORIGIN, line, sizeof(line));
	cr_assert_str_eq(line, "{\"ts\":1000,\"src\":\"sim\",\"ev\":\"pd_state\",\"m\":0,\"p\":0,"
			       "\"g\":12,\"tid\":4242,\"fd\":7,\"pd\":\"0x7f0000001000\",\"seq\":3,"
			       "\"mode\":\"r\",\"from\":\"wait\",\"to\":\"G12\","
			       "\"fn\":\"netpollblockcommit\"}");
}

/* Events a producer would send: every kind, epoll_wait followed by its ready entries. */
static size_t make_stream(struct nps_event *out, size_t max)
{
	size_t n = 0;
	for (unsigned i = 0; n < max; i++) {
		unsigned k = i % NPS_EV__COUNT;
		if (!known_kind(k) || k == NPS_EV_EPOLL_READY)
			continue;
		struct nps_event e = make_event(k, i);
		if (k == NPS_EV_EPOLL_WAIT) {
			e.u.wait.ret = (int32_t)(i % 4);
			e.u.wait.id = i % 2 ? NPS_KERNEL_ID_BIT | i : i;
		}
		out[n++] = e;
		for (int r = 0; k == NPS_EV_EPOLL_WAIT && r < e.u.wait.ret && n < max; r++) {
			struct nps_event re = e;
			re.kind = NPS_EV_EPOLL_READY;
			re.sub = 0; /* the probes stamp the syscall on the wait only */
			re.fd = 10 + r;
			memset(&re.u, 0, sizeof(re.u));
			re.u.ready = (struct nps_ev_ready){
			    e.u.wait.id, PD << 16 | (unsigned)r, 5, (uint32_t)r, 3, 0};
			if (i % 5 == 0 && r == 1)
				re.tid = 1; /* does not fit the wait's list: its own line */
			if (i % 7 == 0 && r == 0)
				re.u.ready.index = 9; /* an unusual index is kept */
			out[n++] = re;
		}
	}
	return n;
}

Test(trace_json, writer_and_reader_round_trip_a_file, .timeout = 60)
{
	static struct nps_event in[6000];
	size_t n = make_stream(in, 6000);
	uint64_t lost[3] = {0};
	for (size_t i = 0; i < n; i++) /* losses of both sources, for the footer's sums */
		if (in[i].kind == NPS_EV_LOST) {
			in[i].u.lost.source = i % 2 ? NPS_SRC_SIM : NPS_SRC_KERNEL;
			in[i].u.lost.count = 3 + (uint32_t)(i % 5);
			lost[in[i].u.lost.source] += in[i].u.lost.count;
		}
	cr_assert(lost[NPS_SRC_SIM] && lost[NPS_SRC_KERNEL]);
	const char *path = tt_tmp("rt.jsonl");
	struct trace_header h = {.scenario = "rt",
				 .options_json = "{\"clients\":2,\"name\":\"x\"}",
				 .gomaxprocs = 3,
				 .go_version = "go1.22",
				 .kernel_view = 1,
				 .mono_origin = ORIGIN,
				 .wall_start_ns = 1795334400123456789LL};
	struct trace_writer *w;
	cr_assert_eq(trace_writer_open(path, &h, &w), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(trace_writer_event(w, &in[i]), 0);
	cr_assert_eq(trace_writer_count(w), n);
	struct trace_footer ft = {.interrupted = 2, .wall_end_ns = 1795334401000000000LL};
	cr_assert_eq(trace_writer_close(w, &ft), 0);

	struct trace_reader *r;
	struct nps_event e;
	cr_assert_eq(trace_reader_open(path, &r), 0, "%s", trace_reader_error(r));
	const struct trace_info *info = trace_reader_info(r);
	cr_assert_str_eq(info->scenario, "rt");
	cr_assert_eq(info->gomaxprocs, 3);
	cr_assert_eq(info->kernel_view, 1);
	cr_assert_eq(info->mono_origin, ORIGIN);
	cr_assert_eq(info->wall_start_ns, 1795334400123456789LL);
	cr_assert_str_eq(info->options_json, "{\"clients\":2,\"name\":\"x\"}");
	/* the header says the Go modelled, the host's kernel (uname) and the start in words */
	struct utsname u;
	cr_assert_eq(uname(&u), 0);
	cr_assert_str_eq(info->go_version, "go1.22");
	cr_assert_str_eq(info->kernel, u.release);
	cr_assert_str_eq(info->start, "2026-11-22T08:00:00.123456789Z");
	size_t i = 0;
	int rc;
	while ((rc = trace_reader_next(r, &e)) > 0) {
		cr_assert(i < n);
		assert_same(&in[i], &e, "file round trip");
		i++;
	}
	cr_assert_eq(rc, 0, "%s", trace_reader_error(r));
	cr_assert_eq(i, n);
	cr_assert(info->has_footer);
	cr_assert_eq(info->footer_events, n);
	cr_assert_eq(info->interrupted, 2);
	cr_assert_eq(info->wall_end_ns, 1795334401000000000LL);
	/* the footer's lost events by source: what the lost events add up to */
	cr_assert_eq(info->footer_lost[NPS_SRC_SIM], lost[NPS_SRC_SIM]);
	cr_assert_eq(info->footer_lost[NPS_SRC_KERNEL], lost[NPS_SRC_KERNEL]);
	uint64_t counted[NPS_EV__COUNT] = {0};
	for (size_t k = 0; k < n; k++)
		counted[in[k].kind]++;
	for (unsigned k = 0; k < NPS_EV__COUNT; k++)
		cr_assert_eq(info->footer_counts[k], counted[k], "count of %s",
			     nps_kind_name(k) ? nps_kind_name(k) : "?");
	trace_reader_close(r);
}

/*
 * The probes send an epoll_pwait's entries with sub 0 (traces/event.h): they go into its
 * "ready" list, no epoll_ready line (only plain epoll_wait, sub 0 too, was folded). An entry
 * that does not fit (another thread) gets its own line; the reader takes both forms.
 */
Test(trace_json, every_epoll_syscall_gets_its_ready_list, .timeout = 30)
{
	for (unsigned sub = NPS_WAIT_EPOLL_WAIT; sub <= NPS_WAIT_EPOLL_PWAIT2; sub++) {
		struct nps_event ev[4];
		ev[0] = make_event(NPS_EV_EPOLL_WAIT, 0);
		ev[0].sub = (uint8_t)sub;
		ev[0].u.wait.ret = 3;
		for (int i = 1; i <= 3; i++) {
			ev[i] = make_event(NPS_EV_EPOLL_READY, 0);
			ev[i].ts = ev[0].ts;
			ev[i].fd = 40 + i;
			ev[i].u.ready = (struct nps_ev_ready){
			    ev[0].u.wait.id, PD << 16 | (unsigned)i, 1, (uint32_t)(i - 1), 3, 0};
		}
		ev[3].tid = 1; /* another thread's: its own line */
		const char *path = tt_tmp("ready.jsonl");
		struct trace_header h = {.scenario = "r", .gomaxprocs = 1, .mono_origin = ORIGIN};
		struct trace_writer *w;
		cr_assert_eq(trace_writer_open(path, &h, &w), 0);
		for (int i = 0; i < 4; i++)
			cr_assert_eq(trace_writer_event(w, &ev[i]), 0);
		cr_assert_eq(trace_writer_close(w, NULL), 0);
		char *text = tt_slurp(path, NULL);
		char want[160];
		snprintf(want, sizeof(want), "\"syscall\":\"%s\",", nps_wait_sub_name(sub));
		cr_assert(strstr(text, want), "%s", text);
		cr_assert(strstr(text, "\"ready\":[{\"fd\":41,\"events\":1,\"data\":"
				       "\"0x7f00000010000001\"},{\"fd\":42,"),
			  "%s: entries not in the list:\n%s", want, text);
		cr_assert_eq(tu_count_lines(text, "\"ev\":\"epoll_ready\""), 1, "%s", text);
		free(text);
		struct trace_reader *r;
		struct nps_event e;
		cr_assert_eq(trace_reader_open(path, &r), 0);
		for (int i = 0; i < 4; i++) {
			cr_assert_eq(trace_reader_next(r, &e), 1, "%s", trace_reader_error(r));
			assert_same(&ev[i], &e, want);
		}
		cr_assert_eq(trace_reader_next(r, &e), 0);
		trace_reader_close(r);
	}
}

/* The formatter's integers are hand-made (json.c, u64_put): every length, as printf writes it. */
Test(trace_json, integers_of_every_length_format_as_printf_does, .timeout = 10)
{
	uint64_t p = 1;
	for (int k = 0; k < 20; k++, p *= 10) {
		uint64_t vals[] = {p - 1, p, p + 1, p * 3 + 7, k == 19 ? UINT64_MAX : p * 10 - 1};
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			struct nps_event e = make_event(NPS_EV_NETPOLL_BEGIN, 1);
			e.u.netpoll.id = vals[i];
			char line[TRACE_EVENT_MAX], want[48];
			cr_assert_gt(trace_event_format(&e, ORIGIN, line, sizeof(line)), 0);
			snprintf(want, sizeof(want), "\"id\":%llu,", (unsigned long long)vals[i]);
			cr_assert(strstr(line, want), "%s not in %s", want, line);
		}
	}
}

static void assert_same_file(const char *a, const char *b, const char *when)
{
	size_t la, lb;
	char *ta = tt_slurp(a, &la), *tb = tt_slurp(b, &lb);
	cr_assert_eq(la, lb, "%s: %zu bytes written to a path, %zu to a borrowed fd", when, la, lb);
	cr_assert(la > 0 && ta[la - 1] == '\n', "%s: the file ends mid-line", when);
	cr_assert(!memcmp(ta, tb, la), "%s: the files differ", when);
	free(ta);
	free(tb);
}

/*
 * A path the writer opens itself is written in aligned blocks with O_DIRECT where the file system
 * allows it, the tail through the page cache (json.c, wr_flush_buf). After every full flush,
 * small or past the direct threshold, the file must hold exactly the lines written so far, the
 * same bytes as a writer on a borrowed fd (which never writes directly) produces; after a bulk
 * flush, all of them but less than a block.
 */
Test(trace_json, a_path_holds_every_line_after_each_flush_direct_or_not, .timeout = 120)
{
	static struct nps_event in[30000];
	size_t n = make_stream(in, 30000);
	const char *pa = tt_tmp("direct.jsonl"), *pb = tt_tmp("borrowed.jsonl");
	struct trace_header h = {.scenario = "d", .gomaxprocs = 1, .mono_origin = ORIGIN};
	int fd = open(pb, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert(fd >= 0);
	struct trace_writer *wa, *wb;
	cr_assert_eq(trace_writer_open(pa, &h, &wa), 0);
	cr_assert_eq(trace_writer_open_fd(fd, &h, &wb), 0);
	/* batches below and above the 64 KiB direct threshold and the 512 KiB buffer */
	static const size_t batch[] = {1, 3, 700, 2, 6000, 150, 11000, 1, 480, 9000};
	size_t i = 0;
	for (size_t b = 0; i < n; b++) {
		for (size_t k = 0; k < batch[b % (sizeof(batch) / sizeof(batch[0]))] && i < n;
		     k++, i++) {
			cr_assert_eq(trace_writer_event(wa, &in[i]), 0);
			cr_assert_eq(trace_writer_event(wb, &in[i]), 0);
		}
		cr_assert_eq(trace_writer_flush(wb), 0);
		char when[64];
		snprintf(when, sizeof(when), "after %zu events", i);
		if (b % 3 == 2) {
			/* bulk (run's drain): at most a partial block may wait for the next flush */
			cr_assert_eq(trace_writer_flush_bulk(wa), 0);
			size_t la, lb;
			char *ta = tt_slurp(pa, &la), *tb = tt_slurp(pb, &lb);
			cr_assert(la <= lb && lb - la < 4096, "%s: %zu bytes, %zu expected", when,
				  la, lb);
			cr_assert(!memcmp(ta, tb, la), "%s: not a prefix of the stream", when);
			free(ta);
			free(tb);
		} else {
			cr_assert_eq(trace_writer_flush(wa), 0);
			assert_same_file(pa, pb, when);
		}
	}
	struct trace_footer ft = {.interrupted = 15, .wall_end_ns = 1795334401000000000LL};
	cr_assert_eq(trace_writer_close(wa, &ft), 0);
	cr_assert_eq(trace_writer_close(wb, &ft), 0);
	close(fd);
	assert_same_file(pa, pb, "after close");
	struct trace_reader *r;
	struct nps_event e;
	cr_assert_eq(trace_reader_open(pa, &r), 0, "%s", trace_reader_error(r));
	size_t got = 0;
	while (trace_reader_next(r, &e) > 0)
		got++;
	cr_assert_eq(got, n);
	cr_assert(trace_reader_info(r)->has_footer);
	trace_reader_close(r);
}

/* A small trace in memory, and where each of its lines ends. */
static char *small_trace(size_t *len, size_t *ends, size_t *nlines)
{
	static struct nps_event in[40];
	size_t n = make_stream(in, 40);
	const char *path = tt_tmp("small.jsonl");
	struct trace_header h = {.scenario = "s", .gomaxprocs = 1, .mono_origin = ORIGIN};
	struct trace_writer *w;
	cr_assert_eq(trace_writer_open(path, &h, &w), 0);
	for (size_t i = 0; i < n; i++)
		trace_writer_event(w, &in[i]);
	trace_writer_close(w, NULL);
	FILE *f = fopen(path, "rb");
	cr_assert(f);
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	*nlines = 0;
	for (size_t i = 0; i < *len; i++)
		if (buf[i] == '\n')
			ends[(*nlines)++] = i;
	return buf;
}

Test(trace_json, a_file_cut_at_any_byte_reads_up_to_its_last_complete_line, .timeout = 120)
{
	size_t len, ends[200], nl;
	char *buf = small_trace(&len, ends, &nl);
	cr_assert(nl > 10);
	for (size_t cut = 0; cut <= len; cut++) {
		struct trace_reader *r;
		int rc = trace_reader_open_mem(buf, cut, "cut", &r);
		if (cut == 0) {
			cr_assert_eq(rc, -ENODATA);
			trace_reader_close(r);
			continue;
		}
		if (cut < ends[0]) { /* inside the header: not a trace yet */
			cr_assert_eq(rc, -EINVAL, "cut %zu", cut);
			cr_assert(strstr(trace_reader_error(r), "cut:1: header"), "%s",
				  trace_reader_error(r));
			trace_reader_close(r);
			continue;
		}
		cr_assert_eq(rc, 0, "cut %zu: %s", cut, trace_reader_error(r));
		/* complete lines after the header; a line cut just before its newline is complete */
		size_t want_lines = 0;
		for (size_t l = 1; l < nl; l++)
			if (ends[l] <= cut)
				want_lines++;
		bool footer_in = ends[nl - 1] <= cut;
		struct nps_event e;
		size_t got = 0;
		while ((rc = trace_reader_next(r, &e)) > 0)
			got++;
		cr_assert_eq(rc, 0, "cut %zu: %s", cut, trace_reader_error(r));
		const struct trace_info *in = trace_reader_info(r);
		cr_assert_eq(in->has_footer, footer_in, "cut %zu", cut);
		/* every event of every complete line came back (epoll_wait lines carry several) */
		size_t want = 0;
		for (size_t l = 1; l < nl - 1 && ends[l] <= cut; l++) {
			const char *s = buf + ends[l - 1] + 1;
			size_t ln = ends[l] - ends[l - 1] - 1, nr = 0;
			struct nps_event tmp, rd[8];
			char err[256];
			cr_assert_eq(
			    trace_event_parse(s, ln, ORIGIN, &tmp, rd, 8, &nr, err, sizeof(err)),
			    0);
			want += 1 + nr;
		}
		if (!footer_in)
			cr_assert_eq(got, want, "cut %zu: %zu events for %zu lines", cut, got,
				     want_lines);
		trace_reader_close(r);
	}
	free(buf);
}

/* Lines on which the fast path and cJSON must agree: result, event and message. */
static const char *const agree_lines[] = {
    "{\"ts\":5,\"src\":\"sim\",\"ev\":\"pd_state\",\"fd\":7,\"pd\":\"0x10\",\"seq\":1,"
    "\"mode\":\"r\",\"from\":\"nil\",\"to\":\"wait\",\"fn\":\"netpollblock\"}",
    " {\"ts\":5,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}\t\r",
    "{\"ev\":\"note\",\"ts\":5,\"src\":\"sim\",\"text\":\"a\",\"text\":\"b\"}",
    "{\"ts\":007,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}",
    "{\"ts\":-0,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}",
    "{\"ts\":5.0,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}",
    "{\"ts\":5e3,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}",
    "{\"ts\":9007199254740993,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}",
    "{\"ts\":123456789012345,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"esc\\u001b[2J\"}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"tab\tinside\"}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"caf\xc3\xa9\"}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\",}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"} x",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\" ,\"text\":\"hi\"}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"nosuchkind\"}",
    "{\"ts\":\"1\",\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"epoll_wait\",\"syscall\":\"epoll_wait\",\"id\":3,"
    "\"epfd\":3,\"maxevents\":128,\"timeout_ms\":-1,\"n\":0,\"ready\":[]}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"epoll_wait\",\"syscall\":\"epoll_wait\",\"id\":3,"
    "\"epfd\":3,\"maxevents\":128,\"timeout_ms\":-1,\"n\":0,\"ready\":[ ]}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"gstatus\",\"goid\":true,\"from\":\"dead\",\"to\":"
    "\"runnable\"}",
    "{}",
    "[]",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"sched\",\"op\":\"steal\",\"n\":-9007199254740992}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"sched\",\"op\":\"steal\",\"p2\":70000}",
    "{\"ts\":-5000000000,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}",
    "{\"ts\":-5000000001,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"hi\"}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"a\\u0000b\"}",
    "{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"a\\\\u0000b\"}",
    "{\"ts\":5,\"src\":\"sim\",\"ev\":\"pd_state\",\"fd\":7,\"pd\":\"0x10\",\"seq\":1,"
    "\"mode\":114,\"from\":\"G05\",\"to\":\"wait\",\"fn\":\"netpollblock\"}",
    "{\"ts\":5,\"src\":\"sim\",\"ev\":\"pd_state\",\"fd\":7,\"pd\":\"0x10\",\"seq\":1,"
    "\"mode\":\"r\",\"from\":\"0x10\",\"to\":\"wait\",\"fn\":\"netpollblock\"}",
};

Test(trace_json, fast_path_and_cjson_agree, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(agree_lines) / sizeof(agree_lines[0]); i++) {
		const char *l = agree_lines[i];
		struct nps_event a, b;
		char ea[512] = "", eb[512] = "";
		int ra = trace_event_parse(l, strlen(l), ORIGIN, &a, NULL, 0, NULL, ea, sizeof(ea));
		int rb =
		    trace_event_parse_slow(l, strlen(l), ORIGIN, &b, NULL, 0, NULL, eb, sizeof(eb));
		cr_assert_eq(ra, rb, "line %zu: %d vs %d (%s | %s)", i, ra, rb, ea, eb);
		if (ra == 0)
			assert_same(&b, &a, l);
		else
			cr_assert_str_eq(ea, eb, "line %zu", i);
	}
}

struct bad_case {
	const char *line;
	const char *want; /* in the message */
};

Test(trace_json, bad_event_lines_name_the_field, .timeout = 10)
{
	static const struct bad_case cases[] = {
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"pd_state\",\"fd\":7,\"pd\":\"0x1\",\"seq\":\"1\","
	     "\"mode\":\"r\",\"from\":\"nil\",\"to\":\"wait\",\"fn\":\"netpollblock\"}",
	     "field \"seq\": expected an integer, got a string"},
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"pd_state\",\"fd\":7,\"pd\":\"0x1\",\"seq\":1,"
	     "\"mode\":\"r\",\"to\":\"wait\",\"fn\":\"netpollblock\"}",
	     "field \"from\": missing"},
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"pd_state\",\"pd\":\"0x1\",\"seq\":1,"
	     "\"mode\":\"r\",\"from\":\"nil\",\"to\":\"wait\",\"fn\":\"netpollblock\"}",
	     "field \"fd\": missing"},
	    /* the fields every line has */
	    {"{\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}", "field \"ts\": missing"},
	    {"{\"ts\":1,\"ev\":\"note\",\"text\":\"x\"}", "field \"src\": missing"},
	    {"{\"ts\":1,\"src\":\"sim\",\"text\":\"x\"}", "field \"ev\": missing"},
	    {"{\"ts\":\"1\",\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}",
	     "field \"ts\": expected an integer, got a string"},
	    {"{\"ts\":1,\"src\":1,\"ev\":\"note\",\"text\":\"x\"}",
	     "field \"src\": expected \"sim\" or \"kernel\", got a number"},
	    /* a number is quoted as the file wrote it, not as the double cJSON made of it */
	    {"{\"ts\":1e300,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}",
	     "field \"ts\": 1e300 is not an exact integer"},
	    {"{\"ts\":9007199254740993,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}",
	     "field \"ts\": 9007199254740993 is not an exact integer (integers must be within "
	     "±(2^53 - 1) to be exact in JSON)"},
	    {"{\"ts\":-99999999999999999,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}",
	     "field \"ts\": -99999999999999999 is not an exact integer"},
	    {"{\"ts\":1234567890123456789012345678901234567890123,\"src\":\"sim\",\"ev\":"
	     "\"note\",\"text\":\"x\"}",
	     "field \"ts\": 1234567890123456789012345678901234567890... is not an exact integer"},
	    /* a field whose range is narrower says its range */
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"sched\",\"op\":\"steal\",\"p2\":"
	     "-9007199254740993}",
	     "field \"p2\": -9007199254740993 is out of range [-1, 32767]"},
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"sched\",\"op\":\"steal\",\"p2\":7e4}",
	     "field \"p2\": 7e4 is out of range [-1, 32767]"},
	    {"{\"ts\":18446744073709551616,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}",
	     "field \"ts\":"},
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"sched\",\"op\":\"steal\",\"p2\":70000}",
	     "field \"p2\": 70000 is out of range [-1, 32767]"},
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"\\u001b[2Jboom\"}",
	     "field \"ev\": unknown event kind \\x1b[2Jboom"},
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"pd_state\",\"fd\":7,\"pd\":\"0x1\",\"seq\":1,"
	     "\"mode\":\"r\",\"from\":\"G\\u009b31m\",\"to\":\"wait\",\"fn\":\"netpollblock\"}",
	     "field \"from\": expected \"nil\", \"ready\", \"wait\" or \"G<goid>\", got "
	     "G\\xc2\\x9b31m"},
	    {"{\"ts\":1,\"src\":\"bpf\",\"ev\":\"note\",\"text\":\"x\"}",
	     "field \"src\": expected \"sim\" or \"kernel\", got bpf"},
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":"
	     "\"0123456789012345678901234567890123\"}",
	     "field \"text\": longer than 32 bytes"},
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"epoll_ready\",\"id\":1,\"data\":\"7f\",\"events\":"
	     "1}",
	     "field \"data\": expected a hex string like \"0x7f00\", got 7f"},
	    {"{\"ts\":1,\"src\":\"sim\"", "not valid JSON"},
	    {"[1,2]", "expected a JSON object, got an array"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nps_event e;
		char err[512];
		int rc = trace_event_parse(cases[i].line, strlen(cases[i].line), ORIGIN, &e, NULL,
					   0, NULL, err, sizeof(err));
		cr_assert_eq(rc, -EINVAL, "case %zu accepted", i);
		cr_assert(strstr(err, cases[i].want), "case %zu: '%s' lacks '%s'", i, err,
			  cases[i].want);
		for (const char *c = err; *c; c++)
			cr_assert((unsigned char)*c >= 0x20 && *c != 0x7f,
				  "case %zu: control character in the message", i);
	}
}

/*
 * An integer is read exactly from its text, in whatever notation, and a number that is not one
 * is refused although a double rounds it to one (cJSON alone read 1.0000000000000001 as 1).
 */
Test(trace_json, integers_are_read_exactly_from_their_text, .timeout = 10)
{
	static const struct {
		const char *n;
		long long want; /* 1 << 62: refused as not an integer */
	} cases[] = {
	    {"9007199254740991", 9007199254740991LL},
	    {"-9007199254740991", -9007199254740991LL},
	    {"9.007199254740991e15", 9007199254740991LL},
	    {"900719925474099100e-2", 9007199254740991LL},
	    {"100e-2", 1},
	    {"0.5e1", 5},
	    {"-0", 0},
	    {"0e999999999999", 0},
	    {"1.0000000000000001", 1LL << 62},
	    {"9007199254740990.6", 1LL << 62},
	    {"1e-400", 1LL << 62},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[200], err[512] = "", want[100];
		struct nps_event e;
		snprintf(line, sizeof(line),
			 "{\"ts\":1,\"src\":\"sim\",\"ev\":\"sched\",\"op\":\"steal\",\"n\":%s}",
			 cases[i].n);
		int rc = trace_event_parse(line, strlen(line), ORIGIN, &e, NULL, 0, NULL, err,
					   sizeof(err));
		if (cases[i].want == 1LL << 62) {
			snprintf(want, sizeof(want), "field \"n\": expected an integer, got %s",
				 cases[i].n);
			cr_assert_eq(rc, -EINVAL, "%s read as %lld", cases[i].n,
				     (long long)e.u.sched.n);
			cr_assert_str_eq(err, want);
			continue;
		}
		cr_assert_eq(rc, 0, "%s refused: %s", cases[i].n, err);
		cr_assert_eq(e.u.sched.n, cases[i].want, "%s read as %lld", cases[i].n,
			     (long long)e.u.sched.n);
	}
}

/*
 * A signed field takes the values docs/trace-format.md gives it, not its C type's: -1 (none) or
 * >= 0 for fds, M and P ids and waitms; >= 0 for durations, errnos and thread ids. The line
 * holds KEY with VALUE where the template has %s.
 */
Test(trace_json, signed_fields_keep_to_their_documented_domain, .timeout = 10)
{
	static const struct {
		const char *tmpl, *key, *lo;
	} cases[] = {
	    {"\"ev\":\"note\",\"text\":\"x\",\"%s\":%s", "fd", "-1"},
	    {"\"ev\":\"note\",\"text\":\"x\",\"%s\":%s", "m", "-1"},
	    {"\"ev\":\"note\",\"text\":\"x\",\"%s\":%s", "p", "-1"},
	    {"\"ev\":\"pd_open\",\"pd\":\"0x10\",\"%s\":%s", "fd", "-1"},
	    {"\"ev\":\"gstatus\",\"goid\":1,\"from\":\"dead\",\"to\":\"runnable\",\"%s\":%s",
	     "wakep", "-1"},
	    {"\"ev\":\"netpoll_begin\",\"id\":1,\"delay\":-1,\"%s\":%s", "waitms", "-1"},
	    {"\"ev\":\"netpollopen\",\"fd\":7,\"op\":\"ADD\",\"ret\":0,\"%s\":%s", "epfd", "-1"},
	    {"\"ev\":\"epoll_ctl\",\"fd\":7,\"op\":\"ADD\",\"events\":1,\"data\":\"0x1\","
	     "\"ret\":0,\"%s\":%s",
	     "epfd", "-1"},
	    {"\"ev\":\"sched\",\"op\":\"startm\",\"%s\":%s", "m2", "-1"},
	    {"\"ev\":\"timer\",\"op\":\"add\",\"%s\":%s", "tp", "-1"},
	    {"\"ev\":\"sysmon\",\"op\":\"sleep\",\"%s\":%s", "sleep", "0"},
	    {"\"ev\":\"fd_err\",\"err\":\"errno\",\"%s\":%s", "errno", "0"},
	    {"\"ev\":\"netpollinit\",\"epfd\":3,\"break_rd\":4,\"%s\":%s", "break_wr", "-1"},
	    {"\"ev\":\"epoll_wait\",\"syscall\":\"epoll_wait\",\"id\":1,\"maxevents\":1,"
	     "\"timeout_ms\":-1,\"n\":0,\"ready\":[],\"%s\":%s",
	     "epfd", "-1"},
	    {"\"ev\":\"epoll_ready\",\"id\":1,\"data\":\"0x1\",\"events\":1,\"%s\":%s", "epfd",
	     "-1"},
	    {"\"ev\":\"exec\",\"path\":\"/bin/x\",\"%s\":%s", "old_tid", "0"},
	    {"\"ev\":\"exit\",\"signal\":9,\"%s\":%s", "code", "-1"},
	    {"\"ev\":\"exit\",\"code\":1,\"%s\":%s", "signal", "0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[300], line[400], err[512] = "", want[160];
		struct nps_event e;
		for (int below = 0; below < 2; below++) {
			long long v = strtoll(cases[i].lo, NULL, 10) - below;
			char val[24];
			snprintf(val, sizeof(val), "%lld", v);
			snprintf(body, sizeof(body), cases[i].tmpl, cases[i].key, val);
			/* an exit is the kernel's */
			snprintf(line, sizeof(line), "{\"ts\":1,\"src\":\"%s\",%s}",
				 strstr(body, "\"exit\"") ? "kernel" : "sim", body);
			int rc = trace_event_parse(line, strlen(line), ORIGIN, &e, NULL, 0, NULL,
						   err, sizeof(err));
			if (!below) {
				cr_assert_eq(rc, 0, "%s refused: %s", line, err);
				continue;
			}
			snprintf(want, sizeof(want), "field \"%s\": %lld is out of range [%s, ",
				 cases[i].key, v, cases[i].lo);
			cr_assert_eq(rc, -EINVAL, "%s accepted", line);
			cr_assert(!strncmp(err, want, strlen(want)), "%s: '%s' is not '%s...'",
				  line, err, want);
		}
	}
	/* an entry of an epoll_wait line's ready list too */
	static const char wait[] =
	    "{\"ts\":1,\"src\":\"kernel\",\"ev\":\"epoll_wait\",\"syscall\":\"epoll_wait\","
	    "\"id\":1,\"epfd\":3,\"maxevents\":1,\"timeout_ms\":-1,\"n\":1,\"ready\":[{\"fd\":-5,"
	    "\"events\":1,\"data\":\"0x1\"}]}";
	struct nps_event e, ready[1];
	size_t n;
	char err[512];
	cr_assert_eq(
	    trace_event_parse(wait, strlen(wait), ORIGIN, &e, ready, 1, &n, err, sizeof(err)),
	    -EINVAL);
	cr_assert_str_eq(err, "ready[0]: field \"fd\": -5 is out of range [-1, 2147483647]");
}

Test(trace_json, sanitize_makes_control_characters_visible, .timeout = 10)
{
	char out[256];
	trace_sanitize("a\x1b[2Jb", 6, out, sizeof(out));
	cr_assert_str_eq(out, "a\\x1b[2Jb");
	trace_sanitize("x\xc2\x9b"
		       "31m",
		       6, out, sizeof(out)); /* C1 CSI in UTF-8 */
	cr_assert_str_eq(out, "x\\xc2\\x9b31m");
	trace_sanitize("G12 \xe2\x86\x92 ready", 13, out, sizeof(out)); /* an arrow stays */
	cr_assert_str_eq(out, "G12 \xe2\x86\x92 ready");
	trace_sanitize("\xff\xfe\\\n\t\x7f", 6, out, sizeof(out));
	cr_assert_str_eq(out, "\\xff\\xfe\\\\\\n\\t\\x7f");
	trace_sanitize("\xed\xa0\x80", 3, out, sizeof(out)); /* a UTF-16 surrogate */
	cr_assert_str_eq(out, "\\xed\\xa0\\x80");
	trace_sanitize("abcdef", 6, out, 4);
	cr_assert_str_eq(out, "abc");
}

#define HEADER                                                                                     \
	"{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"t\",\"gomaxprocs\":1,"      \
	"\"go\":\"go1.22\",\"mono_origin_ns\":\"1000\"}\n"

Test(trace_json, header_errors, .timeout = 10)
{
	static const struct bad_case cases[] = {
	    {"", "empty file: no header line"},
	    {"{\"format\":\"netpollsim-trace\",\"version\":2,\"scenario\":\"t\"}\n",
	     "h:1: header: field \"version\": unsupported version 2 (this netpollsim reads version "
	     "1)"},
	    {"{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"x\"}\n",
	     "h:1: header: field \"format\": not a netpollsim trace"},
	    {"{\"format\":\"netpollsim-trace\",\"version\":1,\"scenario\":\"t\",\"gomaxprocs\":1,"
	     "\"go\":\"go1.22\"}\n",
	     "h:1: header: field \"mono_origin_ns\": missing"},
	    {"\x7f"
	     "ELF\x02\x01\x01\0\0\0\n",
	     "h:1: header: contains a NUL byte"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct trace_reader *r;
		size_t len = i == 4 ? 11 : strlen(cases[i].line);
		int rc = trace_reader_open_mem(cases[i].line, len, "h", &r);
		cr_assert(rc < 0, "case %zu accepted", i);
		cr_assert(strstr(trace_reader_error(r), cases[i].want), "case %zu: %s", i,
			  trace_reader_error(r));
		trace_reader_close(r);
	}
}

/*
 * A lone surrogate escape is valid JSON (RFC 8259 section 8.2) that cJSON refuses: it reads as
 * U+FFFD, as Go's encoding/json reads it; a pair is the character it encodes. Nesting deeper
 * than cJSON's limit is refused with the reason, not as "not valid JSON".
 */
Test(trace_json, lone_surrogates_read_as_fffd_and_deep_nesting_says_why, .timeout = 10)
{
	static const struct {
		const char *text, *want;
	} notes[] = {
	    {"a\\ud800b", "a\xef\xbf\xbd"
			  "b"},
	    {"\\udc00\\ud800", "\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\\ud83d\\ude00!", "\xf0\x9f\x98\x80!"},
	};
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++) {
		char buf[512];
		struct trace_reader *r;
		struct nps_event e;
		int n = snprintf(buf, sizeof(buf),
				 "%s{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"%s\"}\n",
				 HEADER, notes[i].text);
		cr_assert_eq(trace_reader_open_mem(buf, (size_t)n, "s", &r), 0, "%s",
			     trace_reader_error(r));
		cr_assert_eq(trace_reader_next(r, &e), 1, "case %zu: %s", i, trace_reader_error(r));
		cr_assert_str_eq(e.u.note.text, notes[i].want, "case %zu", i);
		trace_reader_close(r);
	}
	char deep[4200];
	int n = snprintf(deep, sizeof(deep), "%s{\"ts\":1,\"x\":", HEADER);
	for (int i = 0; i < 1100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 1100; i++)
		deep[n++] = ']';
	n += snprintf(deep + n, sizeof(deep) - (size_t)n, "}\n");
	struct trace_reader *r;
	struct nps_event e;
	cr_assert_eq(trace_reader_open_mem(deep, (size_t)n, "d", &r), 0);
	cr_assert_lt(trace_reader_next(r, &e), 0);
	cr_assert(strstr(trace_reader_error(r),
			 "d:2: not valid JSON for this reader: nested deeper than 1000 arrays and "
			 "objects (column"),
		  "%s", trace_reader_error(r));
	trace_reader_close(r);
}

Test(trace_json, a_line_over_the_limit_is_skipped_and_reading_goes_on, .timeout = 30)
{
	size_t big = TRACE_LINE_MAX * 3;
	size_t hl = strlen(HEADER);
	const char *tail = "\n{\"ts\":1,\"src\":\"sim\",\"ev\":\"note\",\"text\":\"after\"}\n";
	char *buf = malloc(hl + big + strlen(tail));
	memcpy(buf, HEADER, hl);
	memset(buf + hl, 'x', big);
	memcpy(buf + hl + big, tail, strlen(tail));
	const char *path = tt_tmp("long.jsonl");
	tt_spit(path, buf, hl + big + strlen(tail));
	free(buf);
	struct trace_reader *r;
	struct nps_event e;
	cr_assert_eq(trace_reader_open(path, &r), 0);
	cr_assert_eq(trace_reader_next(r, &e), -EINVAL);
	cr_assert(strstr(trace_reader_error(r), "long.jsonl:2: line longer than 1048576 bytes"),
		  "%s", trace_reader_error(r));
	cr_assert_eq(trace_reader_next(r, &e), 1, "%s", trace_reader_error(r));
	cr_assert_str_eq(e.u.note.text, "after");
	cr_assert_eq(trace_reader_line(r), 3);
	trace_reader_close(r);
}

Test(trace_json, writer_refuses_options_that_are_not_an_object, .timeout = 10)
{
	struct trace_header h = {.scenario = "x", .options_json = "[1]", .gomaxprocs = 1};
	struct trace_writer *w;
	cr_assert_eq(trace_writer_open(tt_tmp("bad.jsonl"), &h, &w), -EINVAL);
	cr_assert_null(w);
	cr_assert_eq(trace_writer_open("/nonexistent-dir/x.jsonl", &h, &w), -ENOENT);
	cr_assert_eq(trace_writer_close(NULL, NULL), 0);
}

/*
 * The header's options keep their numbers as written: cJSON holds a double and would print a
 * seed of 2^63 - 1 (run --seed takes it) as 9.2233720368547758e+18, a run no one could repeat.
 * The recording, its reading and its export all keep the text.
 */
Test(trace_json, a_seed_beyond_a_double_is_kept_as_written, .timeout = 30)
{
	const char *opts = "{\"seed\":9223372036854775807,\"duration\":1e-05,\"procs\":2}";
	const char *path = tt_tmp("seed.jsonl"), *copy = tt_tmp("seed-export.jsonl");
	struct trace_header h = {.scenario = "seed", .options_json = opts, .gomaxprocs = 2};
	struct trace_writer *w;
	cr_assert_eq(trace_writer_open(path, &h, &w), 0);
	struct trace_footer ft = {0};
	cr_assert_eq(trace_writer_close(w, &ft), 0);
	char *text = tt_slurp(path, NULL);
	cr_assert(strstr(text, "\"options\":{\"seed\":9223372036854775807,\"duration\":1e-05,"),
		  "%s", text);
	struct trace_reader *r;
	cr_assert_eq(trace_reader_open(path, &r), 0, "%s", trace_reader_error(r));
	cr_assert_str_eq(trace_reader_info(r)->options_json, opts);
	trace_reader_close(r);
	char *out;
	cr_assert_eq(tt_np(&out, "export %s --format jsonl -o %s", path, copy), 0, "%s", out);
	free(out);
	char *again = tt_slurp(copy, NULL);
	cr_assert_str_eq(again, text, "the export changed the header");
	free(again);
	free(text);
}

/* An exit says how the process ended: an exit code or a signal, one of the two. */
Test(trace_json, an_exit_line_has_a_code_or_a_signal, .timeout = 10)
{
	static const struct {
		const char *fields, *err; /* err NULL: read as legal */
	} cases[] = {
	    {"\"code\":0", NULL},
	    {"\"code\":255", NULL},
	    {"\"signal\":9", NULL},
	    {"\"signal\":6,\"core\":1", NULL},
	    {"", "fields \"code\" and \"signal\": an exit has one of them (exited with a code, "
		 "or killed by a signal), not neither"},
	    {"\"code\":2,\"signal\":9",
	     "fields \"code\" and \"signal\": an exit has one of "
	     "them (exited with a code, or killed by a signal), not both"},
	    {"\"code\":256", "field \"code\": out of range"},
	    {"\"signal\":128", "field \"signal\": out of range"},
	    {"\"code\":1,\"core\":1", "field \"core\": out of range"},
	};
	char err[512] = "";
	struct nps_event e;
	static const char sim[] = "{\"ts\":1,\"src\":\"sim\",\"ev\":\"exit\",\"code\":0}";
	cr_assert_eq(
	    trace_event_parse(sim, strlen(sim), ORIGIN, &e, NULL, 0, NULL, err, sizeof(err)),
	    -EINVAL);
	cr_assert_str_eq(err, "field \"src\": an exit is the kernel's (\"kernel\")");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[200], err[512] = "";
		struct nps_event e;
		snprintf(line, sizeof(line), "{\"ts\":1,\"src\":\"kernel\",\"ev\":\"exit\"%s%s}",
			 cases[i].fields[0] ? "," : "", cases[i].fields);
		int rc = trace_event_parse(line, strlen(line), ORIGIN, &e, NULL, 0, NULL, err,
					   sizeof(err));
		if (!cases[i].err) {
			cr_assert_eq(rc, 0, "%s refused: %s", line, err);
			continue;
		}
		cr_assert_eq(rc, -EINVAL, "%s accepted", line);
		cr_assert(!strncmp(err, cases[i].err, strlen(cases[i].err)), "%s: '%s' is not '%s'",
			  line, err, cases[i].err);
	}
}

/* An exec's path does not fit the event: the line carries it whole, the event an id of it. */
Test(trace_json, an_exec_line_carries_its_path, .timeout = 10)
{
	struct nps_event e = make_event(NPS_EV_EXEC, 0), back;
	char line[TRACE_EVENT_MAX], err[256], longpath[NPS_PATH_LEN + 2];
	trace_event_format(&e, ORIGIN, line, sizeof(line));
	cr_assert_str_eq(line, "{\"ts\":1000,\"src\":\"kernel\",\"ev\":\"exec\","
			       "\"tid\":4242,\"path\":\"/opt/my \\\"server\\\"\\u0001\","
			       "\"old_tid\":4243}");
	cr_assert_eq(nps_path_intern("/opt/my \"server\"\x01", 64), e.u.exec.path, "one id a path");
	/* a path the event does not know (the table was full) reads "" and back as unknown */
	e.u.exec.path = 0;
	int n = trace_event_format(&e, ORIGIN, line, sizeof(line));
	cr_assert(strstr(line, "\"path\":\"\""), "%s", line);
	cr_assert_eq(
	    trace_event_parse(line, (size_t)n, ORIGIN, &back, NULL, 0, NULL, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(back.u.exec.path, 0);
	/* NPS_PATH_LEN bytes: written whole and read back as the same path (63 bytes were written) */
	memset(longpath, 'a', NPS_PATH_LEN);
	longpath[NPS_PATH_LEN] = '\0';
	e.u.exec.path = nps_path_intern(longpath, NPS_PATH_LEN);
	n = trace_event_format(&e, ORIGIN, line, sizeof(line));
	cr_assert(strstr(line, longpath), "%s", line);
	cr_assert_eq(
	    trace_event_parse(line, (size_t)n, ORIGIN, &back, NULL, 0, NULL, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(back.u.exec.path, e.u.exec.path);
	/* longer than NPS_PATH_LEN: refused, naming the field */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(line, sizeof(line),
		 "{\"ts\":1,\"src\":\"kernel\",\"ev\":\"exec\",\"tid\":1,\"path\":\"%s\","
		 "\"old_tid\":1}",
		 longpath);
	cr_assert_eq(
	    trace_event_parse(line, strlen(line), ORIGIN, &back, NULL, 0, NULL, err, sizeof(err)),
	    -EINVAL);
	cr_assert(strstr(err, "field \"path\": longer than 512 bytes"), "%s", err);
}

/*
 * Every fatal error the runtime can raise keeps its own message in a trace: each throw("..."),
 * fatalpanic("...") and fd_panic("...") of sim/ is in the throw table (traces/names.c), which the trace writes and
 * reads by name. One missing would be recorded, checked and narrated as "runtime: internal
 * error", while stderr printed Go's real message.
 */
Test(trace_json, every_throw_of_the_runtime_has_its_message_in_traces, .timeout = 10)
{
	char *out = NULL;
	int rc = tu_run("grep -ho -e 'throw(\"[^\"]*\")' -e 'fd_panic(\"[^\"]*\")' "
			"-e 'fatalpanic(\"[^\"]*\")' sim/*.c | "
			"sed 's/^[a-z_]*(\"//; s/\")$//' | sort -u",
			0, &out);
	cr_assert_eq(rc, 0, "%s", out);
	int n = 0;
	for (char *save = NULL, *m = strtok_r(out, "\n", &save); m;
	     m = strtok_r(NULL, "\n", &save)) {
		int code = nps_throw_from_msg(m);
		cr_assert(code > 0 && code != NPS_THROW_OTHER, "throw(\"%s\") is not in the table",
			  m);
		cr_assert_str_eq(nps_throw_msg((unsigned)code), m);
		n++;
	}
	cr_assert_gt(n, 30, "only %d messages found: is the test run from the top directory?", n);
	free(out);
}
