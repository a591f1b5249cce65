#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerates traces/samples/: one small recorded trace per scenario, for class and for the
# tests (tests/test_trace_record.c replays each and checks the story it tells). Each sample is
# recorded headless without the kernel probes (so that it does not depend on root or BPF), must
# pass `netpollsim check`, and is kept to a few hundred events where the scenario allows.
#   usage: scripts/record_samples.sh [NETPOLLSIM]   (default: build/netpollsim)
set -euo pipefail
cd "$(dirname "$0")/.."
np=${1:-build/netpollsim}
out=traces/samples
mkdir -p "$out"

record() {
	local name=$1
	shift
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
echo "samples: $(ls "$out"/*.jsonl | wc -l) traces in $out"
