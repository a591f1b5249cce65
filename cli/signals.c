// SPDX-License-Identifier: MIT
/*
 * The signals that stop a command (cli/cli.h). A run being recorded must end with its trace
 * flushed and its footer written whatever asked it to stop: Ctrl-C, kill, a closed terminal
 * (SIGHUP), a batch system's SIGXCPU or SIGUSR1. So every signal whose default action is to end
 * the process is caught, except the synchronous ones that mean the program itself is broken
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS): those keep their default, and the
 * trace then stays readable up to its last flushed line, as after SIGKILL.
 *
 * A signal ignored when the program starts stays ignored (nohup sets SIGHUP so: the user asked
 * for that), except SIGINT and SIGQUIT: a non-interactive shell starts every background job
 * with them ignored, not because its user asked, and `cmd & ... kill -INT $!` is how a script
 * stops a tracer (strace -p, bpftrace and perf record stop so too). Caught, they stop it as
 * Ctrl-C does, with the trace's footer written.
 */
#include "cli/cli.h"

#include <signal.h>
#include <stdbool.h>
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
		bool shell_set = stop[i] == SIGINT || stop[i] == SIGQUIT;

		if (shell_set || (sigaction(stop[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN))
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
