// SPDX-License-Identifier: MIT
/*
 * traces/join.c on hand-built event sequences: kernel epoll_wait returns are linked to the
 * netpoll() call that made them, ready entries get their fd from the interest set rebuilt from
 * epoll_ctl, kernel events get the M of their thread, and nothing is joined that should not be.
 */
#include "traces/join.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#define K(n) (NPS_KERNEL_ID_BIT | (n))

static struct nps_event ev(uint8_t src, uint16_t kind, uint64_t ts, uint32_t tid, int16_t m)
{
	struct nps_event e;

	memset(&e, 0, sizeof(e));
	e.src = src;
	e.kind = kind;
	e.ts = ts;
	e.tid = tid;
	e.m = m;
	e.p = -1;
	e.fd = -1;
	return e;
}

static struct nps_event init(int32_t epfd)
{
	struct nps_event e = ev(NPS_SRC_SIM, NPS_EV_NETPOLLINIT, 1, 100, 0);

	e.u.init.epfd = epfd;
	return e;
}

static struct nps_event np(uint16_t kind, uint32_t tid, int16_t m, uint64_t id)
{
	struct nps_event e = ev(NPS_SRC_SIM, kind, 10, tid, m);

	e.u.netpoll.id = id;
	return e;
}

static struct nps_event ctl(uint32_t tid, int32_t epfd, int op, int32_t fd, uint32_t events,
			    uint64_t data, int32_t ret)
{
	struct nps_event e = ev(NPS_SRC_KERNEL, NPS_EV_EPOLL_CTL, 20, tid, -1);

	e.fd = fd;
	e.u.ctl.epfd = epfd;
	e.u.ctl.op = op;
	e.u.ctl.events = events;
	e.u.ctl.data = data;
	e.u.ctl.ret = ret;
	return e;
}

static struct nps_event wait_(uint32_t tid, uint64_t id, int32_t epfd, int32_t ret)
{
	struct nps_event e = ev(NPS_SRC_KERNEL, NPS_EV_EPOLL_WAIT, 30, tid, -1);

	e.u.wait.id = id;
	e.u.wait.epfd = epfd;
	e.u.wait.maxevents = 128;
	e.u.wait.timeout_ms = -1;
	e.u.wait.ret = ret;
	return e;
}

static struct nps_event ready(uint32_t tid, uint64_t id, int32_t epfd, uint32_t index,
			      uint64_t data)
{
	struct nps_event e = ev(NPS_SRC_KERNEL, NPS_EV_EPOLL_READY, 30, tid, -1);

	e.u.ready.id = id;
	e.u.ready.epfd = epfd;
	e.u.ready.index = index;
	e.u.ready.events = 1;
	e.u.ready.data = data;
	return e;
}

static struct nps_join *j;

static void setup(void)
{
	j = join_new();
	cr_assert_not_null(j);
}

static void teardown(void)
{
	join_free(j);
}

static void apply(struct nps_event *e)
{
	cr_assert_eq(join_apply(j, e), 0);
}

TestSuite(join, .init = setup, .fini = teardown, .timeout = 10);

Test(join, wait_inside_netpoll_takes_its_id)
{
	struct nps_event e[8] = {
	    init(5),
	    np(NPS_EV_NETPOLL_BEGIN, 100, 2, 7),
	    ctl(100, 5, NPS_EPOLL_CTL_ADD, 9, NPS_NETPOLL_EVENTS, 0x7ffaf8624e400002ULL, 0),
	    wait_(100, K(1), 5, 2),
	    ready(100, K(1), 5, 0, 0x7ffaf8624e400002ULL),
	    ready(100, K(1), 5, 1, 0xdead),
	    np(NPS_EV_NETPOLL_END, 100, 2, 7),
	};

	for (int i = 0; i < 7; i++)
		apply(&e[i]);
	cr_assert_eq(e[3].u.wait.id, 7, "wait id 0x%llx", (unsigned long long)e[3].u.wait.id);
	cr_assert_eq(e[4].u.ready.id, 7);
	cr_assert_eq(e[5].u.ready.id, 7);
	cr_assert_eq(e[4].fd, 9, "ready fd from the interest set");
	cr_assert_eq(e[5].fd, -1, "unknown data: no fd");
	for (int i = 2; i <= 5; i++)
		cr_assert_eq(e[i].m, 2, "kernel event %d: m %d", i, e[i].m);
	/* Nothing else changed. */
	cr_assert_eq(e[3].u.wait.ret, 2);
	cr_assert_eq(e[4].u.ready.data, 0x7ffaf8624e400002ULL);
	cr_assert_eq(e[4].u.ready.index, 0);
	cr_assert_eq(e[5].u.ready.index, 1);

	struct join_stats st;
	join_stats(j, &st);
	cr_assert_eq(st.waits, 1);
	cr_assert_eq(st.waits_joined, 1);
	cr_assert_eq(st.readies, 2);
	cr_assert_eq(st.readies_joined, 2);
	cr_assert_eq(st.readies_fd, 1);
	cr_assert_eq(st.ctl_applied, 1);
	cr_assert_eq(st.interest, 1);
}

