// SPDX-License-Identifier: MIT
/*
 * TCP over IPv4 on the simulated runtime, doing what Go's net package does at the syscall
 * level (spec section 9): sockets are created non-blocking and close-on-exec; Listen reads
 * /proc/sys/net/core/somaxconn through a pollable file first (so that file, as in Go, is the
 * poller's first user), then SO_REUSEADDR, bind, listen, and registers the socket with the
 * poller; accepted and dialed sockets get TCP_NODELAY and 15 s keepalives. Go: net/sock_posix.go,
 * net/fd_unix.go (connect), net/sockopt_*.go, net/tcpsockopt_unix.go, net/sock_linux.go.
 *
 * SIMPLIFICATION: IPv4 only, "IP:PORT" addresses, no name resolution, no contexts. Errors are
 * returned as codes, not as Go's *OpError: only net_listen says which call failed (in why);
 * Accept's errcall (the failing syscall's name) is not passed on.
 */
#include "sim/net.h"

#include "sim/fd.h"
#include "sim/runtime.h"
#include "sim/sim.h"
#include "sim/trace.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

struct netconn {
	struct FD pfd;
	/* netFD.laddr, raddr (net/fd_posix.go setAddr); sin_family 0: Go's nil Addr */
	struct sockaddr_in laddr, raddr;
};

struct netlistener {
	struct FD pfd;
	struct sockaddr_in laddr; /* netFD.laddr, from listenStream's Getsockname */
	int port;
};

/*
 * Go's syscall.Errno.Error() (syscall/syscall_unix.go) over its table errors[] in
 * syscall/zerrors_linux_amd64.go, which mkerrors.sh made from an older C library's strerror
 * with the first letter lowered when the second is lowercase ("connection refused"). Built
 * once from this C library's, with where the table differs: it ends at 132 (EHWPOISON, 133, is
 * not in it), has no text for 41 and 58 (no such errno on Linux), and 116 (ESTALE) is "stale
 * NFS file handle". An errno without a text is "errno N", as Error says it.
 */
#define ERRNO_MAX 133
static char errno_texts[ERRNO_MAX][64];
static pthread_once_t errno_once = PTHREAD_ONCE_INIT;

static void errno_table(void)
{
	for (int e = 1; e < ERRNO_MAX; e++) {
		char *t = errno_texts[e];
		if (e == 41 || e == 58)
			snprintf(t, sizeof(errno_texts[e]), "errno %d", e);
		else if (e == ESTALE)
			snprintf(t, sizeof(errno_texts[e]), "stale NFS file handle");
		else
			snprintf(t, sizeof(errno_texts[e]), "%s", strerror(e));
		if (isupper((unsigned char)t[0]) && islower((unsigned char)t[1]))
			t[0] = (char)tolower((unsigned char)t[0]);
	}
}

static const char *errno_text(int err)
{
	static __thread char beyond[24]; /* per M: read before its goroutine runs again */
	if (err <= 0 || err >= ERRNO_MAX) {
		snprintf(beyond, sizeof(beyond), "errno %d", err);
		return beyond;
	}
	pthread_once(&errno_once, errno_table);
	return errno_texts[err];
}

const char *nps_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "";
	case NPS_ECLOSING:
		return "use of closed network connection";
	case NPS_ETIMEOUT:
		return "i/o timeout";
	case NPS_ENOTPOLLABLE:
		return "not pollable";
	case NPS_EOF:
		return "EOF";
	case NPS_ENODEADLINE:
		return "file type does not support deadline";
	case NPS_EUNSUPPORTED:
		return "waiting for unsupported file type";
	case NPS_EUNEXPECTEDEOF:
		return "unexpected EOF";
	case NPS_EFILECLOSING:
		return "use of closed file";
	}
	return errno_text(err);
}

