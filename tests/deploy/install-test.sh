#!/bin/sh
# install-test.sh CMAKE BUILD_DIR DEST phcoord=BIN phworker=BIN phclient=BIN
# `cmake --install` into DEST lays out programs, units rewritten for the
# prefix, man pages, config example; installed programs answer --version.
set -eu
cmake=$1 build=$2 dest=$3
shift 3
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
rm -rf "$dest"
"$cmake" --install "$build" --prefix "$dest" >"$dest.log" 2>&1 ||
    { cat "$dest.log" >&2; fail "cmake --install failed"; }
for f in lib/systemd/system/phcoord.service "lib/systemd/system/phworker@.service" \
    lib/sysusers.d/phcluster.conf share/doc/phcluster/phcluster.conf.example \
    sbin/phcluster-enable-workers; do
    [ -f "$dest/$f" ] || fail "not installed: $f"
done
grep -q "^ExecStart=$dest/bin/phcoord " "$dest/lib/systemd/system/phcoord.service" ||
    fail "phcoord.service ExecStart not rewritten for prefix $dest"
grep -q "^ExecStart=$dest/bin/phworker " "$dest/lib/systemd/system/phworker@.service" ||
    fail "phworker@.service ExecStart not rewritten for prefix $dest"
for a in "$@"; do
    prog=${a%%=*}
    [ -n "${a#*=}" ] || { echo "install-test: $prog not built, not checked"; continue; }
    [ -x "$dest/bin/$prog" ] || fail "not installed: bin/$prog"
    grep -q '^\.TH' "$dest/share/man/man1/$prog.1" 2>/dev/null || fail "no man page for $prog"
    # Rendered from this program's --help: its first option is in the page
    # (troff escapes '-' as '\-').
    opt=$("$dest/bin/$prog" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | head -n 1 | sed 's/-/\\-/g')
    grep -qF -- "$opt" "$dest/share/man/man1/$prog.1" || fail "$prog.1 does not show $prog --help"
    "$dest/bin/$prog" --version >/dev/null || fail "installed $prog --version failed"
done
rm -rf "$dest" "$dest.log"
echo "install-test: ok"
