#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/setup.sh as a new user meets it: with everything installed it says so and does nothing
# (again and again: idempotent), quietly with -q; without root and with a package missing it
# names the package, prints the exact apt-get line to run, and exits non-zero. The missing
# package is real to dpkg-query: it reads a copy of the dpkg database without jq (DPKG_ADMINDIR).
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
echo "t_setup: idempotent when complete; names jq and its apt-get line when it is missing"
