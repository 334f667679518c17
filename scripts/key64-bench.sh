#!/usr/bin/env bash
# Solve time of 64-bit keys against 32-bit keys of the same count
# (bench/bench_key64.c): one graph, and partitioned from 2^20 keys on.
#
#   scripts/key64-bench.sh [ROUNDS [SIZES...]]   default: 5 100000 1000000 10000000
#
# Environment:
#   PH_BENCH_BUILD   phcluster build directory (default: <repo>/build-bench)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${PH_BENCH_BUILD:-$repo/build-bench}
rounds=${1:-5}
[ $# -gt 0 ] && shift
if [ ! -x "$build/bench/bench_key64" ]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target bench_key64 >/dev/null
fi
. "$repo/scripts/bench-common.sh"
bench_machine
echo "=== bench_key64 $rounds $* ==="
"$build/bench/bench_key64" "$rounds" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
