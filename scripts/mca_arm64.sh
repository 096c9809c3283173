#!/usr/bin/env bash
# Static throughput estimate of the ARM64 inner loops with llvm-mca: compiles
# bench/arm64/mca_*.cc (the GEMM, V:N:M and matmul register tiles) as the
# kernel files are compiled, cuts out the loop of the full register tile (the
# block between a loop label and its backward branch holding the tile's count
# of the multiply instruction), and prints, per core model, cycles per
# iteration, the issue limit of the multiply instruction in that model (count
# x its reciprocal throughput) and the fraction of it reached, plus
# instructions per MAC (docs/performance.md, "ARM64: llvm-mca"). An estimate
# from LLVM's scheduling models, not a measurement. Uses llvm-mca-16 (Debian
# 12 `llvm-16`) when installed, else `llvm-mca` (LLVM 14); LLVM_MCA overrides.
# LLVM 16 has its own Neoverse-N2 model (also used for V1) and Cortex-A55
# model; Cortex-A76 and Neoverse-N1 still run on its Cortex-A57 model (the
# same numbers for both; LLVM 14 used that model for N2 too).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${TMPDIR:-/tmp}/dyad-mca"
MCA="${LLVM_MCA:-$(command -v llvm-mca-16 || command -v llvm-mca)}"
mkdir -p "$WORK"

# name  source  -march  tile-function pattern  instruction (a regex of mnemonics)  per-iteration count
# MACs each  cores
run() {
  local name=$1 src=$2 march=$3 pattern=$4 insn=$5 count=$6 macs=$7
  shift 7
  aarch64-linux-gnu-g++ -std=c++20 -O2 -march="$march" -I"$ROOT" -S "$ROOT/$src" -o "$WORK/$name.s"
  /usr/bin/python3 "$ROOT/scripts/mca_loop.py" "$WORK/$name.s" "$WORK/$name.loop.s" "$pattern" --count "$insn" "$count"
  for cpu in "$@"; do
    "$MCA" -mtriple=aarch64-linux-gnu -mcpu="$cpu" -mattr=+dotprod,+i8mm -iterations=1000 \
      "$WORK/$name.loop.s" > "$WORK/$name.$cpu.txt"
    /usr/bin/python3 - "$WORK/$name.$cpu.txt" "$name" "$cpu" "$insn" "$count" "$macs" <<'PY'
import re, sys
path, name, cpu, insn, count, macs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
text = open(path).read()
iters = int(re.search(r"Iterations:\s+(\d+)", text).group(1))
cycles = int(re.search(r"Total Cycles:\s+(\d+)", text).group(1))
insns = int(re.search(r"Instructions:\s+(\d+)", text).group(1)) // iters
rthr = float(re.search(r"^\s*\d+\s+\d+\s+([\d.]+)\s.*\s" + insn + r"\s", text, re.M).group(1))
per = cycles / iters
limit = count * rthr
print(f"{name:6s} {cpu:12s} {per:6.2f} cycles/iter  issue limit {limit:5.1f} ({rthr} per {insn})  "
      f"{limit / per * 100:3.0f}% of it  {count * macs / per:5.1f} MACs/cycle  "
      f"{insns / (count * macs):.4f} instructions/MAC")
PY
  done
}

run sdot bench/arm64/mca_gemm_sdot.cc armv8.2-a+dotprod "(SdotKernel4tileILi8E|mca_sdot_tile8)" sdot 64 16 \
  cortex-a76 neoverse-n1 neoverse-n2 cortex-a55
run smmla bench/arm64/mca_gemm_smmla.cc armv8.2-a+dotprod+i8mm "(SmmlaKernel4tileILi8E|mca_smmla_tile8)" smmla 32 32 \
  neoverse-n2 cortex-a55
# V:N:M SDOT: one TBL per SDOT on the same two vector pipes, so 50% of the
# SDOT limit is that loop's ceiling.
run vnm bench/arm64/mca_vnm_sdot.cc armv8.2-a+dotprod "(4tileILi4ELi4E|mca_vnm_tile44)" sdot 16 16 \
  cortex-a76 neoverse-n1 neoverse-n2 cortex-a55
# Its GEMV tile (1 token), which also decodes the controls every group pair.
run vnm_gemv bench/arm64/mca_vnm_sdot.cc armv8.2-a+dotprod "(direct_tileILi8ELb0ELi2ELi1E|mca_vnm_direct21)" sdot 4 16 \
  cortex-a76 neoverse-n1 neoverse-n2 cortex-a55
# The matmul tile (an int16 a takes two of its byte planes per row: half the
# MACs per SDOT of the 8-bit case).
run matmul bench/arm64/mca_matmul_dotprod.cc armv8.2-a+dotprod "(4tileILi8E|mca_matmul_sdot_tile8)" sdot 64 16 \
  cortex-a76 neoverse-n1 neoverse-n2 cortex-a55
