#!/usr/bin/env bash
# The cluster benchmark: a keys directory (default all of sys32)
# solved and written
#   1. in-process (bench_inproc, the worker runtime without the network),
#      with --out (tables written, the like-for-like baseline) and without,
#   2. through `phclient bulk-create --local` (embedded coordinator + worker),
#   3. through phcoord + one phworker on loopback,
# in interleaved rounds (one run of each per round), then 4. the ratios, and 5. coordinator dispatch: phcoord + 32
# `phworker --fake-work --threads 1` on a generated directory of tiny files.
#
#   scripts/cluster-bench.sh [KEYS_DIR]
#
# Environment:
#   PH_KEYS_DIR          keys directory (default <repo's parent>/shared/keys/sys32)
#   PH_BENCH_RUNS        runs per figure, the median is reported (default 3)
#   PH_CBENCH_BUILD      Release build directory (default <repo>/build-cbench)
#   PH_BENCH_JOBS        parallel build jobs (default 2)
#   PH_THREADS           threads of the in-process runtime and the worker (2)
#   PH_DISPATCH_FILES    tiny one-key files for the dispatch test (50000)
#   PH_DISPATCH_WORKERS  fake workers for the dispatch test (32)
#   PH_CBENCH_SKIP       space-separated parts to skip: inproc local cluster dispatch
#   PH_CBENCH_WORK       where outputs go (default <build>/cbench); e.g. a tmpfs
#                        such as /dev/shm/cbench to take the disk out of the figures
#
# Every run writes into a fresh directory under the build dir (same
# filesystem as the build); on a disk all of them are removed only at the
# end (needs ~0.7 GB per sys32 run), on a tmpfs each right after its run.  Removing tens of thousands of files right before a
# run would make it up to 10x slower on an ext4 without a journal (this VM):
# ext4 then will not reuse an inode freed less than 60 s ago (up to 6 min
# while its inode-table block is dirty), and checks the free ones one by one
# on every allocation (recently_deleted() in fs/ext4/ialloc.c: sys time).  For the same reason a stale output left by
# an interrupted run is only set aside, and removed at the end with the rest;
# and a second run of this script within ~6 minutes of the first one's end
# (when its outputs were removed) measures that slowdown, not ours.
# PH_CBENCH_KEEP=1 keeps the outputs (remove them yourself, later).  `sync` runs
# before each timed run so writeback of the previous one is not charged to it.
# Wall times move with the load of a shared machine: the load average is
# printed with every figure, and CPU seconds (user+sys of every process
# involved) are printed beside them.  docs/BENCHMARKS.md ("Cluster") explains
# the columns.  All processes started here are stopped on exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
keys=${1:-${PH_KEYS_DIR:-$(dirname "$repo")/shared/keys/sys32}}
build=${PH_CBENCH_BUILD:-$repo/build-cbench}
runs=${PH_BENCH_RUNS:-3}
jobs=${PH_BENCH_JOBS:-2}
threads=${PH_THREADS:-2}
nfake=${PH_DISPATCH_FILES:-50000}
nworkers=${PH_DISPATCH_WORKERS:-32}
skip=" ${PH_CBENCH_SKIP:-} "
work=${PH_CBENCH_WORK:-$build/cbench}
tck=$(getconf CLK_TCK)

if [ ! -d "$keys" ]; then
  echo "cluster-bench.sh: keys directory $keys not found (set PH_KEYS_DIR)" >&2
  exit 1
fi
keys=$(cd "$keys" && pwd)

pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_all
  [ "${PH_CBENCH_KEEP:-0}" = 1 ] || rm -rf "$work/out" "$work"/stale-*
  sync # clean inode-table blocks: the "recently deleted" window is then 60 s
}
trap cleanup EXIT
trap 'exit 130' INT TERM

