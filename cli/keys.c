// SPDX-License-Identifier: MIT
/* Keys during a paced replay (cli/keys.h). */
#include "cli/keys.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static struct termios saved, raw;
static volatile sig_atomic_t on, continued;

/*
 * Ctrl-Z: the terminal as it was while the replay is stopped (the shell prompt echoes), and
 * keys again once `fg` continues it, as less does. tcsetattr is async-signal-safe.
 */
static void on_tstp(int sig)
{
	int err = errno;
	if (on)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	signal(sig, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &set, NULL); /* blocked in its own handler: it would wait */
	raise(sig);			      /* stops here; returns once continued */
	signal(sig, on_tstp);
	if (on)
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	continued = 1;
	errno = err;
}

bool keys_start(void)
{
	static bool registered;
	struct termios t;
	if (on)
		return true;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) ||
	    tcgetpgrp(STDIN_FILENO) != getpgrp() || tcgetattr(STDIN_FILENO, &saved))
		return false;
	t = saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	raw = t;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t))
		return false;
	if (!registered && !atexit(keys_stop))
		registered = true;
	on = true;
	/* a shell without job control starts it with SIGTSTP ignored: left so */
	struct sigaction old;
	if (!sigaction(SIGTSTP, NULL, &old) && old.sa_handler == SIG_DFL)
		signal(SIGTSTP, on_tstp);
	return true;
}

void keys_stop(void)
{
	if (on)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	on = false;
}

int keys_wait(uint64_t ns)
{
	struct timespec d = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	struct pollfd p = {STDIN_FILENO, POLLIN, 0};
	unsigned char c;
	/* whole ms in poll; what is left under 1 ms (a fast replay's gaps) slept exactly */
	if (on && poll(&p, 1, (int)(ns / 1000000u)) == 1 && read(STDIN_FILENO, &c, 1) == 1)
		return c;
	if (!on || ns < 1000000u)
		nanosleep(&d, NULL); /* EINTR or not: the caller looks again */
	return 0;
}

bool keys_continued(void)
{
	bool c = continued;
	continued = 0;
	return c;
}
