// SPDX-License-Identifier: MIT
/*
 * The checker (traces/check.h). Every line it prints starts with file:line, then "error:" or
 * "note:", the rule's id and one sentence; an error on an event is followed by the event itself
 * (re-formatted and sanitised, so a hostile trace cannot reach the terminal) and the line of the
 * earlier event involved, if any. The last line is the verdict, with the kernel/runtime agreement
 * ("fidelity N of N") when the trace holds the kernel's view.
 */
#include "traces/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "traces/fold.h"
#include "traces/json.h"
#include "traces/names.h"

#define MAX_VERDICTS 8

struct ck {
	const struct check_opts *o;
	FILE *out;
	const char *name;
	struct check_result r;
	unsigned shown;
	/* notes by rule: a busy run repeats the same race (a program that is not Go, the same
	 * closed-without-del) thousands of times, which would bury everything else */
	struct {
		const char *rule;
		unsigned long long n;
	} by_rule[32];
	size_t nrules;
	bool cut; /* the one error about the file as a whole is its missing footer */
};

static bool show_error(struct ck *c)
{
	unsigned max = c->o->max_shown ? c->o->max_shown : 50;
	c->r.errors++;
	return c->shown++ < max;
}

static unsigned max_notes(const struct ck *c)
{
	return c->o->max_notes ? c->o->max_notes : 10;
}

/* Count a note of rule; false when enough of that rule were printed. */
static bool show_note(struct ck *c, const char *rule)
{
	size_t i = 0;
	while (i < c->nrules && strcmp(c->by_rule[i].rule, rule))
		i++;
	if (i == c->nrules && i < sizeof(c->by_rule) / sizeof(c->by_rule[0]))
		c->by_rule[c->nrules++].rule = rule;
	return i == c->nrules || ++c->by_rule[i].n <= max_notes(c); /* a full table shows all */
}

static void print_event(struct ck *c, const struct nps_event *e, uint64_t origin)
{
	char line[TRACE_EVENT_MAX], safe[TRACE_EVENT_MAX];
	if (trace_event_format(e, origin, line, sizeof(line)) < 0)
		return;
	trace_sanitize(line, strlen(line), safe, sizeof(safe));
	fprintf(c->out, "    event: %s\n", safe);
}

static void report(struct ck *c, const struct fold_verdict *v, uint64_t line,
		   const struct nps_event *e, uint64_t origin)
{
	char t[sizeof(v->text) * 4];
	trace_sanitize(v->text, strnlen(v->text, sizeof(v->text)), t, sizeof(t));
	if (v->level == FOLD_NOTE) {
		c->r.notes++;
		if (!c->o->quiet && show_note(c, v->rule))
			fprintf(c->out, "%s:%llu: note: %s: %s\n", c->name,
				(unsigned long long)line, v->rule, t);
		return;
	}
	c->r.violations++;
	if (!show_error(c))
		return;
	fprintf(c->out, "%s:%llu: error: %s: %s\n", c->name, (unsigned long long)line, v->rule, t);
	if (e)
		print_event(c, e, origin);
	if (v->prev_pos && v->prev_pos != line)
		fprintf(c->out, "    earlier: %s:%llu\n", c->name, (unsigned long long)v->prev_pos);
}

__attribute__((format(printf, 4, 5))) static void file_error(struct ck *c, uint64_t line,
							     const char *rule, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!show_error(c))
		return;
	if (line)
		fprintf(c->out, "%s:%llu: error: %s: %s\n", c->name, (unsigned long long)line, rule,
			msg);
	else
		fprintf(c->out, "%s: error: %s: %s\n", c->name, rule, msg);
}

int trace_footer_mismatches(const struct trace_info *in, const struct nps_fold *f, uint64_t events,
			    void (*say)(void *ctx, const char *rule, const char *msg), void *ctx)
{
	char msg[200];
	int n = 0;
	if (!in->has_footer)
		return 0;
	if (in->footer_events != events && ++n && say) {
		snprintf(msg, sizeof(msg), "the footer counts %llu event%s but the file holds %llu",
			 (unsigned long long)in->footer_events, nps_plural(in->footer_events),
			 (unsigned long long)events);
		say(ctx, "footer-counts", msg);
	}
	for (unsigned k = 1; k < NPS_EV__COUNT; k++)
		if (nps_kind_name(k) && in->footer_counts[k] != f->st.by_kind[k] && ++n && say) {
			snprintf(msg, sizeof(msg),
				 "the footer counts %llu %s events but the file holds %llu",
				 (unsigned long long)in->footer_counts[k], nps_kind_name(k),
				 (unsigned long long)f->st.by_kind[k]);
			say(ctx, "footer-counts", msg);
		}
	for (unsigned s = 1; s <= 2; s++)
		if (in->footer_late[s] != f->st.late[s] && ++n && say) {
			snprintf(msg, sizeof(msg),
				 "the footer says %llu %s events were late (out of time order) but "
				 "the file holds %llu",
				 (unsigned long long)in->footer_late[s], nps_src_name(s),
				 (unsigned long long)f->st.late[s]);
			say(ctx, "footer-late", msg);
		}
	for (unsigned s = 1; s <= 2; s++)
		if (in->footer_lost[s] < f->st.lost[s] && ++n && say) {
			snprintf(msg, sizeof(msg),
				 "the footer says %llu %s events were lost but lost events add up "
				 "to %llu",
				 (unsigned long long)in->footer_lost[s], nps_src_name(s),
				 (unsigned long long)f->st.lost[s]);
			say(ctx, "footer-lost", msg);
		}
	return n;
}