loadavg() { cut -d' ' -f1 /proc/loadavg; }
# CPU seconds (user+sys, all threads) a live process has used so far.
cpu_of() { awk -v t="$tck" '{printf "%.3f", ($14 + $15) / t}' "/proc/$1/stat"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
calc() { awk "BEGIN {printf \"%.${2:-3}f\", $1}"; }
skipped() { [[ $skip == *" $1 "* ]]; }

# Run a command; sets T_REAL T_USER T_SYS (seconds, children of this shell).
timed() {
  local out=$1; shift
  local TIMEFORMAT='%3R %3U %3S' tf
  tf=$(mktemp)
  { time "$@" >"$out" 2>&1; } 2>"$tf" || { cat "$out" >&2; rm -f "$tf"; return 1; }
  read -r T_REAL T_USER T_SYS <"$tf"
  rm -f "$tf"
}

fresh_out() {
  mkdir -p "$work/out"
  sync
  echo "$work/out/$1"
}

# tmpfs: an output is removed as soon as it is counted (no ext4 inode
# penalty there, and memory that was used once is cheap to use again).
on_tmpfs=0
done_out() {
  [ "$on_tmpfs" = 1 ] && [ "${PH_CBENCH_KEEP:-0}" != 1 ] && rm -rf "$1"
  return 0
}

# Tables written = subdirectories of OUT (one per keys file).
count_tables() { find "$1" -mindepth 1 -maxdepth 1 -type d | wc -l; }

wait_workers() { # EP N
  local i
  for i in $(seq 100); do
    local n
    n=$("$phclient" --coordinator "$1" status --json 2>/dev/null | grep -o '"pid":' | wc -l || true)
    [ "$n" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "cluster-bench.sh: only $n of $2 workers registered" >&2
  return 1
}

start_coord() { # sets EP, CPID
  rm -f "$work/endpoint"
  "$phcoord" --bind 'tcp://127.0.0.1:*' --endpoint-file "$work/endpoint" --log-level warn \
    --allow-root "$keys" --allow-root "$build" --allow-root "$work" &
  CPID=$!
  pids+=("$CPID")
  local i
  for i in $(seq 100); do [ -s "$work/endpoint" ] && break; sleep 0.05; done
  EP=$(cat "$work/endpoint")
}


. "$repo/scripts/bench-common.sh"
bench_machine "filesystem: $(df -T "$build" 2>/dev/null | awk 'NR==2 {print $2, $1}' || true)"
echo "keys: $keys ($(find "$keys" -maxdepth 1 -name '*.keys' | wc -l) files), runs=$runs threads=$threads"

echo "=== build (Release, $build) ==="
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$jobs" --target phclient phcoord phworker bench_inproc >/dev/null
phclient=$build/client/phclient
phcoord=$build/coordinator/phcoord
phworker=$build/worker/phworker
inproc=$build/bench/bench_inproc
mkdir -p "$work"
[ "$(stat -f -c %T "$work")" = tmpfs ] && on_tmpfs=1
if [ -e "$work/out" ]; then
  # Left by an interrupted run: set aside now, removed at the end (see the header).
  mv "$work/out" "$work/stale-$$"
fi
nfiles=$(find "$keys" -maxdepth 1 -name '*.keys' | wc -l)
# Warm the page cache so the first timed run does not pay for cold reads.
find "$keys" -maxdepth 1 -name '*.keys' -exec cat {} + >/dev/null

declare -A MED   # figure name -> median
# Summarise one series: NAME, then arrays W (wall) C (cpu) L (load).
summarise() {
  local name=$1
  MED[$name.wall]=$(median "${W[@]}")
  MED[$name.cpu]=$(median "${C[@]}")
  MED[$name.load]=$(median "${L[@]}")
  printf '%-22s median wall %7.3f s  %9.1f files/s  cpu %7.3f s  load %s\n' "$name" \
    "${MED[$name.wall]}" "$(calc "$2 / ${MED[$name.wall]}" 1)" "${MED[$name.cpu]}" \
    "${MED[$name.load]}"
}

# One run line: MODE RUN WALL CPU LOAD EXTRA
runline() {
  printf '%-10s run %d  wall %7.3f s  %9.1f files/s  cpu %7.3f s  load %-5s %s\n' \
    "$1" "$2" "$3" "$(calc "$nfiles / $3" 1)" "$4" "$5" "${6:-}"
}

# One run of each mode per round, interleaved: a drift of the machine during
# the benchmark (load, or this VM's slow first touch of memory it has not
# used yet: on tmpfs each sys32 output is ~0.6 GB) then hits every mode alike.
run_inproc() { # MODE ROUND
  local out args extra la
  out=$(fresh_out "inproc-$1-$2")
  args=("$keys" --threads "$threads")
  [ "$1" = out ] && args+=(--out "$out")
  la=$(loadavg)
  L_[inproc-$1]+=" $la"
  timed "$work/last.txt" "$inproc" "${args[@]}"
  W_[inproc-$1]+=" $T_REAL" C_[inproc-$1]+=" $(calc "$T_USER + $T_SYS")"
  extra="user $T_USER sys $T_SYS"
  [ "$1" = out ] && extra="$extra tables $(count_tables "$out")"
  runline "inproc-$1" "$2" "$T_REAL" "$(calc "$T_USER + $T_SYS")" "$la" "$extra"
  grep -q "failed=0" "$work/last.txt" || { cat "$work/last.txt"; exit 1; }
  done_out "$out"
}

run_local() { # ROUND
  local out job_s la
  out=$(fresh_out "local-$1")
  la=$(loadavg)
  L_[local]+=" $la"
  timed "$work/last.txt" "$phclient" bulk-create "$keys" -o "$out" --local --json
  W_[local]+=" $T_REAL" C_[local]+=" $(calc "$T_USER + $T_SYS")"
  job_s=$(grep -o '"elapsed_us":[0-9]*' "$work/last.txt" | cut -d: -f2)
  runline local "$1" "$T_REAL" "$(calc "$T_USER + $T_SYS")" "$la" \
    "user $T_USER sys $T_SYS job $(calc "$job_s / 1e6") s tables $(count_tables "$out")"
  grep -q '"state":"all_succeeded"' "$work/last.txt" || { cat "$work/last.txt"; exit 1; }
  done_out "$out"
}

run_cluster() { # ROUND (phcoord CPID + phworker WPID running)
  local out c0 w0 c1 w1 cc wc job_s la
  out=$(fresh_out "cluster-$1")
  la=$(loadavg)
  L_[cluster]+=" $la"
  c0=$(cpu_of "$CPID") w0=$(cpu_of "$WPID")
  timed "$work/last.txt" "$phclient" --coordinator "$EP" bulk-create "$keys" -o "$out" --json
  c1=$(cpu_of "$CPID") w1=$(cpu_of "$WPID")
  cc=$(calc "$c1 - $c0") wc=$(calc "$w1 - $w0")
  W_[cluster]+=" $T_REAL" C_[cluster]+=" $(calc "$cc + $wc + $T_USER + $T_SYS")"
  job_s=$(grep -o '"elapsed_us":[0-9]*' "$work/last.txt" | cut -d: -f2)
  runline cluster "$1" "$T_REAL" "$(calc "$cc + $wc + $T_USER + $T_SYS")" "$la" \
    "coord $cc worker $wc client $(calc "$T_USER + $T_SYS") job $(calc "$job_s / 1e6") s tables $(count_tables "$out")"
  grep -q '"state":"all_succeeded"' "$work/last.txt" || { cat "$work/last.txt"; exit 1; }
  done_out "$out"
}

declare -A W_ C_ L_  # mode -> space-separated figures of its runs
modes=()
skipped inproc || modes+=(inproc-solve inproc-out)
skipped local || modes+=(local)
skipped cluster || modes+=(cluster)
if [ ${#modes[@]} -gt 0 ]; then
  echo
  echo "=== 1-3. in-process (bench_inproc --threads $threads), phclient --local, phcoord +"
  echo "    1 phworker --threads $threads on loopback: $runs interleaved rounds ==="
  if ! skipped cluster; then
    start_coord
    "$phworker" --coordinator "$EP" --threads "$threads" --log-level warn &
    WPID=$!
    pids+=("$WPID")
    wait_workers "$EP" 1
  fi
  for r in $(seq "$runs"); do
    for m in "${modes[@]}"; do
      case $m in
        inproc-solve) run_inproc solve "$r" ;;
        inproc-out) run_inproc out "$r" ;;
        local) run_local "$r" ;;
        cluster) run_cluster "$r" ;;
      esac
    done
  done
  echo
  for m in "${modes[@]}"; do
    read -ra W <<<"${W_[$m]}"
    read -ra C <<<"${C_[$m]}"
    read -ra L <<<"${L_[$m]}"
    summarise "$m" "$nfiles"
  done
  stop_all
