// SPDX-License-Identifier: MIT
/*
 * The internal/poll FD layer (Go: internal/poll/fd_unix.go, fd_mutex.go) on real TCP sockets
 * on 127.0.0.1: a zero-byte Read makes no system call; a read(2) interrupted by a real signal
 * is retried (ignoringEINTRIO); Close while a Read, Write or Accept is in flight wakes it with
 * Go's closing error, and the fd is closed by the last reference (its deferred readUnlock or
 * writeUnlock, which finishes before the method returns), with Close waiting for it on
 * fd.csema unless the FD is in blocking mode.
 *
 * Accept (internal/poll/sock_cloexec.go accept, net/fd_unix.go (*netFD).accept) hands accept4
 * a RawSockaddrAny and learns the peer's address from it, the local one from getsockname; where
 * accept4 refuses the flags it falls back to accept with none, close-on-exec and non-blocking
 * set after. A listen, dial or accept that fails closes its socket through the FD (its close(2)
 * is logged); a somaxconn over 65535 is capped by the kernel version, as net/sock_linux.go does.
 *
 * Each test runs the runtime in its own process (Criterion forks) with the event log on and
 * asserts what a Go program would see, and the system calls the log shows.
 */
#include <criterion/criterion.h>

#include "sim/fd.h"
#include "sim/net.h"
#include "sim/runtime.h"
#include "sim/sim.h"
#include "tests/testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MS (1000LL * 1000)

static struct tu_events EV;

/* What a test's goroutines share with the assertions. */
static struct {
	struct FD fd;
	int sysfd, peer;
	ssize_t rn;	    /* the reader's Read result */
	char rbuf[16];	    /* and what it read */
	uint64_t reader;    /* the goid of the reader (or writer, acceptor) */
	_Atomic pid_t rtid; /* the reader's thread, once it runs */
	int closed;	    /* Close's result */
	int fd_after_close; /* fcntl(F_GETFD) on the old fd right after Close returned */
	int sysfd_after_close;
	struct waitgroup wg;
} T;

/* An FD over the accepted end of a fresh pair, as net's newFD + init would make it. */
static void new_fd(const char *net, bool pollable)
{
	cr_assert_eq(tu_tcp_pair(&T.sysfd, &T.peer), 0, "%s", strerror(errno));
	if (!pollable) /* a blocking socket, as a blocking os.File would have */
		fcntl(T.sysfd, F_SETFL, fcntl(T.sysfd, F_GETFL) & ~O_NONBLOCK);
	T.fd = (struct FD){.Sysfd = T.sysfd, .IsStream = true, .ZeroReadIsEOF = true};
	cr_assert_eq(FD_Init(&T.fd, net, pollable), 0);
}

/* An FD over a fresh listening socket, as net's listen makes it: nobody dials it. */
static void new_listen_fd(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	T.sysfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert(T.sysfd >= 0 && bind(T.sysfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		  listen(T.sysfd, 1) == 0);
	T.fd = (struct FD){.Sysfd = T.sysfd, .IsStream = true, .ZeroReadIsEOF = true};
	cr_assert_eq(FD_Init(&T.fd, "tcp", true), 0);
}

/* The read(2) and close(2) system calls the log shows on fd (fn: the FD method, 0 any). */
static int count_sys(int fd, uint8_t op, uint8_t fn)
{
	int n = 0;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		n += e->kind == NPS_EV_SYSCALL && e->fd == fd && e->u.sys.op == op &&
		     (!fn || e->u.sys.fn == fn);
	}
	return n;
}

TestSuite(sim_fd, .timeout = 30);

/* ---- a zero-byte Read ---- */

static ssize_t zero_before, zero_after_close, full;

static void main_zero_read(void *arg)
{
	(void)arg;
	new_fd("tcp", true);
	close(T.peer); /* a read(2) now returns 0: EOF */
	char buf[16];
	zero_before = FD_Read(&T.fd, buf, 0);
	full = FD_Read(&T.fd, buf, sizeof(buf));
	FD_Close(&T.fd);
	zero_after_close = FD_Read(&T.fd, buf, 0);
}

Test(sim_fd, zero_byte_read_makes_no_syscall)
{
	cr_assert_eq(tu_sim_run(1, main_zero_read, NULL, &EV), 0);
	cr_assert_eq(zero_before, 0, "Read of 0 bytes: (0, nil), not EOF (%zd)", zero_before);
	cr_assert_eq(full, -NPS_EOF, "a real read at the peer's close is EOF");
	cr_assert_eq(count_sys(T.sysfd, NPS_SYS_READ, 0), 1, "only the second Read reads");
	cr_assert_eq(zero_after_close, -NPS_ECLOSING, "readLock comes first: after Close, %s",
		     nps_strerror((int)zero_after_close));
}

/* ---- a zero-byte Write: the syscall is made, and its error returned ---- */

static ssize_t wr_ok, wr_shut;
static size_t wr_written = 99;

static void main_zero_write(void *arg)
{
	(void)arg;
	/* Go's runtime lets a write to a broken socket fail with EPIPE instead of killing it. */
	signal(SIGPIPE, SIG_IGN);
	new_fd("tcp", true);
	wr_ok = FD_Write(&T.fd, "", 0, NULL);
	cr_assert_eq(shutdown(T.sysfd, SHUT_WR), 0);
	wr_shut = FD_Write(&T.fd, "", 0, &wr_written);
	FD_Close(&T.fd);
}

/* The FD_ERR events Write logged on fd with errno err. */
static int write_fderrs(int fd, int err)
{
	int n = 0;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		n += e->kind == NPS_EV_FD_ERR && e->fd == fd && e->u.fderr.fn == NPS_FN_FD_WRITE &&
		     e->u.fderr.err == NPS_FDERR_ERRNO && e->u.fderr.errno_ == err;
	}
	return n;
}

