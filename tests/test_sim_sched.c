// SPDX-License-Identifier: MIT
/*
 * The scheduler of issue 2 section 3, as a reader of Go 1.22's runtime/proc.go would check it
 * from the event log: GOMAXPROCS's default (getproccount), at most one M in a blocking netpoll
 * (findRunnable's sched.lastpoll swap), runnext, the 256-slot local run queue and its overflow
 * to the global queue (runqputslow), work stealing, sysmon's 10 ms netpoll rule with its
 * 20 us .. 10 ms sleep and injectglist without a P, injectglist after the blocking poll
 * handing goroutines to the idle Ps, stopm's line counting the M that goes to sleep, a woken
 * M's line before the one of its acquirep, a goroutine stack overflow stopped by the guard page
 * below the stack, and fatal errors in Go's words (casgstatus, notewakeup, WaitGroup).
 */
#include <criterion/criterion.h>

#include "sim/net.h"
#include "sim/runtime.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "tests/testutil.h"
#include "traces/fold.h"
#include "traces/narrate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct tu_events EV;

TestSuite(sim_sched, .timeout = 60);

/* ---- GOMAXPROCS's default: Go's getproccount counts the affinity mask ---- */

static int seen_gomaxprocs;

static void read_gomaxprocs(void *arg)
{
	(void)arg;
	seen_gomaxprocs = gomaxprocs;
}

/* The first CPU this process may run on. */
static int first_cpu(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	int cpu = 0;
	while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &set))
		cpu++;
	return cpu;
}

/* The main goroutine's first draws of cheaprandn: it starts on M0, whose state is the seed's. */
static uint32_t draws[8];

static void draw(void *arg)
{
	(void)arg;
	for (int i = 0; i < 8; i++)
		draws[i] = cheaprandn(1u << 30);
}

/* The draws of a runtime seeded with seed (in a child: a process starts the runtime once). */
static void draws_with_seed(uint64_t seed, uint32_t out[8])
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sim_config cfg = {.gomaxprocs = 1, .seed = seed};
		int ok = sim_run(&cfg, draw, NULL) == 0 &&
			 write(p[1], draws, sizeof(draws)) == (ssize_t)sizeof(draws);
		_exit(ok ? 0 : 1);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], out, sizeof(draws)), (ssize_t)sizeof(draws));
	close(p[0]);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/*
 * --seed seeds the scheduler's random choices (cheaprandn: where stealWork starts): the same
 * seed makes the same choices, another seed others, as Go's cheaprand seeded at startup.
 */
Test(sim_sched, the_seed_decides_the_schedulers_random_choices)
{
	uint32_t a[8], b[8], c[8];
	draws_with_seed(7, a);
	draws_with_seed(7, b);
	draws_with_seed(8, c);
	cr_assert_arr_eq(a, b, sizeof(a), "seed 7 twice: different choices");
	cr_assert_arr_neq(a, c, sizeof(a), "seeds 7 and 8: the same choices");
}

Test(sim_sched, gomaxprocs_default_is_the_cpus_of_the_affinity_mask)
{
	/* Pin this test's process to one CPU, as taskset -c does, and start the runtime. */
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(first_cpu(), &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
	cr_assert_eq(tu_sim_run(0, read_gomaxprocs, NULL, NULL), 0);
	cr_assert_eq(seen_gomaxprocs, 1, "one CPU allowed, yet GOMAXPROCS %d", seen_gomaxprocs);

	/* The same through the command line, without --procs. */
	char cmd[512], *out = NULL;
	snprintf(cmd, sizeof(cmd),
		 "taskset -c %d %s run --scenario echo --clients 1 --rounds 1 --no-ui", first_cpu(),
		 tu_netpollsim());
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	cr_assert(strstr(out, "== echo (GOMAXPROCS 1)"), "%s", out);
	free(out);
}

/* ---- at most one M in a blocking netpoll ---- */

/*
 * echo at GOMAXPROCS procs: the fold finds no violation (its netpoll-two-blocking rule among
 * them), every blocking netpoll of findRunnable comes after that M won the sched.lastpoll swap
 * (the sched 'lastpoll' event), and some M did block in netpoll.
 */
static void one_blocking_poller(int procs)
{
	struct scenario_result r;
	cr_assert_eq(tu_scenario_run("echo", procs, 2 * procs, 20, &r, &EV), 0);
	cr_assert_eq(r.errors, 0);
	cr_assert_eq(tu_fold_violations(&EV), 0, "violations at GOMAXPROCS %d", procs);
	bool won[1 << 10] = {false};
	int blocking = 0;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->m < 0 || e->m >= 1 << 10)
			continue;
		if (e->kind == NPS_EV_SCHED && e->u.sched.op == NPS_SCHED_LASTPOLL)
			won[e->m] = true;
		if (e->kind != NPS_EV_NETPOLL_BEGIN && e->kind != NPS_EV_NETPOLL_END)
			continue;
		if (e->u.netpoll.caller != NPS_NPC_FINDRUNNABLE_BLOCK)
			continue;
		if (e->kind == NPS_EV_NETPOLL_END) {
			won[e->m] = false;
			continue;
		}
		cr_assert(won[e->m], "event %zu: M%d polls without the lastpoll swap", i, e->m);
		blocking += e->u.netpoll.waitms != 0;
	}
	cr_assert_gt(blocking, 0, "no M ever blocked in netpoll");
}

