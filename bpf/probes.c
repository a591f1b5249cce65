// SPDX-License-Identifier: MIT
/*
 * The loader and consumer of the BPF probes (bpf/probes.h), on libbpf 1.1 and the skeleton that
 * bpftool generates from bpf/netpoll.bpf.c. The order is libbpf-bootstrap's: preflight, open,
 * set rodata, load, ring buffer, attach; every failure becomes one line keyed on the stage and
 * the errno (ebpf-notes section 6), because the same errno means different things at different
 * stages: EACCES at load is the verifier, EACCES at attach is tracefs, EPERM is privilege.
 *
 * What it leaves out: raising RLIMIT_MEMLOCK (the kernel charges BPF memory to the memory cgroup,
 * and the hard limit could not be raised anyway), and uprobes on the Go runtime itself.
 */
#include "bpf/probes.h"
#include "bpf/netpoll.h"
#include "traces/names.h"
#include "netpoll.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(struct epoll_event) == sizeof(struct nps_bpf_epoll_event),
	       "struct epoll_event is not the packed 12-byte layout the probes read");
_Static_assert(PROBES_NPROBES == NPS_PROBE__COUNT, "probes.h and netpoll.h disagree");

#define TRACEFS "/sys/kernel/tracing"
#define DEBUGFS "/sys/kernel/debug/tracing"
#define VMLINUX "/sys/kernel/btf/vmlinux"
#define HINT_CAP                                                                                   \
	"run as root with its capabilities, or grant CAP_BPF+CAP_PERFMON+CAP_DAC_READ_SEARCH"

/* Tracepoint of each probe, in enum nps_bpf_probe order. */
static const char *const probe_tp[PROBES_NPROBES] = {
    "sys_exit_epoll_create1", "sys_exit_epoll_ctl",    "sys_enter_epoll_wait",
    "sys_exit_epoll_wait",    "sys_enter_epoll_pwait", "sys_exit_epoll_pwait",
    "sys_enter_epoll_pwait2", "sys_exit_epoll_pwait2", "sys_exit_read",
    "sys_exit_write",	      "sched_process_exec",    "sys_exit_epoll_create",
    "sched_process_exit",
};

/* The tracefs directory of probe i's tracepoint: "syscalls", or "sched" for exec and exit. */
static const char *probe_dir(int i)
{
	return i == NPS_PROBE_EXEC || i == NPS_PROBE_EXIT ? "sched" : "syscalls";
}

struct probes {
	struct netpoll_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_program *progs[PROBES_NPROBES]; /* enum nps_bpf_probe order */
	struct bpf_link *links[PROBES_NPROBES];	   /* NULL: not attached */
	pthread_mutex_t lock;			   /* links: set_break_fds vs detach */
	int ncpus;				   /* possible CPUs: per-CPU map slots */
	int stats_fd;				   /* BPF_ENABLE_STATS fd, -1 when off */
	int pwait2;				   /* epoll_pwait2's tracepoint exists */
	size_t ring_bytes;
	uint64_t attach_ns;
	/* written by the poll thread, read by probes_stats() from any thread (__atomic) */
	uint64_t delivered;
	uint64_t woken; /* polls that got records before their timeout: a probe woke the consumer */
	uint64_t lost_reported;
	uint64_t drain_ns;
	uint64_t stop_ns;
	int detached;
	int final_done; /* the post-detach loss report was made */
	/* the poll in progress (poll thread only) */
	void (*cb)(void *ctx, const struct nps_event *e);
	void *cb_ctx;
	int ndelivered;
};

const char *probes_probe_name(int i)
{
	return i >= 0 && i < PROBES_NPROBES ? probe_tp[i] : NULL;
}