Test(sim_fd, zero_byte_write_returns_the_syscalls_error)
{
	cr_assert_eq(tu_sim_run(1, main_zero_write, NULL, &EV), 0);
	cr_assert_eq(wr_ok, 0, "an empty Write on a sound socket: (0, nil), got %zd", wr_ok);
	cr_assert_eq(wr_shut, -EPIPE, "after shutdown(SHUT_WR): (0, EPIPE), got %zd (%s)", wr_shut,
		     nps_strerror((int)wr_shut));
	cr_assert_str_eq(nps_strerror((int)wr_shut), "broken pipe");
	cr_assert_eq(wr_written, 0);
	int64_t ret[2] = {1, 1};
	int n = 0;
	for (size_t i = 0; i < EV.n && n < 2; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_SYSCALL && e->fd == T.sysfd && e->u.sys.op == NPS_SYS_WRITE) {
			cr_assert_eq(e->u.sys.count, 0, "write(fd, p, 0)");
			ret[n++] = e->u.sys.ret;
		}
	}
	cr_assert_eq(n, 2, "each empty Write made its write(2)");
	cr_assert(ret[0] == 0 && ret[1] == -EPIPE);
	cr_assert_eq(write_fderrs(T.sysfd, EPIPE), 1, "the log shows Write returning EPIPE");
}

/* ---- ignoringEINTRIO: an interrupted read(2) is retried ---- */

static void peer_writes(void *arg)
{
	(void)arg;
	cr_assert_eq(write(T.peer, "x", 1), 1);
}

static int eintr_sent;

static void main_read_eintr(void *arg)
{
	(void)arg;
	new_fd("tcp", false); /* blocking: read(2) sleeps in the kernel, where a signal hits */
	struct tu_interrupter *it =
	    tu_interrupt_start((pid_t)syscall(SYS_gettid), SYS_read, 3, peer_writes, NULL);
	T.rn = FD_Read(&T.fd, T.rbuf, sizeof(T.rbuf));
	eintr_sent = tu_interrupt_sent(it);
	tu_interrupt_stop(it);
}

Test(sim_fd, read_retries_on_eintr)
{
	cr_assert_eq(tu_sim_run(1, main_read_eintr, NULL, &EV), 0);
	cr_assert_geq(eintr_sent, 1, "a signal hit the blocked read(2)");
	cr_assert_eq(T.rn, 1, "Read returned %zd (%s), not the byte the peer sent after", T.rn,
		     T.rn < 0 ? nps_strerror((int)T.rn) : "");
	cr_assert_eq(T.rbuf[0], 'x');
}

/* ---- Close while a Read, Write or Accept is in flight ---- */

static void reader(void *arg)
{
	(void)arg;
	T.reader = sim_goid();
	atomic_store(&T.rtid, (pid_t)syscall(SYS_gettid));
	T.rn = FD_Read(&T.fd, T.rbuf, sizeof(T.rbuf));
	wg_done(&T.wg);
}

/* More than loopback's socket buffers hold while the peer reads nothing: Write parks. */
static char wbuf[32 << 20];

static void writer(void *arg)
{
	(void)arg;
	T.reader = sim_goid();
	T.rn = FD_Write(&T.fd, wbuf, sizeof(wbuf), NULL);
	wg_done(&T.wg);
}

static void acceptor(void *arg)
{
	(void)arg;
	T.reader = sim_goid();
	struct RawSockaddrAny rsa;
	const char *errcall;
	T.rn = FD_Accept(&T.fd, &rsa, &errcall);
	wg_done(&T.wg);
}

static void close_and_look(void)
{
	T.closed = FD_Close(&T.fd);
	T.fd_after_close = fcntl(T.sysfd, F_GETFD);
	T.sysfd_after_close = T.fd.Sysfd;
}

/* Send the parked reader (or readers) byte c, wait for them, and Close. */
static void feed_the_reader(const char *c)
{
	cr_assert_eq(write(T.peer, c, 1), 1);
	wg_wait(&T.wg);
	close_and_look();
}

/* Start fn (one of T.wg's goroutines) and let it park on T.fd's rg ('r') or wg ('w'). */
static void go_and_wait_parked(void (*fn)(void *), int mode)
{
	wg_add(&T.wg, 1);
	go(fn, NULL);
	_Atomic uintptr_t *g = mode == 'w' ? &T.fd.pd.runtimeCtx->wg : &T.fd.pd.runtimeCtx->rg;
	for (int i = 0; i < 1000 && atomic_load(g) <= pdWait; i++)
		time_sleep(1 * MS);
	cr_assert(atomic_load(g) > pdWait, "the %c goroutine did not park", mode);
}

/* What Close finds parked: the FD method ('r' Read, 'w' Write, 'a' Accept), the FD's net. */
struct parked {
	int op;
	const char *net;
};

/* A pollable FD: the goroutine is parked in pollWait when Close comes. One P: a fixed order. */
static void main_close_parked(void *arg)
{
	const struct parked *p = arg;
	if (p->op == 'a')
		new_listen_fd();
	else
		new_fd(p->net, true);
	go_and_wait_parked(p->op == 'r'	  ? reader
			   : p->op == 'w' ? writer
					  : acceptor,
			   p->op == 'w' ? 'w' : 'r');
	close_and_look();
	wg_wait(&T.wg);
}

/* The goroutine that made the close(2) of (*FD).destroy. */
static uint64_t destroyer(void)
{
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_SYSCALL && e->fd == T.sysfd && e->u.sys.op == NPS_SYS_CLOSE)
			return e->g;
	}
	return 0;
}

/* Where the log has the first event of kind on fd (a syscall: op, made by fn); -1: nowhere. */
static long event_at(uint16_t kind, int fd, uint8_t op, uint8_t fn)
{
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind != kind || e->fd != fd)
			continue;
		if (kind == NPS_EV_SYSCALL && (e->u.sys.op != op || e->u.sys.fn != fn))
			continue;
		if (kind == NPS_EV_FD_ERR && e->u.fderr.fn != fn)
			continue;
		return (long)i;
	}
	return -1;
}

