// Depthwise 3x3 / 5x5 conv2d throughput: dyad's AVX2 and AVX-512 VNNI kernels
// (u8 activations with a zero point, s8 weights, bias, per-channel dyadic
// requant to u8, i.e. the real layer) next to oneDNN's u8s8s32 grouped
// convolution (groups = channels, s32 output, no requant) on the MobileNetV2
// 3x3 and MobileNetV3 / EfficientNet 5x5 depthwise layers, in the same binary.
// oneDNN is limited to AVX2 (bench/common/onednn_setup.h).
// GOP/s = 2 * OH * OW * C * K * K per second. Single thread, CPU time.
//
//   build-*/bench/dyad_bench --benchmark_filter=depthwise --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/common/onednn_setup.h"
#include "kernels/common/cpu.h"
#include "kernels/conv2d/depthwise.h"

namespace dyad::kernels {
namespace {

struct DwShape {
  int64_t k, c, in, stride;  // k x k window, square input, padding k / 2
  int64_t pad() const { return k / 2; }
  int64_t out() const { return (in + 2 * pad() - k) / stride + 1; }
  std::string name() const {
    return std::to_string(k) + "x" + std::to_string(k) + "/" + std::to_string(c) + "@" + std::to_string(in) +
           "x" + std::to_string(in) + "_s" + std::to_string(stride);
  }
};

constexpr DwShape kShapes[] = {
    // MobileNetV2
    {3, 32, 112, 1}, {3, 96, 112, 2}, {3, 144, 56, 1}, {3, 144, 56, 2}, {3, 192, 28, 1},
    {3, 192, 28, 2}, {3, 384, 14, 1}, {3, 576, 14, 1}, {3, 576, 14, 2}, {3, 960, 7, 1},
    // MobileNetV3-Large / EfficientNet-B0 5x5
    {5, 72, 56, 2}, {5, 120, 28, 1}, {5, 240, 28, 2}, {5, 480, 14, 1}, {5, 672, 14, 2}, {5, 960, 7, 1},
};

void set_counters(benchmark::State& state, const DwShape& s) {
  state.counters["GOP/s"] = benchmark::Counter(2e-9 * s.out() * s.out() * s.c * s.k * s.k,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

struct DyadVariant {
  const char* name;
  KernelIsa isa;
  int width;
  void (*run)(const DepthwisePlan&, const void*, void*, ThreadPool*, uint8_t*);
};
constexpr DyadVariant kDyadVariants[] = {
    {"avx2", KernelIsa::kAvx2, 16, depthwise_conv2d__avx2},
    {"avx512vnni", KernelIsa::kAvx512Vnni, 32, depthwise_conv2d__avx512vnni},
};

void bench_dyad(benchmark::State& state, DwShape s, DyadVariant variant) {
  if (!kernel_isa_present(variant.isa)) {
    state.SkipWithError((std::string("CPU lacks ") + kernel_isa_name(variant.isa)).c_str());
    return;
  }
  Conv2dParams p;
  p.in_h = p.in_w = s.in;
  p.in_c = p.out_c = p.groups = s.c;
  p.out_h = p.out_w = s.out();
  p.kernel_h = p.kernel_w = s.k;
  p.stride_h = p.stride_w = s.stride;
  p.pad_top = p.pad_left = s.pad();
  p.src_zero_point = 128;
  p.out.type = IntType::kU8;
  p.out.zero_point = 0;
  p.out.min = 0;
  p.out.max = 255;
  std::mt19937 rng(1);
  std::vector<int8_t> wei(static_cast<size_t>(s.c * s.k * s.k));
  for (int8_t& w : wei) w = static_cast<int8_t>(rng());
  std::vector<int32_t> bias(static_cast<size_t>(s.c), 1000);
  std::vector<Dyadic> requant(static_cast<size_t>(s.c), Dyadic{1518500250, 40});
  DepthwisePlan plan;
  std::string why;
  if (!depthwise_plan(p, false, wei.data(), bias.data(), requant.data(), variant.width, &plan, &why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  std::vector<uint8_t> x(static_cast<size_t>(s.in * s.in * s.c));
  for (uint8_t& v : x) v = static_cast<uint8_t>(rng());
  std::vector<uint8_t> y(static_cast<size_t>(s.out() * s.out() * s.c));
  std::vector<uint8_t> scratch_storage(plan.scratch_bytes_per_thread + 64);
  uint8_t* scratch = reinterpret_cast<uint8_t*>(
      (reinterpret_cast<uintptr_t>(scratch_storage.data()) + 63) & ~uintptr_t{63});
  for (auto _ : state) {
    variant.run(plan, x.data(), y.data(), nullptr, scratch);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, s);
}

void bench_onednn(benchmark::State& state, DwShape s) {
  using namespace dnnl;
  bench::limit_onednn_isa_once();
  const int previous_threads = bench::set_onednn_threads(1);
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  using dt = memory::data_type;
  using tag = memory::format_tag;
  const memory::dims src_dims = {1, s.c, s.in, s.in};
  const memory::dims wei_dims = {s.c, 1, 1, s.k, s.k};  // goihw
  const memory::dims dst_dims = {1, s.c, s.out(), s.out()};
  memory::desc src_md(src_dims, dt::u8, tag::nhwc);
  memory::desc wei_any(wei_dims, dt::s8, tag::any);
  memory::desc wei_user_md(wei_dims, dt::s8, tag::goihw);
  memory::desc dst_md(dst_dims, dt::s32, tag::nhwc);
  convolution_forward::desc desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                 src_md, wei_any, dst_md, {s.stride, s.stride}, {s.pad(), s.pad()},
                                 {s.pad(), s.pad()});
  convolution_forward::primitive_desc pd(desc, eng);
  memory src_m(pd.src_desc(), eng), wei_user(wei_user_md, eng), wei_m(pd.weights_desc(), eng),
      dst_m(pd.dst_desc(), eng);
  std::mt19937 rng(1);
  auto* sp = static_cast<uint8_t*>(src_m.get_data_handle());
  for (size_t i = 0; i < pd.src_desc().get_size(); ++i) sp[i] = static_cast<uint8_t>(rng());
  auto* wp = static_cast<int8_t*>(wei_user.get_data_handle());
  for (int64_t i = 0; i < s.c * s.k * s.k; ++i) wp[i] = static_cast<int8_t>(rng());
  reorder(wei_user, wei_m).execute(strm, wei_user, wei_m);
  convolution_forward prim(pd);
  const std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}};
  bench::time_primitive(state, prim, args, strm, pd.impl_info_str());
  set_counters(state, s);
  bench::set_onednn_threads(previous_threads);
}

const bool kRegistered = [] {
  for (const DwShape& s : kShapes) {
    const std::string suffix = std::string("/").append(s.name());
    for (const DyadVariant& v : kDyadVariants)
      benchmark::RegisterBenchmark((std::string("depthwise/dyad_") + v.name + suffix).c_str(), bench_dyad, s, v)
          ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("depthwise/onednn_u8s8s32") + suffix).c_str(), bench_onednn, s)
        ->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace
}  // namespace dyad::kernels
