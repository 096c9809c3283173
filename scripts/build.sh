#!/usr/bin/env bash
# Configures and builds dyad into build/ (Release, warnings as errors).
# Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DYAD_BUILD_DIR:-$ROOT/build}"
# ccache, where installed, makes rebuilds in fresh clones (CI) cheap.
LAUNCHER=()
if command -v ccache > /dev/null; then
  LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDYAD_WERROR=ON -DDYAD_BUILD_BENCH=ON "${LAUNCHER[@]}" "$@" > "${TMPDIR:-/tmp}/dyad-configure.log" 2>&1 \
  || { cat "${TMPDIR:-/tmp}/dyad-configure.log"; exit 1; }
cmake --build "$BUILD_DIR" -j"$(nproc)"
