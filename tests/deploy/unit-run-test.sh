#!/bin/sh
# unit-run-test.sh DEPLOY_DIR phcoord=BIN phworker=BIN phclient=BIN
# Runs the units' ExecStart command lines for real, without systemd: the
# variables come from the example deploy/phcluster.conf (as EnvironmentFile=
# would give them), the instance %i is 0, the programs are the built ones.
# Only the socket's directory changes (the unit's /run/phcluster becomes a
# directory of this test, so parallel tests do not collide; phcoord makes it
# 0700 as the unit's RuntimeDirectory is).  Then phclient pings, sees the
# worker in `status --json`
# and builds one table through it, and `shutdown` stops the coordinator.
set -eu
deploy=$1
shift
for a in "$@"; do
    case "$a" in
    phcoord=?*) coord=${a#phcoord=} ;;
    phworker=?*) worker=${a#phworker=} ;;
    phclient=?*) client=${a#phclient=} ;;
    esac
done
if [ -z "${coord:-}" ] || [ -z "${worker:-}" ] || [ -z "${client:-}" ]; then
    echo "unit-run-test: SKIP: phcoord, phworker and phclient are not all built"
    exit 77
fi
fail() {
    echo "unit-run-test: FAIL: $*" >&2
    for f in "$tmp"/*.log; do echo "----- $f" >&2; tail -n 15 "$f" >&2; done
    exit 1
}
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
# On a loaded machine the coordinator may take longer than phclient's
# default 2 s to answer; the waits below end on the event, their 120 s only
# catch a hang.
PHCLUSTER_REACH_MS=60000
export PHCLUSTER_REACH_MS

# ExecStart without the program path, %i filled in.
cmdline() { sed -n 's/^ExecStart=[^ ]* //p' "$deploy/systemd/$1" | sed 's/%i/0/g'; }

# The example config, as systemd would read it (KEY=value, no expansion).
set -a
# shellcheck disable=SC1091
. "$deploy/phcluster.conf"
set +a
# shellcheck disable=SC2034  # used by the eval of the unit's ExecStart
case $PHCOORD_BIND in
ipc:///run/phcluster/*) PHCOORD_BIND="ipc://$tmp/run/${PHCOORD_BIND##*/}" ;;
*) fail "the example config binds $PHCOORD_BIND, not the unit's /run/phcluster socket" ;;
esac
# shellcheck disable=SC2034  # likewise
PHCOORD_STATE_DIR=$tmp/state
PHCOORD_ARGS="$PHCOORD_ARGS --endpoint-file $tmp/ep --allow-root $tmp"
PH_LOG_SYSLOG_PREFIX=1 # as the units set it
export PH_LOG_SYSLOG_PREFIX

eval "set -- $(cmdline phcoord.service)"
"$coord" "$@" 2>"$tmp/coord.log" &
coord_pid=$!
pids="$pids $coord_pid"
waited=0
until [ -s "$tmp/ep" ]; do
    kill -0 "$coord_pid" 2>/dev/null || fail "phcoord (unit command line: $*) exited"
    [ $waited -lt 1200 ] || fail "phcoord (unit command line: $*) wrote no endpoint file in 120 s"
    sleep 0.1
    waited=$((waited + 1))
done
[ "$(stat -c %a "$tmp/run")" = 700 ] || fail "the socket's directory $tmp/run is not 0700"
PHCLUSTER_COORDINATOR=$(cat "$tmp/ep")
export PHCLUSTER_COORDINATOR

eval "set -- $(cmdline phworker@.service)"
"$worker" "$@" 2>"$tmp/worker.log" &
pids="$pids $!"

"$client" ping >/dev/null 2>"$tmp/client.log" || fail "phclient ping"
n=0
waited=0
while [ $waited -lt 1200 ]; do
    n=$("$client" status --json 2>>"$tmp/client.log" | grep -o '"numa_node":0' | wc -l) || n=0
    [ "$n" -ge 1 ] && break
    sleep 0.1
    waited=$((waited + 1))
done
[ "$n" -ge 1 ] || fail "the worker started from phworker@0's command line did not register"

# One table through the coordinator and the worker.
mkdir "$tmp/keys"
i=1
# shellcheck disable=SC2059  # the format is built to be one key's 4 bytes
while [ $i -le 100 ]; do printf "\\$(printf %o $((i % 200 + 32)))\\000\\000\\$(printf %o $((i / 200 + 1)))"; i=$((i + 1)); done \
    >"$tmp/keys/small.keys"
"$client" bulk-create "$tmp/keys" -o "$tmp/out" >/dev/null 2>>"$tmp/client.log" ||
    fail "bulk-create through the unit-started cluster"
grep -q "^small.keys,100,.*,ok$" "$tmp/out/results.csv" || fail "results.csv: no ok row for 100 keys"

# Journald form: "<N>level=..." lines (the units set PH_LOG_SYSLOG_PREFIX=1).
grep -q '^<[0-9]>.*level=info component=coord' "$tmp/coord.log" ||
    fail "coordinator log lines lack the <N> prefix or level=/component= fields"
"$client" shutdown >/dev/null 2>>"$tmp/client.log" || fail "phclient shutdown"
echo "unit-run-test: ok"
