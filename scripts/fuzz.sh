#!/usr/bin/env bash
# Build the libFuzzer targets with clang + ASan/UBSan and run each for a
# bounded time, starting from a temporary copy of the committed seed corpus
# (so the repository is never written to).
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 60)
# Env: PH_FUZZ_BUILD (build dir, default build-fuzz), PH_FUZZ_JOBS (-j, 2),
#      PH_FUZZ_TARGETS (names to run, default all, e.g. "fuzz_table_load"),
#      PH_FUZZ_KEEP=1 keeps the grown corpora (path printed).
# Only the fuzz targets are built (they need ph_common, msgpack-c and the
# proto/solver/lib sources they compile in), not the rest of the tree.
# Crash inputs go to $PH_FUZZ_BUILD/crashes/ (old ones of a target are
# removed when it is run again).  Exit status is non-zero if any target
# crashed, leaked, timed out or could not be built or run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
build=${PH_FUZZ_BUILD:-build-fuzz}
jobs=${PH_FUZZ_JOBS:-2}
case $secs in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac

# The "fuzz" preset of CMakePresets.json, into $build.
cmake --preset fuzz -B "$build" >/dev/null

# target:seed-folder pairs (tests/fuzz/CMakeLists.txt defines the targets).
targets=(fuzz_proto_decode:proto fuzz_keys_load:keys fuzz_results_csv:results
         fuzz_table_load:table fuzz_part_resume:resume)
if [ -n "${PH_FUZZ_TARGETS:-}" ]; then
  chosen=()
  for pair in "${targets[@]}"; do
    case " $PH_FUZZ_TARGETS " in *" ${pair%%:*} "*) chosen+=("$pair") ;; esac
  done
  [ ${#chosen[@]} -gt 0 ] || { echo "fuzz.sh: no target in '$PH_FUZZ_TARGETS'" >&2; exit 2; }
  targets=("${chosen[@]}")
fi
for pair in "${targets[@]}"; do
  cmake --build "$build" -j"$jobs" --target "${pair%%:*}"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/phfuzz.XXXXXX")
if [ "${PH_FUZZ_KEEP:-0}" = 1 ]; then
  echo "fuzz.sh: corpora kept in $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi

failed=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
crashes=$build/crashes
mkdir -p "$crashes"
summary=()
for pair in "${targets[@]}"; do
  t=${pair%%:*}
  seeds=tests/fuzz/corpus/${pair##*:}
  work=$tmp/$t
  mkdir -p "$work"
  cp -- "$seeds"/* "$work"/
  rm -f -- "$crashes/$t"-*
  log=$build/$t.log
  echo "fuzz.sh: $t for ${secs}s ($(ls "$work" | wc -l) seeds from $seeds, log $log)"
  rc=0
  # malloc_limit_mb: inputs are at most 64 KiB, so an allocation of more
  # than 64 MB means a count from the input was trusted.
  "$build/tests/fuzz/$t" -max_total_time="$secs" -max_len=65536 -timeout=10 \
    -malloc_limit_mb=64 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$crashes/$t-" "$work" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -1)
  ncrash=$(find "$crashes" -name "$t-*" -type f | wc -l)
  line="$t: executions ${execs:-?}, exit $rc, crash files $ncrash, corpus $(ls "$work" | wc -l)"
  echo "fuzz.sh: $line"
  summary+=("$line")
  if [ "$rc" -ne 0 ] || [ "$ncrash" -ne 0 ] || [ -z "$execs" ]; then
    failed=1
    # The report of the failing input: sanitizer and libFuzzer lines start
    # with "==PID==", the target's own checks with its name.
    grep -m20 -E "^==[0-9]+==|^SUMMARY|runtime error|^$t: |^artifact_prefix|Test unit written" "$log" \
      || tail -30 "$log"
  fi
done
printf 'fuzz.sh: %s\n' "${summary[@]}"
if [ $failed -eq 0 ]; then
  echo "fuzz.sh: no crashes"
else
  echo "fuzz.sh: FAILURES (inputs in $crashes, logs in $build/*.log)"
fi
exit $failed
