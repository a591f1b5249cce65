// SPDX-License-Identifier: MIT
/*
 * The lessons: small Go-style servers on the simulated runtime, each driven by client threads,
 * each showing one behaviour of netpoll (sim/scenario.h). They are written the way the same
 * program would be written in Go (goroutine per connection, blocking-looking Read and Write),
 * with notes in the event log so the narration can say what the clients are doing.
 */
#include "sim/scenario.h"

#include "sim/clients.h"
#include "sim/fd.h"
#include "sim/net.h"
#include "sim/runtime.h"
#include "sim/sim.h"
#include "sim/trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS (1000LL * 1000)

/* Errors printed before the rest are only counted (the summary gives the total). */
#define PRINTED_ERRORS 10

struct scenario_run {
	const struct scenario *sc;
	struct scenario_opts o;
	struct scenario_result *res;
	struct netlistener *l;
	struct sockaddr_in to; /* where the built-in clients connect: the listener's address */
	int64_t start, end;    /* end: start + duration, 0 none */
	struct clients clients;
	void *client_args;
	void *(*client)(void *);    /* the scenario's client, run by client_thread */
	_Atomic int clients_left;   /* client threads that have not returned */
	_Atomic int failed;	    /* an error that ends the run */
	_Atomic bool cancelled;	    /* cancel_clients wrote its byte */
	_Atomic int printed;	    /* errors printed so far */
	char first_err[160];	    /* the first of them, for the story: written once, then */
	_Atomic bool first_err_set; /* set (release) */
	_Atomic int client_go;	    /* a lesson tells its client to act */
	pthread_mutex_t go_lock; /* client_go's wake-up for clients asleep until it (gate_wait) */
	pthread_cond_t go_cond;
	_Atomic int client_quit; /* a lesson tells its client to close */
	_Atomic int connected;	 /* clients connected so far (ordered lessons) */
	_Atomic int l_closed, conn_closed;
	struct waitgroup done;	   /* the goroutines main waits for */
	struct waitgroup handlers; /* echo: one per accepted connection */
	struct waitgroup acceptor;
	struct waitgroup watcher;	/* a lesson's watch goroutine */
	bool watching;			/* it was started (main only) */
	_Atomic int unwatched;		/* the lesson no longer needs it */
	_Atomic(struct netconn *) conn; /* the lesson's server-side connection */
	_Atomic int waits;		/* slow-reader: times Write found the buffer full */
	_Atomic int reader_back;	/* close: the reader returned (it cannot park any more) */
	bool broke;			/* break: a netpollBreak while time.Sleep was called */
	struct netconn *wake;		/* the wake pipe's read end (wait_until), NULL before */
	int cancel[2];			/* readable once the run failed or ended: clients give up */
};

struct client_arg {
	struct scenario_run *r;
	int idx;
};

/* Ctrl-C, or the end of --duration. */
static bool asked_to_stop(struct scenario_run *r)
{
	return (r->o.stop && atomic_load(r->o.stop)) || (r->end && sim_now() >= r->end);
}

/* The run should wind down: Ctrl-C, --duration is over, or an error ended it. */
static bool stopped(struct scenario_run *r)
{
	return atomic_load(&r->failed) || asked_to_stop(r);
}

/* stopped() for clients_start: no more clients once the run stopped, however it did. */
static bool run_stopped(void *r)
{
	return stopped(r);
}

/*
 * What a run waits for at its end happens outside the runtime (Ctrl-C, the client threads, an
 * error on any thread) or on the clock (--duration). Whoever changes one of them writes a byte
 * to the wake pipe; the goroutine waiting for it is parked in Read on the pipe's read end, with
 * the end of --duration as its read deadline (Go: a goroutine reading an os.Pipe with
 * SetReadDeadline). One goroutine waits at a time: a lesson's watch, or echo's main.
 */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static int wake_wr = -1; /* the write end, -1 when no run waits */

void scenario_wake(void)
{
	pthread_mutex_lock(&wake_lock);
	if (wake_wr >= 0) {
		char b = 1;
		if (write(wake_wr, &b, 1) < 0) {
			/* full: enough wake-ups are pending already */
		}
	}
	pthread_mutex_unlock(&wake_lock);
}

/*
 * Clients still dialing or waiting for an echo give up (Go: their context cancelled): after a
 * SYN or an ACK the full listen queue dropped, only the kernel's next retransmit, up to a minute
 * later, would tell them the closed listener is gone.
 */
static void cancel_clients(struct scenario_run *r)
{
	/*
	 * Once: the byte is never read, so the pipe stays readable. Each write wakes every client
	 * polling it; with thousands failing at once (out of fds), a write each took minutes.
	 */
	char b = 1;
	if (r->cancel[1] >= 0 && !atomic_exchange(&r->cancelled, true) &&
	    write(r->cancel[1], &b, 1) < 0) {
		/* cannot be full: it is the only byte */
	}
}

/* The run should stop: said to the waiter and to the clients. True for the first. */
static bool set_failed(struct scenario_run *r)
{
	bool first = !atomic_exchange(&r->failed, 1);
	cancel_clients(r);
	scenario_wake();
	return first;
}

/* Whether the error was counted (and said): after a stop it is not. */
static bool fail(struct scenario_run *r, const char *what, int err)
{
	/*
	 * Once the run was asked to stop, what the stop itself breaks (a client refused by the
	 * closed listener, a round trip reset) is its teardown, not a failure of the lesson.
	 */
	if (asked_to_stop(r))
		return false;
	atomic_fetch_add(&r->res->errors, 1);
	int n = atomic_fetch_add(&r->printed, 1);
	char text[sizeof(r->first_err)];
	snprintf(text, sizeof(text), "%s%s%s", what, err ? ": " : "", nps_strerror(err));
	if (n == 0) {
		memcpy(r->first_err, text, sizeof(text));
		atomic_store_explicit(&r->first_err_set, true, memory_order_release);
	}
	if (n < PRINTED_ERRORS && !r->res->listen_err[0]) /* run says that one itself */
		fprintf(stderr, "netpollsim: %s: %s\n", r->sc->name, text);
	else if (n == PRINTED_ERRORS)
		fprintf(stderr,
			"netpollsim: %s: more errors: counted in the summary, not printed\n",
			r->sc->name);
	return n < PRINTED_ERRORS;
}