Test(sim_sched, one_m_at_a_time_blocks_in_netpoll_procs2)
{
	one_blocking_poller(2);
}

Test(sim_sched, one_m_at_a_time_blocks_in_netpoll_procs3)
{
	one_blocking_poller(3);
}

Test(sim_sched, one_m_at_a_time_blocks_in_netpoll_procs4)
{
	one_blocking_poller(4);
}

Test(sim_sched, check_rejects_two_ms_blocked_in_netpoll)
{
	char cmd[512], *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s check tests/data/traces/illegal/netpoll_two_blocking.jsonl",
		 tu_netpollsim());
	cr_assert_eq(tu_run(cmd, 1, &out), 1, "%s", out);
	cr_assert(strstr(out, ":9: error: netpoll-two-blocking: M2 starts blocking netpoll #2 "
			      "(waitms 5) while M1 is still blocked in netpoll #1"),
		  "%s", out);
	free(out);
}

/* ---- runnext, the local run queue, its overflow, stealing ---- */

#define NCHILD 300
static struct waitgroup wg;

static void child_done(void *arg)
{
	(void)arg;
	wg_done(&wg);
}

/* main: create NCHILD goroutines without yielding, then wait for them (procs 1). */
static void spawn_many(void *arg)
{
	(void)arg;
	wg_add(&wg, NCHILD);
	for (int i = 0; i < NCHILD; i++)
		go(child_done, NULL);
	wg_wait(&wg);
}

/* Position in the execution order of every child, by creation index. */
static void exec_order(uint64_t maingoid, int *pos)
{
	uint64_t created[NCHILD];
	int nc = 0, nx = 0;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_ev_gstatus *s = &EV.v[i].u.gstatus;
		if (EV.v[i].kind != NPS_EV_GSTATUS || s->goid == maingoid)
			continue;
		if (s->fn == NPS_FN_NEWPROC && nc < NCHILD)
			created[nc++] = s->goid;
		if (s->fn == NPS_FN_EXECUTE)
			for (int k = 0; k < nc; k++)
				if (created[k] == s->goid)
					pos[k] = nx++;
	}
	cr_assert_eq(nc, NCHILD);
	cr_assert_eq(nx, NCHILD, "each child ran once");
}

Test(sim_sched, runnext_local_queue_and_overflow_to_the_global_queue)
{
	cr_assert_eq(tu_sim_run(1, spawn_many, NULL, &EV), 0);
	cr_assert_eq(tu_fold_violations(&EV), 0);
	int pos[NCHILD];
	exec_order(1, pos);
	/* c is 1-based creation order, as a Go reader counts them. */
#define POS(c) pos[(c)-1]
	/*
	 * Creating c258 kicked c257 out of runnext into a full 256-slot queue (c1..c256):
	 * runqputslow moved the first half, c1..c128, with c257 to the global queue. The local
	 * queue keeps c129..c256 and, after them, c258..c299; c300 is in runnext.
	 *
	 * main parks with schedtick 0 (it ran from runnext, inheriting its time slice), and
	 * findRunnable looks at the global queue first when schedtick % 61 == 0: c1 runs first.
	 */
	cr_assert_eq(POS(1), 0, "schedtick 0: the global queue first (fairness)");
	cr_assert_eq(POS(300), 1, "then runnext: the last created");
	cr_assert_eq(POS(129), 2, "then the local queue, from c129: c1..c128 left it");
	/* Each execute from the local queue bumps schedtick: one G of 61 from the global queue. */
	cr_assert_eq(POS(2), 62, "the 61st schedtick takes the global queue's next");
	cr_assert_eq(POS(3), 123, "and the 122nd");
	for (int c = 130; c <= 299; c++)
		if (c != 257)
			cr_assert_lt(POS(c - (c == 258 ? 2 : 1)), POS(c), "local FIFO at c%d", c);
	/* The local queue drained, the rest of the global queue, FIFO: c4..c128 then c257. */
	cr_assert_gt(POS(4), POS(299));
	for (int c = 5; c <= 128; c++)
		cr_assert_eq(POS(c), POS(c - 1) + 1, "global FIFO at c%d", c);
	cr_assert_eq(POS(257), NCHILD - 1, "c257 went to the global queue behind the batch");
#undef POS
}

