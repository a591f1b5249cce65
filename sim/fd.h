/* SPDX-License-Identifier: MIT */
/*
 * The internal/poll layer (Go: internal/poll/fd_unix.go, fd_mutex.go, fd_poll_runtime.go): an
 * FD wraps a non-blocking fd with the fdMutex that admits one reader and one writer at a time
 * (which is what guarantees a single waiter per pollDesc mode) and counts references so that
 * Close can wake blocked I/O and close the fd only when the last user is gone.
 */
#ifndef NPS_SIM_FD_H
#define NPS_SIM_FD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct pollDesc;

/*
 * syscall.RawSockaddrAny (syscall/ztypes_linux_amd64.go): the buffer syscall.Accept4 and
 * syscall.Getsockname hand the kernel, SizeofSockaddrAny (0x70) bytes, with that length.
 */
#define SizeofSockaddrAny 112
struct RawSockaddrAny {
	union {
		unsigned short family; /* Addr.Family */
		char raw[SizeofSockaddrAny];
	};
} __attribute__((aligned(8)));

struct fdMutex {
	_Atomic uint64_t state; /* closed bit, rlock, wlock, refs, rwait, wwait (Go's layout) */
	uint32_t rsema;
	uint32_t wsema;
};

struct FD {
	struct fdMutex fdmu; /* serialises Read/Write, counts references */
	int Sysfd;	     /* the OS fd; -1 after destroy */
	int logfd;	     /* the fd number for the event log, set by Init and never changed:
				 * goroutines that lost the race to Close still log which fd it was,
				 * without reading Sysfd (destroy writes it) */
	struct {
		struct pollDesc *runtimeCtx; /* NULL: not pollable */
	} pd;
	uint32_t csema;	     /* released by destroy; Close waits on it */
	uint32_t isBlocking; /* 1: blocking mode, the poller is not used */
	bool IsStream;	     /* SOCK_STREAM */
	bool ZeroReadIsEOF;  /* a 0-byte read means EOF */
	bool isFile;	     /* created by "os" (errors say "file") */
};

int FD_Init(struct FD *fd, const char *net, bool pollable);
/* syscall.SetNonblock: 0 or -errno. */
int SetNonblock(int fd, bool nonblocking);
ssize_t FD_Read(struct FD *fd, void *p, size_t n);
/* Write all of p; returns n, or a negative error with *written (may be NULL) bytes written. */
ssize_t FD_Write(struct FD *fd, const void *p, size_t n, size_t *written);
/*
 * (*FD).Accept: the new fd, or a negative error; *rsa gets the peer's address (Go's Sockaddr
 * result) and *errcall (Go's string result) the call that failed ("accept4", "accept",
 * "setnonblock"; NULL when the fdMutex or prepareRead refused), which net names in a syscall
 * error (wrapSyscallError).
 */
int FD_Accept(struct FD *fd, struct RawSockaddrAny *rsa, const char **errcall);
int FD_Close(struct FD *fd);
int FD_WaitWrite(struct FD *fd);			/* used by connect */
int FD_SetDeadline(struct FD *fd, int64_t t, int mode); /* mode 'r', 'w' or 'r'+'w' */
/*
 * The delay setDeadlineImpl hands pollSetDeadline for the deadline t (a nanotime; 0: none) at
 * now: time.Until(t), saturated, and -1 rather than 0 when t is now.
 */
int64_t setDeadlineDelay(int64_t t, int64_t now);

/*
 * SIMPLIFICATION: a hook Go does not have (Go's internal/poll has only the syscall hooks
 * CloseFunc, AcceptFunc and Accept4Func, hook_unix.go and hook_cloexec.go): called by Read and Write after a syscall returned EAGAIN and
 * before the goroutine waits on the poller. The ready-before-park lesson uses it to let
 * readiness arrive in exactly that window; slow-reader counts the times Write found the socket
 * buffer full.
 */
/* Atomic: a lesson sets it while goroutines on other Ms may be reading (its watcher). */
extern void (*_Atomic testHookAfterEAGAIN)(struct FD *fd, int mode);

/*
 * SIMPLIFICATION: a hook Go does not have: called by SetDeadline (setDeadlineImpl) once its
 * incref succeeded and before it sets the deadline, so a test can Close the FD while the
 * setter holds its reference and its deferred decref becomes the last one.
 */
extern void (*_Atomic testHookSetDeadline)(struct FD *fd);

#endif /* NPS_SIM_FD_H */
