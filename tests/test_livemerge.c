// SPDX-License-Identifier: MIT
/*
 * The live merge (traces/livemerge.h) of kernel events bounded by the probes' watermark: a
 * kernel event that arrives after events stamped later than it were delivered cannot be put in
 * its place. It is delivered, never dropped, and counted where a user looks: the trace's footer
 * ("late", next to "lost"), the summary (`replay` prints the one `run` prints), and `check`
 * names its ts-order.
 */
#include "tests/test_trace_util.h"

#include "traces/json.h"
#include "traces/livemerge.h"

#define ORIGIN 1000000000ULL

struct sink {
	struct trace_writer *w;
	uint64_t ts[8];
	int n;
};

static int to_writer(void *ctx, const struct nps_event *e)
{
	struct sink *s = ctx;
	cr_assert_lt(s->n, 8);
	s->ts[s->n++] = e->ts;
	return trace_writer_event(s->w, e);
}

/* epoll_create1(EPOLL_CLOEXEC) = ret, by thread tid, at ORIGIN + rel. */
static struct nps_event create_at(uint64_t rel, uint32_t tid, int ret)
{
	return (struct nps_event){.ts = ORIGIN + rel,
				  .tid = tid,
				  .fd = -1,
				  .kind = NPS_EV_EPOLL_CREATE,
				  .m = -1,
				  .p = -1,
				  .src = NPS_SRC_KERNEL,
				  .u.create = {.flags = 0x80000, .ret = ret}};
}

Test(livemerge, a_kernel_event_behind_the_watermark_is_delivered_late_and_counted, .timeout = 30)
{
	const char *path = tt_tmp("late.jsonl");
	struct trace_header h = {
	    .scenario = "trace", .gomaxprocs = 1, .kernel_view = 1, .mono_origin = ORIGIN};
	struct sink s = {0};
	cr_assert_eq(trace_writer_open(path, &h, &s.w), 0);
	struct livemerge *lm = livemerge_new(NULL, true);
	cr_assert(lm);

	/* thread 11's event, and the watermark past it: delivered */
	struct nps_event a = create_at(2000, 11, 3);
	cr_assert_eq(livemerge_push_kernel(lm, &a), 0);
	livemerge_kernel_upto(lm, ORIGIN + 3000);
	cr_assert_eq(livemerge_drain(lm, false, to_writer, &s), 0);
	cr_assert_eq(s.n, 1);
	/* thread 12's, stamped before it, arrives only now (its probe was held up) */
	struct nps_event b = create_at(1000, 12, 4);
	cr_assert_eq(livemerge_push_kernel(lm, &b), 0);
	livemerge_kernel_upto(lm, ORIGIN + 4000);
	cr_assert_eq(livemerge_drain(lm, true, to_writer, &s), 0);
	cr_assert_eq(s.n, 2, "the late event is delivered, not dropped");
	cr_assert_eq(s.ts[1], ORIGIN + 1000);
	livemerge_free(lm);
	struct trace_footer f = {.wall_end_ns = 1};
	cr_assert_eq(trace_writer_close(s.w, &f), 0);

	char *text = tt_slurp(path, NULL);
	cr_assert(
	    strstr(text, "\"lost\":{\"sim\":0,\"kernel\":0},\"late\":{\"sim\":0,\"kernel\":1}"),
	    "the footer counts it next to the losses:\n%s", text);
	free(text);

	char *out;
	int rc = tt_np(&out, "check %s", path);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "late.jsonl:3: error: ts-order: time goes backwards: 1000 ns before "
			      "the previous event (a kernel event that reached the live merge "
			      "after later events: the footer's \"late\")"),
		  "%s", out);
	free(out);
	rc = tt_np(&out, "replay %s --no-ui", path);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "lost events: 0 sim, 0 kernel; late events (out of time order): 0 "
			      "sim, 1 kernel"),
		  "%s", out);
	free(out);
}
