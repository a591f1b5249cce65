/* SPDX-License-Identifier: MIT */
/*
 * Trace files: JSON Lines, one header line, one line per event, one footer line
 * (docs/trace-format.md). The writer formats events with a direct formatter (no cJSON object per
 * event: that costs too much at a million events a second, see docs/trace-format.md) and every
 * line it writes parses back with cJSON into the identical struct nps_event. The header and
 * footer are built with cJSON. The reader streams: constant memory whatever the file's size,
 * lines capped at TRACE_LINE_MAX, every field checked for presence, type and range; its errors
 * name file:line and the field, and never contain raw control characters from the input.
 *
 * What it leaves out: compression, random access (seek by time), and any file format but its own.
 */
#ifndef NPS_TRACES_JSON_H
#define NPS_TRACES_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "traces/event.h"

#define TRACE_FORMAT	 "netpollsim-trace" /* the header's "format" */
#define TRACE_VERSION	 1		    /* the header's "version" this code reads and writes */
#define TRACE_LINE_MAX	 (1u << 20) /* longest line the reader accepts (bytes, newline excluded) */
/* The largest mono_origin_ns: the origin plus any relative time (up to 2^53) fits an int64. */
#define TRACE_ORIGIN_MAX (9223372036854775807ULL - 9007199254740992ULL)
#define TRACE_EVENT_MAX	 4096		    /* longest event line the writer can produce */
#define TRACE_INT_MAX	 9007199254740991LL /* 2^53 - 1: larger integers are not exact in JSON */
#define TRACE_READY_MAX	 1024		    /* ready entries one epoll_wait line carries at most */

/* What the run command knows when it opens the trace (written as the header line). */
struct trace_header {
	const char *scenario;	  /* scenario name */
	const char *options_json; /* a JSON object text with the scenario options, may be NULL */
	int gomaxprocs;		  /* GOMAXPROCS of the run */
	const char *go_version;	  /* Go behaviour modelled: "go1.22" */
	int kernel_view;	  /* 1 when the BPF probes ran */
	uint64_t mono_origin;	  /* CLOCK_MONOTONIC ns: event ts are written relative to this */
	int64_t wall_start_ns;	  /* CLOCK_REALTIME ns at the origin */
	const char *kernel;	  /* host kernel release; NULL: this host's (uname) */
	/* netpollsim trace: the traced executable, and where gomaxprocs came from ("runtime":
	 * runtime.gomaxprocs in its memory; "environment": $GOMAXPROCS or its CPUs); NULL: none */
	const char *exe, *gomaxprocs_from;
	const char *json; /* a whole header object to write instead of the fields above (export:
			     its input's, as it was); mono_origin must still be its origin */
};

/* What the run command knows when it closes the trace (written as the footer line). */
struct trace_footer {
	int interrupted;		/* the signal that ended the run, 0 none */
	int64_t wall_end_ns;		/* CLOCK_REALTIME ns at the end */
	uint64_t lost_sim, lost_kernel; /* events lost by source; counts by kind are the writer's */
	/* Events out of time order (stamped before one written earlier) are counted by the writer
	 * and written as "late" by source, next to "lost". */
	const char *story; /* the scenario's closing line ("story"), NULL or "" none */
	const char *json;  /* a whole footer object to write instead of the writer's counts and the
			     fields above (export: its input's, right or wrong, as it was) */
};

/* ---- writer ---- */

struct trace_writer;

/*
 * Create (truncate) path, or use stdout for "-", and write the header line. The header is on disk
 * (write(2) done) when this returns. 0 or -errno (-EINVAL: options_json or json is not a JSON
 * object).
 * A regular file opened here is written in whole aligned blocks with O_DIRECT when a flush has
 * enough new text (64 KiB) and the file system allows it, the rest through the page cache: the
 * file ends with the last complete line after every trace_writer_flush.
 */
int trace_writer_open(const char *path, const struct trace_header *h, struct trace_writer **out);

