#!/usr/bin/env bash
# What durable tables cost: sys32 bulk-create with and without --state-dir.
#
#   scripts/durability-bench.sh [KEYS_DIR]     (default ../shared/keys/sys32)
#
# One phcoord and one phworker (--threads 2) on loopback per run.  Each
# round times `phclient bulk-create KEYS_DIR -o OUT` twice, interleaved:
#   plain   no --state-dir: nothing journaled, nothing synced;
#   state   --state-dir: tables synced by syncfs in batches before their
#           journal records (coordinator/coord_durable.c).
# Outputs and state go under $PH_DB_WORK (default a fresh
# /tmp/ph-durability-bench.XXXXXX, so runs side by side do not share it; on
# the disk's filesystem: tmpfs would make the syncs free), a fresh directory
# per run, all removed at the end only (on ext4, creating files soon after
# deleting many is slow: docs/BENCHMARKS.md).  Prints each run's wall time,
# the medians and the ratio state/plain.
#
# Environment: PH_BENCH_RUNS rounds (default 3), PH_DB_BUILD build directory
# (default <repo>/build-test), PH_DB_WORK.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
keys=${1:-$repo/../shared/keys/sys32}
for k in "$keys" "$repo/../../shared/keys/sys32"; do
  [ -d "$k" ] && { keys=$(cd "$k" && pwd); break; }
done
[ -d "$keys" ] || { echo "durability-bench.sh: $keys: no such keys directory" >&2; exit 1; }
runs=${PH_BENCH_RUNS:-3}
build=${PH_DB_BUILD:-$repo/build-test}
work=${PH_DB_WORK:-$(mktemp -d /tmp/ph-durability-bench.XXXXXX)}

cmake --build "$build" -j2 --target phclient phcoord phworker >/dev/null
. "$repo/scripts/bench-common.sh"
bench_scratch "$work"
mkdir -p "$work/bin"
cp "$build/client/phclient" "$build/coordinator/phcoord" "$build/worker/phworker" "$work/bin/"

one_run() { # mode round -> seconds on stdout
  local mode=$1 round=$2 dir="$work/$1-$2" extra=()
  mkdir -p "$dir"
  [ "$mode" = state ] && extra=(--state-dir "$dir/state")
  "$work/bin/phcoord" --bind 'tcp://127.0.0.1:*' --endpoint-file "$dir/ep" --allow-root / \
    --log-level warn "${extra[@]}" 2>"$dir/coord.log" &
  local cpid=$!
  bench_pids+=("$cpid")
  for _ in $(seq 200); do [ -s "$dir/ep" ] && break; sleep 0.05; done
  local ep
  ep=$(cat "$dir/ep")
  "$work/bin/phworker" --coordinator "$ep" --threads 2 --log-level warn 2>"$dir/worker.log" &
  local wpid=$!
  bench_pids+=("$wpid")
  local t0 t1
  t0=$(date +%s.%N)
  "$work/bin/phclient" --coordinator "$ep" bulk-create "$keys" -o "$dir/out" >/dev/null
  t1=$(date +%s.%N)
  "$work/bin/phclient" --coordinator "$ep" shutdown >/dev/null
  kill "$wpid" 2>/dev/null || true
  wait "$cpid" "$wpid" 2>/dev/null || true
  echo "$t1 - $t0" | bc
}

echo "machine: $(nproc) cores, $(uname -r); $work on $(df -T "$(dirname "$work")" | awk 'NR==2 {print $2}')"
plain=() state=()
for r in $(seq "$runs"); do
  p=$(one_run plain "$r"); s=$(one_run state "$r")
  plain+=("$p"); state+=("$s")
  echo "round $r: plain ${p} s, state ${s} s"
done
mp=$(printf '%s\n' "${plain[@]}" | bench_median)
ms=$(printf '%s\n' "${state[@]}" | bench_median)
echo "median: plain $mp s, state $ms s, ratio $(echo "scale=3; $ms / $mp" | bc)"
