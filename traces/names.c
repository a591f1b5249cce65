// SPDX-License-Identifier: MIT
/*
 * The name tables behind traces/names.h. Every table is indexed by the wire value; a NULL slot
 * is a value that has no name (and is rejected by the reader). Go function names are spelled
 * as in Go 1.22's source, methods as "(*FD).Read".
 */
#include "traces/names.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_at(const char *const *tab, unsigned n, unsigned i)
{
	return i < n ? tab[i] : NULL;
}

static int index_of(const char *const *tab, unsigned n, const char *name)
{
	if (!name)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (tab[i] && strcmp(tab[i], name) == 0)
			return (int)i;
	return -1;
}

/* Defines nps_X_name() and nps_X_from_name() over the table X##_names. */
#define NAME_TABLE(fname, tab)                                                                     \
	const char *nps_##fname##_name(unsigned i)                                                 \
	{                                                                                          \
		return name_at(tab, N_OF(tab), i);                                                 \
	}                                                                                          \
	int nps_##fname##_from_name(const char *name)                                              \
	{                                                                                          \
		return index_of(tab, N_OF(tab), name);                                             \
	}

static const char *const kind_names[NPS_EV__COUNT] = {
    [NPS_EV_PD_STATE] = "pd_state",
    [NPS_EV_PD_OPEN] = "pd_open",
    [NPS_EV_PD_FREE] = "pd_free",
    [NPS_EV_PD_EVICT] = "pd_evict",
    [NPS_EV_PD_DEADLINE] = "pd_deadline",
    [NPS_EV_PD_EXPIRE] = "pd_expire",
    [NPS_EV_PD_EVENTERR] = "pd_eventerr",
    [NPS_EV_GSTATUS] = "gstatus",
    [NPS_EV_NETPOLL_BEGIN] = "netpoll_begin",
    [NPS_EV_NETPOLL_END] = "netpoll_end",
    [NPS_EV_NETPOLL_EVENT] = "netpoll_event",
    [NPS_EV_NETPOLL_BREAK] = "netpoll_break",
    [NPS_EV_NETPOLL_DRAIN] = "netpoll_drain",
    [NPS_EV_WAITERS] = "waiters",
    [NPS_EV_NETPOLLOPEN] = "netpollopen",
    [NPS_EV_NETPOLLCLOSE] = "netpollclose",
    [NPS_EV_SCHED] = "sched",
    [NPS_EV_TIMER] = "timer",
    [NPS_EV_SYSMON] = "sysmon",
    [NPS_EV_SYSCALL] = "syscall",
    [NPS_EV_FD_ERR] = "fd_err",
    [NPS_EV_THROW] = "throw",
    [NPS_EV_LOST] = "lost",
    [NPS_EV_NOTE] = "note",
    [NPS_EV_NETPOLLINIT] = "netpollinit",
    [NPS_EV_EPOLL_CTL] = "epoll_ctl",
    [NPS_EV_EPOLL_WAIT] = "epoll_wait",
    [NPS_EV_EPOLL_READY] = "epoll_ready",
    [NPS_EV_EPOLL_CREATE] = "epoll_create",
    [NPS_EV_EXEC] = "exec",
    [NPS_EV_EXIT] = "exit",
};
NAME_TABLE(kind, kind_names)

