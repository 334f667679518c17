# bench-common.sh - sourced by the benchmarks: the machine, as a header
# block or one line; the key files of the lookup benchmarks (find-bench.sh,
# values-bench.sh); a scratch directory removed at exit with the processes
# started in it stopped; for the cluster benchmarks (big-cluster-bench.sh,
# part-resume-bench.sh) a coordinator and workers on loopback, the CPU time
# of processes and the columns of their results.

# bench_machine [LINE...]: the machine, kernel, compiler, load and time, as
# every benchmark prints them, then the benchmark's own LINEs.
bench_machine() {
  echo "=== machine ==="
  echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -r)"
  echo "compiler: $(${CC:-cc} --version | head -n1)"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  [[ $# -eq 0 ]] || printf '%s\n' "$@"
}

# bench_keys PATH N [BITS]: N unique random keys of BITS (32, default, or
# 64) bits, little-endian, seeded by N (the same file for the same N).
bench_keys() {
  python3 - "$1" "$2" "${3:-32}" <<'PY'
import random, struct, sys
path, n, bits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(n)
if bits == 32:
    keys = rng.sample(range(1 << 32), n)
else:
    seen, keys = set(), []
    while len(keys) < n:
        k = rng.getrandbits(64)
        if k not in seen:
            seen.add(k)
            keys.append(k)
with open(path, "wb") as f:
    f.write(struct.pack(f"<{n}{'I' if bits == 32 else 'Q'}", *keys))
PY
}

# cpu_s PID...: utime + stime of the processes, seconds (0 for none).
cpu_s() { # utime + stime of pids, seconds (0 for none)
  local sum=0 p
  for p in "$@"; do
    sum=$(awk -v hz="$(getconf CLK_TCK)" -v s="$sum" '{ print s + ($14 + $15) / hz }' \
      "/proc/$p/stat")
  done
  echo "$sum"
}

# The machine in one line, as the big-table benchmarks print it.
bench_machine_line() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
       "$(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench_scratch WORK: WORK made afresh and removed when the script exits,
# after every process in bench_pids is killed and waited for.
bench_name=$(basename "$0" .sh)
bench_pids=()
bench_scratch() {
  bench_work=$1
  rm -rf "$bench_work" && mkdir -p "$bench_work"
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${bench_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$bench_work"
}

# bench_cluster BUILD WORK: the cluster benchmark's programs checked built
# in BUILD; WORK as bench_scratch makes it; a loopback endpoint on a random
# port, ep, and client, the phclient command that talks to it.
bench_cluster() {
  bench_build=$1
  local exe
  for exe in bench/bench_part client/phclient coordinator/phcoord worker/phworker; do
    [[ -x $bench_build/$exe ]] || { echo "$bench_name: $bench_build/$exe not built" >&2; exit 1; }
  done
  bench_scratch "$2"
  ep="tcp://127.0.0.1:$(( 20000 + RANDOM % 20000 ))"
  client=("$bench_build/client/phclient" --coordinator "$ep")
}

# bench_coord LOG ARGS...: phcoord bound to ep with ARGS, its log in LOG,
# its pid in coord; returns once it answers a ping.
bench_coord() {
  local log=$1
  shift
  "$bench_build/coordinator/phcoord" --bind "$ep" "$@" 2>"$log" &
  coord=$!
  bench_pids+=("$coord")
  for _ in $(seq 200); do
    "${client[@]}" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "$bench_name: phcoord did not come up" >&2
  exit 1
}

# bench_workers N: N `phworker --threads 1` on ep, their pids in wpids,
# their logs appended to WORK/workers.log.
bench_workers() {
  local i
  wpids=()
  for ((i = 0; i < $1; i++)); do
    "$bench_build/worker/phworker" --coordinator "$ep" --threads 1 \
      2>>"$bench_work/workers.log" &
    wpids+=($!)
    bench_pids+=($!)
  done
}

# The median of the numbers on stdin, one a line (the mean of the middle
# two for an even count).
bench_median() {
  sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'
}

# bench_column FILE LABEL N: field N of FILE's lines whose first is LABEL,
# in ascending order (one a line).
bench_column() {
  awk -v k="$2" -v n="$3" '$1 == k { print $n }' "$1" | sort -g
}