/*
 * An error once the run failed is that failure's doing (a client's queued connection reset by
 * the closed listener, no fd left for the wake pipe): the first error says it all.
 */
static void fail_unless_failed(struct scenario_run *r, const char *what, int err)
{
	if (!atomic_load(&r->failed))
		fail(r, what, err);
}

/* An error the run cannot go on after: said, and the run stops. */
static void fail_stop(struct scenario_run *r, const char *what, int err)
{
	fail(r, what, err);
	set_failed(r);
}

static void wait_until(struct scenario_run *r, bool (*over)(struct scenario_run *))
{
	if (!r->wake) {
		int wr, err = os_pipe(&r->wake, &wr);
		if (err) {
			fail_unless_failed(r, "wake pipe", err);
			r->wake = NULL;
		} else {
			sim_note("wait for what happens outside the runtime (clients, Ctrl-C, "
				 "--duration): a Read on a pipe they write to");
			pthread_mutex_lock(&wake_lock);
			wake_wr = wr;
			pthread_mutex_unlock(&wake_lock);
		}
	}
	/*
	 * The deadline timer lives only while waiting (a lesson's later timers are its own), and
	 * only before --duration's end: after it, the wait is for the clients alone.
	 */
	bool timed = r->wake && r->end && sim_now() < r->end;
	if (timed)
		conn_set_read_deadline(r->wake, r->end);
	/* After the pipe is there: a change from now on either is seen here or writes to it. */
	char buf[64];
	while (!over(r)) {
		ssize_t n = r->wake ? conn_read(r->wake, buf, sizeof(buf)) : -NPS_EOF;
		if (n == -NPS_ETIMEOUT && timed) {
			conn_set_read_deadline(r->wake, 0);
			timed = false;
		} else if (n < 0) {
			time_sleep(20 * MS); /* no pipe: look every 20 ms */
		}
	}
	if (timed)
		conn_set_read_deadline(r->wake, 0);
	/*
	 * Ctrl-C or the end of --duration cancels the clients' dials and reads, as a failure does
	 * (Go: the ctx of signal.NotifyContext or context.WithTimeout is done): a dial whose SYNs
	 * get no answer would hold the run until the kernel's last retransmit, two minutes on.
	 */
	if (asked_to_stop(r))
		cancel_clients(r);
}

/* The run's end: nobody waits any more. */
static void wake_close(struct scenario_run *r)
{
	if (!r->wake)
		return;
	pthread_mutex_lock(&wake_lock);
	close(wake_wr);
	wake_wr = -1;
	pthread_mutex_unlock(&wake_lock);
	conn_close(r->wake);
	conn_free(r->wake);
	r->wake = NULL;
}

/* Close the listener once, whoever comes first (main or the lesson's watcher). */
static void close_listener(struct scenario_run *r)
{
	if (!atomic_exchange(&r->l_closed, 1))
		listener_close(r->l);
}

/* Close the lesson's connection once, whoever comes first. Close's error, or 0. */
static int close_conn(struct scenario_run *r)
{
	struct netconn *c = atomic_load(&r->conn);
	if (!c || atomic_exchange(&r->conn_closed, 1))
		return 0;
	return conn_close(c);
}

/*
 * Clients that wait for the lesson's go sleep until it comes: thousands of them polling the flag
 * every millisecond kept both CPUs busy, so that starting them took minutes.
 */
static void gate_wait(struct scenario_run *r)
{
	pthread_mutex_lock(&r->go_lock);
	while (!atomic_load(&r->client_go))
		pthread_cond_wait(&r->go_cond, &r->go_lock);
	pthread_mutex_unlock(&r->go_lock);
}

static void gate_open(struct scenario_run *r)
{
	pthread_mutex_lock(&r->go_lock);
	atomic_store(&r->client_go, 1);
	pthread_cond_broadcast(&r->go_cond);
	pthread_mutex_unlock(&r->go_lock);
}

static void *client_thread(void *arg)
{
	struct client_arg *a = arg;
	a->r->client(a);
	if (atomic_fetch_sub(&a->r->clients_left, 1) == 1)
		scenario_wake(); /* the last one: echo's main waits for it */
	return NULL;
}

/* Listen on the scenario's address and start the client threads. */
static int serve_start(struct scenario_run *r, void *(*client)(void *))
{
	const char *addr = r->o.listen ? r->o.listen : "127.0.0.1:0";
	char why[160];
	int err = net_listen(addr, &r->l, why, sizeof(why));
	if (err) {
		/* the one thing to say (run prints it, naming --listen): no lesson ran */
		snprintf(r->res->listen_err, sizeof(r->res->listen_err), "%s", why);
		r->res->listen_errno = -err;
		fail_stop(r, why, 0);
		return err;
	}
	r->res->port = listener_port(r->l);
	/* The clients dial what the listener is bound to; 0.0.0.0 means this host (as Go's Dial). */
	listener_addr(r->l, &r->to); /* ln.Addr(): Go makes no system call for it */
	if (r->to.sin_addr.s_addr == htonl(INADDR_ANY))
		r->to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (r->o.clients <= 0) {
		/* Outside clients: they need the port (":0" picks one). Said once the socket listens. */
		const char *colon = strrchr(addr, ':');
		int hl = colon ? (int)(colon - addr) : (int)strlen(addr);
		fprintf(stderr,
			"netpollsim: serving %s on %.*s:%d (nc, wrk, a load client); Ctrl-C "
			"to stop\n",
			r->sc->name, hl, addr, r->res->port);
		trace_note("serving on %.*s:%d", hl, addr, r->res->port);
		return 0;
	}
	struct client_arg *args = calloc((size_t)r->o.clients, sizeof(*args));
	if (!args) {
		fail_stop(r, "starting client threads", -ENOMEM);
		return 0;
	}
	for (int i = 0; i < r->o.clients; i++) {
		args[i].r = r;
		args[i].idx = i + 1;
	}
	r->client_args = args;
	r->client = client;
	atomic_store(&r->clients_left, r->o.clients);
	err = clients_start(&r->clients, r->o.clients, client_thread, args, sizeof(*args),
			    run_stopped, r);
	/* The ones started see the stop; the server still serves them until they end. */
	atomic_fetch_sub(&r->clients_left, r->o.clients - r->clients.n);
	if (err)
		fail_stop(r, "starting client threads", err);
	return 0;
}

