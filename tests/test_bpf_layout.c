// SPDX-License-Identifier: MIT
/*
 * The BPF program writes struct nps_event (and its per-CPU counters) and user space reads them,
 * so both compilers must lay them out identically. bpf/layout_anchor.c is compiled by clang for
 * the BPF target and by gcc with BTF output (bpf/bpf.mk); this test walks both BTFs from the
 * root structs down and compares every member of every struct and union: name, offset, size,
 * and array lengths. Nothing to keep in sync by hand: a new field is checked automatically.
 */
#include "traces/event.h"
#include "bpf/netpoll.h"
#include "tests/testutil.h"

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#if __has_include(<bpf/btf.h>)
#include <bpf/btf.h>

struct walk {
	const struct btf *a, *b; /* host (gcc), target (clang -target bpf) */
	int leaves;		 /* scalar members compared */
	char err[512];		 /* first difference */
};

/* Skip typedefs and qualifiers: layout only. */
static __u32 strip(const struct btf *btf, __u32 id)
{
	for (;;) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (!t)
			return id;
		switch (btf_kind(t)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_CONST:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			continue;
		default:
			return id;
		}
	}
}

static int differ(struct walk *w, const char *path, const char *fmt, long x, long y)
{
	if (!w->err[0]) {
		snprintf(w->err, sizeof(w->err), "%s: ", path);
		size_t n = strlen(w->err);
		snprintf(w->err + n, sizeof(w->err) - n, fmt, x, y);
	}
	return -1;
}

static int cmp(struct walk *w, __u32 ia, __u32 ib, const char *path)
{
	const struct btf_type *ta = btf__type_by_id(w->a, ia = strip(w->a, ia));
	const struct btf_type *tb = btf__type_by_id(w->b, ib = strip(w->b, ib));
	char sub[256];

	if (!ta || !tb)
		return differ(w, path, "missing type (%ld/%ld)", !!ta, !!tb);
	if (btf_kind(ta) != btf_kind(tb))
		return differ(w, path, "kind %ld vs %ld", btf_kind(ta), btf_kind(tb));
	switch (btf_kind(ta)) {
	case BTF_KIND_INT:
	case BTF_KIND_ENUM:
		w->leaves++;
		if (ta->size != tb->size)
			return differ(w, path, "size %ld vs %ld", ta->size, tb->size);
		return 0;
	case BTF_KIND_ARRAY: {
		const struct btf_array *aa = btf_array(ta), *ab = btf_array(tb);

		if (aa->nelems != ab->nelems)
			return differ(w, path, "array length %ld vs %ld", aa->nelems, ab->nelems);
		snprintf(sub, sizeof(sub), "%s[]", path);
		return cmp(w, aa->type, ab->type, sub);
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		const struct btf_member *ma = btf_members(ta), *mb = btf_members(tb);

		if (ta->size != tb->size)
			return differ(w, path, "size %ld vs %ld", ta->size, tb->size);
		if (btf_vlen(ta) != btf_vlen(tb))
			return differ(w, path, "%ld members vs %ld", btf_vlen(ta), btf_vlen(tb));
		for (int i = 0; i < btf_vlen(ta); i++) {
			const char *na = btf__name_by_offset(w->a, ma[i].name_off);
			const char *nb = btf__name_by_offset(w->b, mb[i].name_off);

			snprintf(sub, sizeof(sub), "%s.%s", path, na && *na ? na : "(anon)");
			if (strcmp(na ? na : "", nb ? nb : ""))
				return differ(w, sub, "member names differ (%ld)", i, 0);
			if (btf_member_bit_offset(ta, i) != btf_member_bit_offset(tb, i))
				return differ(w, sub, "bit offset %ld vs %ld",
					      btf_member_bit_offset(ta, i),
					      btf_member_bit_offset(tb, i));
			if (btf_member_bitfield_size(ta, i) != btf_member_bitfield_size(tb, i))
				return differ(w, sub, "bitfield %ld vs %ld",
					      btf_member_bitfield_size(ta, i),
					      btf_member_bitfield_size(tb, i));
			if (cmp(w, ma[i].type, mb[i].type, sub))
				return -1;
		}
		return 0;
	}
	default:
		return differ(w, path, "unexpected BTF kind %ld (%ld)", btf_kind(ta), 0);
	}
}

