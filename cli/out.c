// SPDX-License-Identifier: MIT
/* The narration's output: see cli/out.h. */
#include "cli/out.h"
#include "traces/names.h"
#include "traces/narrate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
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
	o->stalled = NULL;
	o->ctx = ctx;
	o->err = 0;
	o->cut = false;
	o->dropped = 0;
	o->keep_up = false;
	o->nbfd = -1;
	o->skipped = o->skipped_total = 0;
	o->len = 0;
}

/* Room for the next piece, waiting at most as long as the patience allows: false to give up. */
static bool wait_room(struct cli_out *o, int ms)
{
	struct pollfd p = {.fd = o->fd, .events = POLLOUT};
	if (o->stalled && poll(&p, 1, 0) == 0)
		o->stalled(o->ctx);
	for (;;) {
		/* no patience left still takes room that is there (stderr into a file) */
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

/*
 * Keeping up: write what the terminal takes now; keep the rest. Through a non-blocking file
 * description of our own: a terminal's write(2) waits until it took every byte, however much
 * room poll(2) promised, and O_NONBLOCK on the fd we were given would also change it for the
 * shell that shares it. Without one, poll and pieces a pipe takes whole come closest.
 */
static void flush_ready(struct cli_out *o)
{
	size_t off = 0;
	while (off < o->len && !o->err) {
		struct pollfd p = {.fd = o->fd, .events = POLLOUT};
		if (o->nbfd < 0 && poll(&p, 1, 0) != 1)
			break; /* no room (or an interrupted look): the next round tries again */
		size_t piece = o->len - off < PIPE_BUF ? o->len - off : PIPE_BUF;
		ssize_t n = write(o->nbfd >= 0 ? o->nbfd : o->fd, o->buf + off, piece);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		else if (!(n < 0 && errno == EINTR))
			o->err = n < 0 ? errno : EIO;
	}
	memmove(o->buf, o->buf + off, o->len - off);
	o->len -= off;
}

int cli_out_flush(struct cli_out *o)
{
	if (o->keep_up && !o->err) {
		flush_ready(o);
		return 0;
	}
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
		if (o->keep_up) {
			/* a line no one asked cli_out_room about: skipped too if there is no room */
			size_t len = o->len;
			flush_ready(o);
			if (o->len == len) {
				cli_out_skip(o);
				return;
			}
			continue;
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

/* The note for the lines skipped since the last one, once there is room for it. */
#define NOTE_MAX 96

static void note_skipped(struct cli_out *o)
{
	char note[NOTE_MAX];
	int n = snprintf(note, sizeof(note), "... %llu line%s not shown: the terminal fell behind",
			 (unsigned long long)o->skipped, nps_plural(o->skipped));
	o->skipped = 0;
	put(o, note, (size_t)n, true);
}

void cli_out_skip(struct cli_out *o)
{
	o->skipped++;
	o->skipped_total++;
}

bool cli_out_room(struct cli_out *o, size_t n)
{
	if (!o->keep_up || o->err)
		return true; /* an error counts the line as dropped when it is put */
	size_t need = n + 1 + (o->skipped ? NOTE_MAX : 0);
	if (need > CLI_OUT_BUF - o->len)
		flush_ready(o);
	if (need > CLI_OUT_BUF - o->len) {
		cli_out_skip(o);
		return false;
	}
	if (o->skipped)
		note_skipped(o);
	return true;
}

void cli_out_keep_up(struct cli_out *o, bool on)
{
	if (on && o->nbfd < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", o->fd);
		o->nbfd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	}
	if (!on && o->nbfd >= 0) {
		flush_ready(o); /* what is buffered goes first, in order */
		close(o->nbfd);
		o->nbfd = -1;
	}
	o->keep_up = on;
	if (!on && o->skipped)
		note_skipped(o);
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

void cli_vsay(FILE *f, unsigned width, const char *fmt, va_list ap)
{
	char *s = NULL, *fit = NULL;
	int n = vasprintf(&s, fmt, ap);
	if (n < 0)
		return;
	/* a continuation line starts at most a few columns in: 4 times the text is room enough */
	size_t cap = (size_t)n * 4 + 64;
	if (width && (fit = malloc(cap)))
		fwrite(fit, 1, narrate_fit_text(s, (size_t)n, width, fit, cap), f);
	else
		fputs(s, f);
	free(fit);
	free(s);
}

void cli_say_err(unsigned width, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cli_vsay(stderr, width, fmt, ap);
	va_end(ap);
}

void cli_say_no_dashboard(void)
{
	cli_say_err(cli_term_width(STDERR_FILENO),
		    "netpollsim: no dashboard in this build yet; narrating instead (--no-ui and "
		    "--narrate choose explicitly)\n");
}

void cli_term_refit(int fd, unsigned *width)
{
	if (!*width || !resized)
		return;
	/* cleared before the read: a resize during it is seen next time */
	resized = 0;
	*width = cli_term_width(fd);
}
