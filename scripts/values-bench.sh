#!/usr/bin/env bash
# Values: the library's phc_table_increment and phc_table_lookup against a
# generated table's NAME_increment and NAME_lookup (and phc_table_find
# against NAME_find, what a lookup adds to its find).  For each size, random
# 32-bit keys (seeded by the size), `phclient create --local --values 8
# --emit c,bin` (one graph, then partitioned for sizes from 2^20), then
# bench/bench_values.c compiled -O2 with the generated NAME.c (and
# NAME_data.S) and linked with libphcluster.so: in one process, rounds
# alternating between the two paths over the keys in file order; the best
# round of each and the lib/gen ratios (thread CPU time).
#
#   scripts/values-bench.sh [SIZES...]      default: 1000 100000 1000000
#
# Environment: PH_BENCH_BUILD (default <repo>/build-bench), PH_VALUES_ROUNDS (15).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${PH_BENCH_BUILD:-$repo/build-bench}
rounds=${PH_VALUES_ROUNDS:-15}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 100000 1000000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

. "$repo/scripts/bench-common.sh"
bench_machine

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target phclient phcluster >/dev/null
libdir=$build/lib

for n in "${sizes[@]}"; do
  name=val-$n
  bench_keys "$work/$name.keys" "$n"
  modes=(off)
  [ "$n" -ge 1048576 ] && modes+=(auto)
  for mode in "${modes[@]}"; do
    rm -rf "$work/out"
    "$build/client/phclient" create "$work/$name.keys" -o "$work/out" --local --emit c,bin \
        --values 8 --partition "$mode" >/dev/null
    dir=$work/out/$name
    srcs=("$dir/$name.c")
    [ -f "$dir/${name}_data.S" ] && srcs+=("-Wa,-I$dir" "$dir/${name}_data.S")
    ${CC:-cc} -std=c11 -O2 -DGEN_SYM="val_$n" -DGEN_HEADER="\"$name.h\"" -I"$dir" \
        -I"$repo/lib/include" "$repo/bench/bench_values.c" "${srcs[@]}" \
        -L"$libdir" -lphcluster -Wl,-rpath,"$libdir" -o "$work/bench"
    echo "--- $n keys, partition $mode, load average $(cut -d' ' -f1 /proc/loadavg)"
    "$work/bench" "$work/$name.keys" "$dir/$name.phc" "$rounds"
  done
done
