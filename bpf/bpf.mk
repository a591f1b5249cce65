# bpf/: the kernel's view (docs/kernel-view.md). bpf/netpoll.bpf.c is compiled by clang for the
# BPF target into $(B)/gen, against a vmlinux.h generated there from the running kernel's BTF
# (never committed); bpftool turns the object into the skeleton that bpf/probes.c embeds. When
# clang, bpftool, the kernel's BTF or libbpf is missing at build time, bpf/probes_stub.c is
# linked instead: the same API, and probes_open() says what was missing.
BPF_BTF ?= /sys/kernel/btf/vmlinux
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# -mcpu=v3 (ALU32, JMP32, atomics): clang 14's default v1 produces bounds the verifier rejects.
BPF_CLANG_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
	-I. -I$(B)/gen
BPFTOOL_BIN := $(firstword $(shell command -v $(BPFTOOL) 2>/dev/null) \
	$(wildcard /usr/sbin/$(BPFTOOL) /sbin/$(BPFTOOL)))
BPF_HAVE_LIBBPF := $(shell $(PKG_CONFIG) --exists libbpf 2>/dev/null && echo y)
BPF_MISSING := $(strip $(if $(shell command -v $(CLANG) 2>/dev/null),,clang) \
	$(if $(BPFTOOL_BIN),,bpftool) $(if $(wildcard $(BPF_BTF)),,$(BPF_BTF)) \
	$(if $(BPF_HAVE_LIBBPF),,libbpf))

ifeq ($(BPF_MISSING),)
bpf_SRCS := bpf/probes.c

$(B)/gen/vmlinux.h:
	$(call msg,GEN,$@)
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL_BIN) btf dump file $(BPF_BTF) format c > $@

$(B)/gen/netpoll.bpf.o: bpf/netpoll.bpf.c bpf/netpoll.h traces/event.h $(B)/gen/vmlinux.h
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CLANG_CFLAGS) -c $< -o $@

$(B)/gen/netpoll.skel.h: $(B)/gen/netpoll.bpf.o
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL_BIN) gen skeleton $< name netpoll_bpf > $@

$(B)/obj/bpf/probes.o: $(B)/gen/netpoll.skel.h

# The event struct as the BPF target lays it out, for tests/test_bpf_layout.c.
$(B)/gen/layout_bpf.o: bpf/layout_anchor.c bpf/netpoll.h traces/event.h
	$(call msg,CLANG,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CLANG_CFLAGS) -c $< -o $@
TEST_DEPS += $(B)/gen/layout_bpf.o

CLI_EXTRA_LIBS += $(BPF_LIBS)
else
bpf_SRCS := bpf/probes_stub.c
bpf_CFLAGS := -DNPS_BPF_MISSING='"$(BPF_MISSING)"'
endif

# The same struct as the user-space compiler lays it out (gcc >= 12 writes BTF with -gbtf).
ifneq ($(shell echo 'int x;' | $(CC) -gbtf -x c -c -o /dev/null - 2>/dev/null && echo y),)
$(B)/gen/layout_host.o: bpf/layout_anchor.c bpf/netpoll.h traces/event.h
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -gbtf -O0 -I. -c $< -o $@
TEST_DEPS += $(B)/gen/layout_host.o
endif

ifneq ($(BPF_HAVE_LIBBPF),)
TEST_EXTRA_LIBS += $(BPF_LIBS)
endif

# A C program making a known sequence of epoll calls, for the probe tests.
$(B)/tests/epoll_workload: tests/epoll_workload.c
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)
TEST_DEPS += $(B)/tests/epoll_workload

$(eval $(call lib_rule,bpf,$(bpf_SRCS)))
LIBS += $(B)/libnps_bpf.a

