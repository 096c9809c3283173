#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan + UBSan) into build-fuzz/
# and runs each for SECONDS (default 60) from its seed corpus in tests/fuzz/corpus.
# A crash, leak, timeout or out-of-memory fails the script; libFuzzer prints the
# report and the input is kept in build-fuzz/artifacts/ (and printed as hex).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (SECONDS 0: build only)
# Environment: DYAD_FUZZ_BUILD_DIR (default build-fuzz), DYAD_FUZZ_JOBS (build jobs),
# DYAD_FUZZ_NICE (nice level, default 10), DYAD_FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then TARGETS=(fuzz_model_load fuzz_graph fuzz_npy); fi
BUILD_DIR="${DYAD_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
JOBS="${DYAD_FUZZ_JOBS:-$(nproc)}"

# Largest input per target: the seed models are up to ~130 KB of JSON.
declare -A MAX_LEN=([fuzz_model_load]=262144 [fuzz_graph]=4096 [fuzz_npy]=4096)

source "$ROOT/scripts/ccache_launcher.sh"
mkdir -p "$BUILD_DIR"
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDYAD_FUZZ=ON -DDYAD_BUILD_BENCH=OFF "${CCACHE_LAUNCHER[@]}" \
  > "$BUILD_DIR/configure.log" 2>&1 || { cat "$BUILD_DIR/configure.log"; exit 1; }
cmake --build "$BUILD_DIR" -j"$JOBS" --target "${TARGETS[@]}"

if ((SECONDS_PER_TARGET <= 0)); then exit 0; fi  # 0: build only

ARTIFACTS="$BUILD_DIR/artifacts"
mkdir -p "$ARTIFACTS"
status=0
for target in "${TARGETS[@]}"; do
  echo "== fuzzing $target for ${SECONDS_PER_TARGET}s"
  # libFuzzer adds new inputs to the first corpus directory: a scratch copy, so
  # the committed seeds stay small.
  work="$BUILD_DIR/corpus/$target"
  mkdir -p "$work"
  log="$BUILD_DIR/$target.log"
  if ! ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1" \
      nice -n "${DYAD_FUZZ_NICE:-10}" "$BUILD_DIR/tests/fuzz/$target" "$work" "$ROOT/tests/fuzz/corpus/$target" \
      -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
      -max_len="${MAX_LEN[$target]}" -artifact_prefix="$ARTIFACTS/$target-" -print_final_stats=1 \
      ${DYAD_FUZZ_ARGS:-} > "$log" 2>&1; then
    status=1
    echo "!! $target failed; its log:"
    tail -n 80 "$log"
    for f in "$ARTIFACTS/$target"-*; do
      [[ -e "$f" ]] || continue
      echo "-- crashing input $f ($(stat -c %s "$f") bytes), first 4 KB as hex:"
      head -c 4096 "$f" | od -A x -t x1z | head -n 300
    done
  else
    grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|cov:" "$log" | tail -n 2
  fi
done
exit "$status"