/* errno as a negative return, never 0 (a failed call that left errno unset). */
static int neg_errno(void)
{
	return errno ? -errno : -EINVAL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * libbpf's messages. Nothing reaches the terminal unless verbose (the dashboard may own it); the
 * verifier's reason and the failing program are kept for the one-line reason.
 */
static int log_verbose;
static char log_prog[64];      /* program named by the last "BPF program load failed" */
static char log_verifier[200]; /* why the verifier refused, from the last verifier log */
static char log_last[200];     /* last warning */

static void copy_line(char *dst, size_t len, const char *s, size_t n)
{
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* What the verifier prints after its verdict: statistics, not the reason. */
static bool is_stats_line(const char *s)
{
	return !strncmp(s, "processed ", 10) || !strncmp(s, "verification time ", 18) ||
	       !strncmp(s, "stack depth ", 12);
}

/*
 * Keep the line of the verifier's log [b, e) that says why it refused the program: the last one
 * but for the statistics after it ("processed 28 insns (limit 1000000) ..."), which say nothing
 * of the reason ("R0 invalid mem access 'map_value_or_null'").
 */
static void keep_verifier_reason(const char *b, const char *e)
{
	while (e > b) {
		const char *end = e, *start;

		while (end > b && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		start = end;
		while (start > b && start[-1] != '\n')
			start--;
		if (start < end && !is_stats_line(start)) {
			copy_line(log_verifier, sizeof(log_verifier), start, (size_t)(end - start));
			return;
		}
		e = start;
	}
}

static int on_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	const char *b, *e, *q;
	char *msg;

	if (level == LIBBPF_DEBUG && log_verbose < 2)
		return 0;
	/* Allocated: a verifier log comes as one message, and it can be megabytes long. */
	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	if (log_verbose >= 1)
		fputs(msg, stderr);
	if (level == LIBBPF_WARN) {
		copy_line(log_last, sizeof(log_last), msg, strlen(msg));
		if ((q = strstr(msg, "prog '")) && strstr(msg, "load failed")) {
			q += 6;
			e = strchr(q, '\'');
			if (e)
				copy_line(log_prog, sizeof(log_prog), q, (size_t)(e - q));
		}
		/* libbpf prints the whole log in one message between these markers. */
		b = strstr(msg, "-- BEGIN PROG LOAD LOG --");
		e = b ? strstr(b, "-- END PROG LOAD LOG --") : NULL;
		if (b && e)
			keep_verifier_reason(b, e);
	}
	free(msg);
	return 0;
}

static int fail(char *why, size_t len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Who was refused, for an EPERM: "not root" only when it is not (and holds none of the
 * capabilities); root in a container that dropped them is told which it lacks. Tracing needs
 * CAP_BPF and CAP_PERFMON (since 5.8), or CAP_SYS_ADMIN.
 */
static const char *refused_who(char *buf, size_t len)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f) && sscanf(line, "CapEff: %llx", &eff) != 1)
		;
	if (f)
		fclose(f);
	bool admin = eff >> 21 & 1, perfmon = eff >> 38 & 1, bpf = eff >> 39 & 1;
	if (geteuid() != 0 && !admin && !perfmon && !bpf)
		return "not root";
	if (admin || (bpf && perfmon))
		snprintf(buf, len,
			 "refused although uid %u has the capabilities (a security module, "
			 "lockdown or seccomp?)",
			 (unsigned)geteuid());
	else
		snprintf(buf, len, "missing privilege: uid %u lacks %s%s%s (or CAP_SYS_ADMIN)",
			 (unsigned)geteuid(), bpf ? "" : "CAP_BPF", bpf || perfmon ? "" : " and ",
			 perfmon ? "" : "CAP_PERFMON");
	return buf;
}

static int fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return err;
}

/*
 * Can we load a tracing program at all? A two-instruction program answers without libbpf's
 * misleading RLIMIT_MEMLOCK hints; libbpf_probe_bpf_prog_type() cannot be used: it reports
 * EPERM as "unsupported".
 */
static int preflight_bpf(char *why, size_t len)
{
	struct bpf_insn insns[2] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, NULL, "GPL", insns, 2, NULL);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	char who[160];
	const char *w = refused_who(who, sizeof(who));
	if ((fd == -EPERM || fd == -EACCES) && strcmp(w, "not root"))
		return fail(why, len, -EPERM,
			    "%s: bpf() refused to load a tracing program (%s); %s", w,
			    strerror(-fd), HINT_CAP);
	if (fd == -EPERM || fd == -EACCES)
		return fail(why, len, -EPERM,
			    "not root: bpf() refused to load a tracing program (%s; "
			    "kernel.unprivileged_bpf_disabled is set); %s",
			    strerror(-fd), HINT_CAP);
	if (fd == -ENOSYS)
		return fail(why, len, -ENOSYS,
			    "no bpf(): this kernel has no BPF system call (ENOSYS: built without "
			    "CONFIG_BPF_SYSCALL, or blocked by seccomp)");
	return fail(why, len, fd, "bpf() failed on a trivial tracing program: %s", strerror(-fd));
}