Test(join, wait_outside_netpoll_keeps_kernel_id)
{
	struct nps_event e[6] = {
	    ctl(300, 5, NPS_EPOLL_CTL_ADD, 4, 1, 0x44, 0),
	    wait_(300, K(5), 5, 1),
	    ready(300, K(5), 5, 0, 0x44),
	    np(NPS_EV_NETPOLL_BEGIN, 100, 0, 3),
	    np(NPS_EV_NETPOLL_END, 100, 0, 3),
	    wait_(100, K(6), 5, 0),
	};

	for (int i = 0; i < 6; i++)
		apply(&e[i]);
	cr_assert_eq(e[1].u.wait.id, K(5));
	cr_assert_eq(e[2].u.ready.id, K(5));
	cr_assert_eq(e[2].fd, 4, "the fd is filled even when not joined");
	cr_assert_eq(e[1].m, -1, "no M known for a thread the runtime never named");
	cr_assert_eq(e[5].u.wait.id, K(6), "after netpoll_end the thread is no longer polling");
	cr_assert_eq(e[5].m, 0);
}

Test(join, other_epoll_fd_is_not_joined)
{
	/* A thread inside netpoll that waits on another epoll (a consumer's): not netpoll's. */
	struct nps_event e[4] = {
	    init(5),
	    np(NPS_EV_NETPOLL_BEGIN, 100, 1, 9),
	    wait_(100, K(1), 77, 0),
	    wait_(100, K(2), 5, 0),
	};

	for (int i = 0; i < 4; i++)
		apply(&e[i]);
	cr_assert_eq(e[2].u.wait.id, K(1));
	cr_assert_eq(e[3].u.wait.id, 9);
}

Test(join, two_pollers_each_get_their_own)
{
	struct nps_event e[8] = {
	    np(NPS_EV_NETPOLL_BEGIN, 100, 0, 1),
	    np(NPS_EV_NETPOLL_BEGIN, 200, 1, 2),
	    wait_(200, K(1), 5, 1),
	    ready(200, K(1), 5, 0, 1),
	    wait_(100, K(2), 5, 1),
	    ready(100, K(2), 5, 0, 2),
	    np(NPS_EV_NETPOLL_END, 100, 0, 1),
	    np(NPS_EV_NETPOLL_END, 200, 1, 2),
	};

	for (int i = 0; i < 8; i++)
		apply(&e[i]);
	cr_assert_eq(e[2].u.wait.id, 2);
	cr_assert_eq(e[3].u.ready.id, 2);
	cr_assert_eq(e[3].m, 1);
	cr_assert_eq(e[4].u.wait.id, 1);
	cr_assert_eq(e[5].u.ready.id, 1);
	cr_assert_eq(e[5].m, 0);
}

Test(join, eintr_retry_joins_both_waits)
{
	/* netpoll retries epoll_pwait after EINTR when waitms <= 0: one id, two syscalls. */
	struct nps_event e[4] = {
	    np(NPS_EV_NETPOLL_BEGIN, 100, 0, 4),
	    wait_(100, K(1), 5, -EINTR),
	    wait_(100, K(2), 5, 0),
	    np(NPS_EV_NETPOLL_END, 100, 0, 4),
	};

	for (int i = 0; i < 4; i++)
		apply(&e[i]);
	cr_assert_eq(e[1].u.wait.id, 4);
	cr_assert_eq(e[2].u.wait.id, 4);
}

