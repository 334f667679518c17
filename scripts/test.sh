#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. Release build with -Werror, every ctest test (unit, integration, cluster),
#      then libphcluster installed into a temporary prefix and used from
#      outside the tree (examples/consumer: find_package, its ctest, and
#      pkg-config; scripts/consumer-test.sh)
#   2. ASan+UBSan build, every ctest test
#   3. TSan build, the runtime tests (label "runtime"), the solver's
#      parallel-attempt tests (test_solve) and the TCP cluster tests
#   4. load: the cluster and fault tests (Release) and the TCP cluster
#      group (TSan) with two busy loops beside them, PH_LOAD_RUNS
#      consecutive times (default 5, about 10 minutes on 2 idle cores); any
#      failed run fails (scripts/load-test.sh)
#   5. libFuzzer targets for a bounded time (PH_FUZZ_SECONDS per target, default 120)
#   6. packaging: the .deb builds, installs and runs (the multi-host test in
#      network namespaces is a ctest of stages 1-2, skipped where not permitted)
# PH_TEST_STAGES="release asan tsan load fuzz deploy" selects stages (default:
# all of them).  The build
# settings of stages 1-5 are the presets of CMakePresets.json
# (cmake --preset release|asan|tsan|fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
stages=${PH_TEST_STAGES:-release asan tsan load fuzz deploy}
jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

run_stage() { echo; echo "=== test.sh: $1 ==="; }

for stage in $stages; do
  case $stage in
  release)
    run_stage "Release build, all tests"
    cmake --preset release >/dev/null
    cmake --build --preset release -j"$jobs"
    ctest --preset release -j"$jobs"
    scripts/consumer-test.sh build-test
    ;;
  asan)
    run_stage "ASan+UBSan build, all tests"
    cmake --preset asan >/dev/null
    cmake --build --preset asan -j"$jobs"
    ctest --preset asan -j"$jobs"
    ;;
  tsan)
    run_stage "TSan build, runtime, parallel solver, library values and TCP cluster tests"
    cmake --preset tsan >/dev/null
    cmake --build --preset tsan -j"$jobs"
    ctest --preset tsan-runtime
    # The solver's parallel attempts (own threads and an outside executor).
    TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan -R '^test_solve$' --timeout 900
    # The library's atomic values, incremented from several threads.
    TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan -R '^test_lib_values$' --timeout 600
    # The coordinator (loop + writer threads) and workers over TCP.  Groups
    # that run --local are left out: over inproc, libzmq (not built with
    # TSan) hands our buffers between threads where TSan cannot see it.
    TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/harness/tsan-libzmq.supp" \
      ctest --test-dir build-tsan -j"$jobs" --timeout 600 \
      -R '^cluster_(bulk|requeue|protocol|dispatch)$'
    ;;
  load)
    run_stage "cluster and fault tests under load, ${PH_LOAD_RUNS:-5} runs"
    scripts/load-test.sh "${PH_LOAD_RUNS:-5}"
    ;;
  fuzz)
    run_stage "fuzzing (${PH_FUZZ_SECONDS:-120} s per target)"
    scripts/fuzz.sh "${PH_FUZZ_SECONDS:-120}"
    ;;
  deploy)
    run_stage "packaging"
    scripts/deb-test.sh
    ;;
  *) echo "test.sh: unknown stage '$stage'" >&2; exit 1 ;;
  esac
done
echo
echo "=== test.sh: all stages passed: $stages ==="
