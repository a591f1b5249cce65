#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test binary (Criterion) and test script given on the command line and prints one
# line per suite. Exits non-zero if any failed. Criterion runs each test in its own process with
# its own timeout; scripts get TEST_TIMEOUT seconds (default 300) before they are killed.
set -u
fail=0
# Sanitizer reports must fail the test that triggered them. Criterion's workers leave with
# _Exit(0), which skips the end-of-process report, so stop at the first error instead.
# die_after_fork=0: the throw tests fork a child from a Criterion worker that has threads.
export TSAN_OPTIONS="halt_on_error=1:die_after_fork=0:second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1 ${UBSAN_OPTIONS:-}"
for t in "$@"; do
	start=$(date +%s)
	case "$t" in
	*.sh)
		log="${B:-build}/tests/$(basename "${t%.sh}").log"
		mkdir -p "$(dirname "$log")"
		timeout -k 10 "${TEST_TIMEOUT:-300}" bash "$t" >"$log" 2>&1
		rc=$?
		;;
	*) log="$t.log"; "$t" --jobs=2 --short-filename >"$log" 2>&1; rc=$? ;;
	esac
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		printf '  PASS    %-40s %4ss  [%s]\n' "$(basename "$t")" "$secs" "${VARIANT:-rel}"
		grep -h -E '^\[====\] Synthesis|^skipped:' "$log" | sed 's/^/          /'
	else
		printf '  FAIL    %-40s %4ss  [%s] (rc=%d, log: %s)\n' "$(basename "$t")" "$secs" "${VARIANT:-rel}" "$rc" "$log"
		tail -n 40 "$log" | sed 's/^/          | /'
		fail=1
	fi
done
exit $fail
