// SPDX-License-Identifier: MIT
/*
 * internal/poll on the simulated runtime. Go: internal/poll/fd_unix.go (Init, Read, Write,
 * Accept, Close, destroy), sock_cloexec.go (accept), fd_mutex.go (fdMutex), fd_poll_runtime.go
 * (the pollDesc wrapper, its error conversion and the deadlines: SetDeadline, setDeadlineImpl).
 * The I/O loops try the syscall first and wait on the poller only after EAGAIN;
 * prepareRead/prepareWrite (pollReset) come before the first attempt; EINTR is retried; a
 * zero-byte Read makes no syscall.
 */
#include "sim/fd.h"

#include "sim/net.h"
#include "sim/runtime.h"
#include "sim/sim.h"
#include "sim/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define maxRW (1 << 30)

void (*_Atomic testHookAfterEAGAIN)(struct FD *fd, int mode);
void (*_Atomic testHookSetDeadline)(struct FD *fd);

/* Call the hook after EAGAIN, if one is set (read once: another thread may clear it). */
static void after_eagain(struct FD *fd, int mode)
{
	void (*hook)(struct FD *, int) = atomic_load(&testHookAfterEAGAIN);
	if (hook)
		hook(fd, mode);
}

/* ---- fdMutex: Go's bit layout ---- */

#define mutexClosed  (1ULL << 0)
#define mutexRLock   (1ULL << 1)
#define mutexWLock   (1ULL << 2)
#define mutexRef     (1ULL << 3)
#define mutexRefMask (((1ULL << 20) - 1) << 3)
#define mutexRWait   (1ULL << 23)
#define mutexRMask   (((1ULL << 20) - 1) << 23)
#define mutexWWait   (1ULL << 43)
#define mutexWMask   (((1ULL << 20) - 1) << 43)

static const char overflowMsg[] =
    "too many concurrent operations on a single file or socket (max 1048575)";

/*
 * internal/poll panics in fd_mutex.go and in fd_poll_runtime.go's convertErr: unrecovered, they
 * end the program as Go's runtime does (fatalpanic, sim/proc.c).
 * SIMPLIFICATION: C has no defer/recover, so the panic always ends the program: no deferred call
 * runs (Go's readUnlock/writeUnlock would, on the way out). The event log records it as a throw
 * event with Go's message, narrated "fatal error: MSG" (the log has no panic event).
 */

static bool fdmu_incref(struct fdMutex *mu)
{
	for (;;) {
		uint64_t old = atomic_load(&mu->state);
		if (old & mutexClosed)
			return false;
		uint64_t new = old + mutexRef;
		if ((new &mutexRefMask) == 0)
			fatalpanic(overflowMsg);
		if (atomic_compare_exchange_weak(&mu->state, &old, new))
			return true;
	}
}

static bool fdmu_increfAndClose(struct fdMutex *mu)
{
	for (;;) {
		uint64_t old = atomic_load(&mu->state);
		if (old & mutexClosed)
			return false;
		/* Mark as closed and acquire a reference. */
		uint64_t new = (old | mutexClosed) + mutexRef;
		if ((new &mutexRefMask) == 0)
			fatalpanic(overflowMsg);
		/* Remove all read and write waiters. */
		new &= ~(mutexRMask | mutexWMask);
		if (atomic_compare_exchange_weak(&mu->state, &old, new)) {
			/* Wake all read and write waiters; they will observe the closed flag. */
			while (old & mutexRMask) {
				old -= mutexRWait;
				semrelease1(&mu->rsema, false);
			}
			while (old & mutexWMask) {
				old -= mutexWWait;
				semrelease1(&mu->wsema, false);
			}
			return true;
		}
	}
}

/* Drop a reference; true when this was the last one of a closed fd (caller destroys it). */
static bool fdmu_decref(struct fdMutex *mu)
{
	for (;;) {
		uint64_t old = atomic_load(&mu->state);
		if ((old & mutexRefMask) == 0)
			fatalpanic("inconsistent poll.fdMutex");
		uint64_t new = old - mutexRef;
		if (atomic_compare_exchange_weak(&mu->state, &old, new))
			return (new &(mutexClosed | mutexRefMask)) == mutexClosed;
	}
}

