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

# bench_keys PATH N [BITS]: N unique keys of BITS (32, default, or 64) bits,
# little-endian, in scrambled order, seeded by N (the same file for the
# same N).  A bijection of 0..N-1 (bench_scramble of bench/bench_int.h for
# 32 bits, an invertible 64-bit mix for 64), so no set of keys seen is kept:
# 100M keys take a second and no memory, where sampling in Python took
# minutes and 13 GB.  The generator is compiled once beside PATH.
bench_keys() {
  local dir gen
  dir=$(dirname "$1")
  gen=$dir/.bench-keys-gen
  if [[ ! -x $gen ]]; then
    ${CC:-cc} -std=c11 -O2 -I"$(dirname "${BASH_SOURCE[0]}")/../bench" -o "$gen" -x c - <<'C' \
      || { echo "bench_keys: cannot compile the key generator" >&2; return 1; }
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "bench_int.h"

/* Each step is invertible on 64-bit words, so distinct i give distinct keys. */
static uint64_t scramble64(uint64_t x, uint64_t salt)
{
    x ^= salt;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    return x ^ x >> 29;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    FILE *f = fopen(argv[1], "wb");
    uint64_t n = strtoull(argv[2], NULL, 10);
    int wide = atoi(argv[3]) == 64;
    static unsigned char buf[1 << 16];
    size_t at = 0, ks = wide ? 8 : 4;
    int ok = f != NULL;
    for (uint64_t i = 0; ok && i < n; i++) {
        uint64_t k = wide ? scramble64(i, n) : bench_scramble((uint32_t)i, (uint32_t)n);
        for (size_t b = 0; b < ks; b++)
            buf[at++] = (unsigned char)(k >> 8 * b);
        if (at == sizeof buf) {
            ok = fwrite(buf, 1, at, f) == at;
            at = 0;
        }
    }
    ok = ok && fwrite(buf, 1, at, f) == at;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "bench_keys: %s: cannot write\n", argv[1]);
        return 1;
    }
    return 0;
}
C
  fi
  "$gen" "$1" "$2" "${3:-32}"
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
# port, ep, and client, the phclient command that talks to it.  The port
# is below the kernel's ephemeral range (ip_local_port_range), which every
# connection and bind to port 0 on the machine draws from: one picked
# there could be taken before phcoord binds it, or between a coordinator's
# stop and its restart on the same endpoint.
bench_cluster() {
  bench_build=$1
  local exe
  for exe in bench/bench_part client/phclient coordinator/phcoord worker/phworker; do
    [[ -x $bench_build/$exe ]] || { echo "$bench_name: $bench_build/$exe not built" >&2; exit 1; }
  done
  bench_scratch "$2"
  local eph_lo
  eph_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [[ $eph_lo -gt 11000 ]] || eph_lo=11000
  ep="tcp://127.0.0.1:$(( 10000 + (RANDOM * 32768 + RANDOM) % (eph_lo - 10000) ))"
  client=("$bench_build/client/phclient" --coordinator "$ep")
}

# bench_coord LOG ARGS...: phcoord bound to ep with ARGS, its log in LOG,
# its pid in coord; returns once it has bound (its endpoint file is
# written) and answers a ping: a ping alone may be answered by whatever
# else holds the port.  If it exits first, the benchmark stops with its log.
bench_coord() {
  local log=$1 epf=$bench_work/coord.endpoint
  shift
  rm -f "$epf"
  "$bench_build/coordinator/phcoord" --bind "$ep" --endpoint-file "$epf" "$@" 2>"$log" &
  coord=$!
  bench_pids+=("$coord")
  for _ in $(seq 1200); do
    if ! kill -0 "$coord" 2>/dev/null; then
      echo "$bench_name: phcoord on $ep exited before answering a ping: $(tail -n 1 "$log")" >&2
      exit 1
    fi
    [[ -s $epf ]] && "${client[@]}" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "$bench_name: phcoord on $ep answered no ping" >&2
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