/*
 * A client thread's connection to the server, or -1: a client that cannot connect stops the
 * run, so that nobody waits for what it would have done.
 */
static int client_dial(struct client_arg *a, int rcvbuf)
{
	struct scenario_run *r = a->r;
	int s = client_connect(&r->to, rcvbuf, r->cancel[0]);
	/* after the stop, or the lesson's end: its closed listener refused us, or cancelled us */
	if (s >= 0 || asked_to_stop(r) || atomic_load(&r->client_quit))
		return s >= 0 ? s : -1;
	if (!set_failed(r))
		return -1; /* another client's failure stopped the run (and cancelled this dial) */
	/*
	 * Said only with the error it explains: --duration may end the run between the check
	 * above and fail(), which then counts nothing (and the run exits 0).
	 */
	if (fail(r, "client connect", s) && s == -EMFILE)
		fprintf(stderr,
			"netpollsim: %s: out of fds: each client takes two in this process (its "
			"socket and the server's): raise ulimit -n or lower --clients\n",
			r->sc->name);
	return -1;
}

/* ---- a lesson's watch ---- */

static bool watch_over(struct scenario_run *r)
{
	return atomic_load(&r->unwatched) || stopped(r);
}

/*
 * While a lesson waits for what happens outside the runtime (a client to connect, an outside
 * client to read or close), this goroutine watches for the stop, and then closes the listener
 * and the lesson's connection: whoever is blocked on them gets ErrNetClosing (Go: go func()
 * { select { case <-ctx.Done(): ln.Close(); c.Close(); case <-done: } }()).
 */
static void watch(void *arg)
{
	struct scenario_run *r = arg;
	/* not the lesson's own: say what it stands for, as its G and fd show in every lesson */
	sim_note("the stop watcher: Go's go func() { select { case <-ctx.Done(): ln.Close(); "
		 "case <-done: } }(), for Ctrl-C or --duration");
	wait_until(r, watch_over);
	if (!atomic_load(&r->unwatched)) {
		close_listener(r);
		close_conn(r);
	}
	wg_done(&r->watcher);
}

/* The lesson needs no watch any more: it ends (up to 20 ms later), so no timer of it is left. */
static void unwatch(struct scenario_run *r)
{
	if (r->watching && !atomic_exchange(&r->unwatched, 1)) {
		scenario_wake();
		/* the semacquire that follows in the narration: say whose */
		sim_note("every client connected: main ends the stop watcher (close(done)) and "
			 "waits for it to return (a sync.WaitGroup's Wait)");
		wg_wait(&r->watcher);
	}
}

/*
 * Accept one connection for a lesson (the first one accepted is the lesson's connection). NULL
 * when the run stopped first or Accept failed (said; the run stops). Once its own clients are
 * all accepted the watch ends: they honour the stop themselves.
 */
static struct netconn *accept_one(struct scenario_run *r)
{
	if (!r->watching) {
		r->watching = true;
		wg_add(&r->watcher, 1);
		go(watch, r);
	}
	struct netconn *c = NULL;
	int err = net_accept(r->l, &c);
	if (err) {
		if (!stopped(r))
			fail_stop(r, "accept", err);
		return NULL;
	}
	r->res->connections++;
	struct netconn *none = NULL;
	/* read before c is published: the watch may close it (FD_destroy clears the fd) at once */
	int fd = conn_fd(c);
	if (atomic_compare_exchange_strong(&r->conn, &none, c)) {
		r->res->server_fd = fd;
		if (stopped(r))
			close_conn(r); /* the watch may have looked before it was there */
	}
	if (r->o.clients > 0 && r->res->connections == (uint64_t)r->o.clients)
		unwatch(r);
	return c;
}

/* A lesson's end: its watch, its clients, its connection and its listener. */
static void lesson_end(struct scenario_run *r)
{
	unwatch(r);
	atomic_store(&r->client_quit, 1);
	close_conn(r);
	conn_free(atomic_exchange(&r->conn, NULL));
	close_listener(r);
}

/*
 * The story of a lesson that did not get what it shows: when the run stopped first, say why and
 * return true; otherwise false (the lesson failed: the caller says how).
 */
/* Why a stopped run stopped; *named: an error that names itself. */
static const char *stop_reason(struct scenario_run *r, bool *named)
{
	*named = false;
	if (atomic_load(&r->failed)) {
		/* the failure names itself: the story is also a recording's footer */
		*named = atomic_load_explicit(&r->first_err_set, memory_order_acquire);
		return *named ? r->first_err : "an error stopped it";
	}
	return r->o.stop && atomic_load(r->o.stop) ? "interrupted" : "--duration was over";
}

static bool cut_short(struct scenario_run *r)
{
	if (!stopped(r))
		return false;
	bool named;
	const char *why = stop_reason(r, &named);
	snprintf(r->res->story, sizeof(r->res->story), "the lesson did not reach its end: %s%s",
		 why, r->res->connections || named ? "" : " before a client connected");
	return true;
}

/* ---------------- echo: goroutine per connection ---------------- */

static void *echo_client(void *arg)
{
	struct client_arg *a = arg;
	struct scenario_run *r = a->r;
	/* said before the dial: once connect() returns, the server may have accepted already */
	sim_note("client %d connects", a->idx);
	int s = client_dial(a, 0);
	if (s < 0)
		return NULL;
	size_t len = (size_t)r->o.msg_size;
	char *out = malloc(len), *in = malloc(len);
	for (int i = 0; out && in && (r->o.rounds < 0 || i < r->o.rounds) && !stopped(r); i++) {
		memset(out, 'a' + (a->idx + i) % 26, len);
		if (r->o.rounds >= 0 && r->o.rounds <= 10)
			sim_note("client %d sends %zu bytes", a->idx, len);
		int err = client_send_all(s, out, len);
		if (!err)
			err = client_recv_all(s, in, len, r->cancel[0]);
		if (err) {
			fail_unless_failed(r, "client round trip", err);
			break;
		}
		if (memcmp(in, out, len) != 0) {
			fail(r, "client got a different echo", EBADMSG);
			break;
		}
		r->res->round_trips++;
	}
	free(out);
	free(in);
	sim_note("client %d closes", a->idx);
	close(s);
	return NULL;
}