static bool fdmu_rwlock(struct fdMutex *mu, bool read)
{
	uint64_t mutexBit = read ? mutexRLock : mutexWLock;
	uint64_t mutexWait = read ? mutexRWait : mutexWWait;
	uint64_t mutexMask = read ? mutexRMask : mutexWMask;
	uint32_t *mutexSema = read ? &mu->rsema : &mu->wsema;
	for (;;) {
		uint64_t old = atomic_load(&mu->state);
		if (old & mutexClosed)
			return false;
		uint64_t new;
		if ((old & mutexBit) == 0) {
			/* Lock is free, acquire it. */
			new = (old | mutexBit) + mutexRef;
			if ((new &mutexRefMask) == 0)
				fatalpanic(overflowMsg);
		} else {
			/* Wait for lock. */
			new = old + mutexWait;
			if ((new &mutexMask) == 0)
				fatalpanic(overflowMsg);
		}
		if (atomic_compare_exchange_weak(&mu->state, &old, new)) {
			if ((old & mutexBit) == 0)
				return true;
			semacquire1(mutexSema, NPS_WR_SEMACQUIRE);
			/* The signaller has subtracted mutexWait. */
		}
	}
}

static bool fdmu_rwunlock(struct fdMutex *mu, bool read)
{
	uint64_t mutexBit = read ? mutexRLock : mutexWLock;
	uint64_t mutexWait = read ? mutexRWait : mutexWWait;
	uint64_t mutexMask = read ? mutexRMask : mutexWMask;
	uint32_t *mutexSema = read ? &mu->rsema : &mu->wsema;
	for (;;) {
		uint64_t old = atomic_load(&mu->state);
		if ((old & mutexBit) == 0 || (old & mutexRefMask) == 0)
			fatalpanic("inconsistent poll.fdMutex");
		/* Drop lock, drop reference and wake read waiter if present. */
		uint64_t new = (old & ~mutexBit) - mutexRef;
		if (old & mutexMask)
			new -= mutexWait;
		if (atomic_compare_exchange_weak(&mu->state, &old, new)) {
			if (old & mutexMask)
				semrelease1(mutexSema, false);
			return (new &(mutexClosed | mutexRefMask)) == mutexClosed;
		}
	}
}

/* ---- errors ---- */

static int errClosing(const struct FD *fd)
{
	return fd->isFile ? -NPS_EFILECLOSING : -NPS_ECLOSING;
}

/* Go's convertErr: pollErr* -> internal/poll error. */
static int convertErr(int res, const struct FD *fd)
{
	switch (res) {
	case pollNoError:
		return 0;
	case pollErrClosing:
		return errClosing(fd);
	case pollErrTimeout:
		return -NPS_ETIMEOUT;
	case pollErrNotPollable:
		return -NPS_ENOTPOLLABLE;
	}
	/* println("unreachable: ", res): println puts a space between its operands */
	fprintf(stderr, "unreachable:  %d\n", res);
	fatalpanic("unreachable");
}

/*
 * Log an error an FD method returns to the program. A method with a deferred unlock (Go's
 * `defer fd.readUnlock()`, `defer fd.writeUnlock()`, `defer fd.decref()`) logs it through
 * fd_return, after the unlock: in Go the deferred call, and the destroy it may run (netpollclose,
 * the pollDesc freed, close(2), csema released), finishes before the method returns.
 */
static int fd_error_on(int logfd, int err, uint8_t fn)
{
	uint8_t code;
	switch (-err) {
	case NPS_ECLOSING:
	case NPS_EFILECLOSING:
		code = NPS_FDERR_CLOSING;
		break;
	case NPS_ETIMEOUT:
		code = NPS_FDERR_TIMEOUT;
		break;
	case NPS_ENOTPOLLABLE:
		code = NPS_FDERR_NOTPOLLABLE;
		break;
	case NPS_EOF:
		code = NPS_FDERR_EOF;
		break;
	case NPS_ENODEADLINE:
		code = NPS_FDERR_NODEADLINE;
		break;
	default:
		code = NPS_FDERR_ERRNO;
	}
	trace_fderr(getm(), logfd, code, code == NPS_FDERR_ERRNO ? -err : 0, fn);
	return err;
}

static int fd_error(struct FD *fd, int err, uint8_t fn)
{
	return fd_error_on(fd->logfd, err, fn);
}

/*
 * The return of an FD method, once its deferred unlock has run: a negative result is its error.
 * It takes the fd number read before the unlock, not the FD: the unlock may have destroyed it,
 * and the goroutine that closed it may have freed it since (Go's GC would keep it alive).
 */
static ssize_t fd_return(int logfd, ssize_t ret, uint8_t fn)
{
	return ret < 0 ? fd_error_on(logfd, (int)ret, fn) : ret;
}