static _Atomic int stolen; /* a child ran on another P than main's */
static _Atomic int main_p = -1;

static void child_wait_steal(void *arg)
{
	(void)arg;
	if (getm()->p->id != atomic_load(&main_p))
		atomic_store(&stolen, 1);
	/* Hold this P until some child has run elsewhere: only a steal can end this. */
	while (!atomic_load(&stolen))
		usleep(100);
	wg_done(&wg);
}

static void spawn_and_wait_steal(void *arg)
{
	(void)arg;
	atomic_store(&main_p, getm()->p->id);
	wg_add(&wg, 16);
	for (int i = 0; i < 16; i++)
		go(child_wait_steal, NULL);
	wg_wait(&wg);
}

Test(sim_sched, an_idle_p_steals_goroutines_created_on_another)
{
	cr_assert_eq(tu_sim_run(2, spawn_and_wait_steal, NULL, &EV), 0);
	cr_assert_eq(tu_fold_violations(&EV), 0);
	int mp = atomic_load(&main_p);
	/* Some child created on main's P ran on the other one, after a steal from main's P. */
	uint64_t created[64];
	int nc = 0;
	long steal = -1, moved = -1;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_SCHED && e->u.sched.op == NPS_SCHED_STEAL &&
		    e->u.sched.p2 == mp && e->p != mp && steal < 0)
			steal = (long)i;
		if (e->kind != NPS_EV_GSTATUS)
			continue;
		if (e->u.gstatus.fn == NPS_FN_NEWPROC && e->u.gstatus.goid != 1 && nc < 64) {
			cr_assert_eq(e->p, mp, "created on main's P");
			created[nc++] = e->u.gstatus.goid;
		}
		if (e->u.gstatus.fn == NPS_FN_EXECUTE && e->p != mp && moved < 0)
			for (int k = 0; k < nc; k++)
				if (created[k] == e->u.gstatus.goid)
					moved = (long)i;
	}
	cr_assert_eq(nc, 16);
	cr_assert_geq(steal, 0, "a steal from P%d by another P", mp);
	cr_assert_geq(moved, 0, "a child created on P%d ran on another P", mp);
	cr_assert_lt(steal, moved, "the steal came first");
}

/* ---- sysmon: the 10 ms netpoll rule, its sleep, injectglist without a P ---- */

static struct {
	int port;
	_Atomic int connected, go_write, stop, spinner_running;
	struct netconn *srv;
	struct g *reader;
	ssize_t got;
} S;

static void *client_thread(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)S.port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	atomic_store(&S.connected, 1);
	while (!atomic_load(&S.go_write))
		usleep(200);
	if (write(fd, "x", 1) != 1)
		abort();
	while (!atomic_load(&S.stop))
		usleep(200);
	close(fd);
	return NULL;
}

static void spinner(void *arg)
{
	(void)arg;
	atomic_store(&S.spinner_running, 1);
	/* Holds its P without yielding: no preemption, so it never looks for work or polls. */
	while (!atomic_load(&S.stop))
		usleep(200);
	wg_done(&wg);
}

static void reader(void *arg)
{
	(void)arg;
	char b;
	S.got = conn_read(S.srv, &b, 1);
	wg_done(&wg);
}

static uint64_t netpolls_so_far(void)
{
	struct sim_stats st;
	sim_stats(&st);
	return st.netpolls;
}

/*
 * GOMAXPROCS 2: main and a spinner hold both Ps and never look for work, so no M polls the
 * network; a reader is parked in Read when its data arrives. Only sysmon can find it.
 */
static void sysmon_main(void *arg)
{
	(void)arg;
	struct netlistener *l;
	if (net_listen("127.0.0.1:0", &l, NULL, 0) != 0)
		abort();
	S.port = listener_port(l);
	pthread_t t;
	pthread_create(&t, NULL, client_thread, NULL);
	while (!atomic_load(&S.connected))
		usleep(
		    100); /* hold P0: the connection is queued before Accept, which never parks */
	if (net_accept(l, &S.srv) != 0)
		abort();
	wg_add(&wg, 2);
	go(spinner, NULL);
	while (!atomic_load(&S.spinner_running))
		usleep(100); /* the other P's M steals it */
	S.reader = newproc(reader, NULL);
	while (atomic_load(&S.reader->atomicstatus) != _Gwaiting)
		gosched(); /* let the reader run on this P and park in Read */
	uint64_t base = netpolls_so_far();
	atomic_store(&S.go_write, 1);
	/*
	 * Wait for sysmon to ready the reader, and for 64 of its polls: it sleeps at least 20 us
	 * a round and polls at most once a round, so by then its sleep has doubled to 10 ms.
	 */
	while (atomic_load(&S.reader->atomicstatus) == _Gwaiting || netpolls_so_far() < base + 64)
		usleep(500);
	atomic_store(&S.stop, 1);
	wg_wait(&wg);
	pthread_join(t, NULL);
	conn_close(S.srv);
	listener_close(l);
}

