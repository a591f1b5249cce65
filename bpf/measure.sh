#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What the BPF probes cost, measured the way docs/kernel-view.md reports it. As root, after
# `make all build/tests/epoll_workload build/bench/loadclient build/bench/go_echo`:
#
#   bpf/measure.sh [ROUNDS]        (default 5 rounds; every mode runs once per round)
#   TRACE_OPTS="--break none" bpf/measure.sh     (the same without the break-pipe probes)
#   SKIP_CALLS=1 bpf/measure.sh                  (the echo part only)
#
# 1. epoll_wait(timeout 0) returning one ready fd, 10^6 calls (tests/epoll_workload bench):
#    no probes / probes attached to another process (the tgid filter) / probes on this process.
# 2. A Go 1.22 echo server (bench/go_echo) at 50 connections driven by bench/loadclient, 2 s
#    windows: round trips per second without probes and with `netpollsim trace --pid` attached,
#    the ratio (median over rounds of probes / mean of the runs just before and after), and the
#    probes' own counters (events/s, lost) from the trace summary.
# Prints medians. Other load on the machine moves these numbers: run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-build}
ROUNDS=${1:-5}
NPS=$B/netpollsim
WL=$B/tests/epoll_workload
LC=build/bench/loadclient
GOECHO=build/bench/go_echo
[ "$(id -u)" -eq 0 ] || { echo "measure.sh: run as root (the probes need it)" >&2; exit 1; }
for f in "$NPS" "$WL" "$LC" "$GOECHO"; do
	[ -x "$f" ] || { echo "measure.sh: $f missing: make all $WL $LC $GOECHO" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Start a tracer on pid $1 in the background; wait until it is attached.
trace_start() {
	"$NPS" trace --pid "$1" -q ${TRACE_OPTS:-} >"$tmp/trace.out" 2>&1 &
	tracer=$!
	until grep -q '^tracing pid' "$tmp/trace.out" 2>/dev/null; do
		kill -0 $tracer 2>/dev/null || { cat "$tmp/trace.out" >&2; exit 1; }
		sleep 0.05
	done
}
trace_stop() {
	kill -INT $tracer
	wait $tracer || true
}

bench_call() { # $1: mode none|other|self
	local out pid
	case $1 in
	none) "$WL" bench 1000000 1 | awk '/^bench/ {print $9}' ;;
	other)
		sleep 1000 & local victim=$!
		trace_start $victim
		"$WL" bench 1000000 1 | awk '/^bench/ {print $9}'
		trace_stop; kill $victim; wait $victim 2>/dev/null || true ;;
	self)
		"$WL" -s bench 1000000 1 >"$tmp/wl.out" & pid=$!
		until grep -q stopped "$tmp/wl.out" 2>/dev/null; do sleep 0.02; done
		trace_start $pid
		kill -CONT $pid; wait $pid
		trace_stop
		awk '/^bench/ {print $9}' "$tmp/wl.out" ;;
	esac
}

if [ -z "${SKIP_CALLS:-}" ]; then
	echo "== epoll_wait(timeout 0, 1 ready fd), ns per call, median of $ROUNDS"
	declare -A calls
	for r in $(seq "$ROUNDS"); do
		for m in none other self; do calls[$m]+="$(bench_call $m) "; done
	done
	for m in none other self; do
		printf '  %-6s %s ns   (rounds: %s)\n' $m "$(echo ${calls[$m]} | tr ' ' '\n' | median)" \
			"${calls[$m]}"
	done
fi

echo "== Go echo server, 50 connections, 64-byte messages, round trips/s, median of $ROUNDS" \
	"${TRACE_OPTS:+(trace $TRACE_OPTS)}"
"$GOECHO" >"$tmp/echo.out" 2>&1 & srv=$!
until grep -q 'listening on' "$tmp/echo.out" 2>/dev/null; do sleep 0.05; done
addr=$(awk '/listening on/ {print $3}' "$tmp/echo.out")
# Each round sandwiches the probes between two runs without them, so that load from elsewhere on
# the machine, which drifts, hits both sides of each ratio alike.
rate() { "$LC" --connect "$addr" --conns 50 --warmup 0.5 --duration 2 | jq -r .rt_per_s; }
ratios="" nones="" probes=""
for r in $(seq "$ROUNDS"); do
	a=$(rate)
	trace_start $srv
	p=$(rate)
	trace_stop
	grep -E '^kernel view|^probes: produced' "$tmp/trace.out" | sed 's/^/    /'
	b=$(rate)
	nones+="$a $b " probes+="$p "
	ratios+="$(awk -v p="$p" -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", 2 * p / (a + b)}') "
done
kill $srv
printf '  none   %s   (runs: %s)\n  probes %s   (runs: %s)\n  ratio  %s   (per round: %s)\n' \
	"$(echo $nones | tr ' ' '\n' | median)" "$nones" "$(echo $probes | tr ' ' '\n' | median)" \
	"$probes" "$(echo $ratios | tr ' ' '\n' | median)" "$ratios"