static void echo_handler(void *arg)
{
	struct scenario_run *r = ((void **)arg)[0];
	struct netconn *c = ((void **)arg)[1];
	free(arg);
	char buf[1024];
	for (;;) {
		ssize_t n = conn_read(c, buf, sizeof(buf));
		if (n < 0) {
			if (n != -NPS_EOF && n != -ECONNRESET && n != -NPS_ECLOSING)
				fail(r, "handler read", (int)n);
			break;
		}
		ssize_t w = conn_write(c, buf, (size_t)n);
		if (w < 0) {
			if (w != -EPIPE && w != -ECONNRESET)
				fail(r, "handler write", (int)w);
			break;
		}
	}
	conn_close(c);
	conn_free(c);
	wg_done(&r->handlers);
}

static void echo_acceptor(void *arg)
{
	struct scenario_run *r = arg;
	int64_t delay = 0;
	for (;;) {
		struct netconn *c;
		int err = net_accept(r->l, &c);
		if (err == -NPS_ECLOSING)
			break;
		if (err) {
			/* EMFILE and friends: back off as Go's http.Server.Serve does, 5 ms doubling to 1 s. */
			delay = delay ? delay * 2 : 5 * MS;
			if (delay > 1000 * MS)
				delay = 1000 * MS;
			char what[64];
			snprintf(what, sizeof(what), "accept (retrying in %lld ms)", delay / MS);
			fail_unless_failed(r, what, err);
			time_sleep(delay);
			continue;
		}
		delay = 0;
		r->res->connections++;
		void **hargs = malloc(2 * sizeof(void *));
		if (!hargs) {
			conn_close(c);
			conn_free(c);
			continue;
		}
		hargs[0] = r;
		hargs[1] = c;
		wg_add(&r->handlers, 1);
		go(echo_handler, hargs);
	}
	wg_done(&r->acceptor);
}

static bool clients_finished(struct scenario_run *r)
{
	return r->o.clients > 0 && atomic_load(&r->clients_left) == 0;
}

static bool serving_over(struct scenario_run *r)
{
	return clients_finished(r) || stopped(r);
}

/*
 * Serve echo until the clients are done or the run stops (outside clients: until --duration or
 * Ctrl-C). burst: hold the clients back until the acceptor waits in Accept, then let them all
 * connect at once.
 */
static bool echo_serve(struct scenario_run *r, void *(*client)(void *), bool burst)
{
	if (serve_start(r, client))
		return false;
	wg_add(&r->acceptor, 1);
	go(echo_acceptor, r);
	if (burst && r->o.clients > 0) {
		time_sleep(10 * MS); /* the acceptor parks in Accept */
		sim_note("%d clients connect at once", r->o.clients);
		gate_open(r);
	}
	wait_until(r, serving_over);
	/* Connections still queued (never accepted) are reset: their clients see it and end. */
	close_listener(r);
	wg_wait(&r->acceptor);
	if (r->o.clients > 0) {
		/*
		 * Stopped early, the clients end their round trip and close: their handlers must
		 * echo until then. Every client's close ends its handler with EOF.
		 */
		wait_until(r, clients_finished);
		wg_wait(&r->handlers);
	}
	return true;
}

static void echo_story(struct scenario_run *r)
{
	unsigned long long n = r->res->connections, rt = r->res->round_trips;
	/* One connection has its own goroutine: "one goroutine each" reads oddly for one. */
	char served[96];
	snprintf(served, sizeof(served), "%llu %sconnection%s served by %s", n,
		 r->o.clients == 0 ? "outside " : "", nps_plural(n),
		 n == 1 ? "its own goroutine" : "one goroutine each");
	/* --rounds given, and the stop came first: say so, or the numbers read as the lesson's */
	unsigned long long asked =
	    r->o.rounds >= 0 ? (unsigned long long)r->o.clients * (unsigned long long)r->o.rounds
			     : 0;
	char cut[192] = "";
	bool named;
	if (asked > rt && stopped(r))
		snprintf(cut, sizeof(cut), " of the %llu asked (%s first)", asked,
			 stop_reason(r, &named));
	if (r->o.clients == 0) /* outside clients: their round trips are theirs to count */
		snprintf(r->res->story, sizeof(r->res->story), "%s", served);
	else
		snprintf(r->res->story, sizeof(r->res->story), "%s; %llu round trip%s%s", served,
			 rt, nps_plural(rt), cut);
}

static void echo_main(void *arg)
{
	struct scenario_run *r = arg;
	if (echo_serve(r, echo_client, false))
		echo_story(r);
	else
		cut_short(r); /* it could not listen: the error above says why */
}

/* ---------------- deadline: a read deadline expires ---------------- */

/* A client that connects and sends nothing until the lesson lets it close. */
static void *hold_client(struct client_arg *a, int rcvbuf, const char *what)
{
	struct scenario_run *r = a->r;
	sim_note("client %d connects, %s", a->idx, what); /* before the dial, as echo's */
	int s = client_dial(a, rcvbuf);
	if (s < 0)
		return NULL;
	while (!atomic_load(&r->client_quit) && !stopped(r))
		client_sleep_ms(2);
	sim_note("client %d closes", a->idx);
	close(s);
	return NULL;
}

static void *idle_client(void *arg)
{
	return hold_client(arg, 0, "idle");
}

