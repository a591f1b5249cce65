/* SPDX-License-Identifier: MIT */
/*
 * What /proc (and the executable) say of a process that `netpollsim trace` follows: its
 * status, its fds and the registrations in its epoll fds before the probes were attached (the
 * seed of the interest set), Go's netpoll break pipe among them, whether it is a Go program
 * and its GOMAXPROCS, the processes it started that have an epoll fd, and its threads in an
 * epoll wait. Reads only; a process that changes meanwhile is read as it is at that moment.
 * Used by cli/cmd_trace.c alone; it leaves out everything the probes see.
 */
#ifndef NPS_CLI_PROCFS_H
#define NPS_CLI_PROCFS_H

#include "traces/join.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EPOLLERR_HUP 0x18U /* the kernel adds these to every registration */

/* What trace needs of /proc/PID/status. */
struct proc_status {
	int tgid;    /* the process a thread id belongs to */
	int threads; /* threads not yet dead */
	char state;  /* R, S, D, T, Z (zombie), X (dead)... */
};

#define EVENTPOLL_LINK "anon_inode:[eventpoll]" /* what /proc/PID/fd/N reads for an epoll fd */

/* One fd of the traced process and what /proc/PID/fd says it is. */
struct fdlink {
	int fd;
	char link[40]; /* "pipe:[1234]", "anon_inode:[eventpoll]"... (longer ones cut short) */
};

/* What /proc says of the process when tracing begins (and again when it ends: say_gone_unseen). */
struct seed {
	struct fdlink *fds; /* every fd, sorted by fd */
	size_t nfds;
	struct join_interest *reg; /* the registrations in its epoll fds, sorted by (epfd, fd) */
	bool *superseded; /* reg[i] was changed by an epoll_ctl made while /proc was read */
	size_t nreg;
	int break_rd, break_wr, candidates; /* Go's break pipe: the one candidate */
	uint64_t done_ns;		    /* when the seeding ended */
	char problem[512];		    /* the first read of /proc that failed, "" if none */
	bool interrupted;		    /* a stop signal came during the seeding */
	const volatile sig_atomic_t *stops; /* the caller's count of stop signals (may be NULL) */
	sig_atomic_t stops0;		    /* *stops when it began */
};

/* A thread of the process in an epoll wait, as /proc/PID/task/TID/syscall shows it. */
struct wait_now {
	int tid;
	int sub; /* enum nps_wait_sub */
	int epfd, maxevents;
	char timeout[24]; /* as the events show it: "-1", "100", "?" (pwait2's timespec unread) */
};

/* 0, or -errno (ENOENT: no such process or thread). */
int proc_status(int pid, struct proc_status *ps);

/*
 * Is pid a kernel thread (kthreadd, kworker/0:1...)? PF_KTHREAD in the flags of /proc/PID/stat,
 * and its name into comm. A kernel thread makes no system call, so no epoll call to trace: the
 * probes would show nothing, and say nothing of why.
 */
bool proc_kthread(int pid, char *comm, size_t len);

/*
 * Has the process ended? kill(pid, 0) still succeeds for a zombie (it has exited, its parent
 * has not reaped it yet), so a zombie counts as ended: state Z or X with no thread left (a
 * leader that called pthread_exit is a zombie too, while its other threads go on).
 */
bool proc_exited(int pid);

/* Frees what the seed holds (not s itself). */
void seed_free(struct seed *s);

/* Every fd of the process and its link, each read once, into s->fds (sorted by fd). */
void seed_read_fds(int pid, struct seed *s);

/*
 * One epoll fd's registrations, from its fdinfo ("tfd: 7 events: 8000201d data: ..."). The
 * kernel adds EPOLLERR|EPOLLHUP to every registration; they are taken off again, so that a
 * registration reads as it was asked for (Go's netpollopen mask, for one).
 */
void seed_read_epoll(int pid, int epfd, struct seed *s, size_t *cap);

/* qsort/bsearch order of struct join_interest: by epfd, then fd. */
int seed_cmp_reg(const void *a, const void *b);

/*
 * Go's break fd: registered for EPOLLIN alone, level-triggered (spec section 2.2): an eventfd
 * (Go 1.23+), or the read end of a pipe whose write end the process holds (Go <= 1.22).
 */
void seed_find_break(int pid, struct seed *s);

/*
 * The process's interest set and (want_break) Go's break pipe, from /proc: each fd's link read
 * once, each epoll fd's fdinfo once. Stops early on a stop signal (s->interrupted).
 */
void seed_from_proc(int pid, bool want_break, const volatile sig_atomic_t *stops, struct seed *s);

/* Did /proc show the process an epoll fd when the seed was read? */
bool seed_has_epoll(const struct seed *s);

/*
 * The processes descended from pid (its children, theirs...) that have an epoll fd, as
 * "31912 (nginx), 31913 (nginx)" into buf, at most 4 and "and N more"; returns how many, the
 * first one's pid in *first. A server that forks its workers waits in them, not in the process
 * one finds first (nginx's master, `pgrep -o nginx`); `go run` runs the program as its child.
 * The probes trace one process (the tgid is fixed at load time): naming these is the way on.
 * Every process's parent is read from its stat: /proc/PID/task/TID/children needs
 * CONFIG_PROC_CHILDREN and lists one thread's children only.
 */
int proc_epoll_descendants(int pid, char *buf, size_t len, int *first);

/*
 * The threads of pid in an epoll wait now, into w (max), in thread order; returns how many
 * there are (more than max: only max are filled). A wait that began before the probes were
 * attached shows nothing until it returns, and a process that waits all the time shows nothing
 * at all: this says where it is.
 */
int proc_waits_now(int pid, struct wait_now *w, int max);

/*
 * Is pid a Go program? Go's linker gives every executable it links a .go.buildinfo section
 * (the build information of runtime/debug.ReadBuildInfo and `go version -m`), kept by
 * -ldflags=-s and by strip(1): one section-name lookup in the ELF of /proc/PID/exe. 1 yes, 0 no
 * (or not an ELF64 with section headers), -errno when the executable cannot be read. For a Go
 * program, ver (len bytes; NULL: not wanted) gets the Go version that built it.
 */
int proc_go(int pid, char *ver, size_t len);

/* The path of the process's executable into buf, printable (trace_sanitize); "" unknown. */
void proc_exe(int pid, char *buf, size_t len);

/* proc_go without the version. */
int proc_is_go(int pid);

/*
 * GOMAXPROCS of a (Go) process: runtime.gomaxprocs read from its memory when its executable
 * has a symbol table (*from_runtime true); else from its environment, else Go's default, the
 * CPUs its affinity mask allows (runtime/os_linux.go getproccount; read now, where Go read it
 * at its start), which a runtime.GOMAXPROCS call in the program would make wrong.
 */
int proc_gomaxprocs(int pid, bool *from_runtime);

#endif /* NPS_CLI_PROCFS_H */
