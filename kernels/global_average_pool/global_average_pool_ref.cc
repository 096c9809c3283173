#include "kernels/global_average_pool/global_average_pool.h"

#include <algorithm>
#include <vector>

#include "kernels/common/pool2d.h"

namespace dyad::kernels {

void global_average_pool__ref(const GlobalAveragePoolParams& p, const void* src, void* dst) {
  with_int_type(p.type, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(src);
    T* y = static_cast<T*>(dst);
    std::vector<int64_t> sum(static_cast<size_t>(p.channels));
    for (int64_t n = 0; n < p.batch; ++n) {
      std::fill(sum.begin(), sum.end(), 0);
      const T* image = x + n * p.pixels * p.channels;
      for (int64_t i = 0; i < p.pixels; ++i)
        for (int64_t c = 0; c < p.channels; ++c) sum[c] += image[i * p.channels + c];
      for (int64_t c = 0; c < p.channels; ++c)
        y[n * p.channels + c] = static_cast<T>(floor_div(sum[c], p.pixels));
    }
  });
}

}  // namespace dyad::kernels
