#!/usr/bin/env bash
# netns-test.sh - phcluster across three "hosts" made of network namespaces.
#
#   ns C   coordinator, bridge br0 with 10.77.0.1/24, phcoord bound to it
#   ns W1  worker, 10.77.0.11, veth into br0      <- its link is cut mid-job
#   ns W2  worker, 10.77.0.12, veth into br0, and the client
#
# A bulk job over a generated directory is submitted from W2; once part of
# the tables are written, W1's link goes down.  The job must still complete
# with every file present exactly once in results.csv.  Every address lives
# inside namespaces this script creates; nothing outside them is touched.
#
# Usage: scripts/netns-test.sh [BUILD_DIR]
#   BUILD_DIR  holds coordinator/phcoord, worker/phworker, client/phclient
#              (default: build-test or build if they hold them, else a Release
#              build is made in build-netns)
# Environment:
#   PH_NETNS_FILES=N          key files to generate (default 1200)
#   PH_NETNS_COORD_ARGS=...   extra phcoord args (e.g. CURVE keys, issue 5)
#   PH_NETNS_WORKER_ARGS=...  extra phworker args
#   PH_NETNS_CLIENT_ARGS=...  extra phclient args (before the subcommand)
#   PH_NETNS_TIMEOUT=S        overall limit for the job (default 300)
# Exit: 0 pass, 1 fail, 77 skipped (namespaces not permitted here).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
say() { echo "netns-test: $*"; }
fail() { echo "netns-test: FAIL: $*" >&2; exit 1; }
skip() { echo "netns-test: SKIP: $*" >&2; exit 77; }

files=${PH_NETNS_FILES:-1200}
limit=${PH_NETNS_TIMEOUT:-300}
# Word splitting of these is intended: they hold several arguments.
read -r -a coord_args <<<"${PH_NETNS_COORD_ARGS:-}"
read -r -a worker_args <<<"${PH_NETNS_WORKER_ARGS:-}"
read -r -a client_args <<<"${PH_NETNS_CLIENT_ARGS:-}"

# ---- can we? -------------------------------------------------------------
command -v ip >/dev/null || skip "no 'ip' command (Debian: apt-get install iproute2)"
command -v python3 >/dev/null || skip "python3 is needed to generate keys"
[ "$(id -u)" -eq 0 ] || skip "needs root for 'ip netns add'"

tag="phc$$"
ns_c="$tag-c"; ns_w1="$tag-w1"; ns_w2="$tag-w2"
made_ns=()
pids=()
work=""