static struct btf *load(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/gen/%s", tu_build_dir(), name);
	if (stat(path, &st) != 0) {
		printf("skipped: %s was not built (no BPF toolchain, or gcc without -gbtf)\n",
		       path);
		cr_skip_test("no %s", path);
	}
	struct btf *btf = btf__parse_elf(path, NULL);
	cr_assert_not_null(btf, "%s: no BTF", path);
	return btf;
}

static __u32 find(const struct btf *btf, const char *name)
{
	__s32 id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);

	cr_assert_gt(id, 0, "struct %s not in BTF", name);
	return (__u32)id;
}

static const char *const roots[] = {"nps_event", "nps_bpf_cpu", "nps_bpf_epoll_event"};

Test(bpf_layout, gcc_and_bpf_agree_on_every_member, .timeout = 30)
{
	struct btf *host = load("layout_host.o"), *bpf = load("layout_bpf.o");
	struct walk w = {.a = host, .b = bpf};

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		cr_assert_eq(cmp(&w, find(host, roots[i]), find(bpf, roots[i]), roots[i]), 0,
			     "layouts differ: %s", w.err);
	}
	/* Not vacuous: every payload of the union was walked. */
	cr_assert_geq(w.leaves, 100, "only %d members compared", w.leaves);

	/* And the host BTF is this compiler's layout: spot checks against offsetof. */
	const struct btf_type *t = btf__type_by_id(host, find(host, "nps_event"));
	cr_assert_eq(t->size, sizeof(struct nps_event));
	cr_assert_eq(btf__type_by_id(host, find(host, "nps_ev_ctl"))->size,
		     sizeof(struct nps_ev_ctl));
	const struct btf_type *ctl = btf__type_by_id(host, find(host, "nps_ev_ctl"));
	const struct btf_member *m = btf_members(ctl);
	for (int i = 0; i < btf_vlen(ctl); i++)
		if (!strcmp(btf__name_by_offset(host, m[i].name_off), "epfd"))
			cr_assert_eq(btf_member_bit_offset(ctl, i) / 8,
				     offsetof(struct nps_ev_ctl, epfd));
	cr_assert_eq(btf__type_by_id(host, find(host, "nps_bpf_epoll_event"))->size, 12,
		     "epoll_event must be the packed 12-byte layout");
	cr_assert_eq(btf__type_by_id(bpf, find(bpf, "nps_bpf_epoll_event"))->size, 12);
	btf__free(host);
	btf__free(bpf);
}

/* The comparison finds a difference when there is one (two different payloads). */
Test(bpf_layout, comparison_detects_differences, .timeout = 30)
{
	struct btf *host = load("layout_host.o"), *bpf = load("layout_bpf.o");
	struct walk w = {.a = host, .b = bpf};

	cr_assert_neq(cmp(&w, find(host, "nps_ev_ctl"), find(bpf, "nps_ev_wait"), "ctl/wait"), 0);
	cr_assert(strstr(w.err, "member names differ") != NULL, "%s", w.err);
	memset(w.err, 0, sizeof(w.err));
	cr_assert_neq(cmp(&w, find(host, "nps_ev_lost"), find(bpf, "nps_ev_create"), "lost"), 0);
	btf__free(host);
	btf__free(bpf);
}

#else

Test(bpf_layout, gcc_and_bpf_agree_on_every_member)
{
	printf("skipped: libbpf headers missing at build time\n");
	cr_skip_test("no libbpf");
}

#endif
