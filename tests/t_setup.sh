#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/setup.sh as a new user meets it: with everything installed it says so and does nothing
# (again and again: idempotent), quietly with -q; without root and with a package missing it
# names the package, prints the exact apt-get line to run, and exits non-zero, and so do
# `make demo` and `make test`, which run it first; as root it runs apt-get for the missing
# package alone. The missing package is real to dpkg-query: it reads a copy of the dpkg
# database without jq (DPKG_ADMINDIR).
set -u
cd "$(dirname "$0")/.."
if [ "${VARIANT:-rel}" != rel ]; then
	echo "skipped: setup.sh is the same in every variant"
	exit 0
fi
fail() {
	echo "t_setup: $*" >&2
	exit 1
}
for i in 1 2; do
	out=$(scripts/setup.sh 2>&1) || fail "run $i, every package installed: exit $?: $out"
	[ "$out" = "setup: all packages present" ] || fail "run $i said: $out"
done
out=$(scripts/setup.sh -q 2>&1) || fail "-q: exit $?: $out"
[ -z "$out" ] || fail "-q printed: $out"

db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
awk 'BEGIN { RS = ""; ORS = "\n\n" } !/^Package: jq\n/' /var/lib/dpkg/status >"$db/status"
chmod -R a+rX "$db"
as_user=()
if [ "$(id -u)" -eq 0 ]; then
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	"${as_user[@]}" test -x scripts/setup.sh || {
		echo "skipped: $(pwd) is not reachable by nobody"
		exit 0
	}
fi
out=$("${as_user[@]}" env DPKG_ADMINDIR="$db" scripts/setup.sh 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "a missing package without root: exit 0: $out"
grep -qx "setup: missing packages: jq" <<<"$out" || fail "the package is not named: $out"
grep -qx "setup: run as root: sudo apt-get update && sudo apt-get install -y jq" <<<"$out" ||
	fail "no exact apt-get line: $out"

# make demo and make test set up first: without root they stop at setup's apt-get line, before
# building anything (the Makefile's "demo: setup" and "test: setup").
for target in demo test; do
	out=$("${as_user[@]}" env DPKG_ADMINDIR="$db" make --no-print-directory "$target" 2>&1)
	rc=$?
	[ $rc -ne 0 ] || fail "make $target with jq missing, without root: exit 0: $out"
	grep -qx "setup: run as root: sudo apt-get update && sudo apt-get install -y jq" <<<"$out" ||
		fail "make $target did not run setup first: $out"
done

# As root, setup runs apt-get itself, for the missing packages only. A stand-in apt-get on PATH
# records what it was asked. Skipped when setup would add bookworm-backports to /etc/apt (a
# change to this machine that a test must not make) or when not root.
if [ "$(id -u)" -eq 0 ] &&
	grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	mkdir "$db/bin"
	printf '#!/bin/sh\necho "$*" >>"%s/apt-get.args"\n' "$db" >"$db/bin/apt-get"
	chmod +x "$db/bin/apt-get"
	out=$(env PATH="$db/bin:$PATH" DPKG_ADMINDIR="$db" scripts/setup.sh 2>&1) ||
		fail "as root, jq missing: exit $?: $out"
	args=$(cat "$db/apt-get.args" 2>/dev/null)
	[ "$args" = "$(printf 'update -q\ninstall -y -q --no-install-recommends jq')" ] ||
		fail "as root, apt-get was asked: '$args' (setup said: $out)"
	grep -qx "setup: installed jq" <<<"$out" || fail "as root it did not say what it installed: $out"
	echo "t_setup: as root, apt-get installs only jq"
fi
echo "t_setup: idempotent when complete; names jq and its apt-get line when it is missing;"
echo "t_setup: make demo and make test run it first"
