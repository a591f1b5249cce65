// SPDX-License-Identifier: MIT
/* Keys during a paced replay (cli/keys.h). */
#include "cli/keys.h"

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static struct termios saved;
static bool on;

bool keys_start(void)
{
	static bool registered;
	struct termios t;
	if (on || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) ||
	    tcgetpgrp(STDIN_FILENO) != getpgrp() || tcgetattr(STDIN_FILENO, &saved))
		return on;
	t = saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t))
		return false;
	if (!registered && !atexit(keys_stop))
		registered = true;
	on = true;
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
