// SPDX-License-Identifier: MIT
/* Option values and option errors shared by the commands (cli/cli.h). */
#include "cli/cli.h"
#include "cli/out.h"

#include "traces/json.h"

#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_parse_duration(const char *s, double *secs)
{
	char *end;
	double v = strtod(s, &end);

	/*
	 * !(v > 0) also refuses NaN; under 1 ns would round to 0 ns, which means "no duration"; the
	 * cap keeps v * 1e9 ns far inside 64 bits; strtod's hexadecimal ("0x10": 16) is no number
	 * of seconds anyone means
	 */
	if (end == s || *end || !isfinite(v) || !(v >= 1e-9) || v > CLI_DURATION_MAX_S ||
	    strpbrk(s, "xX"))
		return -1;
	*secs = v;
	return 0;
}

/* "-x" or "--word": what getopt would have read as an option had it not wanted a value */
static bool looks_like_option(const char *v)
{
	if (v[0] != '-')
		return false;
	v += v[1] == '-' ? 2 : 1;
	return (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z');
}

const char *cli_arg_text(const char *s, char *buf, size_t len)
{
	trace_sanitize(s, strlen(s), buf, len);
	return buf;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *optstring,
	       const struct option *opts)
{
	int c = getopt_long(argc, argv, optstring, opts, NULL);
	/* only a value given as its own word: "--procs=--x" and "-p-x" say what they mean */
	if (c > 0 && optarg && optind >= 2 && optarg == argv[optind - 1] &&
	    looks_like_option(optarg)) {
		char shown[128];
		fprintf(stderr, "netpollsim %s: %s needs a value: '%s' is an option (see --help)\n",
			cmd, argv[optind - 2], cli_arg_text(optarg, shown, sizeof(shown)));
		return CLI_OPT_SAID;
	}
	return c;
}

bool cli_stdout_was_closed;

int cli_refuse_closed_stdout(const char *cmd, const char *path)
{
	if (!path || strcmp(path, "-") || !cli_stdout_was_closed)
		return 0;
	fprintf(stderr,
		"netpollsim %s: standard output is closed: the output asked of it ('-') "
		"would be lost\n",
		cmd);
	return NPS_EXIT_FAIL;
}

int cli_option_error(const char *cmd, int c, char **argv, const struct option *opts)
{
	if (c == CLI_OPT_SAID)
		return NPS_EXIT_USAGE;
	/*
	 * The element getopt stopped at is argv[optind - 1] once it moved past it: always for a
	 * long option, and for a short one at the end of its element ("-o", "-qo"); optopt names a
	 * short option wherever it stood.
	 */
	const char *arg = argv[optind - 1];
	bool is_long = !strncmp(arg, "--", 2);
	if (c == ':') {
		if (is_long)
			fprintf(stderr, "netpollsim %s: %s needs a value\n", cmd, arg);
		else
			fprintf(stderr, "netpollsim %s: -%c needs a value\n", cmd, optopt);
		return NPS_EXIT_USAGE;
	}
	/* "--help=x": getopt sets optopt to the option's value, as for an unknown short option */
	size_t n = is_long ? strcspn(arg + 2, "=") : 0;
	const struct option *all = opts; /* the loop below moves opts */
	for (; optopt && is_long && arg[2 + n] == '=' && opts->name; opts++) {
		/* the name as typed may be shortened ("--he=x") */
		if (opts->has_arg == no_argument && opts->val == optopt &&
		    strlen(opts->name) >= n && !strncmp(opts->name, arg + 2, n)) {
			fprintf(stderr, "netpollsim %s: --%s takes no value\n", cmd, opts->name);
			return NPS_EXIT_USAGE;
		}
	}
	if (optopt > 0 && optopt < 128) {
		fprintf(stderr, "netpollsim %s: unknown option '-%c' (see --help)\n", cmd, optopt);
		return NPS_EXIT_USAGE;
	}
	/*
	 * getopt_long takes a shortened name ("--proc") when one option starts with it, and
	 * refuses it, with optopt 0, when several do ("--r"): name them rather than call it unknown.
	 */
	char names[256] = "";
	int nmatch = 0;
	for (const struct option *o = all; is_long && n && o->name; o++) {
		if (strlen(o->name) > n && !strncmp(o->name, arg + 2, n)) {
			size_t len = strlen(names);
			snprintf(names + len, sizeof(names) - len, "%s--%s", nmatch++ ? ", " : "",
				 o->name);
		}
	}
	char shown[128];
	cli_arg_text(arg, shown, sizeof(shown));
	size_t nopts = 0;
	while (all[nopts].name)
		nopts++;
	/* "--narate": the name as typed, without its dashes and any "=value" */
	char typed[64];
	snprintf(typed, sizeof(typed), "%.*s", (int)(n < sizeof(typed) ? n : sizeof(typed) - 1),
		 arg + 2);
	int near = is_long && n ? cli_nearest(typed, all, sizeof(*all), nopts) : -1;
	if (nmatch > 1)
		fprintf(stderr, "netpollsim %s: option '%s' is ambiguous: %s?\n", cmd, shown,
			names);
	else if (near >= 0)
		fprintf(stderr, "netpollsim %s: unknown option '%s' (did you mean '--%s'?)\n", cmd,
			shown, all[near].name);
	else
		fprintf(stderr, "netpollsim %s: unknown option '%s' (see --help)\n", cmd, shown);
	return NPS_EXIT_USAGE;
}

/* Edits (insert, delete, change, case aside) from a to b, as far as 3: more is "far". */
static int edits(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64 || (la > lb ? la - lb : lb - la) > 3)
		return 4;
	int d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int same =
			    tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
			int v = d[i - 1][j - 1] + !same;
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/* "events" and "no-events": one is the other turned off, never its misspelling */
static bool negation(const char *a, const char *b)
{
	return (!strncasecmp(a, "no-", 3) && !strcasecmp(a + 3, b)) ||
	       (!strncasecmp(b, "no-", 3) && !strcasecmp(b + 3, a));
}

int cli_nearest(const char *typed, const void *table, size_t stride, size_t n)
{
	size_t len = strlen(typed);
	/* two letters match too much ("re", "up"); a short word is allowed one edit, not two */
	int best = len < 3 ? 0 : len <= 4 ? 2 : 3, ties = 0, pick = -1;
	for (size_t i = 0; i < n; i++) {
		const char *name = *(const char *const *)((const char *)table + i * stride);
		size_t tl = strlen(name);
		if (negation(name, typed))
			continue;
		/* a beginning of 3 letters ("ech"), an end of 4 ("burst"; "ord" is not "record") */
		bool part = len < tl && ((len >= 3 && !strncasecmp(name, typed, len)) ||
					 (len >= 4 && !strcasecmp(name + tl - len, typed)));
		int d = part ? 0 : edits(typed, name);
		if (d < best) {
			best = d;
			pick = (int)i;
			ties = 0;
		} else if (d == best) {
			ties++;
		}
	}
	return ties ? -1 : pick;
}

/* dir/rel/echo.jsonl readable: dir/rel resolved into out (a path to type, no "bin/.."). */
static bool samples_at(const char *dir, const char *rel, char *out)
{
	char probe[PATH_MAX + 64];
	snprintf(probe, sizeof(probe), "%s%s/echo.jsonl", dir, rel);
	if (access(probe, R_OK) || !realpath(probe, out))
		return false;
	*strrchr(out, '/') = '\0';
	return true;
}

const char *cli_exe_dir(void)
{
	static char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	char *slash = n > 0 ? (dir[n] = '\0', strrchr(dir, '/')) : NULL;
	if (!slash)
		return NULL;
	*slash = '\0';
	return dir;
}

const char *cli_samples_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	const char *at = cli_exe_dir();
	if (!at)
		return NULL;
	snprintf(exe, sizeof(exe), "%s", at);
	char *slash;
	/* installed; or handed out as a directory: the binary with samples/ beside it */
	if (samples_at(exe, "/../share/netpollsim/samples", dir) ||
	    samples_at(exe, "/samples", dir))
		return dir;
	/* the source tree: build/netpollsim, or a variant's build/asan/netpollsim */
	for (int up = 0; up < 3 && (slash = strrchr(exe, '/')); up++) {
		*slash = '\0';
		if (samples_at(exe, "/traces/samples", dir))
			return dir;
	}
	return NULL;
}

