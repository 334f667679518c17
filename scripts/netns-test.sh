#!/usr/bin/env bash
# netns-test.sh - phcluster across three "hosts" made of network namespaces.
#
#   ns1  coordinator: bridge br0 10.77.0.1/24, phcoord bound to 10.77.0.1;
#        phclient runs here too (paths are the coordinator's)
#   ns2  worker, 10.77.0.2 on a veth whose peer is in br0
#   ns3  worker, 10.77.0.3 likewise      <- its link is cut mid-job
#
# A bulk job over ~300 generated key files (scripts/gen-keys.py) is submitted
# in ns1; once about a third of the tables are written, ns3's eth0 goes down.
# The coordinator must notice the silent worker (--liveness-ms), requeue its
# tasks to ns2, and the job must complete with every file "ok" in results.csv
# and every table on disk.  Nothing outside the namespaces it creates (and
# its temp dir) is touched.
#
# Usage: scripts/netns-test.sh [BUILD_DIR]
#   BUILD_DIR  holds coordinator/phcoord, worker/phworker, client/phclient
#              (default: the first of build-deploy, build-test, build that
#              holds all three, else a Release build is made in build-netns)
# Environment:
#   PH_NETNS_FILES=N          key files to generate (default 300)
#   PH_NETNS_MAX_KEYS=N       largest file (default 20000 keys)
#   PH_NETNS_DELAY_MS=N       phworker --task-delay-ms, so the job lasts long
#                             enough to cut a link in the middle (default 15)
#   PH_NETNS_COORD_ARGS=...   extra phcoord args (e.g. CURVE keys)
#   PH_NETNS_WORKER_ARGS=...  extra phworker args
#   PH_NETNS_CLIENT_ARGS=...  extra phclient args (before the subcommand)
#   PH_NETNS_TIMEOUT=S        limit for the job (default 180)
#   PH_NETNS_KEEP=1           keep the work dir (logs, keys, tables)
# Exit: 0 pass, 1 fail, 77 skipped (namespaces not permitted here).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
say() { echo "netns-test: $*"; }
skip() { echo "netns-test: SKIP: $*" >&2; exit 77; }

files=${PH_NETNS_FILES:-300}
max_keys=${PH_NETNS_MAX_KEYS:-20000}
delay=${PH_NETNS_DELAY_MS:-15}
limit=${PH_NETNS_TIMEOUT:-180}
# Word splitting of these is intended: they hold several arguments.
read -r -a coord_args <<<"${PH_NETNS_COORD_ARGS:-}"
read -r -a worker_args <<<"${PH_NETNS_WORKER_ARGS:-}"
read -r -a client_args <<<"${PH_NETNS_CLIENT_ARGS:-}"

# ---- can we? -------------------------------------------------------------
command -v ip >/dev/null || skip "no 'ip' command (Debian: apt-get install iproute2)"
command -v python3 >/dev/null || skip "python3 is needed to generate keys"
[ "$(id -u)" -eq 0 ] || skip "needs root for 'ip netns add'"

tag="phc$$"
ns1="$tag-1"; ns2="$tag-2"; ns3="$tag-3"
made_ns=()
pids=()
work=""

dump_logs() {
    local f
    [ -n "$work" ] || return 0
    for f in coord.log w2.log w3.log client.out client.err; do
        [ -s "$work/$f" ] || continue
        echo "----- $f (last 25 lines)" >&2
        tail -n 25 "$work/$f" >&2
    done
}
fail() {
    echo "netns-test: FAIL: $*" >&2
    dump_logs
    exit 1
}

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
    if [ -n "$work" ]; then
        if [ -n "${PH_NETNS_KEEP:-}" ]; then say "kept $work"; else rm -rf "$work"; fi
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! ip netns add "$ns1" 2>/dev/null; then
    skip "'ip netns add' is not permitted here (container without CAP_SYS_ADMIN?)"
fi
made_ns+=("$ns1")
ip netns add "$ns2" && made_ns+=("$ns2")
ip netns add "$ns3" && made_ns+=("$ns3")

# ---- binaries ------------------------------------------------------------
has_bins() {
    [ -x "$1/coordinator/phcoord" ] && [ -x "$1/worker/phworker" ] && [ -x "$1/client/phclient" ]
}
build=${1:-}
if [ -z "$build" ]; then
    for b in build-deploy build-test build; do
        if has_bins "$root/$b"; then build=$root/$b; break; fi
    done
fi
if [ -z "$build" ]; then
    build=$root/build-netns
    say "building phcoord, phworker, phclient in $build"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPH_BENCH=OFF >/dev/null
    cmake --build "$build" -j2 --target phcoord phworker phclient >/dev/null
