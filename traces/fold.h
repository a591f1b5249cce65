/* SPDX-License-Identifier: MIT */
/*
 * The fold: one function that turns a time-ordered stream of struct nps_event into the state
 * netpollsim shows: every pollDesc (rg/wg, deadlines, closing, registration), every goroutine
 * (status, why it waits, on which fd), every M and P, the kernel's epoll interest set, and the
 * counters of the summary. The dashboard, the checker, the narrator and the exporter all use it,
 * so that they can never disagree about what a trace means.
 *
 * Besides updating state, fold_apply judges each event against netpoll's rules (spec section
 * 4.4 and the rules listed in docs/trace-format.md) and reports what it sees as verdicts:
 * FOLD_NOTE for the races Go handles on purpose (readiness before park, readiness between the
 * pdWait announce and the commit, deadline or close while parked), FOLD_VIOLATION for anything
 * Go would never do. After a "lost" event the fold cannot trust what it knows, so it resyncs:
 * each entity's next event is taken as the truth and no violation is reported for it.
 *
 * When the stream holds the kernel's view (the BPF probes' events, joined to the netpoll calls
 * by traces/join.h), the fold also checks that the two views agree: every netpollopen and
 * netpollclose has its epoll_ctl in the kernel, every epoll_wait return joined to a netpoll call
 * lists what that call handled, and every ready entry made the pollDesc change netpollready
 * must make ("fidelity"). A stream without kernel events gets none of these verdicts.
 *
 * Pure C: no I/O, no allocation on the per-event path except when a table grows.
 */
#ifndef NPS_TRACES_FOLD_H
#define NPS_TRACES_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces/event.h"

enum fold_level {
	FOLD_OK = 0,
	FOLD_NOTE = 1,	    /* a race Go handles on purpose: worth showing, not an error */
	FOLD_VIOLATION = 2, /* a rule broken: the trace (or the engine) is wrong */
};

struct fold_verdict {
	int level;	   /* enum fold_level */
	const char *rule;  /* stable short id, e.g. "pd-transition", "double-add" */
	uint64_t prev_pos; /* the caller's position of the earlier event involved, 0 if none */
	char text[240];	   /* one sentence for a human: what happened and why it matters */
};

/* One pollDesc as last seen (keyed by its address; a new incarnation replaces the old). */
struct fold_pd {
	uint64_t pd;		 /* address */
	int32_t fd;		 /* current fd, -1 after free */
	uint32_t seq;		 /* fdseq */
	uint64_t rg, wg;	 /* NPS_PDV_* values */
	uint64_t rg_ts, wg_ts;	 /* ts of the last change of each */
	uint64_t rg_pos, wg_pos; /* caller's position of that change */
	int64_t rd, wd;		 /* deadlines as last published */
	uint16_t info;		 /* atomicInfo low bits */
	bool open;		 /* between pd_open and pd_free */
	bool registered;	 /* netpollopen succeeded and no netpollclose yet */
	bool closing;		 /* evicted */
	bool resync;		 /* state unknown after a loss: next event is taken as truth */
	uint64_t parks, readies, timeouts, closes; /* counters */
	uint64_t rg_ready_from; /* the value the last netpollready on rg replaced */
	uint64_t wg_ready_from; /* the same for wg */
};

/* One goroutine. */
struct fold_g {
	uint64_t goid;
	uint8_t status; /* enum nps_gstatus */
	uint8_t reason; /* enum nps_waitreason when waiting */
	char mode;	/* 'r'/'w' when waiting on a pollDesc */
	bool resync;
	uint64_t pd;	/* pollDesc waited on (IO wait) */
	int32_t fd;	/* its fd, -1 */
	int16_t m, p;	/* where it runs / last ran */
	uint64_t since; /* ts of the last status change */
	uint64_t wakes_io, wakes_timeout, wakes_close, wakes_other; /* why it was readied */
};

/* One M (OS thread). */
struct fold_m {
	int16_t id;
	uint32_t tid;
	int16_t p;     /* P held, -1 */
	uint64_t curg; /* goid running, 0 */
	bool spinning;
	bool parked;	      /* in stopm */
	bool polling;	      /* between netpoll_begin and netpoll_end */
	bool resync;	      /* after a loss, until its next netpoll_begin/end: polling unknown */
	int32_t waitms;	      /* of the current netpoll */
	uint64_t netpoll_id;  /* of the current/last netpoll */
	uint32_t klost;	      /* kernel losses the fold had seen at its netpoll_begin */
	uint32_t npevs, took; /* of the current netpoll: events handled, Gs netpollready took */
	uint64_t since;
};