/* ---- the pollDesc wrapper (fd_poll_runtime.go) ---- */

static int pd_init(struct FD *fd)
{
	poll_runtime_pollServerInit(); /* serverInit.Do(runtime_pollServerInit) */
	int errno_;
	struct pollDesc *ctx = poll_runtime_pollOpen((uintptr_t)fd->Sysfd, &errno_);
	if (errno_ != 0)
		return -errno_;
	fd->pd.runtimeCtx = ctx;
	return 0;
}

static int pd_prepare(struct FD *fd, int mode)
{
	if (!fd->pd.runtimeCtx)
		return 0;
	return convertErr(poll_runtime_pollReset(fd->pd.runtimeCtx, mode), fd);
}

static int pd_wait(struct FD *fd, int mode)
{
	if (!fd->pd.runtimeCtx)
		return -NPS_EUNSUPPORTED;
	return convertErr(poll_runtime_pollWait(fd->pd.runtimeCtx, mode), fd);
}

static void pd_evict(struct FD *fd)
{
	if (fd->pd.runtimeCtx)
		poll_runtime_pollUnblock(fd->pd.runtimeCtx);
}

static void pd_close(struct FD *fd)
{
	if (!fd->pd.runtimeCtx)
		return;
	poll_runtime_pollClose(fd->pd.runtimeCtx);
	fd->pd.runtimeCtx = NULL;
}

/* ---- FD ---- */

int FD_Init(struct FD *fd, const char *net, bool pollable)
{
	fd->logfd = fd->Sysfd;
	if (net && strcmp(net, "file") == 0)
		fd->isFile = true;
	if (!pollable) {
		fd->isBlocking = 1;
		return 0;
	}
	int err = pd_init(fd);
	if (err) {
		/* If we could not initialize the runtime poller, assume we are using blocking mode. */
		fd->isBlocking = 1;
	}
	return err;
}

/* Close the fd once nobody uses it (the last reference of a closed FD runs this). */
static int FD_destroy(struct FD *fd)
{
	/*
	 * Poller may want to unregister fd in readiness notification mechanism, so this must be
	 * executed before closing the fd.
	 */
	pd_close(fd);
	/*
	 * Stamp the close before making it: once close(2) returns, another thread may get the same
	 * fd number from accept4 and log it, and the log must show this close first.
	 */
	struct m *mp = getm();
	entersyscall();
	struct nps_event *e = trace_syscall_begin(mp, fd->Sysfd);
	int r = close(fd->Sysfd);
	int err = r == 0 ? 0 : -errno;
	trace_syscall_end(mp, e, NPS_SYS_CLOSE, err, 0, NPS_FN_FD_DESTROY);
	fd->Sysfd = -1;
	semrelease1(&fd->csema, false);
	return err;
}

static int fd_decref(struct FD *fd)
{
	if (fdmu_decref(&fd->fdmu))
		return FD_destroy(fd);
	return 0;
}

static void fd_readUnlock(struct FD *fd)
{
	if (fdmu_rwunlock(&fd->fdmu, true))
		FD_destroy(fd);
}

static void fd_writeUnlock(struct FD *fd)
{
	if (fdmu_rwunlock(&fd->fdmu, false))
		FD_destroy(fd);
}

int FD_Close(struct FD *fd)
{
	if (!fdmu_increfAndClose(&fd->fdmu))
		return fd_error(fd, errClosing(fd), NPS_FN_FD_CLOSE);
	/*
	 * Unblock any I/O. Once it all unblocks and returns, so that it cannot touch fd any more,
	 * the last reference runs destroy.
	 */
	pd_evict(fd);
	/* The call to decref will call destroy if there are no other references. */
	int err = fd_decref(fd);
	/*
	 * Wait until the descriptor is closed. If this was the only reference, it is already
	 * closed. Only wait if the file has not been set to blocking mode.
	 */
	if (fd->isBlocking == 0)
		semacquire1(&fd->csema, NPS_WR_SEMACQUIRE);
	return err;
}

