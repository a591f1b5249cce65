// SPDX-License-Identifier: MIT
/*
 * What /proc (and the executable) say of a traced process: cli/procfs.h. Each read opens, reads
 * and closes its file at once; a process that exits meanwhile reads as gone (ENOENT), which
 * the callers tell apart from a refusal (denied_why says which privilege is missing).
 */
#include "cli/procfs.h"
#include "traces/evring.h" /* nps_nanotime */
#include "traces/json.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A stop signal came since the seeding began: what is left unread stays so. */
static bool seed_stopped(const struct seed *s)
{
	return s->stops && *s->stops != s->stops0;
}

int proc_status(int pid, struct proc_status *ps)
{
	char path[64], line[256];
	FILE *f;

	memset(ps, 0, sizeof(*ps));
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "State: %c", &ps->state) != 1 &&
		    sscanf(line, "Tgid: %d", &ps->tgid) != 1)
			sscanf(line, "Threads: %d", &ps->threads);
	fclose(f);
	return 0;
}

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h: the task is a kernel thread */

/*
 * What /proc/PID/stat says of pid: its name into comm (printable), its parent and its flags
 * (the 4th and 9th fields); false when it cannot be read (gone).
 */
static bool proc_stat(int pid, char *comm, size_t len, int *ppid, unsigned long *flags)
{
	char path[64], buf[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	/* the name, in parentheses, may hold anything, ')' too: the fields follow the last ')' */
	char *l = strchr(buf, '('), *r = strrchr(buf, ')');

	if (!l || !r || r < l || sscanf(r + 1, " %*c %d %*d %*d %*d %*d %lu", ppid, flags) != 2)
		return false;
	trace_sanitize(l + 1, (size_t)(r - l - 1), comm, len);
	return true;
}

bool proc_kthread(int pid, char *comm, size_t len)
{
	unsigned long flags = 0;
	int ppid;

	return proc_stat(pid, comm, len, &ppid, &flags) && (flags & PF_KTHREAD);
}

bool proc_exited(int pid)
{
	struct proc_status ps;

	if (kill(pid, 0) && errno == ESRCH)
		return true;
	if (proc_status(pid, &ps))
		return false; /* cannot tell: kill() says it is there */
	return (ps.state == 'Z' || ps.state == 'X') && ps.threads <= 1;
}

/*
 * Where /proc shows the process's fds and program: /proc/PID, or, when its leader has exited
 * (pthread_exit in main: a zombie while the other threads go on, and its fd, fdinfo and exe
 * read as empty or gone), /proc/PID/task/TID of a thread still running, which shares them.
 */
static void proc_base(int pid, char *buf, size_t len)
{
	struct proc_status ps;
	DIR *d;
	struct dirent *de;

	snprintf(buf, len, "/proc/%d", pid);
	if (proc_status(pid, &ps) || (ps.state != 'Z' && ps.state != 'X') || ps.threads <= 1)
		return;
	snprintf(buf, len, "/proc/%d/task", pid);
	d = opendir(buf);
	snprintf(buf, len, "/proc/%d", pid);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != pid) {
			snprintf(buf, len, "/proc/%d/task/%d", pid, atoi(de->d_name));
			break;
		}
	if (d)
		closedir(d);
}

void seed_free(struct seed *s)
{
	free(s->fds);
	free(s->reg);
	free(s->superseded);
}

/* The value of a line of /proc/WHO/status ("Uid:", "CapEff:"), into buf; false: not there. */
static bool status_field(const char *who, const char *key, char *buf, size_t len)
{
	char path[64], line[256];
	size_t k = strlen(key);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/status", who);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		if ((found = !strncmp(line, key, k)))
			snprintf(buf, len, "%s", line + k);
	if (f)
		fclose(f);
	return found;
}

