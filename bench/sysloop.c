// SPDX-License-Identifier: MIT
/*
 * sysloop: the price of one system call, measured from user space. bench/probe_tax.sh runs it
 * with and without netpollsim's probes attached to some other process: syscall tracepoints put
 * every task of the machine on the kernel's slow syscall path, so even a process that is not
 * traced pays for them, and the difference is that price.
 *
 *   sysloop [N]   N getppid() and N 1-byte read()s of /dev/zero (default 2,000,000 each);
 *                 prints {"getppid_ns":…,"read_ns":…}
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench/benchutil.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	if (n <= 0) {
		fprintf(stderr, "usage: sysloop [N]   (N > 0 system calls of each kind)\n");
		return 2;
	}
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("sysloop: /dev/zero");
		return 1;
	}
	char c;
	double t0 = bench_now();
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid); /* not cached by libc: a real system call each time */
	double t1 = bench_now();
	for (long i = 0; i < n; i++)
		if (read(fd, &c, 1) != 1)
			return 1;
	double t2 = bench_now();
	printf("{\"getppid_ns\":%.1f,\"read_ns\":%.1f}\n", (t1 - t0) * 1e9 / (double)n,
	       (t2 - t1) * 1e9 / (double)n);
	return 0;
}