void cli_hint_samples(const char *cmd, const char *path)
{
	const char *samples;
	if (strcmp(path, "-") && access(path, F_OK) && errno == ENOENT &&
	    (samples = cli_samples_dir()))
		cli_say_err(cli_term_width(STDERR_FILENO),
			    "netpollsim %s: the sample traces are in %s (e.g. %s/echo.jsonl)\n",
			    cmd, samples, samples);
}

bool cli_record_is_stdout(const char *cmd, const char *path, int record_fd)
{
	struct stat a, b;
	char shown[256];
	/* a file or a pipe; /dev/null for both is no mix (nor a terminal one chose to see it on) */
	if (record_fd == STDOUT_FILENO || fstat(record_fd, &a) || fstat(STDOUT_FILENO, &b) ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino ||
	    !(S_ISREG(a.st_mode) || S_ISFIFO(a.st_mode)))
		return false;
	fprintf(stderr,
		"netpollsim %s: --record '%s' is where standard output goes too: the %s would "
		"write into the trace; --record - puts the trace on standard output (and the rest "
		"on stderr)\n",
		cmd, cli_arg_text(path, shown, sizeof(shown)),
		strcmp(cmd, "trace") ? "narration and summary" : "trace's own output");
	return true;
}

int cli_record_create(const char *cmd, const char *path)
{
	struct stat st;
	char shown[256];
	if (path && strcmp(path, "-") && !stat(path, &st) && S_ISFIFO(st.st_mode)) {
		int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			close(fd); /* a reader is there: the open below does not wait */
		else if (errno == ENXIO)
			fprintf(
			    stderr,
			    "netpollsim %s: --record '%s' is a FIFO nobody reads yet: waiting for "
			    "its reader (Ctrl-C stops)\n",
			    cmd, cli_arg_text(path, shown, sizeof(shown)));
	}
	return trace_writer_create(path);
}
