#!/usr/bin/env bash
# Build the libFuzzer targets with clang + ASan/UBSan and run each for a
# bounded time, starting from the committed seed corpus.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 60)
# Env: PH_FUZZ_BUILD (build dir, default build-fuzz), PH_FUZZ_JOBS (-j, 2).
# New corpus entries go to $PH_FUZZ_BUILD/corpus/<target>/ (the committed
# seeds are only read); crashes to $PH_FUZZ_BUILD/crashes/.  Exit status is
# non-zero if any target crashed or could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
build=${PH_FUZZ_BUILD:-build-fuzz}
jobs=${PH_FUZZ_JOBS:-2}

cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPH_FUZZ=ON -DPH_SANITIZE=address,undefined -DPH_WERROR=ON -DPH_BENCH=OFF >/dev/null

# target:seed-corpus pairs; a target whose sources are missing is skipped
targets=()
help=$(cmake --build "$build" --target help)
for pair in fuzz_proto_decode:proto fuzz_keys_load:keys; do
  t=${pair%%:*}
  if grep -qx "\.\.\. $t" <<<"$help"; then
    targets+=("$pair")
  else
    echo "fuzz.sh: $t not configured (sources missing), skipped"
  fi
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz targets" >&2; exit 1; }
for pair in "${targets[@]}"; do
  cmake --build "$build" -j"$jobs" --target "${pair%%:*}"
done

failed=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for pair in "${targets[@]}"; do
  t=${pair%%:*}; seeds=tests/fuzz/corpus/${pair##*:}
  work=$build/corpus/$t crashes=$build/crashes
  mkdir -p "$work" "$crashes"
  log=$build/$t.log
  echo "fuzz.sh: $t for ${secs}s (seeds $seeds, log $log)"
  rc=0
  # malloc_limit_mb: inputs are at most 64 KiB, so any allocation of more
  # than 64 MB means a count from the input was trusted.
  "$build/tests/fuzz/$t" -max_total_time="$secs" -max_len=65536 -malloc_limit_mb=64 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/$t-" \
    "$work" "$seeds" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  ncrash=$(find "$crashes" -name "$t-*" -type f | wc -l)
  echo "fuzz.sh: $t: executions ${execs:-?}, exit $rc, crash files $ncrash, corpus $(ls "$work" | wc -l)"
  if [ $rc -ne 0 ] || [ "$ncrash" -ne 0 ]; then
    failed=1
    grep -m5 -E "ERROR|SUMMARY|runtime error" "$log" || tail -20 "$log"
  fi
done
[ $failed -eq 0 ] && echo "fuzz.sh: no crashes" || echo "fuzz.sh: CRASHES FOUND (see $build/crashes)"
exit $failed
