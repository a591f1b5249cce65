/* SPDX-License-Identifier: MIT */
/*
 * Exporters behind `netpollsim export`: a trace file to one Chrome trace-event JSON document
 * (for Perfetto and chrome://tracing), or back to canonical JSON Lines (for jq, and as the
 * round-trip check of the reader and writer).
 *
 * The Chrome document follows the rules Perfetto's JSON importer applies (peers.md section 4):
 * "displayTimeUnit" first, microsecond timestamps rebased to zero, one lane (thread) per
 * pollDesc direction, per goroutine, per M and per kernel thread, each a sequence of X slices
 * that never overlap except by proper nesting; v2 flows (bind_id, flow_out, flow_in) from a
 * kernel epoll_wait return (or the runtime's netpoll call) to the pollDesc becoming ready to the
 * goroutine becoming runnable and running; single-series counters; process and thread names and
 * sort indices; plain UTF-8 strings without \u escapes.
 */
#ifndef NPS_TRACES_EXPORT_H
#define NPS_TRACES_EXPORT_H

#include <stdio.h>

enum export_format {
	EXPORT_CHROME = 1, /* Chrome trace-event JSON (object form) */
	EXPORT_JSONL,	   /* the trace itself, canonical JSON Lines */
};

/*
 * Convert the trace at in ("-" = stdin) into out ("-" = stdout). A regular file (or a new one) is
 * written to a temporary file beside it (beside the file a symlink names), with the mode of the
 * file it replaces, and renamed over it when complete, so a failed export leaves the old file or
 * nothing; a FIFO or a device is written in place. out may not be the input file (also through
 * a link). Errors go to err (file:line and field; the output as given, sanitised). A bad line of
 * the input is reported, left out and counted: the output is still written, and 1 returned.
 * Returns 0, or 1 on failure. One export at a time.
 */
int trace_export(const char *in, const char *out, enum export_format fmt, FILE *err);

/*
 * Remove the temporary file of the export in progress, if any: for a signal handler that then
 * ends the process (async-signal-safe).
 */
void trace_export_interrupted(void);

#endif /* NPS_TRACES_EXPORT_H */
