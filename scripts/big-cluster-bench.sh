#!/usr/bin/env bash
# One big table through the cluster: `phclient create` of a big keys file
# with one and with two `phworker --threads 1`, and `create --local` of the
# same file, on this machine.
#   scripts/big-cluster-bench.sh [BUILD_DIR] [SIZES...]   (default: build 10000000)
# Env: PH_BENCH_RUNS (rounds, default 3; each round runs every setup once,
# interleaved, so load changes hit them alike), PH_BIG_WORK (scratch dir,
# default a fresh ${TMPDIR:-/tmp}/ph-big-cluster-bench.XXXXXX, so runs side
# by side do not share it; removed at the end), PH_BIG_KEY_SIZE (4,
# default, or 8: random 64-bit keys from /dev/urandom), PH_BIG_EMIT
# (--emit of every run, default c; another value adds the setup
# cluster_2_workers_emit_c, two workers with --emit c, for an A/B in the
# same rounds).
# Per run: wall seconds of the client (end to end: submit, split, groups,
# checks, files written), the coordinator's CPU seconds during the run
# (/proc), the coordinator's peak RSS during the run (VmHWM after
# clear_refs), and the load average before it.  The cluster's files are
# compared with --local's (they must be equal).  Printed as a table of the
# best and median of the rounds, the coordinator's CPU in its build (read
# and split) and in its group checks (medians, from its log), and the
# 1-worker / 2-worker ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(10000000)
runs=${PH_BENCH_RUNS:-3}
key_size=${PH_BIG_KEY_SIZE:-4}
emit=${PH_BIG_EMIT:-c}
work=${PH_BIG_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ph-big-cluster-bench.XXXXXX")}
. scripts/bench-common.sh
bench_cluster "$build" "$work"
wpids=()

start_workers() { # n: workers with --threads 1, returns once they registered
  bench_workers "$1"
  for _ in $(seq 100); do
    local nw
    nw=$("${client[@]}" status --json | grep -o "\"pid\":" | wc -l || true)
    [[ $nw -ge $1 ]] && return 0
    sleep 0.1
  done
  echo "big-cluster-bench: workers did not register" >&2
  exit 1
}

stop_workers() {
  for p in "${wpids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  for _ in $(seq 100); do # the coordinator drops them on disconnect or liveness
    local nw
    nw=$("${client[@]}" status --json | grep -o "\"pid\":" | wc -l || true)
    [[ $nw -eq 0 ]] && return 0
    sleep 0.1
  done
}

# run LABEL OUT ARGS...: one timed run; appends "LABEL wall coord_cpu workers_cpu load"
# to results
run() {
  local label=$1 out=$2
  shift 2
  rm -rf "$out"
  local load c0 t0 t1 c1 w0 w1 hwm
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo 5 >"/proc/$coord/clear_refs" 2>/dev/null || true # peak RSS from here
  c0=$(cpu_s "$coord")
  w0=$(cpu_s "${wpids[@]}")
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  c1=$(cpu_s "$coord")
  w1=$(cpu_s "${wpids[@]}")
  hwm=$(awk '/^VmHWM/ { print $2 / 1024 }' "/proc/$coord/status")
  echo "$label $(awk "BEGIN { print $t1 - $t0 }") $(awk "BEGIN { print $c1 - $c0 }")" \
    "$(awk "BEGIN { print $w1 - $w0 }") $load $hwm" >>"$results"
}

bench_machine_line
bench_coord "$work/coord.log" --allow-root "$work"
setups=(cluster_1_worker cluster_2_workers local_2_threads)
[[ $emit == c ]] || setups+=(cluster_2_workers_emit_c)
for n in "${sizes[@]}"; do
  if [[ $key_size == 8 ]]; then
    name="big-$n-64"
    head -c "$((n * 8))" /dev/urandom >"$work/$name.keys"
  else
    name="big-$n"
    "$build/bench/bench_part" --gen "$n" "$work/$name.keys" >/dev/null
  fi
  keys="$work/$name.keys"
  results="$work/results-$n.txt"
  : >"$results"
  for ((r = 1; r <= runs; r++)); do
    start_workers 1
    run cluster_1_worker "$work/out1" "${client[@]}" create "$keys" -o "$work/out1" \
      --emit "$emit"
    stop_workers
    start_workers 2
    run cluster_2_workers "$work/out2" "${client[@]}" create "$keys" -o "$work/out2" \
      --emit "$emit"
    if [[ $emit != c ]]; then
      run cluster_2_workers_emit_c "$work/outc" "${client[@]}" create "$keys" -o "$work/outc"
    fi
    stop_workers
    wpids=()
    run local_2_threads "$work/outl" "$build/client/phclient" create "$keys" -o "$work/outl" \
      --local --threads 2 --key-size "$key_size" --emit "$emit"
    for f in "$work/outl/$name"/*; do
      b=$(basename "$f")
      cmp -s "$f" "$work/out1/$name/$b" && cmp -s "$f" "$work/out2/$name/$b" ||
        { echo "big-cluster-bench: $b differs between cluster and --local" >&2; exit 1; }
    done
  done
  echo "== $n keys of $key_size bytes, --emit $emit, $runs rounds (wall s: best / median; CPU s" \
       "of the coordinator and of the workers, and the coordinator's peak RSS, medians; load" \
       "before each run)"
  declare -A best med
  for label in "${setups[@]}"; do
    mapfile -t w < <(bench_column "$results" "$label" 2)
    mapfile -t c < <(bench_column "$results" "$label" 3)
    mapfile -t wc < <(bench_column "$results" "$label" 4)
    mapfile -t rss < <(bench_column "$results" "$label" 6)
    loads=$(awk -v k="$label" '$1 == k { printf "%s%s", s, $5; s = "," }' "$results")
    m=$(( (${#w[@]} - 1) / 2 ))
    best[$label]=${w[0]}
    med[$label]=${w[$m]}
    printf "%-24s best %7.3f  median %7.3f  coord_cpu %6.3f  workers_cpu %6.3f  coord_rss_mb" \
      "$label" "${w[0]}" "${w[$m]}" "${c[$m]}" "${wc[$m]}"
    printf " %7.1f  load %s\n" "${rss[$m]}" "$loads"
  done
  # The coordinator's own CPU by phase (its log; none from older builds):
  # the build (read + split) and the group checks, medians over the
  # cluster runs of this size.
  mapfile -t oc < <(grep -F "file=$name.keys" "$work/coord.log" |
    sed -n 's/.*open_cpu_ms=\([0-9]*\).*check_cpu_ms=\([0-9]*\).*/\1 \2/p')
  if [[ ${#oc[@]} -gt 0 ]]; then
    m=$(( (${#oc[@]} - 1) / 2 ))
    printf "coordinator phases (median of %d tables): open_cpu %.3f s  check_cpu %.3f s\n" \
      "${#oc[@]}" "$(printf '%s\n' "${oc[@]}" | awk '{print $1 / 1000}' | sort -g | sed -n "$((m + 1))p")" \
      "$(printf '%s\n' "${oc[@]}" | awk '{print $2 / 1000}' | sort -g | sed -n "$((m + 1))p")"
  fi
  printf "speedup 2 workers vs 1: best %.2fx, median %.2fx\n" \
    "$(awk "BEGIN { print ${best[cluster_1_worker]} / ${best[cluster_2_workers]} }")" \
    "$(awk "BEGIN { print ${med[cluster_1_worker]} / ${med[cluster_2_workers]} }")"
  rm -f "$keys"
done
"${client[@]}" shutdown >/dev/null || true