ssize_t FD_Read(struct FD *fd, void *p, size_t n)
{
	if (!fdmu_rwlock(&fd->fdmu, true))
		return fd_error(fd, errClosing(fd), NPS_FN_FD_READ);
	ssize_t ret;
	if (n == 0) {
		/* No syscall, no readiness wait: Go returns (0, nil) at once. */
		ret = 0;
		goto out;
	}
	int err = pd_prepare(fd, 'r');
	if (err) {
		ret = err;
		goto out;
	}
	if (fd->IsStream && n > maxRW)
		n = maxRW;
	for (;;) {
		ssize_t r;
		struct m *mp = getm();
		entersyscall();
		struct nps_event *ev = trace_syscall_begin(mp, fd->Sysfd);
		do
			r = read(fd->Sysfd, p, n);
		while (r < 0 && errno == EINTR); /* ignoringEINTRIO */
		int e = r < 0 ? errno : 0;
		trace_syscall_end(mp, ev, NPS_SYS_READ, r < 0 ? -e : r, n, NPS_FN_FD_READ);
		if (r < 0) {
			if (e == EAGAIN && fd->pd.runtimeCtx) {
				after_eagain(fd, 'r');
				err = pd_wait(fd, 'r');
				if (err == 0)
					continue;
				ret = err;
				goto out;
			}
			ret = -e;
			goto out;
		}
		if (r == 0 && fd->ZeroReadIsEOF) {
			ret = -NPS_EOF;
			goto out;
		}
		ret = r;
		goto out;
	}
out:;
	int logfd = fd->logfd;
	fd_readUnlock(fd); /* defer fd.readUnlock() */
	return fd_return(logfd, ret, NPS_FN_FD_READ);
}

/*
 * SIMPLIFICATION: Go's Write returns (n, err); C returns one value, so a partial write with an
 * error returns the error and reports the bytes written through *written.
 */
ssize_t FD_Write(struct FD *fd, const void *p, size_t n, size_t *written)
{
	if (written)
		*written = 0;
	if (!fdmu_rwlock(&fd->fdmu, false))
		return fd_error(fd, errClosing(fd), NPS_FN_FD_WRITE);
	ssize_t ret;
	int err = pd_prepare(fd, 'w');
	if (err) {
		ret = err;
		goto out;
	}
	size_t nn = 0;
	for (;;) {
		size_t max = n;
		if (fd->IsStream && max - nn > maxRW)
			max = nn + maxRW;
		ssize_t r;
		struct m *mp = getm();
		entersyscall();
		struct nps_event *ev = trace_syscall_begin(mp, fd->Sysfd);
		do
			r = write(fd->Sysfd, (const char *)p + nn, max - nn);
		while (r < 0 && errno == EINTR);
		int e = r < 0 ? errno : 0;
		trace_syscall_end(mp, ev, NPS_SYS_WRITE, r < 0 ? -e : r, max - nn, NPS_FN_FD_WRITE);
		if (r > 0)
			nn += (size_t)r;
		if (written)
			*written = nn;
		if (nn == n) {
			/*
			 * Go returns (nn, err): an empty Write still made the syscall, and its
			 * error (EPIPE on a shut-down socket) is the result.
			 */
			ret = e ? -e : (ssize_t)nn;
			goto out;
		}
		if (e == EAGAIN && fd->pd.runtimeCtx) {
			after_eagain(fd, 'w');
			err = pd_wait(fd, 'w');
			if (err == 0)
				continue;
			ret = err;
			goto out;
		}
		if (e) {
			ret = -e;
			goto out;
		}
		if (r == 0) {
			ret = -NPS_EUNEXPECTEDEOF;
			goto out;
		}
	}
out:;
	int logfd = fd->logfd;
	fd_writeUnlock(fd); /* defer fd.writeUnlock() */
	return fd_return(logfd, ret, NPS_FN_FD_WRITE);
}

/*
 * syscall.Accept4 (syscall/syscall_linux.go), made by Go's Accept4Func and, with no flags, by its
 * AcceptFunc (syscall.Accept, syscall_linux_accept4.go: on amd64 that is accept4 too, not
 * accept(2)): the kernel gets a RawSockaddrAny and its length, SizeofSockaddrAny. Logged once
 * the fd exists. anyToSockaddr, which follows in Go, fails only for a family other than the
 * listener's AF_INET (the sim's one family): nothing of it is done here.
 */
static int sys_accept4(int s, struct RawSockaddrAny *rsa, int flags)
{
	socklen_t len = SizeofSockaddrAny;
	int ns = accept4(s, (struct sockaddr *)rsa, &len, flags);
	int err = ns < 0 ? -errno : 0;
	trace_syscall(getm(), s, NPS_SYS_ACCEPT4, ns < 0 ? err : ns, 0, NPS_FN_FD_ACCEPT);
	return ns < 0 ? err : ns;
}

