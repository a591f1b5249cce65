# bench/: the benchmark harness (bench/README.md). Its programs are built into build/bench/
# whatever the VARIANT, always optimised and never with sanitizers: they are the load and the
# baselines, and a sanitized client would measure itself. Benchmarks never run under make test;
# only their correctness test (tests/test_bench_tools.c) does, and it needs the binaries first.
#
#   make bench         the full run (about 8-15 minutes): bench/run.sh
#   make bench-quick   a short run (fewer rounds, shorter windows) to check that all works
#   BENCH_ARGS=...     passed to bench/run.sh, e.g. BENCH_ARGS='--only echo --rounds 3'

BENCH_OUT := build/bench
BENCH_CFLAGS := $(filter-out $(SAN_CFLAGS),$(CFLAGS))
BENCH_LDFLAGS := $(EXTRA_LDFLAGS)
BENCH_COMMON := bench/benchutil.c bench/benchutil.h
GO ?= /usr/lib/go-1.22/bin/go

BENCH_BINS += $(BENCH_OUT)/loadclient $(BENCH_OUT)/epoll_echo $(BENCH_OUT)/go_echo \
	$(BENCH_OUT)/sysloop $(BENCH_OUT)/tracewrite $(BENCH_OUT)/eventcost
TEST_DEPS += $(BENCH_OUT)/loadclient $(BENCH_OUT)/epoll_echo $(BENCH_OUT)/sysloop \
	$(BENCH_OUT)/tracewrite $(BENCH_OUT)/eventcost

# Compile and link in one step: small programs, one shared helper file.
$(BENCH_OUT)/loadclient $(BENCH_OUT)/epoll_echo $(BENCH_OUT)/sysloop: $(BENCH_OUT)/%: bench/%.c $(BENCH_COMMON)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BENCH_CFLAGS) $(BENCH_LDFLAGS) -o $@ $< bench/benchutil.c -lpthread

# The trace writer on its own: built from the writer's sources, optimised, whatever the VARIANT.
TRACEWRITE_SRCS := bench/tracewrite.c bench/benchutil.c traces/json.c traces/names.c
$(BENCH_OUT)/tracewrite: $(TRACEWRITE_SRCS) $(BENCH_COMMON) $(wildcard traces/*.h)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BENCH_CFLAGS) $(CJSON_CFLAGS) $(BENCH_LDFLAGS) -o $@ $(TRACEWRITE_SRCS) \
		$(CJSON_LIBS) -lpthread -lm

# One event of the log, and its clock read: built from the rings' sources, optimised.
EVENTCOST_SRCS := bench/eventcost.c bench/benchutil.c traces/evring.c
$(BENCH_OUT)/eventcost: $(EVENTCOST_SRCS) $(BENCH_COMMON) $(wildcard traces/*.h)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BENCH_CFLAGS) $(BENCH_LDFLAGS) -o $@ $(EVENTCOST_SRCS) -lpthread

# The Go server: Debian's Go 1.22, its caches under build/ too, no toolchain download
# (GOTOOLCHAIN=local), no cgo (a pure-Go binary: the network path is the same either way).
$(BENCH_OUT)/go_echo: bench/go_echo/main.go bench/go_echo/go.mod
	$(call msg,GO,$@)
	@test -x $(GO) || { echo "bench: $(GO) not found: install golang-1.22-go (make setup)" >&2; exit 1; }
	@mkdir -p $(@D)
	$(Q)cd bench/go_echo && GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0 \
		GOCACHE=$(abspath $(BENCH_OUT)/go-cache) GOPATH=$(abspath $(BENCH_OUT)/go-path) \
		$(GO) build -trimpath -o $(abspath $@) .

.PHONY: bench-quick
bench: $(BENCH_BINS) build/netpollsim
	./bench/run.sh $(BENCH_ARGS)

bench-quick: $(BENCH_BINS) build/netpollsim
	./bench/run.sh --quick $(BENCH_ARGS)