fi

echo
echo "=== 4. ratios (median wall; median cpu) ==="
if [ -n "${MED[inproc-out.wall]:-}" ]; then
  for m in local cluster; do
    [ -n "${MED[$m.wall]:-}" ] || continue
    printf '%-8s / in-process(--out): wall %.3f  cpu %.3f\n' "$m" \
      "$(calc "${MED[$m.wall]} / ${MED[inproc-out.wall]}")" \
      "$(calc "${MED[$m.cpu]} / ${MED[inproc-out.cpu]}")"
  done
fi

if ! skipped dispatch; then
  echo
  echo "=== 5. dispatch: phcoord + $nworkers phworker --fake-work --threads 1, $nfake one-key files ==="
  tiny=$build/cbench-tiny-$nfake
  if [ ! -f "$tiny/.complete" ]; then
    rm -rf "$tiny"
    mkdir -p "$tiny"
    # One 4-byte key per file; python is quick enough (~2 s for 50k).
    python3 - "$tiny" "$nfake" <<'EOF'
import os, struct, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, "t%07d.keys" % i), "wb") as f:
        f.write(struct.pack("<I", i))
open(os.path.join(d, ".complete"), "w").close()
EOF
  fi
  find "$tiny" -maxdepth 1 -name '*.keys' -exec cat {} + >/dev/null
  start_coord
  wpids=()
  for i in $(seq "$nworkers"); do
    "$phworker" --coordinator "$EP" --threads 1 --fake-work --log-level warn &
    pids+=("$!") wpids+=("$!")
  done
  # CPU seconds of all fake workers together.
  workers_cpu() { local p t=0; for p in "${wpids[@]}"; do t=$(calc "$t + $(cpu_of "$p")"); done; echo "$t"; }
  wait_workers "$EP" "$nworkers"
  W=() C=() L=()
  for r in $(seq "$runs"); do
    out=$(fresh_out "dispatch-$r")
    L+=("$(loadavg)")
    c0=$(cpu_of "$CPID") w0=$(workers_cpu)
    timed "$work/last.txt" "$phclient" --coordinator "$EP" bulk-create "$tiny" -o "$out" --json
    c1=$(cpu_of "$CPID") w1=$(workers_cpu)
    cc=$(calc "$c1 - $c0") wc=$(calc "$w1 - $w0")
    W+=("$T_REAL") C+=("$cc")
    job_s=$(grep -o '"elapsed_us":[0-9]*' "$work/last.txt" | cut -d: -f2)
    printf 'dispatch   run %d  wall %7.3f s  %9.1f tasks/s  job %.3f s  coord cpu %.3f s (%.1f tasks per coord cpu-s)  workers cpu %.3f s  load %s\n' \
      "$r" "$T_REAL" "$(calc "$nfake / $T_REAL" 1)" "$(calc "$job_s / 1e6")" "$cc" \
      "$(calc "$nfake / $cc" 1)" "$wc" "${L[-1]}"
    grep -q '"state":"all_succeeded"' "$work/last.txt" || { cat "$work/last.txt"; exit 1; }
  done
  MED[dispatch.wall]=$(median "${W[@]}")
  MED[dispatch.cpu]=$(median "${C[@]}")
  printf 'dispatch median wall %.3f s  %.1f tasks/s  coord cpu %.3f s  %.1f tasks per coord cpu-s\n' \
    "${MED[dispatch.wall]}" "$(calc "$nfake / ${MED[dispatch.wall]}" 1)" \
    "${MED[dispatch.cpu]}" "$(calc "$nfake / ${MED[dispatch.cpu]}" 1)"
  stop_all
fi

echo
echo "=== targets ==="
[ -n "${MED[cluster.wall]:-}" ] && printf 'end to end, cluster: %.1f files/s (target >= 3000)\n' \
  "$(calc "$nfiles / ${MED[cluster.wall]}" 1)"
[ -n "${MED[local.wall]:-}" ] && printf 'end to end, --local: %.1f files/s (target >= 3000)\n' \
  "$(calc "$nfiles / ${MED[local.wall]}" 1)"
[ -n "${MED[cluster.wall]:-}" ] && [ -n "${MED[inproc-out.wall]:-}" ] &&
  printf 'cluster / in-process time: %.3f (target <= 1.15)\n' \
    "$(calc "${MED[cluster.wall]} / ${MED[inproc-out.wall]}")"
[ -n "${MED[dispatch.wall]:-}" ] && printf 'dispatch: %.1f tasks/s (target >= 50000)\n' \
  "$(calc "$nfake / ${MED[dispatch.wall]}" 1)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
