// SPDX-License-Identifier: MIT
/*
 * Every scenario end to end on loopback, asserting the story its event log tells: the history
 * of the lesson's pollDesc, who changed it, what the goroutines got back, and that the fold
 * finds no rule broken. Also: 1,000 connections opened and closed leave the process's open fds
 * and pollCache where they started, and the recorded trace of every scenario passes
 * `netpollsim check`.
 */
#include <criterion/criterion.h>

#include "sim/net.h"
#include "sim/runtime.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "tests/test_trace_util.h" /* and testutil.h */
#include "traces/names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct tu_events EV;
static struct scenario_result R;

TestSuite(sim_scenarios, .timeout = 60);

/* The pollDesc that served fd (the last incarnation that used it) and its fdseq. */
static uint32_t pd_seq;
static uint64_t pd_of_fd(int fd)
{
	uint64_t pd = 0;
	for (size_t i = 0; i < EV.n; i++)
		if (EV.v[i].kind == NPS_EV_PD_OPEN && EV.v[i].fd == fd) {
			pd = EV.v[i].u.pd.pd;
			pd_seq = EV.v[i].u.pd.seq;
		}
	return pd;
}

static int fd_err_is(const struct nps_event *e, void *ctx)
{
	return e->u.fderr.err == *(uint8_t *)ctx;
}

static int gstatus_fn_is(const struct nps_event *e, void *ctx)
{
	return e->u.gstatus.fn == *(uint8_t *)ctx;
}

Test(sim_scenarios, echo_reads_park_and_wake)
{
	/* Enough round trips that some read finds no data yet, even under TSan's slowdown (with
	 * 2 x 3 every read once found its data already there). */
	cr_assert_eq(tu_scenario_run("echo", 2, 4, 10, &R, &EV), 0);
	cr_assert_eq(R.errors, 0);
	cr_assert_eq(R.round_trips, 40);
	cr_assert_eq(R.connections, 4);
	cr_assert_eq(tu_fold_violations(&EV), 0);
	/* Some connection's reader parked and was woken by readiness: nil>wait>G>ready>nil. */
	int found = 0;
	for (size_t i = 0; i < EV.n && !found; i++) {
		if (EV.v[i].kind != NPS_EV_NETPOLLOPEN)
			continue;
		const char *h = tu_pd_history(&EV, EV.v[i].u.ctl.pd, 'r');
		if (strstr(h, "nil>wait>G>ready>nil"))
			found = 1;
	}
	cr_assert(found, "no connection showed rg nil -> wait -> G -> ready -> nil");
	/*
	 * The clients are threads outside the runtime, never goroutines: main, the accept loop
	 * and one handler per connection are all the goroutines there are.
	 */
	uint8_t newproc = NPS_FN_NEWPROC;
	int created = 0;
	for (long i = 0;
	     (i = tu_find(&EV, (size_t)i, NPS_EV_GSTATUS, gstatus_fn_is, &newproc)) >= 0; i++)
		created++;
	cr_assert_eq(created, 2 + 4, "%d goroutines for 4 connections", created);
}

