#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite: the Release
# build with every test, then the same tests under AddressSanitizer and
# UndefinedBehaviorSanitizer (tests named Slow*, the full-data-set runs, excluded there).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="$(nproc)"
"$ROOT/scripts/install_deps.sh"

echo "== Release build"
"$ROOT/scripts/build.sh"
ctest --test-dir "$ROOT/build" -j"$JOBS" --output-on-failure

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
DYAD_BUILD_DIR="$ROOT/build-asan" "$ROOT/scripts/build.sh" -DDYAD_SANITIZE=ON -DDYAD_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$ROOT/build-asan" -j"$JOBS" --output-on-failure -E "Slow"
