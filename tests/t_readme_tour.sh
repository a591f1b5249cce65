#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# README's "short tour" typed in order, as a new user types it from the source tree: every
# command of its block succeeds (a student once met a replay of a file the tour never made).
# Left out: `run --listen` (it serves for 30 s) and `trace --pid` (it needs a process to
# trace: tests/test_bpf_trace.c). The files it makes go to a directory of its own, where
# traces/ stands for the source tree's.
set -u
cd "$(dirname "$0")/.."
if [ "${VARIANT:-rel}" != rel ]; then
	echo "skipped: the README is the same in every variant"
	exit 0
fi
src=$PWD
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ln -s "$src/traces" "$dir/traces"
# the tour's block: the first one after the heading "## A short tour"
tour=$(awk '/^## A short tour/ { t = 1 } t && /^```/ { n++; next } t && n == 1 { print }
	t && n >= 2 { exit }' README.md)
[ -n "$tour" ] || { echo "t_readme_tour: no tour block in README.md" >&2; exit 1; }
ran=0
while IFS= read -r line; do
	cmd=${line%%#*}
	case "$cmd" in
	netpollsim*) ;;
	*) continue ;;
	esac
	case "$cmd" in
	*--listen* | *"trace --pid"*) continue ;;
	esac
	if ! (cd "$dir" && PATH="$src/build:$PATH" timeout 120 bash -c "$cmd" >out.txt 2>&1); then
		echo "t_readme_tour: failed: $cmd" >&2
		tail -5 "$dir/out.txt" >&2
		exit 1
	fi
	ran=$((ran + 1))
done <<<"$tour"
[ "$ran" -ge 8 ] || { echo "t_readme_tour: only $ran commands found in the tour" >&2; exit 1; }
echo "t_readme_tour: the README's tour ran in order: $ran commands"