struct footer_say {
	struct ck *c;
	uint64_t line;
};

static void footer_said(void *ctx, const char *rule, const char *msg)
{
	struct footer_say *fs = ctx;
	file_error(fs->c, fs->line, rule, "%s", msg);
}

/* The footer against what was read. */
static void check_footer(struct ck *c, const struct trace_info *in, const struct nps_fold *f,
			 uint64_t last_line)
{
	if (!in->has_footer && in->footer_bad)
		return; /* not cut short: its footer is there, and its error said what is wrong */
	if (!in->has_footer) {
		if (c->o->allow_truncated) {
			c->r.notes++;
			if (!c->o->quiet)
				fprintf(c->out,
					"%s: note: no-footer: the trace has no footer: it was cut "
					"short after line %llu\n",
					c->name, (unsigned long long)last_line);
		} else {
			c->cut = true;
			file_error(c, 0, "no-footer",
				   "the trace has no footer: it was cut short after line %llu (the "
				   "recording was killed, or its disk filled?); the events before "
				   "are readable",
				   (unsigned long long)last_line);
		}
		return;
	}
	struct footer_say fs = {c, in->footer_line};
	trace_footer_mismatches(in, f, c->r.events, footer_said, &fs);
	if (in->interrupted) {
		c->r.notes++;
		char sig[32];
		const char *name = nps_signal_name(in->interrupted, sig, sizeof(sig));
		/* `trace` ends at a stop signal when it has no --duration: its usual end */
		bool trace = !strcmp(in->scenario, "trace");
		if (!c->o->quiet)
			fprintf(c->out,
				"%s:%llu: note: interrupted: the %s was ended by %s (signal %d)%s; "
				"everything before the footer was recorded\n",
				c->name, (unsigned long long)in->footer_line,
				trace ? "trace" : "run", name ? name : "a signal", in->interrupted,
				trace ? ", as a trace without --duration ends" : "");
	}
}

/*
 * ", kernel/runtime agreement: fidelity 12 of 12, ..." for the verdict line; "" without kernel
 * events, or without runtime events to agree with (a `netpollsim trace` recording).
 */
static void agreement(const struct nps_fold *f, char *buf, size_t len)
{
	const struct fold_stats *s = &f->st;
	if (!s->kernel_events || fold_kernel_only(f)) {
		buf[0] = '\0';
		return;
	}
	/* fidelity: the ready entries' pollDesc changes, then the goroutines they woke */
	snprintf(
	    buf, len,
	    ", kernel/runtime agreement: fidelity %llu of %llu, woken goroutines %llu of %llu, "
	    "ready lists %llu of %llu, epoll_ctl %llu of %llu",
	    (unsigned long long)s->fidelity_ok, (unsigned long long)s->fidelity_checked,
	    (unsigned long long)s->fidelity_wakes_ok, (unsigned long long)s->fidelity_wakes_checked,
	    (unsigned long long)s->lists_ok, (unsigned long long)s->lists_checked,
	    (unsigned long long)s->ctl_ok, (unsigned long long)s->ctl_checked);
}