/*
 * Where libbpf 1.1 looks up tracepoint ids: debugfs's tracing/ when it exists, else tracefs.
 * As root, mount tracefs when it is missing; say what to do otherwise.
 */
static int preflight_tracefs(struct probes *p, char *why, size_t len)
{
	const char *dir = access(DEBUGFS, F_OK) == 0 ? DEBUGFS : TRACEFS;
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/events", dir);
	if (stat(path, &st) != 0 && errno == ENOENT && !strcmp(dir, TRACEFS) && geteuid() == 0) {
		if (mount("nodev", TRACEFS, "tracefs", 0, NULL) != 0)
			return fail(why, len, neg_errno(),
				    "tracefs not mounted, and mounting it failed (%s): "
				    "mount -t tracefs nodev " TRACEFS,
				    strerror(errno));
		if (log_verbose)
			fprintf(stderr, "netpollsim: mounted tracefs on " TRACEFS "\n");
	}
	if (stat(path, &st) != 0) {
		if (errno == EACCES || errno == EPERM)
			return fail(why, len, -EACCES,
				    "tracefs not readable: %s is root-only; run as root, or add "
				    "CAP_DAC_READ_SEARCH",
				    dir);
		if (errno == ENOENT)
			return fail(
			    why, len, -ENOENT,
			    "tracefs not mounted: %s has no events/; run as root (netpollsim "
			    "mounts it), or: mount -t tracefs nodev " TRACEFS,
			    dir);
		return fail(why, len, neg_errno(), "tracefs: %s: %s", path, strerror(errno));
	}
	/* stat, not access(): access() checks the real uid and ignores capabilities. */
	p->pwait2 = 1;
	for (int i = 0; i < PROBES_NPROBES; i++) {
		snprintf(path, sizeof(path), "%s/events/%s/%s/id", dir, probe_dir(i), probe_tp[i]);
		if (stat(path, &st) == 0)
			continue;
		if (errno == EACCES || errno == EPERM)
			return fail(why, len, -EACCES,
				    "tracefs not readable: %s: %s; run as root, or add "
				    "CAP_DAC_READ_SEARCH",
				    path, strerror(errno));
		if (i == NPS_PROBE_PWAIT2_ENTER || i == NPS_PROBE_PWAIT2_EXIT) {
			p->pwait2 = 0; /* Linux < 5.11: nobody can call it either */
			continue;
		}
		return fail(why, len, -ENOENT,
			    "tracepoint missing: %s/%s (%s; kernel without "
			    "CONFIG_FTRACE_SYSCALLS?)",
			    probe_dir(i), probe_tp[i], strerror(errno));
	}
	return 0;
}

static size_t ring_size(size_t want)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), sz = page;

	if (!want)
		want = NPS_BPF_RING_DEFAULT;
	while (sz < want && sz < ((size_t)1 << 30))
		sz <<= 1;
	return sz;
}

/*
 * The path id of an exec's path in its record: NPS_BPF_EXEC_PATH bytes, NUL-terminated unless
 * the path went on past them (bpf/netpoll.h). A cut path keeps its first bytes and ends with
 * NPS_PATH_CUT, so that nobody reading the trace takes it for the whole path.
 */
static unsigned exec_path_intern(const char *rec)
{
	char cut[NPS_BPF_EXEC_PATH - 1 + sizeof(NPS_PATH_CUT)];
	size_t n = strnlen(rec, NPS_BPF_EXEC_PATH);

	if (n < NPS_BPF_EXEC_PATH)
		return nps_path_intern(rec, n);
	memcpy(cut, rec, NPS_BPF_EXEC_PATH - 1);
	memcpy(cut + NPS_BPF_EXEC_PATH - 1, NPS_PATH_CUT, sizeof(NPS_PATH_CUT));
	return nps_path_intern(cut, sizeof(cut) - 1);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct probes *p = ctx;
	const unsigned char *d = data;
	struct nps_event e;

	for (size_t off = 0; off + sizeof(e) <= size; off += sizeof(e)) {
		memcpy(&e, d + off, sizeof(e));
		/* An exec's path follows it in the record (bpf/netpoll.h): into the path table. */
		if (e.kind == NPS_EV_EXEC && off + sizeof(e) + NPS_BPF_EXEC_PATH <= size) {
			e.u.exec.path = exec_path_intern((const char *)d + off + sizeof(e));
			off += NPS_BPF_EXEC_PATH;
		}
		if (e.kind == NPS_EV_LOST)
			__atomic_fetch_add(&p->lost_reported, e.u.lost.count, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&p->delivered, 1, __ATOMIC_RELAXED);
		p->ndelivered++;
		p->cb(p->cb_ctx, &e);
	}
	return 0;
}

