#!/bin/sh
# slurm-shim-test.sh SBATCH phcoord=BIN phworker=BIN phclient=BIN
# Runs deploy/slurm/phcluster.sbatch on this machine as a one-node Slurm
# allocation: a stand-in `srun` starts --ntasks-per-node copies of its
# command locally with SLURM_LOCALID=0..n-1 (what real srun does on each
# node).  Proves the script's own logic and the program flags it uses with
# the real programs; it says nothing about Slurm itself.
set -eu
sbatch=$1
shift
bindir=""
for a in "$@"; do
    case "$a" in
    phcoord=?* | phworker=?* | phclient=?*) ;;
    *) continue ;;
    esac
    prog=${a%%=*}
    bin=${a#*=}
    [ -n "$bindir" ] || bindir=$(mktemp -d)
    ln -s "$bin" "$bindir/$prog"
done
if [ -z "$bindir" ] || [ ! -e "$bindir/phcoord" ] || [ ! -e "$bindir/phworker" ] ||
    [ ! -e "$bindir/phclient" ]; then
    echo "slurm-shim-test: SKIP: phcoord, phworker and phclient are not all built"
    exit 77
fi
tmp=$(mktemp -d)
holder=""
trap '[ -z "$holder" ] || kill "$holder" 2>/dev/null; rm -rf "$tmp" "$bindir"' EXIT
fail() { echo "slurm-shim-test: FAIL: $*" >&2; cat "$tmp/job.out" >&2 || true; exit 1; }

cat >"$bindir/srun" <<'EOF'
#!/bin/sh
# Stand-in srun: one node; --ntasks-per-node=N copies of the command.
n=1
while [ $# -gt 0 ]; do
    case "$1" in
    --ntasks-per-node=*) n=${1#*=} ;;
    --*) ;;
    *) break ;;
    esac
    shift
done
# Like srun, pass a TERM on to the tasks (the batch script's cleanup sends
# one; workers themselves keep reconnecting to a stopped coordinator).
pids=""
trap 'kill $pids 2>/dev/null; wait; exit 0' TERM
i=0
while [ $i -lt "$n" ]; do
    SLURM_LOCALID=$i "$@" &
    pids="$pids $!"
    i=$((i + 1))
done
wait
EOF
chmod +x "$bindir/srun"

mkdir "$tmp/keys"
# Three small files of distinct little-endian keys.
for f in a b c; do
    i=1
    # shellcheck disable=SC2059  # the format is built to be one key's 4 bytes
    while [ $i -le 50 ]; do printf "\\$(printf %o $((i + 40)))\\000\\000\\001"; i=$((i + 1)); done \
        >"$tmp/keys/$f.keys"
done
# The port the job binds comes from below the kernel's ephemeral range
# (ip_local_port_range): ports in that range go to every outgoing
# connection and every bind to port 0 of the tests running beside this one,
# so one picked there can be taken before phcoord binds it.  Above 10000,
# clear of the usual services' ports.
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range || eph_lo=32768 eph_hi=60999
pick_port() {
    r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    if [ "$eph_lo" -gt 11000 ]; then
        echo $((10000 + r % (eph_lo - 10000)))
    else
        echo $((eph_hi + 1 + r % (65535 - eph_hi)))
    fi
}

# run_job PORT: the batch script on PORT, its output in $tmp/job.out, its
# exit code in $rc.  The reach is long: on a loaded machine a coordinator
# may take more than phclient's default 2 s to answer.  timeout only catches
# a hang.
run_job() {
    rm -rf "$tmp/out"
    rc=0
    PATH=$bindir:$PATH SLURM_JOB_NUM_NODES=1 PHCLUSTER_COORD_HOST=127.0.0.1 \
        PHCLUSTER_PORT=$1 PHCLUSTER_REACH_MS=60000 \
        timeout 60 bash "$sbatch" "$tmp/keys" "$tmp/out" >"$tmp/job.out" 2>&1 || rc=$?
}

# Another process may still take the picked port first: then, and only
# then (phcoord's own bind error for that port), the job runs again on
# another one.
port_lost() {
    [ "$rc" -ne 0 ] &&
        grep -q "^phcoord: --bind tcp://127.0.0.1:$port: Address already in use" "$tmp/job.out"
}
tries=1
while :; do
    port=$(pick_port)
    run_job "$port"
    if [ $tries -ge 5 ] || ! port_lost; then
        break
    fi
    echo "slurm-shim-test: port $port was taken before phcoord bound it; another"
    tries=$((tries + 1))
done
[ "$rc" -eq 0 ] || fail "sbatch script exited $rc"
[ "$(grep -c ',ok$' "$tmp/out/results.csv")" -eq 3 ] || fail "results.csv lacks 3 ok rows"
grep -q 'bulk-create exited 0' "$tmp/job.out" || fail "no final line"
# The script's cleanup must leave no worker behind: it waits for srun, which
# forwards the TERM and waits for its tasks, so none may be left now.
if pgrep -f "phworker --coordinator tcp://127.0.0.1:$port" >/dev/null; then
    fail "workers still running after the batch script ended"
fi
sed "s/^/slurm-shim-test: job: /" "$tmp/job.out"

# A port already held (by another coordinator, on a port the kernel chose
# free): the script must fail at once with one line naming the endpoint,
# start no worker, and leave the holder alone (the ping it answers is not
# taken for our coordinator's, nor is it sent a shutdown).
"$bindir/phcoord" --bind 'tcp://127.0.0.1:*' --endpoint-file "$tmp/holder.ep" \
    >"$tmp/holder.log" 2>&1 &
holder=$!
waited=0
until [ -s "$tmp/holder.ep" ]; do
    kill -0 "$holder" 2>/dev/null || { cat "$tmp/holder.log" >&2; fail "holder phcoord exited"; }
    [ $waited -lt 1200 ] || fail "holder phcoord wrote no endpoint in 120 s"
    sleep 0.1
    waited=$((waited + 1))
done
held=$(cat "$tmp/holder.ep")
held=${held##*:}
run_job "$held"
[ "$rc" -ne 0 ] || fail "sbatch script succeeded on a port another coordinator holds"
[ "$rc" -ne 124 ] || fail "sbatch script hung on a port another coordinator holds"
grep -qx "phcluster: phcoord on tcp://127.0.0.1:$held exited ([1-9][0-9]*) before answering a ping; its error is above" \
    "$tmp/job.out" || fail "no one-line error naming tcp://127.0.0.1:$held"
! grep -q 'bulk-create exited' "$tmp/job.out" || fail "the job ran on a port another coordinator holds"
[ ! -e "$tmp/out/results.csv" ] || fail "results.csv written on a port another coordinator holds"
kill -0 "$holder" 2>/dev/null || fail "the batch script stopped the coordinator holding its port"
sed "s/^/slurm-shim-test: taken port: /" "$tmp/job.out"
echo "slurm-shim-test: ok"
