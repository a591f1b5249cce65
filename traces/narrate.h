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

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "traces/event.h"
#include "traces/fold.h"

/*
 * One line (no newline) for e into buf, times relative to origin (CLOCK_MONOTONIC ns). Returns
 * its length, or 0 when the event is not narrated (netpollWaiters bookkeeping, idle-list moves).
 */
size_t narrate_event(const struct nps_event *e, const struct nps_fold *f, uint64_t origin,
		     char *buf, size_t len);

/*
 * The line that follows a narrated event for each verdict fold_apply gave it:
 * "            note: ready-before-park: ..." or "            VIOLATION: pd-from: ...".
 */
size_t narrate_verdict(const struct fold_verdict *v, char *buf, size_t len);

/*
 * The path of an NPS_EV_EXEC, printable (escaped as traces/json.h trace_sanitize does), or
 * "(path unknown)". Returns buf; 4 * NPS_PATH_LEN + 1 bytes hold any path.
 */
const char *narrate_exec_path(const struct nps_event *e, char *buf, size_t len);

/* The end-of-run summary: goroutines, pollDescs, netpoll calls, wake-ups, losses, verdicts. */
void narrate_summary(FILE *out, const struct nps_fold *f);

#endif /* NPS_TRACES_NARRATE_H */
