# SPDX-License-Identifier: MIT
# netpollsim: one non-recursive Makefile. Each module lists its sources in its own fragment
# (sim/sim.mk, traces/traces.mk, ...); this file holds the rules they share.
#
#   make                 build build/netpollsim
#   make test            set up (if needed), build, run every test (also under ASan+UBSan, TSan)
#   make demo            set up (if needed), build, run the default scenario
#   make bench           run the benchmarks (bench/README.md)
#   make fuzz            run the trace reader's fuzzer for FUZZ_SECONDS (default 60)
#   make install         PREFIX=/usr/local DESTDIR= (make uninstall: the same, removed)
#   V=1                  show the commands
#   VARIANT=asan|tsan    build with sanitizers (outputs under build/asan, build/tsan)

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

PREFIX ?= /usr/local
DESTDIR ?=
VARIANT ?= rel
CC := gcc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2)
endif

ifeq ($(VARIANT),rel)
B := build
SAN_CFLAGS :=
else ifeq ($(VARIANT),asan)
B := build/asan
SAN_CFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -DNPS_ASAN=1
else ifeq ($(VARIANT),tsan)
B := build/tsan
SAN_CFLAGS := -fsanitize=thread -fno-omit-frame-pointer -DNPS_TSAN=1
else
$(error VARIANT must be rel, asan or tsan)
endif

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null || echo $(2))

CJSON_CFLAGS := $(call pkg_cflags,libcjson)
CJSON_LIBS := $(call pkg_libs,libcjson,-lcjson)
CURSES_CFLAGS := $(call pkg_cflags,ncursesw)
CURSES_LIBS := $(call pkg_libs,ncursesw,-lncursesw)
BPF_LIBS := $(call pkg_libs,libbpf,-lbpf)
CRITERION_LIBS := $(call pkg_libs,criterion,-lcriterion)

OPT ?= -O2
CFLAGS := -std=gnu11 -Wall -Wextra -Werror -g $(OPT) -D_GNU_SOURCE -I. -I$(B)/gen \
	-Wno-missing-field-initializers $(SAN_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SAN_CFLAGS) $(EXTRA_LDFLAGS)
LDLIBS := -lpthread -lm

# lib_rule(name, sources): $(B)/libnps_<name>.a from the module's objects.
# The archive also depends on the build files, so that a source moved in or out of a module is
# noticed even when its object is older than the archive.
define lib_rule
$(B)/libnps_$(1).a: $(patsubst %.c,$(B)/obj/%.o,$(patsubst %.S,$(B)/obj/%.o,$(2))) Makefile $(wildcard */*.mk)
	$$(call msg,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$(filter %.o,$$^)
endef

# Module fragments add their sources to these and define their own targets.
LIBS :=
TEST_BINS :=
TEST_SCRIPTS :=
BENCH_BINS :=
include traces/traces.mk
include traces/stream.mk
include sim/sim.mk
include bpf/bpf.mk
include ui/ui.mk
include cli/cli.mk
include tests/tests.mk
include bench/bench.mk

$(B)/obj/%.o: %.c
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $($(firstword $(subst /, ,$*))_CFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/%.o: %.S
	$(call msg,AS,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@


-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

.PHONY: all test test-unit test-san demo bench fuzz install uninstall clean setup format check-format

all: $(B)/netpollsim

setup:
	@./scripts/setup.sh -q

# make test: set up, then every test in the default build, then the unit and scenario tests
# again under ASan+UBSan and under TSan.
test: setup
	$(Q)$(MAKE) --no-print-directory VARIANT=rel test-unit
	$(Q)$(MAKE) --no-print-directory VARIANT=asan test-unit
	$(Q)$(MAKE) --no-print-directory VARIANT=tsan test-unit
	@echo "make test: all passed"

test-unit: $(B)/netpollsim $(TEST_BINS) $(TEST_DEPS)
	$(Q)VARIANT=$(VARIANT) B=$(B) ./tests/run.sh $(TEST_BINS) $(TEST_SCRIPTS)

demo: setup
	$(Q)$(MAKE) --no-print-directory all
	./build/netpollsim run --scenario echo

# The binary, the sample traces (`netpollsim scenarios` says where) and the documentation;
# uninstall removes exactly these, and the directories only if they are left empty.
SAMPLES := $(notdir $(wildcard traces/samples/*.jsonl))
DOCS := README.md LICENSE $(wildcard docs/*.md)
SHARE := $(DESTDIR)$(PREFIX)/share
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/netpollsim/samples $(SHARE)/doc/netpollsim
	install -m 0755 build/netpollsim $(DESTDIR)$(PREFIX)/bin/netpollsim
	install -m 0644 $(addprefix traces/samples/,$(SAMPLES)) $(SHARE)/netpollsim/samples/
	install -m 0644 $(DOCS) $(SHARE)/doc/netpollsim/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/netpollsim
	rm -f $(addprefix $(SHARE)/netpollsim/samples/,$(SAMPLES))
	rm -f $(addprefix $(SHARE)/doc/netpollsim/,$(notdir $(DOCS)))
	-rmdir $(SHARE)/netpollsim/samples $(SHARE)/netpollsim $(SHARE)/doc/netpollsim 2>/dev/null

clean:
	rm -rf build

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')