static const char *const fn_names[NPS_FN__COUNT] = {
    [NPS_FN_POLLOPEN] = "poll_runtime_pollOpen",
    [NPS_FN_POLLCLOSE] = "poll_runtime_pollClose",
    [NPS_FN_POLLRESET] = "poll_runtime_pollReset",
    [NPS_FN_POLLWAIT] = "poll_runtime_pollWait",
    [NPS_FN_POLLUNBLOCK] = "poll_runtime_pollUnblock",
    [NPS_FN_POLLSETDEADLINE] = "poll_runtime_pollSetDeadline",
    [NPS_FN_NETPOLLBLOCK] = "netpollblock",
    [NPS_FN_NETPOLLBLOCKCOMMIT] = "netpollblockcommit",
    [NPS_FN_NETPOLLUNBLOCK] = "netpollunblock",
    [NPS_FN_NETPOLLREADY] = "netpollready",
    [NPS_FN_NETPOLLDEADLINEIMPL] = "netpolldeadlineimpl",
    [NPS_FN_NETPOLLGOREADY] = "netpollgoready",
    [NPS_FN_NETPOLL] = "netpoll",
    [NPS_FN_NETPOLLBREAK] = "netpollBreak",
    [NPS_FN_NETPOLLINIT] = "netpollinit",
    [NPS_FN_NETPOLLOPEN] = "netpollopen",
    [NPS_FN_NETPOLLCLOSE] = "netpollclose",
    [NPS_FN_POLLCACHE_ALLOC] = "pollCache.alloc",
    [NPS_FN_POLLCACHE_FREE] = "pollCache.free",
    [NPS_FN_SETEVENTERR] = "pollDesc.setEventErr",
    [NPS_FN_NETPOLLADJUSTWAITERS] = "netpollAdjustWaiters",
    [NPS_FN_GOPARK] = "gopark",
    [NPS_FN_PARK_M] = "park_m",
    [NPS_FN_GOREADY] = "goready",
    [NPS_FN_READY] = "ready",
    [NPS_FN_INJECTGLIST] = "injectglist",
    [NPS_FN_EXECUTE] = "execute",
    [NPS_FN_NEWPROC] = "newproc",
    [NPS_FN_GOEXIT0] = "goexit0",
    [NPS_FN_GOSCHED_M] = "gosched_m",
    [NPS_FN_FINDRUNNABLE] = "findRunnable",
    [NPS_FN_SCHEDULE] = "schedule",
    [NPS_FN_SYSMON] = "sysmon",
    [NPS_FN_STEALWORK] = "stealWork",
    [NPS_FN_WAKEP] = "wakep",
    [NPS_FN_STARTM] = "startm",
    [NPS_FN_STOPM] = "stopm",
    [NPS_FN_HANDOFFP] = "handoffp",
    [NPS_FN_ACQUIREP] = "acquirep",
    [NPS_FN_RELEASEP] = "releasep",
    [NPS_FN_NEWM] = "newm",
    [NPS_FN_WAKENETPOLLER] = "wakeNetPoller",
    [NPS_FN_ADDTIMER] = "addtimer",
    [NPS_FN_MODTIMER] = "modtimer",
    [NPS_FN_DELTIMER] = "deltimer",
    [NPS_FN_RUNONETIMER] = "runOneTimer",
    [NPS_FN_CHECKTIMERS] = "checkTimers",
    [NPS_FN_NETPOLLREADDEADLINE] = "netpollReadDeadline",
    [NPS_FN_NETPOLLWRITEDEADLINE] = "netpollWriteDeadline",
    [NPS_FN_NETPOLLDEADLINE] = "netpollDeadline",
    [NPS_FN_GOROUTINEREADY] = "goroutineReady",
    [NPS_FN_TIMESLEEP] = "timeSleep",
    [NPS_FN_RESETFORSLEEP] = "resetForSleep",
    [NPS_FN_SEMACQUIRE] = "semacquire1",
    [NPS_FN_SEMRELEASE] = "semrelease1",
    [NPS_FN_FD_INIT] = "(*FD).Init",
    [NPS_FN_FD_READ] = "(*FD).Read",
    [NPS_FN_FD_WRITE] = "(*FD).Write",
    [NPS_FN_FD_ACCEPT] = "(*FD).Accept",
    [NPS_FN_FD_CLOSE] = "(*FD).Close",
    [NPS_FN_FD_DESTROY] = "(*FD).destroy",
    [NPS_FN_SETDEADLINEIMPL] = "setDeadlineImpl",
    [NPS_FN_CONNECT] = "(*netFD).connect",
    [NPS_FN_MAIN] = "main",
};
NAME_TABLE(fn, fn_names)

