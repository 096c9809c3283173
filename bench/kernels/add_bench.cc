// Residual add throughput, dyad's reference, AVX2 and AVX-512 kernels in the
// same binary, on ResNet-like activations (C x H x W = 64 x 56 x 56, NHWC):
// int32 accumulator + int8 identity -> int8 (the HAWQ residual of the shipped
// models) and int8 + int8 -> int8. GB/s counts bytes read and written;
// Gelem/s output elements. Single thread (the kernel is not threaded), CPU
// time.
//
//   build-*/bench/dyad_bench --benchmark_filter=add/ --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/add/add.h"
#include "kernels/common/cpu.h"

namespace dyad::kernels {
namespace {

struct AddCase {
  const char* name;
  IntType a_type;
};

void bench_add(benchmark::State& state, AddCase k, std::string variant) {
  constexpr size_t kC = 64, kCount = 56 * 56 * kC;
  AddParams p;
  p.count = kCount;
  p.channels = kC;
  p.a_type = k.a_type;
  p.b_type = IntType::kS8;
  p.dst_type = IntType::kS8;
  p.dst_min = 0;  // ReLU
  std::mt19937 rng(1);
  std::vector<Dyadic> qa(kC), qb(kC);
  for (size_t c = 0; c < kC; ++c) {
    qa[c] = {static_cast<int32_t>((1u << 30) + rng() % (1u << 30)), 38 + static_cast<int32_t>(rng() % 4)};
    qb[c] = {static_cast<int32_t>((1u << 30) + rng() % (1u << 30)), 31};
  }
  const size_t a_bytes = int_type_bytes(k.a_type);
  std::vector<uint8_t> a(kCount * a_bytes), b(kCount), y(kCount);
  for (uint8_t& v : a) v = static_cast<uint8_t>(rng());
  for (uint8_t& v : b) v = static_cast<uint8_t>(rng());
  AddVecPlan plan;
  std::string why;
  const bool present = variant == "ref" || (variant == "avx2" && kernel_isa_present(KernelIsa::kAvx2)) ||
                       (variant == "avx512" && avx512_elementwise_present());
  if (!present || (variant != "ref" && !add_vec_plan(p, qa.data(), qb.data(), &plan, &why))) {
    state.SkipWithError(("no " + variant + " variant on this CPU or for these operands " + why).c_str());
    return;
  }
  for (auto _ : state) {
    if (variant == "avx2") add__avx2(plan, a.data(), b.data(), y.data(), nullptr);
    else if (variant == "avx512") add__avx512(plan, a.data(), b.data(), y.data(), nullptr);
    else add__ref(p, qa.data(), qb.data(), a.data(), b.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(1e-9 * kCount * (a_bytes + 2),
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.counters["Gelem/s"] =
      benchmark::Counter(1e-9 * kCount, benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  for (const AddCase k : {AddCase{"s32+s8", IntType::kS32}, AddCase{"s8+s8", IntType::kS8}})
    for (const char* variant : {"ref", "avx2", "avx512"}) {
      const std::string name = std::string("add/dyad_") + variant + "/" + k.name + "/64x56x56";
      benchmark::RegisterBenchmark(name.c_str(), bench_add, k, std::string(variant))->Unit(benchmark::kMicrosecond);
    }
  return true;
}();

}  // namespace
}  // namespace dyad::kernels