static bool is_rw(int i)
{
	return i == NPS_PROBE_READ_EXIT || i == NPS_PROBE_WRITE_EXIT;
}

/*
 * Attach the read/write probes (rw) or all the others. The read/write probes run for every
 * read(2) and write(2) on the machine, so they are attached only once there is a break pipe to
 * watch. 0, or -errno with the reason in why.
 */
static int attach_some(struct probes *p, bool rw, char *why, size_t len)
{
	for (int i = 0; i < PROBES_NPROBES; i++) {
		if (is_rw(i) != rw || p->links[i] || !bpf_program__autoload(p->progs[i]))
			continue;
		p->links[i] = bpf_program__attach(p->progs[i]);
		if (p->links[i])
			continue;
		int err = neg_errno();

		p->links[i] = NULL;
		if (err == -EACCES)
			return fail(why, len, err,
				    "tracefs not readable: attaching %s/%s failed (EACCES); "
				    "run as root, or add CAP_DAC_READ_SEARCH",
				    probe_dir(i), probe_tp[i]);
		if (err == -ENOENT)
			return fail(why, len, err,
				    "tracepoint missing: attaching %s/%s failed (ENOENT); "
				    "is tracefs mounted? mount -t tracefs nodev " TRACEFS,
				    probe_dir(i), probe_tp[i]);
		if (err == -EPERM) {
			char who[160];
			return fail(why, len, err, "%s: attaching %s/%s refused (EPERM); %s",
				    refused_who(who, sizeof(who)), probe_dir(i), probe_tp[i],
				    HINT_CAP);
		}
		return fail(why, len, err, "attaching %s/%s failed: %s", probe_dir(i), probe_tp[i],
			    strerror(-err));
	}
	return 0;
}

