// SPDX-License-Identifier: MIT
/*
 * The pollDesc state machine, row by row (spec section 4.4), on real TCP sockets on 127.0.0.1
 * and the real epoll instance of the simulated runtime: every legal transition, the races Go
 * handles on purpose (readiness before park, readiness or an error between the pdWait announce
 * and the commit, deadline and close while parked), the throws, pollCache's block arithmetic
 * and reuse, fdseq staleness, netpoll's delay -> waitms mapping and netpollcheckerr's priority;
 * and the runtime's end, which must reach an M that became the poller after the exit's break.
 *
 * Each test runs the runtime in its own process (Criterion forks) with the event log on, and
 * asserts what the log shows a user: the history of rg/wg, and who made each change.
 */
#include <criterion/criterion.h>

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
#include <unistd.h>

#define MS (1000LL * 1000)

/* A connected TCP pair on loopback, made with plain syscalls; a is non-blocking. */
static void tcp_pair(int *a, int *b)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	socklen_t len = sizeof(sa);
	getsockname(l, (struct sockaddr *)&sa, &len);
	listen(l, 1);
	*b = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(connect(*b, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	*a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	cr_assert(*a >= 0);
	close(l);
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

/* The after-announce window: readiness, a past deadline, or a close arrives there. */
enum {
	HOOK_READY = 1,
	HOOK_DEADLINE,
	HOOK_CLOSE,
	HOOK_CORRUPT
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

/* ---- throws: Go's messages, exit status 2 ---- */

static void main_double_wait(void *arg)
{
	(void)arg;
	setup_pair();
	start_waiter();
	netpollblock(T.pd, 'r', false); /* a second reader on the same semaphore */
}

static void run_double_wait(void *arg)
{
	(void)arg;
	tu_sim_run(1, main_double_wait, NULL, NULL);
}

Test(sim_netpoll, double_wait_throws)
{
	char *err = NULL;
	int st = tu_fork_capture(run_double_wait, NULL, &err);
	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(err, "fatal error: runtime: double wait"), "stderr: %s", err);
	free(err);
}

static void main_corrupt(void *arg)
{
	(void)arg;
	T.fake.goid = 999;
	main_announce((void *)(intptr_t)HOOK_CORRUPT);
}

static void run_corrupt(void *arg)
{
	(void)arg;
	tu_sim_run(1, main_corrupt, NULL, NULL);
}

Test(sim_netpoll, corrupted_polldesc_throws)
{
	char *err = NULL;
	int st = tu_fork_capture(run_corrupt, NULL, &err);
	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(err, "fatal error: runtime: corrupted polldesc"), "stderr: %s", err);
	free(err);
}

static void main_close_wo_unblock(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollClose(T.pd);
}

static void run_close_wo_unblock(void *arg)
{
	(void)arg;
	tu_sim_run(1, main_close_wo_unblock, NULL, NULL);
}

Test(sim_netpoll, close_without_unblock_throws)
{
	char *err = NULL;
	int st = tu_fork_capture(run_close_wo_unblock, NULL, &err);
	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(err, "fatal error: runtime: close polldesc w/o unblock"), "stderr: %s",
		  err);
	free(err);
}

static void main_unblock_twice(void *arg)
{
	(void)arg;
	setup_pair();
	poll_runtime_pollUnblock(T.pd);
	poll_runtime_pollUnblock(T.pd);
}

static void run_unblock_twice(void *arg)
{
	(void)arg;
	tu_sim_run(1, main_unblock_twice, NULL, NULL);
}

Test(sim_netpoll, unblock_twice_throws)
{
	char *err = NULL;
	int st = tu_fork_capture(run_unblock_twice, NULL, &err);
	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(err, "fatal error: runtime: unblock on closing polldesc"), "stderr: %s",
		  err);
	free(err);
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