/* sysmon's usleep in round idle: 20 us, doubling after 50 rounds, at most 10 ms (Go's). */
static int64_t sysmon_delay(uint32_t idle)
{
	int64_t d = 20;
	for (uint32_t i = 51; i <= idle && d < 10000; i++)
		d *= 2;
	return d > 10000 ? 10000 : d;
}

Test(sim_sched, sysmon_polls_when_nobody_did_for_10ms)
{
	cr_assert_eq(tu_sim_run(2, sysmon_main, NULL, &EV), 0);
	cr_assert_eq(S.got, 1, "the reader got its byte");
	cr_assert_eq(tu_fold_violations(&EV), 0);
	uint64_t rgoid = S.reader->goid;
	int polls = 0, capped = 0;
	long ready = -1, lastpoll_ev = -1;
	for (size_t i = 0; i < EV.n && ready < 0; i++) {
		const struct nps_event *e = &EV.v[i];
		/* Nobody blocked in netpoll: the reader's wake-up is sysmon's alone. */
		cr_assert(!(e->kind == NPS_EV_NETPOLL_BEGIN && e->u.netpoll.waitms != 0),
			  "event %zu: a blocking netpoll", i);
		if (e->kind == NPS_EV_SYSMON && e->u.sysmon.op == NPS_SYSMON_POLL) {
			const struct nps_ev_sysmon *s = &e->u.sysmon;
			/* Go: lastpoll != 0 && lastpoll+10*1000*1000 < now */
			cr_assert_gt((int64_t)e->ts, s->lastpoll + 10 * 1000 * 1000,
				     "poll %d: lastpoll only %lld ns old", polls,
				     (long long)((int64_t)e->ts - s->lastpoll));
			cr_assert_eq(s->sleep, sysmon_delay(s->idle), "round %u slept %lld us",
				     s->idle, (long long)s->sleep);
			capped += s->sleep == 10000;
			polls++;
			lastpoll_ev = (long)i;
		}
		if (e->kind == NPS_EV_GSTATUS && e->u.gstatus.goid == rgoid &&
		    e->u.gstatus.from == _Gwaiting && e->u.gstatus.to == _Grunnable)
			ready = (long)i;
	}
	cr_assert_geq(ready, 0, "the reader was readied");
	const struct nps_ev_gstatus *g = &EV.v[ready].u.gstatus;
	cr_assert_eq(g->fn, NPS_FN_SYSMON, "readied by sysmon's netpoll, not %u", g->fn);
	/* injectglist without a P: everything to the global queue */
	cr_assert_eq(g->where, NPS_RQ_GLOBAL);
	cr_assert_geq(lastpoll_ev, 0);
	cr_assert_eq(EV.v[ready].m, EV.v[lastpoll_ev].m, "sysmon's M readied it");
	/* The rest of the run: sysmon went on to its 10 ms sleep. */
	for (size_t i = (size_t)ready; i < EV.n; i++)
		if (EV.v[i].kind == NPS_EV_SYSMON && EV.v[i].u.sysmon.op == NPS_SYSMON_POLL) {
			cr_assert_eq(EV.v[i].u.sysmon.sleep, sysmon_delay(EV.v[i].u.sysmon.idle));
			capped += EV.v[i].u.sysmon.sleep == 10000;
		}
	cr_assert_gt(capped, 0, "sysmon's sleep reached 10 ms");
}

/*
 * ---- sysmon's deep sleep ends at a system call (entersyscall) ----
 * GOMAXPROCS 1. Everything parks: the one M blocks in netpoll(-1) and sysmon, every P idle and
 * no timer, sleeps on sysmonnote for up to 60 s. The client writes B: main runs and reads it
 * (a system call: Go's entersyscall wakes sysmon), then holds the P without polling. The
 * client writes A, whose reader is parked: only sysmon's 10 ms rule can find it, which it does
 * only if main's read woke it (else the test runs into its timeout).
 */
static struct {
	int port;
	_Atomic int connected, write_a, stop;
	struct netconn *a, *b;
	struct g *reader;
	ssize_t got_a;
} W;

