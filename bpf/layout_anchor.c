// SPDX-License-Identifier: MIT
/*
 * Not linked into anything: compiled twice at build time, by clang for the BPF target and by the
 * user-space compiler with BTF output (gcc -gbtf), so that tests/test_bpf_layout.c can compare
 * the two layouts of the structs the BPF program writes and user space reads, member by member.
 * One global of each struct makes its type appear in the object's BTF.
 */
#include "traces/event.h"
#include "bpf/netpoll.h"

struct nps_event nps_layout_event;
struct nps_bpf_cpu nps_layout_cpu;
struct nps_bpf_epoll_event nps_layout_epoll_event;