int trace_check(const char *path, const struct check_opts *opts, struct check_result *res)
{
	struct check_opts dflt = {0};
	struct ck c = {opts ? opts : &dflt, NULL, NULL, {0}, 0};
	struct trace_reader *r = NULL;
	struct nps_fold f;
	struct fold_verdict v[MAX_VERDICTS];
	struct nps_event e;
	char agree[160] = "";
	uint64_t last_line = 1, errline;
	int rc;
	c.out = c.o->out ? c.o->out : stdout;
	if (fold_init(&f))
		return -ENOMEM;
	rc = trace_reader_open(path, &r);
	c.name = r ? trace_reader_name(r) : path;
	if (rc) {
		const char *msg = trace_reader_errmsg(r, &errline);
		bool schema = rc == -EINVAL || rc == -ENODATA;
		if (schema) {
			file_error(&c, errline, "schema", "%s", msg);
			c.r.schema_errors++;
			goto done;
		}
		/*
		 * cannot open or read the file: no trace to judge, so no report and no verdict, but
		 * the command's error, as every command says one about its input file
		 */
		fflush(
		    c.out); /* after the reports of the files before it, when both go to one place */
		fprintf(c.o->err ? c.o->err : stderr, "netpollsim check: %s\n",
			trace_reader_error(r));
		if (res)
			*res = c.r;
		trace_reader_close(r);
		fold_fini(&f);
		return 1;
	}
	const struct trace_info *in = trace_reader_info(r);
	if (in->kernel_view)
		fold_set_kernel_view(&f);
	for (;;) {
		rc = trace_reader_next(r, &e);
		if (rc == 0)
			break;
		if (rc < 0) {
			const char *msg = trace_reader_errmsg(r, &errline);
			c.r.schema_errors++;
			file_error(&c, errline, rc == -EINVAL ? "schema" : "read", "%s", msg);
			if (rc != -EINVAL)
				break;
			continue;
		}
		c.r.events++;
		last_line = trace_reader_line(r);
		/* Ps are allp[0..GOMAXPROCS): the header says how many there were */
		if (e.src == NPS_SRC_SIM && e.p >= in->gomaxprocs) {
			c.r.violations++;
			file_error(&c, last_line, "p-range",
				   "P%d: the header's gomaxprocs is %d, so the Ps are P0 to P%d",
				   e.p, in->gomaxprocs, in->gomaxprocs - 1);
		}
		int n = fold_apply(&f, &e, last_line, v, MAX_VERDICTS);
		if (n < 0) {
			file_error(&c, last_line, "read", "out of memory");
			break;
		}
		for (int i = 0; i < n; i++)
			report(&c, &v[i], last_line, &e, in->mono_origin);
	}
	if (in->truncated_line) {
		c.r.truncated_line = true;
		c.r.notes++;
		if (!c.o->quiet)
			fprintf(
			    c.out,
			    "%s: note: truncated: the last line is incomplete (cut short) and was "
			    "ignored\n",
			    c.name);
	}
	if (rc >= 0 && in->has_footer) {
		/* a complete trace: what the kernel still owed is missing (reported where owed) */
		int n;
		do {
			n = fold_end(&f, v, MAX_VERDICTS);
			for (int i = 0; i < n; i++)
				report(&c, &v[i], v[i].prev_pos ? v[i].prev_pos : last_line, NULL,
				       in->mono_origin);
		} while (n == MAX_VERDICTS);
	}
	if (rc >= 0)
		check_footer(&c, in, &f, trace_reader_lines(r));
	c.r.has_footer = in->has_footer;
done:
	agreement(&f, agree, sizeof(agree));
	unsigned max_shown = c.o->max_shown ? c.o->max_shown : 50, more = c.shown - max_shown;
	if (c.shown > max_shown)
		fprintf(c.out, "%s: %u more error%s not shown\n", c.name, more, nps_plural(more));
	for (size_t i = 0; i < c.nrules; i++)
		if (c.by_rule[i].n > max_notes(&c))
			fprintf(c.out,
				"%s: %llu more %s note%s not shown (--max-notes N shows more)\n",
				c.name, c.by_rule[i].n - max_notes(&c), c.by_rule[i].rule,
				nps_plural(c.by_rule[i].n - max_notes(&c)));
	/* the file's own errors (its footer, its end) are neither violations nor bad lines */
	unsigned long long other = c.r.errors - c.r.violations - c.r.schema_errors;
	char part[64] = "";
	if (other)
		snprintf(part, sizeof(part), ", %llu about the file as a whole", other);
	if (c.r.errors && c.cut && c.r.errors == 1)
		/* not ILLEGAL: nothing it holds breaks a rule; it just stops (still exit 1) */
		fprintf(c.out,
			"%s: INCOMPLETE: cut short, without its footer (--allow-truncated "
			"accepts that); the %llu event%s before break no rule: 0 violations, "
			"%llu note%s%s\n",
			c.name, (unsigned long long)c.r.events, nps_plural(c.r.events),
			(unsigned long long)c.r.notes, nps_plural(c.r.notes), agree);
	else if (c.r.errors)
		fprintf(c.out,
			"%s: ILLEGAL: %llu error%s (%llu violation%s, %llu unreadable line%s%s), "
			"%llu note%s, %llu event%s%s\n",
			c.name, (unsigned long long)c.r.errors, nps_plural(c.r.errors),
			(unsigned long long)c.r.violations, nps_plural(c.r.violations),
			(unsigned long long)c.r.schema_errors, nps_plural(c.r.schema_errors), part,
			(unsigned long long)c.r.notes, nps_plural(c.r.notes),
			(unsigned long long)c.r.events, nps_plural(c.r.events), agree);
	else
		fprintf(c.out, "%s: legal: %llu event%s, %llu note%s%s\n", c.name,
			(unsigned long long)c.r.events, nps_plural(c.r.events),
			(unsigned long long)c.r.notes, nps_plural(c.r.notes), agree);
	if (res)
		*res = c.r;
	trace_reader_close(r);
	fold_fini(&f);
	return c.r.errors ? 1 : 0;
}
