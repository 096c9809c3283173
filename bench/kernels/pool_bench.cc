// Pooling throughput, dyad's reference, AVX2 and AVX-512 kernels in the same
// binary: max pool on the ResNet stem pool (64 channels, 112 x 112 -> 56 x 56,
// 3x3 stride 2, padding 1) and a 2x2 stride-2 pool of 64 x 56 x 56; average
// pool 3x3 stride 1 padding 1 on 96 x 28 x 28 (a tail past 64 channels) and
// 2x2 stride 2 on 64 x 56 x 56; global average pool of 512 x 7 x 7
// (ResNet-18's head) and 1280 x 7 x 7 (MobileNetV2's). int8 NHWC. GB/s counts
// the input read once and the output written. Single thread, CPU time.
//
//   build-*/bench/dyad_bench --benchmark_filter='^(max|average|global_average)_pool/' --benchmark_repetitions=7
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/average_pool/average_pool.h"
#include "kernels/common/cpu.h"
#include "kernels/global_average_pool/global_average_pool.h"
#include "kernels/max_pool/max_pool.h"

namespace dyad::kernels {
namespace {

struct PoolCase {
  const char* name;
  int64_t c, in, out, kernel, stride, pad;
};

struct Variant {
  const char* name;
  bool (*present)();
  void (*max_pool)(const Pool2dParams&, const void*, void*, ThreadPool*);
  void (*average_pool)(const Pool2dParams&, const void*, void*, ThreadPool*);
  void (*global_average_pool)(const GlobalAveragePoolParams&, const void*, void*);
};

const Variant kVariants[] = {
    {"dyad_ref", [] { return true; }, max_pool__ref, average_pool__ref, global_average_pool__ref},
    {"dyad_avx2", [] { return cpu_features().avx2; }, max_pool__avx2, average_pool__avx2, global_average_pool__avx2},
    {"dyad_avx512", avx512_elementwise_present, max_pool__avx512, average_pool__avx512, global_average_pool__avx512},
};

std::vector<int8_t> random_bytes(size_t n) {
  std::mt19937 rng(1);
  std::vector<int8_t> x(n);
  for (int8_t& v : x) v = static_cast<int8_t>(rng());
  return x;
}

void bench_pool2d(benchmark::State& state, PoolCase k, Variant v, bool average) {
  if (!v.present()) {
    state.SkipWithError("this CPU lacks the variant's ISA");
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
  const std::vector<int8_t> x = random_bytes(static_cast<size_t>(k.in * k.in * k.c));
  std::vector<int8_t> y(static_cast<size_t>(k.out * k.out * k.c));
  for (auto _ : state) {
    (average ? v.average_pool : v.max_pool)(p, x.data(), y.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(1e-9 * static_cast<double>(x.size() + y.size()),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void bench_global(benchmark::State& state, int64_t c, int64_t hw, Variant v) {
  if (!v.present()) {
    state.SkipWithError("this CPU lacks the variant's ISA");
    return;
  }
  GlobalAveragePoolParams p;
  p.pixels = hw * hw;
  p.channels = c;
  p.type = IntType::kS8;
  const std::vector<int8_t> x = random_bytes(static_cast<size_t>(p.pixels * c));
  std::vector<int8_t> y(static_cast<size_t>(c));
  for (auto _ : state) {
    v.global_average_pool(p, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(1e-9 * static_cast<double>(x.size() + y.size()),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  for (const Variant& v : kVariants) {
    for (const PoolCase k : {PoolCase{"64x112x112_3x3s2p1", 64, 112, 56, 3, 2, 1},
                             PoolCase{"64x56x56_2x2s2", 64, 56, 28, 2, 2, 0}}) {
      const std::string name = std::string("max_pool/") + v.name + "/" + k.name;
      benchmark::RegisterBenchmark(name.c_str(), bench_pool2d, k, v, false)->Unit(benchmark::kMicrosecond);
    }
    for (const PoolCase k : {PoolCase{"96x28x28_3x3s1p1", 96, 28, 28, 3, 1, 1},
                             PoolCase{"64x56x56_2x2s2", 64, 56, 28, 2, 2, 0}}) {
      const std::string name = std::string("average_pool/") + v.name + "/" + k.name;
      benchmark::RegisterBenchmark(name.c_str(), bench_pool2d, k, v, true)->Unit(benchmark::kMicrosecond);
    }
    for (const auto& [c, hw] : {std::pair<int64_t, int64_t>{512, 7}, {1280, 7}}) {
      const std::string name = std::string("global_average_pool/") + v.name + "/" + std::to_string(c) + "x" +
                               std::to_string(hw) + "x" + std::to_string(hw);
      benchmark::RegisterBenchmark(name.c_str(), bench_global, c, hw, v)->Unit(benchmark::kMicrosecond);
    }
  }
  return true;
}();

}  // namespace
}  // namespace dyad::kernels