static int parse_addr(const char *addr, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

/*
 * sysSocket: socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0) (net/sock_cloexec.go).
 * SIMPLIFICATION: no fallback to socket() without the flags on EPROTONOSUPPORT or EINVAL, which
 * only kernels before 2.6.27 return.
 */
static int sysSocket(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = s < 0 ? -errno : 0;
	trace_syscall(getm(), s, NPS_SYS_SOCKET, s < 0 ? err : s, 0, NPS_FN_NONE);
	return s < 0 ? err : s;
}

/*
 * The start of Go's socket() (net/sock_posix.go), shared by listen and dial: resolve the
 * address, then make the socket. Returns it, or -errno.
 */
static int socket_for(const char *addr, struct sockaddr_in *sa)
{
	int err = parse_addr(addr, sa);
	return err ? err : sysSocket();
}

/*
 * anyToSockaddr (syscall/syscall_linux.go) then sockaddrToTCP (net/tcpsock_posix.go): an
 * AF_INET address, or nil (sin_family 0) for anything else, as a failed call's nil Sockaddr.
 */
static void sockaddrToTCP(const struct RawSockaddrAny *rsa, struct sockaddr_in *out)
{
	memset(out, 0, sizeof(*out));
	if (rsa && rsa->family == AF_INET)
		memcpy(out, rsa->raw, sizeof(*out));
}

/*
 * syscall.Getsockname / syscall.Getpeername (syscall/syscall_linux.go, syscall_unix.go): the
 * kernel gets a RawSockaddrAny and SizeofSockaddrAny. 0 with *out set, or -errno with *out nil.
 */
static int sockname(int (*call)(int, struct sockaddr *, socklen_t *), int s,
		    struct sockaddr_in *out)
{
	struct RawSockaddrAny rsa;
	socklen_t len = SizeofSockaddrAny;
	int err = call(s, (struct sockaddr *)&rsa, &len) ? -errno : 0;
	sockaddrToTCP(err ? NULL : &rsa, out);
	return err;
}

static void fd_setup_stream(struct FD *fd, int s)
{
	memset(fd, 0, sizeof(*fd));
	fd->Sysfd = s;
	fd->IsStream = true;
	fd->ZeroReadIsEOF = true;
}

/*
 * os.newFile (os/file_unix.go) for kindOpenFile and kindPipe, on Linux (no fstat filter): a
 * pollable file is made non-blocking first, then registered with the poller; when the
 * registration fails (a regular file: epoll_ctl says EPERM) it is made blocking again and used
 * without the poller. Returns FD_Init's result, which Go ignores here.
 */
static int os_newFile(struct FD *fd, int sysfd)
{
	memset(fd, 0, sizeof(*fd));
	fd->Sysfd = sysfd;
	fd->IsStream = true;
	fd->ZeroReadIsEOF = true;
	bool pollable = true, clearNonBlock = false;
	if (SetNonblock(sysfd, true) == 0)
		clearNonBlock = true;
	else
		pollable = false;
	int err = FD_Init(fd, "file", pollable);
	if (err && clearNonBlock)
		SetNonblock(sysfd, false);
	return err;
}

/*
 * maxAckBacklog (net/sock_linux.go): Linux keeps the backlog in a uint16 before 4.1, in a uint32
 * since; Go asks the kernel's version (uname) only when somaxconn is over 65535.
 */
static int maxAckBacklog(long n)
{
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) == 0)
		sscanf(u.release, "%d.%d", &major, &minor);
	unsigned bits = major > 4 || (major == 4 && minor >= 1) ? 32 : 16;
	long max = (long)((1ULL << bits) - 1);
	return (int)(n > max ? max : n);
}

/*
 * maxListenerBacklog (net/sock_linux.go): read somaxconn with package os, once. The file is
 * opened like every os file (os_newFile): made non-blocking, then registered with the poller
 * (a /proc/sys file can be polled, so the ADD succeeds); read, closed: an ADD and a DEL before
 * the listener's own ADD.
 */