static void assert_close_parked(struct parked p, int want, const char *text)
{
	cr_assert_eq(tu_sim_run(1, main_close_parked, &p, &EV), 0);
	cr_assert_eq(T.rn, want, "the %c goroutine got %zd (%s)", p.op, T.rn,
		     nps_strerror((int)T.rn));
	cr_assert_str_eq(nps_strerror((int)T.rn), text);
	cr_assert_eq(T.closed, 0);
	cr_assert_eq(count_sys(T.sysfd, NPS_SYS_CLOSE, NPS_FN_FD_DESTROY), 1);
	cr_assert_eq(destroyer(), T.reader,
		     "destroy ran at the last decref, the %c goroutine's unlock (goroutine %llu)",
		     p.op, (unsigned long long)destroyer());
	cr_assert_eq(T.fd_after_close, -1, "Close returned before the fd was closed");
	cr_assert_eq(T.sysfd_after_close, -1);
	/*
	 * The method's deferred readUnlock/writeUnlock ran destroy (netpollclose, pollCache.free,
	 * close(2)) before the method returned: the log shows its error after all of them.
	 */
	uint8_t fn = p.op == 'r'   ? NPS_FN_FD_READ
		     : p.op == 'w' ? NPS_FN_FD_WRITE
				   : NPS_FN_FD_ACCEPT;
	long del = event_at(NPS_EV_NETPOLLCLOSE, T.sysfd, 0, 0);
	long freed = event_at(NPS_EV_PD_FREE, T.sysfd, 0, 0);
	long closed = event_at(NPS_EV_SYSCALL, T.sysfd, NPS_SYS_CLOSE, NPS_FN_FD_DESTROY);
	long ret = event_at(NPS_EV_FD_ERR, T.sysfd, 0, fn);
	cr_assert(del >= 0 && freed >= 0 && closed >= 0 && ret >= 0,
		  "netpollclose %ld, pd_free %ld, close %ld, fd_err %ld", del, freed, closed, ret);
	cr_assert_eq(EV.v[ret].g, T.reader, "the %c goroutine returns the error", p.op);
	cr_assert_eq(EV.v[ret].u.fderr.err, NPS_FDERR_CLOSING);
	cr_assert(del < ret && freed < ret && closed < ret,
		  "the %c goroutine returns (event %ld) before its unlock's destroy is done: "
		  "netpollclose %ld, pd_free %ld, close(2) %ld",
		  p.op, ret, del, freed, closed);
}

Test(sim_fd, close_wakes_reader_and_waits_for_its_decref)
{
	assert_close_parked((struct parked){'r', "tcp"}, -NPS_ECLOSING,
			    "use of closed network connection");
}

Test(sim_fd, close_of_a_file_says_use_of_closed_file)
{
	assert_close_parked((struct parked){'r', "file"}, -NPS_EFILECLOSING, "use of closed file");
}

Test(sim_fd, close_wakes_writer_whose_writeUnlock_destroys_before_write_returns)
{
	assert_close_parked((struct parked){'w', "tcp"}, -NPS_ECLOSING,
			    "use of closed network connection");
}

Test(sim_fd, close_wakes_accept_whose_readUnlock_destroys_before_accept_returns)
{
	assert_close_parked((struct parked){'a', "tcp"}, -NPS_ECLOSING,
			    "use of closed network connection");
}

/*
 * A second Read waits on the fdMutex (rsema) behind the first, which is parked in pollWait:
 * increfAndClose removes it from the waiters and wakes it, and its rwlock sees the closed bit.
 * Go's fdMutex layout: read waiters counted from bit 23.
 */
#define fdmuRWaiters(state) (((state) >> 23) & ((1ULL << 20) - 1))

static ssize_t queued_rn;
static char queued_buf[4];

static void queued_reader(void *arg)
{
	(void)arg;
	queued_rn = FD_Read(&T.fd, queued_buf, sizeof(queued_buf));
	wg_done(&T.wg);
}

/* A fresh FD with a reader parked in pollWait and a second Read queued on its fdMutex. */
static void park_reader_and_queue_another(void)
{
	new_fd("tcp", true);
	go_and_wait_parked(reader, 'r');
	wg_add(&T.wg, 1);
	go(queued_reader, NULL);
	for (int i = 0; i < 1000 && fdmuRWaiters(atomic_load(&T.fd.fdmu.state)) != 1; i++)
		time_sleep(1 * MS);
	cr_assert_eq(fdmuRWaiters(atomic_load(&T.fd.fdmu.state)), 1,
		     "the second reader does not wait on the fdMutex");
}

static void main_close_queued(void *arg)
{
	(void)arg;
	park_reader_and_queue_another();
	close_and_look();
	wg_wait(&T.wg);
}

Test(sim_fd, close_wakes_a_read_waiting_on_the_fdmutex)
{
	cr_assert_eq(tu_sim_run(1, main_close_queued, NULL, &EV), 0);
	cr_assert_eq(T.closed, 0);
	cr_assert_eq(T.rn, -NPS_ECLOSING, "the parked reader got %zd", T.rn);
	cr_assert_eq(queued_rn, -NPS_ECLOSING, "the queued reader got %zd (%s)", queued_rn,
		     nps_strerror((int)queued_rn));
	cr_assert_eq(count_sys(T.sysfd, NPS_SYS_READ, 0), 1,
		     "only the first reader made a read(2)");
	cr_assert_eq(count_sys(T.sysfd, NPS_SYS_CLOSE, NPS_FN_FD_DESTROY), 1);
}

/*
 * Two Reads on one FD are serialised by the fdMutex: the second waits on rsema until the first's
 * readUnlock hands the lock over, and makes no read(2) before that.
 */
static void main_two_reads(void *arg)
{
	(void)arg;
	park_reader_and_queue_another();
	cr_assert_eq(write(T.peer, "a", 1), 1); /* the first Read's */
	while (T.rn == 0)
		time_sleep(1 * MS);
	feed_the_reader("b"); /* the second's */
}

Test(sim_fd, reads_on_one_fd_are_serialised_by_the_fdmutex)
{
	cr_assert_eq(tu_sim_run(1, main_two_reads, NULL, &EV), 0);
	cr_assert_eq(queued_rn, 1, "the second Read got %zd", queued_rn);
	cr_assert_eq(queued_buf[0], 'b');
	cr_assert_eq(T.rn, 1);
	cr_assert_eq(T.rbuf[0], 'a');
	/* The first reader's reads all come before the second's first. */
	long last_first = -1, first_second = -1;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind != NPS_EV_SYSCALL || e->fd != T.sysfd || e->u.sys.op != NPS_SYS_READ)
			continue;
		if (e->g == T.reader)
			last_first = (long)i;
		else if (first_second < 0)
			first_second = (long)i;
	}
	cr_assert(last_first >= 0 && first_second > last_first,
		  "the second Read's read(2) (event %ld) before the first's last (event %ld)",
		  first_second, last_first);
}

/*
 * A blocking FD: Close cannot wake a read(2) sleeping in the kernel, so it does not wait on
 * csema; the fd stays open until the reader's read returns and its readUnlock destroys it.
 */
