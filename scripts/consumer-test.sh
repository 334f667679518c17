#!/usr/bin/env bash
# consumer-test.sh - libphcluster as an installed library, from outside the
# tree: stage `cmake --install --component lib` into a temporary prefix,
# configure examples/consumer against it with find_package(phcluster),
# build it and run its own ctest (shared and static library), then compile
# the same program once with `pkg-config --cflags --libs phcluster` and
# run it.  Only the two library targets are built.
#   scripts/consumer-test.sh [BUILD_DIR]   (default build-consumer-lib;
#                                            test.sh passes its release tree)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-$root/build-consumer-lib}
say() { echo "consumer-test: $*"; }
fail() { echo "consumer-test: FAIL: $*" >&2; exit 1; }

for c in cmake ctest pkg-config cc; do
    command -v "$c" >/dev/null || fail "'$c' not found"
done
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
        -DPH_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j"${PH_JOBS:-2}" --target phcluster phcluster_static >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/phconsumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" --component lib >"$tmp/install.log" ||
    { cat "$tmp/install.log" >&2; fail "cmake --install --component lib"; }
libdir=$(dirname "$(find "$prefix" -name libphcluster.so -print -quit)")
[ -n "$libdir" ] && [ -f "$prefix/include/phcluster.h" ] && [ -f "$libdir/libphcluster.a" ] &&
    [ -f "$libdir/pkgconfig/phcluster.pc" ] &&
    [ -f "$libdir/cmake/phcluster/phclusterConfig.cmake" ] ||
    fail "the staged install lacks the header, a library, phcluster.pc or the CMake package"
say "staged $(find "$prefix" -type f | wc -l) files in $prefix"

# find_package + the example's own ctest.
cmake -S examples/consumer -B "$tmp/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release >"$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log" >&2; fail "configuring examples/consumer"; }
cmake --build "$tmp/build" -j"${PH_JOBS:-2}" >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; fail "building examples/consumer"; }
ctest --test-dir "$tmp/build" --output-on-failure >"$tmp/ctest.log" 2>&1 ||
    { cat "$tmp/ctest.log" >&2; fail "the example's ctest"; }
say "find_package: $(grep -c ' Passed' "$tmp/ctest.log") example tests passed"

# pkg-config, once.
flags=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs phcluster)
# shellcheck disable=SC2086
cc -std=c11 -O2 examples/consumer/consumer.c $flags -o "$tmp/consumer-pc" ||
    fail "cc consumer.c \$(pkg-config --cflags --libs phcluster) ($flags)"
out=$(LD_LIBRARY_PATH=$libdir "$tmp/consumer-pc" "$tmp/pc" 200000) ||
    fail "the pkg-config build failed: $out"
say "pkg-config ($flags): $out"
say "PASS"
