#!/usr/bin/env bash
# Configures and builds dyad into build/ (Release, warnings as errors).
# Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DYAD_BUILD_DIR:-$ROOT/build}"
source "$ROOT/scripts/ccache_launcher.sh"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDYAD_WERROR=ON -DDYAD_BUILD_BENCH=ON "${CCACHE_LAUNCHER[@]}" "$@" > "${TMPDIR:-/tmp}/dyad-configure.log" 2>&1 \
  || { cat "${TMPDIR:-/tmp}/dyad-configure.log"; exit 1; }
cmake --build "$BUILD_DIR" -j"$(nproc)"