/*
 * trace_writer_open in two steps, so that a program can refuse a path it cannot write before it
 * does anything else: trace_writer_create makes path (or takes stdout for "-") and returns its
 * fd or -errno; trace_writer_open_created writes the header on it, and the writer then owns
 * the fd (closes it, even on failure; stdout is never closed).
 */
int trace_writer_create(const char *path);
int trace_writer_open_created(int fd, const struct trace_header *h, struct trace_writer **out);

/*
 * When the output is a pipe, FIFO, socket or terminal, whose reader may stop reading: patience
 * returns how many ms a write may still wait for room (0: give up now), or -1 for no hurry
 * (before a stop). It is asked at least every 100 ms while a write waits; a flush that runs out
 * of it fails with -ETIMEDOUT, the file as a reader got it ending with a part of a line.
 */
void trace_writer_set_patience(struct trace_writer *w, int (*patience)(void *ctx), void *ctx);

/* Same, on an open file descriptor that the writer does not close. */
int trace_writer_open_fd(int fd, const struct trace_header *h, struct trace_writer **out);

/*
 * Append one event. Buffered: the line is written by a later flush (automatic when 512 KiB are
 * buffered). Every event becomes one whole line, except EPOLL_READY entries that follow their
 * EPOLL_WAIT with the same id: they become its "ready" list. 0 or -errno of a failed write.
 * Not thread-safe: one writer thread (the merge consumer).
 */
int trace_writer_event(struct trace_writer *w, const struct nps_event *e);

/* write(2) everything buffered so far, a pending epoll_wait line included. 0 or -errno. */
int trace_writer_flush(struct trace_writer *w);

/*
 * The same for a writer that flushes often (run: every 2 ms), except that after a direct write
 * the last partial block (< 4 KiB) may stay buffered until the next flush: the file may then end
 * mid-line, and is still readable up to its last complete line. 0 or -errno.
 */
int trace_writer_flush_bulk(struct trace_writer *w);

/*
 * Flush, write the footer, close the file (not stdout/a borrowed fd). NULL-safe. 0 or -errno
 * (-EINVAL: f->json is not a JSON object).
 */
int trace_writer_close(struct trace_writer *w, const struct trace_footer *f);

/* Flush and close without a footer (a copy of a trace that had none). NULL-safe. 0 or -errno. */
int trace_writer_abandon(struct trace_writer *w);

/* Events written so far (struct events, ready entries included). */
uint64_t trace_writer_count(const struct trace_writer *w);

/*
 * Format one event as its trace line (no newline) into buf: ts relative to origin. Returns the
 * length, or -ENOSPC when len < TRACE_EVENT_MAX may not suffice. EPOLL_WAIT is written with an
 * empty "ready" list; the writer adds the entries.
 */
int trace_event_format(const struct nps_event *e, uint64_t origin, char *buf, size_t len);

/* ---- reader ---- */

/* The header as read (strings owned by the reader). */
struct trace_info {
	char scenario[64];
	char go_version[32];
	char kernel[128];
	char start[48];		 /* wall clock, ISO 8601 */
	char options_json[2048]; /* the scenario options as compact JSON ("{}" when too long) */
	int version;
	int gomaxprocs;
	int kernel_view;
	uint64_t mono_origin;
	int64_t wall_start_ns;
	int pid;		  /* trace: the traced process (options "pid"), 0 none */
	char exe[512];		  /* trace: the traced executable (sanitised), "" unknown */
	char gomaxprocs_from[16]; /* trace: "runtime", "environment", "" unknown */
	/* footer, once read */
	bool has_footer;
	uint64_t footer_events;		       /* "events": total */
	uint64_t footer_counts[NPS_EV__COUNT]; /* "counts" by kind */
	uint64_t footer_lost[3];	       /* by enum nps_src */
	uint64_t footer_late[3];	       /* "late": out of time order, by enum nps_src */
	int interrupted;		       /* signal number, 0 none */
	int64_t wall_end_ns;
	char story[512]; /* the scenario's closing line, "" none (sanitised) */
	uint64_t footer_line;
	bool truncated_line; /* the file ends with an incomplete line (cut short) */
	bool footer_bad;     /* a footer line was there but refused (its error said why) */
	/* The header and the footer objects as read, compact JSON with their strings decoded (not
	 * sanitised like the fields above): what export copies. NULL: no footer, or no memory. */
	char *header_json, *footer_json;
};