fi
has_bins "$build" || fail "no phcoord/phworker/phclient under $build"
phcoord=$build/coordinator/phcoord
phworker=$build/worker/phworker
phclient=$build/client/phclient
say "programs from $build ($("$phcoord" --version))"

# Work dir first: CURVE keys (below) live there too.
work=$(mktemp -d /tmp/phcluster-netns.XXXXXX)
keys=$work/keys
out=$work/out

# phcoord refuses a non-loopback bind without authentication once CURVE is
# wired in (docs/SECURITY.md).  An explicit test opt-out wins if --help lists
# one; otherwise, if the programs have the CURVE flags and `phclient keygen`,
# every party gets a key pair and the coordinator an allow-list.  Extra args
# given through PH_NETNS_*_ARGS are passed as well.
if "$phcoord" --help 2>&1 | grep -c -- '--insecure' >/dev/null; then
    coord_args+=(--insecure)
    say "phcoord has --insecure: passing it (test network only)"
elif "$phcoord" --help 2>&1 | grep -c -- '--curve-secret' >/dev/null; then
    mkdir -m 700 "$work/curve" "$work/curve/allow"
    for who in coord w2 w3 client rogue; do
        "$phclient" keygen "$work/curve/$who" >/dev/null ||
            fail "phclient keygen $work/curve/$who"
    done
    for who in w2 w3 client; do cp "$work/curve/$who.pub" "$work/curve/allow/"; done
    coord_args+=(--curve-secret "$work/curve/coord.key" --curve-allow "$work/curve/allow")
    client_args+=(--curve-secret "$work/curve/client.key" --curve-server "$work/curve/coord.pub")
    curve=1
    say "phcoord has CURVE: keys made with phclient keygen, workers and client allow-listed"
fi
curve=${curve:-0}
# Per-worker CURVE flags (each worker its own key pair).
worker_curve() { # N
    [ "$curve" -eq 1 ] || return 0
    echo "--curve-secret $work/curve/w$1.key --curve-server $work/curve/coord.pub"
}

# ---- network: br0 in ns1, one veth per worker namespace ------------------
if ! ip -n "$ns1" link add br0 type bridge 2>/dev/null; then
    skip "cannot create a bridge inside a namespace (no bridge module?)"
fi
ip -n "$ns1" addr add 10.77.0.1/24 dev br0
for ns in "$ns1" "$ns2" "$ns3"; do ip -n "$ns" link set lo up; done
for i in 2 3; do
    ns="$tag-$i"
    # Created inside ns1 with the peer placed straight into the worker's
    # namespace: the host's own namespace never sees either end.
    ip -n "$ns1" link add "v$i" type veth peer name eth0 netns "$ns"
    ip -n "$ns1" link set "v$i" master br0
    ip -n "$ns1" link set "v$i" up
    ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
done
ip -n "$ns1" link set br0 up
ep=tcp://10.77.0.1:7710

# ---- keys ----------------------------------------------------------------
python3 "$root/scripts/gen-keys.py" "$keys" "$files" "$max_keys" 77 >/dev/null
nfiles=$(find "$keys" -maxdepth 1 -name '*.keys' | wc -l)
[ "$nfiles" -eq "$files" ] || fail "gen-keys.py wrote $nfiles files, expected $files"
say "generated $files key files (1..$max_keys keys each) in $keys"

# ---- cluster -------------------------------------------------------------
coord_args+=(--allow-root "$work")
ip netns exec "$ns1" "$phcoord" --bind "$ep" --log-level debug "${coord_args[@]}" \
    2>"$work/coord.log" &
pids+=($!)
coord_pid=$!
ok=0
for _ in $(seq 1 50); do
    if ip netns exec "$ns1" "$phclient" --coordinator "$ep" "${client_args[@]}" ping \
        >/dev/null 2>&1; then ok=1; break; fi
    kill -0 "$coord_pid" 2>/dev/null || break
    sleep 0.2
done
[ $ok -eq 1 ] || fail "coordinator at $ep does not answer ping"

# One thread each and a per-task delay: the job takes a few seconds, so the
# cut lands while ns3's worker holds tasks (threads + prefetch of them).
# Each worker also gets its own UTS namespace and host name (host2, host3)
# when unshare(1) is there, so status and the job summary tell them apart.
for i in 2 3; do
    if command -v unshare >/dev/null && ip netns exec "$tag-$i" unshare --uts true 2>/dev/null; then
        # shellcheck disable=SC2016  # expanded by the inner sh
        set -- unshare --uts sh -c 'hostname "$0" && exec "$@"' "host$i"
    else
        set --
    fi
    read -r -a wc_args <<<"$(worker_curve $i)"
    ip netns exec "$tag-$i" "$@" "$phworker" --coordinator "$ep" --numa-node 0 --threads 1 \
        --task-delay-ms "$delay" "${wc_args[@]}" "${worker_args[@]}" 2>"$work/w$i.log" &
    pids+=($!)
