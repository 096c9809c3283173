// V:N:M sparse GEMM next to dyad's dense GEMM (kernels/gemm) on the same
// shapes, activations and requantized int8 output, one thread. Both come from
// their planner's choice, so DYAD_ISA caps both alike (avx512vnni by default
// on a VNNI CPU, DYAD_ISA=avxvnni or avx2 for the lower ISAs); the label names
// the variant each ran. GOP/s counts the DENSE work (2 * T * N * K per second) for both,
// so the sparse/dense speedup is the ratio of the two GOP/s columns.
//
//   build-*/bench/dyad_bench --benchmark_filter='^vnm/' --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//
// Shapes are T x N x K (tokens, output channels, reduction): BERT-base with
// 128 tokens (attention 768x768, FFN 3072x768 and 768x3072; attention also
// with 32 tokens) and GEMV with weights far beyond the 32 MB L3. The GEMV
// runs cycle through enough copies of the weights (>= 64 MB, twice the L3)
// that every run streams them from DRAM, as a model with many layers does;
// otherwise a 64:2:8 8192 x 8192 layer (20 MB packed) would sit in L3 while
// the dense one (64 MB) cannot.
//
// Patterns: 2:4 (M = 4), 64:2:5 and 64:2:8. Configs: W8A8 with uint8
// activations over the full [0, 255] (sparse family kSignA), W8A8 with int8
// activations in [-127, 127] (kSignW: I-BERT's symmetric activations), and
// W4A8 (int4 weights, kUbs). The variant each run used is in the label.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm/gemm.h"
#include "kernels/vnm_gemm/vnm_gemm.h"

namespace dyad::kernels {
namespace {

struct Shape {
  const char* name;
  int64_t T, N, K;
};

constexpr Shape kShapes[] = {
    {"bert_attn_32x768x768", 32, 768, 768},
    {"bert_attn_128x768x768", 128, 768, 768},
    {"bert_ffn1_128x3072x768", 128, 3072, 768},
    {"bert_ffn2_128x768x3072", 128, 768, 3072},
    {"gemv_1x8192x8192", 1, 8192, 8192},
    {"gemv_1x4096x16384", 1, 4096, 16384},
};

struct Pattern {
  const char* name;  // "dense" runs kernels/gemm
  int32_t v, m;
};

constexpr Pattern kPatterns[] = {{"dense", 0, 0}, {"2:4", 64, 4}, {"64:2:5", 64, 5}, {"64:2:8", 64, 8}};

struct Config {
  const char* name;
  bool src_signed;
  int32_t src_min, src_max, src_zp;
  int bits;
};

constexpr Config kConfigs[] = {
    {"W8A8u", false, 0, 255, 128, 8},
    {"W8A8s", true, -127, 127, 0, 8},
    {"W4A8u", false, 0, 255, 128, 4},
};

constexpr size_t kStreamBytes = size_t{64} << 20;  // GEMV: weights cycled through (2x L3)

// A dense N x K matrix with the V:2:M pattern (or fully dense for v == 0),
// values in [-wmax, wmax].
std::vector<int8_t> make_weights(std::mt19937& rng, const Shape& s, const Pattern& p, int32_t wmax) {
  std::uniform_int_distribution<int> val(-wmax, wmax);
  std::vector<int8_t> w(s.N * s.K, 0);
  if (p.v == 0) {
    for (int8_t& x : w) x = static_cast<int8_t>(val(rng));
    return w;
  }
  const int64_t groups = (s.K + p.m - 1) / p.m;
  std::vector<int> cols(p.m);
  for (int64_t b = 0; b * p.v < s.N; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      for (int c = 0; c < p.m; ++c) cols[c] = c;
      std::shuffle(cols.begin(), cols.end(), rng);
      for (int64_t r = b * p.v; r < std::min<int64_t>(s.N, (b + 1) * p.v); ++r) {
        int pos[4] = {0, 1, 2, 3};
        std::shuffle(pos, pos + 4, rng);
        for (int j = 0; j < 2; ++j) {
          const int64_t k = g * p.m + cols[pos[j]];
          if (k < s.K) w[r * s.K + k] = static_cast<int8_t>(val(rng));
        }
      }
    }
  }
  return w;
}

// One prepared layer: dense or sparse, with its run call.
struct Layer {
  GemmPlanPtr dense;
  VnmGemmPlanPtr sparse;
  size_t weight_bytes = 0;
  size_t scratch_bytes = 0;
  const char* variant = "";