static void main_close_blocking(void *arg)
{
	(void)arg;
	new_fd("tcp", false);
	wg_add(&T.wg, 1);
	go(reader, NULL);
	for (int i = 0; i < 5000; i++) {
		pid_t tid = atomic_load(&T.rtid);
		if (tid && tu_in_syscall(tid, SYS_read))
			break;
		time_sleep(1 * MS);
	}
	close_and_look();
	cr_assert_eq(write(T.peer, "y", 1), 1);
	wg_wait(&T.wg);
}

Test(sim_fd, close_of_blocking_fd_does_not_wait)
{
	cr_assert_eq(tu_sim_run(2, main_close_blocking, NULL, &EV), 0);
	cr_assert_eq(T.closed, 0);
	cr_assert_neq(T.fd_after_close, -1, "the reader still holds the fd: not closed yet");
	cr_assert_eq(T.rn, 1, "the read in progress completes: %zd", T.rn);
	cr_assert_eq(T.rbuf[0], 'y');
	cr_assert_eq(count_sys(T.sysfd, NPS_SYS_CLOSE, NPS_FN_FD_DESTROY), 1);
	cr_assert_eq(destroyer(), T.reader, "the reader's readUnlock closed it");
}

/*
 * ---- prepareRead (pollReset) before the first read(2) ----
 * A readiness the poller stored before Read began (rg pdReady, its byte read since) is
 * discarded by pollReset: the next Read makes one read(2), gets EAGAIN and parks at once.
 * Without the reset, its pollWait would consume the stale pdReady and read(2) again for nothing.
 */
static int64_t reset_reads[4];
static int reset_nreads;

static void main_stale_readiness(void *arg)
{
	(void)arg;
	new_fd("tcp", true);
	cr_assert_eq(write(T.peer, "a", 1), 1);
	/* An idle M's netpoll takes the edge: nobody waits, so rg becomes pdReady. */
	for (int i = 0; i < 1000 && atomic_load(&T.fd.pd.runtimeCtx->rg) != pdReady; i++)
		time_sleep(1 * MS);
	cr_assert_eq(atomic_load(&T.fd.pd.runtimeCtx->rg), pdReady);
	char b;
	cr_assert_eq(FD_Read(&T.fd, &b, 1), 1);
	go_and_wait_parked(reader, 'r');
	feed_the_reader("b");
}

Test(sim_fd, read_discards_readiness_that_predates_it)
{
	cr_assert_eq(tu_sim_run(1, main_stale_readiness, NULL, &EV), 0);
	cr_assert_eq(T.rn, 1);
	cr_assert_eq(T.rbuf[0], 'b');
	reset_nreads = 0;
	for (size_t i = 0; i < EV.n && reset_nreads < 4; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_SYSCALL && e->fd == T.sysfd && e->u.sys.op == NPS_SYS_READ &&
		    e->g == T.reader)
			reset_reads[reset_nreads++] = e->u.sys.ret;
	}
	cr_assert_eq(reset_nreads, 2, "the reader made %d read(2)s, not EAGAIN then its byte",
		     reset_nreads);
	cr_assert_eq(reset_reads[0], -EAGAIN);
	cr_assert_eq(reset_reads[1], 1);
	uint64_t pd = 0;
	for (size_t i = 0; i < EV.n && !pd; i++)
		if (EV.v[i].kind == NPS_EV_PD_OPEN && EV.v[i].fd == T.sysfd)
			pd = EV.v[i].u.pd.pd;
	cr_assert_str_eq(tu_pd_history(&EV, pd, 'r'), "nil>ready>nil>wait>G>ready>nil");
}

/*
 * The same for Write (prepareWrite): the registration's EPOLLOUT edge left wg pdReady; a Write
 * that fills the socket buffer gets one EAGAIN and parks, not a second write(2) for the stale
 * readiness.
 */
static void main_stale_writability(void *arg)
{
	(void)arg;
	new_fd("tcp", true);
	for (int i = 0; i < 1000 && atomic_load(&T.fd.pd.runtimeCtx->wg) != pdReady; i++)
		time_sleep(1 * MS);
	cr_assert_eq(atomic_load(&T.fd.pd.runtimeCtx->wg), pdReady);
	go_and_wait_parked(writer, 'w');
	close_and_look();
	wg_wait(&T.wg);
}

Test(sim_fd, write_discards_writability_that_predates_it)
{
	cr_assert_eq(tu_sim_run(1, main_stale_writability, NULL, &EV), 0);
	cr_assert_eq(T.rn, -NPS_ECLOSING);
	int eagain = 0, writes = 0;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_SYSCALL && e->fd == T.sysfd && e->u.sys.op == NPS_SYS_WRITE &&
		    e->g == T.reader) {
			writes++;
			eagain += e->u.sys.ret == -EAGAIN;
		}
	}
	cr_assert_eq(eagain, 1, "the writer got EAGAIN %d times before it parked (%d writes)",
		     eagain, writes);
}

/*
 * ---- SetDeadline: `if err := fd.incref(); err != nil { return err }; defer fd.decref()` ----
 * (internal/poll/fd_poll_runtime.go setDeadlineImpl)
 */

/* The FD-layer error events fn returned on fd, in log order (their indexes into idx). */
static int fderr_events(int fd, uint8_t fn, long *idx, int max)
{
	int n = 0;
	for (size_t i = 0; i < EV.n && n < max; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_FD_ERR && e->fd == fd && e->u.fderr.fn == fn)
			idx[n++] = (long)i;
	}
	return n;
}

static int count_kind(uint16_t kind)
{
	int n = 0;
	for (size_t i = 0; i < EV.n; i++)
		n += EV.v[i].kind == kind;
	return n;
}

