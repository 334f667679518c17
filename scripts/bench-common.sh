# bench-common.sh - sourced by the benchmarks: the machine header and key
# files of the lookup benchmarks (find-bench.sh, values-bench.sh), the CPU
# time of processes for the cluster ones (big-cluster-bench.sh,
# part-resume-bench.sh).

# The machine, compiler, load and time, as every benchmark prints them.
bench_machine() {
  echo "=== machine ==="
  echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
  echo "nproc: $(nproc)"
  echo "compiler: $(${CC:-cc} --version | head -n1)"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
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