static const char *const gstatus_names[] = {
    [NPS_GIDLE] = "idle",	[NPS_GRUNNABLE] = "runnable", [NPS_GRUNNING] = "running",
    [NPS_GSYSCALL] = "syscall", [NPS_GWAITING] = "waiting",   [NPS_GDEAD] = "dead",
};
NAME_TABLE(gstatus, gstatus_names)

static const char *const waitreason_names[NPS_WR__COUNT] = {
    [NPS_WR_ZERO] = "",
    [NPS_WR_IOWAIT] = "IO wait",
    [NPS_WR_SLEEP] = "sleep",
    [NPS_WR_SEMACQUIRE] = "semacquire",
    [NPS_WR_WAITGROUP] = "sync.WaitGroup.Wait",
    [NPS_WR_SELECT_NO_CASES] = "select (no cases)",
};
NAME_TABLE(waitreason, waitreason_names)

static const char *const throw_msgs[NPS_THROW__COUNT] = {
    [NPS_THROW_BLOCKED_WRITE_FREE] = "runtime: blocked write on free polldesc",
    [NPS_THROW_BLOCKED_READ_FREE] = "runtime: blocked read on free polldesc",
    [NPS_THROW_CLOSE_WO_UNBLOCK] = "runtime: close polldesc w/o unblock",
    [NPS_THROW_BLOCKED_WRITE_CLOSING] = "runtime: blocked write on closing polldesc",
    [NPS_THROW_BLOCKED_READ_CLOSING] = "runtime: blocked read on closing polldesc",
    [NPS_THROW_UNBLOCK_CLOSING] = "runtime: unblock on closing polldesc",
    [NPS_THROW_DOUBLE_WAIT] = "runtime: double wait",
    [NPS_THROW_CORRUPTED] = "runtime: corrupted polldesc",
    [NPS_THROW_INCONSISTENT_READ] = "runtime: inconsistent read deadline",
    [NPS_THROW_INCONSISTENT_WRITE] = "runtime: inconsistent write deadline",
    [NPS_THROW_NETPOLLINIT] = "runtime: netpollinit failed",
    [NPS_THROW_PIPE] = "runtime: pipe failed",
    [NPS_THROW_EPOLLCTL] = "runtime: epollctl failed",
    [NPS_THROW_BREAK_WRITE] = "runtime: netpollBreak write failed",
    [NPS_THROW_NETPOLL] = "runtime: netpoll failed",
    [NPS_THROW_BREAK_UNEXPECTED] = "runtime: netpoll: break fd ready for something unexpected",
    [NPS_THROW_UNUSED] = "runtime: unused",
    [NPS_THROW_NETPOLL_WITH_P] = "findrunnable: netpoll with p",
    [NPS_THROW_NETPOLL_WITH_SPINNING] = "findrunnable: netpoll with spinning",
    [NPS_THROW_ADDTIMER_CALLED_WITH_INITIALIZED_TIMER] = "addtimer called with initialized timer",
    [NPS_THROW_BAD_G_STATUS_IN_READY] = "bad g->status in ready",
    [NPS_THROW_CASGSTATUS_BAD_INCOMING_VALUES] = "casgstatus: bad incoming values",
    [NPS_THROW_DOADDTIMER_P_ALREADY_SET_IN_TIMER] = "doaddtimer: P already set in timer",
    [NPS_THROW_FINDRUNNABLE_NEGATIVE_NMSPINNING] = "findrunnable: negative nmspinning",
    [NPS_THROW_FINDRUNNABLE_WRONG_P] = "findrunnable: wrong p",
    [NPS_THROW_GLOBAL_RUNQ_EMPTY_WITH_NON_ZERO_RUNQSIZE] =
	"global runq empty with non-zero runqsize",
    [NPS_THROW_GOEXIT0_RETURNED] = "goexit0 returned",
    [NPS_THROW_GOPARK_BAD_G_STATUS] = "gopark: bad g status",
    [NPS_THROW_NEWOSPROC] = "newosproc",
    [NPS_THROW_NEWPROC1_NEW_G_IS_NOT_GDEAD] = "newproc1: new g is not Gdead",
    [NPS_THROW_NOTEWAKEUP_DOUBLE_WAKEUP] = "notewakeup - double wakeup",
    [NPS_THROW_OUT_OF_MEMORY] = "out of memory",
    [NPS_THROW_PIDLEPUT_P_HAS_NON_EMPTY_RUN_QUEUE] = "pidleput: P has non-empty run queue",
    [NPS_THROW_RELEASEP_INVALID_P_STATE] = "releasep: invalid p state",
    [NPS_THROW_RESETSPINNING_NOT_A_SPINNING_M] = "resetspinning: not a spinning m",
    [NPS_THROW_RUNQPUTSLOW_QUEUE_IS_NOT_FULL] = "runqputslow: queue is not full",
    [NPS_THROW_RUNQSTEAL_RUNQ_OVERFLOW] = "runqsteal: runq overflow",
    [NPS_THROW_RUNTIME_CANNOT_ALLOCATE_MEMORY] = "runtime: cannot allocate memory",
    [NPS_THROW_SCHEDULE_SPINNING_WITH_LOCAL_WORK] = "schedule: spinning with local work",
    [NPS_THROW_STARTM_P_REQUIRED_FOR_SPINNING_TRUE] = "startm: P required for spinning=true",
    [NPS_THROW_STARTM_M_HAS_P] = "startm: m has p",
    [NPS_THROW_STARTM_M_IS_SPINNING] = "startm: m is spinning",
    [NPS_THROW_STARTM_P_HAS_RUNNABLE_GS] = "startm: p has runnable gs",
    [NPS_THROW_STOPM_HOLDING_P] = "stopm holding p",
    [NPS_THROW_STOPM_SPINNING] = "stopm spinning",
    [NPS_THROW_SYNC_NEGATIVE_WAITGROUP_COUNTER] = "sync: negative WaitGroup counter",
    [NPS_THROW_TIMER_PERIOD_MUST_BE_NON_NEGATIVE] = "timer period must be non-negative",
    [NPS_THROW_TIMER_WHEN_MUST_BE_POSITIVE] = "timer when must be positive",
    [NPS_THROW_UNLOCK_OF_UNLOCKED_LOCK] = "unlock of unlocked lock",
    [NPS_THROW_WAKEP_NEGATIVE_NMSPINNING] = "wakep: negative nmspinning",
    [NPS_THROW_WIREP_ALREADY_IN_GO] = "wirep: already in go",
    [NPS_THROW_WIREP_INVALID_P_STATE] = "wirep: invalid p state",
    [NPS_THROW_INCONSISTENT_POLL_FDMUTEX] = "inconsistent poll.fdMutex",
    [NPS_THROW_UNREACHABLE] = "unreachable",
    [NPS_THROW_TOO_MANY_CONCURRENT_OPERATIONS] =
	"too many concurrent operations on a single file or socket (max 1048575)",
    [NPS_THROW_CASGSTATUS_WAITING_BUT_RUNNABLE] =
	"casgstatus: waiting for Gwaiting but is Grunnable",
    [NPS_THROW_RELEASEP_INVALID_ARG] = "releasep: invalid arg",
    [NPS_THROW_MCALL_FUNCTION_RETURNED] = "runtime: mcall function returned",
    [NPS_THROW_OTHER] = "runtime: internal error",
};

