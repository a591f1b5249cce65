// SPDX-License-Identifier: MIT
/* Helpers shared by the Criterion suites (tests/testutil.h). */
#include "tests/testutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#ifdef NPS_ASAN
/* Criterion's runner (not the code under test) leaks a few bytes now and then with --jobs=2. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libcriterion.so\n";
}
#endif

/*
 * The suites stop their children with SIGINT, as Ctrl-C in a terminal does. A background job of
 * a non-interactive shell (`make test &` in a script, `nohup make test &`) starts with SIGINT and
 * SIGQUIT ignored; the children would inherit that and keep it (netpollsim keeps an ignored
 * signal ignored, as nohup expects: cli/signals.c), and a test waiting for its Ctrl-C'd child
 * would wait until its timeout. So every suite gives them their default action back first.
 */
__attribute__((constructor)) static void tu_default_terminal_signals(void)
{
	static const int sigs[] = {SIGINT, SIGQUIT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			signal(sigs[i], SIG_DFL);
	}
}

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

static char tmpdir[64];
static pid_t tmpdir_owner;

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path); /* a mount point left by a test stays: nothing else is lost */
	return 0;
}

/*
 * At the test's exit its directory goes, with what the test wrote there: a day of `make test`
 * runs left tens of thousands behind. NPS_KEEP_TMP=1 keeps them for a look after a failure (a
 * test that crashes keeps its directory anyway). Only the process that made it removes it: a
 * child forked to run a command exits through the same handler.
 */
static void remove_tmpdir(void)
{
	const char *keep = getenv("NPS_KEEP_TMP");
	if (getpid() != tmpdir_owner || (keep && !strcmp(keep, "1")) || !strcmp(tmpdir, "/tmp"))
		return;
	nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/nps-test-XXXXXX");
		if (!mkdtemp(tmpdir)) {
			snprintf(tmpdir, sizeof(tmpdir), "/tmp");
		} else {
			tmpdir_owner = getpid();
			atexit(remove_tmpdir);
		}
	}
	return tmpdir;
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

/* ---- the simulated runtime in a test ---- */

#include "sim/scenario.h"
#include "sim/sim.h"
#include "traces/evring.h"
#include "traces/fold.h"
#include "traces/names.h"

#include <dirent.h>

static int collect(void *ctx, const struct nps_event *e)
{
	struct tu_events *ev = ctx;
	if (ev->n == ev->cap) {
		size_t cap = ev->cap ? ev->cap * 2 : 4096;
		struct nps_event *v = realloc(ev->v, cap * sizeof(*v));
		if (!v)
			return -1;
		ev->v = v;
		ev->cap = cap;
	}
	ev->v[ev->n++] = *e;
	return 0;
}

/* Drain the rings while the runtime runs (they are finite), then once more at the end. */
struct drainer {
	struct evmerge *m;
	struct tu_events *ev;
	_Atomic int stop;
};

static void *drain_thread(void *arg)
{
	struct drainer *d = arg;
	while (!atomic_load(&d->stop)) {
		evmerge_drain(d->m, false, UINT64_MAX, NULL, collect, d->ev);
		usleep(1000);
	}
	return NULL;
}

static int with_events(struct tu_events *ev, int (*run)(struct sim_config *cfg, void *ctx),
		       struct sim_config *cfg, void *ctx)
{
	if (!ev)
		return run(cfg, ctx);
	struct drainer d = {.m = evmerge_new(), .ev = ev};
	cfg->events = true;
	cfg->merge = d.m;
	pthread_t t;
	pthread_create(&t, NULL, drain_thread, &d);
	int rc = run(cfg, ctx);
	atomic_store(&d.stop, 1);
	pthread_join(t, NULL);
	evmerge_drain(d.m, true, UINT64_MAX, NULL, collect, ev);
	evmerge_free(d.m);
	return rc;
}

struct simrun_ctx {
	void (*fn)(void *);
	void *arg;
};

static int run_fn(struct sim_config *cfg, void *ctx)
{
	struct simrun_ctx *c = ctx;
	return sim_run(cfg, c->fn, c->arg);
}

int tu_sim_run(int procs, void (*fn)(void *), void *arg, struct tu_events *ev)
{
	struct sim_config cfg = {.gomaxprocs = procs, .seed = 1};
	struct simrun_ctx c = {fn, arg};
	return with_events(ev, run_fn, &cfg, &c);
}

struct scen_ctx {
	const struct scenario *sc;
	struct scenario_opts o;
	struct scenario_result *res;
};

static int run_scen(struct sim_config *cfg, void *ctx)
{
	struct scen_ctx *c = ctx;
	return scenario_run(c->sc, &c->o, cfg, c->res);
}

int tu_scenario_run(const char *name, int procs, int clients, int rounds,
		    struct scenario_result *res, struct tu_events *ev)
{
	struct scen_ctx c = {.sc = scenario_find(name), .res = res};
	if (!c.sc)
		return -ENOENT;
	c.o.clients = clients;
	c.o.rounds = rounds;
	struct sim_config cfg = {.gomaxprocs = procs, .seed = 1};
	return with_events(ev, run_scen, &cfg, &c);
}

