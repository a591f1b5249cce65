// SPDX-License-Identifier: MIT
/* Helpers shared by the Criterion suites (tests/testutil.h). */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tu_build_dir(void)
{
	const char *b = getenv("B");
	return b && *b ? b : "build";
}

const char *tu_netpollsim(void)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/netpollsim", tu_build_dir());
	return path;
}

int tu_run(const char *cmdline, int merge_stderr, char **out)
{
	char *full = NULL;
	if (asprintf(&full, "%s%s", cmdline, merge_stderr ? " 2>&1" : "") < 0)
		return -1;
	FILE *p = popen(full, "r");
	free(full);
	if (!p)
		return -1;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	int st = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	if (st == -1)
		return -1;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

const char *tu_tmpdir(void)
{
	static char dir[64];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/nps-test-XXXXXX");
		if (!mkdtemp(dir))
			snprintf(dir, sizeof(dir), "/tmp");
	}
	return dir;
}

int tu_count_lines(const char *s, const char *needle)
{
	int n = 0;
	while (s && *s) {
		const char *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) : strlen(s);
		char *line = strndup(s, len);
		if (line && strstr(line, needle))
			n++;
		free(line);
		s = eol ? eol + 1 : s + len;
	}
	return n;
}

int tu_is_root(void)
{
	return geteuid() == 0;
}
