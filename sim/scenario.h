/* SPDX-License-Identifier: MIT */
/*
 * Scenarios: small Go-style server programs that run on the simulated runtime, each with
 * client threads that drive it (plain blocking sockets connecting to the address the server
 * listens on, so the clients never appear as goroutines) or, with clients 0, serving outside
 * clients. Each scenario teaches one thing about netpoll; scenario_list() gives the one-line
 * lesson of each.
 *
 * A run ends when its clients are done or the lesson is over, and earlier when it stops: the
 * caller's stop flag (Ctrl-C), the duration, or an error that ends it (a client that cannot
 * connect). A lesson stopped before its end says so in its story.
 */
#ifndef NPS_SIM_SCENARIO_H
#define NPS_SIM_SCENARIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_config;

struct scenario_opts {
	int clients;	     /* client threads (-1: the scenario's default) */
	int rounds;	     /* round trips per client (-1: default) */
	int64_t duration_ns; /* stop after this long at the latest (0: when the run is done) */
	const char *listen;  /* "IP:PORT" to serve on (default 127.0.0.1:0) */
	int msg_size;	     /* bytes per message (0: 64) */
	_Atomic int *stop;   /* set by the caller (Ctrl-C), then scenario_wake(): wind down */
};

/*
 * What a run did, for the summary and the tests. The counters are kept up to date while it
 * runs, so that a summary printed before the runtime returned still says what happened.
 */
struct scenario_result {
	_Atomic uint64_t round_trips; /* echo round trips completed by the clients */
	_Atomic uint64_t connections; /* connections accepted */
	_Atomic int errors;   /* unexpected errors (the first ones also printed to stderr) */
	int reader_err;	      /* the error the lesson's reader got (0 / -NPS_E... / -errno) */
	int writer_err;	      /* the error the lesson's writer got */
	int port;	      /* the port served */
	char listen_err[160]; /* why the listener could not be made, "" when it was (run says it
			       * alone: no lesson ran) */
	int listen_errno;     /* its errno (EACCES, EADDRINUSE, ...): run adds what to do */
	int server_fd;	      /* the lesson's connection fd on the server side (-1) */
	uint64_t
	    park_free_reads; /* ready-before-park: reads that consumed pdReady without parking */
	char story[256];     /* what happened, in one or two sentences */
};

struct scenario {
	const char *name;
	const char *teaches;	 /* one line: what it shows */
	int clients, rounds;	 /* defaults */
	int procs;		 /* GOMAXPROCS it is meant for (0: any) */
	int min_procs;		 /* the fewest Ps that can show the lesson (0: 1) */
	int cast;		 /* SCENARIO_*: which numbers of clients it takes */
	const char *why;	 /* why it needs min_procs, or its cast (for the usage error) */
	void (*main)(void *arg); /* the main goroutine; arg is struct scenario_run * */
};

enum {
	SCENARIO_ANY = 0,   /* any number of clients; 0 serves outside clients */
	SCENARIO_FIXED = 1, /* exactly its own `clients`, or 0: one outside client */
	SCENARIO_OWN = 2,   /* exactly its own `clients`: an outside client cannot play the part */
};

/* The scenarios, NULL-terminated by name. */
const struct scenario *scenario_list(int *n);
const struct scenario *scenario_find(const char *name);

/*
 * Whether sc can run with o's clients, rounds and msg_size (each "not given" as in struct
 * scenario_opts) on procs Ps: 0, or -EINVAL with the reason, naming the option, in why (a usage
 * error for the caller to print).
 */
int scenario_check(const struct scenario *sc, const struct scenario_opts *o, int procs, char *why,
		   size_t n);

/* Whether sc's own clients make echo round trips of o's rounds and msg_size. */
bool scenario_echoes(const struct scenario *sc, const struct scenario_opts *o);

/*
 * Run sc on the simulated runtime (sim_run with cfg) and fill res. Returns 0, or -errno if the
 * runtime could not start (-EINVAL: options scenario_check refuses). Client and server errors
 * are counted in res->errors.
 */
int scenario_run(const struct scenario *sc, const struct scenario_opts *o,
		 const struct sim_config *cfg, struct scenario_result *res);

/*
 * The caller set its stop flag: wake the goroutine the running scenario has waiting for it
 * (it sleeps until told, not looking every so often). Any thread; not from a signal handler.
 */
void scenario_wake(void);

#endif /* NPS_SIM_SCENARIO_H */
