#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One report over the raw results of several bench/run.sh invocations: a ratio near its target
# moves from run to run, and its paired interval narrows only with more rounds. Each run keeps
# its own rounds (renumbered so that a round pairs only with its own invocation's variants), so
# every paired ratio still compares back-to-back runs; the medians and "rounds at target" are
# then taken over all of them. Prints the markdown report (bench/report.jq).
#
#   bench/pool.sh DIR DIR...        e.g. bench/pool.sh bench/results/20261122-1413*
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
die() {
	echo "bench/pool.sh: $*" >&2
	exit 2
}
[ $# -ge 1 ] || die "usage: bench/pool.sh RESULTS_DIR... (directories written by bench/run.sh)"
command -v jq >/dev/null || die "needs jq (scripts/setup.sh installs it)"
metas=() runs=()
for d in "$@"; do
	if [ ! -f "$d/meta.json" ] || [ ! -f "$d/runs.jsonl" ]; then
		die "$d: not a results directory (no meta.json and runs.jsonl)"
	fi
	metas+=("$d/meta.json")
	runs+=("$d/runs.jsonl")
done
tmp=$(mktemp -d /tmp/nps-pool.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
# The meta of the pool: the union of the cells, the rounds summed, every commit and date.
jq -s --arg cmd "bench/pool.sh $*" '
	def union(f): [.[] | f | split(" ")[] | select(length > 0) | tonumber] | unique
		| map(tostring) | join(" ");
	if ([.[].cost_conns] | unique | length) > 1 then
		error("the runs measured the costs at different connection counts: \([.[].cost_conns] | unique | join(", "))")
	else . end
	| .[0] + {cmd: $cmd, date: "\(.[0].date) to \(.[-1].date)",
		rev: ([.[].rev] | unique | join(", ")),
		rounds: ([.[].rounds] | join("+")),
		conns: union(.conns), procs: union(.procs), cost_procs: union(.cost_procs)}' \
	"${metas[@]}" >"$tmp/meta.json" || die "the runs cannot be pooled"
i=0
for f in "${runs[@]}"; do
	i=$((i + 1))
	jq -c --argjson i "$i" 'if .round then .round = $i * 1000 + .round else . end' "$f" ||
		die "$f: not JSON lines"
done >"$tmp/runs.jsonl"
jq -r -s -f bench/report.jq --argjson secs 0 "$tmp/meta.json" "$tmp/runs.jsonl"
