#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages netpollsim needs to build, test and benchmark.
# Idempotent: it installs only what is missing. As root it runs apt-get itself; otherwise it
# prints the exact command to run and exits non-zero. Go 1.22 (for the benchmark's reference
# server) comes from bookworm-backports, which it adds to apt's sources when missing.
set -eu

PKGS="build-essential pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
libncurses-dev libcjson-dev libcriterion-dev tmux golang-1.22-go golang-1.22-src
libclang-rt-14-dev jq util-linux procps iproute2 time strace netcat-openbsd"
BACKPORTS_LIST=/etc/apt/sources.list.d/netpollsim-backports.list

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

have_backports() {
	grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/
}

if [ -z "$missing" ]; then
	[ "${1:-}" = "-q" ] || echo "setup: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: missing packages:$missing" >&2
	have_backports || echo "setup: first add bookworm-backports:" \
		"echo 'deb http://deb.debian.org/debian bookworm-backports main' | sudo tee $BACKPORTS_LIST" >&2
	echo "setup: run as root: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi

if ! have_backports; then
	echo "deb http://deb.debian.org/debian bookworm-backports main" >"$BACKPORTS_LIST"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
echo "setup: installed$missing"
