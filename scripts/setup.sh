#!/usr/bin/env bash
# One step from a fresh clone to built binaries in ./build (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/client/phclient build/coordinator/phcoord build/worker/phworker"
