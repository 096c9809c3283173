// The machine's vpdpbusd limit, for the GEMM kernels' "fraction of peak": a
// register-resident loop of independent vpdpbusd (12 accumulators, more than
// latency x throughput on current cores), no loads. Reported in the GEMM
// benchmarks' unit, GOP/s = 2 x multiply-adds per second (one zmm vpdpbusd =
// 64 multiply-adds, one ymm = 32).
//
//   build/bench/dyad_bench --benchmark_filter=peak --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <cstdint>

#include "kernels/common/cpu.h"

namespace dyad::kernels {
namespace {

constexpr int64_t kInstructionsPerIteration = 12 * 64;  // 64 unrolled steps of 12

#define DYAD_DP12(insn, reg)                                                             \
  insn " %%" reg "12, %%" reg "13, %%" reg "0\n\t" insn " %%" reg "12, %%" reg "13, %%" reg "1\n\t" \
  insn " %%" reg "12, %%" reg "13, %%" reg "2\n\t" insn " %%" reg "12, %%" reg "13, %%" reg "3\n\t" \
  insn " %%" reg "12, %%" reg "13, %%" reg "4\n\t" insn " %%" reg "12, %%" reg "13, %%" reg "5\n\t" \
  insn " %%" reg "12, %%" reg "13, %%" reg "6\n\t" insn " %%" reg "12, %%" reg "13, %%" reg "7\n\t" \
  insn " %%" reg "12, %%" reg "13, %%" reg "8\n\t" insn " %%" reg "12, %%" reg "13, %%" reg "9\n\t" \
  insn " %%" reg "12, %%" reg "13, %%" reg "10\n\t" insn " %%" reg "12, %%" reg "13, %%" reg "11\n\t"
#define DYAD_DP12_X8(insn, reg)                                                            \
  DYAD_DP12(insn, reg) DYAD_DP12(insn, reg) DYAD_DP12(insn, reg) DYAD_DP12(insn, reg)      \
  DYAD_DP12(insn, reg) DYAD_DP12(insn, reg) DYAD_DP12(insn, reg) DYAD_DP12(insn, reg)
#define DYAD_DP12_X64(insn, reg)                                                           \
  DYAD_DP12_X8(insn, reg) DYAD_DP12_X8(insn, reg) DYAD_DP12_X8(insn, reg) DYAD_DP12_X8(insn, reg) \
  DYAD_DP12_X8(insn, reg) DYAD_DP12_X8(insn, reg) DYAD_DP12_X8(insn, reg) DYAD_DP12_X8(insn, reg)

__attribute__((target("avx512f,avx512vnni"))) void zmm_loop(int64_t iterations) {
  for (int64_t i = 0; i < iterations; ++i) {
    asm volatile(DYAD_DP12_X64("vpdpbusd", "zmm")
                 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                     "xmm9", "xmm10", "xmm11");
  }
}

__attribute__((target("avx2,avxvnni"))) void ymm_loop(int64_t iterations) {
  for (int64_t i = 0; i < iterations; ++i) {
    asm volatile(DYAD_DP12_X64("%{vex%} vpdpbusd", "ymm")
                 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                     "xmm9", "xmm10", "xmm11");
  }
}

void bench_peak(benchmark::State& state, bool zmm) {
  const bool present = zmm ? kernel_isa_present(KernelIsa::kAvx512Vnni)
                           : kernel_isa_present(KernelIsa::kAvxVnni);
  if (!present) {
    state.SkipWithError(zmm ? "this CPU lacks AVX-512 VNNI" : "this CPU lacks AVX-VNNI");
    return;
  }
  constexpr int64_t kIterations = 1000;
  for (auto _ : state) {
    if (zmm) {
      zmm_loop(kIterations);
    } else {
      ymm_loop(kIterations);
    }
  }
  const double macs_per_instruction = zmm ? 64 : 32;
  state.counters["GOP/s"] = benchmark::Counter(
      2e-9 * macs_per_instruction * kInstructionsPerIteration * kIterations,
      benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(zmm ? "vpdpbusd zmm, 12 independent chains" : "vpdpbusd ymm (VEX), 12 chains");
}

const bool kRegistered = [] {
  benchmark::RegisterBenchmark("peak/vpdpbusd_zmm/threads:1", bench_peak, true)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("peak/vpdpbusd_ymm/threads:1", bench_peak, false)->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace
}  // namespace dyad::kernels