done
# Both workers must have registered over the bridge before the job starts,
# or the "cut" would prove nothing.
ok=0
for _ in $(seq 1 50); do
    n=$(ip netns exec "$ns1" "$phclient" --coordinator "$ep" "${client_args[@]}" status --json \
        2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["workers"]))' \
        2>/dev/null || echo 0)
    if [ "$n" -ge 2 ]; then ok=1; break; fi
    sleep 0.2
done
[ $ok -eq 1 ] || fail "the workers in ns2 and ns3 did not both register (saw $n)"
ip netns exec "$ns1" "$phclient" --coordinator "$ep" "${client_args[@]}" status --json \
    >"$work/status-before.json"
say "coordinator in ns1 at $ep; workers registered from ns2 (10.77.0.2) and ns3 (10.77.0.3)"
if [ "$curve" -eq 1 ]; then
    # A key pair the coordinator does not list must get nothing, over the net.
    if ip netns exec "$ns2" timeout 20 "$phclient" --coordinator "$ep" \
        --curve-secret "$work/curve/rogue.key" --curve-server "$work/curve/coord.pub" ping \
        >/dev/null 2>&1; then
        fail "a client with a key not in --curve-allow got a reply"
    fi
    say "CURVE: a client from ns2 with an unlisted key was refused"
fi

# ---- the job, and the cut ------------------------------------------------
ip netns exec "$ns1" timeout "$limit" "$phclient" --coordinator "$ep" "${client_args[@]}" \
    bulk-create "$keys" -o "$out" >"$work/client.out" 2>"$work/client.err" &
client_pid=$!
pids+=("$client_pid")

threshold=$((files / 3))
cut_at=-1
for _ in $(seq 1 $((limit * 10))); do
    # Each table is OUT/NAME/NAME.h (+ .c ...); OUT appears with the first.
    n=$({ find "$out" -mindepth 2 -maxdepth 2 -name '*.h' 2>/dev/null || true; } | wc -l)
    if [ "$n" -ge "$threshold" ]; then cut_at=$n; break; fi
    kill -0 "$client_pid" 2>/dev/null || break
    sleep 0.1
done
[ "$cut_at" -ge 0 ] || fail "no progress before the cut"
[ "$cut_at" -lt "$files" ] || fail "job finished before the cut; raise PH_NETNS_DELAY_MS"
ip -n "$ns3" link set eth0 down
cut_s=$(date +%s.%N)
say "cut ns3's link (ip link set eth0 down) with $cut_at of $files tables written"

rc=0
wait "$client_pid" || rc=$?
done_s=$(date +%s.%N)
say "bulk-create exited $rc, $(python3 -c "print(round($done_s - $cut_s, 1))") s after the cut"
[ $rc -ne 124 ] || fail "bulk-create did not finish within ${limit}s (job stuck after the cut?)"
[ $rc -eq 0 ] || fail "bulk-create exited $rc after the cut"

# ---- checks --------------------------------------------------------------
[ -f "$out/results.csv" ] || fail "no results.csv in $out"
rows=$(($(wc -l <"$out/results.csv") - 1))
[ "$rows" -eq "$files" ] || fail "results.csv has $rows rows, expected $files"
dups=$(tail -n +2 "$out/results.csv" | cut -d, -f1 | sort | uniq -d | sed -n 1,3p)
[ -z "$dups" ] || fail "results.csv repeats: $dups"
notok=$(tail -n +2 "$out/results.csv" | awk -F, '$NF != "ok"' | sed -n 1,3p)
[ -z "$notok" ] || fail "rows not ok: $notok"
missing=0
for k in "$keys"/*.keys; do
    name=$(basename "$k" .keys)
    for f in "$name/$name.h" "$name/$name.c"; do
        [ -s "$out/$f" ] || { missing=$((missing + 1)); echo "missing: $f" >&2; }
    done
done
[ "$missing" -eq 0 ] || fail "$missing table files missing"
partial=$(find "$out" -name '*.tmp*' | sed -n 1,3p)
[ -z "$partial" ] || fail "temporary files left behind: $partial"
# Which worker finished what: the per-node lines of the client's summary.
grep -E 'ok=[0-9]+ failed=' "$work/client.out" | sed 's/^/netns-test:   /' || true
requeued=$(grep -ciE 'requeue|dead|lost' "$work/coord.log" || true)
say "coordinator log: $requeued line(s) about a lost worker / requeued tasks:"
grep -iE 'requeue|dead|lost' "$work/coord.log" | sed -n 1,5p | sed 's/^/netns-test:   /' || true
say "PASS: $files files all ok, every table written, ns3 cut after $cut_at"