static void *two_conn_client(void *arg)
{
	(void)arg;
	int fd[2];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)W.port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 2; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fd[i] < 0 || connect(fd[i], (struct sockaddr *)&a, sizeof(a)) != 0)
			abort();
	}
	atomic_store(&W.connected, 1);
	while (!atomic_load(&sched.sysmonwait)) /* sysmon in its deep sleep */
		usleep(200);
	if (write(fd[1], "b", 1) != 1)
		abort();
	while (!atomic_load(&W.write_a))
		usleep(200);
	if (write(fd[0], "a", 1) != 1)
		abort();
	while (!atomic_load(&W.stop))
		usleep(200);
	close(fd[0]);
	close(fd[1]);
	return NULL;
}

static void reader_a(void *arg)
{
	(void)arg;
	char c;
	W.got_a = conn_read(W.a, &c, 1);
	wg_done(&wg);
}

static void deep_sleep_main(void *arg)
{
	(void)arg;
	struct netlistener *l;
	char c;
	if (net_listen("127.0.0.1:0", &l, NULL, 0) != 0)
		abort();
	W.port = listener_port(l);
	pthread_t t;
	pthread_create(&t, NULL, two_conn_client, NULL);
	while (!atomic_load(&W.connected))
		usleep(100);
	if (net_accept(l, &W.a) != 0 || net_accept(l, &W.b) != 0)
		abort();
	wg_add(&wg, 1);
	W.reader = newproc(reader_a, NULL);
	if (conn_read(W.b, &c, 1) != 1) /* parks: every P idles; then its data comes */
		abort();
	atomic_store(&W.write_a, 1);
	while (atomic_load(&W.reader->atomicstatus) == _Gwaiting)
		usleep(500); /* holds the P: nobody but sysmon polls */
	atomic_store(&W.stop, 1);
	wg_wait(&wg);
	pthread_join(t, NULL);
	conn_close(W.a);
	conn_close(W.b);
	listener_close(l);
}

Test(sim_sched, a_system_call_wakes_sysmon_from_its_deep_sleep)
{
	cr_assert_eq(tu_sim_run(1, deep_sleep_main, NULL, &EV), 0);
	cr_assert_eq(W.got_a, 1, "the reader got its byte");
	cr_assert_eq(tu_fold_violations(&EV), 0);
	bool slept = false;
	long ready = -1;
	for (size_t i = 0; i < EV.n && ready < 0; i++) {
		const struct nps_event *e = &EV.v[i];
		slept |= e->kind == NPS_EV_SYSMON && e->u.sysmon.op == NPS_SYSMON_SLEEP &&
			 e->u.sysmon.sleep > 1000000000;
		if (e->kind == NPS_EV_GSTATUS && e->u.gstatus.goid == W.reader->goid &&
		    e->u.gstatus.from == _Gwaiting && e->u.gstatus.to == _Grunnable)
			ready = (long)i;
	}
	cr_assert(slept, "sysmon went into its deep sleep (all Ps idle, no timer)");
	cr_assert_geq(ready, 0, "the reader was readied");
	cr_assert_eq(EV.v[ready].u.gstatus.fn, NPS_FN_SYSMON, "readied by sysmon's netpoll, not %u",
		     EV.v[ready].u.gstatus.fn);
}

/* ---- injectglist after the blocking poll: work for the idle Ps ---- */

#define NWAIT 4
static struct {
	int port;
	struct pollDesc *pd[NWAIT];
	struct g *w[NWAIT];
	_Atomic int rc[NWAIT];
} I;

static void pd_waiter(void *arg)
{
	int i = (int)(intptr_t)arg;
	atomic_store(&I.rc[i], poll_runtime_pollWait(I.pd[i], 'r'));
	wg_done(&wg);
}

/*
 * A thread, not a goroutine: once every waiter is parked, every P idle and one M blocked in
 * netpoll, one connection readies all NWAIT descriptors of the listener at once.
 */
static void *connect_when_all_idle(void *arg)
{
	(void)arg;
	for (int tries = 0; tries < 20000; tries++) {
		int parked = 0;
		for (int i = 0; i < NWAIT; i++)
			parked += atomic_load(&I.w[i]->atomicstatus) == _Gwaiting;
		if (parked == NWAIT && atomic_load(&sched.lastpoll) == 0 &&
		    atomic_load(&sched.npidle) == gomaxprocs)
			break;
		usleep(200);
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)I.port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	return (void *)(intptr_t)fd;
}