static int listenerBacklog_v = -1;
static pthread_once_t listenerBacklog_once = PTHREAD_ONCE_INIT;
static void maxListenerBacklog(void)
{
	/* Go's fallback is syscall.SOMAXCONN, 128 (0x80), not the C library's 4096 */
	int backlog = 128;
	/* the log's one word on the file: a narration would show an fd nothing explains */
	trace_note("net reads somaxconn (backlog)");
	int f = open("/proc/sys/net/core/somaxconn", O_RDONLY | O_CLOEXEC);
	if (f >= 0) {
		struct FD fd;
		os_newFile(&fd, f);
		/* net/parse.go's open and readLine: io.ReadFull into a 64 KiB buffer, so the
		 * reads are read(fd, 65536) = 5, then read(fd, 65531) = 0 */
		static char buf[64 * 1024 + 1];
		const size_t cap = 64 * 1024;
		size_t got = 0;
		while (got < cap) {
			ssize_t n = FD_Read(&fd, buf + got, cap - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		buf[got] = '\0';
		FD_Close(&fd);
		long v = strtol(buf, NULL, 10);
		if (v > 0)
			backlog = v > 65535 ? maxAckBacklog(v) : (int)v;
	}
	listenerBacklog_v = backlog;
}

int os_pipe(struct netconn **rd, int *wfd)
{
	int p[2];
	/* Go's os.Pipe: pipe2 with O_CLOEXEC, then newFile(kindPipe) for each end.
	 * SIMPLIFICATION: the write end is not an os.File (outside threads use it): it is only
	 * made non-blocking, after the read end, and not registered with the poller. */
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	struct netconn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(p[0]);
		close(p[1]);
		return -ENOMEM;
	}
	int err = os_newFile(&c->pfd, p[0]);
	if (err) {
		/* SIMPLIFICATION: Go's newFile goes on with a blocking read end; a lesson cannot
		 * wait on one (docs/go-mapping.md) */
		close(p[0]);
		close(p[1]);
		free(c);
		return err;
	}
	SetNonblock(p[1], true);
	*rd = c;
	*wfd = p[1];
	return 0;
}

/* The bind(2) and listen(2) of Go's (*netFD).listenStream (net/sock_posix.go), logged. */
static int listenStream(int s, const struct sockaddr_in *sa, const char **op)
{
	struct m *mp = getm();
	entersyscall();
	struct nps_event *e = trace_syscall_begin(mp, s);
	int err = bind(s, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	trace_syscall_end(mp, e, NPS_SYS_BIND, err, 0, NPS_FN_NONE);
	*op = "bind";
	if (err)
		return err;
	entersyscall();
	e = trace_syscall_begin(mp, s);
	err = listen(s, listenerBacklog_v) ? -errno : 0;
	trace_syscall_end(mp, e, NPS_SYS_LISTEN, err, (uint64_t)listenerBacklog_v, NPS_FN_NONE);
	*op = "listen";
	return err;
}

int net_listen(const char *addr, struct netlistener **out, char *why, size_t n)
{
	struct sockaddr_in sa;
	const char *op = "socket";
	int s = socket_for(addr, &sa);
	if (s < 0) {
		if (why)
			snprintf(why, n, "listen tcp %s: %s: %s", addr, op, nps_strerror(s));
		return s;
	}
	pthread_once(&listenerBacklog_once, maxListenerBacklog);
	struct netlistener *l = calloc(1, sizeof(*l));
	if (!l) {
		close(s);
		return -ENOMEM;
	}
	/* newFD, then listenStream; a failure there closes the netFD (fd.Close): FD_Close */
	fd_setup_stream(&l->pfd, s);
	int one = 1, err = 0;
	/* setDefaultListenerSockopts: SO_REUSEADDR, so a restarted server can rebind. */
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
		err = -errno;
		op = "setsockopt";
	} else {
		err = listenStream(s, &sa, &op);
	}
	if (!err) {
		err = FD_Init(&l->pfd, "tcp", true);
		op = NULL;
	}
	if (err) {
		if (why && op)
			snprintf(why, n, "listen tcp %s: %s: %s", addr, op, nps_strerror(err));
		else if (why)
			snprintf(why, n, "listen tcp %s: %s", addr, nps_strerror(err));
		FD_Close(&l->pfd);
		free(l);
		return err;
	}
	/* lsa, _ := syscall.Getsockname(fd.pfd.Sysfd) (net/sock_posix.go listenStream) */
	sockname(getsockname, s, &l->laddr);
	l->port = ntohs(l->laddr.sin_port);
	*out = l;
	return 0;
}

int listener_port(const struct netlistener *l)
{
	return l->port;
}

void listener_addr(const struct netlistener *l, struct sockaddr_in *out)
{
	*out = l->laddr;
}

int listener_fd(const struct netlistener *l)
{
	return l->pfd.Sysfd;
}

/*
 * What Go 1.22's newTCPConn (net/tcpsock.go) sets on every TCP connection, through setNoDelay,
 * setKeepAlive and setKeepAlivePeriod: Nagle off, keepalive every 15 s, in that order. Not a
 * Go function of its own: here the three calls are one.
 */
static void newTCPConn_sockopts(int s)
{
	int one = 1, secs = 15;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, &secs, sizeof(secs));
	setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof(secs));
}