/* One P. */
struct fold_p {
	int16_t id;
	int16_t m; /* M holding it, -1 */
	bool idle;
	uint64_t since;
};

/* One entry of the kernel's epoll interest set (from kernel epoll_ctl events). */
struct fold_interest {
	int32_t epfd, fd;
	uint32_t events;
	uint64_t data;
	uint64_t since;
	bool resync; /* a kernel loss may hide this entry's last epoll_ctl: no note for its next */
};

enum {
	FOLD_RULES_KEPT = 8
};

enum fold_wake_cause {
	FOLD_WAKE_IO = 0,      /* netpollready */
	FOLD_WAKE_TIMEOUT,     /* netpolldeadlineimpl */
	FOLD_WAKE_CLOSE,       /* poll_runtime_pollUnblock */
	FOLD_WAKE_SETDEADLINE, /* poll_runtime_pollSetDeadline with a past time */
	FOLD_WAKE_OTHER,       /* sleep, semaphores, ... */
	FOLD_WAKE__COUNT,
};

struct fold_stats {
	uint64_t events;		 /* events applied */
	uint64_t by_kind[NPS_EV__COUNT]; /* per enum nps_kind */
	uint64_t lost[3];		 /* per enum nps_src (index 1 sim, 2 kernel) */
	uint64_t late[3]; /* per enum nps_src: events stamped before the event they follow (a
			   * live merge delivered them late: traces/livemerge.h) */
	uint64_t wakes[FOLD_WAKE__COUNT]; /* goroutine wake-ups by cause */
	uint64_t netpolls, netpolls_blocking, netpoll_events;
	uint64_t epoll_waits;	     /* kernel epoll_wait returns */
	uint64_t kbreak_writes;	     /* kernel: writes to the break pipe (netpollBreak) */
	uint64_t kbreak_reads;	     /* kernel: reads of it (netpoll's drain) */
	uint64_t breaks;	     /* netpollBreak calls that wrote, Go's (the runtime's own) */
	uint64_t breaks_exit;	     /* those the model's exit made (sim/proc.c sim_exit) */
	uint64_t pds_open, pds_free; /* pollDescs in use / on pollCache's free list */
	uint64_t goroutines_live;    /* not dead */
	uint64_t goroutines_total;
	uint64_t notes, violations; /* verdicts given */
	/* the same by rule, for the first FOLD_RULES_KEPT rules met (rule: a static string) */
	struct fold_rule_count {
		const char *rule;
		int level; /* FOLD_NOTE or FOLD_VIOLATION */
		uint64_t n;
	} by_rule[FOLD_RULES_KEPT];
	uint64_t fidelity_checked; /* kernel ready entries matched to runtime changes */
	uint64_t fidelity_ok;
	uint64_t parked_io;	  /* goroutines waiting in IO wait now */
	uint64_t fds_registered;  /* pollDescs registered with epoll now (netpollopen) */
	uint64_t netpoll_waiters; /* netpollWaiters as last published (waiters events) */
	uint64_t interest;	  /* kernel interest-set entries now */
	/* kernel/runtime agreement (all 0 without kernel events) */
	uint64_t kernel_events;		  /* events from the probes (src kernel) */
	uint64_t fidelity_wakes_checked;  /* Gs netpollready took for a kernel entry, then judged */
	uint64_t fidelity_wakes_ok;	  /* of those, made runnable by their next status change */
	uint64_t ctl_checked, ctl_ok;	  /* netpollopen/netpollclose judged against the kernel */
	uint64_t lists_checked, lists_ok; /* joined epoll_wait ready lists judged against netpoll */
	uint64_t waits_unjoined; /* kernel epoll_wait returns not linked to a netpoll call */
};

struct nps_fold {
	struct fold_pd *pds;
	size_t npds, cap_pds;
	struct fold_g *gs;
	size_t ngs, cap_gs;
	struct fold_m *ms;
	size_t nms, cap_ms;
	struct fold_p *ps;
	size_t nps, cap_ps;
	struct fold_interest *interest;
	size_t ninterest, cap_interest;
	struct fold_stats st;
	uint64_t first_ts, last_ts;
	void *priv; /* implementation detail (indexes, pending kernel events) */
};

