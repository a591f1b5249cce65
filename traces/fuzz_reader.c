// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the trace reader (make fuzz; a short run is part of make test). The input
 * is a whole trace file. Everything that reads a trace runs on it: the streaming reader, the
 * fold, the narrator, the summary. Two properties are checked besides "no crash, no leak, no
 * undefined behaviour" (ASan+UBSan):
 *   - each line the fast path accepts gives the same result through cJSON alone;
 *   - each event read formats to a line that reads back into the identical event;
 * and no narration line contains a raw control character.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/fold.h"
#include "traces/json.h"
#include "traces/narrate.h"

static void check_line(const char *line, size_t len, uint64_t origin)
{
	static struct nps_event ra[TRACE_READY_MAX], rb[TRACE_READY_MAX];
	struct nps_event a, b;
	size_t na = 0, nb = 0;
	char ea[512], eb[512];
	int x = trace_event_parse(line, len, origin, &a, ra, TRACE_READY_MAX, &na, ea, sizeof(ea));
	int y =
	    trace_event_parse_slow(line, len, origin, &b, rb, TRACE_READY_MAX, &nb, eb, sizeof(eb));
	if (x != y ||
	    (x == 0 &&
	     (memcmp(&a, &b, sizeof(a)) || na != nb || memcmp(ra, rb, na * sizeof(ra[0])))) ||
	    (x != 0 && strcmp(ea, eb))) {
		fprintf(stderr, "fast path and cJSON disagree on: %.*s\n(%d: %s | %d: %s)\n",
			(int)len, line, x, ea, y, eb);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_reader *r;
	struct nps_fold f;
	struct nps_event e, back;
	struct fold_verdict v[8];
	char line[TRACE_EVENT_MAX], text[NARRATE_LINE_MAX], err[512];

	/* every line on its own, both parsers */
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len <= TRACE_LINE_MAX)
			check_line(p, len, 1000);
		p += len + 1;
	}

	if (fold_init(&f))
		return 0;
	if (trace_reader_open_mem(data, size, "fuzz", &r) == 0) {
		uint64_t origin = trace_reader_info(r)->mono_origin;
		for (int rc; (rc = trace_reader_next(r, &e)) != 0;) {
			if (rc < 0) {
				if (rc != -22)
					break;
				continue;
			}
			int n = trace_event_format(&e, origin, line, sizeof(line));
			if (n < 0 ||
			    trace_event_parse(line, (size_t)n, origin, &back, NULL, 0, NULL, err,
					      sizeof(err)) ||
			    memcmp(&e, &back, sizeof(e))) {
				fprintf(stderr, "event does not round-trip: %s (%s)\n", line, err);
				abort();
			}
			int nv = fold_apply(&f, &e, trace_reader_line(r), v, 8);
			/* the full layout, and the terminal's whose only control is its newlines */
			for (unsigned width = 0; width <= 80; width += 80) {
				size_t tl =
				    narrate_event(&e, &f, origin, width, text, sizeof(text));
				for (size_t i = 0; i < tl; i++)
					if (((unsigned char)text[i] < 0x20 && text[i] != '\n') ||
					    text[i] == 0x7f || (!width && text[i] == '\n'))
						abort();
				for (int i = 0; i < nv; i++)
					narrate_verdict(&v[i], width, text, sizeof(text));
			}
		}
		FILE *null = fopen("/dev/null", "w");
		if (null) {
			const struct trace_info *in = trace_reader_info(r);
			/* any span the header and footer give, as replay passes it */
			narrate_summary(null, &f,
					(uint64_t)in->wall_end_ns - (uint64_t)in->wall_start_ns);
			fclose(null);
		}
	}
	trace_reader_close(r);
	fold_fini(&f);
	return 0;
}