/* time.Until(t) as setDeadlineImpl turns it into pollSetDeadline's delay. */
Test(sim_fd, set_deadline_delay_is_time_until_with_now_as_expired)
{
	static const struct {
		int64_t t, now, d;
	} rows[] = {
	    {0, 5000, 0},		    /* the zero time: no deadline */
	    {5000, 5000, -1},		    /* now: expired, not "no deadline" */
	    {5001, 5000, 1},		    /* future */
	    {4000, 5000, -1000},	    /* past */
	    {INT64_MAX, -10, INT64_MAX},    /* overflow saturates */
	    {INT64_MIN + 1, 10, INT64_MIN}, /* underflow saturates */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_assert_eq(
		    setDeadlineDelay(rows[i].t, rows[i].now), rows[i].d,
		    "t %lld at %lld: %lld, want %lld", (long long)rows[i].t, (long long)rows[i].now,
		    (long long)setDeadlineDelay(rows[i].t, rows[i].now), (long long)rows[i].d);
}

/* SetDeadline, SetReadDeadline, SetWriteDeadline, in that order. */
static const int setter_modes[3] = {'r' + 'w', 'r', 'w'};
static int setter_ret[3], second_close;

/*
 * Close, then each setter: its incref fails, so it returns at once, with no decref. A second
 * Close fails its increfAndClose alike.
 */
static void main_set_deadline_after_close(void *arg)
{
	new_fd(arg, true);
	T.closed = FD_Close(&T.fd);
	for (int i = 0; i < 3; i++)
		setter_ret[i] = FD_SetDeadline(&T.fd, sim_now() + 1000 * MS, setter_modes[i]);
	second_close = FD_Close(&T.fd);
}

static void assert_set_deadline_after_close(const char *net, int want, const char *text)
{
	cr_assert_eq(tu_sim_run(1, main_set_deadline_after_close, (void *)net, &EV), 0);
	cr_assert_eq(T.closed, 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(setter_ret[i], want, "setter %d returned %d (%s)", i, setter_ret[i],
			     nps_strerror(setter_ret[i]));
		cr_assert_str_eq(nps_strerror(setter_ret[i]), text);
	}
	cr_assert_eq(second_close, want, "the second Close returned %d", second_close);
	long closes[2];
	cr_assert_eq(fderr_events(T.sysfd, NPS_FN_FD_CLOSE, closes, 2), 1);
	cr_assert_eq(EV.v[closes[0]].u.fderr.err, NPS_FDERR_CLOSING);
	/* No decref after the failed incref: one close(2), Close's own destroy's. */
	cr_assert_eq(count_sys(T.sysfd, NPS_SYS_CLOSE, NPS_FN_FD_DESTROY), 1);
	cr_assert_eq(count_kind(NPS_EV_PD_DEADLINE), 0, "a closed FD's pollDesc got a deadline");
	long closed = event_at(NPS_EV_SYSCALL, T.sysfd, NPS_SYS_CLOSE, NPS_FN_FD_DESTROY);
	long ret[4];
	cr_assert_eq(fderr_events(T.sysfd, NPS_FN_SETDEADLINEIMPL, ret, 4), 3,
		     "each setter's error is in the log once");
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(EV.v[ret[i]].u.fderr.err, NPS_FDERR_CLOSING);
		cr_assert_gt(ret[i], closed,
			     "setter %d returned (event %ld) before the close(2) "
			     "(event %ld) that preceded it",
			     i, ret[i], closed);
	}
}

Test(sim_fd, set_deadline_after_close_fails_its_incref_with_the_closing_error)
{
	assert_set_deadline_after_close("tcp", -NPS_ECLOSING, "use of closed network connection");
}

Test(sim_fd, set_deadline_after_close_of_a_file_says_use_of_closed_file)
{
	assert_set_deadline_after_close("file", -NPS_EFILECLOSING, "use of closed file");
}

/*
 * Close while a setter holds its reference: Close marks the FD closed and drops its own
 * reference, so the setter's deferred decref is the last one and runs destroy (netpollclose,
 * the pollDesc freed, close(2), csema released) before the setter returns. Go's fdMutex layout:
 * bit 0 closed, references from bit 3.
 */
#define fdmuClosedWithOneRef ((1ULL << 0) | (1ULL << 3))

static void closer(void *arg)
{
	(void)arg;
	close_and_look();
	wg_done(&T.wg);
}

static void close_while_setting(struct FD *fd)
{
	testHookSetDeadline = NULL;
	wg_add(&T.wg, 1);
	go(closer, NULL);
	for (int i = 0; i < 1000 && atomic_load(&fd->fdmu.state) != fdmuClosedWithOneRef; i++)
		time_sleep(1 * MS);
	cr_assert_eq(atomic_load(&fd->fdmu.state), fdmuClosedWithOneRef,
		     "Close did not drop its reference: fdMutex state %#llx",
		     (unsigned long long)atomic_load(&fd->fdmu.state));
}

static void main_set_deadline_last_ref(void *arg)
{
	new_fd("file", arg != NULL);
	testHookSetDeadline = close_while_setting;
	T.reader = sim_goid();
	T.rn = FD_SetDeadline(&T.fd, sim_now() + 1000 * MS, 'r' + 'w');
	wg_wait(&T.wg);
}

/* The setter's return, once its decref destroyed the FD: fn's error event (want) or none. */
static void assert_set_deadline_last_ref(bool pollable, int want, uint8_t code)
{
	cr_assert_eq(tu_sim_run(1, main_set_deadline_last_ref, pollable ? "" : NULL, &EV), 0);
	cr_assert_eq(T.rn, want, "SetDeadline returned %zd (%s)", T.rn, nps_strerror((int)T.rn));
	cr_assert_eq(T.closed, 0);
	cr_assert_eq(count_sys(T.sysfd, NPS_SYS_CLOSE, NPS_FN_FD_DESTROY), 1);
	cr_assert_eq(destroyer(), T.reader,
		     "destroy ran at the last decref, the setter's (goroutine %llu), not %llu",
		     (unsigned long long)T.reader, (unsigned long long)destroyer());
	cr_assert_eq(count_kind(NPS_EV_PD_DEADLINE), 0,
		     "pollSetDeadline changed a closing pollDesc's deadline");
	long closed = event_at(NPS_EV_SYSCALL, T.sysfd, NPS_SYS_CLOSE, NPS_FN_FD_DESTROY);
	long ret[2];
	int n = fderr_events(T.sysfd, NPS_FN_SETDEADLINEIMPL, ret, 2);
	if (!code) {
		cr_assert_eq(n, 0, "SetDeadline returned nil: no error in the log");
		/* Close waited on csema for the setter's destroy. */
		cr_assert_eq(T.fd_after_close, -1, "Close returned before the fd was closed");
		long del = event_at(NPS_EV_NETPOLLCLOSE, T.sysfd, 0, 0);
		cr_assert(del >= 0 && del < closed, "netpollclose %ld, close(2) %ld", del, closed);
		return;
	}
	cr_assert_eq(n, 1, "SetDeadline's error is in the log once");
	cr_assert_eq(EV.v[ret[0]].g, T.reader);
	cr_assert_eq(EV.v[ret[0]].u.fderr.err, code);
	cr_assert_gt(ret[0], closed,
		     "SetDeadline returned (event %ld) before its deferred decref's close(2) "
		     "(event %ld)",
		     ret[0], closed);
	/* A blocking FD: Close does not wait on csema, the setter still held the fd. */
	cr_assert_neq(T.fd_after_close, -1);
}

