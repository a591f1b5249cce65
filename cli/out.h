/* SPDX-License-Identifier: MIT */
/*
 * The narration's output (run, replay): lines buffered and written with write(2) to a file
 * descriptor, not through stdio, for two reasons.
 *  - A failed write is seen where it happens and kept (the first errno), so the command can say
 *    "writing the narration to stdout: No space left on device" and exit non-zero; stdio would
 *    only set an error flag that nobody reads.
 *  - A reader that stopped reading (`| less` left idle) cannot hold a command that was asked to
 *    stop: once the patience callback gives a deadline, each write waits for room (poll) at
 *    most until then, in pieces a pipe takes whole (PIPE_BUF), and the rest of the narration is
 *    cut. Before that, a slow reader slows the narration down, as any pipe does.
 *  - A live run's terminal must not slow the run's observer down (cli_out_keep_up): its rings
 *    would overflow and the recording and the summary would lose events to a display. Lines
 *    the terminal cannot take yet are skipped instead, counted, and a note says how many.
 */
#ifndef NPS_CLI_OUT_H
#define NPS_CLI_OUT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_OUT_BUF 65536

struct cli_out {
	int fd;
	const char *what; /* for messages: "stdout", "stderr" */
	/* ms a blocked write may still wait (0: give up now), or -1: no hurry (block). NULL: -1 */
	int (*patience)(void *ctx);
	/* called when a write with such a deadline finds no room: the reader is not reading. NULL ok */
	void (*stalled)(void *ctx);
	void *ctx;
	int err;	  /* the first write's errno (EPIPE: the reader is gone), 0 none */
	bool cut;	  /* the reader did not take the narration within the patience given */
	uint64_t dropped; /* lines not written because of err or cut */
	bool keep_up;	  /* never wait for the fd: skip lines instead (cli_out_keep_up) */
	int nbfd;	  /* keeping up: the terminal opened again, non-blocking (else -1) */
	uint64_t skipped; /* lines skipped since the last note saying so */
	uint64_t skipped_total;
	size_t len;
	char buf[CLI_OUT_BUF];
};

void cli_out_init(struct cli_out *o, int fd, const char *what, int (*patience)(void *ctx),
		  void *ctx);
/* One line (a newline is added). Lines after an error or a cut are counted, not written. */
void cli_out_line(struct cli_out *o, const char *s, size_t n);
/* Text that may hold several lines (a summary). Counted as one line when dropped. */
void cli_out_text(struct cli_out *o, const char *s, size_t n);
/*
 * Write what is buffered. Returns o->err, or EAGAIN when the rest was cut. When keeping up, only
 * what the fd takes without waiting; the rest stays buffered.
 */
int cli_out_flush(struct cli_out *o);
/*
 * Keep up with a fast producer (on), or wait for the fd again (off: before a run's summary,
 * which must be shown whole; the note for lines still unsaid comes first).
 */
void cli_out_keep_up(struct cli_out *o, bool on);
/*
 * Whether a line of at most n bytes can be taken now. Always true unless keeping up; then false
 * when the buffer has no room even after writing what the fd takes, and the line counts as
 * skipped. Asked before a line is formatted: a terminal that fell behind costs no formatting.
 */
bool cli_out_room(struct cli_out *o, size_t n);
/* Skip a line without asking (keeping up: its producer has no time for it); counted as above. */
void cli_out_skip(struct cli_out *o);
/* Why the output failed, for a message: "No space left on device", "not read in time". */
const char *cli_out_why(const struct cli_out *o);

/*
 * The columns of the terminal fd is, for the narration to fit (traces/narrate.h): its window
 * size, else $COLUMNS; 0 when fd is no terminal (a pipe, a file: the full layout, unchanged).
 */
unsigned cli_term_width(int fd);

/*
 * Follow the terminal as it is resized (a live run, a paced replay): cli_term_follow() catches
 * SIGWINCH, whose handler only sets a flag (SA_RESTART: a write it interrupts goes on), and
 * cli_term_refit() re-reads *width from fd in the thread that prints, once the window changed
 * since the last look. A width of 0 (no terminal) is left alone: piped output never changes.
 */
void cli_term_follow(void);
void cli_term_refit(int fd, unsigned *width);

/*
 * Human-readable text of whole lines into f: as it is into a pipe or a file (width 0), fitted to
 * a terminal of width columns (a line too long continues on the next, further in, as the
 * narration does: narrate_fit_text).
 */
__attribute__((format(printf, 3, 0))) void cli_vsay(FILE *f, unsigned width, const char *fmt,
						    va_list ap);
__attribute__((format(printf, 2, 3))) void cli_say_err(unsigned width, const char *fmt, ...);
/* run and replay without --no-ui or --narrate: the dashboard is not built yet, they narrate */
void cli_say_no_dashboard(void);

#endif /* NPS_CLI_OUT_H */
