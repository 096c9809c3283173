#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite: the Release
# build with every test, then the same tests under AddressSanitizer and
# UndefinedBehaviorSanitizer (tests named Slow*, the full-data-set runs, excluded there),
# the concurrency tests under ThreadSanitizer, each libFuzzer target for
# DYAD_FUZZ_SECONDS (default 60; 0 skips fuzzing), and last the ARM64 cross
# build with its tests under qemu-user (scripts/test_arm64.sh; DYAD_ARM64=0
# skips it). docs/testing.md has the details.
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

echo "== ThreadSanitizer build: thread pool and C API concurrency tests"
TSAN_DIR="$ROOT/build-tsan"
source "$ROOT/scripts/ccache_launcher.sh"
cmake -S "$ROOT" -B "$TSAN_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDYAD_WERROR=ON -DDYAD_TSAN=ON \
  -DDYAD_BUILD_BENCH=OFF "${CCACHE_LAUNCHER[@]}" > "${TMPDIR:-/tmp}/dyad-tsan-configure.log" 2>&1 \
  || { cat "${TMPDIR:-/tmp}/dyad-tsan-configure.log"; exit 1; }
cmake --build "$TSAN_DIR" -j"$JOBS" --target thread_pool_tests c_api_threads c_api_basic c_api_limits c_api_embed
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
  ctest --test-dir "$TSAN_DIR" -j"$JOBS" --output-on-failure -R "^(tsan\.|c_api\.)"

echo "== libFuzzer targets (clang, ASan + UBSan), ${DYAD_FUZZ_SECONDS:-60}s each"
if (( ${DYAD_FUZZ_SECONDS:-60} > 0 )); then
  "$ROOT/scripts/fuzz.sh" "${DYAD_FUZZ_SECONDS:-60}"
fi

echo "== ARM64 cross build, tests under qemu-user"
if [[ "${DYAD_ARM64:-1}" != 0 ]]; then
  "$ROOT/scripts/test_arm64.sh"
fi