  bool run(const uint8_t* src, size_t T, size_t K, int8_t* dst, size_t N, uint8_t* scratch) const {
    return dense ? gemm_run(*dense, src, T, K, dst, N, nullptr, scratch)
                 : vnm_gemm_run(*sparse, src, T, K, dst, N, nullptr, scratch);
  }
};

bool make_layer(const Shape& s, const Pattern& p, const Config& c, uint32_t seed, Layer* layer, std::string* error) {
  std::mt19937 rng(seed);
  const std::vector<int8_t> w = make_weights(rng, s, p, c.bits == 4 ? 7 : 127);
  const std::vector<int32_t> bias(s.N, 1000);
  const std::vector<Dyadic> requant(s.N, Dyadic{1518500250, 40});
  if (p.v == 0) {
    GemmDesc d;
    d.N = static_cast<int32_t>(s.N), d.K = static_cast<int32_t>(s.K), d.M_hint = static_cast<int32_t>(s.T);
    d.src_signed = c.src_signed, d.src_min = c.src_min, d.src_max = c.src_max, d.src_zp = c.src_zp;
    d.weight_bits = c.bits, d.dst_type = GemmDstType::kInt8;
    layer->dense = gemm_plan(d, {w.data(), bias.data(), requant.data()}, error);
    if (!layer->dense) return false;
    layer->weight_bytes = size_t(s.N) * s.K * c.bits / 8;
    layer->scratch_bytes = gemm_scratch_bytes_per_thread(*layer->dense);
    layer->variant = gemm_plan_variant_name(*layer->dense);
    return true;
  }
  VnmGemmDesc d;
  d.shape = {static_cast<int32_t>(s.N), static_cast<int32_t>(s.K), p.v, p.m, c.bits};
  d.tokens_hint = static_cast<int32_t>(s.T);
  d.src_signed = c.src_signed, d.src_min = c.src_min, d.src_max = c.src_max, d.src_zp = c.src_zp;
  d.dst_type = VnmDstType::kInt8;
  std::vector<uint8_t> blob;
  *error = vnm_pack(d.shape, w.data(), &blob);
  if (!error->empty()) return false;
  layer->sparse = vnm_gemm_plan(d, {blob.data(), blob.size(), bias.data(), requant.data()}, error);
  if (!layer->sparse) return false;
  layer->weight_bytes = blob.size();
  layer->scratch_bytes = vnm_gemm_scratch_bytes_per_thread(*layer->sparse);
  layer->variant = vnm_gemm_plan_variant_name(*layer->sparse);
  return true;
}

// The layers of one benchmark, built on its first call and kept for the
// process: Google Benchmark calls a benchmark function several times and
// interleaves repetitions with --benchmark_enable_random_interleaving. (All
// GEMV benchmarks together keep about 1.6 GB.)
const std::vector<Layer>* layers_for(const std::string& key, const Shape& s, const Pattern& p, const Config& c,
                                     std::string* error) {
  static std::map<std::string, std::vector<Layer>> cache;
  auto it = cache.find(key);
  if (it != cache.end()) return &it->second;
  std::vector<Layer> layers(1);
  if (!make_layer(s, p, c, 1, &layers[0], error)) return nullptr;
  // GEMV: enough copies that the weights come from DRAM every run.
  if (s.T == 1) {
    const size_t copies = (kStreamBytes + layers[0].weight_bytes - 1) / layers[0].weight_bytes;
    for (size_t i = 1; i < copies; ++i) {
      layers.emplace_back();
      if (!make_layer(s, p, c, static_cast<uint32_t>(i + 1), &layers.back(), error)) return nullptr;
    }
  }
  return &cache.emplace(key, std::move(layers)).first->second;
}

void bench(benchmark::State& state, std::string name, Shape s, Pattern p, Config c) {
  std::string error;
  const std::vector<Layer>* cached = layers_for(name, s, p, c, &error);
  if (cached == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  const std::vector<Layer>& layers = *cached;
  std::mt19937 rng(99);
  std::vector<uint8_t> src(s.T * s.K);
  for (uint8_t& x : src) x = static_cast<uint8_t>(std::uniform_int_distribution<int>(c.src_min, c.src_max)(rng));
  std::vector<int8_t> dst(s.T * s.N);
  std::vector<uint8_t> scratch_storage(layers[0].scratch_bytes + 64);
  uint8_t* scratch =
      reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratch_storage.data()) + 63) & ~uintptr_t{63});
  size_t next = 0;
  for (auto _ : state) {
    layers[next].run(src.data(), s.T, s.K, dst.data(), s.N, scratch);
    next = next + 1 == layers.size() ? 0 : next + 1;
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(layers[0].variant);
  state.counters["GOP/s"] =
      benchmark::Counter(2e-9 * s.T * s.N * s.K, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] =
      benchmark::Counter(1e-9 * layers[0].weight_bytes, benchmark::Counter::kIsIterationInvariantRate);
}

// Single-thread runs in CPU time: the machine is shared, and time slices
// lost to other processes do not count.
const bool kRegistered = [] {
  for (const Shape& s : kShapes) {
    for (const Config& c : kConfigs) {
      for (const Pattern& p : kPatterns) {
        const std::string name = std::string("vnm/") + s.name + "/" + c.name + "/" + p.name;
        benchmark::RegisterBenchmark(name.c_str(), bench, name, s, p, c)->Unit(benchmark::kMicrosecond);
      }
    }
  }
  return true;
}();

}  // namespace
}  // namespace dyad::kernels
