// GEMM throughput: dyad's variants next to oneDNN matmul (u8s8s32 and f32) on
// the same shapes in the same binary, reported as GOP/s = 2*M*N*K per second.
//
//   build-*/bench/dyad_bench --benchmark_filter=gemm --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//
// Shapes are M x N x K (rows, output channels, reduction): BERT-base (hidden
// 768, FFN 3072, sequence 128), a square 1024, GEMV (one token), and the
// ResNet-18 3x3 convolutions as im2col GEMMs (M = OH*OW, N = O, K = 9*C).
// dyad runs each weight/activation width through gemm_plan (the variant it
// picks is in the label) with an int8 requantized output, the real layer;
// oneDNN writes s32 or f32 without requantization. Threads: 1 for every
// shape (timed in CPU time: the machine is shared), 2 for the large ones
// (timed in real time). oneDNN runs at its native ISA, or capped with
// DYAD_BENCH_ONEDNN_ISA=avx2 (bench/common/onednn_setup.h); dyad_W8A8 is the
// dispatcher's choice (VNNI where present), dyad_W8A8_avx2 the AVX2 variant.
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/common/dyad_gemm_setup.h"
#include "bench/common/onednn_setup.h"
#include "kernels/common/thread_pool.h"
#include "kernels/gemm/gemm.h"

namespace dyad::kernels {
namespace {

struct Shape {
  const char* name;
  int64_t M, N, K;
  bool two_threads;  // also run with 2 threads
};

constexpr Shape kShapes[] = {
    {"bert_qkv_128x768x768", 128, 768, 768, true},
    {"bert_ffn2_128x768x3072", 128, 768, 3072, true},
    {"bert_ffn1_128x3072x768", 128, 3072, 768, true},
    {"square_1024x1024x1024", 1024, 1024, 1024, true},
    {"gemv_1x768x3072", 1, 768, 3072, false},
    {"gemv_1x4096x4096", 1, 4096, 4096, true},
    {"gemv_1x8192x8192", 1, 8192, 8192, true},
    {"resnet18_conv2_3136x64x576", 3136, 64, 576, false},
    {"resnet18_conv3_784x128x1152", 784, 128, 1152, false},
    {"resnet18_conv4_196x256x2304", 196, 256, 2304, false},
    {"resnet18_conv5_49x512x4608", 49, 512, 4608, false},
};

constexpr bench::GemmConfig kConfigs[] = {
    {"W8A8", 0, 255, 128, 8},
    {"W4A8", 0, 255, 128, 4},
    {"W4A4", 0, 15, 0, 4},
    {"W8A4", 0, 15, 0, 8},
    // The AVX2 variants forced, for the VNNI speed-up in the same run.
    {"W8A8_avx2", 0, 255, 128, 8, "gemm_x8_qc8w_12x8__avx2"},
    {"W4A8_avx2", 0, 255, 128, 4, "gemm_x8_qc4w_4x24__avx2"},
};

void set_counters(benchmark::State& state, const Shape& s) {
  state.counters["GOP/s"] = benchmark::Counter(2e-9 * s.M * s.N * s.K,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

void bench_dyad(benchmark::State& state, Shape s, bench::GemmConfig c, int threads) {
  bench::DyadGemm gemm(c, s.M, s.N, s.K, threads);
  if (!gemm.error().empty()) {
    state.SkipWithError(gemm.error().c_str());
    return;
  }
  for (auto _ : state) {
    gemm.run(gemm.src());
    benchmark::DoNotOptimize(gemm.dst());
    benchmark::ClobberMemory();
  }
  state.SetLabel(gemm.variant());
  set_counters(state, s);
}

void bench_onednn(benchmark::State& state, Shape s, bool int8, int threads) {
  using namespace dnnl;
  bench::limit_onednn_isa_once();
  const int previous_threads = bench::set_onednn_threads(threads);
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  using dt = memory::data_type;
  const dt src_t = int8 ? dt::u8 : dt::f32, wei_t = int8 ? dt::s8 : dt::f32;
  const dt dst_t = int8 ? dt::s32 : dt::f32;
  memory::desc src_md({s.M, s.K}, src_t, memory::format_tag::ab);
  memory::desc wei_any({s.K, s.N}, wei_t, memory::format_tag::any);
  memory::desc wei_user_md({s.K, s.N}, wei_t, memory::format_tag::ab);
  memory::desc dst_md({s.M, s.N}, dst_t, memory::format_tag::ab);
  matmul::primitive_desc pd(matmul::desc(src_md, wei_any, dst_md), eng);
  memory src_m(src_md, eng), wei_user(wei_user_md, eng), wei_m(pd.weights_desc(), eng),
      dst_m(dst_md, eng);
  std::mt19937 rng(1);
  if (int8) {
    auto* sp = static_cast<uint8_t*>(src_m.get_data_handle());
    for (int64_t i = 0; i < s.M * s.K; ++i) sp[i] = static_cast<uint8_t>(rng() % 256);
    auto* wp = static_cast<int8_t*>(wei_user.get_data_handle());
    for (int64_t i = 0; i < s.K * s.N; ++i) wp[i] = static_cast<int8_t>(rng() % 256 - 128);
  } else {
    auto* sp = static_cast<float*>(src_m.get_data_handle());
    for (int64_t i = 0; i < s.M * s.K; ++i) sp[i] = static_cast<float>(rng() % 256);
    auto* wp = static_cast<float*>(wei_user.get_data_handle());
    for (int64_t i = 0; i < s.K * s.N; ++i) wp[i] = static_cast<float>(rng() % 256) - 128;
  }
  reorder(wei_user, wei_m).execute(strm, wei_user, wei_m);
  matmul prim(pd);
  const std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}};
  bench::time_primitive(state, prim, args, strm, pd.impl_info_str());
  set_counters(state, s);
  bench::set_onednn_threads(previous_threads);
}

// Registered at start-up so shapes and configs stay data. Single-thread runs
// are timed in CPU time (the machine is shared: time slices lost to other
// processes do not count), 2-thread runs in real time.
void configure(benchmark::internal::Benchmark* b, int threads) {
  b->Unit(benchmark::kMicrosecond);
  if (threads > 1) b->UseRealTime();
}

const bool kRegistered = [] {
  for (const Shape& s : kShapes) {
    for (int threads : {1, 2}) {
      if (threads == 2 && !s.two_threads) continue;
      const std::string suffix = std::string("/") + s.name + "/threads:" + std::to_string(threads);
      for (const bench::GemmConfig& c : kConfigs) {
        const std::string name = "gemm/dyad_" + std::string(c.name) + suffix;
        configure(benchmark::RegisterBenchmark(name.c_str(), bench_dyad, s, c, threads), threads);
      }
      for (bool int8 : {true, false}) {
        const std::string name = std::string(int8 ? "gemm/onednn_u8s8s32" : "gemm/onednn_f32") + suffix;
        configure(benchmark::RegisterBenchmark(name.c_str(), bench_onednn, s, int8, threads), threads);
      }
    }
  }
  return true;
}();

}  // namespace
}  // namespace dyad::kernels