struct trace_reader;

/*
 * Open path ("-" = stdin) and read its header line. 0, or -errno (I/O) / -EINVAL (not a trace:
 * trace_reader_error() says why, with file:line and field) / -ENODATA (empty file). On error
 * *out is still set when it is not NULL, so that the error text can be read; close it.
 */
int trace_reader_open(const char *path, struct trace_reader **out);

/* Same over a memory buffer (the fuzzer); name is used in messages; buf must outlive the reader. */
int trace_reader_open_mem(const void *buf, size_t len, const char *name, struct trace_reader **out);

/*
 * The next event. 1 with *e filled, 0 at the end (footer or end of file), -EINVAL for a bad line
 * (the reader has skipped it: calling again continues with the next line), -errno for I/O.
 */
int trace_reader_next(struct trace_reader *r, struct nps_event *e);

/*
 * The same for a command that reads on past bad lines, as docs/trace-format.md says (replay,
 * export): each line refused is reported on err ("file:line: field ...: what"; after the first
 * 50, one line says more follow) and skipped. stdout is flushed before each report. 1 with *e
 * filled, 0 at the end, -errno for an error that stops the reading (I/O, no memory): its text is
 * trace_reader_error(), not printed here. An incomplete last line is not a bad line: it ends
 * the reading as with trace_reader_next (info->truncated_line).
 */
int trace_reader_next_skipping(struct trace_reader *r, struct nps_event *e, FILE *err);

/* Lines refused so far (each -EINVAL of trace_reader_next): say it at the end, exit non-zero. */
uint64_t trace_reader_skipped(const struct trace_reader *r);

const struct trace_info *trace_reader_info(const struct trace_reader *r);
const char *trace_reader_name(const struct trace_reader *r); /* sanitised file name */
uint64_t trace_reader_line(const struct trace_reader *r);    /* line of the last event returned */
/* Lines read so far, an incomplete last line that was ignored (truncated_line) not counted. */
uint64_t trace_reader_lines(const struct trace_reader *r);
/*
 * A trace read to its end without a footer, as replay and export say it: "the trace has no
 * footer: it was cut short after line 80[, in the middle of the next one] (the recording was
 * killed, or its disk filled?)" into buf; NULL when it has its footer (or a bad one, said).
 */
const char *trace_reader_cut_short(const struct trace_reader *r, char *buf, size_t len);
const char *trace_reader_error(const struct trace_reader *r); /* "file:line: field ...: what" */
const char *trace_reader_errmsg(const struct trace_reader *r,
				uint64_t *line); /* without file:line */
void trace_reader_close(struct trace_reader *r); /* NULL-safe */

/*
 * Parse one event line (no newline) with cJSON into *e; origin is the header's mono_origin.
 * Extra ready entries of an epoll_wait line go to ready[0..*nready) (NULL/0: rejected). 0, or
 * -EINVAL with a message "field ...: what" in err.
 */
int trace_event_parse(const char *line, size_t len, uint64_t origin, struct nps_event *e,
		      struct nps_event *ready, size_t ready_max, size_t *nready, char *err,
		      size_t errlen);

/* The same through cJSON only (no fast path): the reference the tests and the fuzzer compare with. */
int trace_event_parse_slow(const char *line, size_t len, uint64_t origin, struct nps_event *e,
			   struct nps_event *ready, size_t ready_max, size_t *nready, char *err,
			   size_t errlen);

/* ---- text safety ---- */

/*
 * Copy n bytes of untrusted text into out (always NUL-terminated) so that printing it cannot
 * change a terminal's state: printable ASCII and well-formed UTF-8 (C1 controls excluded) pass,
 * everything else becomes a visible escape (\n, \t, \x1b, \\). Returns the length written.
 */
size_t trace_sanitize(const char *s, size_t n, char *out, size_t outlen);

#endif /* NPS_TRACES_JSON_H */
