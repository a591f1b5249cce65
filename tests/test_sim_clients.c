// SPDX-License-Identifier: MIT
/*
 * sim/clients.c: the scenarios' client threads dial as Go's DialContext does, non-blocking and
 * then waited for, with a cancel (ctx.Done) that only matters while the connection is not made.
 */
#include <criterion/criterion.h>

#include "sim/clients.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(sim_clients, .timeout = 30);

/* A listener on 127.0.0.1 (port chosen by the kernel); its address in *to. */
static int listener(struct sockaddr_in *to)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*to =
	    (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(*to);
	cr_assert(l >= 0 && bind(l, (struct sockaddr *)to, sizeof(*to)) == 0 && listen(l, 8) == 0 &&
		  getsockname(l, (struct sockaddr *)to, &len) == 0);
	return l;
}

/*
 * The lesson ended (the cancel is readable) while a slow client had not yet seen its connect
 * finish: the connection is made, so the dial succeeds, as net.(*netFD).connect returns once the
 * socket is writable, whatever ctx.Done() says then. It used to fail with ECANCELED, which the
 * break lesson under TSan counted as an error ("client connect: operation canceled").
 */
Test(sim_clients, a_made_connection_wins_over_the_cancel)
{
	struct sockaddr_in to;
	int l = listener(&to), c[2];
	cr_assert_eq(pipe(c), 0);
	cr_assert_eq(write(c[1], "x", 1), 1);
	int s = client_connect(&to, 0, c[0]);
	cr_assert_geq(s, 0, "the dial failed: %s", strerror(-s));
	int a = accept(l, NULL, NULL);
	cr_assert_geq(a, 0, "accept: %s", strerror(errno));
	close(a);
	close(s);
	close(l);
	close(c[0]);
	close(c[1]);
}

/* A dial that is not answered (nobody listens: the port was closed) is not cancelled: refused. */
Test(sim_clients, a_refused_dial_says_so)
{
	struct sockaddr_in to;
	close(listener(&to));
	int s = client_connect(&to, 0, -1);
	cr_assert_eq(s, -ECONNREFUSED, "%d: %s", s, strerror(-s));
}
