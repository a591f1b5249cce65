/* SPDX-License-Identifier: MIT */
/*
 * Narration: one line of plain text per event that matters, the same for a live run
 * (run --narrate) and a replay (replay --no-ui --narrate), and the end-of-run summary. A line
 * reads left to right as time, who (M, P, G), the fd, the Go function, and what changed:
 *
 *     0.012345  M1 P0 G12  fd 7   netpollblockcommit          rg pdWait → G12 (G12 parks: IO wait)
 *
 * The narrator reads the fold (already updated with the event) for context, such as the fd of a
 * pollDesc or why a goroutine waits. Every string that comes from a trace is sanitised
 * (traces/json.h), so narrating a hostile file cannot change the terminal's state.
 */
#ifndef NPS_TRACES_NARRATE_H
#define NPS_TRACES_NARRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "traces/event.h"
#include "traces/fold.h"

/* A buffer that holds any narrated line, wrapped or not. */
#define NARRATE_LINE_MAX 2048

/*
 * The layout is chosen by width, the columns of the terminal the narration is read on:
 *  - 0 (a pipe, a file): the full layout above, one line per event whatever its length, the
 *    same byte for byte in every run (tests and recordings compare it);
 *  - N: lines of at most N columns (40 at least): milliseconds with 3 decimals, narrower
 *    columns, and the text wrapped onto continuation lines indented under it:
 *
 *          1.219 M0 P0 G1  fd 54 (*FD).Read           read(fd 54, 64) = -EAGAIN
 *        101.722 M0 P1     fd 55 netpolldeadlineimpl  rg G1 → pdNil (deadline: G1 woken,
 *                                                     gets i/o timeout)
 */

/*
 * The line(s) (no final newline) for e into buf, times relative to origin (CLOCK_MONOTONIC
 * ns), laid out for width. Returns the length, or 0 when the event is not narrated
 * (netpollWaiters bookkeeping, idle-list moves).
 */
size_t narrate_event(const struct nps_event *e, const struct nps_fold *f, uint64_t origin,
		     unsigned width, char *buf, size_t len);

/*
 * On a terminal (width > 0), the columns' names, to print above the first narrated line: a
 * class reads "ms" where the times have no unit. kernel_only: the events are the kernel's
 * alone (netpollsim trace, and its recordings), whose column holds system calls, not Go's
 * functions. Returns its length; 0 for a pipe or a file, whose layout stays line for line what
 * scripts compare.
 */
size_t narrate_header(unsigned width, bool kernel_only, char *buf, size_t len);

/*
 * The line that follows a narrated event for each verdict fold_apply gave it:
 * "            check note: ready-before-park: ..." or "            check VIOLATION: pd-from: ...",
 * wrapped for width as narrate_event wraps.
 */
size_t narrate_verdict(const struct fold_verdict *v, unsigned width, char *buf, size_t len);

/*
 * Text of whole lines (a summary) fitted to width: a line too long continues four columns
 * further in than it starts. width 0: copied as it is. Returns the length written to buf.
 */
size_t narrate_fit_text(const char *s, size_t n, unsigned width, char *buf, size_t len);

/*
 * The path of an NPS_EV_EXEC, printable (escaped as traces/json.h trace_sanitize does), or
 * "(path unknown)". Returns buf; 4 * NPS_PATH_LEN + 1 bytes hold any path.
 */
const char *narrate_exec_path(const struct nps_event *e, char *buf, size_t len);

/* How an NPS_EV_EXIT's process ended: "exited with code 2", "was killed by SIGKILL", "was
 * killed by SIGSEGV (core dumped)". Returns buf (64 bytes hold any). */
const char *narrate_exit_status(const struct nps_event *e, char *buf, size_t len);

/*
 * An epoll mask the short way the narration's chains read it: "IN|OUT|RDHUP|ET" (for a table
 * too narrow for "EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET"). Returns buf.
 */
const char *narrate_epoll_mask_short(uint32_t events, char *buf, size_t len);

/*
 * The pollDesc and fdseq Go packed into an epoll_event's data (netpollopen's tagged pointer,
 * spec section 1.5): "pd 0x7f3a... fdseq 1" in buf, which it returns; NULL when the mask is not
 * netpollopen's or the data holds no tagged pointer (another program's fd or pointer).
 */
const char *narrate_go_data(uint32_t events, uint64_t data, char *buf, size_t len);

/*
 * A time since the origin (ns) as the full layout's time column says it, "[sign]S.uuuuuu":
 * seconds cut to the microsecond, not rounded; plus: "+" before a positive one. Into buf,
 * which it returns.
 */
const char *narrate_time(int64_t rel_ns, bool plus, char *buf, size_t len);

/*
 * Why an epoll_ctl failed, when the error alone misleads: EPERM on ADD is no privilege problem
 * but an fd epoll cannot watch (a regular file, /dev/null). NULL when there is nothing to add.
 */
const char *narrate_ctl_why(int op, int64_t ret);

/*
 * How long a wait blocked, as every narration says it: "after 43.4 us" under a millisecond,
 * "after 5.615 ms" from one on, "(blocked time unknown)" for 0 (the probe missed the
 * syscall's entry: docs/kernel-view.md). Into buf, which it returns.
 */
const char *narrate_dur(uint64_t ns, char *buf, size_t len);

/* A span of trace time in those units: "43.4 us", "5.615 ms". Into buf, which it returns. */
const char *narrate_span(uint64_t ns, char *buf, size_t len);

/*
 * The end-of-run summary: goroutines, pollDescs, netpoll calls, wake-ups, losses, verdicts.
 * span_ns: how long the recording lasted (its footer's end less its header's start), 0 when
 * unknown: said when it is well past the events' own span (a trace of a quiet process).
 */
void narrate_summary(FILE *out, const struct nps_fold *f, uint64_t span_ns);

#endif /* NPS_TRACES_NARRATE_H */