/*
 * (*netFD).accept (net/fd_unix.go), then newTCPConn (net/tcpsock_posix.go (*TCPListener).accept):
 * Accept, newFD, init, Getsockname for the local address (the peer's came with accept4), setAddr,
 * the socket options.
 */
int net_accept(struct netlistener *l, struct netconn **out)
{
	struct RawSockaddrAny rsa;
	const char *errcall; /* SIMPLIFICATION: no OpError; see the file's comment */
	int s = FD_Accept(&l->pfd, &rsa, &errcall);
	if (s < 0)
		return s;
	struct netconn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(s);
		return -ENOMEM;
	}
	fd_setup_stream(&c->pfd, s);
	int err = FD_Init(&c->pfd, "tcp", true);
	if (err) {
		FD_Close(&c->pfd); /* netfd.Close() */
		free(c);
		return err;
	}
	sockname(getsockname, s, &c->laddr);
	sockaddrToTCP(&rsa, &c->raddr);
	newTCPConn_sockopts(s);
	*out = c;
	return 0;
}

int listener_close(struct netlistener *l)
{
	return FD_Close(&l->pfd);
}

void listener_free(struct netlistener *l)
{
	free(l);
}

/*
 * netFD.connect (net/fd_unix.go): connect, then wait for writability and read SO_ERROR. *crsa:
 * the address Getpeername found once connected, nil (sin_family 0) when connect succeeded at once.
 */
static int netfd_connect(struct netconn *c, const struct sockaddr_in *sa, struct sockaddr_in *crsa)
{
	memset(crsa, 0, sizeof(*crsa));
	int s = c->pfd.Sysfd;
	int r = connect(s, (const struct sockaddr *)sa, sizeof(*sa));
	int e = r < 0 ? errno : 0;
	trace_syscall(getm(), s, NPS_SYS_CONNECT, -e, 0, NPS_FN_CONNECT);
	switch (e) {
	case EINPROGRESS:
	case EALREADY:
	case EINTR:
		break;
	case 0:
	case EISCONN:
		return FD_Init(&c->pfd, "tcp", true);
	default:
		return -e;
	}
	int err = FD_Init(&c->pfd, "tcp", true);
	if (err)
		return err;
	for (;;) {
		/*
		 * Performing multiple connect system calls on a non-blocking socket under Unix
		 * variants does not necessarily result in earlier errors being returned. Instead,
		 * once runtime-integrated network poller tells us that the socket is ready, get the
		 * SO_ERROR socket option to see if the connection succeeded or failed.
		 */
		err = FD_WaitWrite(&c->pfd);
		if (err)
			return err;
		int nerr = 0;
		socklen_t len = sizeof(nerr);
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &nerr, &len) != 0)
			return -errno;
		switch (nerr) {
		case EINPROGRESS:
		case EALREADY:
		case EINTR:
			continue;
		case EISCONN:
			return 0;
		case 0:
			if (sockname(getpeername, s, crsa) == 0)
				return 0;
			continue;
		default:
			return -nerr;
		}
	}
}

/*
 * internetSocket for a dial (net/ipsock_posix.go, net/sock_posix.go): the socket, its connect,
 * and (*netFD).dial's addresses: the local one from Getsockname; the remote one connect found,
 * else Getpeername's, else the address dialed. Returns the conn in *out, or -errno.
 */
