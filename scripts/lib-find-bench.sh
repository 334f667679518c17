#!/usr/bin/env bash
# Library lookups against generated code: for each size, random 32-bit
# keys (seeded by the size), `phclient create --local --emit c,bin`, then
# bench/bench_lib_vs_gen.c compiled -O2 (as the generated CMakeLists
# compiles) with the generated NAME.c and linked with libphcluster.so: in
# one process, rounds alternating between the two paths, NAME_index and
# phc_table_index, NAME_find and phc_table_find (on the table loaded from
# NAME.phc) over the members in file order and over member + 1 misses; the
# best round of each and the lib/gen ratios (thread CPU time).  Twice: with
# libphcluster.so (a call through the PLT) and with libphcluster.a.
#
#   scripts/lib-find-bench.sh [SIZES...]     default: 1000 10000 100000 1000000
#
# Environment: PH_BENCH_BUILD (default <repo>/build-bench), PH_FIND_ROUNDS (31).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${PH_BENCH_BUILD:-$repo/build-bench}
rounds=${PH_FIND_ROUNDS:-31}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000 1000000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "=== machine ==="
echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
echo "nproc: $(nproc)"
echo "compiler: $(${CC:-cc} --version | head -n1)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target phclient phcluster phcluster_static >/dev/null
libdir=$build/lib

for n in "${sizes[@]}"; do
  name=lib-$n
  python3 - "$work/$name.keys" "$n" <<'PY'
import random, struct, sys
path, n = sys.argv[1], int(sys.argv[2])
keys = random.Random(n).sample(range(1 << 32), n)
with open(path, "wb") as f:
    f.write(struct.pack(f"<{n}I", *keys))
PY
  "$build/client/phclient" create "$work/$name.keys" -o "$work/out" --local --emit c,bin \
      --partition off >/dev/null
  sym=lib_$n
  cc_bench() {
    ${CC:-cc} -std=c11 -O2 -DGEN_SYM="$sym" -DGEN_HEADER="\"$name.h\"" -I"$work/out/$name" \
        -I"$repo/lib/include" "$repo/bench/bench_lib_vs_gen.c" "$work/out/$name/$name.c" "$@"
  }
  cc_bench -L"$libdir" -lphcluster -Wl,-rpath,"$libdir" -o "$work/bench-so-$n"
  cc_bench "$libdir/libphcluster.a" -pthread -o "$work/bench-a-$n"
  echo "--- $n keys, load average $(cut -d' ' -f1 /proc/loadavg)"
  echo -n "shared: "; "$work/bench-so-$n" "$work/$name.keys" "$work/out/$name/$name.phc" "$rounds"
  echo -n "static: "; "$work/bench-a-$n" "$work/$name.keys" "$work/out/$name/$name.phc" "$rounds"
  rm -rf "$work/out/$name" "$work/bench-so-$n" "$work/bench-a-$n"
done