const char *nps_throw_msg(unsigned t)
{
	return name_at(throw_msgs, N_OF(throw_msgs), t);
}

int nps_throw_from_msg(const char *msg)
{
	return index_of(throw_msgs, N_OF(throw_msgs), msg);
}

static const char *const src_names[] = {[NPS_SRC_SIM] = "sim", [NPS_SRC_KERNEL] = "kernel"};
NAME_TABLE(src, src_names)

static const char *const where_names[] = {
    [NPS_RQ_NONE] = "none",
    [NPS_RQ_RUNNEXT] = "runnext",
    [NPS_RQ_LOCAL] = "local",
    [NPS_RQ_GLOBAL] = "global",
};
NAME_TABLE(where, where_names)

static const char *const caller_names[] = {
    [NPS_NPC_FINDRUNNABLE] = "findRunnable",
    [NPS_NPC_FINDRUNNABLE_BLOCK] = "findRunnable-block",
    [NPS_NPC_SYSMON] = "sysmon",
    [NPS_NPC_OTHER] = "other",
};
NAME_TABLE(caller, caller_names)

static const char *const npev_action_names[] = {
    [NPS_NPEV_READY] = "ready",
    [NPS_NPEV_STALE] = "stale",
    [NPS_NPEV_BREAK_DRAIN] = "break-drain",
    [NPS_NPEV_BREAK_LEAVE] = "break-leave",
    [NPS_NPEV_ZERO] = "zero",
    [NPS_NPEV_NOMODE] = "nomode",
};
NAME_TABLE(npev_action, npev_action_names)

