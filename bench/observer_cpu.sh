#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The CPU time of the sim's observer thread (merge, fold, narration, trace writer: the main
# thread of `netpollsim run`) under the echo load, apart from the runtime's Ms. Pinned as
# bench/run.sh's costs section pins: the server on CPU 0, then its observer and the load client
# on CPU 1. For each round and variant it prints the observer's user and system ticks (1/100 s)
# over a WINDOW-second slice of the load, the load's round trips per second, and what the two
# make: the observer's CPU time per round trip.
#
#   bench/observer_cpu.sh [ROUNDS] [VARIANT...]   variants: plain (no recording, the default
#                                                 run), record (to a new file), null (to
#                                                 /dev/null); default: 3 plain record null
#
# Used for docs/performance.md, "What recording costs". Needs build/netpollsim and
# build/bench/loadclient (make; make build/bench/loadclient).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROUNDS=${1:-3}
shift || true
VARIANTS=${*:-plain record null}
NPS=${NPS:-build/netpollsim} # NPS=path/to/another/build compares builds
LC=build/bench/loadclient
WINDOW=3.6
for f in "$NPS" "$LC"; do
	[ -x "$f" ] || { echo "observer_cpu: $f is missing (make; make $LC)" >&2; exit 2; }
done
TMP=$(mktemp -d /tmp/nps-observer.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
port=$((20000 + $$ % 20000))
ticks() { awk '{ print $14, $15 }' "/proc/$1/task/$1/stat"; } # utime stime of the main thread
for ((r = 1; r <= ROUNDS; r++)); do
	for v in $VARIANTS; do
		port=$((port + 1))
		case $v in
		plain) extra=() ;;
		record) extra=(--record "$TMP/t.jsonl") ;;
		null) extra=(--record /dev/null) ;;
		*) echo "observer_cpu: unknown variant $v (plain, record, null)" >&2; exit 2 ;;
		esac
		taskset -c 0 "$NPS" run --scenario echo --listen "127.0.0.1:$port" --clients 0 --procs 1 \
			--no-ui --no-bpf --duration 60 "${extra[@]}" >"$TMP/srv.log" 2>&1 &
		pid=$!
		"$LC" --connect "127.0.0.1:$port" --probe --wait 10 >/dev/null || { echo "observer_cpu: the sim did not start" >&2; exit 1; }
		taskset -p -c 1 "$pid" >/dev/null # the main thread (the observer) only
		taskset -c 1 "$LC" --connect "127.0.0.1:$port" --conns 50 --warmup 1 --duration 4 >"$TMP/lc.json" &
		lc=$!
		sleep 1.2
		read -r u0 s0 < <(ticks "$pid")
		sleep "$WINDOW"
		read -r u1 s1 < <(ticks "$pid")
		wait "$lc"
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null
		rm -f "$TMP/t.jsonl"
		rt=$(jq -r '.rt_per_s | floor' "$TMP/lc.json")
		# a tick is 10 ms: the observer's CPU per round trip, in ns
		per=$(awk -v t=$((u1 - u0 + s1 - s0)) -v w="$WINDOW" -v rt="$rt" \
			'BEGIN { printf "%.0f", (rt > 0 ? t * 1e7 / w / rt : 0) }')
		echo "round $r $v: observer user $((u1 - u0)) system $((s1 - s0)) ticks in ${WINDOW} s; $rt round trips/s; observer $per ns per round trip"
	done
done