static void deadline_main(void *arg)
{
	struct scenario_run *r = arg;
	if (serve_start(r, idle_client))
		return;
	struct netconn *c = accept_one(r);
	if (c) {
		sim_note("read deadline: now + 100 ms");
		conn_set_read_deadline(c, sim_now() + 100 * MS);
		char buf[64];
		ssize_t n = conn_read(c, buf, sizeof(buf));
		r->res->reader_err = n < 0 ? (int)n : 0;
		sim_note("Read: %s", n < 0 ? nps_strerror((int)n) : "data");
		/* Clearing the deadline makes the connection usable again (Go: zero time.Time). */
		conn_set_read_deadline(c, 0);
	}
	lesson_end(r);
	if (r->res->reader_err == -NPS_ETIMEOUT) {
		snprintf(r->res->story, sizeof(r->res->story),
			 "the idle reader was woken by its deadline timer and got '%s'",
			 nps_strerror(r->res->reader_err));
	} else if (!cut_short(r)) {
		int err = r->res->reader_err;
		fail(r, err ? "Read did not time out" : "Read got data, not i/o timeout", err);
		snprintf(r->res->story, sizeof(r->res->story),
			 "Read returned %s%s%s before its deadline: the client %s",
			 err ? "'" : "data", nps_strerror(err), err ? "'" : "",
			 err ? "closed" : "sent some");
	}
}

/* ---------------- close: Close while a reader and a writer are parked ---------------- */

static void close_reader(void *arg)
{
	struct scenario_run *r = arg;
	char buf[64];
	ssize_t n = conn_read(r->conn, buf, sizeof(buf));
	r->res->reader_err = n < 0 ? (int)n : 0;
	atomic_store(&r->reader_back, 1);
	wg_done(&r->done);
}

static void close_writer(void *arg)
{
	struct scenario_run *r = arg;
	/* More than the socket buffers hold: the writer parks on wg. */
	size_t len = 8 << 20;
	char *big = malloc(len);
	/* text an outside reader (nc) can read: what it is being sent, line after line */
	static const char line[] = "netpollsim close lesson: 8 MiB to fill the socket buffers\n";
	for (size_t i = 0; big && i < len; i += sizeof(line) - 1)
		memcpy(big + i, line, len - i < sizeof(line) - 1 ? len - i : sizeof(line) - 1);
	size_t written = 0;
	ssize_t n = big ? conn_write_partial(r->conn, big, len, &written) : -ENOMEM;
	r->res->writer_err = n < 0 ? (int)n : 0;
	free(big);
	wg_done(&r->done);
}

/* Both sides parked: rg and wg hold goroutines (peeks at the runtime; a lesson may). */
static bool both_parked(struct netconn *c)
{
	struct pollDesc *pd = conn_pfd(c)->pd.runtimeCtx;
	return pd && atomic_load(&pd->rg) > pdWait && atomic_load(&pd->wg) > pdWait;
}

static void *close_client(void *arg)
{
	/* A small receive buffer so the server's writer fills it quickly. */
	return hold_client(arg, 4096, "no reads");
}

