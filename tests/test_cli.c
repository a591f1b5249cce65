// SPDX-License-Identifier: MIT
/*
 * The command line as a new user meets it: help for every command, clear errors (naming the
 * option, value or file) with exit status 2 for bad usage, the scenario list, a headless run
 * that tells its story without a terminal, Ctrl-C ending a long run with its summary, and
 * `make install` honouring PREFIX and DESTDIR.
 */
#include <criterion/criterion.h>

#include "tests/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(cli, .timeout = 120);

/* Run "netpollsim ARGS" (stdout and stderr merged); the output in *out. */
static int np(const char *args, char **out)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s %s </dev/null", tu_netpollsim(), args);
	return tu_run(cmd, 1, out);
}

Test(cli, help_for_every_command)
{
	static const char *cmds[] = {"run", "scenarios", "check", "replay", "export", "trace"};
	char *out = NULL;
	cr_assert_eq(np("--help", &out), 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		cr_assert(strstr(out, cmds[i]), "top-level help lists %s: %s", cmds[i], out);
	free(out);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char args[64];
		snprintf(args, sizeof(args), "%s --help", cmds[i]);
		int st = np(args, &out);
		cr_assert_eq(st, 0, "%s: exit %d: %s", args, st, out);
		cr_assert(strstr(out, "usage: netpollsim"), "%s prints a usage line: %s", args,
			  out);
		free(out);
	}
}

Test(cli, no_command_is_a_usage_error)
{
	char *out = NULL;
	cr_assert_eq(np("", &out), 2);
	cr_assert(strstr(out, "usage: netpollsim COMMAND"), "%s", out);
	free(out);
	cr_assert_eq(np("frobnicate", &out), 2);
	cr_assert(strstr(out, "unknown command 'frobnicate'"), "%s", out);
	free(out);
}

Test(cli, bad_run_options_name_the_problem)
{
	static const struct {
		const char *args, *says;
	} cases[] = {
	    {"run --scenario nope", "unknown scenario 'nope'"},
	    {"run --procs 0", "--procs '0': expected an integer from 1 to 256"},
	    {"run --clients many", "--clients 'many'"},
	    {"run --duration -3", "--duration '-3'"},
	    {"run --bogus", "unknown option '--bogus'"},
	    {"run --record", "--record needs a value"},
	    {"run --clients 0", "--clients 0 serves outside clients"},
	    {"run extra", "unexpected argument 'extra'"},
	    {"run --scenario slow-reader --clients 3",
	     "--clients 3: slow-reader is written for 1 client"},
	    {"run --scenario ready-before-park --clients 7",
	     "--clients 7: ready-before-park runs with"},
	    {"run --scenario ready-before-park --clients 0", "an outside client cannot do"},
	    {"run --scenario break --procs 1", "--procs 1: break needs GOMAXPROCS 2 or more"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		int st = np(cases[i].args, &out);
		cr_assert_eq(st, 2, "%s: exit %d: %s", cases[i].args, st, out);
		cr_assert(strstr(out, cases[i].says), "%s: says '%s'? %s", cases[i].args,
			  cases[i].says, out);
		free(out);
	}
}

Test(cli, check_names_a_missing_file)
{
	char *out = NULL;
	int st = np("check /nonexistent/trace.jsonl", &out);
	cr_assert_neq(st, 0);
	cr_assert(strstr(out, "/nonexistent/trace.jsonl"), "%s", out);
	free(out);
}

Test(cli, scenarios_each_say_what_they_teach)
{
	static const char *names[] = {"echo",	     "deadline",	  "close",
				      "slow-reader", "ready-before-park", "accept-burst",
				      "break"};
	char *out = NULL;
	cr_assert_eq(np("scenarios", &out), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char line[64];
		snprintf(line, sizeof(line), "%s ", names[i]);
		cr_assert(strstr(out, line), "missing %s: %s", names[i], out);
	}
	cr_assert_eq(tu_count_lines(out, " "), 7, "one line per scenario: %s", out);
	free(out);
}

Test(cli, headless_deadline_tells_its_story)
{
	char *out = NULL;
	int st = np("run --scenario deadline --no-ui --narrate --no-bpf", &out);
	cr_assert_eq(st, 0, "exit %d: %s", st, out);
	/* The narration names the Go functions and the states, and the summary the outcome. */
	cr_assert(strstr(out, "netpollblockcommit"), "%s", out);
	cr_assert(strstr(out, "netpolldeadlineimpl"), "%s", out);
	cr_assert(strstr(out, "i/o timeout"), "%s", out);
	cr_assert(strstr(out, "== deadline"), "the summary follows: %s", out);
	cr_assert(strstr(out, "lost events: 0 sim"), "losses are shown: %s", out);
	free(out);
}

Test(cli, ctrl_c_ends_a_serving_run_with_its_summary)
{
	char log[512];
	snprintf(log, sizeof(log), "%s/serve.log", tu_tmpdir());
	pid_t pid = fork();
	if (pid == 0) {
		FILE *f = freopen(log, "w", stdout);
		(void)f;
		dup2(1, 2);
		execl(tu_netpollsim(), "netpollsim", "run", "--listen", "127.0.0.1:0", "--clients",
		      "0", "--no-ui", "--no-bpf", "--duration", "60", (char *)NULL);
		_exit(127);
	}
	/* Ctrl-C once it says where it serves (the port it picked), as a user would. */
	char buf[8192] = "";
	for (int i = 0; i < 600 && !strstr(buf, "serving echo on 127.0.0.1:"); i++) {
		usleep(50 * 1000);
		FILE *f = fopen(log, "r");
		if (f) {
			buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
			fclose(f);
		}
	}
	cr_assert(strstr(buf, "serving echo on 127.0.0.1:"), "no 'serving' line: %s", buf);
	kill(pid, SIGINT);
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "exit status %d", WEXITSTATUS(st));
	FILE *f = fopen(log, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	cr_assert(strstr(buf, "interrupted"), "the summary says it was interrupted: %s", buf);
}

Test(cli, make_install_honours_prefix_and_destdir)
{
	char cmd[1024], *out = NULL;
	const char *dest = tu_tmpdir();
	snprintf(
	    cmd, sizeof(cmd),
	    "make --no-print-directory -s install PREFIX=/opt/nps DESTDIR=%s/root >/dev/null && "
	    "cd %s/root && find . -type f | sort",
	    dest, dest);
	int st = tu_run(cmd, 1, &out);
	cr_assert_eq(st, 0, "%s: %s", cmd, out);
	cr_assert(strstr(out, "./opt/nps/bin/netpollsim\n"), "%s", out);
	cr_assert(strstr(out, "./opt/nps/share/netpollsim/samples/echo.jsonl\n"), "%s", out);
	cr_assert_eq(tu_count_lines(out, "./opt/nps/"), tu_count_lines(out, "./"),
		     "nothing outside PREFIX: %s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s/root/opt/nps/bin/netpollsim scenarios", dest);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "the installed binary runs: %s", out);
	free(out);
}