cleanup() {
    local p ns
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        # Give each process a moment, then insist.
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    # Deleting a namespace takes its veth ends and the bridge with it.
    for ns in "${made_ns[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    if [ -n "$work" ] && [ -z "${PH_NETNS_KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! ip netns add "$ns_c" 2>/dev/null; then
    skip "'ip netns add' is not permitted here (container without CAP_SYS_ADMIN?)"
fi
made_ns+=("$ns_c")
ip netns add "$ns_w1" && made_ns+=("$ns_w1")
ip netns add "$ns_w2" && made_ns+=("$ns_w2")

# ---- binaries ------------------------------------------------------------
has_bins() {
    [ -x "$1/coordinator/phcoord" ] && [ -x "$1/worker/phworker" ] && [ -x "$1/client/phclient" ]
}
build=${1:-}
if [ -z "$build" ]; then
    for b in build-test build; do
        if has_bins "$root/$b"; then build=$root/$b; break; fi
    done
fi
if [ -z "$build" ]; then
    build=$root/build-netns
    say "building phcoord, phworker, phclient in $build"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPH_BENCH=OFF >/dev/null
    cmake --build "$build" -j"$(nproc)" --target phcoord phworker phclient >/dev/null
fi
has_bins "$build" || fail "no phcoord/phworker/phclient under $build"
phcoord=$build/coordinator/phcoord
phworker=$build/worker/phworker
phclient=$build/client/phclient

# ---- network: br0 in C, one veth per worker ------------------------------
if ! ip -n "$ns_c" link add br0 type bridge 2>/dev/null; then
    skip "cannot create a bridge inside a namespace (no bridge module?)"
fi
ip -n "$ns_c" addr add 10.77.0.1/24 dev br0
for ns in "$ns_c" "$ns_w1" "$ns_w2"; do ip -n "$ns" link set lo up; done
i=0
for ns in "$ns_w1" "$ns_w2"; do
    i=$((i + 1))
    # Created inside C with the peer placed straight into the worker's
    # namespace: the host's own namespace never sees either end.
    ip -n "$ns_c" link add "v$i" type veth peer name eth0 netns "$ns"
    ip -n "$ns_c" link set "v$i" master br0
    ip -n "$ns_c" link set "v$i" up
    ip -n "$ns" addr add "10.77.0.1$i/24" dev eth0
    ip -n "$ns" link set eth0 up
done
ip -n "$ns_c" link set br0 up
ep=tcp://10.77.0.1:7710

# ---- keys ----------------------------------------------------------------
work=$(mktemp -d /tmp/phcluster-netns.XXXXXX)
keys=$work/keys
out=$work/out
python3 - "$keys" "$files" <<'EOF'
# Unique keys without a set: i -> (a*i + b) mod 2^32 is a bijection for odd a.
import os, random, struct, sys
d, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(77)
os.makedirs(d)
for f in range(n):
    count = rng.randint(2000, 40000)
    a, b = rng.randrange(1, 1 << 32, 2), rng.randrange(1 << 32)
    data = struct.pack(f"<{count}I", *(((a * i + b) & 0xFFFFFFFF) for i in range(count)))
    with open(os.path.join(d, f"t{f:05d}-{count}.keys"), "wb") as fh:
        fh.write(data)
EOF
say "generated $files key files in $keys"

# ---- cluster -------------------------------------------------------------
ip netns exec "$ns_c" "$phcoord" --bind "$ep" "${coord_args[@]}" 2>"$work/coord.log" &
pids+=($!)
# Wait until the coordinator answers over the bridge (from W2's side).
ok=0
for _ in $(seq 1 50); do
    if ip netns exec "$ns_w2" "$phclient" --coordinator "$ep" "${client_args[@]}" ping \
        >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.2
done
[ $ok -eq 1 ] || { cat "$work/coord.log" >&2; fail "coordinator at $ep does not answer ping"; }

ip netns exec "$ns_w1" "$phworker" --coordinator "$ep" --threads 1 "${worker_args[@]}" \
    2>"$work/w1.log" &
pids+=($!)
ip netns exec "$ns_w2" "$phworker" --coordinator "$ep" --threads 1 "${worker_args[@]}" \
    2>"$work/w2.log" &
pids+=($!)

# ---- the job, and the cut ------------------------------------------------
ip netns exec "$ns_w2" timeout "$limit" "$phclient" --coordinator "$ep" "${client_args[@]}" \
    bulk-create "$keys" -o "$out" >"$work/client.out" 2>"$work/client.err" &
client_pid=$!
pids+=("$client_pid")

# Tables appear as OUT/NAME/ directories; cut W1 once ~10% are written, so
# it holds tasks at the moment its link disappears.
threshold=$((files / 10))
cut_at=-1
for _ in $(seq 1 $((limit * 10))); do
    # OUT does not exist until the first table lands.
    n=$({ find "$out" -mindepth 1 -maxdepth 1 -type d 2>/dev/null || true; } | wc -l)
    if [ "$n" -ge "$threshold" ]; then cut_at=$n; break; fi
    kill -0 "$client_pid" 2>/dev/null || break
    sleep 0.1
done
[ "$cut_at" -ge 0 ] || fail "no progress before the cut (client: $(cat "$work/client.err"))"
[ "$cut_at" -lt "$files" ] || fail "job finished before the cut; raise PH_NETNS_FILES"
ip -n "$ns_w1" link set eth0 down
say "cut W1's link with $cut_at of $files tables written"

rc=0
wait "$client_pid" || rc=$?
if [ $rc -ne 0 ]; then
    tail -n 20 "$work/client.err" "$work/coord.log" >&2 || true
    fail "bulk-create exited $rc after the cut"
fi

# ---- checks --------------------------------------------------------------
[ -f "$out/results.csv" ] || fail "no results.csv in $out"
rows=$(($(wc -l <"$out/results.csv") - 1))
[ "$rows" -eq "$files" ] || fail "results.csv has $rows rows, expected $files"
dups=$(tail -n +2 "$out/results.csv" | cut -d, -f1 | sort | uniq -d | head -n 3)
[ -z "$dups" ] || fail "results.csv repeats: $dups"
missing=0
for k in "$keys"/*.keys; do
    name=$(basename "$k" .keys)
    for f in "$name/$name.h" "$name/$name.c"; do
        [ -s "$out/$f" ] || { missing=$((missing + 1)); echo "missing: $f" >&2; }
    done
done
[ "$missing" -eq 0 ] || fail "$missing table files missing"
partial=$(find "$out" -name '*.tmp.*' | head -n 3)
[ -z "$partial" ] || fail "temporary files left behind: $partial"
if grep -q -i 'requeue' "$work/coord.log"; then
    say "coordinator log shows requeued tasks"
fi
say "PASS: $files files, all tables written, W1 cut after $cut_at"