static const char *const break_result_names[] = {
    [NPS_BRK_WROTE] = "wrote",
    [NPS_BRK_PENDING] = "pending",
    [NPS_BRK_EAGAIN] = "eagain",
};
NAME_TABLE(break_result, break_result_names)

static const char *const sched_op_names[] = {
    [NPS_SCHED_ACQUIREP] = "acquirep", [NPS_SCHED_RELEASEP] = "releasep",
    [NPS_SCHED_PIDLEPUT] = "pidleput", [NPS_SCHED_PIDLEGET] = "pidleget",
    [NPS_SCHED_STARTM] = "startm",     [NPS_SCHED_NEWM] = "newm",
    [NPS_SCHED_STOPM] = "stopm",       [NPS_SCHED_MWAKE] = "mwake",
    [NPS_SCHED_HANDOFFP] = "handoffp", [NPS_SCHED_WAKEP] = "wakep",
    [NPS_SCHED_SPINNING] = "spinning", [NPS_SCHED_UNSPIN] = "unspin",
    [NPS_SCHED_STEAL] = "steal",       [NPS_SCHED_LASTPOLL] = "lastpoll",
    [NPS_SCHED_MEXIT] = "mexit",
};
NAME_TABLE(sched_op, sched_op_names)

static const char *const timer_op_names[] = {
    [NPS_TIMER_ADD] = "add",
    [NPS_TIMER_MOD] = "mod",
    [NPS_TIMER_DEL] = "del",
    [NPS_TIMER_RUN] = "run",
};
NAME_TABLE(timer_op, timer_op_names)

static const char *const sysmon_op_names[] = {
    [NPS_SYSMON_WAKE] = "wake",
    [NPS_SYSMON_POLL] = "poll",
    [NPS_SYSMON_SLEEP] = "sleep",
};
NAME_TABLE(sysmon_op, sysmon_op_names)

static const char *const sys_op_names[] = {
    [NPS_SYS_READ] = "read",	   [NPS_SYS_WRITE] = "write", [NPS_SYS_ACCEPT4] = "accept4",
    [NPS_SYS_CONNECT] = "connect", [NPS_SYS_CLOSE] = "close", [NPS_SYS_SOCKET] = "socket",
    [NPS_SYS_LISTEN] = "listen",   [NPS_SYS_BIND] = "bind",
};
NAME_TABLE(sys_op, sys_op_names)

