// SPDX-License-Identifier: MIT
/*
 * tracewrite: what the trace writer (traces/json.c) costs per event, apart from the run that
 * produces the events. It reads a recorded trace into memory, then
 *
 *   1. formats every event into /dev/null, --repeat times: ns per event (the fastest pass);
 *   2. with --dir, writes --mb megabytes of those lines to a new file in DIR twice, once through
 *      a descriptor the writer borrows (page cache only) and once through a path the writer
 *      opens itself (O_DIRECT for big flushes, as `run --record` does): the process's system
 *      CPU time per event of each, what the kernel charges for taking the text (formatting is
 *      user time). On this VM the page cache's part is mostly first-touching fresh pages
 *      (docs/performance.md, "What recording costs").
 *
 * Flushes (trace_writer_flush_bulk, as run's drain) come every 4096 events, about what `run`
 * drains every 2 ms at 140,000 round trips/s. Prints one JSON line.
 *
 *   tracewrite TRACE [--repeat N] [--dir DIR] [--mb MB]
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/benchutil.h"
#include "traces/json.h"

#define FLUSH_EVERY 4096

/* The process's system CPU time: the kernel's part of writing (formatting is user time). */
static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Write the events, passes times, flushing every FLUSH_EVERY events; -errno or 0. */
static int write_events(struct trace_writer *w, const struct nps_event *ev, size_t n, long passes)
{
	for (long k = 0; k < passes; k++)
		for (size_t i = 0; i < n; i++) {
			int r = trace_writer_event(w, &ev[i]);
			if (!r && i % FLUSH_EVERY == FLUSH_EVERY - 1)
				r = trace_writer_flush_bulk(w); /* as run's drain does */
			if (r)
				return r;
		}
	return trace_writer_flush(w);
}

/* System CPU seconds to write passes copies of ev to a new file in dir (direct: the writer opens it). */
static double timed_file(const char *dir, bool direct, const struct trace_header *h,
			 const struct nps_event *ev, size_t n, long passes)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/tracewrite-%d-%s.jsonl", dir, (int)getpid(),
		 direct ? "direct" : "pagecache");
	struct trace_writer *w;
	int fd = -1, r;
	double t0 = cpu_now();
	if (direct) {
		r = trace_writer_open(path, h, &w);
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		r = fd < 0 ? -errno : trace_writer_open_fd(fd, h, &w);
	}
	if (!r)
		r = write_events(w, ev, n, passes);
	if (!r)
		r = trace_writer_close(w, NULL);
	double t = cpu_now() - t0;
	if (fd >= 0)
		close(fd);
	unlink(path);
	if (r) {
		fprintf(stderr, "tracewrite: %s: %s\n", path, strerror(-r));
		exit(1);
	}
	return t;
}

int main(int argc, char **argv)
{
	const char *trace = NULL, *dir = NULL;
	long repeat = 20, mb = 512;
	bool bad = false;
	for (int i = 1; i < argc && !bad; i++) {
		if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atol(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--mb") && i + 1 < argc)
			mb = atol(argv[++i]);
		else if (argv[i][0] != '-' && !trace)
			trace = argv[i];
		else
			bad = true;
	}
	if (bad || !trace || repeat <= 0 || mb <= 0) {
		fprintf(stderr, "usage: tracewrite TRACE [--repeat N] [--dir DIR] [--mb MB]\n");
		return 2;
	}
	struct trace_reader *r;
	if (trace_reader_open(trace, &r)) {
		fprintf(stderr, "tracewrite: %s\n", trace_reader_error(r));
		return 1;
	}
	size_t n = 0, cap = 1 << 16;
	struct nps_event *ev = malloc(cap * sizeof(*ev));
	int rc;
	while (ev && (rc = trace_reader_next(r, &ev[n])) > 0)
		if (++n == cap)
			ev = realloc(ev, (cap *= 2) * sizeof(*ev));
	if (!ev || rc < 0 || !n) {
		fprintf(stderr, "tracewrite: %s: %s\n", trace,
			!ev	 ? "out of memory"
			: rc < 0 ? trace_reader_error(r)
				 : "no events");
		return 1;
	}
	struct trace_header h = {.scenario = "tracewrite",
				 .gomaxprocs = 1,
				 .go_version = "go1.22",
				 .mono_origin = trace_reader_info(r)->mono_origin};
	trace_reader_close(r);

	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct trace_writer *w;
	if (null < 0 || trace_writer_open_fd(null, &h, &w)) {
		fprintf(stderr, "tracewrite: cannot write to /dev/null\n");
		return 1;
	}
	double best = 1e30;
	for (long k = 0; k < repeat; k++) {
		double t0 = bench_now();
		if (write_events(w, ev, n, 1)) {
			fprintf(stderr, "tracewrite: writing to /dev/null failed\n");
			return 1;
		}
		double t = bench_now() - t0;
		best = t < best ? t : best;
	}
	/* the bytes per event, from one formatted pass */
	char line[TRACE_EVENT_MAX];
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		int l = trace_event_format(&ev[i], h.mono_origin, line, sizeof(line));
		bytes += l > 0 ? (size_t)l + 1 : 0;
	}
	trace_writer_abandon(w);
	close(null);
	printf("{\"events\":%zu,\"bytes_per_event\":%.1f,\"format_ns\":%.1f", n,
	       (double)bytes / (double)n, best * 1e9 / (double)n);
	if (dir) {
		long passes = (long)((double)mb * 1048576.0 / (double)bytes) + 1;
		double ne = (double)passes * (double)n;
		double pc = timed_file(dir, false, &h, ev, n, passes);
		double di = timed_file(dir, true, &h, ev, n, passes);
		printf(",\"mb\":%ld,\"pagecache_sys_ns\":%.1f,\"direct_sys_ns\":%.1f", mb,
		       pc * 1e9 / ne, di * 1e9 / ne);
	}
	printf("}\n");
	free(ev);
	return 0;
}
