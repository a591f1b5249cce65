# sim/: the Go runtime model (scheduler, netpoll, timers, internal/poll, net) and the scenarios
# that run on it.
sim_SRCS := sim/proc.c sim/tls.c sim/gogo.c sim/asm_amd64.S sim/lock_futex.c sim/time.c \
	sim/sema.c sim/netpoll.c sim/netpoll_epoll.c sim/fd.c sim/net.c sim/clients.c \
	sim/scenarios.c
$(eval $(call lib_rule,sim,$(sim_SRCS)))
LIBS += $(B)/libnps_sim.a
