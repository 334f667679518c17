#!/usr/bin/env bash
# Install what phcluster needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git python3
      libzmq3-dev libmsgpack-dev libhwloc-dev hwloc libcmocka-dev libcmph-dev liburing-dev
      clang libclang-rt-14-dev llvm
      systemd iproute2 help2man dpkg-dev file binutils python3-yaml)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