Test(sim_scenarios, deadline_times_out_idle_reader)
{
	cr_assert_eq(tu_scenario_run("deadline", 1, -1, -1, &R, &EV), 0);
	cr_assert_eq(R.errors, 0);
	cr_assert_eq(R.reader_err, -NPS_ETIMEOUT, "reader got %s", nps_strerror(R.reader_err));
	cr_assert_str_eq(nps_strerror(R.reader_err), "i/o timeout");
	uint64_t pd = pd_of_fd(R.server_fd);
	cr_assert_neq(pd, 0);
	const char *h = tu_pd_history(&EV, pd, 'r');
	cr_assert(strstr(h, "nil>wait>G>nil"), "rg history %s", h);
	uint8_t timeout = NPS_FDERR_TIMEOUT;
	cr_assert(tu_find(&EV, 0, NPS_EV_FD_ERR, fd_err_is, &timeout) >= 0,
		  "Read returned the timeout error in the log");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

static int is_close_of(const struct nps_event *e, void *ctx)
{
	return e->u.sys.op == NPS_SYS_CLOSE && e->fd == *(int *)ctx;
}

static int is_netpollclose_of(const struct nps_event *e, void *ctx)
{
	return e->fd == *(int *)ctx;
}

Test(sim_scenarios, close_wakes_reader_and_writer)
{
	cr_assert_eq(tu_scenario_run("close", 2, -1, -1, &R, &EV), 0);
	cr_assert_eq(R.errors, 0);
	cr_assert_eq(R.reader_err, -NPS_ECLOSING);
	cr_assert_eq(R.writer_err, -NPS_ECLOSING);
	cr_assert_str_eq(nps_strerror(R.reader_err), "use of closed network connection");
	uint64_t pd = pd_of_fd(R.server_fd);
	cr_assert(strstr(tu_pd_history(&EV, pd, 'r'), "wait>G>nil"));
	cr_assert(strstr(tu_pd_history(&EV, pd, 'w'), "wait>G>nil"));
	/* The DEL comes before the close(2) of that fd. */
	int fd = R.server_fd;
	long del = tu_find(&EV, 0, NPS_EV_NETPOLLCLOSE, is_netpollclose_of, &fd);
	long cl = tu_find(&EV, 0, NPS_EV_SYSCALL, is_close_of, &fd);
	cr_assert(del >= 0 && cl >= 0, "both the DEL and the close are logged");
	cr_assert_lt(del, cl, "epoll_ctl(DEL) must come before close(2)");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

Test(sim_scenarios, slow_reader_parks_writer)
{
	cr_assert_eq(tu_scenario_run("slow-reader", 2, -1, -1, &R, &EV), 0);
	cr_assert_eq(R.errors, 0);
	cr_assert_eq(R.writer_err, 0);
	uint64_t pd = pd_of_fd(R.server_fd);
	const char *h = tu_pd_history(&EV, pd, 'w');
	/* The writer parked more than once and each time EPOLLOUT readiness woke it. */
	int parks = 0;
	for (const char *p = h; (p = strstr(p, "wait>G>ready")) != NULL; p++)
		parks++;
	cr_assert_geq(parks, 2, "wg history %s", h);
	cr_assert(strstr(R.story, "Write found the socket buffer full"), "%s", R.story);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

Test(sim_scenarios, ready_before_park_consumes_without_parking)
{
	cr_assert_eq(tu_scenario_run("ready-before-park", 2, -1, -1, &R, &EV), 0);
	cr_assert_eq(R.errors, 0);
	cr_assert_eq(R.park_free_reads, 1);
	uint64_t pd = pd_of_fd(R.server_fd);
	/* Readiness set pdReady while nobody waited; the reader took it without pdWait. */
	const char *h = tu_pd_history_seq(&EV, pd, pd_seq, 'r');
	cr_assert(strstr(h, "nil>ready>nil"), "rg history %s", h);
	cr_assert_null(strstr(h, "wait"), "the reader never announced a wait: %s", h);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

static int accepted_ok(const struct nps_event *e, void *ctx)
{
	return e->u.sys.op == NPS_SYS_ACCEPT4 && e->u.sys.ret >= 0 && e->fd == *(int *)ctx;
}

Test(sim_scenarios, accept_burst_accepts_until_eagain)
{
	cr_assert_eq(tu_scenario_run("accept-burst", 2, 50, -1, &R, &EV), 0);
	cr_assert_eq(R.errors, 0);
	cr_assert_eq(R.connections, 50);
	cr_assert_eq(R.round_trips, 50);
	/* Fewer listener wake-ups than connections: each wake-up accepted several. */
	int lfd = -1;
	for (size_t i = 0; i < EV.n && lfd < 0; i++)
		if (EV.v[i].kind == NPS_EV_SYSCALL && EV.v[i].u.sys.op == NPS_SYS_ACCEPT4)
			lfd = EV.v[i].fd;
	int accepts = 0;
	for (long i = 0; (i = tu_find(&EV, (size_t)i, NPS_EV_SYSCALL, accepted_ok, &lfd)) >= 0; i++)
		accepts++;
	cr_assert_eq(accepts, 50);
	const char *h = tu_pd_history(&EV, pd_of_fd(lfd), 'r');
	int parks = 0;
	for (const char *p = h; (p = strstr(p, ">G>")) != NULL; p++)
		parks++;
	cr_assert_lt(parks, 50, "the acceptor parked %d times for 50 connections", parks);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

static int break_wrote(const struct nps_event *e, void *ctx)
{
	(void)ctx;
	return e->u.brk.result == NPS_BRK_WROTE && e->u.brk.fn == NPS_FN_WAKENETPOLLER;
}

static int drained(const struct nps_event *e, void *ctx)
{
	(void)ctx;
	return e->u.npev.action == NPS_NPEV_BREAK_DRAIN;
}

Test(sim_scenarios, break_wakes_blocked_poller)
{
	cr_assert_eq(tu_scenario_run("break", 2, -1, -1, &R, &EV), 0);
	cr_assert_eq(R.errors, 0);
	long b = tu_find(&EV, 0, NPS_EV_NETPOLL_BREAK, break_wrote, NULL);
	cr_assert(b >= 0, "wakeNetPoller wrote to the break pipe");
	long d = tu_find(&EV, (size_t)b, NPS_EV_NETPOLL_EVENT, drained, NULL);
	cr_assert(d >= 0, "a blocking netpoll drained the break pipe");
	/* That poll had been blocking with no timeout; the next blocking one has a timeout. */
	int found_timed = 0;
	for (size_t i = (size_t)d; i < EV.n; i++)
		if (EV.v[i].kind == NPS_EV_NETPOLL_BEGIN &&
		    EV.v[i].u.netpoll.caller == NPS_NPC_FINDRUNNABLE_BLOCK &&
		    EV.v[i].u.netpoll.waitms > 0) {
			found_timed = 1;
			break;
		}
	cr_assert(found_timed, "after the break the poller waits with the timer's timeout");
	cr_assert(strstr(R.story, "was woken by netpollBreak"), "%s", R.story);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* A lesson that cannot show its point with these options refuses them before it starts. */
Test(sim_scenarios, lessons_refuse_what_they_cannot_show)
{
	/* One P: nobody sleeps in netpoll(-1) while the spinner runs, so no break is needed. */
	cr_assert_eq(tu_scenario_run("break", 1, -1, -1, &R, NULL), -EINVAL);
	/* A second slow reader would never be accepted; a fixed cast takes its own number. */
	cr_assert_eq(tu_scenario_run("slow-reader", 2, 3, -1, &R, NULL), -EINVAL);
	cr_assert_eq(tu_scenario_run("ready-before-park", 2, 7, -1, &R, NULL), -EINVAL);
	cr_assert_eq(tu_scenario_run("ready-before-park", 2, 0, -1, &R, NULL), -EINVAL);
	char why[256];
	struct scenario_opts o = {.clients = 0, .rounds = -1};
	cr_assert_eq(scenario_check(scenario_find("deadline"), &o, 2, why, sizeof(why)), 0,
		     "one outside client is fine");
	o.clients = 50;
	o.rounds = 7;
	o.msg_size = 100;
	cr_assert_eq(scenario_check(scenario_find("echo"), &o, 1, why, sizeof(why)), 0);
	/* Round trips that would never run: refused, not recorded as if they had. */
	cr_assert_eq(scenario_check(scenario_find("deadline"), &o, 2, why, sizeof(why)), -EINVAL);
	cr_assert_str_eq(why, "--rounds: only echo's clients make round trips; deadline's do not");
	o.clients = 0;
	o.rounds = -1;
	cr_assert_eq(scenario_check(scenario_find("echo"), &o, 2, why, sizeof(why)), -EINVAL);
	cr_assert_str_eq(why,
			 "--msg-size: with --clients 0 the outside clients choose what they send");
}

/* ---- 1,000 connections leave nothing behind ---- */

static int fds_before, fds_after;
static uint64_t inuse_before, free_before, inuse_after, free_after;

static void thousand(void *arg)
{
	(void)arg;
	struct netlistener *l;
	cr_assert_eq(net_listen("127.0.0.1:0", &l, NULL, 0), 0);
	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", listener_port(l));
	uint64_t blocks;
	fds_before = tu_open_fds();
	netpoll_cache_stats(&inuse_before, &free_before, &blocks);
	for (int i = 0; i < 1000; i++) {
		struct netconn *c, *s;
		cr_assert_eq(net_dial(addr, &c), 0);
		cr_assert_eq(net_accept(l, &s), 0);
		cr_assert_eq(conn_write(c, "ping", 4), 4);
		char buf[8];
		cr_assert_eq(conn_read(s, buf, sizeof(buf)), 4);
		cr_assert_eq(conn_close(c), 0);
		cr_assert_eq(conn_close(s), 0);
		conn_free(c);
		conn_free(s);
	}
	fds_after = tu_open_fds();
	netpoll_cache_stats(&inuse_after, &free_after, &blocks);
	listener_close(l);
	listener_free(l);
}

Test(sim_scenarios, thousand_connections_leave_no_trace)
{
	cr_assert_eq(tu_sim_run(2, thousand, NULL, NULL), 0);
	cr_assert_eq(fds_after, fds_before, "open fds %d -> %d", fds_before, fds_after);
	cr_assert_eq(inuse_after, inuse_before, "pollDescs in use %llu -> %llu",
		     (unsigned long long)inuse_before, (unsigned long long)inuse_after);
	cr_assert_eq(free_after, free_before, "pollCache free list %llu -> %llu",
		     (unsigned long long)free_before, (unsigned long long)free_after);
}

/* ---- every scenario's recorded trace passes the checker ---- */

static void run_and_check(const char *scenario)
{
	char cmd[1024], path[512];
	snprintf(path, sizeof(path), "%s/%s.jsonl", tu_tmpdir(), scenario);
	/* a lesson that hangs is killed: it must not outlive the test that timed out on it */
	snprintf(cmd, sizeof(cmd),
		 "timeout -s KILL 50 %s run --scenario %s --no-ui --no-bpf --quiet --record %s",
		 tu_netpollsim(), scenario, path);
	char *out = NULL;
	int st = tu_run(cmd, 1, &out);
	cr_assert_eq(st, 0, "%s: exit %d: %s", cmd, st, out);
	free(out);
	tt_assert_legal(path);
}

Test(sim_scenarios, recorded_traces_pass_check)
{
	int n;
	const struct scenario *t = scenario_list(&n);
	for (int i = 0; i < n; i++)
		run_and_check(t[i].name);
}
