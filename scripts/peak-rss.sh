#!/usr/bin/env bash
# Peak RSS of the coordinator with a large bulk job and one slow worker
# (backpressure: queued tasks cost the coordinator little memory).  Runs the
# fault_backpressure hardening test with NFILES one-key files (default 100000; ctest uses 20000) and prints its
# figures: VmHWM before the submit, with every task queued, bytes per task.
#   scripts/peak-rss.sh [BUILD_DIR] [NFILES]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
nfiles=${2:-100000}
exe="$build/tests/hardening/test_faults"
if [[ ! -x $exe ]]; then
  echo "peak-rss: $exe not built (cmake --build $build --target test_faults)" >&2
  exit 1
fi
# File generation dominates; give the test more than its ctest budget.
HX_BP_FILES=$nfiles HX_BUDGET_MS=300000 "$exe" fault_backpressure 2>&1 |
  grep -E 'generated|submit|VmHWM|OK|FAILED|ERROR'