static void inject_main(void *arg)
{
	(void)arg;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 8) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		abort();
	I.port = ntohs(a.sin_port);
	/* NWAIT descriptors of one listening socket, each with its pollDesc and a waiter */
	poll_runtime_pollServerInit();
	int err;
	for (int i = 0; i < NWAIT; i++)
		if (!(I.pd[i] = poll_runtime_pollOpen((uintptr_t)(i ? dup(l) : l), &err)))
			abort();
	wg_add(&wg, NWAIT);
	for (int i = 0; i < NWAIT; i++)
		I.w[i] = newproc(pd_waiter, (void *)(intptr_t)i);
	pthread_t t;
	pthread_create(&t, NULL, connect_when_all_idle, NULL);
	wg_wait(&wg); /* main parks too: every P goes idle */
	void *c;
	pthread_join(t, &c);
	close((int)(intptr_t)c);
	for (int i = 0; i < NWAIT; i++) {
		int fd = (int)I.pd[i]->fd;
		poll_runtime_pollUnblock(I.pd[i]); /* (*FD).Close's evict, before pollClose */
		poll_runtime_pollClose(I.pd[i]);
		close(fd);
	}
}

/* Index of i's goroutine among the waiters, -1 if another. */
static int waiter_of(uint64_t goid)
{
	for (int i = 0; i < NWAIT; i++)
		if (I.w[i]->goid == goid)
			return i;
	return -1;
}

/*
 * GOMAXPROCS 4, all idle, one M in findRunnable's blocking netpoll when four goroutines become
 * ready at once. Go 1.22's findRunnable takes an idle P, keeps the first G for itself and calls
 * injectglist for the rest: one to the global queue per idle P, each started by startIdle
 * (startm), the rest to its local queue. The events show each step in that order.
 */
Test(sim_sched, a_blocking_poll_hands_its_goroutines_to_the_idle_ps)
{
	cr_assert_eq(tu_sim_run(NWAIT, inject_main, NULL, &EV), 0);
	for (int i = 0; i < NWAIT; i++)
		cr_assert_eq(atomic_load(&I.rc[i]), 0, "waiter %d: pollWait %d", i, I.rc[i]);
	cr_assert_eq(tu_fold_violations(&EV), 0);
	/* the blocking poll that returned the waiters' events */
	long end = -1;
	for (size_t i = 0; i < EV.n && end < 0; i++)
		if (EV.v[i].kind == NPS_EV_NETPOLL_END &&
		    EV.v[i].u.netpoll.caller == NPS_NPC_FINDRUNNABLE_BLOCK &&
		    EV.v[i].u.netpoll.n >= NWAIT)
			end = (long)i;
	cr_assert_geq(end, 0, "no blocking netpoll returned the %d events at once", NWAIT);
	int16_t pm = EV.v[end].m;
	int kept = 0, global = 0, local = 0, started = 0;
	for (size_t i = (size_t)end + 1; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_SCHED && e->m == pm && e->u.sched.op == NPS_SCHED_STARTM)
			started++;
		if (e->kind != NPS_EV_GSTATUS || waiter_of(e->u.gstatus.goid) < 0)
			continue;
		const struct nps_ev_gstatus *g = &e->u.gstatus;
		if (g->from == _Gwaiting && g->to == _Grunnable && e->m == pm) {
			kept += g->fn == NPS_FN_FINDRUNNABLE;
			global += g->fn == NPS_FN_INJECTGLIST && g->where == NPS_RQ_GLOBAL;
			local += g->fn == NPS_FN_INJECTGLIST && g->where == NPS_RQ_LOCAL;
		}
	}
	cr_assert_eq(kept, 1, "findRunnable keeps one G for itself");
	cr_assert_eq(kept + global + local, NWAIT, "kept %d, global %d, local %d", kept, global,
		     local);
	/* npidle was GOMAXPROCS - 1 once the poller took its P: the three others go global */
	cr_assert_eq(global, NWAIT - 1, "injectglist put %d on the global queue", global);
	/* (which P then runs them is a race: the poller's own P may take them from the queue) */
	cr_assert_geq(started, 1, "startIdle started no M for the idle Ps");
}

/* ---- an M that stops and is woken, as Go's stopm does it ---- */

static void nothing(void *arg)
{
	(void)arg;
}

/*
 * main, a few times: start a goroutine (wakep), then sleep 5 ms, while which every M but the
 * poller stops (stopm); the next wakep, or main's own ready, hands an idle P to a stopped M
 * (startm), which wakes with it. (5 ms, not 1: on a loaded machine a spinning M may not have
 * stopped within 1 ms, and then no M is woken from stopm.)
 */
static void stop_and_wake(void *arg)
{
	(void)arg;
	for (int i = 0; i < 8; i++) {
		go(nothing, NULL);
		time_sleep(5000000);
	}
}

/*
 * Run stop_and_wake at GOMAXPROCS 2 into EV, which the fold finds legal, and return the
 * narration of each of its events (full layout; "" for one not narrated): free_lines it.
 */
