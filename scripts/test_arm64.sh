#!/usr/bin/env bash
# The ARM64 stage of the test suite: cross-compiles dyad for aarch64-linux-gnu
# (baseline armv8-a; the dot-product and i8mm kernels are chosen at run time)
# into build-arm64/ and runs its tests under qemu-user with `-cpu max`, a core
# that has every extension the kernels use (cmake/toolchains/aarch64-linux-gnu.cmake).
# Emulated runs test results only: their timings say nothing about speed.
# Usage: scripts/test_arm64.sh [extra ctest args]   (DYAD_ARM64_BUILD_DIR overrides the folder)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DYAD_ARM64_BUILD_DIR:-$ROOT/build-arm64}"
"$ROOT/scripts/install_arm64_deps.sh"
source "$ROOT/scripts/ccache_launcher.sh"
start=$(date +%s)
# No benchmarks: they link oneDNN, which Debian ships for x86 only.
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDYAD_WERROR=ON -DDYAD_BUILD_BENCH=OFF \
  -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/aarch64-linux-gnu.cmake" "${CCACHE_LAUNCHER[@]}" \
  > "${TMPDIR:-/tmp}/dyad-arm64-configure.log" 2>&1 \
  || { cat "${TMPDIR:-/tmp}/dyad-arm64-configure.log"; exit 1; }
cmake --build "$BUILD_DIR" -j"$(nproc)"
built=$(date +%s)
rc=0
ctest --test-dir "$BUILD_DIR" -j"$(nproc)" --output-on-failure "$@" || rc=$?
echo "dyad: ARM64 stage: build $((built - start)) s, emulated tests $(($(date +%s) - built)) s"
exit "$rc"
