#include "kernels/attention/attention_fused.h"

#include <algorithm>
#include <atomic>

#include "kernels/common/int_elements.h"
#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

namespace {

size_t align64(size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

size_t attention_scratch_bytes(const AttentionPlan& plan) {
  const size_t cells = static_cast<size_t>(plan.scores.m * plan.scores.n);
  return align64(cells * sizeof(int32_t)) + align64(cells * sizeof(int16_t)) +
         align64(std::max(plan.scores_scratch, plan.context_scratch));
}

void attention_fused(const AttentionPlan& plan, const void* q, const void* k, const void* mask, const void* v,
                     void* ctx, ThreadPool* pool, uint8_t* scratch, size_t scratch_stride) {
  const MatmulParams& s = plan.scores;
  const MatmulParams& c = plan.context;
  const size_t cells = static_cast<size_t>(s.m * s.n);
  const size_t q_head = static_cast<size_t>(s.m * s.k) * int_type_bytes(s.a_type);
  const size_t k_head = static_cast<size_t>(s.n * s.k) * int_type_bytes(s.b_type);
  const size_t v_head = static_cast<size_t>(c.k * c.n) * int_type_bytes(c.b_type);
  const size_t ctx_head = static_cast<size_t>(c.m * c.n) * int_type_bytes(c.y_type);
  const size_t threads = pool ? static_cast<size_t>(pool->num_threads()) : 1;
  std::atomic<int64_t> next{0};
  parallel_for(pool, threads, [&](size_t slot) {
    uint8_t* base = scratch + slot * scratch_stride;
    auto* scores = reinterpret_cast<int32_t*>(base);
    auto* probs = reinterpret_cast<int16_t*>(base + align64(cells * sizeof(int32_t)));
    uint8_t* mm_scratch = base + align64(cells * sizeof(int32_t)) + align64(cells * sizeof(int16_t));
    const size_t mm_bytes = std::max(plan.scores_scratch, plan.context_scratch);
    for (int64_t h; !stop_requested(pool) && (h = next.fetch_add(1, std::memory_order_relaxed)) < plan.heads;) {
      const size_t hh = static_cast<size_t>(h);
      plan.scores_fn(s, static_cast<const uint8_t*>(q) + hh * q_head, static_cast<const uint8_t*>(k) + hh * k_head,
                     scores, nullptr, mm_scratch, mm_bytes);
      IntSoftmaxParams sp = plan.softmax;
      if (mask != nullptr) {
        sp.mask.data = mask;
        sp.mask = int_softmax_mask_rows(sp.mask, h * s.m, s.m);
      }
      plan.softmax_fn(sp, plan.softmax_plan, scores, probs, nullptr);
      plan.context_fn(c, probs, static_cast<const uint8_t*>(v) + hh * v_head,
                      static_cast<uint8_t*>(ctx) + hh * ctx_head, nullptr, mm_scratch, mm_bytes);
    }
  });
}

}  // namespace dyad::kernels
