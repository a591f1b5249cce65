/* SPDX-License-Identifier: MIT */
/*
 * The checker behind `netpollsim check`: reads a trace with the streaming reader, runs every
 * event through the fold (traces/fold.h) and reports, with file:line, each schema error, each
 * violation of netpoll's rules (docs/trace-format.md lists them, with their stable ids) and each
 * race Go handles on purpose (as notes). It also checks the file as a whole: a footer must be
 * there and its counts must match the events read. Constant memory in the file's size (the fold
 * grows with the number of pollDescs and goroutines, not of events).
 */
#ifndef NPS_TRACES_CHECK_H
#define NPS_TRACES_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct check_opts {
	FILE *out;	      /* where the report goes (stdout when NULL) */
	FILE *err;	      /* where a file that cannot be read is said (stderr when NULL) */
	bool quiet;	      /* no notes, only errors and the verdict line */
	bool allow_truncated; /* a missing footer is a note, not an error */
	unsigned max_shown;   /* errors printed at most (0: 50); all are counted */
	unsigned max_notes;   /* notes of each rule printed at most (0: 10); all are counted */
};

struct check_result {
	uint64_t events;	/* events read */
	uint64_t errors;	/* schema errors + violations + file-level errors */
	uint64_t schema_errors; /* lines that could not be read */
	uint64_t violations;	/* rules broken (fold verdicts) */
	uint64_t notes;
	bool has_footer;
	bool truncated_line; /* the file ends with an incomplete line */
};

/*
 * Check the trace at path ("-" = stdin). Returns 0 when the trace is legal, 1 when it is not (the
 * report says why) or cannot be read (o->err says why: "netpollsim check: FILE: cannot open:
 * ..."), -ENOMEM. res may be NULL.
 */
int trace_check(const char *path, const struct check_opts *o, struct check_result *res);

struct trace_info;
struct nps_fold;

/*
 * Where a trace's footer disagrees with the events read (events of them, folded into f): each
 * disagreement is told to say (rule "footer-counts" or "footer-lost", and a message), when say
 * is not NULL. Returns how many there are; 0 without a footer.
 */
int trace_footer_mismatches(const struct trace_info *in, const struct nps_fold *f, uint64_t events,
			    void (*say)(void *ctx, const char *rule, const char *msg), void *ctx);

#endif /* NPS_TRACES_CHECK_H */
