#!/usr/bin/env bash
# Bounded memory and journal: coordinator RSS and --state-dir size after
# many finished jobs.
#
#   scripts/retention-bench.sh [CHECKPOINTS...]     (default: 1000 10000 100000)
#
# One phcoord (--state-dir, default retention: --keep-jobs 1000) and one
# phworker --threads 1 on loopback.  Jobs are the smallest there are: a
# `phclient create` of one 16-key file, PH_CLIENTS of them at a
# time; every create uses the same table name and output directory, so the
# disk holds one table whatever the count.  At each checkpoint (jobs
# finished, polled through `phclient status --json`) the script prints
# phcoord's VmRSS and VmHWM and the bytes in the state directory.  Figures in
# docs/BENCHMARKS.md ("Retention").  All processes started here are stopped
# on exit and the work directory removed.
#
# Environment:
#   PH_RB_BUILD   Release build directory (default <repo>/build-test)
#   PH_RB_WORK    work directory, state dir included (default a fresh
#                 ${TMPDIR:-/tmp}/ph-retention-bench.XXXXXX)
#   PH_CLIENTS    concurrent clients (default 4)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${PH_RB_BUILD:-$repo/build-test}
work=${PH_RB_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ph-retention-bench.XXXXXX")}
clients=${PH_CLIENTS:-4}
checkpoints=("$@")
[ ${#checkpoints[@]} -gt 0 ] || checkpoints=(1000 10000 100000)

cmake --build "$build" -j2 --target phclient phcoord phworker >/dev/null
. "$repo/scripts/bench-common.sh"
bench_scratch "$work"
mkdir -p "$work/state" "$work/out" "$work/bin"
# Copies: a rebuild during a long run must not swap the programs under it.
cp "$build/client/phclient" "$build/coordinator/phcoord" "$build/worker/phworker" "$work/bin/"
phclient=$work/bin/phclient
phcoord=$work/bin/phcoord
phworker=$work/bin/phworker

# 16 distinct little-endian uint32 keys.
python3 -c 'import struct,sys; sys.stdout.buffer.write(b"".join(struct.pack("<I", i * 2654435761 % 2**32) for i in range(1, 17)))' \
  >"$work/tiny.keys"

cd "$work"
"$phcoord" --bind 'tcp://127.0.0.1:*' --endpoint-file "$work/ep" --state-dir "$work/state" \
  --log-level info 2>"$work/coord.log" &
coord_pid=$!
bench_pids+=("$coord_pid")
for _ in $(seq 100); do [ -s "$work/ep" ] && break; sleep 0.05; done
ep=$(cat "$work/ep")
"$phworker" --coordinator "$ep" --threads 1 --log-level warn 2>"$work/worker.log" &
bench_pids+=("$!")

finished() {
  # Jobs finished so far: the coordinator's own count is not exposed, so
  # count tokens handed out minus those still running.
  "$phclient" --coordinator "$ep" status --json |
    python3 -c 'import json,sys; s=json.load(sys.stdin); print(sum(1 for j in s.get("jobs",[]) if j.get("state")=="running"))'
}

rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %s kB  ", $1, $2}' "/proc/$coord_pid/status"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print $2" kB"}' /proc/meminfo), $(uname -r)"
echo "state dir filesystem: $(df -T "$work" | awk 'NR==2 {print $2}')"
echo "start: $(rss)state $(du -sb "$work/state" | cut -f1) bytes"
submitted=0
start=$(date +%s)
for target in "${checkpoints[@]}"; do
  todo=$((target - submitted))
  seq "$todo" | xargs -P "$clients" -n 50 sh -c '
    for _ in "$@"; do
      "$0" --coordinator "'"$ep"'" create tiny.keys -o out >/dev/null || exit 255
    done' "$phclient"
  submitted=$target
  while [ "$(finished)" != 0 ]; do sleep 0.2; done
  sleep 1.2 # one retention pass (every second) after the last job ended
  echo "after $target jobs ($(( $(date +%s) - start )) s): $(rss)state $(du -sb "$work/state" | cut -f1) bytes"
done
echo "compactions: $(grep -c 'journal compacted' "$work/coord.log" || true)"
