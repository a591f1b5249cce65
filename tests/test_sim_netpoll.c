// SPDX-License-Identifier: MIT
/*
 * The pollDesc state machine, row by row (spec section 4.4), on real TCP sockets on 127.0.0.1
 * and the real epoll instance of the simulated runtime: every legal transition, the races Go
 * handles on purpose (readiness before park, readiness or an error between the pdWait announce
 * and the commit, deadline and close while parked), the throws, pollCache's block arithmetic
 * and reuse, fdseq staleness, netpoll's delay -> waitms mapping and netpollcheckerr's priority;
 * netpollinit's flags, the 128-event buffer, EPOLLERR -> eventErr through real socket errors,
 * netpoll's EINTR rule under a real signal, and every throw of spec section 4.8 (the two of
 * findRunnable through a hook that breaks their invariant; netpollarm is never called on Linux);
 * and the runtime's end, which must reach an M that became the poller after the exit's break.
 *
 * Each test runs the runtime in its own process (Criterion forks) with the event log on, and
 * asserts what the log shows a user: the history of rg/wg, and who made each change.
 */
#include <criterion/criterion.h>

#include "sim/fd.h"
#include "sim/net.h"
#include "sim/runtime.h"
#include "sim/sim.h"
#include "tests/testutil.h"
#include "traces/names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MS (1000LL * 1000)

static void tcp_pair(int *a, int *b)
{
	cr_assert_eq(tu_tcp_pair(a, b), 0, "tcp pair: %s", strerror(errno));
}

/* What a test's main goroutine shares with its helpers and the assertions. */
static struct {
	int a, b;
	struct pollDesc *pd;
	int rc;		 /* poll_runtime_pollWait's result */
	bool ok;	 /* netpollblock's result */
	int hook_action; /* what the after-announce hook does */
	struct waitgroup wg;
	struct g fake; /* a stand-in G for the corruption test */
	uint64_t goid;
} T;

static struct pollDesc *open_pd(int fd)
{
	poll_runtime_pollServerInit();
	int errno_;
	struct pollDesc *pd = poll_runtime_pollOpen((uintptr_t)fd, &errno_);
	cr_assert_eq(errno_, 0, "pollOpen: %s", strerror(errno_));
	return pd;
}

static void setup_pair(void)
{
	tcp_pair(&T.a, &T.b);
	T.pd = open_pd(T.a);
}

/* netpollready as netpoll would run it, with the woken goroutines put on run queues. */
static void make_ready(struct pollDesc *pd, int mode)
{
	struct gList list = {NULL};
	int32_t delta = netpollready(&list, pd, mode);
	injectglist(&list, NPS_FN_INJECTGLIST);
	netpollAdjustWaiters(delta, NPS_FN_NETPOLL);
}

static void waiter(void *arg)
{
	(void)arg;
	T.goid = sim_goid();
	T.rc = poll_runtime_pollWait(T.pd, 'r');
	wg_done(&T.wg);
}

/* Start a goroutine that waits on T.pd's rg, and let it park. */
static void start_waiter(void)
{
	wg_add(&T.wg, 1);
	go(waiter, NULL);
	for (int i = 0; i < 1000 && atomic_load(&T.pd->rg) <= pdWait; i++)
		time_sleep(1 * MS);
	cr_assert(atomic_load(&T.pd->rg) > pdWait, "the waiter did not park");
}

static int is_gstatus_of(const struct nps_event *e, void *ctx)
{
	const uint32_t *to = ctx;
	return e->u.gstatus.goid == T.goid && e->u.gstatus.to == *to;
}

static long count_kind_fn(const struct tu_events *ev, uint16_t kind, uint8_t fn)
{
	long n = 0;
	for (size_t i = 0; i < ev->n; i++)
		if (ev->v[i].kind == kind && ev->v[i].u.pd_state.fn == fn)
			n++;
	return n;
}

static struct tu_events EV;

TestSuite(sim_netpoll, .timeout = 30);

