#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Instructions per round trip and per event, counted by callgrind (exact, not timed: the one
# figure this noisy machine cannot move). Runs the sim's echo server under valgrind with the
# given run options, drives ROUNDS round trips on 50 connections, and splits the count into the
# runtime's share and the observer's (merge, fold, trace writer).
#
#   bench/callgrind.sh [RUN OPTIONS...]       e.g.  bench/callgrind.sh --no-bpf --record /tmp/t.jsonl
#   ROUNDS=400 CONNS=50 bench/callgrind.sh --no-bpf --no-events
#   KEEP=/tmp/cg.out bench/callgrind.sh --no-bpf --record /tmp/t.jsonl   # then callgrind_annotate /tmp/cg.out
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
CONNS=${CONNS:-50}
ROUNDS=${ROUNDS:-400}
command -v valgrind >/dev/null || { echo "callgrind: valgrind is not installed" >&2; exit 1; }
[ -x build/netpollsim ] && [ -x build/bench/loadclient ] ||
	{ echo "callgrind: build first: make all build/bench/loadclient" >&2; exit 1; }
OUT=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && cp "$OUT/cg.out" "$KEEP"; rm -rf "$OUT"' EXIT
port=$((20000 + RANDOM % 20000))
valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" build/netpollsim run --clients 0 \
	--procs 1 --no-ui -q --duration 600 --listen "127.0.0.1:$port" "$@" >"$OUT/run.log" 2>&1 &
pid=$!
build/bench/loadclient --connect "127.0.0.1:$port" --probe --wait 60 >/dev/null 2>&1 ||
	{ echo "callgrind: the server did not start:" >&2; cat "$OUT/run.log" >&2; exit 1; }
build/bench/loadclient --connect "127.0.0.1:$port" --conns "$CONNS" --count "$ROUNDS" >/dev/null
# TERM: the signal a script sends to end a job (INT stops it the same way: cli/signals.c)
kill -TERM "$pid"
wait "$pid"
rt=$((CONNS * ROUNDS))
ann() { callgrind_annotate --inclusive=yes "$OUT/cg.out" 2>/dev/null; }
total=$(callgrind_annotate "$OUT/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
incl() { ann | awk -v f="$1" 'index($0, f) {gsub(",", "", $1); print $1; exit}'; }
calls() { ann | grep -A1 -F "$1" | grep -o '([0-9,]*x)' | head -1 | tr -d ',()x'; }
observer=$(incl "cli/cmd_run.c:drain")
fold=$(incl "traces/fold.c:fold_apply [")
writer=$(incl "traces/json.c:trace_writer_event [")
events=$(calls "int nv = fold_apply")
echo "bench/callgrind.sh $*  ($CONNS connections × $ROUNDS round trips, GOMAXPROCS 1)"
echo "instructions per round trip: total $((total / rt)), runtime $(((total - ${observer:-0}) / rt)), observer $((${observer:-0} / rt))"
if [ -n "$events" ] && [ "$events" -gt 0 ]; then
	echo "events per round trip: $(echo "scale=1; $events / $rt" | bc)"
	echo "per event: observer $((${observer:-0} / events)), fold $((${fold:-0} / events)), trace writer $((${writer:-0} / events))"
fi