Test(join, interest_set_follows_ctl)
{
	struct nps_event e[] = {
	    ctl(1, 5, NPS_EPOLL_CTL_ADD, 6, 1, 0xaaaa, 0),
	    ctl(1, 5, NPS_EPOLL_CTL_ADD, 7, 5, 0xbbbb, 0),
	    ctl(1, 5, NPS_EPOLL_CTL_ADD, 7, 5, 0xcccc, -EEXIST), /* failed: ignored */
	    ctl(1, 5, NPS_EPOLL_CTL_MOD, 6, 4, 0xdddd, 0),
	    ctl(1, 5, NPS_EPOLL_CTL_ADD, 6, 1, 0xeeee, -EEXIST), /* failed: 6 keeps its MOD */
	    ctl(1, 8, NPS_EPOLL_CTL_ADD, 6, 1, 0xaaaa, 0),	 /* same fd, other epoll */
	    ctl(1, 5, NPS_EPOLL_CTL_DEL, 7, 0, 0, 0),
	    ctl(1, 5, NPS_EPOLL_CTL_DEL, 99, 0, 0, -ENOENT),
	};

	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++)
		apply(&e[i]);
	cr_assert_eq(join_interest_fd(j, 5, 0xaaaa), -1, "MOD replaced the data");
	cr_assert_eq(join_interest_fd(j, 5, 0xdddd), 6);
	cr_assert_eq(join_interest_fd(j, 5, 0xbbbb), -1, "DEL removed it");
	cr_assert_eq(join_interest_fd(j, 5, 0xcccc), -1, "a failed ADD registers nothing");
	cr_assert_eq(join_interest_fd(j, 5, 0xeeee), -1, "a failed ADD changes nothing");
	cr_assert_eq(join_interest_fd(j, 8, 0xaaaa), 6);

	struct join_interest l[4];
	cr_assert_eq(join_interest_list(j, l, 4), 2);
	cr_assert_eq(l[0].epfd, 5);
	cr_assert_eq(l[0].fd, 6);
	cr_assert_eq(l[0].events, 4);
	cr_assert_eq(l[0].data, 0xdddd);
	cr_assert_eq(l[0].since, 20);
	cr_assert_eq(l[1].epfd, 8);
	cr_assert_eq(l[1].fd, 6);
	cr_assert_eq(join_interest_list(j, l, 1), 2, "the total, even when out is short");
}

/*
 * An epoll fd closed and its number given to a new epoll instance: the old instance's
 * registrations are gone with it (they used to stay, and name fds for the new one's data).
 */
Test(join, a_new_epoll_instance_on_an_old_number_starts_empty)
{
	struct nps_event create = ev(NPS_SRC_KERNEL, NPS_EV_EPOLL_CREATE, 30, 1, -1);
	struct nps_event failed = create;
	create.u.create.ret = 12;
	failed.u.create.ret = -EINVAL;
	struct nps_event e[] = {
	    ctl(1, 12, NPS_EPOLL_CTL_ADD, 3, 1, 0xa, 0),
	    ctl(1, 13, NPS_EPOLL_CTL_ADD, 3, 1, 0xa, 0),
	    failed, /* nothing was created: the set stays */
	};
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++)
		apply(&e[i]);
	cr_assert_eq(join_interest_fd(j, 12, 0xa), 3);
	apply(&create);
	cr_assert_eq(join_interest_fd(j, 12, 0xa), -1, "the old instance's fd 3 is still listed");
	cr_assert_eq(join_interest_fd(j, 13, 0xa), 3, "another instance's set is untouched");
	struct join_interest l[4];
	cr_assert_eq(join_interest_list(j, l, 4), 1);
}

