#!/usr/bin/env bash
# Lookup speed of tables, generated and through libphcluster.
#
#   scripts/find-bench.sh [SIZES...]          generated code (default 1000 10000 100000)
#   scripts/find-bench.sh --lib [SPECS...]    the library against generated code
#
# Generated code: per size, random 32-bit keys (seeded by the size) through
# `phclient create --local` and the table's own CMakeLists (Release), then
# its NAME_test and NAME_bench (NAME_index, NAME_find on members and on
# non-members; best of ROUNDS, keys in file order).
#
# --lib: per SPEC, SIZE[:64][:part] (64-bit keys; a partitioned table of
# buckets of 4096 keys, else one graph), random keys seeded by the size,
# `phclient create --local --emit c,bin`, then bench/bench_lib_vs_gen.c
# compiled -O2 with the generated sources, once linked with
# libphcluster.so and once with libphcluster.a: in one process, rounds
# alternating between the two paths, the generated NAME_index / NAME_find
# against phc_table_index / phc_table_find / phc_table_find_batch on the
# table loaded from NAME.phc; medians and lib/gen ratios (thread CPU time).
# Default specs: 1000, 100000 and 1000000 keys, 32- and 64-bit, one graph,
# and 20000 (in cache) and 1000000 keys partitioned, 32- and 64-bit.
#
# Environment: PH_BENCH_BUILD (default <repo>/build-bench), PH_FIND_ROUNDS
# (15; --lib 31), PH_FIND_HASH (--hash of generated-code tables, auto),
# PH_FIND_LIB_BASE (--lib: a directory with another libphcluster.so, e.g.
# an older build's lib/; the shared binary then also runs against it,
# alternating base / this tree twice, for an A/B in one run; the table
# layout and phcluster.h must be the same in both).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${PH_BENCH_BUILD:-$repo/build-bench}
lib=0
if [ "${1:-}" = --lib ]; then
  lib=1
  shift
fi
rounds=${PH_FIND_ROUNDS:-$([ $lib = 1 ] && echo 31 || echo 15)}
hash=${PH_FIND_HASH:-auto}
specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
  if [ $lib = 1 ]; then
    specs=(1000 1000:64 20000:part 20000:64:part 100000 100000:64 1000000 1000000:64
           1000000:part 1000000:64:part)
  else
    specs=(1000 10000 100000)
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

. "$repo/scripts/bench-common.sh"
bench_machine

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target phclient phcluster phcluster_static >/dev/null
phclient=$build/client/phclient
libdir=$build/lib

# Generated code alone, through the table's own CMake project.
gen_bench() {
  local n=$1 name=find-$1
  bench_keys "$work/$name.keys" "$n"
  "$phclient" create "$work/$name.keys" -o "$work/out" --local --hash "$hash" >/dev/null
  cmake -S "$work/out/$name" -B "$work/b-$n" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/b-$n" -j2 >/dev/null
  "$work/b-$n/${name}_test" | tail -n 2
  "$work/b-$n/${name}_bench" "$rounds"
}

# The library against the generated code of the same table.
lib_bench() {
  local spec=$1 n=${1%%:*} bits=32 part=off suffix=""
  case $spec in *:64*) bits=64; suffix=_64 ;; esac
  case $spec in *:part*) part=4096; suffix=${suffix}_part ;; esac
  local name=lib-$n$suffix sym
  local keyfile=$work/$name.keys out=$work/out/$name
  bench_keys "$keyfile" "$n" "$bits"
  "$phclient" create "$keyfile" -o "$work/out" --local --emit c,bin --partition "$part" \
      --key-size $((bits / 8)) >/dev/null
  local hdr=$name.h srcs=()
  sym=$(sed -n 's/^#define \(.*\)_KEY_BITS .*/\1/p' "$out/$hdr")
  for f in "$out"/*.c "$out"/*.S; do
    case $f in *_test.c|*_bench.c|*'*'*) ;; *) srcs+=("$f") ;; esac
  done
  local has_find=()
  grep -q "${sym}_find(" "$out/$hdr" && has_find=(-DGEN_HAS_FIND)
  cc_bench() {
    ${CC:-cc} -std=c11 -O2 -DGEN_SYM="$sym" -DGEN_HEADER="\"$hdr\"" "${has_find[@]}" \
        -I"$out" -I"$repo/lib/include" -Wa,-I"$out" "$repo/bench/bench_lib_vs_gen.c" \
        "${srcs[@]}" "$@"
  }
  cc_bench -L"$libdir" -lphcluster -Wl,-rpath,"$libdir" -o "$work/bench-so"
  cc_bench "$libdir/libphcluster.a" -pthread -o "$work/bench-a"
  echo "--- $n keys, $bits-bit, partition $part, load average $(cut -d' ' -f1 /proc/loadavg)"
  if [ -n "${PH_FIND_LIB_BASE:-}" ]; then
    local r
    for r in 1 2; do
      echo -n "base $r: "
      LD_LIBRARY_PATH=$PH_FIND_LIB_BASE "$work/bench-so" "$keyfile" "$out/$name.phc" "$rounds"
      echo -n "shared $r: "; "$work/bench-so" "$keyfile" "$out/$name.phc" "$rounds"
    done
  else
    echo -n "shared: "; "$work/bench-so" "$keyfile" "$out/$name.phc" "$rounds"
  fi
  echo -n "static: "; "$work/bench-a" "$keyfile" "$out/$name.phc" "$rounds"
  rm -rf "$out" "$work/bench-so" "$work/bench-a" "$keyfile"
}

for spec in "${specs[@]}"; do
  if [ $lib = 1 ]; then lib_bench "$spec"; else gen_bench "$spec"; fi
done
