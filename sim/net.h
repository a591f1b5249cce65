/* SPDX-License-Identifier: MIT */
/*
 * A small net API for C programs written Go-style on the simulated runtime: listen, accept,
 * dial, read, write, close, deadlines. Each call does what Go's net package does at the
 * syscall level (spec section 9): non-blocking sockets, the I/O attempted first, and a wait on
 * the netpoller (internal/poll, sim/fd.h) only after EAGAIN.
 *
 * Errors are negative numbers: -errno for a syscall's error, or one of the NPS_E* codes below
 * for internal/poll's errors; nps_strerror() gives Go's text for each.
 *
 * Ownership: conn_close/listener_close close the socket (any goroutine may call them while
 * another is blocked on it: that one gets NPS_ECLOSING); conn_free/listener_free release the
 * memory once no goroutine uses the object any more.
 */
#ifndef NPS_SIM_NET_H
#define NPS_SIM_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* internal/poll's errors (negated when returned). */
enum {
	NPS_ECLOSING = 4097,	   /* ErrNetClosing: "use of closed network connection" */
	NPS_ETIMEOUT = 4098,	   /* ErrDeadlineExceeded: "i/o timeout" */
	NPS_ENOTPOLLABLE = 4099,   /* ErrNotPollable: "not pollable" */
	NPS_EOF = 4100,		   /* io.EOF */
	NPS_ENODEADLINE = 4101,	   /* ErrNoDeadline: "file type does not support deadline" */
	NPS_EUNSUPPORTED = 4102,   /* "waiting for unsupported file type" */
	NPS_EUNEXPECTEDEOF = 4103, /* io.ErrUnexpectedEOF */
	NPS_EFILECLOSING = 4104,   /* ErrFileClosing: "use of closed file" */
};

/* Go's text for an error code (positive or negative); "" for 0. */
const char *nps_strerror(int err);

struct netconn;
struct netlistener;

/*
 * net.Listen("tcp", addr), addr "IP:PORT" (port 0 picks one). 0 or negative error; then why
 * (may be NULL) gets the error as Go's *OpError prints it: "listen tcp 127.0.0.1:80: bind:
 * address already in use".
 */
int net_listen(const char *addr, struct netlistener **out, char *why, size_t n);
int listener_port(const struct netlistener *l);
/* Listener.Addr(): the address listen found (no system call, as in Go). */
struct sockaddr_in;
void listener_addr(const struct netlistener *l, struct sockaddr_in *out);
/* Listener.Accept: 0 or negative error (NPS_ECLOSING after listener_close). */
int net_accept(struct netlistener *l, struct netconn **out);
int listener_close(struct netlistener *l);
void listener_free(struct netlistener *l);

/*
 * os.Pipe's read end, as os opens it: a file registered with the poller (kindPipe), so that a
 * goroutine reading it parks in IO wait. *wfd is the plain write end, non-blocking, for threads
 * outside the runtime to write to. 0 or negative error; the read end is closed and freed with
 * conn_close/conn_free.
 */
int os_pipe(struct netconn **rd, int *wfd);

/* net.Dial("tcp", addr). */
int net_dial(const char *addr, struct netconn **out);

/* Conn.Read / Conn.Write: bytes done (>= 0) or a negative error; Read returns -NPS_EOF at EOF. */
ssize_t conn_read(struct netconn *c, void *buf, size_t n);
ssize_t conn_write(struct netconn *c, const void *buf, size_t n);
/* Like conn_write; on error *written says how much went out before it (Go's (n, err)). */
ssize_t conn_write_partial(struct netconn *c, const void *buf, size_t n, size_t *written);
int conn_close(struct netconn *c);
void conn_free(struct netconn *c);

/*
 * Conn.SetDeadline / SetReadDeadline / SetWriteDeadline. t is an absolute time on sim_now()'s
 * clock; 0 means no deadline (Go's zero time.Time); a time in the past expires at once.
 */
int conn_set_deadline(struct netconn *c, int64_t t);
int conn_set_read_deadline(struct netconn *c, int64_t t);
int conn_set_write_deadline(struct netconn *c, int64_t t);

/*
 * Conn.LocalAddr / Conn.RemoteAddr, as Go prints them ("127.0.0.1:PORT", "<nil>" when the
 * call that finds it failed), into buf; returns buf.
 */
const char *conn_local_addr(const struct netconn *c, char *buf, size_t n);
const char *conn_remote_addr(const struct netconn *c, char *buf, size_t n);

/* The socket's fd (for narration and tests; do not do I/O on it). */
int conn_fd(const struct netconn *c);
int listener_fd(const struct netlistener *l);

/* The internal/poll FD behind a connection (for sim/ internals and lessons). */
struct FD *conn_pfd(struct netconn *c);

#endif /* NPS_SIM_NET_H */
