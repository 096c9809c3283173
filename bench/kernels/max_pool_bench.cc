// Max pooling throughput, dyad's reference and AVX2 kernels in the same
// binary: the ResNet stem pool (64 channels, 112 x 112 -> 56 x 56, 3x3 stride
// 2, padding 1) and a 2x2 stride-2 pool of 64 x 56 x 56, int8 NHWC. GB/s
// counts the input read once and the output written. Single thread, CPU time.
//
//   build-*/bench/dyad_bench --benchmark_filter=max_pool/ --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/max_pool/max_pool.h"

namespace dyad::kernels {
namespace {

struct PoolCase {
  const char* name;
  int64_t c, in, out, kernel, stride, pad;
};

void bench_max_pool(benchmark::State& state, PoolCase k, bool avx2) {
  if (avx2 && !cpu_features().avx2) {
    state.SkipWithError("no AVX2");
    return;
  }
  Pool2dParams p;
  p.channels = k.c;
  p.in_h = p.in_w = k.in;
  p.out_h = p.out_w = k.out;
  p.kernel_h = p.kernel_w = k.kernel;
  p.stride_h = p.stride_w = k.stride;
  p.pad_top = p.pad_left = k.pad;
  p.type = IntType::kS8;
  std::mt19937 rng(1);
  std::vector<int8_t> x(static_cast<size_t>(k.in * k.in * k.c)), y(static_cast<size_t>(k.out * k.out * k.c));
  for (int8_t& v : x) v = static_cast<int8_t>(rng());
  for (auto _ : state) {
    if (avx2) max_pool__avx2(p, x.data(), y.data(), nullptr);
    else max_pool__ref(p, x.data(), y.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(1e-9 * static_cast<double>(x.size() + y.size()),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  for (const PoolCase k : {PoolCase{"64x112x112_3x3s2p1", 64, 112, 56, 3, 2, 1},
                           PoolCase{"64x56x56_2x2s2", 64, 56, 28, 2, 2, 0}})
    for (bool avx2 : {false, true}) {
      const std::string name =
          std::string("max_pool/") + (avx2 ? "dyad_avx2/" : "dyad_ref/") + k.name;
      benchmark::RegisterBenchmark(name.c_str(), bench_max_pool, k, avx2)->Unit(benchmark::kMicrosecond);
    }
  return true;
}();

}  // namespace
}  // namespace dyad::kernels