/* Two fds registered with the same data: a ready entry with that data names neither. */
Test(join, shared_data_names_no_fd)
{
	struct nps_event e[] = {
	    ctl(1, 5, NPS_EPOLL_CTL_ADD, 4, 1, 7, 0),
	    ctl(1, 5, NPS_EPOLL_CTL_ADD, 6, 1, 7, 0),
	};
	struct nps_event w = wait_(1, K(1), 5, 1), r = ready(1, K(1), 5, 0, 7);

	for (size_t i = 0; i < 2; i++)
		apply(&e[i]);
	cr_assert_eq(join_interest_fd(j, 5, 7), JOIN_FD_AMBIGUOUS);
	apply(&w);
	apply(&r);
	cr_assert_eq(r.fd, -1, "fd %d: a confident wrong fd", r.fd);
	struct join_stats st;
	join_stats(j, &st);
	cr_assert_eq(st.readies_ambiguous, 1);
	cr_assert_eq(st.readies_fd, 0);

	/* MOD of one to other data: the data names the other again; DEL likewise. */
	struct nps_event mod = ctl(1, 5, NPS_EPOLL_CTL_MOD, 4, 1, 8, 0);
	apply(&mod);
	cr_assert_eq(join_interest_fd(j, 5, 7), 6);
	cr_assert_eq(join_interest_fd(j, 5, 8), 4);
	struct nps_event add = ctl(1, 5, NPS_EPOLL_CTL_ADD, 9, 1, 7, 0);
	struct nps_event del = ctl(1, 5, NPS_EPOLL_CTL_DEL, 6, 0, 0, 0);
	apply(&add);
	cr_assert_eq(join_interest_fd(j, 5, 7), JOIN_FD_AMBIGUOUS);
	apply(&del);
	cr_assert_eq(join_interest_fd(j, 5, 7), 9);
	struct nps_event del9 = ctl(1, 5, NPS_EPOLL_CTL_DEL, 9, 0, 0, 0);
	apply(&del9);
	cr_assert_eq(join_interest_fd(j, 5, 7), -1);
}

Test(join, seeded_interest_fills_ready_fd)
{
	struct nps_event w = wait_(1, K(1), 3, 1), r = ready(1, K(1), 3, 0, 0x1234);

	cr_assert_eq(join_interest_add(j, 3, 11, 0x19, 0x1234), 0);
	apply(&w);
	apply(&r);
	cr_assert_eq(r.fd, 11);
	struct join_interest l[1];
	cr_assert_eq(join_interest_list(j, l, 1), 1);
	cr_assert_eq(l[0].since, 0, "seeded entries have no ADD time");
}

Test(join, sim_events_are_untouched_and_m_is_learned_from_them)
{
	struct nps_event g = ev(NPS_SRC_SIM, NPS_EV_GSTATUS, 5, 42, 3);
	struct nps_event before = g;
	struct nps_event c = ev(NPS_SRC_KERNEL, NPS_EV_SYSCALL, 6, 42, -1);

	apply(&g);
	cr_assert_eq(memcmp(&g, &before, sizeof(g)), 0);
	apply(&c);
	cr_assert_eq(c.m, 3);
}

Test(join, thousands_of_fds)
{
	struct nps_event e;

	for (int fd = 0; fd < 20000; fd++) {
		e = ctl(1, 5, NPS_EPOLL_CTL_ADD, fd, 1, 0x100000ULL + (uint64_t)fd * 8, 0);
		apply(&e);
	}
	for (int fd = 0; fd < 20000; fd += 2) {
		e = ctl(1, 5, NPS_EPOLL_CTL_DEL, fd, 0, 0, 0);
		apply(&e);
	}
	for (int fd = 0; fd < 20000; fd++)
		cr_assert_eq(join_interest_fd(j, 5, 0x100000ULL + (uint64_t)fd * 8),
			     fd % 2 ? fd : -1, "fd %d", fd);
	/* Re-adding after deletes reuses the tombstones. */
	for (int fd = 0; fd < 20000; fd += 2) {
		e = ctl(1, 5, NPS_EPOLL_CTL_ADD, fd, 1, 0x900000ULL + (uint64_t)fd, 0);
		apply(&e);
	}
	struct join_stats st;
	join_stats(j, &st);
	cr_assert_eq(st.interest, 20000);
	cr_assert_eq(join_interest_fd(j, 5, 0x900000ULL + 10), 10);
}
