#!/usr/bin/env bash
# The cluster and fault tests under load: two busy loops take the CPUs
# beside them while they run, N consecutive times (default 5); any failed
# run fails the stage.  Each run is
#   Release build: the cluster tests, the fault tests and harness_owned;
#   TSan build: the TCP cluster group (coordinator loop + writer threads).
# Usage: scripts/load-test.sh [RUNS]   (or PH_LOAD_RUNS=RUNS)
# Builds with the release and tsan presets of CMakePresets.json.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-${PH_LOAD_RUNS:-5}}
case $runs in '' | *[!0-9]* | 0) echo "load-test.sh: RUNS must be a positive integer, not '$runs'" >&2; exit 1 ;; esac
jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j"$jobs"

busy=()
stop_busy() { [ ${#busy[@]} -eq 0 ] || kill "${busy[@]}" 2>/dev/null || true; }
trap stop_busy EXIT
for _ in 1 2; do
  ( while :; do :; done ) &
  busy+=($!)
done

failed=0
t0=$(date +%s)
for run in $(seq 1 "$runs"); do
  r0=$(date +%s)
  ok=1
  ctest --preset release -j"$jobs" -R '^(cluster_.*|fault_.*|harness_owned)$' || ok=0
  TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/harness/tsan-libzmq.supp" \
    ctest --test-dir build-tsan -j"$jobs" --timeout 600 \
    -R '^cluster_(bulk|requeue|protocol|dispatch)$' || ok=0
  [ $ok = 1 ] || failed=$((failed + 1))
  echo "load-test.sh: run $run/$runs $([ $ok = 1 ] && echo passed || echo FAILED) in $(($(date +%s) - r0)) s"
done
echo "load-test.sh: $((runs - failed))/$runs runs passed with two busy loops, $(($(date +%s) - t0)) s in all"
[ $failed -eq 0 ]
