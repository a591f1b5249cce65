#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What attaching netpollsim's probes costs a process that is NOT traced (bench/README.md).
# Syscall tracepoints set a flag on every task, which sends every system call of the machine
# through the kernel's slow path (syscall_trace_enter / syscall_exit_work) whether or not a
# program is attached to that call. This runs build/bench/sysloop (getppid and 1-byte reads)
# alternately without probes, with the epoll probes attached to another process (a sleep), and
# with the break-pipe read/write probes too, K rounds, and prints the medians and differences.
# Needs root (the probes); pinned to one CPU so the rounds compare.
#
#   bench/probe_tax.sh [ROUNDS] [N]     (default 5 rounds of 2,000,000 calls of each kind)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROUNDS=${1:-5}
N=${2:-2000000}
NPS=build/netpollsim
LOOP=build/bench/sysloop
[ -x "$NPS" ] && [ -x "$LOOP" ] || { echo "probe_tax: build first: make all build/bench/sysloop" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "probe_tax: needs root (attaches eBPF probes)" >&2; exit 1; }

LOG=$(mktemp)
sleep 100000 &
VICTIM=$!
TR=""
cleanup() {
	[ -n "$TR" ] && kill -TERM "$TR" 2>/dev/null
	kill "$VICTIM" 2>/dev/null
	wait 2>/dev/null
	rm -f "$LOG"
}
trap cleanup EXIT

attach() { # start the probes on the sleeping process; wait until they say they are attached
	: >"$LOG"
	"$NPS" trace --pid "$VICTIM" -q "$@" >"$LOG" 2>&1 &
	TR=$!
	for _ in $(seq 200); do
		grep -q "^tracing pid" "$LOG" && return 0
		kill -0 "$TR" 2>/dev/null || break
		sleep 0.05
	done
	echo "probe_tax: the probes did not attach: $(cat "$LOG")" >&2
	exit 1
}
# TERM: the signal a script sends to end a job (INT stops it the same way: cli/signals.c)
detach() { kill -TERM "$TR"; wait "$TR" 2>/dev/null; TR=""; }

declare -A G R
for _ in $(seq "$ROUNDS"); do
	for mode in none epoll break; do
		case $mode in
		epoll) attach --break none ;;
		break) attach --break 1000,1001 ;; # fds the sleep does not have: filtered, never kept
		esac
		out=$(taskset -c 1 "$LOOP" "$N")
		[ "$mode" = none ] || detach
		G[$mode]+="$(jq -r .getppid_ns <<<"$out") "
		R[$mode]+="$(jq -r .read_ns <<<"$out") "
	done
done
med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "bench/probe_tax.sh $ROUNDS $N: ns per system call, median of $ROUNDS rounds"
echo
echo "| probes attached (to another process) | getppid | +ns | read 1 byte | +ns |"
echo "|---|---:|---:|---:|---:|"
g0=$(med <<<"${G[none]}"); r0=$(med <<<"${R[none]}")
for mode in none epoll break; do
	g=$(med <<<"${G[$mode]}"); rr=$(med <<<"${R[$mode]}")
	case $mode in
	none) label="none" ;;
	epoll) label="epoll tracepoints (the default)" ;;
	break) label="epoll + break-pipe read/write (--bpf-break on)" ;;
	esac
	printf '| %s | %.0f | %+.0f | %.0f | %+.0f |\n' "$label" "$g" "$(echo "$g - $g0" | bc)" "$rr" "$(echo "$rr - $r0" | bc)"
done