int probes_open(const struct probes_opts *o, struct probes **out, char *why, size_t whylen)
{
	struct probes *p = NULL;
	struct stat st;
	int err;

	if (why && whylen)
		why[0] = '\0';
	if (!out)
		return fail(why, whylen, -EINVAL, "probes_open: no result pointer");
	*out = NULL;
	if (!o || o->tgid <= 0)
		return fail(why, whylen, -EINVAL, "probes_open: the process id must be > 0");

	log_verbose = o->verbose;
	log_prog[0] = log_verifier[0] = log_last[0] = '\0';
	libbpf_set_print(on_libbpf_log);

	if (stat(VMLINUX, &st) != 0)
		return fail(why, whylen, -ENOENT,
			    "no BTF: " VMLINUX " is missing (%s); the probes need a kernel built "
			    "with CONFIG_DEBUG_INFO_BTF",
			    strerror(errno));
	err = preflight_bpf(why, whylen);
	if (err)
		return err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return fail(why, whylen, -ENOMEM, "out of memory");
	p->stats_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	err = preflight_tracefs(p, why, whylen);
	if (err)
		goto cleanup;

	p->skel = netpoll_bpf__open();
	if (!p->skel) {
		err = neg_errno();
		err = fail(why, whylen, err, "opening the BPF object failed: %s", strerror(-err));
		goto cleanup;
	}
	struct bpf_program *progs[PROBES_NPROBES] = {
	    p->skel->progs.nps_exit_epoll_create1, p->skel->progs.nps_exit_epoll_ctl,
	    p->skel->progs.nps_enter_epoll_wait,   p->skel->progs.nps_exit_epoll_wait,
	    p->skel->progs.nps_enter_epoll_pwait,  p->skel->progs.nps_exit_epoll_pwait,
	    p->skel->progs.nps_enter_epoll_pwait2, p->skel->progs.nps_exit_epoll_pwait2,
	    p->skel->progs.nps_exit_read,	   p->skel->progs.nps_exit_write,
	    p->skel->progs.nps_sched_process_exec, p->skel->progs.nps_exit_epoll_create,
	    p->skel->progs.nps_sched_process_exit,
	};
	memcpy(p->progs, progs, sizeof(progs));
	if (!p->pwait2) {
		bpf_program__set_autoload(p->progs[NPS_PROBE_PWAIT2_ENTER], false);
		bpf_program__set_autoload(p->progs[NPS_PROBE_PWAIT2_EXIT], false);
	}
	p->ring_bytes = ring_size(o->ring_bytes);
	p->skel->rodata->targ_tgid = (__u32)o->tgid;
	/* in a pid namespace (a container) the pids we know are that namespace's: so are the
	 * probes' (PROC_PID_INIT_INO: the initial namespace, where the kernel's are ours) */
	struct stat pidns;
	if (!stat("/proc/self/ns/pid", &pidns) && pidns.st_ino != 0xEFFFFFFCU) {
		p->skel->rodata->pidns_dev = pidns.st_dev;
		p->skel->rodata->pidns_ino = pidns.st_ino;
	}
	p->skel->rodata->wakeup_bytes = p->ring_bytes / NPS_BPF_WAKEUP_DIVISOR;
	/* TEST HOOK (test_reject in bpf/netpoll.bpf.c): a real verifier rejection, for the tests. */
	const char *reject = getenv("NPS_TEST_BPF_REJECT");
	p->skel->rodata->test_reject = reject && !strcmp(reject, "1");
	bpf_map__set_max_entries(p->skel->maps.rb, (__u32)p->ring_bytes);

	err = netpoll_bpf__load(p->skel);
	if (err) {
		if (err == -EACCES)
			err = fail(why, whylen, err,
				   "verifier rejected program '%s' (EACCES at load: the verifier, "
				   "not a permission problem): %s; netpollsim trace -v --pid PID "
				   "shows the whole log",
				   log_prog[0] ? log_prog : "?",
				   log_verifier[0] ? log_verifier : log_last);
		else if (err == -EPERM) {
			char who[160];
			err = fail(why, whylen, err,
				   "%s: loading the BPF programs was refused (EPERM); %s",
				   refused_who(who, sizeof(who)), HINT_CAP);
		} else
			err = fail(why, whylen, err, "loading the BPF programs failed (%s): %s",
				   strerror(-err), log_verifier[0] ? log_verifier : log_last);
		goto cleanup;
	}

	p->ncpus = libbpf_num_possible_cpus();
	if (p->ncpus <= 0) {
		err = fail(why, whylen, p->ncpus ? p->ncpus : -EINVAL,
			   "cannot count the possible CPUs");
		goto cleanup;
	}
	/* Before attaching, so that creating its epoll instance is not traced. */
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.rb), on_record, p, NULL);
	if (!p->rb) {
		err = neg_errno();
		err = fail(why, whylen, err, "creating the ring buffer consumer failed: %s",
			   strerror(-err));
		goto cleanup;
	}
	if (o->tgid == getpid())
		p->skel->data->self_epfd = ring_buffer__epoll_fd(p->rb);
	if (o->prog_stats) {
		p->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (p->stats_fd < 0)
			p->stats_fd = -1; /* optional: run_stats stays 0 */
	}
	err = attach_some(p, false, why, whylen);
	if (err)
		goto cleanup;
	/*
	 * Every probe at once: an exit is never seen without its entry because of attach order.
	 * The clock first: every event is stamped at or after attach_ns (a trace's origin).
	 */
	p->attach_ns = now_ns();
	__atomic_store_n(&p->skel->bss->tracing, 1, __ATOMIC_SEQ_CST);
	*out = p;
	return 0;

cleanup:
	probes_close(p);
	return err;
}

int probes_set_break_fds(struct probes *p, int rd, int wr)
{
	char why[256];
	int err = 0;

	if (!p || rd < -1 || wr < -1)
		return -EINVAL;
	__atomic_store_n(&p->skel->data->break_rd, rd, __ATOMIC_RELAXED);
	__atomic_store_n(&p->skel->data->break_wr, wr, __ATOMIC_RELAXED);
	pthread_mutex_lock(&p->lock);
	if ((rd >= 0 || wr >= 0) && !__atomic_load_n(&p->detached, __ATOMIC_RELAXED))
		err = attach_some(p, true, why, sizeof(why));
	pthread_mutex_unlock(&p->lock);
	return err;
}

