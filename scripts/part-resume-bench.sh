#!/usr/bin/env bash
# A partitioned table through the cluster whose coordinator is killed (-9)
# half-way through the assembly and restarted on its --state-dir: the time
# to finish after the restart when the saved groups are taken up (resume)
# and when they are not (scratch: the progress record removed before the
# restart, so the table is solved from the start, as before resuming
# existed).
#   scripts/part-resume-bench.sh [BUILD_DIR] [KEYS]   (default: build 10000000)
# Env: PH_BENCH_RUNS (rounds, default 3; each round runs both setups,
# interleaved), PH_RESUME_WORK (scratch dir, default a fresh
# ${TMPDIR:-/tmp}/ph-part-resume-bench.XXXXXX, so runs side by side do not
# share it; removed at the end), PH_RESUME_WORKERS (workers with --threads
# 1, default 2).
# The first phcoord sends half the table's groups (PH_TEST_PART_HOLD, a test
# and benchmark aid) and is killed once their progress record is written.
# Per run: wall seconds from the restart to `phclient wait` returning (the
# restart, the keys read and split again, the missing groups, the table's
# files), the restarted coordinator's and the workers' CPU seconds, the
# groups solved after the restart, the load average before it.  Two more
# setups per round time the whole table with no restart, with --state-dir
# (progress records written as groups come in) and without (none): what
# the records cost an uninterrupted run.  Each
# table is compared with create --local's (it must be equal).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-10000000}
runs=${PH_BENCH_RUNS:-3}
work=${PH_RESUME_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ph-part-resume-bench.XXXXXX")}
nworkers=${PH_RESUME_WORKERS:-2}
. scripts/bench-common.sh
bench_cluster "$build" "$work"
mkdir -p "$work/in"

coord_start() { # log [nostate]: on the --state-dir unless nostate
  local state=(--state-dir "$work/state")
  [[ ${2:-} == nostate ]] && state=()
  bench_coord "$1" --allow-root "$work" "${state[@]}"
}

wait_log() { # file pattern
  for _ in $(seq 6000); do
    grep -q "$2" "$1" && return 0
    sleep 0.1
  done
  echo "part-resume-bench: no \"$2\" in $1" >&2
  exit 1
}

field() { # file message key: key= of the last line holding message
  grep "$2" "$1" | tail -1 | grep -o " $3=[0-9]*" | cut -d= -f2
}

keys="$work/in/big.keys"
"$build/bench/bench_part" --gen "$n" "$keys" >/dev/null
"$build/client/phclient" create "$keys" -o "$work/local" --local --threads 2 >/dev/null
groups=0 # of the table at the default --part-task-bytes: an unheld run says
bench_machine_line
results="$work/results.txt"
: >"$results"

coord_stop() {
  "${client[@]}" shutdown >/dev/null 2>&1 || true
  wait "$coord" 2>/dev/null || true
}

fresh_out() {
  rm -rf "$work/state" "$work/out"
  mkdir -p "$work/state"
}

# timed LABEL LOG [nostate] -- CMD...: phcoord started (its log in LOG)
# and CMD run, timed together: wall seconds, the coordinator's and the
# workers' CPU seconds, the groups solved and the table's (from LOG), the
# load before; appended to results as one line; then the coordinator
# stopped.
timed() {
  local label=$1 log=$2 state=$3 load c1 w0 w1 t0 t1 solved total
  shift 4
  load=$(cut -d' ' -f1 /proc/loadavg)
  w0=$(cpu_s "${wpids[@]}")
  t0=$(date +%s.%N)
  coord_start "$log" "$state"
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  c1=$(cpu_s "$coord")
  w1=$(cpu_s "${wpids[@]}")
  solved=$(field "$log" "partitioned table closed" solved)
  total=$(field "$log" "partitioned table closed" groups)
  echo "$label $(awk "BEGIN { print $t1 - $t0 }") $c1 $(awk "BEGIN { print $w1 - $w0 }")" \
    "$solved $total $load" >>"$results"
  coord_stop
}

# one_run LABEL: held at half, killed, restarted, timed to the end.
one_run() {
  local label=$1 hold token
  fresh_out
  hold=$(( groups > 1 ? groups / 2 : 1 ))
  PH_TEST_PART_HOLD=$hold coord_start "$work/coord1.log"
  token=$("${client[@]}" bulk-create "$work/in" -o "$work/out" --no-wait --json |
    grep -o '"token":"[0-9a-f]*"' | cut -d'"' -f4)
  wait_log "$work/coord1.log" "test hold reached"
  kill -9 "$coord"
  wait "$coord" 2>/dev/null || true
  [[ $label == scratch ]] && rm -f "$work/out/big/big.values.resume"
  timed "$label" "$work/coord2.log" state -- "${client[@]}" wait "$token"
  for f in "$work"/local/big/*; do
    cmp -s "$f" "$work/out/big/$(basename "$f")" ||
      { echo "part-resume-bench: $(basename "$f") differs from --local's" >&2; exit 1; }
  done
}

# The group count, from an unheld run's log.
coord_start "$work/coord0.log"
bench_workers "$nworkers"
"${client[@]}" bulk-create "$work/in" -o "$work/out0" >/dev/null 2>&1
groups=$(field "$work/coord0.log" "partitioned table opened" groups)
rm -rf "$work/out0"
coord_stop

# full LABEL STATE: the table with no restart, on a --state-dir (state:
# progress records written) or without one (nostate): what the records
# cost.
full() {
  fresh_out
  timed "$1" "$work/coordf.log" "$2" -- "${client[@]}" bulk-create "$work/in" -o "$work/out"
}

for ((r = 1; r <= runs; r++)); do
  one_run resume
  one_run scratch
  full full_state state
  full full_nostate nostate
done
echo "== $n keys, $groups groups, $nworkers workers --threads 1, killed at $((groups / 2))" \
     "groups in, $runs rounds (after the restart: wall s best / median; CPU s medians;" \
     "groups solved; load before each run)"
declare -A med
for label in resume scratch full_state full_nostate; do
  mapfile -t w < <(bench_column "$results" "$label" 2)
  mapfile -t c < <(bench_column "$results" "$label" 3)
  mapfile -t wc < <(bench_column "$results" "$label" 4)
  solved=$(awk -v k="$label" '$1 == k { print $5 "/" $6; exit }' "$results")
  loads=$(awk -v k="$label" '$1 == k { printf "%s%s", s, $7; s = "," }' "$results")
  m=$(( (${#w[@]} - 1) / 2 ))
  med[$label]=${w[$m]}
  printf "%-12s best %7.3f  median %7.3f  coord_cpu %6.3f  workers_cpu %6.3f  solved %s" \
    "$label" "${w[0]}" "${w[$m]}" "${c[$m]}" "${wc[$m]}" "$solved"
  printf "  load %s\n" "$loads"
done
printf "scratch / resume (median wall): %.2fx\n" \
  "$(awk "BEGIN { print ${med[scratch]} / ${med[resume]} }")"
printf "full_state / full_nostate (median wall; the progress records' cost): %.2fx\n" \
  "$(awk "BEGIN { print ${med[full_state]} / ${med[full_nostate]} }")"
