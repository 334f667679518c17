#!/usr/bin/env bash
# deb-test.sh - build the phcluster .deb with CPack and prove it works.
#
# Always (no root needed, the machine is not changed):
#   1. configure + build a Release tree (build-deb) and run `cpack -G DEB`
#   2. control fields: Package, Version, Depends; maintainer scripts parse
#   3. contents: the three programs, both units, man pages, sysusers, config,
#      libphcluster (header, shared and static library, phcluster.pc, CMake
#      package files)
#   4. `dpkg-deb -x` into a temp dir and run every program's --version from
#      there with LD_LIBRARY_PATH unset: proves the binaries do not lean on
#      the build tree (RUNPATH) and that the system libraries resolve
#   5. every NEEDED library of every program and of libphcluster is owned by a Debian package
#      named in Depends (so `apt install ./phcluster.deb` pulls what it needs)
#   6. the packaged units pass `systemd-analyze verify` (when available)
# Only with PH_DEB_TEST_INSTALL=1, or CI=true as root (throwaway machine):
#   7. `apt-get install ./phcluster_*.deb` for real, /usr/bin/phclient
#      --version and a 3-file `bulk-create --local`, the phcluster user and
#      /etc/phcluster/phcluster.conf exist, then `dpkg --purge`.
# Extracting is the default because it checks what can go wrong in the
# package itself without touching the host; the real install adds dpkg's
# dependency resolution and the maintainer scripts, which only a disposable
# machine should run.
#
# Usage: scripts/deb-test.sh [BUILD_DIR]     (default build-deb)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
build=${1:-$root/build-deb}
say() { echo "deb-test: $*"; }
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }

for c in cmake cpack dpkg-deb readelf; do
    command -v "$c" >/dev/null || fail "'$c' not found (Debian: cmake, dpkg, binutils)"
done

say "building in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPH_BENCH=OFF >/dev/null
# Only the packaged programs: tests and benchmarks are not in the .deb.
cmake --build "$build" -j"${PH_JOBS:-2}" --target phcoord phworker phclient phcluster \
    phcluster_static >/dev/null
[ -f "$build/CPackConfig.cmake" ] ||
    fail "no CPackConfig.cmake in $build: is include(cmake/packaging.cmake) in CMakeLists.txt?"