/* syscall.SetNonblock (syscall/exec_unix.go): F_GETFL, then F_SETFL if it changes. */
int SetNonblock(int fd, bool nonblocking)
{
	int flag = fcntl(fd, F_GETFL, 0);
	if (flag < 0)
		return -errno;
	if (!!(flag & O_NONBLOCK) == nonblocking)
		return 0;
	flag = nonblocking ? flag | O_NONBLOCK : flag & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flag) < 0 ? -errno : 0;
}

/*
 * Go's accept (internal/poll/sock_cloexec.go): accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC; when the
 * kernel lacks it (ENOSYS, or EINVAL, EACCES, EFAULT on some kernels), accept with no flags,
 * then CloseOnExec (its error ignored) and SetNonblock. Returns the fd or -errno, with *errcall
 * the call that failed.
 */
static int poll_accept(int s, struct RawSockaddrAny *rsa, const char **errcall)
{
	int ns = sys_accept4(s, rsa, SOCK_NONBLOCK | SOCK_CLOEXEC);
	switch (-ns) {
	case ENOSYS:
	case EINVAL:
	case EACCES:
	case EFAULT:
		break;
	default:
		if (ns < 0)
			*errcall = "accept4";
		return ns;
	}
	ns = sys_accept4(s, rsa, 0);
	if (ns < 0) {
		*errcall = "accept";
		return ns;
	}
	fcntl(ns, F_SETFD, FD_CLOEXEC); /* syscall.CloseOnExec */
	int err = SetNonblock(ns, true);
	if (err) {
		/* CloseFunc(ns) */
		struct m *mp = getm();
		entersyscall();
		struct nps_event *e = trace_syscall_begin(mp, ns);
		int r = close(ns);
		trace_syscall_end(mp, e, NPS_SYS_CLOSE, r == 0 ? 0 : -errno, 0, NPS_FN_FD_ACCEPT);
		*errcall = "setnonblock";
		return err;
	}
	return ns;
}

int FD_Accept(struct FD *fd, struct RawSockaddrAny *rsa, const char **errcall)
{
	*errcall = NULL;
	if (!fdmu_rwlock(&fd->fdmu, true))
		return fd_error(fd, errClosing(fd), NPS_FN_FD_ACCEPT);
	int ret;
	int err = pd_prepare(fd, 'r');
	if (err) {
		ret = err;
		goto out;
	}
	for (;;) {
		const char *call = NULL;
		int s = poll_accept(fd->Sysfd, rsa, &call);
		if (s >= 0) {
			ret = s;
			goto out;
		}
		switch (-s) {
		case EINTR:
			continue;
		case EAGAIN:
			if (fd->pd.runtimeCtx) {
				err = pd_wait(fd, 'r');
				if (err == 0)
					continue;
				s = err; /* returned with accept's errcall, as Go does */
			}
			break;
		case ECONNABORTED:
			/* A connection was reset before we accepted it: take the next one. */
			continue;
		}
		*errcall = call;
		ret = s;
		goto out;
	}
out:;
	int logfd = fd->logfd;
	fd_readUnlock(fd); /* defer fd.readUnlock() */
	return (int)fd_return(logfd, ret, NPS_FN_FD_ACCEPT);
}

int FD_WaitWrite(struct FD *fd)
{
	return pd_wait(fd, 'w');
}

int64_t setDeadlineDelay(int64_t t, int64_t now)
{
	int64_t d = 0;
	if (t != 0) {
		/* time.Until(t): Time.Sub saturates where the difference overflows */
		if (__builtin_sub_overflow(t, now, &d))
			d = t < now ? INT64_MIN : INT64_MAX;
		if (d == 0)
			d = -1; /* don't confuse deadline right now with no deadline */
	}
	return d;
}

int FD_SetDeadline(struct FD *fd, int64_t t, int mode)
{
	int64_t d = setDeadlineDelay(t, t != 0 ? nanotime() : 0);
	if (!fdmu_incref(&fd->fdmu))
		return fd_error(fd, errClosing(fd), NPS_FN_SETDEADLINEIMPL);
	void (*hook)(struct FD *) = atomic_load(&testHookSetDeadline);
	if (hook)
		hook(fd);
	int ret = 0;
	if (!fd->pd.runtimeCtx)
		ret = -NPS_ENODEADLINE;
	else
		poll_runtime_pollSetDeadline(fd->pd.runtimeCtx, d, mode);
	int logfd = fd->logfd;
	fd_decref(fd); /* defer fd.decref() */
	return (int)fd_return(logfd, ret, NPS_FN_SETDEADLINEIMPL);
}
