// SPDX-License-Identifier: MIT
/* The narration's output: see cli/out.h. */
#include "cli/out.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void cli_out_init(struct cli_out *o, int fd, const char *what, int (*patience)(void *ctx),
		  void *ctx)
{
	o->fd = fd;
	o->what = what;
	o->patience = patience;
	o->ctx = ctx;
	o->err = 0;
	o->cut = false;
	o->dropped = 0;
	o->len = 0;
}

/* Room for the next piece, waiting at most as long as the patience allows: false to give up. */
static bool wait_room(struct cli_out *o, int ms)
{
	for (;;) {
		/* no patience left still takes room that is there (stderr into a file) */
		struct pollfd p = {.fd = o->fd, .events = POLLOUT};
		int n = poll(&p, 1, ms);
		if (n > 0)
			return true;
		if (n == 0 || errno != EINTR)
			return false;
		/* a signal: the patience may have shrunk (a second Ctrl-C gives none) */
		ms = o->patience(o->ctx);
		if (ms < 0)
			return true;
	}
}

int cli_out_flush(struct cli_out *o)
{
	size_t off = 0;
	while (off < o->len && !o->err && !o->cut) {
		size_t piece = o->len - off;
		int ms = o->patience ? o->patience(o->ctx) : -1;
		if (ms >= 0) {
			if (!wait_room(o, ms)) {
				o->cut = true;
				break;
			}
			/* a pipe with room takes PIPE_BUF bytes whole: this write cannot block */
			if (piece > PIPE_BUF)
				piece = PIPE_BUF;
		}
		ssize_t n = write(o->fd, o->buf + off, piece);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue; /* a stop signal: the next round asks the patience */
		else
			o->err = n < 0 ? errno : EIO;
	}
	if (off < o->len) {
		/* the lines not written, counted by their newlines */
		for (size_t i = off; i < o->len; i++)
			o->dropped += o->buf[i] == '\n';
	}
	o->len = 0;
	return o->err ? o->err : o->cut ? EAGAIN : 0;
}

static void put(struct cli_out *o, const char *s, size_t n, bool newline)
{
	if (o->err || o->cut) {
		o->dropped++;
		return;
	}
	while (n + newline > CLI_OUT_BUF - o->len) {
		if (o->len == 0) {
			/* longer than the buffer: write it in buffer-sized parts */
			size_t part = CLI_OUT_BUF;
			memcpy(o->buf, s, part);
			o->len = part;
			s += part;
			n -= part;
		}
		if (cli_out_flush(o)) {
			o->dropped++;
			return;
		}
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	if (newline)
		o->buf[o->len++] = '\n';
}

void cli_out_line(struct cli_out *o, const char *s, size_t n)
{
	put(o, s, n, true);
}

void cli_out_text(struct cli_out *o, const char *s, size_t n)
{
	put(o, s, n, false);
}

const char *cli_out_why(const struct cli_out *o)
{
	if (o->err)
		return strerror(o->err);
	return o->cut ? "its reader did not take it in time after the stop" : "no error";
}

unsigned cli_term_width(int fd)
{
	struct winsize ws;
	if (!isatty(fd))
		return 0;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		return ws.ws_col;
	/* a terminal that does not say its size (a serial console): the shell's idea of it */
	const char *c = getenv("COLUMNS");
	char *end;
	unsigned long n = c ? strtoul(c, &end, 10) : 0;
	return c && *end == '\0' && n > 0 && n < 10000 ? (unsigned)n : 80;
}

static volatile sig_atomic_t resized; /* a SIGWINCH since the last cli_term_refit */

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

void cli_term_follow(void)
{
	struct sigaction sa = {.sa_handler = on_winch, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
}

void cli_term_refit(int fd, unsigned *width)
{
	if (!*width || !resized)
		return;
	/* cleared before the read: a resize during it is seen next time */
	resized = 0;
	*width = cli_term_width(fd);
}
