#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The project's skeleton as a new user meets it (issue 2 section 1): README.md starts with the
# two commands to type on a fresh machine, `make demo` then `make test`; `make` leaves its
# outputs under build/ alone, which git ignores (no stray object, skeleton or binary elsewhere
# shows up in `git status`, and none hides among the ignored files).
set -u
cd "$(dirname "$0")/.."
if [ "${VARIANT:-rel}" != rel ]; then
	echo "skipped: the skeleton is the same in every variant"
	exit 0
fi
fail() {
	echo "t_skeleton: $*" >&2
	exit 1
}

# The README: a title, then its first block is the two commands, demo first.
first=$(awk '/^```/ { n++; next } n == 1 { print $1, $2 } n >= 2 { exit }' README.md)
[ "$first" = "$(printf 'make demo\nmake test')" ] ||
	fail "README's first block is not 'make demo' then 'make test': $first"
before=$(awk '/^```/ { exit } NF { print }' README.md)
if [ "$(head -c 2 <<<"$before")" != "# " ] || [ "$(wc -l <<<"$before")" -ne 1 ]; then
	fail "README has more than its title before the two commands: $before"
fi

# make: up to date, build/netpollsim is there, and everything it made is under build/.
make -s >/dev/null 2>&1 || fail "make failed"
[ -x build/netpollsim ] || fail "make did not build build/netpollsim"
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "t_skeleton: README ok; skipped the git checks: not a git checkout"
	exit 0
fi
git check-ignore -q build/netpollsim || fail "build/ is not ignored by git"
# Ignored files other than build/ (bench/results/ holds benchmark runs, not build outputs).
stray=$(git ls-files --others --ignored --exclude-standard --directory |
	grep -v -e '^build/$' -e '^bench/results/')
[ -z "$stray" ] || fail "outputs outside build/: $stray"
echo "t_skeleton: README starts with make demo and make test; outputs under build/, ignored"
