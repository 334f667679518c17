#!/usr/bin/env bash
# Lookup speed of generated tables: NAME_index, NAME_find on members and
# NAME_find on non-members, as the generated NAME_bench measures them (best of
# ROUNDS rounds, keys in file order, so the table stays in cache for small
# sets).  Random 32-bit keys are generated per size; each table goes through
# `phclient create --local` and its own CMakeLists (Release).
#
#   scripts/find-bench.sh [SIZES...]        default: 1000 10000 100000
#
# Environment:
#   PH_BENCH_BUILD   phcluster build directory (default: <repo>/build-bench)
#   PH_FIND_ROUNDS   rounds per table (default: 15)
#   PH_FIND_HASH     --hash for the tables (default: auto)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${PH_BENCH_BUILD:-$repo/build-bench}
rounds=${PH_FIND_ROUNDS:-15}
hash=${PH_FIND_HASH:-auto}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "=== machine ==="
echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
echo "nproc: $(nproc)"
echo "compiler: $(${CC:-cc} --version | head -n1)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target phclient >/dev/null
phclient=$build/client/phclient

for n in "${sizes[@]}"; do
  name=find-$n
  python3 - "$work/$name.keys" "$n" <<'PY'
import random, struct, sys
path, n = sys.argv[1], int(sys.argv[2])
keys = random.Random(n).sample(range(1 << 32), n)
with open(path, "wb") as f:
    f.write(struct.pack(f"<{n}I", *keys))
PY
  "$phclient" create "$work/$name.keys" -o "$work/out" --local --hash "$hash" >/dev/null
  cmake -S "$work/out/$name" -B "$work/b-$n" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/b-$n" -j2 >/dev/null
  "$work/b-$n/${name}_test" | tail -n 2
  "$work/b-$n/${name}_bench" "$rounds"
done
