// dyad's side of the GEMM-based benchmarks (gemm_bench, conv_bench): one
// weight/activation configuration, its plan on random weights with a real
// requantized int8 output, random activations, a thread pool and scratch.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/thread_pool.h"
#include "kernels/gemm/gemm.h"

namespace dyad::bench {

struct GemmConfig {
  const char* name;
  int32_t src_min, src_max, src_zp;  // unsigned activations
  int weight_bits;
  // A variant of gemm.inc to force (e.g. the AVX2 W8A8 next to the VNNI one
  // dispatch picks), or nullptr for the planner's choice.
  const char* variant = nullptr;
};

class DyadGemm {
 public:
  // N output channels, K reduction, M rows (the planner's hint and the size of src()).
  DyadGemm(const GemmConfig& c, int64_t M, int64_t N, int64_t K, int threads) : M_(M), N_(N), K_(K) {
    std::mt19937 rng(1);
    const int32_t wmax = c.weight_bits == 4 ? 7 : 127;
    std::vector<int8_t> wei(N * K);
    for (int8_t& w : wei) w = static_cast<int8_t>(std::uniform_int_distribution<int>(-wmax - 1, wmax)(rng));
    const std::vector<int32_t> bias(N, 1000);
    const std::vector<kernels::Dyadic> requant(N, kernels::Dyadic{1518500250, 42});
    kernels::GemmDesc d;
    d.N = static_cast<int32_t>(N);
    d.K = static_cast<int32_t>(K);
    d.M_hint = static_cast<int32_t>(M);
    d.src_signed = false;
    d.src_min = c.src_min;
    d.src_max = c.src_max;
    d.src_zp = c.src_zp;
    d.weight_bits = c.weight_bits;
    d.dst_type = kernels::GemmDstType::kInt8;
    const kernels::GemmWeights w{wei.data(), bias.data(), requant.data()};
    plan_ = c.variant ? kernels::gemm_plan_variant(d, w, c.variant, &error_)
                      : kernels::gemm_plan(d, w, &error_);
    if (!plan_) return;
    src_.resize(M * K);
    for (uint8_t& x : src_) x = static_cast<uint8_t>(std::uniform_int_distribution<int>(c.src_min, c.src_max)(rng));
    dst_.resize(M * N);
    if (threads > 1) pool_ = std::make_unique<kernels::ThreadPool>(threads);
    const int pool_threads = pool_ ? pool_->num_threads() : 1;
    scratch_.resize(pool_threads * kernels::gemm_scratch_bytes_per_thread(*plan_) + 64);
  }

  // Empty when the plan was made; else why not.
  const std::string& error() const { return error_; }
  const char* variant() const { return kernels::gemm_plan_variant_name(*plan_); }
  const kernels::GemmPlan& plan() const { return *plan_; }
  kernels::ThreadPool* pool() const { return pool_.get(); }
  uint8_t* src() { return src_.data(); }
  const int8_t* dst() const { return dst_.data(); }
  int8_t* dst() { return dst_.data(); }

  // dst = requant(a * W), a: M x K rows (src() by default).
  void run(const uint8_t* a) {
    auto* scratch = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratch_.data()) + 63) & ~uintptr_t{63});
    kernels::gemm_run(*plan_, a, M_, K_, dst_.data(), N_, pool_.get(), scratch);
  }

 private:
  int64_t M_, N_, K_;
  std::string error_;
  kernels::GemmPlanPtr plan_;
  std::vector<uint8_t> src_;
  std::vector<int8_t> dst_;
  std::unique_ptr<kernels::ThreadPool> pool_;
  std::vector<uint8_t> scratch_;
};

}  // namespace dyad::bench
