#!/usr/bin/env bash
# The main job on an embedded local cluster: bulk-create a table for every
# *.keys file of a directory with `phclient bulk-create --local` (an
# in-process coordinator and one worker per NUMA node).
#   scripts/run-local.sh [KEYS_DIR] [OUT_DIR]
# KEYS_DIR defaults to ../shared/keys/sys32 when present, else a generated
# demo set (500 files) under out/demo-keys.
set -euo pipefail
cd "$(dirname "$0")/.."
keys=${1:-}
out=${2:-out/tables}
if [ -z "$keys" ]; then
  if [ -d ../shared/keys/sys32 ]; then
    keys=../shared/keys/sys32
  else
    keys=out/demo-keys
    [ -d "$keys" ] || python3 scripts/gen-keys.py "$keys" 500 5000 1
  fi
fi
echo "run-local: $keys -> $out"
exec build/client/phclient bulk-create "$keys" -o "$out" --local
