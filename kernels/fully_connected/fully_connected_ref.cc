#include "kernels/fully_connected/fully_connected.h"

#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

namespace {

template <typename Src>
void fully_connected_ref(const FullyConnectedParams& p, const Src* src, const int8_t* wei,
                         const int32_t* bias, void* dst, ThreadPool* pool) {
  parallel_for(pool, static_cast<size_t>(p.rows), [&](size_t task) {
    const int64_t r = static_cast<int64_t>(task);
    const Src* x = src + r * p.in_features;
    for (int64_t o = 0; o < p.out_features; ++o) {
      const int8_t* w = wei + o * p.in_features;
      int64_t acc = bias != nullptr ? bias[o] : 0;
      for (int64_t k = 0; k < p.in_features; ++k)
        acc += (static_cast<int64_t>(x[k]) - p.src_zero_point) * w[k];
      store_output(p.out, acc, o, dst, static_cast<size_t>(r * p.out_features + o));
    }
  });
}

}  // namespace

void fully_connected_s8_qc8w__ref(const FullyConnectedParams& p, const int8_t* src,
                                  const int8_t* wei, const int32_t* bias, void* dst,
                                  ThreadPool* pool) {
  fully_connected_ref(p, src, wei, bias, dst, pool);
}

void fully_connected_u8_qc8w__ref(const FullyConnectedParams& p, const uint8_t* src,
                                  const int8_t* wei, const int32_t* bias, void* dst,
                                  ThreadPool* pool) {
  fully_connected_ref(p, src, wei, bias, dst, pool);
}

}  // namespace dyad::kernels