static const char *const fderr_names[] = {
    [NPS_FDERR_CLOSING] = "use of closed network connection",
    [NPS_FDERR_TIMEOUT] = "i/o timeout",
    [NPS_FDERR_NOTPOLLABLE] = "not pollable",
    [NPS_FDERR_EOF] = "EOF",
    [NPS_FDERR_ERRNO] = "errno",
    [NPS_FDERR_NODEADLINE] = "file type does not support deadline",
};
NAME_TABLE(fderr, fderr_names)

static const char *const wait_sub_names[] = {
    [NPS_WAIT_EPOLL_WAIT] = "epoll_wait",
    [NPS_WAIT_EPOLL_PWAIT] = "epoll_pwait",
    [NPS_WAIT_EPOLL_PWAIT2] = "epoll_pwait2",
};
NAME_TABLE(wait_sub, wait_sub_names)

static const char *const ctl_op_names[] = {
    [NPS_EPOLL_CTL_ADD] = "ADD",
    [NPS_EPOLL_CTL_DEL] = "DEL",
    [NPS_EPOLL_CTL_MOD] = "MOD",
};

const char *nps_ctl_op_name(int op)
{
	return op < 0 ? NULL : name_at(ctl_op_names, N_OF(ctl_op_names), (unsigned)op);
}

int nps_ctl_op_from_name(const char *name)
{
	return index_of(ctl_op_names, N_OF(ctl_op_names), name);
}

static const char *pdv_text(nps_u64 v, char *buf, unsigned long len, const char *const names[3],
			    const char *gfmt)
{
	if (NPS_PDV_IS_G(v))
		snprintf(buf, len, gfmt, (unsigned long long)NPS_PDV_GOID(v));
	else if (v <= NPS_PDV_WAIT)
		snprintf(buf, len, "%s", names[v]);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)v);
	return buf;
}

const char *nps_pdv_format(nps_u64 v, char *buf, unsigned long len)
{
	static const char *const names[3] = {"nil", "ready", "wait"};
	return pdv_text(v, buf, len, names, "G%llu");
}

const char *nps_pdv_goname(nps_u64 v, char *buf, unsigned long len)
{
	static const char *const names[3] = {"pdNil", "pdReady", "pdWait"};
	return pdv_text(v, buf, len, names, "G%llu");
}

int nps_pdv_parse(const char *s, nps_u64 *v)
{
	if (!s)
		return -1;
	if (strcmp(s, "nil") == 0)
		*v = NPS_PDV_NIL;
	else if (strcmp(s, "ready") == 0)
		*v = NPS_PDV_READY;
	else if (strcmp(s, "wait") == 0)
		*v = NPS_PDV_WAIT;
	else if (s[0] == 'G' && s[1] >= '1' && s[1] <= '9') { /* canonical: no leading zero */
		unsigned long long id = 0;
		for (const char *c = s + 1; *c; c++) {
			if (*c < '0' || *c > '9' || id > (~0ULL >> 2) / 10)
				return -1;
			id = id * 10 + (unsigned)(*c - '0');
		}
		if (id == 0 || (id & NPS_PDV_GBIT))
			return -1;
		*v = NPS_PDV_G(id);
	} else
		return -1;
	return 0;
}

const char *nps_epoll_mask_format(nps_u32 mask, char *buf, unsigned long len)
{
	static const struct {
		nps_u32 bit;
		const char *name;
	} bits[] = {
	    {0x001, "EPOLLIN"},	       {0x002, "EPOLLPRI"},	   {0x004, "EPOLLOUT"},
	    {0x008, "EPOLLERR"},       {0x010, "EPOLLHUP"},	   {0x040, "EPOLLRDNORM"},
	    {0x080, "EPOLLRDBAND"},    {0x100, "EPOLLWRNORM"},	   {0x200, "EPOLLWRBAND"},
	    {0x400, "EPOLLMSG"},       {0x2000, "EPOLLRDHUP"},	   {1U << 28, "EPOLLEXCLUSIVE"},
	    {1U << 29, "EPOLLWAKEUP"}, {1U << 30, "EPOLLONESHOT"}, {1U << 31, "EPOLLET"},
	};
	unsigned long used = 0;
	nps_u32 rest = mask;
	buf[0] = '\0';
	for (unsigned i = 0; i < N_OF(bits); i++) {
		if (!(mask & bits[i].bit))
			continue;
		rest &= ~bits[i].bit;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "|" : "", bits[i].name);
		if (n < 0 || (unsigned long)n >= len - used)
			return buf;
		used += (unsigned long)n;
	}
	if (rest || !mask)
		snprintf(buf + used, len - used, "%s0x%x", used ? "|" : "", rest);
	return buf;
}

