#!/bin/sh
# enable-workers-test.sh SCRIPT - phcluster-enable-workers --dry-run prints
# one systemctl command per NUMA node with CPUs, from hwloc or from sysfs.
set -eu
s=$1
fail() { echo "enable-workers-test: FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# sysfs fallback on a fake tree: node1 is memory-only, numbering has a gap.
mkdir -p "$tmp/nodes/node0" "$tmp/nodes/node1" "$tmp/nodes/node3"
echo 0-3 >"$tmp/nodes/node0/cpulist"
echo >"$tmp/nodes/node1/cpulist"
echo 4-7 >"$tmp/nodes/node3/cpulist"
got=$(PHCLUSTER_NO_HWLOC=1 PHCLUSTER_SYSFS_NODES=$tmp/nodes sh "$s" --dry-run)
want="systemctl enable --now phworker@0.service
systemctl enable --now phworker@3.service"
[ "$got" = "$want" ] || fail "sysfs: got [$got] want [$want]"

# No NUMA information at all: a single worker for node 0.
mkdir -p "$tmp/empty"
got=$(PHCLUSTER_NO_HWLOC=1 PHCLUSTER_SYSFS_NODES=$tmp/empty sh "$s" --dry-run --disable)
[ "$got" = "systemctl disable --now phworker@0.service" ] || fail "no-NUMA: got [$got]"

# Unknown flags are refused with status 2.
rc=0
sh "$s" --frobnicate >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "unknown flag: exit $rc, want 2"

if command -v hwloc-calc >/dev/null 2>&1; then
    got=$(sh "$s" --dry-run --topology "pack:2 numa:2 core:1 pu:1")
    want="systemctl enable --now phworker@0.service
systemctl enable --now phworker@1.service
systemctl enable --now phworker@2.service
systemctl enable --now phworker@3.service"
    [ "$got" = "$want" ] || fail "hwloc synthetic: got [$got] want [$want]"
    # This machine: one line per node, each a unit name.
    sh "$s" --dry-run | grep -qx 'systemctl enable --now phworker@[0-9]*\.service' ||
        fail "this machine: no unit printed"
else
    echo "enable-workers-test: hwloc-calc not installed, hwloc cases skipped"
fi
echo "enable-workers-test: ok"