Test(sim_fd, set_deadline_whose_decref_is_the_last_destroys_before_returning_nil)
{
	assert_set_deadline_last_ref(true, 0, 0);
}

Test(sim_fd, set_deadline_on_a_blocking_fd_returns_no_deadline_after_its_decrefs_destroy)
{
	assert_set_deadline_last_ref(false, -NPS_ENODEADLINE, NPS_FDERR_NODEADLINE);
}

/* ---- Accept ---- */

/* The accept4 system calls the log shows on fd, in order: their results into ret[]. */
static int accept4_results(int fd, int64_t *ret, int max)
{
	int n = 0;
	for (size_t i = 0; i < EV.n && n < max; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_SYSCALL && e->fd == fd && e->u.sys.op == NPS_SYS_ACCEPT4)
			ret[n++] = e->u.sys.ret;
	}
	return n;
}

static struct {
	int lfd, cfd;			     /* the listener's fd, the accepted conn's */
	int port, client;		     /* the listener's port, the user's client */
	char laddr[64], raddr[64], want[64]; /* LocalAddr, RemoteAddr, the client's address */
	int fl, fdfl;			     /* F_GETFL, F_GETFD of the accepted fd */
	char got[8];			     /* what each side read */
	ssize_t wn, rn;
} A;

/* Listen, dial from a plain client, Accept, and talk both ways. */
static void main_accept(void *arg)
{
	(void)arg;
	struct netlistener *l;
	cr_assert_eq(net_listen("127.0.0.1:0", &l, NULL, 0), 0);
	A.lfd = listener_fd(l);
	A.port = listener_port(l);
	A.client = tu_dial(A.port);
	cr_assert_geq(A.client, 0, "dial: %s", strerror(errno));
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	cr_assert_eq(getsockname(A.client, (struct sockaddr *)&me, &len), 0);
	snprintf(A.want, sizeof(A.want), "127.0.0.1:%u", ntohs(me.sin_port));
	struct netconn *c = NULL;
	int err = net_accept(l, &c);
	cr_assert_eq(err, 0, "Accept: %s", nps_strerror(err));
	A.cfd = conn_fd(c);
	conn_local_addr(c, A.laddr, sizeof(A.laddr));
	conn_remote_addr(c, A.raddr, sizeof(A.raddr));
	A.fl = fcntl(A.cfd, F_GETFL);
	A.fdfl = fcntl(A.cfd, F_GETFD);
	A.wn = conn_write(c, "ping", 4);
	cr_assert_eq(read(A.client, A.got, 4), 4);
	cr_assert_eq(write(A.client, "pong", 4), 4);
	A.rn = conn_read(c, A.got + 4, 4);
	conn_close(c);
	conn_free(c);
	close(A.client);
	listener_close(l);
	listener_free(l);
}

static void assert_accepted(void)
{
	cr_assert_eq(A.wn, 4, "Write: %zd (%s)", A.wn, nps_strerror((int)A.wn));
	cr_assert_eq(A.rn, 4, "Read: %zd (%s)", A.rn, nps_strerror((int)A.rn));
	cr_assert_eq(memcmp(A.got, "pingpong", 8), 0, "the connection carries bytes both ways");
	cr_assert(A.fl >= 0 && (A.fl & O_NONBLOCK), "the accepted fd is non-blocking");
	cr_assert(A.fdfl >= 0 && (A.fdfl & FD_CLOEXEC), "the accepted fd is close-on-exec");
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%d", A.port);
	cr_assert_str_eq(A.laddr, want, "LocalAddr: getsockname on the new fd");
	cr_assert_str_eq(A.raddr, A.want, "RemoteAddr: the address accept4 filled in");
}

Test(sim_fd, accept_learns_both_addresses_and_the_conn_works)
{
	cr_assert_eq(tu_sim_run(1, main_accept, NULL, &EV), 0);
	int64_t ret[4];
	cr_assert_eq(accept4_results(A.lfd, ret, 4), 1, "one accept4: the connection was queued");
	cr_assert_eq(ret[0], A.cfd, "accept4 returned the conn's fd (%lld)", (long long)ret[0]);
	assert_accepted();
}

/*
 * Make accept4 fail with errno err for every thread of this process from now on: every call
 * (all), or only those with flags (the SOCK_NONBLOCK|SOCK_CLOEXEC one, as a kernel that does
 * not know them). A seccomp filter, as test_sim_netpoll's epoll_ctl failures: nothing in the
 * engine is changed.
 */
static void accept4_fails(int err, bool all)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_accept4, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, all ? 0 : 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

Test(sim_fd, accept_falls_back_to_no_flags_where_accept4_lacks_them)
{
	accept4_fails(ENOSYS, false);
	cr_assert_eq(tu_sim_run(1, main_accept, NULL, &EV), 0);
	int64_t ret[4];
	cr_assert_eq(accept4_results(A.lfd, ret, 4), 2,
		     "accept4 with the flags, then syscall.Accept's accept4 without");
	cr_assert_eq(ret[0], -ENOSYS);
	cr_assert_eq(ret[1], A.cfd, "the second accept4 returned the conn's fd");
	assert_accepted();
}

/*
 * A connection reset before it was accepted: accept4 fails with ECONNABORTED and Accept takes the
 * next one (Go's `case syscall.ECONNABORTED: continue`). Loopback cannot make that happen on
 * purpose, so a seccomp filter hands each accept4 to a supervisor thread (SECCOMP_RET_USER_NOTIF)
 * that fails the first with ECONNABORTED and lets the others run.
 */
static int accept4_notify_fd;

