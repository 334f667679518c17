#!/bin/sh
# verify-units.sh UNIT_DIR phcoord=BIN phworker=BIN phclient=BIN
# systemd-analyze verify on both units (ExecStart pointed at the built
# binaries, since verify checks the program exists), the hardening settings
# the deployment promises, and a broken unit to show verify catches errors.
set -eu
units=$1
shift
coord=/bin/true
worker=/bin/true
client=/bin/true
for a in "$@"; do
    case "$a" in
    phcoord=?*) coord=${a#phcoord=} ;;
    phworker=?*) worker=${a#phworker=} ;;
    phclient=?*) client=${a#phclient=} ;;
    esac
done
fail() { echo "verify-units: FAIL: $*" >&2; exit 1; }

for u in phcoord.service phworker@.service; do
    f=$units/$u
    [ -f "$f" ] || fail "missing $f"
    for k in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
        Restart=on-failure RestartSec= EnvironmentFile=-/etc/phcluster/phcluster.conf \
        CapabilityBoundingSet= 'WantedBy=multi-user.target'; do
        grep -q "^$k" "$f" || fail "$u lacks $k"
    done
done
grep -q '^StateDirectory=phcluster' "$units/phcoord.service" || fail "phcoord.service lacks StateDirectory"
grep -q '^ReadWritePaths=' "$units/phcoord.service" || fail "phcoord.service lacks ReadWritePaths"
grep -q '^ExecStart=.*--numa-node %i' "$units/phworker@.service" ||
    fail "phworker@.service does not pass the instance as --numa-node"

# Every --option a unit passes (and every one the example config suggests)
# must be one the real program lists in its --help: a renamed flag would
# otherwise only show up as a unit in a restart loop.
conf=$units/../phcluster.conf
check_opts() { # UNIT_OR_CONF PATTERN PROGRAM
    [ -x "$3" ] && [ "$3" != /bin/true ] || return 0
    help=$("$3" --help 2>&1) || fail "$3 --help failed"
    # shellcheck disable=SC2013  # words (the --options) are wanted, not lines
    for o in $(grep "$2" "$1" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        printf '%s\n' "$help" | grep -q -- "$o\b" || fail "$1 passes $o, which '$3 --help' does not list"
    done
}
check_opts "$units/phcoord.service" '^ExecStart=' "$coord"
check_opts "$units/phworker@.service" '^ExecStart=' "$worker"
check_opts "$conf" '^#\{0,1\}PHCOORD_ARGS=' "$coord"
check_opts "$conf" '^#\{0,1\}PHWORKER_ARGS=' "$worker"
# The Slurm and Kubernetes examples' command lines too (they cannot run here).
for ex in "$units/../slurm/phcluster.sbatch" "$units/../k8s/phcluster.yaml"; do
    check_opts "$ex" '^[^#]*phcoord --' "$coord"
    check_opts "$ex" '^[^#]*phworker --' "$worker"
    check_opts "$ex" '^[^#]*phclient --' "$client"
done

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "verify-units: SKIP: systemd-analyze not installed (Debian package systemd)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#^ExecStart=/usr/bin/phcoord#ExecStart=$coord#" "$units/phcoord.service" >"$tmp/phcoord.service"
sed "s#^ExecStart=/usr/bin/phworker#ExecStart=$worker#" "$units/phworker@.service" >"$tmp/phworker@3.service"
# --man=no: the man pages exist only once installed.
systemd-analyze verify --man=no "$tmp/phcoord.service" "$tmp/phworker@3.service" ||
    fail "systemd-analyze verify rejected the units"

# The same check must fail on a unit with a bad setting.
sed 's/^Restart=on-failure/Restart=sometimes/' "$tmp/phcoord.service" >"$tmp/broken.service"
if systemd-analyze verify --man=no "$tmp/broken.service" >/dev/null 2>&1; then
    out=$(systemd-analyze verify --man=no "$tmp/broken.service" 2>&1 || true)
    # Some versions only warn about unknown values; then a warning is required.
    echo "$out" | grep -qi restart || fail "verify did not notice Restart=sometimes"
fi
echo "verify-units: ok"
