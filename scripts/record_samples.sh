#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerates traces/samples/: one small recorded trace per scenario, for class and for the
# tests (tests/test_trace_record.c replays each and checks the story it tells). Each sample is
# recorded headless without the kernel probes (so that it does not depend on root or BPF), must
# pass `netpollsim check`, and is kept to a few hundred events where the scenario allows.
# One more, echo-kernel.jsonl, holds the kernel's view too (tests/test_kernel_agree.c checks
# it): it is recorded only as root with the probes working; otherwise the file stays as it is.
#   usage: scripts/record_samples.sh [NETPOLLSIM]   (default: build/netpollsim)
#          SAMPLES=kernel scripts/record_samples.sh   only the kernel-view sample
#          SAMPLES_DIR=DIR scripts/record_samples.sh  into DIR instead (the tests regenerate
#                                                     them so, and compare the stories)
set -euo pipefail
cd "$(dirname "$0")/.."
np=${1:-build/netpollsim}
out=${SAMPLES_DIR:-traces/samples}
mkdir -p "$out"

record() {
	local name=$1
	shift
	[ "${SAMPLES:-all}" = kernel ] && return
	"$np" run --scenario "$name" --no-ui --no-bpf --seed 1 "$@" --record "$out/$name.jsonl" >/dev/null
	"$np" check --quiet "$out/$name.jsonl"
}

record echo --clients 1 --rounds 3
record deadline
record close
record slow-reader
record ready-before-park
record accept-burst --clients 4
record break

# NAME-kernel.jsonl: the same with the probes attached (run attaches them by default as root).
record_kernel() {
	local name=$1 file="$out/$1-kernel.jsonl" tmp
	shift
	if [ "$(id -u)" -ne 0 ]; then
		echo "samples: $file kept as it is: the kernel view needs root" >&2
		return
	fi
	tmp=$(mktemp "$out/.$name-kernel.XXXXXX")
	"$np" run --scenario "$name" --no-ui --seed 1 "$@" --record "$tmp" >/dev/null 2>"$tmp.err" || true
	if ! head -n 1 "$tmp" | grep -q '"kernel_view":true'; then
		echo "samples: $file kept as it is: the probes did not attach ($(grep -m1 'kernel view' "$tmp.err" || echo 'see netpollsim run'))" >&2
		rm -f "$tmp" "$tmp.err"
		return
	fi
	rm -f "$tmp.err"
	chmod 644 "$tmp"
	mv "$tmp" "$file"
	"$np" check --quiet "$file"
}

record_kernel echo --clients 1 --rounds 3
echo "samples: $(ls "$out"/*.jsonl | wc -l) traces in $out"