static void *abort_first_accept4(void *arg)
{
	(void)arg;
	for (int n = 0;; n++) {
		struct seccomp_notif req;
		memset(&req, 0, sizeof(req));
		if (ioctl(accept4_notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
			return NULL;
		struct seccomp_notif_resp resp = {.id = req.id};
		if (n == 0)
			resp.error = -ECONNABORTED;
		else
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(accept4_notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

Test(sim_fd, accept_takes_the_next_connection_after_econnaborted)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_accept4, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	accept4_notify_fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
					 SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	cr_assert_geq(accept4_notify_fd, 0, "seccomp: %s", strerror(errno));
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, abort_first_accept4, NULL), 0);
	cr_assert_eq(tu_sim_run(1, main_accept, NULL, &EV), 0);
	int64_t ret[4];
	cr_assert_eq(accept4_results(A.lfd, ret, 4), 2, "accept4 aborted, then accept4 again");
	cr_assert_eq(ret[0], -ECONNABORTED);
	cr_assert_eq(ret[1], A.cfd, "the second accept4 returned the conn's fd");
	assert_accepted();
}

/* One Accept on a fresh listening socket. */
static struct {
	int lfd, ret;
	const char *errcall;
} F;

static void main_accept_fails(void *arg)
{
	(void)arg;
	new_listen_fd();
	F.lfd = T.sysfd;
	struct RawSockaddrAny rsa;
	F.ret = FD_Accept(&T.fd, &rsa, &F.errcall);
	FD_Close(&T.fd);
}

/* The FD_ERR event Accept logged on fd: its errno, or 0 when there is none. */
static int accept_fderr(int fd)
{
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_FD_ERR && e->fd == fd && e->u.fderr.fn == NPS_FN_FD_ACCEPT &&
		    e->u.fderr.err == NPS_FDERR_ERRNO)
			return e->u.fderr.errno_;
	}
	return 0;
}

/*
 * Accept while every accept4 fails with err: it returns the error with errcall, and the log shows
 * `calls` accept4s, each failing, and the error.
 */
static void assert_accept_fails(int err, const char *errcall, int calls)
{
	accept4_fails(err, true);
	cr_assert_eq(tu_sim_run(1, main_accept_fails, NULL, &EV), 0);
	cr_assert_eq(F.ret, -err, "Accept: %d (%s)", F.ret, nps_strerror(F.ret));
	cr_assert_str_eq(F.errcall, errcall);
	int64_t ret[4];
	cr_assert_eq(accept4_results(F.lfd, ret, 4), calls);
	for (int i = 0; i < calls; i++)
		cr_assert_eq(ret[i], -err);
	cr_assert_eq(accept_fderr(F.lfd), err, "the log shows the error Accept returned");
}

/* The fallback's own accept4 failed: errcall "accept". */
Test(sim_fd, accept_error_of_the_fallback_is_accepts)
{
	assert_accept_fails(ENOSYS, "accept", 2);
}

/* Any other error is accept4's, with no fallback. */
Test(sim_fd, accept_error_other_than_no_such_call_is_accept4s)
{
	assert_accept_fails(EPERM, "accept4", 1);
}

/* ---- internal/poll's panics (fd_mutex.go): Go's unrecovered-panic output, status 2 ---- */

/*
 * fdMutex's reference count (bits 3..22 of its state, Go's layout) one short of overflowing:
 * 1048575 references, as if that many operations were in flight. Go's own test reaches it with
 * 2^21 Increfs; setting the state is the same state without the wait.
 */
#define REFS_FULL (((1ULL << 20) - 1) << 3)

static void main_overflow(void *arg)
{
	(void)arg;
	alarm(20); /* a child that does not panic must not outlive the test */
	new_fd("tcp", true);
	atomic_store(&T.fd.fdmu.state, REFS_FULL);
	char buf[1];
	FD_Read(&T.fd, buf, sizeof(buf)); /* readLock: one reference too many */
}

static void run_overflow(void *arg)
{
	(void)arg;
	tu_sim_run(1, main_overflow, NULL, NULL);
}

Test(sim_fd, fdmutex_overflow_panics_as_go)
{
	char *err = NULL;
	int st = tu_fork_capture(run_overflow, NULL, &err);
	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert_str_eq(err,
			 "panic: too many concurrent operations on a single file or socket (max "
			 "1048575)\n\ngoroutine 1 [running]:\n",
			 "stderr: %s", err);
	free(err);
}

/*
 * doDialTCPProto (net/tcpsock_posix.go): a dial with no local address that connected to itself
 * or failed with a spurious EADDRNOTAVAIL is tried twice more. In a network namespace of its own
 * whose only ephemeral port is 40000, a dial of 127.0.0.1:40000 connects to itself (TCP's
 * simultaneous open); Go drops that connection, whose close leaves the port in TIME_WAIT, so the
 * two tries after it fail with EADDRNOTAVAIL, which the dial returns. Without the retries it
 * would return the connection to itself.
 */
static int self_dial;

static void main_self_dial(void *arg)
{
	(void)arg;
	struct netconn *c;
	self_dial = net_dial("127.0.0.1:40000", &c);
	if (self_dial == 0) {
		conn_close(c);
		conn_free(c);
	}
}

/* The log's system calls op, and among them those that returned ret. */
static size_t count_sys_ret(uint8_t op, int64_t ret, size_t *with_ret)
{
	size_t n = 0;
	*with_ret = 0;
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_SYSCALL && e->u.sys.op == op) {
			n++;
			*with_ret += e->u.sys.ret == ret;
		}
	}
	return n;
}

Test(sim_fd, a_dial_that_connects_to_itself_is_tried_twice_more, .timeout = 30)
{
	NEED_ROOT();
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "lo up: %s", strerror(errno));
	close(s);
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "w");
	cr_assert(f && fprintf(f, "40000 40000\n") > 0 && fclose(f) == 0);

	cr_assert_eq(tu_sim_run(1, main_self_dial, NULL, &EV), 0);
	cr_assert_eq(self_dial, -EADDRNOTAVAIL, "%s", strerror(-self_dial));
	size_t ok, busy;
	cr_assert_eq(count_sys_ret(NPS_SYS_SOCKET, -1, &ok), 3, "three sockets");
	cr_assert_eq(count_sys_ret(NPS_SYS_CONNECT, -EADDRNOTAVAIL, &busy), 3);
	cr_assert_eq(busy, 2, "the first connected (to itself), the two after it found no port");
	size_t closes = count_sys_ret(NPS_SYS_CLOSE, 0, &ok);
	cr_assert_eq(closes, 3, "each socket closed: %zu closes, %zu returned 0", closes, ok);
	cr_assert_eq(ok, 3);
}