int probes_exclude_tid(struct probes *p, int tid)
{
	__u32 key = (__u32)tid;
	__u8 one = 1;
	int err;

	if (!p || tid <= 0)
		return -EINVAL;
	err =
	    bpf_map_update_elem(bpf_map__fd(p->skel->maps.excluded_tids), &key, &one, BPF_NOEXIST);
	if (err == -EEXIST)
		return 0;
	if (err == -E2BIG || err == -ENOMEM)
		return -ENOSPC;
	if (err)
		return err;
	/* After the insert: the probes skip the lookup while the count is 0. */
	__atomic_fetch_add(&p->skel->bss->nexcluded, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Sum the per-CPU counters. 0 or -errno. */
static int read_cpu(struct probes *p, struct nps_bpf_cpu *sum, uint64_t *since)
{
	struct nps_bpf_cpu *v = calloc((size_t)p->ncpus, sizeof(*v));
	__u32 zero = 0;
	int err;

	memset(sum, 0, sizeof(*sum));
	if (!v)
		return -ENOMEM;
	err = bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.cpu), &zero, v);
	if (!err) {
		for (int c = 0; c < p->ncpus; c++)
			for (int i = 0; i < NPS_STAT__COUNT; i++)
				sum->stat[i] += v[c].stat[i];
		/* the loss no record carried yet, over every CPU (bpf/netpoll.bpf.c) */
		*since = __atomic_load_n(&p->skel->bss->lost_pending, __ATOMIC_RELAXED)
			     ? p->skel->bss->lost_since
			     : 0;
	}
	free(v);
	return err;
}

/*
 * After detach no program can add to a CPU's pending loss any more, so what no later record
 * carried in-band is reported here, once, at the end of the stream.
 */
static void report_final_loss(struct probes *p)
{
	struct nps_bpf_cpu sum;
	uint64_t since = 0, reported;
	struct nps_event e;

	if (read_cpu(p, &sum, &since))
		return;
	p->final_done = 1;
	reported = __atomic_load_n(&p->lost_reported, __ATOMIC_RELAXED);
	if (sum.stat[NPS_STAT_LOST] <= reported)
		return;
	memset(&e, 0, sizeof(e));
	/* The loss ended when the probes stopped (not when the slow detach was over). */
	e.ts = p->stop_ns ? p->stop_ns : now_ns();
	if (since > e.ts)
		e.ts = since; /* a probe still running at the stop lost it */
	e.fd = -1;
	e.kind = NPS_EV_LOST;
	e.m = -1;
	e.p = -1;
	e.src = NPS_SRC_KERNEL;
	e.u.lost.count = sum.stat[NPS_STAT_LOST] - reported;
	e.u.lost.since = since ? since : e.ts;
	e.u.lost.source = NPS_SRC_KERNEL;
	__atomic_fetch_add(&p->lost_reported, e.u.lost.count, __ATOMIC_RELAXED);
	p->ndelivered++;
	p->cb(p->cb_ctx, &e);
}

int probes_poll(struct probes *p, int timeout_ms, void (*cb)(void *ctx, const struct nps_event *e),
		void *ctx)
{
	int err = 0;

	if (!p || !cb)
		return -EINVAL;
	p->cb = cb;
	p->cb_ctx = ctx;
	p->ndelivered = 0;
	/*
	 * Records are submitted without a wake-up unless the ring is filling up, so the wait
	 * usually times out; whatever it did, drain everything afterwards.
	 */
	int detached = __atomic_load_n(&p->detached, __ATOMIC_RELAXED);

	if (timeout_ms != 0 && !detached) {
		err = ring_buffer__poll(p->rb, timeout_ms);
		if (err == -EINTR)
			err = 0;
		/*
		 * Records are there before the timeout only when a probe woke us: what shows
		 * that the wake-ups are batched (a default ringbuf submit wakes the consumer for
		 * nearly every record), from this side rather than from the probes' own count.
		 */
		if (err > 0)
			__atomic_fetch_add(&p->woken, 1, __ATOMIC_RELAXED);
	}
	if (err >= 0) {
		__atomic_store_n(&p->drain_ns, now_ns(), __ATOMIC_RELAXED);
		err = ring_buffer__consume(p->rb);
	}
	if (err >= 0 && detached && !p->final_done)
		report_final_loss(p);
	return err < 0 ? err : p->ndelivered;
}

