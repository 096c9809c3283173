#!/usr/bin/env bash
# Static throughput estimate of the NEON int_softmax and int_gelu inner loops
# with llvm-mca (docs/kernels.md, "Element-wise SIMD kernels"): compiles
# kernels/int_softmax/int_softmax_neon.cc and kernels/int_gelu/int_gelu_neon.cc
# as the Release build does (aarch64-linux-gnu-g++ -O3, baseline armv8-a), cuts
# out one loop each (the smallest loop of the function holding the marker
# instruction: the softmax e16 loop has the variable shifts USHL, the GELU loop
# of int32 inputs SMLAL) and prints cycles and instructions per element (8
# elements per iteration) per core model. The GELU loop's channel wrap (UDIV /
# MSUB, taken once per `channels` elements) is left out. Uses llvm-mca-16 when
# installed (its Neoverse-N2 model; Cortex-A76 and Neoverse-N1 run on its
# Cortex-A57 model), else llvm-mca. An estimate from scheduling models, not a
# measurement: every load hits L1, no front-end effects.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${TMPDIR:-/tmp}/dyad-mca-elementwise"
mkdir -p "$WORK"
MCA=$(command -v llvm-mca-16 || command -v llvm-mca)

# name  source  function-name fragment  marker instruction
run() {
  local name=$1 src=$2 fn=$3 marker=$4
  aarch64-linux-gnu-g++ -std=c++20 -O3 -DNDEBUG -fPIC -ffp-contract=off -I"$ROOT" -S "$ROOT/$src" -o "$WORK/$name.s"
  /usr/bin/python3 "$ROOT/scripts/mca_loop.py" "$WORK/$name.s" "$WORK/$name.loop.s" "$fn" --marker "$marker" \
    --drop udiv,msub
  for cpu in cortex-a55 cortex-a76 neoverse-n1 neoverse-n2; do
    "$MCA" -mtriple=aarch64-linux-gnu -mcpu="$cpu" -iterations=1000 "$WORK/$name.loop.s" > "$WORK/$name.$cpu.txt"
    /usr/bin/python3 - "$WORK/$name.$cpu.txt" "$name" "$cpu" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
iters = int(re.search(r"Iterations:\s+(\d+)", text).group(1))
cycles = int(re.search(r"Total Cycles:\s+(\d+)", text).group(1)) / iters
insns = int(re.search(r"Instructions:\s+(\d+)", text).group(1)) / iters
print(f"{sys.argv[2]:8s} {sys.argv[3]:12s} {insns:4.0f} instructions / iteration  "
      f"{cycles:6.1f} cycles / iteration  {cycles / 8:5.2f} cycles / element  {insns / 8:5.2f} instructions / element")
PY
  done
}

run softmax kernels/int_softmax/int_softmax_neon.cc int_softmax_row_simd ushl
run gelu kernels/int_gelu/int_gelu_neon.cc "int_gelu_rangeINS1_4SimdEiEE" smlal
