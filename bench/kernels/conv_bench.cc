// Convolution throughput: dyad's conv2d GEMM path (the direct convolution
// where the variant reads windows in place, else im2col + exact GEMM, with
// the requant epilogue, as engine/ops/conv2d.cc runs it) next to oneDNN's direct
// convolution (u8s8s32 and f32, NHWC, limited to AVX2 like dyad) on the
// ResNet-18 layers, in the same binary. GOP/s = 2 * MACs per second.
//
//   build/bench/dyad_bench --benchmark_filter=conv/ --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/common/dyad_gemm_setup.h"
#include "bench/common/onednn_setup.h"
#include "kernels/common/thread_pool.h"
#include "kernels/common/aligned_bytes.h"
#include "kernels/conv2d/conv_direct.h"
#include "kernels/conv2d/im2col.h"
#include "kernels/gemm/gemm.h"

namespace dyad::kernels {
namespace {

struct ConvShape {
  const char* name;
  int64_t in_hw, in_c, out_c, kernel, stride, pad;
  int64_t out_hw() const { return (in_hw + 2 * pad - kernel) / stride + 1; }
  int64_t macs() const { return out_hw() * out_hw() * out_c * kernel * kernel * in_c; }
};

constexpr ConvShape kConvShapes[] = {
    {"resnet18_stem_224x3_7x7s2_64", 224, 3, 64, 7, 2, 3},
    {"resnet18_conv2_56x64_3x3_64", 56, 64, 64, 3, 1, 1},
    {"resnet18_conv3_28x128_3x3_128", 28, 128, 128, 3, 1, 1},
    {"resnet18_conv4_14x256_3x3_256", 14, 256, 256, 3, 1, 1},
    {"resnet18_conv5_7x512_3x3_512", 7, 512, 512, 3, 1, 1},
};

constexpr bench::GemmConfig kConvConfigs[] = {
    {"W8A8", 0, 255, 128, 8},
    // ResNet's activations (uint8 after a ReLU, zero point 0): the padding
    // is u = 0, and the taps over it are skipped (kernels/gemm/gemm_windows.h).
    {"W8A8zp0", 0, 255, 0, 8},
    {"W4A8", 0, 255, 128, 4},
    {"W4A4", 0, 15, 0, 4},
};

void set_conv_counters(benchmark::State& state, const ConvShape& s) {
  state.counters["GOP/s"] =
      benchmark::Counter(2e-9 * static_cast<double>(s.macs()), benchmark::Counter::kIsIterationInvariantRate);
}

void bench_dyad_conv(benchmark::State& state, ConvShape s, bench::GemmConfig c, int threads) {
  Conv2dParams p;
  p.in_h = p.in_w = s.in_hw;
  p.in_c = s.in_c;
  p.out_h = p.out_w = s.out_hw();
  p.out_c = s.out_c;
  p.kernel_h = p.kernel_w = s.kernel;
  p.stride_h = p.stride_w = s.stride;
  p.pad_top = p.pad_left = s.pad;
  p.src_zero_point = c.src_zp;
  // The GEMM's rows are the output pixels; K is the window, as the engine
  // lays it out for a direct convolution (the stem's rows padded to whole k
  // quads: random weights there too, the same work), else as im2col gathers it.
  auto gemm_ptr = std::make_unique<bench::DyadGemm>(c, p.out_h * p.out_w, s.out_c, conv_direct_k(p), threads);
  if (gemm_ptr->error().empty() && !conv_direct_supported(gemm_ptr->plan(), p))
    gemm_ptr = std::make_unique<bench::DyadGemm>(c, p.out_h * p.out_w, s.out_c, s.kernel * s.kernel * s.in_c, threads);
  bench::DyadGemm& gemm = *gemm_ptr;
  if (!gemm.error().empty()) {
    state.SkipWithError(gemm.error().c_str());
    return;
  }
  std::mt19937 rng(2);
  std::vector<uint8_t> image(s.in_hw * s.in_hw * s.in_c);
  for (uint8_t& x : image) x = static_cast<uint8_t>(std::uniform_int_distribution<int>(c.src_min, c.src_max)(rng));
  if (conv_direct_supported(gemm.plan(), p)) {
    const size_t shared = conv_direct_shared_scratch_bytes(p);
    const size_t threads_in_pool = gemm.pool() ? static_cast<size_t>(gemm.pool()->num_threads()) : 1;
    AlignedBytes scratch;
    if (!scratch.allocate(shared + threads_in_pool * gemm_scratch_bytes_per_thread(gemm.plan()))) {
      state.SkipWithError("out of memory");
      return;
    }
    for (auto _ : state) {
      conv_direct_run(gemm.plan(), p, image.data(), gemm.dst(), gemm.pool(), scratch.data());
      benchmark::DoNotOptimize(gemm.dst());
      benchmark::ClobberMemory();
    }
    state.SetLabel(std::string("direct+") + gemm.variant());
    set_conv_counters(state, s);
    return;
  }
  for (auto _ : state) {
    im2col_x8(p, image.data(), static_cast<uint8_t>(c.src_zp), gemm.src(), gemm.pool());
    gemm.run(gemm.src());
    benchmark::DoNotOptimize(gemm.dst());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string("im2col+") + gemm.variant());
  set_conv_counters(state, s);
}

void bench_onednn_conv(benchmark::State& state, ConvShape s, bool int8, int threads) {
  using namespace dnnl;
  bench::limit_onednn_isa_once();
  const int previous_threads = bench::set_onednn_threads(threads);
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  using dt = memory::data_type;
  using tag = memory::format_tag;
  const dt src_t = int8 ? dt::u8 : dt::f32, wei_t = int8 ? dt::s8 : dt::f32;
  const dt dst_t = int8 ? dt::s32 : dt::f32;
  const memory::dims src_dims = {1, s.in_c, s.in_hw, s.in_hw};
  const memory::dims wei_dims = {s.out_c, s.in_c, s.kernel, s.kernel};
  const memory::dims dst_dims = {1, s.out_c, s.out_hw(), s.out_hw()};
  memory::desc src_md(src_dims, src_t, tag::nhwc);
  memory::desc wei_any(wei_dims, wei_t, tag::any);
  memory::desc wei_user_md(wei_dims, wei_t, tag::ohwi);
  memory::desc dst_md(dst_dims, dst_t, tag::nhwc);
  convolution_forward::primitive_desc pd(
      convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, src_md, wei_any,
                                dst_md, {s.stride, s.stride}, {s.pad, s.pad}, {s.pad, s.pad}),
      eng);
  memory src_m(src_md, eng), wei_user(wei_user_md, eng), wei_m(pd.weights_desc(), eng), dst_m(dst_md, eng);
  std::mt19937 rng(1);
  const int64_t n_src = s.in_hw * s.in_hw * s.in_c, n_wei = s.out_c * s.in_c * s.kernel * s.kernel;
  if (int8) {
    auto* sp = static_cast<uint8_t*>(src_m.get_data_handle());
    for (int64_t i = 0; i < n_src; ++i) sp[i] = static_cast<uint8_t>(rng() % 256);
    auto* wp = static_cast<int8_t*>(wei_user.get_data_handle());
    for (int64_t i = 0; i < n_wei; ++i) wp[i] = static_cast<int8_t>(rng() % 256 - 128);
  } else {
    auto* sp = static_cast<float*>(src_m.get_data_handle());
    for (int64_t i = 0; i < n_src; ++i) sp[i] = static_cast<float>(rng() % 256);
    auto* wp = static_cast<float*>(wei_user.get_data_handle());
    for (int64_t i = 0; i < n_wei; ++i) wp[i] = static_cast<float>(rng() % 256) - 128;
  }
  reorder(wei_user, wei_m).execute(strm, wei_user, wei_m);
  convolution_forward prim(pd);
  const std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}};
  bench::time_primitive(state, prim, args, strm, pd.impl_info_str());
  set_conv_counters(state, s);
  bench::set_onednn_threads(previous_threads);
}

const bool kConvRegistered = [] {
  for (const ConvShape& s : kConvShapes) {
    for (int threads : {1, 2}) {
      const std::string suffix = std::string("/") + s.name + "/threads:" + std::to_string(threads);
      auto configure = [threads](benchmark::internal::Benchmark* b) {
        b->Unit(benchmark::kMicrosecond);
        if (threads > 1) b->UseRealTime();  // single thread: CPU time (shared machine)
      };
      for (const bench::GemmConfig& c : kConvConfigs) {
        configure(benchmark::RegisterBenchmark(("conv/dyad_" + std::string(c.name) + suffix).c_str(),
                                               bench_dyad_conv, s, c, threads));
      }
      for (bool int8 : {true, false}) {
        configure(benchmark::RegisterBenchmark(
            ((int8 ? "conv/onednn_u8s8s32" : "conv/onednn_f32") + suffix).c_str(), bench_onednn_conv, s, int8,
            threads));
      }
    }
  }
  return true;
}();

}  // namespace
}  // namespace dyad::kernels