static int dialSocket(const char *addr, struct netconn **out)
{
	struct sockaddr_in sa;
	int s = socket_for(addr, &sa);
	if (s < 0)
		return s;
	struct netconn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(s);
		return -ENOMEM;
	}
	fd_setup_stream(&c->pfd, s);
	struct sockaddr_in crsa;
	int err = netfd_connect(c, &sa, &crsa);
	if (err) {
		FD_Close(&c->pfd); /* socket's fd.Close(), registered with the poller or not */
		free(c);
		return err;
	}
	sockname(getsockname, s, &c->laddr);
	if (crsa.sin_family)
		c->raddr = crsa;
	else if (sockname(getpeername, s, &c->raddr) != 0)
		c->raddr = sa;
	*out = c;
	return 0;
}

/*
 * selfConnect (net/tcpsock_posix.go): a connect that succeeded to its own address (TCP's
 * simultaneous open, when the kernel picked the port dialed), or without an address to tell.
 */
static bool selfConnect(const struct netconn *c, int err)
{
	if (err)
		return false;
	if (!c->laddr.sin_family || !c->raddr.sin_family)
		return true;
	return c->laddr.sin_port == c->raddr.sin_port &&
	       c->laddr.sin_addr.s_addr == c->raddr.sin_addr.s_addr;
}

/*
 * doDialTCPProto (net/tcpsock_posix.go): with no local address given, a dial that connected
 * to itself or failed with a spurious EADDRNOTAVAIL is tried twice more; then newTCPConn.
 */
int net_dial(const char *addr, struct netconn **out)
{
	struct netconn *c = NULL;
	int err = dialSocket(addr, &c);
	for (int i = 0; i < 2 && (selfConnect(c, err) || err == -EADDRNOTAVAIL); i++) {
		if (!err) {
			conn_close(c);
			conn_free(c);
			c = NULL;
		}
		err = dialSocket(addr, &c);
	}
	if (err)
		return err;
	newTCPConn_sockopts(c->pfd.Sysfd);
	*out = c;
	return 0;
}

ssize_t conn_read(struct netconn *c, void *buf, size_t n)
{
	return FD_Read(&c->pfd, buf, n);
}

ssize_t conn_write(struct netconn *c, const void *buf, size_t n)
{
	return FD_Write(&c->pfd, buf, n, NULL);
}

ssize_t conn_write_partial(struct netconn *c, const void *buf, size_t n, size_t *written)
{
	return FD_Write(&c->pfd, buf, n, written);
}

struct FD *conn_pfd(struct netconn *c)
{
	return &c->pfd;
}

int conn_close(struct netconn *c)
{
	return FD_Close(&c->pfd);
}

void conn_free(struct netconn *c)
{
	free(c);
}

/* TCPAddr.String (net/tcpsock.go): "IP:PORT", or "<nil>" for a nil address. */
static const char *tcpaddr_string(const struct sockaddr_in *a, char *buf, size_t n)
{
	char ip[INET_ADDRSTRLEN];
	if (!a->sin_family || !inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)))
		snprintf(buf, n, "<nil>");
	else
		snprintf(buf, n, "%s:%u", ip, ntohs(a->sin_port));
	return buf;
}

const char *conn_local_addr(const struct netconn *c, char *buf, size_t n)
{
	return tcpaddr_string(&c->laddr, buf, n);
}

const char *conn_remote_addr(const struct netconn *c, char *buf, size_t n)
{
	return tcpaddr_string(&c->raddr, buf, n);
}

int conn_fd(const struct netconn *c)
{
	return c->pfd.Sysfd;
}

int conn_set_deadline(struct netconn *c, int64_t t)
{
	return FD_SetDeadline(&c->pfd, t, 'r' + 'w');
}

int conn_set_read_deadline(struct netconn *c, int64_t t)
{
	return FD_SetDeadline(&c->pfd, t, 'r');
}

int conn_set_write_deadline(struct netconn *c, int64_t t)
{
	return FD_SetDeadline(&c->pfd, t, 'w');
}