static void close_main(void *arg)
{
	struct scenario_run *r = arg;
	bool parked = false; /* both were parked when main called Close */
	if (serve_start(r, close_client))
		return;
	struct netconn *c = accept_one(r);
	if (c) {
		int sndbuf = 4096;
		setsockopt(conn_fd(c), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		wg_add(&r->done, 2);
		go(close_reader, r);
		go(close_writer, r);
		int64_t deadline = sim_now() + 2000 * MS;
		while (!both_parked(c) && !atomic_load(&r->reader_back) && sim_now() < deadline &&
		       !stopped(r))
			time_sleep(1 * MS);
		parked = both_parked(c);
		if (!parked && !stopped(r)) {
			const char *why = "reader and writer did not both park within 2 s";
			int rerr = 0;
			if (atomic_load(&r->reader_back)) {
				rerr = r->res->reader_err;
				why =
				    rerr ? "the reader returned before Close"
					 : "the reader got data before Close: the client sent some";
			}
			fail(r, why, rerr);
		}
		/*
		 * Close does not close(2) the fd itself while the parked goroutines hold it: the
		 * one that lets go of it last (fdMutex's decref) does, in (*FD).destroy.
		 */
		sim_note(
		    parked ? "main: Close, both parked; the woken goroutine that lets go of the fd "
			     "last (fdMutex) closes it: (*FD).destroy"
			   : "main: Close, not both parked");
		int err = close_conn(r);
		if (err)
			fail(r, "close", err);
		wg_wait(&r->done);
	}
	lesson_end(r);
	if (parked && r->res->reader_err == -NPS_ECLOSING && r->res->writer_err == -NPS_ECLOSING) {
		snprintf(r->res->story, sizeof(r->res->story),
			 "Close woke the parked reader and writer ('%s'); the fd left epoll (DEL) "
			 "before close(2)",
			 nps_strerror(r->res->reader_err));
	} else if (!cut_short(r)) {
		if (parked) /* not said above */
			fail(r, "reader and writer expected use of closed network connection",
			     r->res->reader_err != -NPS_ECLOSING ? r->res->reader_err
								 : r->res->writer_err);
		int rerr = r->res->reader_err, werr = r->res->writer_err;
		snprintf(r->res->story, sizeof(r->res->story),
			 "Close did not find both parked: the reader got %s%s%s, the writer %s%s%s",
			 rerr ? "'" : "", rerr ? nps_strerror(rerr) : "data", rerr ? "'" : "",
			 werr ? "'" : "", werr ? nps_strerror(werr) : "all written",
			 werr ? "'" : "");
	}
}

/* ---------------- slow-reader: a writer parks on a full socket buffer ---------------- */

#define SLOW_PAYLOAD (64 * 1024)

static void *slow_client(void *arg)
{
	struct client_arg *a = arg;
	struct scenario_run *r = a->r;
	sim_note("client %d connects, then reads 4 KiB per 10 ms", a->idx); /* as echo's */
	int s = client_dial(a, 4096);
	if (s < 0)
		return NULL;
	char *buf = malloc(4096);
	size_t got = 0;
	while (buf && got < SLOW_PAYLOAD && !stopped(r)) {
		client_sleep_ms(10);
		ssize_t n = read(s, buf, 4096);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	free(buf);
	if (got != SLOW_PAYLOAD && !stopped(r))
		fail(r, "slow client got fewer bytes than sent", EPIPE);
	sim_note("client %d got %zu B, closes", a->idx, got);
	close(s);
	return NULL;
}

static struct FD *slow_fd;
static struct scenario_run *slow_run;

/* Runs inside Write after EAGAIN, before the wait: the socket buffer is full. */
static void slow_hook(struct FD *fd, int mode)
{
	if (fd == slow_fd && mode == 'w')
		atomic_fetch_add(&slow_run->waits, 1);
}

/*
 * What the server writes at once. Its own client's receive buffer holds 4 KiB; an outside
 * client's starts at the kernel's default (tcp_rmem: 128 KiB), which would swallow 64 KiB
 * whole, so that Write never met a full buffer: write more than such a buffer holds.
 */
#define SLOW_PAYLOAD_OUTSIDE (1024 * 1024)

/* The client is gone (it closed or reset with data unread): the end of its part, no error. */
static bool peer_gone(ssize_t n)
{
	return n == -EPIPE || n == -ECONNRESET;
}

static void slow_main(void *arg)
{
	struct scenario_run *r = arg;
	if (serve_start(r, slow_client))
		return;
	struct netconn *c = accept_one(r);
	size_t len = r->o.clients > 0 ? SLOW_PAYLOAD : SLOW_PAYLOAD_OUTSIDE;
	ssize_t n = -ENOMEM;
	if (c) {
		int sndbuf = 4096;
		setsockopt(conn_fd(c), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		char *payload = malloc(len);
		if (payload) {
			memset(payload, 'x', len);
			sim_note("server writes %zu KiB at once", len / 1024);
			slow_fd = conn_pfd(c);
			slow_run = r;
			testHookAfterEAGAIN = slow_hook;
			n = conn_write(c, payload, len);
			testHookAfterEAGAIN = NULL;
			r->res->writer_err = n < 0 ? (int)n : 0;
			free(payload);
		}
		char b;
		if (n == (ssize_t)len)
			conn_read(c, &b, 1); /* wait for the client's close */
	}
	lesson_end(r);
	int waits = atomic_load(&r->waits);
	if (n == (ssize_t)len && waits > 0) {
		snprintf(r->res->story, sizeof(r->res->story),
			 "Write found the socket buffer full %d times and parked on wg each time; "
			 "an EPOLLOUT edge from the client's reads woke it",
			 waits);
	} else if (n == (ssize_t)len) {
		snprintf(
		    r->res->story, sizeof(r->res->story),
		    "Write never found the socket buffer full (the client read fast enough, or "
		    "its receive buffer held the %zu KiB), so it never parked",
		    len / 1024);
	} else if (waits > 0 && peer_gone(n) && !stopped(r)) {
		snprintf(r->res->story, sizeof(r->res->story),
			 "Write found the socket buffer full %d times and parked on wg each time; "
			 "then the client went away before reading it all (%s)",
			 waits, nps_strerror((int)n));
	} else if (!cut_short(r)) {
		fail(r, "write", n < 0 ? (int)n : EIO);
		snprintf(r->res->story, sizeof(r->res->story),
			 "Write failed after %d waits on a full buffer: %s", waits,
			 nps_strerror(n < 0 ? (int)n : EIO));
	}
}

/* ---------------- ready-before-park ---------------- */

static struct FD *rbp_fd;
static struct scenario_run *rbp_run;
static _Atomic int rbp_armed;

/*
 * Runs inside Read between the EAGAIN and the wait: let the client send now and hold this
 * goroutine until another M's netpoll has turned rg into pdReady. netpollblock will then
 * consume the notification instead of parking.
 */
static void rbp_hook(struct FD *fd, int mode)
{
	if (fd != rbp_fd || mode != 'r' || !atomic_exchange(&rbp_armed, 0))
		return;
	struct scenario_run *r = rbp_run;
	/* the gap is the lesson's doing: say so, or the pause reads as the runtime's */
	sim_note("server: read got EAGAIN; the lesson holds this goroutine here (a test hook "
		 "after EAGAIN) until the client's data makes rg pdReady");
	atomic_store(&r->client_go, 1);
	struct pollDesc *pd = fd->pd.runtimeCtx;
	/*
	 * Another M's findRunnable polls at once. With GOMAXPROCS 1 there is none, and sysmon may
	 * be in its deep sleep (all Ps were idle), from which Go wakes it only at a timer or a
	 * syscall: give it its 10 ms rule twice over, not the second others get.
	 */
	int64_t deadline = sim_now() + (gomaxprocs == 1 ? 20 : 1000) * MS;
	while (atomic_load(&pd->rg) != pdReady && sim_now() < deadline)
		usleep(100); /* a busy goroutine: the M and P stay here */
	if (atomic_load(&pd->rg) != pdReady) {
		/* Nobody else polled (GOMAXPROCS=1): poll once, as findRunnable would. */
		sim_note("no M polls: lesson polls");
		sim_netpoll_now();
	}
	if (atomic_load(&pd->rg) == pdReady)
		r->res->park_free_reads++;
}

static void *rbp_client(void *arg)
{
	struct client_arg *a = arg;
	struct scenario_run *r = a->r;
	/* Connect in order, so that the server's first Accept is client 1's connection. */
	while (atomic_load(&r->connected) != a->idx - 1 && !atomic_load(&r->client_quit))
		client_sleep_ms(1);
	int s = client_dial(a, 0);
	atomic_fetch_add(&r->connected, 1);
	if (s < 0)
		return NULL;
	if (a->idx == 1) {
		while (!atomic_load(&r->client_go) && !atomic_load(&r->client_quit))
			client_sleep_ms(1);
		sim_note("client 1 sends 64 bytes");
		char msg[64];
		memset(msg, 'r', sizeof(msg));
		if (client_send_all(s, msg, sizeof(msg)) ||
		    client_recv_all(s, msg, sizeof(msg), r->cancel[0]))
			fail_unless_failed(r, "client round trip", EPIPE);
	} else {
		sim_note("client %d stays idle", a->idx);
		while (!atomic_load(&r->client_quit))
			client_sleep_ms(2);
	}
	close(s);
	return NULL;
}

/* A goroutine parked on an idle connection keeps netpollWaiters > 0, so an idle M polls. */
struct rbp_watch {
	struct netconn *c;
	struct waitgroup done; /* the conn is freed only once its Read has returned */
};

static void rbp_watcher(void *arg)
{
	struct rbp_watch *w = arg;
	char b;
	conn_read(w->c, &b, 1);
	wg_done(&w->done);
}

static void rbp_main(void *arg)
{
	struct scenario_run *r = arg;
	if (serve_start(r, rbp_client))
		return;
	struct netconn *lesson = accept_one(r), *idle = lesson ? accept_one(r) : NULL;
	if (idle) {
		struct rbp_watch w = {idle, {0}};
		wg_add(&w.done, 1);
		go(rbp_watcher, &w);
		time_sleep(20 * MS); /* let the watcher park and an M settle into netpoll */
		rbp_fd = conn_pfd(lesson);
		rbp_run = r;
		atomic_store(&rbp_armed, 1);
		testHookAfterEAGAIN = rbp_hook;
		char buf[64];
		ssize_t n = conn_read(lesson, buf, sizeof(buf));
		testHookAfterEAGAIN = NULL;
		if (n != 64)
			fail(r, "read", n < 0 ? (int)n : EIO);
		else
			conn_write(lesson, buf, (size_t)n);
		r->res->reader_err = n < 0 ? (int)n : 0;
		atomic_store(&r->client_quit, 1);
		close_conn(r);
		conn_close(idle); /* returns once the watcher's Read released the fd */
		wg_wait(&w.done); /* and its Read returned: it reads the conn until then */
		conn_free(idle);
	}
	lesson_end(r);
	if (r->res->park_free_reads) {
		snprintf(r->res->story, sizeof(r->res->story),
			 "readiness arrived after EAGAIN but before the goroutine parked: "
			 "netpollblock found pdReady and returned without parking");
	} else if (!cut_short(r)) {
		snprintf(r->res->story, sizeof(r->res->story),
			 "no netpoll turned rg into pdReady between the EAGAIN and the park within "
			 "1 s: the reader parked as usual");
	}
}

/* ---------------- accept-burst ---------------- */

static void *burst_client(void *arg)
{
	struct client_arg *a = arg;
	struct scenario_run *r = a->r;
	/* Start together: every client waits for the go signal. */
	gate_wait(r);
	int s = client_dial(a, 0);
	if (s < 0)
		return NULL;
	char msg[64];
	memset(msg, 'b', sizeof(msg));
	if (client_send_all(s, msg, sizeof(msg)) ||
	    client_recv_all(s, msg, sizeof(msg), r->cancel[0]))
		fail_unless_failed(r, "client round trip", EPIPE);
	else
		r->res->round_trips++;
	close(s);
	return NULL;
}

static void burst_main(void *arg)
{
	struct scenario_run *r = arg;
	if (!echo_serve(r, burst_client, true)) {
		cut_short(r);
		return;
	}
	if (r->o.clients > 0 && r->res->connections < (uint64_t)r->o.clients && cut_short(r))
		return;
	/* outside clients come when they come: their connections are counted, not "together" */
	snprintf(r->res->story, sizeof(r->res->story),
		 "%llu %sconnection%s %s; each time the listener's goroutine was woken (EPOLLIN, "
		 "edge-triggered), Accept took every connection queued by then until EAGAIN, "
		 "then parked again",
		 (unsigned long long)r->res->connections, r->o.clients == 0 ? "outside " : "",
		 nps_plural(r->res->connections),
		 r->o.clients == 0 ? "accepted" : "were dialled at once");
}

/* ---------------- break: a timer wakes the blocked poller ---------------- */

static void break_reader(void *arg)
{
	struct scenario_run *r = arg;
	char b[64];
	ssize_t n = conn_read(r->conn, b, sizeof(b));
	r->res->reader_err = n < 0 ? (int)n : 0;
	if (n > 0) /* an outside client sent data: the reader need not park */
		atomic_store(&r->reader_back, true);
	wg_done(&r->handlers);
}

static void break_spinner(void *arg)
{
	struct scenario_run *r = arg;
	/* Busy for 50 ms on one P while an idle M sleeps in netpoll(-1) on behalf of the reader. */
	sim_note("spinner: busy for 50 ms, no system call: nothing to show until it sleeps");
	int64_t until = sim_now() + 50 * MS;
	while (sim_now() < until)
		;
	sim_note("spinner: time.Sleep(20ms)");
	uint64_t calls, before, after;
	netpoll_counts(&calls, &before);
	time_sleep(20 * MS);
	netpoll_counts(&calls, &after);
	r->broke = after > before;
	sim_note("spinner woke");
	wg_done(&r->done);
}

static void break_main(void *arg)
{
	struct scenario_run *r = arg;
	if (serve_start(r, idle_client))
		return;
	struct netconn *c = accept_one(r);
	/* The rest takes 70 ms, and no other timer may be there to wake the poller. */
	unwatch(r);
	/*
	 * The watch's --duration deadline timer is gone, but an M may have gone to sleep in netpoll
	 * with it as pollUntil (Go does not wake the poller for a deleted timer): a timer earlier
	 * than that wakes it, and it polls again with no timeout once that one has run.
	 */
	if (r->end)
		time_sleep(1 * MS);
	if (c) {
		wg_add(&r->handlers, 1);
		wg_add(&r->done, 1);
		go(break_reader, r);
		go(break_spinner, r);
		wg_wait(&r->done);
		sim_note("main: Close; the reader wakes");
		close_conn(r);
		wg_wait(&r->handlers);
	}
	lesson_end(r);
	if (r->broke) {
		snprintf(r->res->story, sizeof(r->res->story),
			 "the M blocked in netpoll(-1) was woken by netpollBreak when time.Sleep "
			 "added an earlier timer, and re-polled with the timer's timeout");
	} else if (!cut_short(r) && atomic_load(&r->reader_back)) {
		snprintf(r->res->story, sizeof(r->res->story),
			 "no netpollBreak this time: the client sent data, so the reader's Read "
			 "returned and no M stayed blocked in netpoll(-1) for it to wake");
	} else if (!cut_short(r)) {
		snprintf(
		    r->res->story, sizeof(r->res->story),
		    "no netpollBreak this time: no M was blocked in netpoll(-1) when time.Sleep "
		    "added its timer (a busy machine?), so no poller needed waking");
	}
}

/* ---------------- the table ---------------- */

static const struct scenario table[] = {
    {"echo", "a goroutine per conn: rg pdNil → pdWait → G → pdReady → pdNil", 2, 3, 0, 0,
     SCENARIO_ANY, NULL, echo_main},
    {"deadline", "an idle read hits its deadline: rg G → pdNil, i/o timeout", 1, 0, 0, 0,
     SCENARIO_FIXED, NULL, deadline_main},
    {"close", "Close wakes a parked reader and writer with ErrNetClosing", 1, 0, 0, 0,
     SCENARIO_FIXED, NULL, close_main},
    {"slow-reader", "a full send buffer parks the writer on wg; EPOLLOUT wakes it", 1, 0, 0, 0,
     SCENARIO_FIXED, NULL, slow_main},
    {"ready-before-park", "ready between EAGAIN and the park: pdReady consumed, no park", 2, 1, 2,
     0, SCENARIO_OWN,
     "it times client 1's send to the moment the server's Read got EAGAIN, which an outside "
     "client cannot do",
     rbp_main},
    {"accept-burst", "many at once: Accept until EAGAIN, park, wake on EPOLLIN", 50, 1, 0, 0,
     SCENARIO_ANY, NULL, burst_main},
    {"break", "a new timer: netpollBreak wakes the M asleep in netpoll(-1)", 1, 0, 2, 2,
     SCENARIO_FIXED,
     "with its one P busy running the spinner, no M can be asleep in netpoll(-1), so "
     "time.Sleep's timer needs no netpollBreak: the spinner's own M then polls with the "
     "timer's timeout",
     break_main},
};

const struct scenario *scenario_list(int *n)
{
	*n = (int)(sizeof(table) / sizeof(table[0]));
	return table;
}

const struct scenario *scenario_find(const char *name)
{
	int n;
	const struct scenario *t = scenario_list(&n);
	for (int i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

bool scenario_echoes(const struct scenario *sc, const struct scenario_opts *o)
{
	/* only echo's clients loop on round trips (accept-burst's make exactly one of 64 bytes) */
	return sc->main == echo_main && o->clients != 0;
}

int scenario_check(const struct scenario *sc, const struct scenario_opts *o, int procs, char *why,
		   size_t n)
{
	int clients = o->clients;
	/*
	 * A lesson that has no use for --rounds or --msg-size refuses them rather than run
	 * without them: a recording's header must not claim round trips that never ran.
	 */
	if ((o->rounds >= 0 || o->msg_size > 0) && !scenario_echoes(sc, o)) {
		const char *opt = o->rounds >= 0 ? "--rounds" : "--msg-size";
		if (sc->main == echo_main)
			snprintf(why, n,
				 "%s: with --clients 0 the outside clients choose what they send",
				 opt);
		else
			snprintf(why, n, "%s: only echo's clients make round trips; %s's do not",
				 opt, sc->name);
		return -EINVAL;
	}
	if (procs < sc->min_procs) {
		snprintf(why, n, "--procs %d: %s needs GOMAXPROCS %d or more: %s", procs, sc->name,
			 sc->min_procs, sc->why);
		return -EINVAL;
	}
	if (clients < 0 || sc->cast == SCENARIO_ANY || clients == sc->clients ||
	    (clients == 0 && sc->cast == SCENARIO_FIXED))
		return 0;
	if (sc->cast == SCENARIO_OWN)
		snprintf(why, n, "--clients %d: %s runs with its own %d clients: %s", clients,
			 sc->name, sc->clients, sc->why);
	else
		snprintf(why, n,
			 "--clients %d: %s is written for %d client%s of its own, or 0 to serve "
			 "one outside client",
			 clients, sc->name, sc->clients, nps_plural((unsigned)sc->clients));
	return -EINVAL;
}

/* Go's main.main: the lesson, then the wake pipe it may have opened is closed. */
static void run_main(void *arg)
{
	struct scenario_run *r = arg;
	r->sc->main(r);
	wake_close(r);
}

int scenario_run(const struct scenario *sc, const struct scenario_opts *o,
		 const struct sim_config *cfg, struct scenario_result *res)
{
	char why[256];
	long procs = cfg->gomaxprocs > 0 ? cfg->gomaxprocs : sysconf(_SC_NPROCESSORS_ONLN);
	if (scenario_check(sc, o, (int)procs, why, sizeof(why)))
		return -EINVAL;
	struct scenario_run *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(res, 0, sizeof(*res));
	res->server_fd = -1;
	pthread_mutex_init(&r->go_lock, NULL);
	pthread_cond_init(&r->go_cond, NULL);
	r->sc = sc;
	r->res = res;
	r->o = *o;
	if (r->o.clients < 0)
		r->o.clients = sc->clients;
	if (r->o.rounds < 0 && sc->rounds > 0)
		r->o.rounds = sc->rounds;
	if (r->o.msg_size <= 0)
		r->o.msg_size = 64;
	r->start = sim_now();
	r->end = o->duration_ns > 0 ? r->start + o->duration_ns : 0;
	if (r->o.duration_ns > 0 && o->rounds < 0)
		r->o.rounds = -1; /* with a duration, clients run until it ends */
	/* Made before the clients, so that even a run out of fds can cancel their dials. */
	if (pipe2(r->cancel, O_CLOEXEC) != 0)
		r->cancel[0] = r->cancel[1] = -1;
	int err = sim_run(cfg, run_main, r);
	/* Main returned: let lesson clients go, then wait for every client thread. */
	atomic_store(&r->client_quit, 1);
	gate_open(r);
	cancel_clients(r); /* nobody accepts any more */
	clients_join(&r->clients);
	if (r->cancel[0] >= 0) {
		close(r->cancel[0]);
		close(r->cancel[1]);
	}
	free(r->client_args);
	if (r->l)
		listener_free(r->l);
	pthread_cond_destroy(&r->go_cond);
	pthread_mutex_destroy(&r->go_lock);
	free(r);
	return err;
}
