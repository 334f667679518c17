#!/usr/bin/env bash
# The standard benchmark: build phbench (Release) into build-bench and run it
# on hardest/, hard/, random/ and all of sys32, after printing the machine.
#
#   scripts/bench.sh [PHBENCH OPTIONS...]      e.g. --threads 2, --compact
#
# Environment:
#   PH_KEYS_DIR      keys corpus (default: <repo's parent>/shared/keys)
#   PH_BENCH_BUILD   build directory (default: <repo>/build-bench)
#   PH_BENCH_JOBS    parallel build jobs (default: nproc)
#   PH_BENCH_SETS    sets to run, in order (default: "hardest hard random sys32")
# Results go to stdout; docs/BENCHMARKS.md explains the columns.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
keys=${PH_KEYS_DIR:-$(dirname "$repo")/shared/keys}
build=${PH_BENCH_BUILD:-$repo/build-bench}
jobs=${PH_BENCH_JOBS:-$(nproc)}
sets=${PH_BENCH_SETS:-hardest hard random sys32}

if [ ! -d "$keys" ]; then
  echo "bench.sh: keys directory $keys not found (set PH_KEYS_DIR)" >&2
  exit 1
fi

. "$repo/scripts/bench-common.sh"
bench_machine "cmph: $(pkg-config --modversion cmph 2>/dev/null || echo 'not found')"

echo "=== build (Release, $build) ==="
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPH_BENCH=ON >/dev/null
cmake --build "$build" -j"$jobs" --target phbench >/dev/null
phbench=$build/bench/phbench

for set in $sets; do
  echo
  echo "=== $set ==="
  if [ ! -d "$keys/$set" ]; then
    echo "bench.sh: $keys/$set missing, skipped" >&2
    continue
  fi
  start=$(date +%s.%N)
  "$phbench" "$keys/$set" "$@"
  echo "wall_s=$(echo "$(date +%s.%N) - $start" | bc)"
done