uint64_t probes_drained_upto(struct probes *p)
{
	uint64_t d = p ? __atomic_load_n(&p->drain_ns, __ATOMIC_RELAXED) : 0;

	return d > PROBES_INFLIGHT_NS ? d - PROBES_INFLIGHT_NS : 0;
}

static void *destroy_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

/*
 * Destroying a tracepoint link waits for an RCU grace period in the kernel: 30 to 90 ms each
 * here, one after the other. Threads wait for theirs together (measured: 0.3 to 0.8 s for the
 * ten probes in turn, 0.05 to 0.4 s in parallel).
 */
static void destroy_links(struct probes *p)
{
	pthread_t th[PROBES_NPROBES];
	bool started[PROBES_NPROBES] = {0};

	for (int i = 0; i < PROBES_NPROBES; i++)
		if (p->links[i])
			started[i] = pthread_create(&th[i], NULL, destroy_link, p->links[i]) == 0;
	for (int i = 0; i < PROBES_NPROBES; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			bpf_link__destroy(p->links[i]); /* NULL-safe */
		p->links[i] = NULL;
	}
}

void probes_stop(struct probes *p)
{
	if (!p || __atomic_load_n(&p->stop_ns, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&p->skel->bss->tracing, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&p->stop_ns, now_ns(), __ATOMIC_RELAXED);
}

int probes_detach(struct probes *p)
{
	if (!p)
		return -EINVAL;
	probes_stop(p);
	pthread_mutex_lock(&p->lock);
	destroy_links(p);
	__atomic_store_n(&p->detached, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void probes_stats(struct probes *p, struct probes_stats *st)
{
	struct nps_bpf_cpu sum;
	uint64_t since;

	memset(st, 0, sizeof(*st));
	if (!p)
		return;
	if (read_cpu(p, &sum, &since) == 0) {
		memcpy(st->hits, sum.stat, sizeof(st->hits));
		st->produced = sum.stat[NPS_STAT_PRODUCED];
		st->lost = sum.stat[NPS_STAT_LOST];
		st->records = sum.stat[NPS_STAT_RECORDS];
		st->wakeups = sum.stat[NPS_STAT_WAKEUPS];
		st->filtered = sum.stat[NPS_STAT_FILTERED];
		st->read_fail = sum.stat[NPS_STAT_READ_FAIL];
		st->unmatched = sum.stat[NPS_STAT_UNMATCHED];
		st->exit_missed = sum.stat[NPS_STAT_EXIT_MISSED];
		st->no_storage = sum.stat[NPS_STAT_NO_STORAGE];
	}
	st->delivered = __atomic_load_n(&p->delivered, __ATOMIC_RELAXED);
	st->lost_reported = __atomic_load_n(&p->lost_reported, __ATOMIC_RELAXED);
	st->woken = __atomic_load_n(&p->woken, __ATOMIC_RELAXED);
	st->ring_bytes = p->ring_bytes;
	st->attach_ns = p->attach_ns;
	st->drain_ns = __atomic_load_n(&p->drain_ns, __ATOMIC_RELAXED);
	st->stop_ns = __atomic_load_n(&p->stop_ns, __ATOMIC_RELAXED);
	st->detached = __atomic_load_n(&p->detached, __ATOMIC_RELAXED);
	st->pwait2 = p->pwait2;
	st->run_stats = p->stats_fd >= 0;
	for (int i = 0; i < PROBES_NPROBES; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (!bpf_program__autoload(p->progs[i]) ||
		    bpf_obj_get_info_by_fd(bpf_program__fd(p->progs[i]), &info, &len))
			continue;
		st->missed[i] = info.recursion_misses;
		if (!st->run_stats)
			continue;
		st->run_ns[i] = info.run_time_ns;
		st->run_cnt[i] = info.run_cnt;
	}
}

void probes_close(struct probes *p)
{
	if (!p)
		return;
	if (p->skel && p->skel->bss)
		probes_stop(p);
	destroy_links(p);
	ring_buffer__free(p->rb);
	netpoll_bpf__destroy(p->skel);
	pthread_mutex_destroy(&p->lock);
	if (p->stats_fd >= 0)
		close(p->stats_fd);
	free(p);
}