int tu_fold_violations(const struct tu_events *ev)
{
	struct nps_fold f;
	if (fold_init(&f))
		return -1;
	int bad = 0;
	for (size_t i = 0; i < ev->n; i++) {
		struct fold_verdict v[4];
		int nv = fold_apply(&f, &ev->v[i], i + 1, v, 4);
		for (int k = 0; k < nv; k++) {
			if (v[k].level == FOLD_VIOLATION) {
				bad++;
				fprintf(stderr, "violation at event %zu: %s: %s\n", i + 1,
					v[k].rule, v[k].text);
			}
		}
	}
	fold_fini(&f);
	return bad;
}

const char *tu_pd_history(const struct tu_events *ev, uint64_t pd, char mode)
{
	return tu_pd_history_seq(ev, pd, 0, mode);
}

const char *tu_pd_history_seq(const struct tu_events *ev, uint64_t pd, uint32_t seq, char mode)
{
	static char buf[8192];
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ev->n; i++) {
		const struct nps_event *e = &ev->v[i];
		if (e->kind != NPS_EV_PD_STATE || e->u.pd_state.pd != pd ||
		    e->u.pd_state.mode != (nps_u8)mode || (seq && e->u.pd_state.seq != seq))
			continue;
		char a[32], b[32];
		nps_pdv_format(e->u.pd_state.from, a, sizeof(a));
		nps_pdv_format(e->u.pd_state.to, b, sizeof(b));
		if (NPS_PDV_IS_G(e->u.pd_state.from))
			strcpy(a, "G");
		if (NPS_PDV_IS_G(e->u.pd_state.to))
			strcpy(b, "G");
		int n = used == 0 ? snprintf(buf, sizeof(buf), "%s>%s", a, b)
				  : snprintf(buf + used, sizeof(buf) - used, ">%s", b);
		if (n < 0 || (size_t)n >= sizeof(buf) - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

long tu_find(const struct tu_events *ev, size_t start, uint16_t kind,
	     int (*pred)(const struct nps_event *e, void *ctx), void *ctx)
{
	for (size_t i = start; i < ev->n; i++)
		if (ev->v[i].kind == kind && (!pred || pred(&ev->v[i], ctx)))
			return (long)i;
	return -1;
}

int tu_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

int tu_fork_capture(void (*fn)(void *), void *arg, char **err)
{
	int p[2];
	if (pipe(p))
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while (buf && (n = read(p[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 512) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(p[0]);
	if (buf)
		buf[len] = '\0';
	*err = buf;
	int st;
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* ---- interrupting a blocked system call ---- */

struct tu_interrupter {
	pthread_t thread;
	pid_t tid;
	long nr;
	int times;
	void (*then)(void *);
	void *arg;
	_Atomic int stop, sent;
};

static void on_interrupt(int sig)
{
	(void)sig;
}

/*
 * Is thread tid (of this process, or a process's id: its main thread) blocked in system call
 * nr? ("running" when it is not in one.)
 */
int tu_in_syscall(pid_t tid, long nr)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)tid, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || !isdigit((unsigned char)buf[0]))
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == nr;
}

static void *interrupter(void *arg)
{
	struct tu_interrupter *it = arg;
	while (atomic_load(&it->sent) < it->times && !atomic_load(&it->stop)) {
		if (tu_in_syscall(it->tid, it->nr)) {
			syscall(SYS_tgkill, getpid(), it->tid, SIGUSR1);
			atomic_fetch_add(&it->sent, 1);
		}
		usleep(2000); /* let it take the signal and, if it retries, block again */
	}
	if (it->then && !atomic_load(&it->stop))
		it->then(it->arg);
	return NULL;
}

struct tu_interrupter *tu_interrupt_start(pid_t tid, long nr, int times, void (*then)(void *),
					  void *arg)
{
	struct sigaction sa = {.sa_handler = on_interrupt}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	struct tu_interrupter *it = calloc(1, sizeof(*it));
	it->tid = tid;
	it->nr = nr;
	it->times = times;
	it->then = then;
	it->arg = arg;
	pthread_create(&it->thread, NULL, interrupter, it);
	return it;
}

void tu_interrupt_stop(struct tu_interrupter *it)
{
	atomic_store(&it->stop, 1);
	pthread_join(it->thread, NULL);
	free(it);
}

int tu_interrupt_sent(const struct tu_interrupter *it)
{
	return atomic_load(&it->sent);
}

int tu_tcp_pair(int *a, int *b)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	*a = *b = -1;
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sa, &len))
		goto fail;
	*b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*b < 0 || connect(*b, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail;
	*a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (*a < 0)
		goto fail;
	close(l);
	return 0;
fail:;
	int e = errno;
	if (l >= 0)
		close(l);
	if (*b >= 0)
		close(*b);
	errno = e;
	return -1;
}

int tu_dial(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

void tu_no_leak_check(void)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[512];
	snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", asan ? asan : "",
		 asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
}

int tu_epoll_ctl_fails_on_this_thread(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_epoll_ctl, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSPC),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return -errno;
	return 0;
}
