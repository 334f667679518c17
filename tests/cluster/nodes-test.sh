#!/usr/bin/env bash
# nodes-test.sh PHCOORD PHWORKER PHCLIENT
# phworker --nodes LIST serves exactly the listed NUMA nodes (one supervised
# process each), on a synthetic 4-node topology; a node that does not exist
# is refused.
set -euo pipefail
coord=$1 worker=$2 client=$3
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "nodes-test: FAIL: $*" >&2; exit 1; }
# On a loaded machine the coordinator may take longer than phclient's
# default 2 s to answer; the waits below end on the event, their 120 s only
# catch a hang.
export PHCLUSTER_REACH_MS=60000

cd "$tmp"
"$coord" --bind 'tcp://127.0.0.1:*' --endpoint-file "$tmp/ep" 2>"$tmp/coord.log" &
coord_pid=$!
pids+=("$coord_pid")
end=$((SECONDS + 120))
until [ -s "$tmp/ep" ]; do
    kill -0 "$coord_pid" 2>/dev/null || fail "phcoord exited: $(cat "$tmp/coord.log")"
    [ $SECONDS -lt $end ] || fail "phcoord wrote no endpoint file in 120 s"
    sleep 0.05
done
ep=$(cat "$tmp/ep")
topo="pack:4 numa:1 core:1 pu:1"

"$worker" --coordinator "$ep" --nodes 1,3 --topology "$topo" 2>"$tmp/worker.log" &
pids+=($!)
status=""
end=$((SECONDS + 120))
while [ $SECONDS -lt $end ]; do
    status=$("$client" --coordinator "$ep" status --json) || status=""
    [ "$(grep -o '"numa_node":' <<<"$status" | wc -l)" -ge 2 ] && break
    sleep 0.05
done
grep -q '"numa_node":1,' <<<"$status" || fail "node 1 not served: $status"
grep -q '"numa_node":3,' <<<"$status" || fail "node 3 not served: $status"
grep -q '"numa_node":0,' <<<"$status" && fail "node 0 served but not listed: $status"
grep -q '"numa_node":2,' <<<"$status" && fail "node 2 served but not listed: $status"
[ "$(grep -o '"numa_node":' <<<"$status" | wc -l)" -eq 2 ] || fail "expected 2 workers: $status"

if "$worker" --coordinator "$ep" --nodes 7 --topology "$topo" 2>"$tmp/bad.log"; then
    fail "--nodes 7 on a 4-node topology was accepted"
fi
grep -q "none of the listed NUMA nodes" "$tmp/bad.log" || fail "no clear error: $(cat "$tmp/bad.log")"
echo "nodes-test: PASS"
