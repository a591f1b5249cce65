/* SPDX-License-Identifier: MIT */
/*
 * The join: a streaming stage that links the kernel's events to the runtime's, run on the
 * merged, time-ordered stream before the fold. It rewrites, in place:
 *
 *   - EPOLL_WAIT u.wait.id, and the u.ready.id of its EPOLL_READY entries: to the id of the
 *     netpoll() call that made the syscall, when the kernel event's thread was between that
 *     call's NETPOLL_BEGIN and NETPOLL_END (and on the runtime's epoll fd, once NETPOLLINIT
 *     named it). Unjoined waits keep their NPS_KERNEL_ID_BIT id.
 *   - EPOLL_READY's header fd: from the epoll interest set rebuilt from the kernel's successful
 *     EPOLL_CTL calls ((epfd, data) -> fd), since epoll returns data, never the fd; it stays -1
 *     when the data was registered for more than one fd.
 *   - the header m of kernel events: the M that the thread runs, learned from sim events.
 *
 * Go has no counterpart: this is the glue between runtime/netpoll_epoll.go's view and the
 * kernel's. It needs the kernel WAIT between BEGIN and END in the stream, which timestamps
 * guarantee (BEGIN is stamped before epoll_pwait is entered, END after it returned, the kernel
 * event at the syscall's exit). Pure C, no I/O; not thread-safe (one stream, one caller).
 */
#ifndef NPS_TRACES_JOIN_H
#define NPS_TRACES_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "traces/event.h"

struct nps_join;

/* One entry of the rebuilt interest set. */
struct join_interest {
	int32_t epfd;
	int32_t fd;
	uint32_t events; /* as registered (ADD/MOD) */
	uint64_t data;	 /* as registered */
	uint64_t since;	 /* ts of the ADD/MOD, 0 when seeded */
};

struct join_stats {
	uint64_t waits;		    /* kernel EPOLL_WAIT events seen */
	uint64_t waits_joined;	    /* of those, linked to a netpoll() call */
	uint64_t readies;	    /* kernel EPOLL_READY events seen */
	uint64_t readies_joined;    /* of those, given their netpoll() id */
	uint64_t readies_fd;	    /* of those, given an fd from the interest set */
	uint64_t readies_ambiguous; /* of those, whose data more than one fd was registered with */
	uint64_t ctl_applied;	    /* successful EPOLL_CTL calls applied to the interest set */
	uint64_t interest;	    /* entries in the interest set now */
};

/* A new, empty join, or NULL on ENOMEM. join_free(NULL) is a no-op. */
struct nps_join *join_new(void);
void join_free(struct nps_join *j);

/*
 * Learn from e and fill in what the join knows (see above). Events must come in stream order.
 * 0, or -ENOMEM (e is then unchanged and the state is as before).
 */
int join_apply(struct nps_join *j, struct nps_event *e);

/*
 * join_apply for an event the join only learns from and never changes (anything not from the
 * kernel), so the caller needs no copy of it. 0, or -ENOMEM.
 */
int join_learn(struct nps_join *j, const struct nps_event *e);

/*
 * Seed the interest set with a registration made before tracing began (for example read from
 * /proc/PID/fdinfo). 0 or -ENOMEM.
 */
int join_interest_add(struct nps_join *j, int32_t epfd, int32_t fd, uint32_t events, uint64_t data);

/*
 * The fd registered on epfd with this data, -1 when none is, or JOIN_FD_AMBIGUOUS when more than
 * one is (epoll accepts that, and returns only the data: the fd cannot be told).
 */
#define JOIN_FD_AMBIGUOUS (-2)
int32_t join_interest_fd(const struct nps_join *j, int32_t epfd, uint64_t data);

/*
 * The interest set sorted by (epfd, fd): fills up to max entries of out and returns the total
 * number of entries (which may be larger than max).
 */
size_t join_interest_list(const struct nps_join *j, struct join_interest *out, size_t max);

void join_stats(const struct nps_join *j, struct join_stats *st);

#endif /* NPS_TRACES_JOIN_H */