rm -f "$build"/phcluster_*.deb
(cd "$build" && cpack -G DEB >/dev/null) || fail "cpack -G DEB failed"
mapfile -t debs < <(ls "$build"/phcluster_*.deb 2>/dev/null)
[ ${#debs[@]} -eq 1 ] || fail "expected one phcluster_*.deb in $build, found ${#debs[@]}"
deb=${debs[0]}
say "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"

tmp=$(mktemp -d /tmp/phcluster-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ---- 2. control ----------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = phcluster ] || fail "Package is '$(field Package)'"
want_version=$(sed -n 's/^project(phcluster VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
[ "$(field Version)" = "$want_version" ] ||
    fail "Version is '$(field Version)', project() says '$want_version'"
depends=$(field Depends)
for p in libzmq5 libmsgpackc2 libhwloc15; do
    grep -qw "$p" <<<"$depends" || fail "Depends lacks $p: $depends"
done
dpkg-deb -e "$deb" "$tmp/control"
for s in postinst prerm postrm; do
    [ -x "$tmp/control/$s" ] || fail "maintainer script $s missing or not executable"
    sh -n "$tmp/control/$s" || fail "maintainer script $s does not parse"
done

# ---- 3. contents ---------------------------------------------------------
dpkg-deb -x "$deb" "$tmp/root"
r=$tmp/root
for f in usr/bin/phcoord usr/bin/phworker usr/bin/phclient \
    usr/sbin/phcluster-enable-workers \
    usr/lib/systemd/system/phcoord.service "usr/lib/systemd/system/phworker@.service" \
    usr/lib/sysusers.d/phcluster.conf \
    usr/share/doc/phcluster/phcluster.conf.example \
    usr/share/man/man1/phcoord.1 usr/share/man/man1/phworker.1 usr/share/man/man1/phclient.1; do
    [ -e "$r/$f" ] || fail "package lacks /$f"
done
for u in phcoord.service "phworker@.service"; do
    grep -q '^ExecStart=/usr/bin/ph' "$r/usr/lib/systemd/system/$u" ||
        fail "$u: ExecStart does not point at /usr/bin"
done
# libphcluster: wherever GNUInstallDirs put the library directory.
so=$(find "$r/usr/lib" -name 'libphcluster.so.0' -print -quit)
[ -n "$so" ] || fail "package lacks libphcluster.so.0"
ldir=$(dirname "$so")
for f in usr/include/phcluster.h "${ldir#"$r"/}/libphcluster.so" "${ldir#"$r"/}/libphcluster.a" \
    "${ldir#"$r"/}/pkgconfig/phcluster.pc" "${ldir#"$r"/}/cmake/phcluster/phclusterConfig.cmake" \
    "${ldir#"$r"/}/cmake/phcluster/phclusterTargets.cmake"; do
    [ -e "$r/$f" ] || fail "package lacks /$f"
done
grep -q '^prefix=/usr$' "$ldir/pkgconfig/phcluster.pc" || fail "phcluster.pc: prefix is not /usr"
readelf -d "$so" | grep -q 'SONAME.*libphcluster.so.0' || fail "libphcluster.so.0 has no SONAME"
grep -q '^\.TH' "$r/usr/share/man/man1/phclient.1" || fail "phclient.1 is not a man page"
# The pages are rendered from the real --help (help2man): the worker's
# NUMA flag must be there (troff writes '-' as '\-').
grep -q 'numa\\-node' "$r/usr/share/man/man1/phworker.1" || fail "phworker.1 lacks --numa-node"

# ---- 4. run from the extracted tree --------------------------------------
for p in phcoord phworker phclient; do
    bin=$r/usr/bin/$p
    # No `grep -q` / `head` / early `exit` in pipes here: with pipefail the
    # writer's SIGPIPE would fail the whole script at random.
    if readelf -d "$bin" | grep -E 'R(UN)?PATH' | grep -c "$build" >/dev/null; then
        fail "$p has an RPATH into the build tree"
    fi
    v=$(env -u LD_LIBRARY_PATH -u LD_PRELOAD "$bin" --version 2>&1) ||
        fail "$p --version failed: $v"
    grep -q "$want_version" <<<"$v" || fail "$p --version says '$v', expected $want_version"
    say "$p --version: $v"
done

# ---- 5. NEEDED libraries are covered by Depends --------------------------
dep_names=$(tr ',' '\n' <<<"$depends" | sed 's/(.*//; s/|.*//; s/ //g')
for f in usr/bin/phcoord usr/bin/phworker usr/bin/phclient "${so#"$r"/}"; do
    p=$(basename "$f")
    for lib in $(readelf -d "$r/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !seen { print $NF; seen = 1 }')
        [ -n "$path" ] || fail "$p needs $lib, which this system does not have"
        owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | sed -n '1s/:.*//p') ||
            owner=""
        if [ -z "$owner" ]; then
            owner=$(dpkg -S "$path" 2>/dev/null | sed -n '1s/:.*//p') || owner=""
        fi
        [ -n "$owner" ] || fail "$p needs $lib ($path), owned by no package"
        grep -qx "$owner" <<<"$dep_names" ||
            fail "$p needs $lib from package $owner, which Depends does not name"
    done
done
say "NEEDED libraries all come from: $(tr '\n' ' ' <<<"$dep_names")"

# ---- 6. units ------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
    # verify wants ExecStart's program to exist: point it into the extracted
    # tree (--root would also hide the host's sysinit.target and friends).
    mkdir -p "$tmp/units"
    sed "s#^ExecStart=/usr/bin/#ExecStart=$r/usr/bin/#" \
        "$r/usr/lib/systemd/system/phcoord.service" >"$tmp/units/phcoord.service"
    sed "s#^ExecStart=/usr/bin/#ExecStart=$r/usr/bin/#" \
        "$r/usr/lib/systemd/system/phworker@.service" >"$tmp/units/phworker@0.service"
    systemd-analyze verify --man=no "$tmp/units/phcoord.service" "$tmp/units/phworker@0.service" ||
        fail "systemd-analyze verify rejected the packaged units"
    say "units pass systemd-analyze verify"
else
    say "systemd-analyze not found: unit verification skipped"
fi

# ---- 7. real install (opt-in) --------------------------------------------
if [ "${PH_DEB_TEST_INSTALL:-}" = 1 ] || { [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; }; then
    [ "$(id -u)" -eq 0 ] || fail "PH_DEB_TEST_INSTALL=1 needs root"
    if dpkg -s phcluster >/dev/null 2>&1; then
        fail "phcluster is already installed here; refusing to replace it"
    fi
    say "installing $(basename "$deb") into the system"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null ||
        fail "apt-get install $deb"
    v=$(env -u LD_LIBRARY_PATH /usr/bin/phclient --version 2>&1) || {
        dpkg --purge phcluster >/dev/null || true
        fail "installed phclient --version failed: $v"
    }
    # The installed programs do real work: a small job through the embedded
    # coordinator and worker of `phclient --local`.
    python3 "$root/scripts/gen-keys.py" "$tmp/keys" 3 500 5 >/dev/null
    if ! env -u LD_LIBRARY_PATH /usr/bin/phclient bulk-create "$tmp/keys" -o "$tmp/out" --local \
        >"$tmp/local.log" 2>&1; then
        dpkg --purge phcluster >/dev/null || true
        fail "installed phclient bulk-create --local failed: $(cat "$tmp/local.log")"
    fi
    getent passwd phcluster >/dev/null || { dpkg --purge phcluster >/dev/null; fail "no phcluster user"; }
    [ -f /etc/phcluster/phcluster.conf ] || { dpkg --purge phcluster >/dev/null; fail "no /etc/phcluster/phcluster.conf"; }
    dpkg --purge phcluster >/dev/null || fail "dpkg --purge phcluster"
    [ ! -e /usr/bin/phclient ] || fail "/usr/bin/phclient still there after purge"
    say "installed, ran (/usr/bin/phclient --version: $v; bulk-create --local: $(grep -c ',ok$' "$tmp/out/results.csv") tables ok), purged"
else
    say "real install skipped (set PH_DEB_TEST_INSTALL=1 on a throwaway machine)"
fi
say "PASS: $(basename "$deb")"