/*
 * Why the kernel refuses netpollsim pid's fds in /proc (EACCES): its ptrace access check
 * (PTRACE_MODE_READ_FSCREDS) lets in a caller with CAP_SYS_PTRACE, or one of the same user and
 * group when the process holds no capability the caller lacks and is dumpable. Refused despite
 * CAP_SYS_PTRACE (root reading the init of a sandboxed VM or container), it is a security
 * module's doing, and no privilege helps; the message must not send root after one it has.
 */
static void denied_why(int pid, char *buf, size_t len)
{
	char who[16], v[128];
	unsigned long long eff = 0, prm = 0;
	unsigned uid[3] = {0}, gid[3] = {0};
	bool ptrace = status_field("self", "CapEff:", v, sizeof(v)) &&
		      sscanf(v, "%llx", &eff) == 1 && (eff >> CAP_SYS_PTRACE & 1);

	snprintf(who, sizeof(who), "%d", pid);
	bool ids = status_field(who, "Uid:", v, sizeof(v)) &&
		   sscanf(v, "%u %u %u", &uid[0], &uid[1], &uid[2]) == 3 &&
		   status_field(who, "Gid:", v, sizeof(v)) &&
		   sscanf(v, "%u %u %u", &gid[0], &gid[1], &gid[2]) == 3;
	bool caps = status_field(who, "CapPrm:", v, sizeof(v)) && sscanf(v, "%llx", &prm) == 1;
	bool same = ids;

	for (int i = 0; i < 3; i++)
		same = same && uid[i] == geteuid() && gid[i] == getegid();
	if (ptrace)
		snprintf(
		    buf, len,
		    "netpollsim has CAP_SYS_PTRACE, so no privilege is missing: a security "
		    "module (Landlock, SELinux, AppArmor, a BPF LSM) keeps pid %d's /proc from it",
		    pid);
	else if (ids && !same)
		snprintf(buf, len,
			 "pid %d runs as uid %u gid %u, not as netpollsim (uid %u gid %u): reading "
			 "another user's /proc needs CAP_SYS_PTRACE",
			 pid, uid[1], gid[1], (unsigned)geteuid(), (unsigned)getegid());
	else if (caps && (prm & ~eff))
		snprintf(buf, len,
			 "pid %d holds capabilities netpollsim lacks (%#llx): reading its /proc "
			 "needs CAP_SYS_PTRACE",
			 pid, prm & ~eff);
	else
		snprintf(buf, len,
			 "pid %d is not dumpable (a set-user-ID or file-capability program, or "
			 "prctl(PR_SET_DUMPABLE, 0)): reading its /proc needs CAP_SYS_PTRACE",
			 pid);
}

/* Remember the first failure: one line says it (what: the path). */
static void seed_problem(struct seed *s, int pid, const char *what, int err)
{
	char why[256] = "";

	if (s->problem[0])
		return;
	if (err == EACCES || err == EPERM)
		denied_why(pid, why, sizeof(why));
	snprintf(s->problem, sizeof(s->problem), "cannot read %s: %s%s%s%s", what, strerror(err),
		 why[0] ? " (" : "", why, why[0] ? ")" : "");
}

