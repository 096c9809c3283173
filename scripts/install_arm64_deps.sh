#!/usr/bin/env bash
# Installs what the ARM64 cross build and its emulated tests need
# (scripts/test_arm64.sh), only what is missing: the aarch64 GNU cross
# compiler, qemu-user, and the arm64 builds of the libraries the engine and the
# tests link (Debian multiarch: `dpkg --add-architecture arm64`). Header-only
# dependencies (nlohmann-json) come from scripts/install_deps.sh.
set -euo pipefail

PACKAGES=(
  g++-aarch64-linux-gnu qemu-user
  # The run-time loader and libraries under qemu (`-L /`, see the toolchain file).
  libc6:arm64 libstdc++6:arm64
  zlib1g-dev:arm64 libgtest-dev:arm64 libcpp-httplib-dev:arm64
)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "dyad: adding the arm64 architecture to dpkg"
  $SUDO dpkg --add-architecture arm64
  need_update=1
fi
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "dyad: installing missing packages: ${missing[*]}"
  need_update=1
fi
if ((need_update)); then $SUDO apt-get update -qq; fi
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