/* Initialise an empty fold; fold_fini frees it (NULL-safe). 0 or -ENOMEM. */
int fold_init(struct nps_fold *f);
void fold_fini(struct nps_fold *f);

/*
 * Apply one event. pos is the caller's position for the event (a trace line number, or an event
 * index) and is only echoed back in later verdicts. Writes at most max verdicts to out and
 * returns how many it wrote (0 when the event is unremarkable), or -ENOMEM.
 */
int fold_apply(struct nps_fold *f, const struct nps_event *e, uint64_t pos,
	       struct fold_verdict *out, int max);

/*
 * The stream comes from a run whose probes were attached (a trace header's "kernel_view"): the
 * kernel/runtime agreement rules apply from the first event. Without this call they apply from
 * the first kernel event, which in a live run precedes every netpollopen (netpollinit's own
 * epoll_create1 and epoll_ctl come first).
 */
void fold_set_kernel_view(struct nps_fold *f);
bool fold_kernel_view(const struct nps_fold *f); /* set, or a kernel event seen */
/*
 * Every event so far is the kernel's: `netpollsim trace`'s view of a process, with no runtime to
 * agree with (a run always has runtime events).
 */
bool fold_kernel_only(const struct nps_fold *f);

/* How many entries of the kernel's interest set are the runtime's break pipe (netpollinit's). */
size_t fold_interest_breaks(const struct nps_fold *f);

/*
 * The end of the stream: judge what was still owed (an epoll_ctl the kernel never showed, the
 * thread having made no epoll call since). Call it only for a complete stream (a trace with its
 * footer, a run that drained everything): a stream cut short may simply have lost the rest.
 * Returns the number of verdicts written to out (at most max); their prev_pos names the event
 * they are about. Call it again while it returns max: each call gives the next ones.
 */
int fold_end(struct nps_fold *f, struct fold_verdict *out, int max);

/*
 * How a kernel ready entry reached the runtime, for the narration of the causal chain
 * ("epoll_pwait returned fd 7 IN → pd fd 7 rg: G12 → ready → G12 runnable on P0").
 */
struct fold_chain {
	uint64_t netpoll_id; /* the netpoll call that handled the entry */
	uint64_t from;	     /* the rg/wg value netpollready replaced (NPS_PDV_*) */
	int32_t fd;	     /* the fd the kernel returned */
	uint32_t events;     /* the entry's epoll mask */
	uint32_t index;	     /* its position in the ready list */
	uint8_t sub;	     /* enum nps_wait_sub: the epoll call that returned it */
	uint8_t mode;	     /* 'r' (rg) or 'w' (wg): the side netpollready changed */
};

/*
 * The kernel ready entry netpoll is handling for pollDesc pd (between its netpoll_event and the
 * next one), if the last change of its mode side was made for it. False otherwise.
 */
bool fold_chain_pd(const struct nps_fold *f, uint64_t pd, uint8_t mode, struct fold_chain *out);

/*
 * The chain that ended with goroutine goid made runnable by its last status change: the kernel
 * entry whose netpollready took it from rg/wg. False when its last change was anything else.
 */
bool fold_chain_g(const struct nps_fold *f, uint64_t goid, struct fold_chain *out);

/*
 * The syscall (enum nps_wait_sub) of the epoll_wait return a kernel EPOLL_READY entry belongs
 * to: the probes stamp it on the wait only, and the entries follow their wait in the stream.
 */
unsigned fold_ready_sub(const struct nps_fold *f, const struct nps_event *ready);

/*
 * The whole text of note e, the last piece of a note the fold has just applied (NPS_NOTE_MORE:
 * the pieces before it were joined); its own text when it is not that. *len: its length.
 */
const char *fold_note_text(const struct nps_fold *f, const struct nps_event *e, size_t *len);

/* Lookups; NULL when unknown. */
const struct fold_pd *fold_find_pd(const struct nps_fold *f, uint64_t pd);
const struct fold_pd *fold_find_fd(const struct nps_fold *f, int32_t fd); /* open pd of fd */
const struct fold_g *fold_find_g(const struct nps_fold *f, uint64_t goid);
const struct fold_m *fold_find_m(const struct nps_fold *f, int16_t m);

#endif /* NPS_TRACES_FOLD_H */