/* any -> nil by pollOpen: a new incarnation forgets the old one's pending readiness. */
static void main_open_resets(void *arg)
{
	(void)arg;
	setup_pair();
	make_ready(T.pd, 'r');
	cr_assert_eq(atomic_load(&T.pd->rg), pdReady);
	uintptr_t seq = atomic_load(&T.pd->fdseq);
	poll_runtime_pollUnblock(T.pd);
	poll_runtime_pollClose(T.pd);
	close(T.a);
	/*
	 * A connected socket with nothing to read: an unconnected TCP socket would report
	 * EPOLLHUP as soon as it is added, and an M's netpoll could make rg pdReady again before
	 * the history is read (it did under ASan).
	 */
	int sp[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
	int a2 = sp[0];
	cr_assert_eq(a2, T.a, "the lowest free fd number is reused");
	struct pollDesc *pd2 = open_pd(a2);
	cr_assert_eq(pd2, T.pd, "pollCache hands back the pollDesc freed last (LIFO)");
	cr_assert_eq(atomic_load(&pd2->fdseq), seq + 1, "fdseq was bumped by the free");
	cr_assert_eq(atomic_load(&pd2->rg), pdNil);
}

Test(sim_netpoll, open_resets_pending_readiness)
{
	cr_assert_eq(tu_sim_run(1, main_open_resets, NULL, &EV), 0);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>ready>nil");
	cr_assert_eq(count_kind_fn(&EV, NPS_EV_PD_STATE, NPS_FN_POLLOPEN), 1,
		     "pollOpen stored pdNil over the old pdReady");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* pdReady -> pdNil by pollReset; with an error pending the store is skipped. */
static void main_reset(void *arg)
{
	(void)arg;
	setup_pair();
	make_ready(T.pd, 'r');
	cr_assert_eq(poll_runtime_pollReset(T.pd, 'r'), pollNoError);
	cr_assert_eq(atomic_load(&T.pd->rg), pdNil);
	make_ready(T.pd, 'r');
	poll_runtime_pollUnblock(T.pd);
	cr_assert_eq(poll_runtime_pollReset(T.pd, 'r'), pollErrClosing);
	cr_assert_eq(atomic_load(&T.pd->rg), pdReady, "reset skipped: the error is returned");
}

Test(sim_netpoll, reset_discards_readiness_unless_error)
{
	cr_assert_eq(tu_sim_run(1, main_reset, NULL, &EV), 0);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>ready>nil>ready");
	cr_assert_eq(count_kind_fn(&EV, NPS_EV_PD_STATE, NPS_FN_POLLRESET), 1);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* pdReady -> pdNil by netpollblock: a pending notification is consumed without parking. */
static void main_consume(void *arg)
{
	(void)arg;
	setup_pair();
	T.goid = sim_goid();
	make_ready(T.pd, 'r');
	T.ok = netpollblock(T.pd, 'r', false);
}

Test(sim_netpoll, ready_is_consumed_without_park)
{
	cr_assert_eq(tu_sim_run(1, main_consume, NULL, &EV), 0);
	cr_assert(T.ok, "netpollblock reports I/O ready");
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>ready>nil");
	uint32_t waiting = NPS_GWAITING;
	cr_assert_eq(tu_find(&EV, 0, NPS_EV_GSTATUS, is_gstatus_of, &waiting), -1,
		     "the goroutine never parked");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* nil -> wait -> G (commit, waiters+1), G -> ready (netpollready), ready -> nil (swap). */
static void main_park_ready(void *arg)
{
	(void)arg;
	setup_pair();
	start_waiter();
	cr_assert_eq(atomic_load(&netpollWaiters), 1, "netpollblockcommit counted the waiter");
	make_ready(T.pd, 'r');
	wg_wait(&T.wg);
	cr_assert_eq(atomic_load(&netpollWaiters), 0, "the delta was applied after the wake");
}

Test(sim_netpoll, park_then_io_ready)
{
	cr_assert_eq(tu_sim_run(1, main_park_ready, NULL, &EV), 0);
	cr_assert_eq(T.rc, pollNoError);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'),
			 "nil>wait>G>ready>nil");
	cr_assert_eq(count_kind_fn(&EV, NPS_EV_PD_STATE, NPS_FN_NETPOLLBLOCKCOMMIT), 1);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/*
 * G -> ready on both semaphores by one event (EPOLLIN|EPOLLOUT): netpollready unblocks the
 * reader, then the writer, pushing each on the front of the list, so the writer comes first;
 * delta is -1 for each, applied only after both were made runnable.
 */
static uint64_t rw_goid[2];
static int rw_rc[2];
static uint64_t rw_list[3];
static int32_t rw_delta;
static uint32_t rw_waiters_before, rw_waiters_after;

static void rw_waiter(void *arg)
{
	int mode = (int)(intptr_t)arg;
	rw_goid[mode == 'w'] = sim_goid();
	rw_rc[mode == 'w'] = poll_runtime_pollWait(T.pd, mode);
	wg_done(&T.wg);
}

/* Open T.pd with its registration's first edge taken and forgotten; park a reader and a writer. */
static void park_reader_and_writer(void)
{
	setup_pair();
	/* Take the edge the registration of a writable socket reports, then forget it. */
	int32_t d;
	struct gList none = netpoll(0, &d, NPS_NPC_OTHER);
	cr_assert(gList_empty(&none));
	cr_assert_eq(poll_runtime_pollReset(T.pd, 'r'), pollNoError);
	cr_assert_eq(poll_runtime_pollReset(T.pd, 'w'), pollNoError);
	wg_add(&T.wg, 2);
	go(rw_waiter, (void *)(intptr_t)'r');
	go(rw_waiter, (void *)(intptr_t)'w');
	for (int i = 0;
	     i < 1000 && (atomic_load(&T.pd->rg) <= pdWait || atomic_load(&T.pd->wg) <= pdWait);
	     i++)
		time_sleep(1 * MS);
	cr_assert(atomic_load(&T.pd->rg) > pdWait && atomic_load(&T.pd->wg) > pdWait,
		  "reader and writer parked");
}

static void main_ready_both(void *arg)
{
	(void)arg;
	park_reader_and_writer();
	rw_waiters_before = atomic_load(&netpollWaiters);
	struct gList list = {NULL};
	rw_delta = netpollready(&list, T.pd, 'r' + 'w');
	int n = 0;
	for (struct g *gp = list.head; gp && n < 3; gp = gp->schedlink)
		rw_list[n++] = gp->goid;
	injectglist(&list, NPS_FN_INJECTGLIST);
	netpollAdjustWaiters(rw_delta, NPS_FN_NETPOLL);
	rw_waiters_after = atomic_load(&netpollWaiters);
	wg_wait(&T.wg);
}

Test(sim_netpoll, ready_for_both_modes_wakes_writer_then_reader)
{
	cr_assert_eq(tu_sim_run(1, main_ready_both, NULL, &EV), 0);
	cr_assert_eq(rw_list[0], rw_goid[1], "the writer (goroutine %llu) heads the list, not %llu",
		     (unsigned long long)rw_goid[1], (unsigned long long)rw_list[0]);
	cr_assert_eq(rw_list[1], rw_goid[0], "then the reader");
	cr_assert_eq(rw_list[2], 0, "and nobody else");
	cr_assert_eq(rw_delta, -2, "one waiter less for each goroutine unblocked");
	cr_assert_eq(rw_waiters_before, 2);
	cr_assert_eq(rw_waiters_after, 0);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'),
			 "nil>wait>G>ready>nil");
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'w'),
			 "nil>ready>nil>wait>G>ready>nil");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/*
 * Spec 7.2: equal read and write deadlines share one timer, rt with netpollDeadline (wt unused);
 * making them differ splits it into netpollReadDeadline and netpollWriteDeadline, making them
 * equal again deletes wt. The shared timer's netpolldeadlineimpl expires both and wakes both.
 */
static void (*combo_rt[3])(void *, uintptr_t), (*combo_wt[3])(void *, uintptr_t);

static void main_combo_deadline(void *arg)
{
	(void)arg;
	park_reader_and_writer();
	poll_runtime_pollSetDeadline(T.pd, 2000 * MS, 'r' + 'w');
	combo_rt[0] = T.pd->rt.f, combo_wt[0] = T.pd->wt.f;
	poll_runtime_pollSetDeadline(T.pd, 4000 * MS, 'r');
	combo_rt[1] = T.pd->rt.f, combo_wt[1] = T.pd->wt.f;
	poll_runtime_pollSetDeadline(T.pd, 30 * MS, 'r' + 'w');
	combo_rt[2] = T.pd->rt.f, combo_wt[2] = T.pd->wt.f;
	wg_wait(&T.wg);
}

Test(sim_netpoll, equal_deadlines_share_one_timer_that_wakes_both)
{
	cr_assert_eq(tu_sim_run(1, main_combo_deadline, NULL, &EV), 0);
	cr_assert(combo_rt[0] == netpollDeadline && combo_wt[0] == NULL, "SetDeadline: one timer");
	cr_assert(combo_rt[1] == netpollReadDeadline && combo_wt[1] == netpollWriteDeadline,
		  "SetReadDeadline to another time: two timers");
	cr_assert(combo_rt[2] == netpollDeadline && combo_wt[2] == NULL,
		  "SetDeadline again: one timer, wt deleted");
	cr_assert_eq(rw_rc[0], pollErrTimeout, "the reader got %d", rw_rc[0]);
	cr_assert_eq(rw_rc[1], pollErrTimeout, "the writer got %d", rw_rc[1]);
	/* One netpolldeadlineimpl call expired both: its read and write expiries are adjacent. */
	long r = -1, w = -1;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind != NPS_EV_PD_EXPIRE || e->sub != 0)
			continue;
		if (e->u.pd.mode == 'r' && r < 0)
			r = (long)i;
		else if (e->u.pd.mode == 'w' && w < 0)
			w = (long)i;
	}
	cr_assert(r >= 0 && w > r, "read expiry %ld, then write expiry %ld", r, w);
	cr_assert_eq(EV.v[w].m, EV.v[r].m, "the same timer expired both");
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>wait>G>nil");
	cr_assert_eq(atomic_load(&netpollWaiters), 0);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/*
 * Spec 6.8: a deadline moved earlier while an M sleeps in netpoll until the old one (modtimer,
 * when < old) breaks that poll through wakeNetPoller, so that the M recomputes its timeout.
 * Main keeps its P busy meanwhile (no findRunnable of its own to break the poller instead).
 */
static _Atomic int early_done;
static int64_t early_when, early_pollUntil;

static void early_waiter(void *arg)
{
	(void)arg;
	T.rc = poll_runtime_pollWait(T.pd, 'r');
	atomic_store(&early_done, 1);
}

static void main_earlier_deadline(void *arg)
{
	(void)arg;
	setup_pair();
	go(early_waiter, NULL);
	while (atomic_load(&T.pd->rg) <= pdWait)
		usleep(100);
	poll_runtime_pollSetDeadline(T.pd, 10000 * MS, 'r');
	lock(&T.pd->lock); /* the timer writes rd under it */
	int64_t far = T.pd->rd;
	unlock(&T.pd->lock);
	/* Wait for the idle P's M to block in netpoll until that deadline. */
	for (int i = 0; i < 20000; i++) {
		if (atomic_load(&sched.lastpoll) == 0 && atomic_load(&sched.pollUntil) == far)
			break;
		usleep(100);
	}
	early_pollUntil = atomic_load(&sched.pollUntil);
	cr_assert_eq(early_pollUntil, far, "no M blocked in netpoll until the deadline");
	poll_runtime_pollSetDeadline(T.pd, 20 * MS, 'r');
	lock(&T.pd->lock);
	early_when = T.pd->rd;
	unlock(&T.pd->lock);
	while (!atomic_load(&early_done))
		usleep(100);
}

static int is_wakenetpoller_break(const struct nps_event *e, void *ctx)
{
	return e->u.brk.fn == NPS_FN_WAKENETPOLLER && e->u.brk.when == *(int64_t *)ctx;
}

Test(sim_netpoll, earlier_deadline_breaks_the_blocked_poller)
{
	cr_assert_eq(tu_sim_run(2, main_earlier_deadline, NULL, &EV), 0);
	cr_assert_eq(T.rc, pollErrTimeout);
	long brk = tu_find(&EV, 0, NPS_EV_NETPOLL_BREAK, is_wakenetpoller_break, &early_when);
	cr_assert_geq(brk, 0, "modtimer to an earlier time did not call netpollBreak");
	cr_assert_eq(EV.v[brk].u.brk.result, NPS_BRK_WROTE, "the break woke the poller");
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>wait>G>nil");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/*
 * Spec 6.1: with goroutines waiting on the poller and no M blocked in it, an M that finds no
 * work polls without blocking before it tries to steal, and runs the first goroutine that poll
 * readied itself. One P: main's time.Sleep leaves the queues empty while a byte for the parked
 * reader is already there. sysmon may poll first (its 10 ms rule), so three rounds.
 */
#define NB_ROUNDS 3
static uint64_t nb_goid[NB_ROUNDS];

static void main_nonblocking_poll(void *arg)
{
	(void)arg;
	setup_pair();
	for (int i = 0; i < NB_ROUNDS; i++) {
		start_waiter();
		nb_goid[i] = T.goid;
		char c;
		cr_assert_eq(write(T.b, "x", 1), 1);
		time_sleep(1 * MS);
		wg_wait(&T.wg);
		cr_assert_eq(read(T.a, &c, 1), 1);
	}
}

Test(sim_netpoll, findrunnable_polls_without_blocking_before_it_steals)
{
	cr_assert_eq(tu_sim_run(1, main_nonblocking_poll, NULL, &EV), 0);
	int by_nonblocking = 0;
	for (int r = 0; r < NB_ROUNDS; r++) {
		/* The reader's wake, and the last netpoll its M returned from before it. */
		long wake = -1, poll = -1;
		for (size_t i = 0; i < EV.n && wake < 0; i++) {
			const struct nps_event *e = &EV.v[i];
			if (e->kind == NPS_EV_NETPOLL_END)
				poll = (long)i;
			if (e->kind == NPS_EV_GSTATUS && e->u.gstatus.goid == nb_goid[r] &&
			    e->u.gstatus.from == NPS_GWAITING && e->u.gstatus.to == NPS_GRUNNABLE)
				wake = (long)i;
		}
		cr_assert(wake >= 0 && poll >= 0, "round %d: wake %ld, netpoll %ld", r, wake, poll);
		const struct nps_event *p = &EV.v[poll];
		if (p->m == EV.v[wake].m && p->u.netpoll.caller == NPS_NPC_FINDRUNNABLE &&
		    p->u.netpoll.waitms == 0 && p->u.netpoll.ngs == 1 &&
		    EV.v[wake].u.gstatus.fn == NPS_FN_FINDRUNNABLE)
			by_nonblocking++;
	}
	cr_assert_gt(by_nonblocking, 0, "no reader was run by findRunnable's non-blocking poll");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* The after-announce window: readiness, a past deadline, or a close arrives there. */
enum {
	HOOK_READY = 1,
	HOOK_DEADLINE,
	HOOK_CLOSE,
	HOOK_CORRUPT,
	HOOK_CLOSE_PD
};

static void announce_hook(struct pollDesc *pd, int32_t mode)
{
	cr_assert_eq(atomic_load(mode == 'r' ? &pd->rg : &pd->wg), pdWait);
	switch (T.hook_action) {
	case HOOK_READY:
		make_ready(pd, mode);
		break;
	case HOOK_DEADLINE:
		poll_runtime_pollSetDeadline(pd, -1, mode);
		break;
	case HOOK_CLOSE:
		poll_runtime_pollUnblock(pd);
		break;
	case HOOK_CORRUPT:
		/* Another goroutine "commits" on the same semaphore: only a bug can do this. */
		atomic_store(mode == 'r' ? &pd->rg : &pd->wg, (uintptr_t)&T.fake);
		break;
	case HOOK_CLOSE_PD:
		/* Free the descriptor under the announced goroutine (pollUnblock came before). */
		poll_runtime_pollClose(pd);
		break;
	}
	T.hook_action = 0;
}

static void main_announce(void *arg)
{
	T.hook_action = (int)(intptr_t)arg;
	setup_pair();
	T.goid = sim_goid();
	testHookAfterAnnounce = announce_hook;
	T.rc = poll_runtime_pollWait(T.pd, 'r');
	testHookAfterAnnounce = NULL;
}

Test(sim_netpoll, ready_between_announce_and_commit)
{
	cr_assert_eq(tu_sim_run(1, main_announce, (void *)(intptr_t)HOOK_READY, &EV), 0);
	cr_assert_eq(T.rc, pollNoError);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>wait>ready>nil");
	/* The commit lost its CAS: park_m made the goroutine runnable again at once. */
	uint32_t runnable = NPS_GRUNNABLE;
	long i = tu_find(&EV, 0, NPS_EV_GSTATUS, is_gstatus_of, &runnable);
	while (i >= 0 && EV.v[i].u.gstatus.fn != NPS_FN_PARK_M)
		i = tu_find(&EV, (size_t)i + 1, NPS_EV_GSTATUS, is_gstatus_of, &runnable);
	cr_assert(i >= 0, "park_m resumed the goroutine after the failed commit");
	cr_assert_eq(atomic_load(&netpollWaiters), 0, "a failed commit counts no waiter");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

Test(sim_netpoll, deadline_between_announce_and_commit)
{
	cr_assert_eq(tu_sim_run(1, main_announce, (void *)(intptr_t)HOOK_DEADLINE, &EV), 0);
	cr_assert_eq(T.rc, pollErrTimeout);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>wait>nil");
	uint32_t waiting = NPS_GWAITING;
	cr_assert_eq(tu_find(&EV, 0, NPS_EV_GSTATUS, is_gstatus_of, &waiting), -1,
		     "the error was seen before parking");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

Test(sim_netpoll, close_between_announce_and_commit)
{
	cr_assert_eq(tu_sim_run(1, main_announce, (void *)(intptr_t)HOOK_CLOSE, &EV), 0);
	cr_assert_eq(T.rc, pollErrClosing);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>wait>nil");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* G -> nil by netpolldeadlineimpl: the deadline timer fires while the reader is parked. */
static void main_deadline_parked(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollSetDeadline(T.pd, 20 * MS, 'r');
	start_waiter();
	wg_wait(&T.wg);
}

Test(sim_netpoll, deadline_fires_while_parked)
{
	cr_assert_eq(tu_sim_run(1, main_deadline_parked, NULL, &EV), 0);
	cr_assert_eq(T.rc, pollErrTimeout);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>wait>G>nil");
	cr_assert_eq(count_kind_fn(&EV, NPS_EV_PD_STATE, NPS_FN_NETPOLLDEADLINEIMPL), 1);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* G -> nil by poll_runtime_pollSetDeadline: a deadline set in the past wakes the reader. */
static void main_setdeadline_past(void *arg)
{
	(void)arg;
	setup_pair();
	start_waiter();
	poll_runtime_pollSetDeadline(T.pd, -1, 'r');
	wg_wait(&T.wg);
}

Test(sim_netpoll, past_deadline_wakes_parked_reader)
{
	cr_assert_eq(tu_sim_run(1, main_setdeadline_past, NULL, &EV), 0);
	cr_assert_eq(T.rc, pollErrTimeout);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>wait>G>nil");
	cr_assert_eq(count_kind_fn(&EV, NPS_EV_PD_STATE, NPS_FN_POLLSETDEADLINE), 1);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/*
 * The writer's side: a goroutine parked on wg. A fresh socket's EPOLLOUT edge may have made wg
 * pdReady first: that wait returns at once (a Write that then finds room), and the next one
 * parks, as a writer on a full buffer would: waits go on until one returns an error.
 */
static void writer(void *arg)
{
	(void)arg;
	T.goid = sim_goid();
	while ((T.rc = poll_runtime_pollWait(T.pd, 'w')) == pollNoError)
		;
	wg_done(&T.wg);
}

static void start_writer(void)
{
	wg_add(&T.wg, 1);
	go(writer, NULL);
	for (int i = 0; i < 1000 && atomic_load(&T.pd->wg) <= pdWait; i++)
		time_sleep(1 * MS);
	cr_assert(atomic_load(&T.pd->wg) > pdWait, "the writer did not park");
}

/* wg: whatever came before the park, then wait → G → nil */
static void assert_writer_woken(const char *how)
{
	const char *h = tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'w');
	size_t n = strlen(h);
	cr_assert(n >= 10 && !strcmp(h + n - 10, "wait>G>nil"), "wg history %s (%s)", h, how);
	cr_assert_eq(T.rc, pollErrTimeout, "%s", how);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* SetWriteDeadline(time.Now()) while a Write is parked: Go's way to cancel a blocked Write. */
static void main_setdeadline_past_w(void *arg)
{
	setup_pair();
	start_writer();
	poll_runtime_pollSetDeadline(T.pd, -1, (int32_t)(intptr_t)arg);
	wg_wait(&T.wg);
}

Test(sim_netpoll, past_deadline_wakes_parked_writer)
{
	cr_assert_eq(tu_sim_run(1, main_setdeadline_past_w, (void *)(intptr_t)'w', &EV), 0);
	assert_writer_woken("SetWriteDeadline");
	cr_assert_eq(count_kind_fn(&EV, NPS_EV_PD_STATE, NPS_FN_POLLSETDEADLINE), 1);
}

/* SetDeadline: both directions; the reader is not parked, the writer is woken. */
Test(sim_netpoll, past_deadline_for_both_wakes_parked_writer)
{
	cr_assert_eq(tu_sim_run(1, main_setdeadline_past_w, (void *)(intptr_t)('r' + 'w'), &EV), 0);
	assert_writer_woken("SetDeadline");
	cr_assert_eq(count_kind_fn(&EV, NPS_EV_PD_STATE, NPS_FN_POLLSETDEADLINE), 1);
}

/* A write deadline in the future fires while the writer is parked (netpollWriteDeadline). */
static void main_deadline_parked_w(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollSetDeadline(T.pd, 20 * MS, 'w');
	start_writer();
	wg_wait(&T.wg);
}

Test(sim_netpoll, write_deadline_fires_while_parked)
{
	cr_assert_eq(tu_sim_run(1, main_deadline_parked_w, NULL, &EV), 0);
	assert_writer_woken("write deadline");
	cr_assert_eq(count_kind_fn(&EV, NPS_EV_PD_STATE, NPS_FN_NETPOLLDEADLINEIMPL), 1);
}

/* G -> nil by poll_runtime_pollUnblock: Close wakes the reader with the closing error. */
static void main_close_parked(void *arg)
{
	(void)arg;
	setup_pair();
	start_waiter();
	poll_runtime_pollUnblock(T.pd);
	wg_wait(&T.wg);
	poll_runtime_pollClose(T.pd);
}

Test(sim_netpoll, close_wakes_parked_reader)
{
	cr_assert_eq(tu_sim_run(1, main_close_parked, NULL, &EV), 0);
	cr_assert_eq(T.rc, pollErrClosing);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>wait>G>nil");
	cr_assert_eq(count_kind_fn(&EV, NPS_EV_PD_STATE, NPS_FN_POLLUNBLOCK), 1);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* A deadline extended while parked: the old timer is invalidated, the new one fires. */
static int64_t extended_rd;

static void main_deadline_extended(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollSetDeadline(T.pd, 30 * MS, 'r');
	start_waiter();
	poll_runtime_pollSetDeadline(T.pd, 60 * MS, 'r');
	extended_rd = T.pd->rd;
	wg_wait(&T.wg);
}

static int is_timer_run(const struct nps_event *e, void *ctx)
{
	(void)ctx;
	return e->u.timer.op == NPS_TIMER_RUN && e->u.timer.fn == NPS_FN_NETPOLLREADDEADLINE;
}

Test(sim_netpoll, deadline_extended_while_parked)
{
	cr_assert_eq(tu_sim_run(1, main_deadline_extended, NULL, &EV), 0);
	cr_assert_eq(T.rc, pollErrTimeout);
	long run = tu_find(&EV, 0, NPS_EV_TIMER, is_timer_run, NULL);
	cr_assert(run >= 0, "the read deadline timer ran");
	cr_assert_eq(EV.v[run].u.timer.when, extended_rd,
		     "the timer that fired is the extended one");
	cr_assert_eq(tu_find(&EV, (size_t)run + 1, NPS_EV_TIMER, is_timer_run, NULL), -1,
		     "the first deadline's timer never ran");
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>wait>G>nil");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* A deadline cleared while parked: the reader waits for I/O and gets no error. */
static void main_deadline_cleared(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollSetDeadline(T.pd, 20 * MS, 'r');
	start_waiter();
	poll_runtime_pollSetDeadline(T.pd, 0, 'r');
	time_sleep(40 * MS); /* past the old deadline: nothing must fire */
	cr_assert(atomic_load(&T.pd->rg) > pdWait, "still parked after the old deadline");
	cr_assert_eq(write(T.b, "x", 1), 1);
	/* Let the poller deliver the readiness. */
	wg_wait(&T.wg);
}

Test(sim_netpoll, deadline_cleared_while_parked)
{
	cr_assert_eq(tu_sim_run(1, main_deadline_cleared, NULL, &EV), 0);
	cr_assert_eq(T.rc, pollNoError);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'),
			 "nil>wait>G>ready>nil");
	cr_assert_eq(tu_find(&EV, 0, NPS_EV_TIMER, is_timer_run, NULL), -1);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/*
 * A deadline timer that fires after Close: pollUnblock bumped rseq and wseq, so the timer's seq
 * is stale and netpolldeadlineimpl ignores it (without the bump it would find rt.f cleared and
 * throw "inconsistent read deadline"). The timer is run by hand, as an M that had taken it off
 * the heap before pollUnblock's deltimer would run it.
 */
static void main_late_timer(void *arg)
{
	int mode = (int)(intptr_t)arg;
	setup_pair();
	poll_runtime_pollSetDeadline(T.pd, 1000 * MS, mode);
	struct timer *t = mode == 'w' ? &T.pd->wt : &T.pd->rt;
	void (*f)(void *, uintptr_t) = t->f;
	void *farg = t->arg;
	uintptr_t seq = t->seq;
	cr_assert_not_null(f);
	poll_runtime_pollUnblock(T.pd);
	f(farg, seq);
	poll_runtime_pollClose(T.pd);
}

static int is_stale_expiry(const struct nps_event *e, void *ctx)
{
	return e->sub == 1 && e->u.pd.mode == *(int *)ctx;
}

static void assert_late_timer_is_stale(int mode)
{
	cr_assert_eq(tu_sim_run(1, main_late_timer, (void *)(intptr_t)mode, &EV), 0);
	cr_assert_geq(tu_find(&EV, 0, NPS_EV_PD_EXPIRE, is_stale_expiry, &mode), 0,
		      "the late timer was not found stale");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

Test(sim_netpoll, read_deadline_timer_firing_after_close_is_stale)
{
	assert_late_timer_is_stale('r');
}

Test(sim_netpoll, write_deadline_timer_firing_after_close_is_stale)
{
	assert_late_timer_is_stale('w');
}

/*
 * pollUnblock (Close) deletes both deadline timers: neither runs later, not even as a stale
 * expiry, and rt.f/wt.f are cleared for the next incarnation's SetDeadline.
 */
static bool unblock_cleared;

static void main_close_deletes_timers(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollSetDeadline(T.pd, 20 * MS, 'r');
	poll_runtime_pollSetDeadline(T.pd, 30 * MS, 'w');
	poll_runtime_pollUnblock(T.pd);
	unblock_cleared = T.pd->rt.f == NULL && T.pd->wt.f == NULL;
	time_sleep(60 * MS); /* past both deadlines */
	poll_runtime_pollClose(T.pd);
}

static int is_timer_op(const struct nps_event *e, void *ctx)
{
	return e->u.timer.op == *(int *)ctx;
}

Test(sim_netpoll, close_deletes_both_deadline_timers)
{
	cr_assert_eq(tu_sim_run(1, main_close_deletes_timers, NULL, &EV), 0);
	cr_assert(unblock_cleared, "pollUnblock left a deadline timer set");
	int del = NPS_TIMER_DEL;
	long d1 = tu_find(&EV, 0, NPS_EV_TIMER, is_timer_op, &del);
	cr_assert(d1 >= 0 && tu_find(&EV, (size_t)d1 + 1, NPS_EV_TIMER, is_timer_op, &del) > d1,
		  "two deltimers");
	cr_assert_eq(tu_find(&EV, 0, NPS_EV_PD_EXPIRE, NULL, NULL), -1,
		     "a deadline timer ran after Close");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/*
 * Deadlines at the ends of int64. Go's int64 arithmetic wraps, so pollSetDeadline clamps a
 * future deadline whose sum overflows to the maximum, and time.Until saturates a difference
 * that overflows; in C both were undefined (the UBSan build aborted).
 */
static int64_t far_rd;
static ssize_t far_rn;

static void main_far_deadlines(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollSetDeadline(T.pd, INT64_MAX, 'r');
	far_rd = T.pd->rd;
	struct FD fd = {.Sysfd = T.b, .IsStream = true, .ZeroReadIsEOF = true};
	cr_assert_eq(FD_Init(&fd, "tcp", true), 0);
	cr_assert_eq(FD_SetDeadline(&fd, INT64_MIN, 'r'), 0);
	char c;
	far_rn = FD_Read(&fd, &c, 1); /* the deadline is long past: i/o timeout, no wait */
	FD_Close(&fd);
}

Test(sim_netpoll, deadlines_at_the_ends_of_int64)
{
	cr_assert_eq(tu_sim_run(1, main_far_deadlines, NULL, &EV), 0);
	cr_assert_eq(far_rd, INT64_MAX, "a future deadline that overflows is the maximum");
	cr_assert_eq(far_rn, -NPS_ETIMEOUT, "Read got %zd", far_rn);
}

/* A deadline already past: pollWait fails at once, nothing is announced. */
static void main_deadline_past_first(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollSetDeadline(T.pd, -1, 'r');
	T.rc = poll_runtime_pollWait(T.pd, 'r');
}

Test(sim_netpoll, past_deadline_fails_without_waiting)
{
	cr_assert_eq(tu_sim_run(1, main_deadline_past_first, NULL, &EV), 0);
	cr_assert_eq(T.rc, pollErrTimeout);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "");
}

/* nil -> ready with no waiter; ready -> ready and nil -> nil (timeouts) are no-ops. */
static void main_noops(void *arg)
{
	(void)arg;
	setup_pair();
	/*
	 * Take the EPOLLOUT edge of the registration now: an M's poll (sysmon's, under TSan's
	 * slowness) delivering it after the pollReset below made wg pdReady again.
	 */
	int32_t d;
	struct gList none = netpoll(0, &d, NPS_NPC_OTHER);
	cr_assert(gList_empty(&none));
	make_ready(T.pd, 'r' + 'w');
	make_ready(T.pd, 'r' + 'w');
	int32_t delta = 0;
	cr_assert_null(netpollunblock(T.pd, 'r', false, &delta, NPS_FN_NETPOLLDEADLINEIMPL));
	cr_assert_eq(atomic_load(&T.pd->rg), pdReady, "a timeout never clears pdReady");
	poll_runtime_pollReset(T.pd, 'w');
	cr_assert_null(netpollunblock(T.pd, 'w', false, &delta, NPS_FN_NETPOLLDEADLINEIMPL));
	cr_assert_eq(delta, 0);
	cr_assert_eq(atomic_load(&T.pd->wg), pdNil);
}

Test(sim_netpoll, readiness_without_waiter_and_noops)
{
	cr_assert_eq(tu_sim_run(1, main_noops, NULL, &EV), 0);
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'), "nil>ready");
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'w'), "nil>ready>nil");
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* ---- throws (spec section 4.8): Go's messages, exit status 2 ---- */

/* Run main_fn as the main goroutine of a runtime in a child process. */
static void run_main(void *main_fn)
{
	alarm(20); /* a child that does not throw must not outlive the test */
	tu_sim_run(1, (void (*)(void *))main_fn, NULL, NULL);
}

/*
 * The child must die as Go's throw does: status 2 and "fatal error: msg" on stderr, preceded by
 * the line Go prints first (println) when before is not NULL.
 */
static void expect_throw(void (*main_fn)(void *), const char *before, const char *msg)
{
	char *err = NULL;
	int st = tu_fork_capture(run_main, (void *)main_fn, &err);
	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	char want[512];
	snprintf(want, sizeof(want), "%s%sfatal error: %s\n", before ? before : "",
		 before ? "\n" : "", msg);
	cr_assert(strstr(err, want), "want \"%s\" in stderr: %s", want, err);
	free(err);
}

static void main_double_wait(void *arg)
{
	(void)arg;
	setup_pair();
	start_waiter();
	netpollblock(T.pd, 'r', false); /* a second reader on the same semaphore */
}

Test(sim_netpoll, double_wait_throws)
{
	expect_throw(main_double_wait, NULL, "runtime: double wait");
}

static void main_corrupt(void *arg)
{
	(void)arg;
	T.fake.goid = 999;
	main_announce((void *)(intptr_t)HOOK_CORRUPT);
}

Test(sim_netpoll, corrupted_polldesc_throws)
{
	expect_throw(main_corrupt, NULL, "runtime: corrupted polldesc");
}

static void main_close_wo_unblock(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollClose(T.pd);
}

Test(sim_netpoll, close_without_unblock_throws)
{
	expect_throw(main_close_wo_unblock, NULL, "runtime: close polldesc w/o unblock");
}

static void main_unblock_twice(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollUnblock(T.pd);
	poll_runtime_pollUnblock(T.pd);
}

Test(sim_netpoll, unblock_twice_throws)
{
	expect_throw(main_unblock_twice, NULL, "runtime: unblock on closing polldesc");
}

/*
 * pollOpen finds a goroutine on a semaphore of a freed descriptor. Only memory corruption can
 * do that: the test writes a stand-in G into the freed pollDesc (type-stable memory, reused
 * LIFO by the next open).
 */
static void open_freed_with_waiter(int32_t mode)
{
	setup_pair();
	poll_runtime_pollUnblock(T.pd);
	poll_runtime_pollClose(T.pd);
	T.fake.goid = 999;
	atomic_store(mode == 'r' ? &T.pd->rg : &T.pd->wg, (uintptr_t)&T.fake);
	open_pd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

static void main_free_blocked_read(void *arg)
{
	(void)arg;
	open_freed_with_waiter('r');
}

static void main_free_blocked_write(void *arg)
{
	(void)arg;
	open_freed_with_waiter('w');
}

Test(sim_netpoll, blocked_read_on_free_polldesc_throws)
{
	expect_throw(main_free_blocked_read, NULL, "runtime: blocked read on free polldesc");
}

Test(sim_netpoll, blocked_write_on_free_polldesc_throws)
{
	expect_throw(main_free_blocked_write, NULL, "runtime: blocked write on free polldesc");
}

/* A nonblocking listener on 127.0.0.1:0: registered, it is neither readable nor writable. */
static int listener(int *port)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	cr_assert(listen(l, 16) == 0);
	socklen_t len = sizeof(sa);
	getsockname(l, (struct sockaddr *)&sa, &len);
	if (port)
		*port = ntohs(sa.sin_port);
	return l;
}

/*
 * pollClose while a goroutine is between netpollblock's announce (pdWait) and its re-check:
 * what would happen if the FD layer freed the descriptor without holding a reference for
 * each reader and writer. A listener, so that no readiness can fill the semaphore first.
 */
static void close_in_announce(int32_t mode)
{
	T.pd = open_pd(listener(NULL));
	poll_runtime_pollUnblock(T.pd);
	T.hook_action = HOOK_CLOSE_PD;
	testHookAfterAnnounce = announce_hook;
	netpollblock(T.pd, mode, false);
}

static void main_closing_blocked_read(void *arg)
{
	(void)arg;
	close_in_announce('r');
}

static void main_closing_blocked_write(void *arg)
{
	(void)arg;
	close_in_announce('w');
}

Test(sim_netpoll, blocked_read_on_closing_polldesc_throws)
{
	expect_throw(main_closing_blocked_read, NULL, "runtime: blocked read on closing polldesc");
}

Test(sim_netpoll, blocked_write_on_closing_polldesc_throws)
{
	expect_throw(main_closing_blocked_write, NULL,
		     "runtime: blocked write on closing polldesc");
}

/*
 * A deadline timer that fires with the current seq while no deadline is set: only a stray
 * timer can, so the test calls the timer functions as the timer code would.
 */
void netpollReadDeadline(void *arg, uintptr_t seq);
void netpollWriteDeadline(void *arg, uintptr_t seq);

static void main_stray_read_timer(void *arg)
{
	(void)arg;
	setup_pair();
	netpollReadDeadline(T.pd, T.pd->rseq);
}

static void main_stray_write_timer(void *arg)
{
	(void)arg;
	setup_pair();
	netpollWriteDeadline(T.pd, T.pd->wseq);
}

Test(sim_netpoll, inconsistent_read_deadline_throws)
{
	expect_throw(main_stray_read_timer, NULL, "runtime: inconsistent read deadline");
}

Test(sim_netpoll, inconsistent_write_deadline_throws)
{
	expect_throw(main_stray_write_timer, NULL, "runtime: inconsistent write deadline");
}

/* Lower RLIMIT_NOFILE so that only `spare` more descriptors can be opened. */
static void leave_fds(int spare)
{
	int lowest = dup(0);
	close(lowest);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = (rlim_t)(lowest + spare);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

static void main_no_fd_for_epoll(void *arg)
{
	(void)arg;
	leave_fds(0);
	netpollGenericInit();
}

static void main_no_fd_for_pipe(void *arg)
{
	(void)arg;
	leave_fds(1); /* epoll_create1 gets the last one, pipe2 fails */
	netpollGenericInit();
}

Test(sim_netpoll, netpollinit_epollcreate_failure_throws)
{
	expect_throw(main_no_fd_for_epoll, "runtime: epollcreate failed with 24",
		     "runtime: netpollinit failed");
}

Test(sim_netpoll, netpollinit_pipe_failure_throws)
{
	expect_throw(main_no_fd_for_pipe, "runtime: pipe failed with 24", "runtime: pipe failed");
}

static void main_epollctl_fails(void *arg)
{
	(void)arg;
	cr_assert_eq(tu_epoll_ctl_fails_on_this_thread(), 0);
	netpollGenericInit();
}

Test(sim_netpoll, netpollinit_epollctl_failure_throws)
{
	expect_throw(main_epollctl_fails, "runtime: epollctl failed with 28",
		     "runtime: epollctl failed");
}

/*
 * The break pipe's write end replaced by a read-only fd: write fails with EBADF. A dup keeps the
 * pipe's write side open, so the read end does not report a hang-up meanwhile.
 */
static void main_break_write_fails(void *arg)
{
	(void)arg;
	netpollGenericInit();
	cr_assert(dup((int)netpollBreakWr) >= 0);
	int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert(dup2(ro, (int)netpollBreakWr) == (int)netpollBreakWr);
	netpollBreak(NPS_FN_NONE, 0);
}

Test(sim_netpoll, netpollbreak_write_failure_throws)
{
	expect_throw(main_break_write_fails, "runtime: netpollBreak write failed with 9",
		     "runtime: netpollBreak write failed");
}

/* The epoll fd closed under the poller: epoll_pwait fails with EBADF. */
static char closed_epfd_line[64];

static void main_epfd_closed(void *arg)
{
	(void)arg;
	netpollGenericInit();
	close(epfd);
	int32_t delta;
	netpoll(0, &delta, NPS_NPC_OTHER);
}

Test(sim_netpoll, netpoll_epollwait_failure_throws)
{
	/* The child's epfd is the lowest free fd at netpollinit: the same number as here. */
	int lowest = dup(0);
	close(lowest);
	snprintf(closed_epfd_line, sizeof(closed_epfd_line),
		 "runtime: epollwait on fd %d failed with 9", lowest);
	expect_throw(main_epfd_closed, closed_epfd_line, "runtime: netpoll failed");
}

/* The break pipe's write end closed: its read end reports EPOLLHUP (16), not EPOLLIN. */
static void main_break_hangup(void *arg)
{
	(void)arg;
	netpollGenericInit();
	close((int)netpollBreakWr);
	int32_t delta;
	netpoll(0, &delta, NPS_NPC_OTHER);
}

Test(sim_netpoll, break_fd_unexpected_event_throws)
{
	expect_throw(main_break_hangup, "runtime: netpoll: break fd ready for 16",
		     "runtime: netpoll: break fd ready for something unexpected");
}

/*
 * findRunnable's two invariants before the blocking netpoll (Go 1.22 proc.go): the M that polls
 * holds no P and is not spinning. Nothing in the runtime breaks them; a hook that runs just
 * before the poll does, as a bug would, and the runtime throws Go's message.
 */
static void hold_p(void)
{
	getm()->p = allp[0];
}

static void stay_spinning(void)
{
	getm()->spinning = true;
}

static void main_poll_broken(void (*hook)(void))
{
	setup_pair();
	start_waiter(); /* parked: netpollWaiters is 1, so an idle M polls, blocking */
	testHookBeforeBlockingPoll = hook;
	time_sleep(10 * 1000 * MS); /* M0 has nothing else to run: it comes to poll */
}

static void main_poll_with_p(void *arg)
{
	(void)arg;
	main_poll_broken(hold_p);
}

static void main_poll_spinning(void *arg)
{
	(void)arg;
	main_poll_broken(stay_spinning);
}

Test(sim_netpoll, blocking_poll_with_a_p_throws)
{
	expect_throw(main_poll_with_p, NULL, "findrunnable: netpoll with p");
}

Test(sim_netpoll, blocking_poll_while_spinning_throws)
{
	expect_throw(main_poll_spinning, NULL, "findrunnable: netpoll with spinning");
}

/* ---- pollCache ---- */

static void main_pollcache(void *arg)
{
	(void)arg;
	cr_assert_eq(sizeof(struct pollDesc), 248, "Go 1.22's pollDesc size on amd64");
	int fds[17];
	struct pollDesc *pds[17];
	for (int i = 0; i < 17; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		pds[i] = open_pd(fds[i]);
	}
	/* Pushing a fresh block reverses it: the first one out is at the highest address. */
	for (int i = 1; i < 16; i++)
		cr_assert_eq((char *)pds[i - 1] - (char *)pds[i], 248,
			     "fresh descriptors descend by sizeof(pollDesc)");
	uint64_t inuse, freelist, blocks;
	netpoll_cache_stats(&inuse, &freelist, &blocks);
	cr_assert_eq(blocks, 2, "16 per 4096-byte block: the 17th needs a second block");
	cr_assert_eq(inuse, 17);
	cr_assert_eq(freelist, 15);
	/* Free one and allocate: LIFO reuse, fdseq bumped. */
	uintptr_t seq = atomic_load(&pds[5]->fdseq);
	poll_runtime_pollUnblock(pds[5]);
	poll_runtime_pollClose(pds[5]);
	close(fds[5]);
	fds[5] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct pollDesc *again = open_pd(fds[5]);
	cr_assert_eq(again, pds[5]);
	cr_assert_eq(atomic_load(&again->fdseq), seq + 1);
	netpoll_cache_stats(&inuse, &freelist, &blocks);
	cr_assert_eq(blocks, 2, "reuse allocates no block");
}

Test(sim_netpoll, pollcache_blocks_and_reuse)
{
	cr_assert_eq(tu_sim_run(1, main_pollcache, NULL, &EV), 0);
	struct sim_stats ss;
	sim_stats(&ss);
	cr_assert_eq(ss.pd_per_block, 16);
}

/* A failed registration (EPERM on a regular file) frees the pollDesc and bumps fdseq. */
static void main_regular_file(void *arg)
{
	(void)arg;
	poll_runtime_pollServerInit();
	char path[] = "/tmp/nps-regular-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	int errno_ = 0;
	struct pollDesc *pd = poll_runtime_pollOpen((uintptr_t)fd, &errno_);
	cr_assert_null(pd);
	cr_assert_eq(errno_, EPERM, "epoll refuses regular files: %s", strerror(errno_));
	uint64_t inuse, freelist, blocks;
	netpoll_cache_stats(&inuse, &freelist, &blocks);
	cr_assert_eq(inuse, 0, "the pollDesc went back to the cache");
	close(fd);
}

Test(sim_netpoll, failed_registration_frees_pd)
{
	cr_assert_eq(tu_sim_run(1, main_regular_file, NULL, &EV), 0);
	cr_assert_eq(tu_find(&EV, 0, NPS_EV_PD_FREE, NULL, NULL) >= 0, 1);
}

/* ---- fdseq: a stale event wakes nobody ---- */

static int other_a, other_b;

static void main_stale(void *arg)
{
	(void)arg;
	setup_pair();
	uintptr_t seq = atomic_load(&T.pd->fdseq);
	/*
	 * Deliver an event that names this pollDesc with the tag of an earlier incarnation, as the
	 * kernel does when an fd was closed and reused between epoll_wait and netpoll: register
	 * another socket with that tagged data and make it readable.
	 */
	tcp_pair(&other_a, &other_b);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
	ev.data.u64 = taggedPointerPack(T.pd, seq - 1 ? seq - 1 : 0x7FFFF);
	cr_assert_eq(epoll_ctl(epfd, EPOLL_CTL_ADD, other_a, &ev), 0);
	start_waiter();
	cr_assert_eq(write(other_b, "x", 1), 1);
	time_sleep(30 * MS); /* pollers run; the stale event must not wake the reader */
	cr_assert(atomic_load(&T.pd->rg) > pdWait, "the stale event woke the parked reader");
	epoll_ctl(epfd, EPOLL_CTL_DEL, other_a, &ev);
	cr_assert_eq(write(T.b, "y", 1), 1); /* the real event */
	wg_wait(&T.wg);
}

static int is_stale(const struct nps_event *e, void *ctx)
{
	(void)ctx;
	return e->u.npev.action == NPS_NPEV_STALE;
}

Test(sim_netpoll, stale_event_wakes_nobody)
{
	cr_assert_eq(tu_sim_run(2, main_stale, NULL, &EV), 0);
	cr_assert(tu_find(&EV, 0, NPS_EV_NETPOLL_EVENT, is_stale, NULL) >= 0,
		  "netpoll saw the stale event");
	cr_assert_str_eq(tu_pd_history(&EV, (uint64_t)(uintptr_t)T.pd, 'r'),
			 "nil>wait>G>ready>nil");
	cr_assert_eq(T.rc, pollNoError);
	cr_assert_eq(tu_fold_violations(&EV), 0);
}

/* ---- netpoll's delay -> waitms (spec section 5) ---- */

static const struct {
	int64_t delay;
	int32_t waitms;
} waitms_table[] = {
    {-1, -1},
    {-123456789, -1},
    {0, 0},
    {1, 1},
    {999999, 1},
    {1000000, 1},
    {1999999, 1},
    {2500000, 2},
    {999999999999999LL, 999999999},
    {1000000000000000LL, 1000000000},
    {INT64_MAX, 1000000000},
};

static void main_waitms(void *arg)
{
	(void)arg;
	netpollGenericInit();
	for (size_t i = 0; i < sizeof(waitms_table) / sizeof(waitms_table[0]); i++) {
		/* A pending break makes even an infinite wait return at once. */
		netpollBreak(NPS_FN_NONE, 0);
		int32_t delta;
		struct gList l = netpoll(waitms_table[i].delay, &delta, NPS_NPC_OTHER);
		cr_assert(gList_empty(&l));
	}
}

static int is_begin_other(const struct nps_event *e, void *ctx)
{
	(void)ctx;
	return e->u.netpoll.caller == NPS_NPC_OTHER;
}

Test(sim_netpoll, delay_to_waitms)
{
	cr_assert_eq(tu_sim_run(1, main_waitms, NULL, &EV), 0);
	long i = -1;
	for (size_t k = 0; k < sizeof(waitms_table) / sizeof(waitms_table[0]); k++) {
		i = tu_find(&EV, (size_t)(i + 1), NPS_EV_NETPOLL_BEGIN, is_begin_other, NULL);
		cr_assert(i >= 0);
		cr_assert_eq(EV.v[i].u.netpoll.delay, waitms_table[k].delay);
		cr_assert_eq(EV.v[i].u.netpoll.waitms, waitms_table[k].waitms,
			     "delay %lld -> waitms %d, want %d", (long long)waitms_table[k].delay,
			     EV.v[i].u.netpoll.waitms, waitms_table[k].waitms);
	}
}

/* ---- netpollcheckerr's priority: closing, then timeout, then eventErr (reads only) ---- */

static void main_checkerr(void *arg)
{
	(void)arg;
	setup_pair();
	struct pollDesc *pd = T.pd;
	uint32_t seqbits = atomic_load(&pd->atomicInfo) & ~0xFU;
	static const struct {
		uint32_t bits;
		int r, w;
	} rows[] = {
	    {0, pollNoError, pollNoError},
	    {pollEventErr, pollErrNotPollable, pollNoError},
	    {pollExpiredReadDeadline, pollErrTimeout, pollNoError},
	    {pollExpiredWriteDeadline, pollNoError, pollErrTimeout},
	    {pollExpiredReadDeadline | pollEventErr, pollErrTimeout, pollNoError},
	    {pollClosing | pollExpiredReadDeadline | pollExpiredWriteDeadline | pollEventErr,
	     pollErrClosing, pollErrClosing},
	    {pollClosing, pollErrClosing, pollErrClosing},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		atomic_store(&pd->atomicInfo, seqbits | rows[i].bits);
		cr_assert_eq(netpollcheckerr_for_test(pd, 'r'), rows[i].r, "row %zu read", i);
		cr_assert_eq(netpollcheckerr_for_test(pd, 'w'), rows[i].w, "row %zu write", i);
	}
	atomic_store(&pd->atomicInfo, seqbits);
	/* setEventErr ignores an event of another incarnation, applies its own. */
	uintptr_t seq = atomic_load(&pd->fdseq);
	setEventErr(pd, true, seq + 1);
	cr_assert_eq(netpollcheckerr_for_test(pd, 'r'), pollNoError);
	setEventErr(pd, true, seq);
	cr_assert_eq(netpollcheckerr_for_test(pd, 'r'), pollErrNotPollable);
	setEventErr(pd, false, seq);
	cr_assert_eq(netpollcheckerr_for_test(pd, 'r'), pollNoError);
}

Test(sim_netpoll, checkerr_priority)
{
	cr_assert_eq(tu_sim_run(1, main_checkerr, NULL, &EV), 0);
}

/* ---- the runtime's end overtakes an M on its way to the blocking poll ---- */

static _Atomic int late_armed, late_held;

static void nothing(void *arg)
{
	(void)arg;
}

/*
 * findRunnable, with this M's P given up, just before it tries to become the blocked poller:
 * while another M sleeps in netpoll(-1), hold the first M that comes here until main has
 * returned and that poller, woken by sim_exit's netpollBreak, has left its poll. This M then
 * wins lastpoll with the break already drained.
 */
static void late_poller_hook(void)
{
	if (atomic_load(&sched.lastpoll) != 0 || atomic_load(&sched.exiting) ||
	    !atomic_exchange(&late_armed, 0))
		return;
	atomic_store(&late_held, 1);
	while (!atomic_load(&sched.exiting) || atomic_load(&sched.lastpoll) == 0)
		usleep(100);
}

/* Busy, as a goroutine that never parks, until some M sleeps in netpoll (lastpoll 0). */
static void until_an_m_polls(void)
{
	for (int i = 0; i < 50000 && atomic_load(&sched.lastpoll) != 0; i++)
		usleep(100);
	cr_assert_eq(atomic_load(&sched.lastpoll), 0, "no M sleeps in netpoll(-1)");
}

static void main_exit_overtakes_poller(void *arg)
{
	(void)arg;
	setup_pair();
	start_waiter(); /* parked for good: netpollWaiters stays 1, so idle Ms poll */
	until_an_m_polls();
	atomic_store(&late_armed, 1);
	testHookBeforeBlockingPoll = late_poller_hook;
	/*
	 * Work for the idle P: wakep starts a spinning M, which finds nothing and comes to poll
	 * while the other sleeps in netpoll. Again until one is held: the poller itself may come
	 * instead, between two of its polls, and hold no one.
	 */
	for (int i = 0; i < 5000 && !atomic_load(&late_held); i++) {
		if (atomic_load(&sched.lastpoll) == 0)
			go(nothing, NULL);
		usleep(1000);
	}
	cr_assert(atomic_load(&late_held), "no second M came to the blocking poll");
	/*
	 * Return with the other M in netpoll: sim_exit's break wakes it, it leaves, and then the
	 * held M goes on and wins lastpoll.
	 */
	until_an_m_polls();
}

Test(sim_netpoll, exit_overtaking_a_late_poller_still_ends)
{
	/* Before the fix the held M slept in netpoll(-1) forever and sim_run never returned. */
	cr_assert_eq(tu_sim_run(2, main_exit_overtakes_poller, NULL, NULL), 0);
	cr_assert(atomic_load(&late_held));
}

/* ---- netpollinit: the flags of Go 1.22's epoll fd and break pipe ---- */

/* The interest mask of target fd in epoll fd ep, from /proc/self/fdinfo; data in *data. */
static int64_t fdinfo_events(int ep, int target, uint64_t *data)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	FILE *f = fopen(path, "r");
	cr_assert(f, "%s", path);
	int64_t events = -1;
	while (fgets(line, sizeof(line), f)) {
		int tfd;
		unsigned ev;
		unsigned long long d;
		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &ev, &d) == 3 &&
		    tfd == target) {
			events = ev;
			*data = d;
		}
	}
	fclose(f);
	return events;
}

static int64_t init_break_events, init_sock_events;
static uint64_t init_break_data;
static int init_epfd_fd, init_rd_fl, init_wr_fl, init_rd_fd, init_wr_fd;

static void main_init_flags(void *arg)
{
	(void)arg;
	setup_pair(); /* pollServerInit runs netpollinit, then T.a is registered */
	init_epfd_fd = fcntl(epfd, F_GETFD);
	init_rd_fd = fcntl((int)netpollBreakRd, F_GETFD);
	init_wr_fd = fcntl((int)netpollBreakWr, F_GETFD);
	init_rd_fl = fcntl((int)netpollBreakRd, F_GETFL);
	init_wr_fl = fcntl((int)netpollBreakWr, F_GETFL);
	init_break_events = fdinfo_events(epfd, (int)netpollBreakRd, &init_break_data);
	uint64_t data;
	init_sock_events = fdinfo_events(epfd, T.a, &data);
}

Test(sim_netpoll, netpollinit_flags)
{
	cr_assert_eq(tu_sim_run(1, main_init_flags, NULL, &EV), 0);
	cr_assert(init_epfd_fd & FD_CLOEXEC, "epoll_create1(EPOLL_CLOEXEC)");
	cr_assert(init_rd_fl & O_NONBLOCK, "nonblockingPipe: the read end is O_NONBLOCK");
	cr_assert(init_wr_fl & O_NONBLOCK, "nonblockingPipe: the write end is O_NONBLOCK");
	cr_assert(init_rd_fd & FD_CLOEXEC, "nonblockingPipe: the read end is O_CLOEXEC");
	cr_assert(init_wr_fd & FD_CLOEXEC, "nonblockingPipe: the write end is O_CLOEXEC");
	/* The kernel adds EPOLLERR|EPOLLHUP to every registration; Go asked for EPOLLIN alone. */
	cr_assert_eq(init_break_events, EPOLLIN | EPOLLERR | EPOLLHUP,
		     "break read end: EPOLLIN, level-triggered (mask %#llx)",
		     (long long)init_break_events);
	cr_assert_eq(init_break_data, (uint64_t)(uintptr_t)&netpollBreakRd,
		     "the break fd's data is &netpollBreakRd, untagged");
	cr_assert_eq(init_sock_events,
		     EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET | EPOLLERR | EPOLLHUP,
		     "netpollopen: IN|OUT|RDHUP|ET (mask %#llx)", (long long)init_sock_events);
}

/*
 * ---- netpollBreak and its drain (runtime/netpoll_epoll.go) ----
 * netpollWakeSig lets one byte into the pipe until a blocking netpoll drains it; a non-blocking
 * netpoll leaves it (level-triggered, so the next blocking poll still sees it).
 */
static int32_t break_ngs[3];

static void main_break_drain(void *arg)
{
	(void)arg;
	netpollGenericInit();
	int32_t delta;
	netpollBreak(NPS_FN_NONE, 0);				       /* writes */
	netpollBreak(NPS_FN_NONE, 0);				       /* pending */
	netpollBreak(NPS_FN_NONE, 0);				       /* pending */
	break_ngs[0] = netpoll(0, &delta, NPS_NPC_OTHER).head != NULL; /* leaves the byte */
	netpollBreak(NPS_FN_NONE, 0);				       /* still pending */
	/* The byte left behind ends a long wait at once: drained, netpollWakeSig reset. */
	break_ngs[1] = netpoll(1000 * MS, &delta, NPS_NPC_OTHER).head != NULL;
	netpollBreak(NPS_FN_NONE, 0); /* writes again */
	break_ngs[2] = netpoll(1000 * MS, &delta, NPS_NPC_OTHER).head != NULL;
}

Test(sim_netpoll, break_writes_one_byte_until_a_blocking_poll_drains_it)
{
	cr_assert_eq(tu_sim_run(1, main_break_drain, NULL, &EV), 0);
	/*
	 * What the log shows of the break, in order: this goroutine's calls (not the runtime's
	 * exit's) and its M's polls (sysmon's are non-blocking: they may leave the byte, never
	 * drain it).
	 */
	char got[64] = "", *w = got;
	int m = -1;
	for (size_t i = 0; i < EV.n && w < got + sizeof(got) - 8; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_NETPOLL_BREAK && e->u.brk.fn == NPS_FN_NONE) {
			m = e->m;
			*w++ = e->u.brk.result == NPS_BRK_WROTE	    ? 'W'
			       : e->u.brk.result == NPS_BRK_PENDING ? 'p'
								    : '?';
		} else if (e->kind == NPS_EV_NETPOLL_EVENT && e->m == m &&
			   e->u.npev.action == NPS_NPEV_BREAK_LEAVE) {
			*w++ = 'l';
		} else if (e->kind == NPS_EV_NETPOLL_DRAIN) {
			w += sprintf(w, "D%lld", (long long)e->u.brk.ret);
		}
	}
	*w = 0;
	/* W wrote, p pending, l left by netpoll(0), D<n> drained n bytes */
	cr_assert_str_eq(got,
			 "Wppl"
			 "pD1"
			 "WD1",
			 "the break's history: %s", got);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(break_ngs[i], 0, "netpoll %d returned goroutines", i);
}

/* ---- at most 128 events per netpoll call ---- */

#define NDUP 200
static struct pollDesc *dup_pds[NDUP];

static void main_many_ready(void *arg)
{
	(void)arg;
	int port;
	int l = listener(&port);
	/* 200 descriptors of one listening socket: one connection readies all 200 at once. */
	for (int i = 0; i < NDUP; i++)
		dup_pds[i] = open_pd(i ? dup(l) : l);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (int tries = 0; tries < 2000; tries++) {
		int32_t delta;
		netpoll(0, &delta, NPS_NPC_OTHER);
		int ready = 0;
		for (int i = 0; i < NDUP; i++)
			ready += atomic_load(&dup_pds[i]->rg) == pdReady;
		if (ready == NDUP)
			break;
		time_sleep(1 * MS);
	}
}

static int dup_index(uint64_t pd)
{
	for (int i = 0; i < NDUP; i++)
		if ((uint64_t)(uintptr_t)dup_pds[i] == pd)
			return i;
	return -1;
}

Test(sim_netpoll, at_most_128_events_per_call)
{
	cr_assert_eq(tu_sim_run(1, main_many_ready, NULL, &EV), 0);
	/* Per netpoll call (any caller: sysmon may poll too), the events naming our 200. */
	uint64_t ids[NDUP];
	int per_call[NDUP], ncalls = 0, total = 0, full = 0;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_NETPOLL_END)
			cr_assert_leq(e->u.netpoll.n, 128, "epoll_pwait returned %d",
				      e->u.netpoll.n);
		if (e->kind != NPS_EV_NETPOLL_EVENT || dup_index(e->u.npev.pd) < 0)
			continue;
		int k = 0;
		while (k < ncalls && ids[k] != e->u.npev.id)
			k++;
		if (k == ncalls) {
			ids[ncalls] = e->u.npev.id;
			per_call[ncalls++] = 0;
		}
		per_call[k]++;
		total++;
	}
	for (int k = 0; k < ncalls; k++) {
		cr_assert_leq(per_call[k], 128, "call %llu: %d events", (unsigned long long)ids[k],
			      per_call[k]);
		full += per_call[k] == 128;
	}
	cr_assert_eq(total, NDUP, "every descriptor's event was delivered once");
	cr_assert_eq(full, 1, "one call filled its 128-event buffer, the rest came after");
}

/* ---- EPOLLERR -> eventErr: only when the mask is EPOLLERR alone (netpoll_epoll.go) ---- */

/* A UDP socket connected to a port nobody listens on: a send draws an ICMP port unreachable. */
static int udp_to_closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int tmp = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_eq(bind(tmp, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t len = sizeof(sa);
	getsockname(tmp, (struct sockaddr *)&sa, &len);
	close(tmp);
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(u, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return u;
}

enum {
	ERR_UDP = 1, /* ICMP error on a writable socket: EPOLLOUT|EPOLLERR */
	ERR_ALONE,   /* the same with the registration narrowed: EPOLLERR alone */
	ERR_RST	     /* TCP reset by the peer: IN|OUT|ERR|HUP|RDHUP */
};

static struct {
	int fd;
	ssize_t rn;    /* what (*FD).Read returned */
	int checkerr;  /* netpollcheckerr(pd, 'r') after the event */
	uint32_t mask; /* the mask netpoll saw with EPOLLERR in it */
} E;

static int is_err_event(const struct nps_event *e, void *ctx)
{
	(void)ctx;
	return e->fd == E.fd && (e->u.npev.events & EPOLLERR) && e->u.npev.action == NPS_NPEV_READY;
}

static void main_eventerr(void *arg)
{
	int how = (int)(intptr_t)arg;
	struct FD fd = {.IsStream = how == ERR_RST, .ZeroReadIsEOF = how == ERR_RST};
	if (how == ERR_RST) {
		tcp_pair(&fd.Sysfd, &T.b);
	} else {
		fd.Sysfd = udp_to_closed_port();
	}
	E.fd = fd.Sysfd;
	cr_assert_eq(FD_Init(&fd, how == ERR_RST ? "tcp" : "udp", true), 0);
	struct pollDesc *pd = fd.pd.runtimeCtx;
	if (how == ERR_ALONE) {
		/*
		 * Narrow the registration (Go's data kept) to no readiness: the kernel then reports
		 * EPOLLERR alone, as it does for a socket neither readable nor writable.
		 */
		struct epoll_event ev = {.events = EPOLLET};
		ev.data.u64 = taggedPointerPack(pd, atomic_load(&pd->fdseq));
		cr_assert_eq(epoll_ctl(epfd, EPOLL_CTL_MOD, fd.Sysfd, &ev), 0);
	}
	if (how == ERR_RST) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(T.b, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(T.b);
	} else {
		cr_assert_eq(send(fd.Sysfd, "x", 1, 0), 1);
	}
	/* An error event has mode 'r'+'w': wait until a netpoll made the reader's side ready. */
	for (int i = 0; i < 2000 && atomic_load(&pd->rg) != pdReady; i++) {
		int32_t delta;
		netpoll(0, &delta, NPS_NPC_OTHER);
		if (atomic_load(&pd->rg) != pdReady)
			time_sleep(1 * MS);
	}
	cr_assert_eq(atomic_load(&pd->rg), pdReady, "no error event arrived");
	E.checkerr = netpollcheckerr_for_test(pd, 'r');
	char buf[16];
	E.rn = FD_Read(&fd, buf, sizeof(buf));
}

static int count_reads(int fd)
{
	int n = 0;
	for (size_t i = 0; i < EV.n; i++)
		n += EV.v[i].kind == NPS_EV_SYSCALL && EV.v[i].fd == fd &&
		     EV.v[i].u.sys.op == NPS_SYS_READ;
	return n;
}

static uint32_t err_mask(void)
{
	long i = tu_find(&EV, 0, NPS_EV_NETPOLL_EVENT, is_err_event, NULL);
	cr_assert(i >= 0, "netpoll saw no EPOLLERR for fd %d", E.fd);
	return EV.v[i].u.npev.events;
}

Test(sim_netpoll, epollerr_alone_sets_eventerr)
{
	cr_assert_eq(tu_sim_run(1, main_eventerr, (void *)(intptr_t)ERR_ALONE, &EV), 0);
	cr_assert_eq(err_mask(), EPOLLERR);
	cr_assert_eq(E.checkerr, pollErrNotPollable, "eventErr set: reads report not pollable");
	cr_assert_eq(E.rn, -NPS_ENOTPOLLABLE, "Read: %s", nps_strerror((int)E.rn));
	cr_assert_str_eq(nps_strerror((int)E.rn), "not pollable");
	cr_assert_eq(count_reads(E.fd), 0, "prepareRead failed: no read(2)");
}

Test(sim_netpoll, epollerr_with_epollout_leaves_eventerr_clear)
{
	cr_assert_eq(tu_sim_run(1, main_eventerr, (void *)(intptr_t)ERR_UDP, &EV), 0);
	cr_assert_eq(err_mask(), EPOLLOUT | EPOLLERR);
	cr_assert_eq(E.checkerr, pollNoError);
	cr_assert_eq(E.rn, -ECONNREFUSED, "Read: %s", nps_strerror((int)E.rn));
	cr_assert_str_eq(nps_strerror((int)E.rn), "connection refused");
	cr_assert_eq(count_reads(E.fd), 1, "the read(2) reports the socket error");
}

Test(sim_netpoll, reset_by_peer_leaves_eventerr_clear)
{
	cr_assert_eq(tu_sim_run(1, main_eventerr, (void *)(intptr_t)ERR_RST, &EV), 0);
	uint32_t want = EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP;
	cr_assert_eq(err_mask() & want, want, "mask %#x", err_mask());
	cr_assert_eq(E.checkerr, pollNoError);
	cr_assert_eq(E.rn, -ECONNRESET, "Read: %s", nps_strerror((int)E.rn));
	cr_assert_str_eq(nps_strerror((int)E.rn), "connection reset by peer");
}

/* ---- EINTR: a signal during a blocking epoll_pwait (netpoll's retry rule) ---- */

static int eintr_port;

static void connect_listener(void *arg)
{
	(void)arg;
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)eintr_port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	connect(c, (struct sockaddr *)&sa, sizeof(sa));
}

static int eintr_sent;

static void main_eintr(void *arg)
{
	int64_t delay = (int64_t)(intptr_t)arg;
	/* A listener: nothing is ready until the interrupter connects (after its signals). */
	T.pd = open_pd(listener(&eintr_port));
	struct tu_interrupter *it =
	    tu_interrupt_start((pid_t)syscall(SYS_gettid), SYS_epoll_pwait, delay < 0 ? 3 : 1,
			       delay < 0 ? connect_listener : NULL, NULL);
	int32_t delta;
	/*
	 * A timed wait can also end early on a netpollBreak still pending from the runtime's
	 * start (the byte is drained by that call): wait again until the signal has come.
	 */
	for (int i = 0; i < 5; i++) {
		struct gList l = netpoll(delay, &delta, NPS_NPC_OTHER);
		cr_assert(gList_empty(&l));
		if (delay < 0 || tu_interrupt_sent(it))
			break;
	}
	eintr_sent = tu_interrupt_sent(it);
	tu_interrupt_stop(it);
}

static int is_end_other(const struct nps_event *e, void *ctx)
{
	(void)ctx;
	return e->u.netpoll.caller == NPS_NPC_OTHER;
}

Test(sim_netpoll, eintr_ends_a_timed_wait, .timeout = 20)
{
	/* waitms > 0: return an empty list, so that the caller recomputes its timeout. */
	cr_assert_eq(tu_sim_run(1, main_eintr, (void *)(intptr_t)(5000 * MS), &EV), 0);
	cr_assert_eq(eintr_sent, 1);
	long i = -1;
	do
		i = tu_find(&EV, (size_t)(i + 1), NPS_EV_NETPOLL_END, is_end_other, NULL);
	while (i >= 0 && EV.v[i].u.netpoll.n != -EINTR);
	cr_assert(i >= 0, "no netpoll call ended by EINTR");
	cr_assert_eq(EV.v[i].u.netpoll.waitms, 5000);
	cr_assert_eq(EV.v[i].u.netpoll.n, -EINTR, "netpoll returned on EINTR (n %d)",
		     EV.v[i].u.netpoll.n);
	cr_assert(EV.v[i].u.netpoll.eintr);
}

Test(sim_netpoll, eintr_retries_an_infinite_wait, .timeout = 20)
{
	/* waitms < 0: retry; the call ends with the connection that follows the signals. */
	cr_assert_eq(tu_sim_run(1, main_eintr, (void *)(intptr_t)-1, &EV), 0);
	cr_assert_geq(eintr_sent, 1);
	long i = tu_find(&EV, 0, NPS_EV_NETPOLL_END, is_end_other, NULL);
	cr_assert(i >= 0);
	cr_assert_eq(EV.v[i].u.netpoll.waitms, -1);
	cr_assert(EV.v[i].u.netpoll.eintr, "an EINTR happened in the call");
	cr_assert_eq(EV.v[i].u.netpoll.n, 1, "and it retried until the listener's event (n %d)",
		     EV.v[i].u.netpoll.n);
	cr_assert_eq(atomic_load(&T.pd->rg), pdReady);
}
