// SPDX-License-Identifier: MIT
/*
 * The signals that stop a command (cli/cli.h). A run being recorded must end with its trace
 * flushed and its footer written whatever asked it to stop: Ctrl-C, kill, a closed terminal
 * (SIGHUP), a batch system's SIGXCPU or SIGUSR1. So every signal whose default action is to end
 * the process is caught, except the synchronous ones that mean the program itself is broken
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS): those keep their default, and the
 * trace then stays readable up to its last flushed line, as after SIGKILL.
 *
 * A signal ignored when the program starts stays ignored (nohup sets SIGHUP so; a shell's
 * background job gets SIGINT and SIGQUIT so): the user asked for that.
 */
#include "cli/cli.h"

#include <signal.h>
#include <stddef.h>

void cli_catch_stop_signals(void (*handler)(int))
{
	static const int stop[] = {
	    SIGHUP,    SIGINT,	SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,   SIGALRM,
	    SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGPWR,  SIGSTKFLT, SIGIO,
	};
	struct sigaction sa = {.sa_handler = handler};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++) {
		struct sigaction old;
		if (sigaction(stop[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(stop[i], &sa, NULL);
	}
	/* Real-time signals end a process by default too (glibc keeps the first few for itself). */
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++) {
		struct sigaction old;
		if (sigaction(s, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(s, &sa, NULL);
	}
	/* A closed pipe is an error of the write that hit it (EPIPE), reported where it happens. */
	signal(SIGPIPE, SIG_IGN);
}