/* The fd of the first system call op in the log, or -1. */
static int first_sys_fd(uint8_t op, int64_t *ret)
{
	for (size_t i = 0; i < EV.n; i++) {
		const struct nps_event *e = &EV.v[i];
		if (e->kind == NPS_EV_SYSCALL && e->u.sys.op == op) {
			*ret = e->u.sys.ret;
			return e->fd;
		}
	}
	return -1;
}

/*
 * A listener the poller refuses (bind and listen succeeded): listenStream's fd.init error, which
 * Go says without a system call's name ("listen tcp ADDR: ERR"); the socket closed through the
 * FD, its close(2) logged.
 */
static int listen_err;
static char listen_why[128];

static void main_listen_refused_by_the_poller(void *arg)
{
	(void)arg;
	netpollGenericInit(); /* the poller's own ADD (the break pipe) before the filter */
	/* on this thread: the main goroutine's M, which does not change while nothing parks */
	cr_assert_eq(tu_epoll_ctl_fails_on_this_thread(), 0);
	struct netlistener *l = NULL;
	listen_err = net_listen("127.0.0.1:0", &l, listen_why, sizeof(listen_why));
}

Test(sim_fd, a_listen_the_poller_refuses_says_so_and_closes_its_socket, .timeout = 30)
{
	cr_assert_eq(tu_sim_run(1, main_listen_refused_by_the_poller, NULL, &EV), 0);
	cr_assert_eq(listen_err, -ENOSPC, "%s", nps_strerror(listen_err));
	cr_assert_str_eq(listen_why, "listen tcp 127.0.0.1:0: no space left on device");
	int64_t ret;
	int fd = first_sys_fd(NPS_SYS_LISTEN, &ret);
	cr_assert(fd >= 0 && ret == 0, "listen(2) succeeded");
	cr_assert_eq(count_sys(fd, NPS_SYS_CLOSE, NPS_FN_FD_DESTROY), 1,
		     "the socket's close(2), by the FD's destroy, is logged");
}

/*
 * An accepted connection the poller refuses is closed as Go's (*netFD).accept does, by
 * netfd.Close: FD_Close, whose close(2) is logged.
 */
static void main_accept_refused_by_the_poller(void *arg)
{
	(void)arg;
	struct netlistener *l;
	cr_assert_eq(net_listen("127.0.0.1:0", &l, NULL, 0), 0);
	A.lfd = listener_fd(l);
	A.client = tu_dial(listener_port(l)); /* queued: accept4 returns at once */
	cr_assert_geq(A.client, 0, "dial: %s", strerror(errno));
	/* on this thread: the main goroutine's M, which does not change while nothing parks */
	cr_assert_eq(tu_epoll_ctl_fails_on_this_thread(), 0);
	struct netconn *c = NULL;
	F.ret = net_accept(l, &c);
	close(A.client);
	listener_close(l); /* its DEL fails too: closed all the same, as Go's */
	listener_free(l);
}

Test(sim_fd, an_accept_the_poller_refuses_closes_the_conn_through_the_fd, .timeout = 30)
{
	cr_assert_eq(tu_sim_run(1, main_accept_refused_by_the_poller, NULL, &EV), 0);
	cr_assert_eq(F.ret, -ENOSPC, "Accept: %d (%s)", F.ret, nps_strerror(F.ret));
	int64_t ret[4];
	cr_assert_eq(accept4_results(A.lfd, ret, 4), 1);
	cr_assert_geq(ret[0], 0, "accept4 returned the connection");
	cr_assert_eq(count_sys((int)ret[0], NPS_SYS_CLOSE, NPS_FN_FD_DESTROY), 1,
		     "the conn's close(2), by the FD's destroy, is logged");
}

/*
 * maxListenerBacklog (net/sock_linux.go): a somaxconn over 65535 is capped by maxAckBacklog,
 * which asks uname: kernels since 4.1 keep the backlog in a uint32, so 100000 stays 100000
 * (65535 only before 4.1). somaxconn is per network namespace: this test's own.
 */
static void main_listen_anywhere(void *arg)
{
	(void)arg;
	struct netlistener *l;
	cr_assert_eq(net_listen("0.0.0.0:0", &l, NULL, 0), 0);
	listener_close(l);
	listener_free(l);
}

Test(sim_fd, a_somaxconn_over_65535_is_kept_on_a_kernel_since_4_1, .timeout = 30)
{
	NEED_ROOT();
	struct utsname u;
	int major = 0, minor = 0;
	cr_assert(uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2);
	cr_assert(major > 4 || (major == 4 && minor >= 1), "a kernel since 4.1: %s", u.release);
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "w");
	cr_assert(f && fprintf(f, "100000\n") > 0 && fclose(f) == 0);
	cr_assert_eq(tu_sim_run(1, main_listen_anywhere, NULL, &EV), 0);
	int64_t listen_backlog = -1;
	for (size_t i = 0; i < EV.n; i++)
		if (EV.v[i].kind == NPS_EV_SYSCALL && EV.v[i].u.sys.op == NPS_SYS_LISTEN)
			listen_backlog = (int64_t)EV.v[i].u.sys.count;
	cr_assert_eq(listen_backlog, 100000, "listen(2)'s backlog: %lld",
		     (long long)listen_backlog);
}

/*
 * Go's Errno.Error() text for a system call's error (syscall_unix.go over zerrors_linux_amd64.go):
 * lowered first letter, the table's own older texts, and "errno N" where it has none.
 */
Test(sim_fd, errno_texts_are_gos)
{
	cr_assert_str_eq(nps_strerror(-ECONNREFUSED), "connection refused");
	cr_assert_str_eq(nps_strerror(-EAGAIN), "resource temporarily unavailable");
	cr_assert_str_eq(nps_strerror(-ESTALE), "stale NFS file handle");
	cr_assert_str_eq(nps_strerror(-41), "errno 41");
	cr_assert_str_eq(nps_strerror(-58), "errno 58");
	cr_assert_str_eq(nps_strerror(-EHWPOISON), "errno 133");
	cr_assert_str_eq(nps_strerror(-4000), "errno 4000");
}
