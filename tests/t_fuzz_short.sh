#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A short run (10 s) of the trace reader's fuzzer (traces/fuzz_reader.c), as part of make test.
# It runs once, in the default variant: the fuzzer has its own sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${VARIANT:-rel}" != rel ]; then
	echo "skipped: the fuzzer runs in the default variant only (it has its own ASan+UBSan)"
	exit 0
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	clang -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
	echo "t_fuzz_short: clang cannot build a libFuzzer target: run scripts/setup.sh (libclang-rt-14-dev)" >&2
	exit 1
fi
out=$(make --no-print-directory fuzz-short 2>&1) || { echo "$out" | tail -n 40; exit 1; }
echo "$out" | tail -n 20
# It must have tried inputs of its own, not only replayed the seeds.
seeds=$(ls build/fuzz/seeds | wc -l)
runs=$(echo "$out" | sed -n 's/^stat::number_of_executed_units: *//p')
[ "${runs:-0}" -gt $((2 * seeds)) ] || {
	echo "t_fuzz_short: ${runs:-no} units run for $seeds seeds: the fuzzer tried nothing new" >&2
	exit 1
}