static char **stop_and_wake_narrated(void)
{
	struct nps_fold f;
	struct fold_verdict v[8];
	cr_assert_eq(tu_sim_run(2, stop_and_wake, NULL, &EV), 0);
	cr_assert_eq(tu_fold_violations(&EV), 0);
	char **lines = calloc(EV.n ? EV.n : 1, sizeof(*lines));
	cr_assert(lines);
	cr_assert_eq(fold_init(&f), 0);
	for (size_t i = 0; i < EV.n; i++) {
		char buf[NARRATE_LINE_MAX];
		cr_assert_geq(fold_apply(&f, &EV.v[i], i, v, 8), 0);
		narrate_event(&EV.v[i], &f, EV.v[0].ts, 0, buf, sizeof(buf));
		lines[i] = strdup(buf);
		cr_assert(lines[i]);
	}
	fold_fini(&f);
	return lines;
}

static void free_lines(char **lines)
{
	for (size_t i = 0; i < EV.n; i++)
		free(lines[i]);
	free(lines);
}

static bool sched_op(const struct nps_event *e, uint8_t op)
{
	return e->kind == NPS_EV_SCHED && e->u.sched.op == op;
}

/*
 * Go's stopm: lock, mput (sched.nmidle++), unlock, mPark. The M that goes to sleep is one of
 * the idle Ms its line counts ("M2 sleeps (idle Ms 1)", not 0), as the event's nmidle ("after")
 * says.
 */
Test(sim_sched, stopm_counts_the_m_that_goes_to_sleep)
{
	char **lines = stop_and_wake_narrated();
	int stops = 0;
	for (size_t i = 0; i < EV.n; i++) {
		if (!sched_op(&EV.v[i], NPS_SCHED_STOPM))
			continue;
		stops++;
		char want[64];
		snprintf(want, sizeof(want), "stopm                        M%d sleeps (idle Ms ",
			 EV.v[i].m);
		const char *at = strstr(lines[i], want);
		cr_assert(at, "%s", lines[i]);
		cr_assert_geq(atoi(at + strlen(want)), 1, "the sleeping M is idle too: %s",
			      lines[i]);
	}
	cr_assert_gt(stops, 0, "no M stopped");
	free_lines(lines);
}

/*
 * Go's stopm after mPark returns: acquirep(gp.m.nextp.ptr()). The M wakes first, without a P
 * ("M2 wakes with P1"), then takes the P startm handed it ("M2 P1 ... M2 takes P1"): its next
 * line, in that order.
 */
Test(sim_sched, a_woken_m_wakes_before_it_takes_its_p)
{
	char **lines = stop_and_wake_narrated();
	int wakes = 0;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (!sched_op(e, NPS_SCHED_MWAKE))
			continue;
		wakes++;
		char want[96];
		snprintf(want, sizeof(want),
			 "M%d                    mwake                        M%d "
			 "wakes with P%d",
			 e->m, e->m, e->u.sched.p2);
		cr_assert(strstr(lines[i], want), "woken without a P yet: %s", lines[i]);
		size_t j = i + 1;
		while (j < EV.n && EV.v[j].m != e->m)
			j++;
		cr_assert_lt(j, EV.n, "M%d does nothing after it wakes: %s", e->m, lines[i]);
		snprintf(want, sizeof(want),
			 "M%d P%d                 acquirep                     M%d "
			 "takes P%d",
			 e->m, e->u.sched.p2, e->m, e->u.sched.p2);
		cr_assert(strstr(lines[j], want), "after\n%s\nM%d's next line is\n%s", lines[i],
			  e->m, lines[j]);
	}
	cr_assert_gt(wakes, 0, "no M was woken from stopm");
	free_lines(lines);
}

/* ---- a stack overflow hits the guard page ---- */

static volatile uintptr_t guard_lo, guard_hi;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	uintptr_t a = (uintptr_t)si->si_addr;
	if (a < guard_lo || a >= guard_hi) {
		static const char msg[] = "SIGSEGV outside the guard page\n";
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(2);
		_exit(1);
	}
	/* Die of it: on return the faulting access runs again, now with the default action. */
	signal(sig, SIG_DFL);
}

static volatile int never = -1; /* a bound the compiler cannot see through */

static __attribute__((noinline)) int deep(int n)
{
	volatile char frame[256];
	frame[0] = (char)n;
	if (n == never)
		return 0;
	return deep(n + 1) + frame[0];
}

static void overflow(void *arg)
{
	(void)arg;
	struct g *gp = getm()->curg;
	guard_lo = (uintptr_t)gp->stack_map;
	guard_hi = (uintptr_t)gp->stack_lo;
	deep(0);
}

/*
 * The process dies of the SIGSEGV (Criterion's .signal); a fault anywhere but the guard page
 * exits 1 instead and fails the test.
 */
