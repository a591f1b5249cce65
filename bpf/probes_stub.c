// SPDX-License-Identifier: MIT
/*
 * bpf/probes.h without eBPF: linked instead of bpf/probes.c when clang, bpftool, the kernel's
 * BTF or libbpf was missing at build time (bpf/bpf.mk). probes_open() fails with the reason, so
 * that `netpollsim run` says it once and goes on with the runtime's view only.
 */
#include "bpf/probes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifndef NPS_BPF_MISSING
#define NPS_BPF_MISSING "the BPF toolchain"
#endif

const char *probes_probe_name(int i)
{
	(void)i;
	return NULL;
}

int probes_open(const struct probes_opts *o, struct probes **out, char *why, size_t whylen)
{
	(void)o;
	if (out)
		*out = NULL;
	if (why && whylen)
		snprintf(why, whylen,
			 "built without eBPF support: %s missing when netpollsim was built; "
			 "run 'make setup' as root, then rebuild",
			 NPS_BPF_MISSING);
	return -ENOTSUP;
}

int probes_set_break_fds(struct probes *p, int rd, int wr)
{
	(void)p;
	(void)rd;
	(void)wr;
	return -EINVAL;
}

int probes_exclude_tid(struct probes *p, int tid)
{
	(void)p;
	(void)tid;
	return -EINVAL;
}

int probes_poll(struct probes *p, int timeout_ms, void (*cb)(void *ctx, const struct nps_event *e),
		void *ctx)
{
	(void)p;
	(void)timeout_ms;
	(void)cb;
	(void)ctx;
	return -EINVAL;
}

uint64_t probes_drained_upto(struct probes *p)
{
	(void)p;
	return 0;
}

void probes_stop(struct probes *p)
{
	(void)p;
}

int probes_detach(struct probes *p)
{
	(void)p;
	return -EINVAL;
}

void probes_stats(struct probes *p, struct probes_stats *st)
{
	(void)p;
	memset(st, 0, sizeof(*st));
}

void probes_close(struct probes *p)
{
	(void)p;
}
