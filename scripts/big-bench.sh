#!/usr/bin/env bash
# Big key sets: partitioned solve, create --local end to end (time, peak
# RSS), lookup in random order (single and batched), and libcmph CHM/BDZ on
# the same 10M keys.
#   scripts/big-bench.sh [BUILD_DIR] [SIZES...]     (default: build-test 10000000)
# Keys are generated (unique, scrambled order) in $PH_BIG_WORK (default a
# fresh ${TMPDIR:-/tmp}/ph-big-bench.XXXXXX, so runs side by side do not
# share it), removed at the end.  PH_BIG_CMPH=0 skips libcmph (its CHM
# needs ~20 s per 10M keys); it is only run for sets of at most 10M keys.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-test}
shift || true
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(10000000)
work=${PH_BIG_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ph-big-bench.XXXXXX")}
for exe in bench/bench_part client/phclient bench/phbench; do
  [[ -x $build/$exe ]] || { echo "big-bench: $build/$exe not built" >&2; exit 1; }
done
. scripts/bench-common.sh
bench_scratch "$work"
bench_machine_line
for n in "${sizes[@]}"; do
  keys="$work/random-$n.keys"
  "$build/bench/bench_part" --gen "$n" "$keys"
  echo "== $n keys"
  echo "-- solve (split + buckets + verify), 2 threads, then lookup in random order (single, batch)"
  "$build/bench/bench_part" "$keys" 2
  echo "-- phclient create --local, 2 threads, files written (wall s, peak RSS KiB)"
  /usr/bin/time -f "create_local_wall_s=%e peak_rss_kib=%M" \
    "$build/client/phclient" create "$keys" -o "$work/out" --local --threads 2
  du -sh "$work/out"
  rm -rf "$work/out"
  if [[ ${PH_BIG_CMPH:-1} != 0 && $n -le 10000000 ]]; then
    echo "-- phbench: one unpartitioned graph (ours) and libcmph CHM, BDZ, same keys"
    "$build/bench/phbench" "$keys" --threads 2 --repeat 1
  fi
  rm -f "$keys"
done
