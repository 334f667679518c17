#!/bin/sh
# verify-units.sh UNIT_DIR phcoord=BIN phworker=BIN [phclient=BIN]
# systemd-analyze verify on both units (ExecStart pointed at the built
# binaries, since verify checks the program exists), the hardening settings
# the deployment promises, and a broken unit to show verify catches errors.
set -eu
units=$1
shift
coord=/bin/true
worker=/bin/true
for a in "$@"; do
    case "$a" in
    phcoord=?*) coord=${a#phcoord=} ;;
    phworker=?*) worker=${a#phworker=} ;;
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