static int cmp_fdlink(const void *a, const void *b)
{
	const struct fdlink *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

void seed_read_fds(int pid, struct seed *s)
{
	char base[64], path[96], link[PATH_MAX];
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	proc_base(pid, base, sizeof(base));
	snprintf(path, sizeof(path), "%s/fd", base);
	d = opendir(path);
	if (!d) {
		seed_problem(s, pid, path, errno);
		return;
	}
	while ((de = readdir(d)) && !(s->interrupted = seed_stopped(s))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = atoi(de->d_name);

		snprintf(path, sizeof(path), "%s/fd/%d", base, fd);
		ssize_t n = readlink(path, link, sizeof(link) - 1);

		if (n < 0) {
			if (errno != ENOENT) /* ENOENT: closed since readdir */
				seed_problem(s, pid, path, errno);
			continue;
		}
		if (s->nfds == cap) {
			struct fdlink *v = realloc(s->fds, (cap ? cap * 2 : 64) * sizeof(*v));

			if (!v)
				break;
			s->fds = v;
			cap = cap ? cap * 2 : 64;
		}
		struct fdlink *l = &s->fds[s->nfds++];
		size_t k = (size_t)n < sizeof(l->link) - 1 ? (size_t)n : sizeof(l->link) - 1;

		l->fd = fd;
		memcpy(l->link, link, k);
		l->link[k] = '\0';
	}
	closedir(d);
	if (s->nfds)
		qsort(s->fds, s->nfds, sizeof(*s->fds), cmp_fdlink);
}

/* The link of fd, or "" when it was not read. */
static const char *fd_link(const struct seed *s, int fd)
{
	struct fdlink key = {.fd = fd};
	const struct fdlink *l =
	    s->nfds ? bsearch(&key, s->fds, s->nfds, sizeof(*s->fds), cmp_fdlink) : NULL;

	return l ? l->link : "";
}

/* The open flags of fd (O_ACCMODE...), from its fdinfo; -1 if unreadable. */
static int fd_flags(int pid, int fd)
{
	char base[64], path[96], line[256];
	unsigned flags = 0;
	FILE *f;

	proc_base(pid, base, sizeof(base));
	snprintf(path, sizeof(path), "%s/fdinfo/%d", base, fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %o", &flags) == 1)
			break;
	fclose(f);
	return (int)flags;
}

void seed_read_epoll(int pid, int epfd, struct seed *s, size_t *cap)
{
	char base[64], path[96], line[256];
	unsigned events;
	unsigned long long data;
	int tfd;
	FILE *f;

	proc_base(pid, base, sizeof(base));
	snprintf(path, sizeof(path), "%s/fdinfo/%d", base, epfd);
	f = fopen(path, "r");
	if (!f) {
		if (errno != ENOENT)
			seed_problem(s, pid, path, errno);
		return;
	}
	while (fgets(line, sizeof(line), f) && !(s->interrupted = seed_stopped(s))) {
		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3)
			continue;
		if (s->nreg == *cap) {
			struct join_interest *v =
			    realloc(s->reg, (*cap ? *cap * 2 : 64) * sizeof(*v));

			if (!v)
				break;
			s->reg = v;
			*cap = *cap ? *cap * 2 : 64;
		}
		s->reg[s->nreg++] = (struct join_interest){
		    .epfd = epfd, .fd = tfd, .events = events & ~EPOLLERR_HUP, .data = data};
	}
	fclose(f);
}

int seed_cmp_reg(const void *a, const void *b)
{
	const struct join_interest *x = a, *y = b;

	if (x->epfd != y->epfd)
		return (x->epfd > y->epfd) - (x->epfd < y->epfd);
	return (x->fd > y->fd) - (x->fd < y->fd);
}

static int cmp_link(const void *a, const void *b)
{
	const struct fdlink *x = a, *y = b;
	int c = strcmp(x->link, y->link);

	return c ? c : cmp_fdlink(a, b);
}

/* A break fd candidate: its read and write ends and the registration that makes it one. */
struct break_cand {
	int rd, wr;
	const struct join_interest *reg;
};

/* Does epoll fd epfd hold a registration made as Go's netpollopen makes them? */
static bool epfd_has_netpollopen(const struct seed *s, int epfd)
{
	for (size_t i = 0; i < s->nreg; i++)
		if (s->reg[i].epfd == epfd && s->reg[i].events == NPS_NETPOLL_EVENTS)
			return true;
	return false;
}

/*
 * Of several candidates (a program with an epoll fd of its own, and its own wake-up pipe, as
 * older fsnotify has), Go's: the one whose epoll fd also holds netpollopen's registrations
 * (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET), which the runtime's alone makes. A process with no
 * socket open yet has none: the candidates stay ambiguous (--break names the pipe).
 */
static void pick_break(struct seed *s, const struct break_cand *c, int n)
{
	int found = -1, matches = 0;

	for (int i = 0; i < n; i++)
		if (epfd_has_netpollopen(s, c[i].reg->epfd)) {
			found = i;
			matches++;
		}
	if (n == 1)
		found = 0;
	else if (matches != 1)
		return;
	s->break_rd = c[found].rd;
	s->break_wr = c[found].wr;
	s->candidates = 1;
}

void seed_find_break(int pid, struct seed *s)
{
	struct fdlink *bylink = NULL;
	struct break_cand cand[16];
	int n = 0;

	for (size_t i = 0; i < s->nreg && !s->interrupted; i++) {
		const char *link = fd_link(s, s->reg[i].fd);

		if (s->reg[i].events != 0x1)
			continue;
		if (!strcmp(link, "anon_inode:[eventfd]")) {
			if (n < 16)
				cand[n++] =
				    (struct break_cand){s->reg[i].fd, s->reg[i].fd, &s->reg[i]};
			s->candidates++;
			continue;
		}
		if (strncmp(link, "pipe:[", 6))
			continue;
		if (!bylink) { /* the fds sorted by link, to find the other end of each pipe */
			bylink = malloc(s->nfds * sizeof(*bylink));
			if (!bylink)
				return;
			memcpy(bylink, s->fds, s->nfds * sizeof(*bylink));
			qsort(bylink, s->nfds, sizeof(*bylink), cmp_link);
		}
		struct fdlink key = {.fd = -1};

		snprintf(key.link, sizeof(key.link), "%s", link);
		size_t lo = 0, hi = s->nfds; /* the first entry >= key */

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (cmp_link(&bylink[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < s->nfds && !strcmp(bylink[lo].link, link); lo++) {
			if (bylink[lo].fd != s->reg[i].fd &&
			    (fd_flags(pid, bylink[lo].fd) & O_ACCMODE) == O_WRONLY) {
				if (n < 16)
					cand[n++] = (struct break_cand){s->reg[i].fd, bylink[lo].fd,
									&s->reg[i]};
				s->candidates++;
				break;
			}
		}
	}
	free(bylink);
	if (n && n == s->candidates)
		pick_break(s, cand, n);
}

void seed_from_proc(int pid, bool want_break, const volatile sig_atomic_t *stops, struct seed *s)
{
	size_t cap = 0;

	memset(s, 0, sizeof(*s));
	s->stops = stops;
	s->stops0 = stops ? *stops : 0;
	s->break_rd = s->break_wr = -1;
	seed_read_fds(pid, s);
	for (size_t i = 0; i < s->nfds && !s->interrupted; i++)
		if (!strcmp(s->fds[i].link, EVENTPOLL_LINK))
			seed_read_epoll(pid, s->fds[i].fd, s, &cap);
	if (s->nreg) {
		qsort(s->reg, s->nreg, sizeof(*s->reg), seed_cmp_reg);
		s->superseded = calloc(s->nreg, sizeof(*s->superseded));
	}
	if (want_break)
		seed_find_break(pid, s);
	s->done_ns = nps_nanotime();
}

/* ---- what /proc tells a tracer that sees nothing: the children, the waits in progress ---- */

bool seed_has_epoll(const struct seed *s)
{
	for (size_t i = 0; s && i < s->nfds; i++)
		if (!strcmp(s->fds[i].link, EVENTPOLL_LINK))
			return true;
	return false;
}

/* Does pid have an epoll fd now? (Its fds' links, one readlink each.) */
static bool proc_has_epoll(int pid)
{
	char path[64], link[64];
	struct dirent *de;
	bool yes = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	while (d && !yes && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, atoi(de->d_name));
		ssize_t n = readlink(path, link, sizeof(link) - 1);

		yes = n == (ssize_t)strlen(EVENTPOLL_LINK) &&
		      !memcmp(link, EVENTPOLL_LINK, (size_t)n);
	}
	if (d)
		closedir(d);
	return yes;
}

struct proc_parent {
	int pid, ppid;
};

int proc_epoll_descendants(int pid, char *buf, size_t len, int *first)
{
	struct proc_parent *v = NULL;
	size_t n = 0, cap = 0, len0 = 0;
	char comm[64];
	struct dirent *de;
	DIR *d = opendir("/proc");
	int found = 0;

	buf[0] = '\0';
	while (d && (de = readdir(d))) {
		unsigned long flags;
		struct proc_parent p = {atoi(de->d_name), 0};

		if (p.pid <= 0 || !proc_stat(p.pid, comm, sizeof(comm), &p.ppid, &flags))
			continue;
		if (n == cap) {
			struct proc_parent *w =
			    realloc(v, (cap = cap ? cap * 2 : 256) * sizeof(*v));

			if (!w)
				break;
			v = w;
		}
		v[n++] = p;
	}
	if (d)
		closedir(d);
	/* breadth first: each process found takes its parent's place as ppid 0, never seen again */
	int *queue = malloc((n + 1) * sizeof(*queue));
	size_t qn = 0;

	if (queue)
		queue[qn++] = pid;
	for (size_t q = 0; queue && q < qn; q++)
		for (size_t i = 0; i < n; i++) {
			/* not this tracer (its own ring buffer's epoll fd), when pid is its shell */
			if (v[i].ppid != queue[q] || v[i].pid == pid || v[i].pid == getpid())
				continue;
			queue[qn++] = v[i].pid;
			v[i].ppid = 0;
		}
	for (size_t q = 1; q < qn; q++) {
		unsigned long flags;
		int ppid;

		if (!proc_has_epoll(queue[q]) ||
		    !proc_stat(queue[q], comm, sizeof(comm), &ppid, &flags))
			continue;
		if (!found++)
			*first = queue[q];
		if (found <= 4 && len0 < len)
			len0 += (size_t)snprintf(buf + len0, len - len0, "%s%d (%s)",
						 found > 1 ? ", " : "", queue[q], comm);
	}
	if (found > 4 && len0 < len)
		snprintf(buf + len0, len - len0, " and %d more", found - 4);
	free(queue);
	free(v);
	return found;
}

/*
 * n bytes of the process's memory at addr into buf (through a running thread when the leader
 * has exited: a zombie's mem reads nothing); true when all were read.
 */
static bool proc_mem_read(int pid, uint64_t addr, void *buf, size_t n)
{
	char base[64], path[96];
	int fd;
	bool ok;

	proc_base(pid, base, sizeof(base));
	snprintf(path, sizeof(path), "%s/mem", base);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = pread(fd, buf, n, (off_t)addr) == (ssize_t)n;
	close(fd);
	return ok;
}

/*
 * epoll_pwait2's timeout from its timespec in the process's memory, in ms rounded up as the
 * probes show it (bpf/netpoll.bpf.c timespec_ms): "-1" for NULL, "?" when it cannot be read.
 */
static void pwait2_timeout(int pid, unsigned long addr, char *buf, size_t len)
{
	struct {
		int64_t sec, nsec;
	} ts;
	snprintf(buf, len, addr ? "?" : "-1");
	if (addr && proc_mem_read(pid, addr, &ts, sizeof(ts)) && ts.sec >= 0 && ts.nsec >= 0 &&
	    ts.nsec < 1000000000)
		snprintf(buf, len, "%" PRId64,
			 ts.sec >= 0x7fffffff / 1000
			     ? 0x7fffffff
			     : ts.sec * 1000 + (ts.nsec + 999999) / 1000000);
}

int proc_waits_now(int pid, struct wait_now *w, int max)
{
	char path[96], line[256];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		int tid = atoi(de->d_name), fd;
		long nr;
		unsigned long a[4];
		ssize_t k;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
		if (tid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		k = read(fd, line, sizeof(line) - 1);
		close(fd);
		line[k > 0 ? k : 0] = '\0';
		/* "232 0x7 0x5561d2c0 0x200 0xffffffff ...", or "running", or "-1 ..." */
		if (sscanf(line, "%ld %lx %lx %lx %lx", &nr, &a[0], &a[1], &a[2], &a[3]) != 5)
			continue;
		int sub = -1;
#ifdef SYS_epoll_wait
		sub = nr == SYS_epoll_wait ? NPS_WAIT_EPOLL_WAIT : sub;
#endif
		sub = nr == SYS_epoll_pwait ? NPS_WAIT_EPOLL_PWAIT : sub;
#ifdef SYS_epoll_pwait2
		sub = nr == SYS_epoll_pwait2 ? NPS_WAIT_EPOLL_PWAIT2 : sub;
#endif
		if (sub < 0 || n++ >= max)
			continue;
		struct wait_now *x = &w[n - 1];

		*x = (struct wait_now){tid, sub, (int)a[0], (int)a[2], ""};
		if (sub == NPS_WAIT_EPOLL_PWAIT2)
			pwait2_timeout(pid, a[3], x->timeout, sizeof(x->timeout));
		else
			snprintf(x->timeout, sizeof(x->timeout), "%d", (int)(uint32_t)a[3]);
	}
	if (d)
		closedir(d);
	for (int i = 1; i < (n < max ? n : max); i++) /* insertion sort by tid: few threads */
		for (int j = i; j > 0 && w[j].tid < w[j - 1].tid; j--) {
			struct wait_now tmp = w[j];

			w[j] = w[j - 1];
			w[j - 1] = tmp;
		}
	return n;
}

/* What a trace's header says of a Go program whose build info has no version trace can read. */
#define GO_VERSION_UNKNOWN "go (version unknown)"

/*
 * The Go version in a .go.buildinfo section s, into ver (len bytes), as `go version` prints it
 * ("go1.22.12"). The layout since Go 1.18 (debug/buildinfo): the magic "\xff Go buildinf:", the
 * pointer size, flags whose bit 1 says the strings follow inline, and at offset 32 the version,
 * its length a uvarint. Older Go points to the strings instead; for that, and for anything that
 * does not read as a version, GO_VERSION_UNKNOWN.
 */
static void buildinfo_version(int fd, const Elf64_Shdr *s, char *ver, size_t len)
{
	unsigned char b[32 + 10 + 64];
	size_t n = s->sh_size < sizeof(b) ? (size_t)s->sh_size : sizeof(b), i = 32;
	uint64_t vlen = 0;

	snprintf(ver, len, GO_VERSION_UNKNOWN);
	if (n <= i || pread(fd, b, n, (off_t)s->sh_offset) != (ssize_t)n ||
	    memcmp(b, "\xff Go buildinf:", 14) || !(b[15] & 2))
		return;
	for (int shift = 0; i < n && shift < 64; shift += 7) {
		vlen |= (uint64_t)(b[i] & 0x7f) << shift;
		if (!(b[i++] & 0x80))
			break;
	}
	/* "go1.22.12", or a toolchain built from source: "devel go1.23-..." */
	if (vlen < 2 || vlen > n - i || vlen >= len ||
	    (strncmp((const char *)b + i, "go", 2) && strncmp((const char *)b + i, "devel", 5)))
		return;
	for (size_t k = 0; k < vlen; k++)
		if (b[i + k] < 0x20 || b[i + k] > 0x7e)
			return;
	memcpy(ver, b + i, vlen);
	ver[vlen] = '\0';
}

/* The executable of a process, its ELF header and section headers (struct elf_close frees). */
struct elf {
	int fd;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh;	 /* eh.e_shnum of them */
	char *names;	 /* the section names */
	size_t names_sz; /* bytes in names */
};

static void elf_close(struct elf *e)
{
	free(e->names);
	free(e->sh);
	if (e->fd >= 0)
		close(e->fd);
}

/* 1 read, 0 not an ELF64 with section headers, -errno when /proc/PID/exe cannot be opened. */
static int elf_open(int pid, struct elf *e)
{
	char base[64], path[96];

	memset(e, 0, sizeof(*e));
	proc_base(pid, base, sizeof(base));
	snprintf(path, sizeof(path), "%s/exe", base);
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	if (pread(e->fd, &e->eh, sizeof(e->eh), 0) != (ssize_t)sizeof(e->eh) ||
	    memcmp(e->eh.e_ident, ELFMAG, SELFMAG) || e->eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    e->eh.e_shentsize != sizeof(Elf64_Shdr) || !e->eh.e_shnum ||
	    e->eh.e_shstrndx >= e->eh.e_shnum)
		return 0;
	size_t shlen = (size_t)e->eh.e_shnum * sizeof(*e->sh);

	e->sh = malloc(shlen);
	if (!e->sh || pread(e->fd, e->sh, shlen, (off_t)e->eh.e_shoff) != (ssize_t)shlen)
		return 0;
	const Elf64_Shdr *strtab = &e->sh[e->eh.e_shstrndx];

	if (!strtab->sh_size || strtab->sh_size > (1U << 20))
		return 0;
	e->names = malloc(strtab->sh_size + 1);
	if (!e->names || pread(e->fd, e->names, strtab->sh_size, (off_t)strtab->sh_offset) !=
			     (ssize_t)strtab->sh_size)
		return 0;
	e->names[strtab->sh_size] = '\0';
	e->names_sz = strtab->sh_size;
	return 1;
}

/* The section of that name, or NULL. */
static const Elf64_Shdr *elf_section(const struct elf *e, const char *name)
{
	for (int i = 0; e->names && i < e->eh.e_shnum; i++)
		if (e->sh[i].sh_name < e->names_sz && !strcmp(e->names + e->sh[i].sh_name, name))
			return &e->sh[i];
	return NULL;
}

int proc_go(int pid, char *ver, size_t len)
{
	struct elf e;
	int rc = elf_open(pid, &e);
	const Elf64_Shdr *bi = rc > 0 ? elf_section(&e, ".go.buildinfo") : NULL;

	if (bi && ver)
		buildinfo_version(e.fd, bi, ver, len);
	elf_close(&e);
	return rc < 0 ? rc : bi != NULL;
}

/*
 * The address of the symbol name in the executable's symbol table, 0 when there is none (a
 * program linked with -s, or stripped). Read a few thousand symbols at a time.
 */
static uint64_t elf_symbol(const struct elf *e, const char *name)
{
	const Elf64_Shdr *st = elf_section(e, ".symtab");
	Elf64_Sym sym[2048];
	size_t nlen = strlen(name);

	if (!st || st->sh_entsize != sizeof(Elf64_Sym) || st->sh_link >= e->eh.e_shnum)
		return 0;
	const Elf64_Shdr *str = &e->sh[st->sh_link];
	char *want = malloc(nlen + 1);

	for (uint64_t off = 0; want && off < st->sh_size; off += sizeof(sym)) {
		ssize_t n = pread(e->fd, sym, sizeof(sym), (off_t)(st->sh_offset + off));

		for (ssize_t k = 0; k < n / (ssize_t)sizeof(*sym); k++) {
			if (sym[k].st_name + nlen >= str->sh_size ||
			    pread(e->fd, want, nlen + 1,
				  (off_t)(str->sh_offset + sym[k].st_name)) !=
				(ssize_t)(nlen + 1) ||
			    memcmp(want, name, nlen + 1))
				continue;
			free(want);
			return sym[k].st_value;
		}
		if (n < (ssize_t)sizeof(sym))
			break;
	}
	free(want);
	return 0;
}

/*
 * Where a position-independent executable was loaded: the start of its mapping at offset 0 in
 * /proc/PID/maps (found by the executable's inode: the Go heap's mappings may come first) less
 * its first PT_LOAD's page (0x400000 for Go's PIEs); 0 for a fixed-address one (Go's default on
 * linux/amd64), or when it cannot be told.
 */
static uint64_t elf_load_bias(int pid, const struct elf *e)
{
	char base[64], path[96], line[512];
	Elf64_Phdr ph;
	uint64_t first = UINT64_MAX, bias = 0;
	struct stat st;
	FILE *f;

	if (e->eh.e_type != ET_DYN || e->eh.e_phentsize != sizeof(ph) || fstat(e->fd, &st))
		return 0;
	for (int i = 0; i < e->eh.e_phnum; i++)
		if (pread(e->fd, &ph, sizeof(ph),
			  (off_t)(e->eh.e_phoff + (uint64_t)i * sizeof(ph))) ==
			(ssize_t)sizeof(ph) &&
		    ph.p_type == PT_LOAD && ph.p_vaddr < first)
			first = ph.p_vaddr & ~(uint64_t)0xfff;
	proc_base(pid, base, sizeof(base));
	snprintf(path, sizeof(path), "%s/maps", base);
	f = fopen(path, "r");
	while (f && first != UINT64_MAX && fgets(line, sizeof(line), f)) {
		uint64_t start, off;
		unsigned long ino;

		if (sscanf(line, "%" SCNx64 "-%*x %*s %" SCNx64 " %*s %lu", &start, &off, &ino) ==
			3 &&
		    !off && ino == st.st_ino && start >= first) {
			bias = start - first;
			break;
		}
	}
	if (f)
		fclose(f);
	return bias;
}

/*
 * runtime.gomaxprocs of a running Go program, read from its memory (/proc/PID/mem) at the
 * address its symbol table gives: what a runtime.GOMAXPROCS call set, which neither the
 * environment nor the CPUs tell. 0 when it cannot be read (no symbol table, no access).
 */
static int go_gomaxprocs(int pid)
{
	struct elf e;
	int32_t v = 0;
	uint64_t at = elf_open(pid, &e) > 0 ? elf_symbol(&e, "runtime.gomaxprocs") : 0;

	if (at && !proc_mem_read(pid, at + elf_load_bias(pid, &e), &v, sizeof(v)))
		v = 0;
	elf_close(&e);
	return v > 0 && v <= 32768 ? v : 0;
}

void proc_exe(int pid, char *buf, size_t len)
{
	char base[64], path[96], link[PATH_MAX];

	proc_base(pid, base, sizeof(base));
	snprintf(path, sizeof(path), "%s/exe", base);
	ssize_t n = readlink(path, link, sizeof(link));

	trace_sanitize(link, n > 0 ? (size_t)n : 0, buf, len);
}

int proc_is_go(int pid)
{
	return proc_go(pid, NULL, 0);
}

int proc_gomaxprocs(int pid, bool *from_runtime)
{
	char base[64], path[96], buf[65536];
	size_t n;
	FILE *f;
	cpu_set_t set;
	long v = go_gomaxprocs(pid);

	*from_runtime = v > 0;
	if (v > 0)
		return (int)v;
	v = sched_getaffinity(pid, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;

	proc_base(pid, base, sizeof(base));
	snprintf(path, sizeof(path), "%s/environ", base);
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		/* as schedinit reads it: the first GOMAXPROCS= (gogetenv), digits only (atoi32) */
		for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
			if (strncmp(buf + i, "GOMAXPROCS=", 11))
				continue;
			const char *d = buf + i + 11;
			char *end;
			long x = *d >= '0' && *d <= '9' ? strtol(d, &end, 10) : 0;
			if (x > 0 && !*end)
				v = x;
			break;
		}
		fclose(f);
	}
	/* the header's range: Go would start with more, which no machine here gives it */
	return v > 32768 ? 32768 : v > 0 ? (int)v : 1;
}
