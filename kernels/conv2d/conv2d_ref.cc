#include "kernels/conv2d/conv2d.h"

#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

namespace {

template <typename Src>
void conv2d_ref(const Conv2dParams& p, const Src* src, const int8_t* wei, const int32_t* bias,
                void* dst, ThreadPool* pool) {
  const int64_t in_per_group = p.in_c / p.groups;
  const int64_t out_per_group = p.out_c / p.groups;
  // One task per output row (n, oh); every output element is computed by one task.
  parallel_for(pool, static_cast<size_t>(p.batch * p.out_h), [&](size_t task) {
    const int64_t n = static_cast<int64_t>(task) / p.out_h;
    const int64_t oh = static_cast<int64_t>(task) % p.out_h;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      if (stop_requested(pool)) return;  // a cancelled run discards this step
      for (int64_t o = 0; o < p.out_c; ++o) {
        const int64_t first_in = (o / out_per_group) * in_per_group;
        int64_t acc = bias != nullptr ? bias[o] : 0;
        for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
          const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
          if (ih < 0 || ih >= p.in_h) continue;  // padding: x == z_x contributes 0
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
            if (iw < 0 || iw >= p.in_w) continue;
            const Src* x = src + ((n * p.in_h + ih) * p.in_w + iw) * p.in_c + first_in;
            const int8_t* w = wei + ((o * p.kernel_h + kh) * p.kernel_w + kw) * in_per_group;
            for (int64_t ci = 0; ci < in_per_group; ++ci)
              acc += (static_cast<int64_t>(x[ci]) - p.src_zero_point) * w[ci];
          }
        }
        store_output(p.out, acc, o, dst,
                     static_cast<size_t>(((n * p.out_h + oh) * p.out_w + ow) * p.out_c + o));
      }
    }
  });
}

}  // namespace

void conv2d_s8_qc8w__ref(const Conv2dParams& p, const int8_t* src, const int8_t* wei,
                         const int32_t* bias, void* dst, ThreadPool* pool) {
  conv2d_ref(p, src, wei, bias, dst, pool);
}

void conv2d_u8_qc8w__ref(const Conv2dParams& p, const uint8_t* src, const int8_t* wei,
                         const int32_t* bias, void* dst, ThreadPool* pool) {
  conv2d_ref(p, src, wei, bias, dst, pool);
}

}  // namespace dyad::kernels
