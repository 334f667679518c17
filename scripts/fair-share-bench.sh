#!/usr/bin/env bash
# Fair share: how long a small job takes alone, and beside a big one.
#
#   scripts/fair-share-bench.sh [SMALL_DIR [BIG_DIR]]
#
# One phcoord and one phworker on loopback.  Each round runs, one after the
# other:
#   alone   the small job (default hard/, 23 files) on an idle cluster;
#   beside  the big job (default sys32/, 13,637 files) submitted with
#           --no-wait, then, once the coordinator has started dispatching it,
#           the small job; its wall time is from submit to its wait returning.
# The big job is waited for before the next round.  Reported: each round's
# times, the medians and the ratio beside/alone (docs/BENCHMARKS.md, "Fair
# share").  Outputs go under $PH_FS_WORK (default /dev/shm/ph-fair-share) and
# are removed after each run; all processes started here are stopped on exit.
#
# Environment:
#   PH_BENCH_RUNS   rounds (default 3)
#   PH_FS_BUILD     Release build directory (default <repo>/build-test)
#   PH_THREADS      worker threads (default 2)
#   PH_FS_WORK      output directory (default /dev/shm/ph-fair-share)
#   PH_KEYS_ROOT    where hard/ and sys32/ are (default ../shared/keys)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# The key sets sit beside the repository (../shared/keys), or beside the
# directory of worktrees that holds it.
keys_root=${PH_KEYS_ROOT:-}
if [ -z "$keys_root" ]; then
  for k in "$repo/../shared/keys" "$repo/../../shared/keys"; do
    [ -d "$k" ] && { keys_root=$(cd "$k" && pwd); break; }
  done
fi
keys_root=${keys_root:-$repo/../shared/keys}
small=${1:-$keys_root/hard}
big=${2:-$keys_root/sys32}
runs=${PH_BENCH_RUNS:-3}
build=${PH_FS_BUILD:-$repo/build-test}
threads=${PH_THREADS:-2}
work=${PH_FS_WORK:-/dev/shm/ph-fair-share}
for d in "$small" "$big"; do
  [ -d "$d" ] || { echo "fair-share-bench.sh: $d: no such keys directory" >&2; exit 1; }
done
small=$(cd "$small" && pwd)
big=$(cd "$big" && pwd)

cmake --build "$build" -j2 --target phclient phcoord phworker >/dev/null
phclient=$build/client/phclient
phcoord=$build/coordinator/phcoord
phworker=$build/worker/phworker

. "$repo/scripts/bench-common.sh"
bench_scratch "$work"

"$phcoord" --bind 'tcp://127.0.0.1:*' --endpoint-file "$work/endpoint" --log-level warn \
  --allow-root "$keys_root" --allow-root "$small" --allow-root "$big" --allow-root "$work" &
bench_pids+=($!)
for _ in $(seq 100); do [ -s "$work/endpoint" ] && break; sleep 0.05; done
ep=$(cat "$work/endpoint")
"$phworker" --coordinator "$ep" --threads "$threads" --log-level warn &
bench_pids+=($!)
for _ in $(seq 100); do
  "$phclient" --coordinator "$ep" status --json 2>/dev/null | grep -q '"pid":' && break
  sleep 0.1
done

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

# Wall seconds of one small job, submit to results.
small_job() { # OUT
  local t0 t1
  t0=$(now)
  "$phclient" --coordinator "$ep" bulk-create "$small" -o "$1" >/dev/null 2>>"$work/client.log"
  t1=$(now)
  elapsed "$t0" "$t1"
}

# Wait until the big job has tables written (it is being dispatched).
big_started() { # OUT
  for _ in $(seq 600); do
    [ -n "$(find "$1" -mindepth 1 -maxdepth 1 -type d -print -quit 2>/dev/null)" ] && return 0
    sleep 0.05
  done
  echo "fair-share-bench.sh: the big job wrote nothing in 30 s" >&2
  return 1
}

bench_machine
echo "small: $small ($(find "$small" -name '*.keys' | wc -l) files)"
echo "big:   $big ($(find "$big" -name '*.keys' | wc -l) files)"
echo "phcoord + 1 phworker --threads $threads, outputs in $work"
echo
printf '%-6s %10s %10s %10s\n' round alone_s beside_s big_s
: >"$work/alone" ; : >"$work/beside"; : >"$work/bigt"
for r in $(seq "$runs"); do
  a=$(small_job "$work/alone-$r")
  rm -rf "$work/alone-$r"
  t0=$(now)
  token=$("$phclient" --coordinator "$ep" bulk-create "$big" -o "$work/big-$r" --no-wait)
  big_started "$work/big-$r"
  b=$(small_job "$work/small-$r")
  "$phclient" --coordinator "$ep" wait "$token" >/dev/null 2>>"$work/client.log"
  t1=$(now)
  bt=$(elapsed "$t0" "$t1")
  rm -rf "$work/small-$r" "$work/big-$r"
  printf '%-6s %10.3f %10.3f %10.3f\n' "$r" "$a" "$b" "$bt"
  echo "$a" >>"$work/alone"; echo "$b" >>"$work/beside"; echo "$bt" >>"$work/bigt"
done
ma=$(bench_median <"$work/alone")
mb=$(bench_median <"$work/beside")
mt=$(bench_median <"$work/bigt")
echo
printf 'median: alone %.3f s, beside the big job %.3f s (ratio %.2f); big job %.3f s\n' \
  "$ma" "$mb" "$(echo "$mb / $ma" | bc -l)" "$mt"