const char *nps_epoll_create_flags_format(nps_s32 flags, char *buf, unsigned long len)
{
	nps_u32 cloexec = 0x80000, rest = (nps_u32)flags & ~cloexec; /* the one flag there is */
	if (!flags)
		snprintf(buf, len, "0");
	else if (!rest)
		snprintf(buf, len, "EPOLL_CLOEXEC");
	else
		snprintf(buf, len, "%s0x%x", (nps_u32)flags & cloexec ? "EPOLL_CLOEXEC|" : "",
			 rest);
	return buf;
}

const char *nps_epoll_create_call(const struct nps_event *e, char *buf, unsigned long len)
{
	char fl[32];
	if (e->sub == NPS_CREATE_OLD)
		snprintf(buf, len, "epoll_create(%d)", e->u.create.size);
	else
		snprintf(buf, len, "epoll_create1(%s)",
			 nps_epoll_create_flags_format(e->u.create.flags, fl, sizeof(fl)));
	return buf;
}

/* ---- the path table (NPS_EV_EXEC) ---- */

#define PATH_SLOTS (2 * NPS_PATH_MAX_IDS) /* open addressing, at most half full */

static struct {
	pthread_mutex_t lock;
	char *path[NPS_PATH_MAX_IDS + 1]; /* by id; never freed: names stay valid */
	unsigned n;			  /* ids in use (atomic: readers take no lock) */
	size_t bytes;
	uint16_t slot[PATH_SLOTS]; /* hash -> id, 0 empty */
} paths = {.lock = PTHREAD_MUTEX_INITIALIZER};

unsigned nps_path_intern(const char *path, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	unsigned id = 0;

	len = strnlen(path, len < NPS_PATH_LEN ? len : NPS_PATH_LEN);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)path[i]) * 16777619u;
	pthread_mutex_lock(&paths.lock);
	size_t s = h % PATH_SLOTS;
	for (; paths.slot[s]; s = (s + 1) % PATH_SLOTS) {
		const char *p = paths.path[paths.slot[s]];
		if (!strncmp(p, path, len) && !p[len]) {
			id = paths.slot[s];
			goto out;
		}
	}
	if (paths.n < NPS_PATH_MAX_IDS && paths.bytes + len + 1 <= NPS_PATH_MAX_BYTES) {
		char *copy = malloc(len + 1);
		if (copy) {
			memcpy(copy, path, len);
			copy[len] = '\0';
			id = paths.n + 1;
			paths.path[id] = copy;
			paths.bytes += len + 1;
			paths.slot[s] = (uint16_t)id;
			__atomic_store_n(&paths.n, id, __ATOMIC_RELEASE);
		}
	}
out:
	pthread_mutex_unlock(&paths.lock);
	return id;
}

const char *nps_path_name(unsigned id)
{
	return id && id <= __atomic_load_n(&paths.n, __ATOMIC_ACQUIRE) ? paths.path[id] : NULL;
}

const char *nps_signal_name(int sig, char *buf, size_t len)
{
	const char *a = sigabbrev_np(sig);
	if (a)
		snprintf(buf, len, "SIG%s", a);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		return NULL;
	return buf;
}