Test(sim_sched, stack_overflow_dies_on_the_guard_page, .signal = SIGSEGV)
{
	/* The handler needs a stack of its own: the goroutine's is used up. */
	static char alt[64 * 1024];
	stack_t ss = {.ss_sp = alt, .ss_size = sizeof(alt)};
	struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK};
	cr_assert_eq(sigaltstack(&ss, NULL), 0);
	cr_assert_eq(sigaction(SIGSEGV, &sa, NULL), 0);
	tu_sim_run(1, overflow, NULL, NULL);
	cr_assert_fail("the recursion returned");
}

/*
 * sim_stats from a thread that is not the runtime's, while the runtime ends: what `run`'s
 * summary does when a second signal ends it without waiting for the runtime (cmd_run's forced
 * end). netpoll_shutdown closes the epoll fd and sets epfd to -1 meanwhile; under TSan (make
 * test's tsan pass) a plain read of it there was a data race.
 */
static struct {
	_Atomic int stop, seen_open;
	struct sim_stats last;
} watch;

static void *watch_stats(void *arg)
{
	(void)arg;
	for (;;) {
		bool last =
		    atomic_load(&watch.stop); /* then one more read, after the runtime ended */
		sim_stats(&watch.last);
		if (watch.last.epfd >= 0)
			atomic_store(&watch.seen_open, 1);
		if (last)
			return NULL;
	}
}

static pthread_t watcher;

static void main_watched(void *arg)
{
	(void)arg;
	/* started from the runtime, after netpollinit: the race is with the end, not the start */
	cr_assert_eq(pthread_create(&watcher, NULL, watch_stats, NULL), 0);
	while (!atomic_load(&watch.seen_open))
		time_sleep(100 * 1000);
}

Test(sched, the_runtime_counters_can_be_read_while_the_runtime_ends, .timeout = 30)
{
	cr_assert_eq(tu_sim_run(2, main_watched, NULL, NULL), 0);
	atomic_store(&watch.stop, 1);
	pthread_join(watcher, NULL);
	cr_assert_eq(watch.last.epfd, -1, "the last read saw the epoll fd closed");
	cr_assert_eq(watch.last.break_rd, -1);
	cr_assert(watch.last.goroutines >= 1);
}

/* ---- fatal errors in Go's words: exit status 2 and Go's message on stderr ---- */

/* Run main_fn as the main goroutine of a runtime (GOMAXPROCS 1) in a child process. */
static void run_main(void *main_fn)
{
	alarm(20); /* a child that does not die must not outlive the test */
	tu_sim_run(1, (void (*)(void *))main_fn, NULL, NULL);
}

/* The child's stderr, which must end its run with exit status 2 (free it). */
static char *dies_with_status_2(void (*main_fn)(void *))
{
	char *err = NULL;
	int st = tu_fork_capture(run_main, (void *)main_fn, &err);
	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	return err;
}

static void nop(void *arg)
{
	(void)arg;
}

/*
 * A goroutine readied while it is already runnable (netpoll handing back a G someone else
 * readied): casgstatus from _Gwaiting finds _Grunnable, Go's one check in its CAS loop.
 */
static void main_ready_a_runnable_g(void *arg)
{
	(void)arg;
	struct g *gp = newproc(nop, NULL); /* runnable in runnext: GOMAXPROCS 1, main runs */
	casgstatus(gp, _Gwaiting, _Grunnable, NPS_FN_NONE);
}

Test(sim_sched, a_runnable_g_made_runnable_again_throws_gos_message, .timeout = 30)
{
	char *err = dies_with_status_2(main_ready_a_runnable_g);
	cr_assert(strstr(err, "fatal error: casgstatus: waiting for Gwaiting but is Grunnable\n"),
		  "stderr: %s", err);
	free(err);
}

/* A note woken twice: Go prints the key it found, then throws. */
static void main_wake_a_note_twice(void *arg)
{
	(void)arg;
	struct note n = {0};
	notewakeup(&n);
	notewakeup(&n);
}

Test(sim_sched, a_note_woken_twice_throws_after_gos_print, .timeout = 30)
{
	char *err = dies_with_status_2(main_wake_a_note_twice);
	cr_assert(strstr(err, "notewakeup - double wakeup (1)\nfatal error: notewakeup - double "
			      "wakeup\n"),
		  "stderr: %s", err);
	free(err);
}

/* WaitGroup.Add taking the counter below zero is a panic in Go (sync/waitgroup.go), no throw. */
static void main_negative_waitgroup(void *arg)
{
	(void)arg;
	struct waitgroup wg = {0};
	wg_add(&wg, -1);
}

Test(sim_sched, a_negative_waitgroup_counter_panics_as_go, .timeout = 30)
{
	char *err = dies_with_status_2(main_negative_waitgroup);
	cr_assert_str_eq(err, "panic: sync: negative WaitGroup counter\n\ngoroutine 1 [running]:\n",
			 "stderr: %s", err);
	free(err);
}
