#include "kernels/requantize/requantize.h"

#include <algorithm>

namespace dyad::kernels {

void requantize__ref(const RequantizeParams& p, const Dyadic* requant, const void* src,
                     void* dst) {
  constexpr size_t kBlock = 256;
  int64_t x[kBlock];
  size_t c = 0;  // channel of element `first`
  for (size_t first = 0; first < p.count; first += kBlock) {
    const size_t n = std::min(kBlock, p.count - first);
    load_ints(src, p.src_type, first, n, x);
    for (size_t k = 0; k < n; ++k) {
      x[k] = requantize_value(p, x[k], requant[c]);
      if (++c == p.channels) c = 0;
    }
    store_ints(x, n, p.dst_type, dst, first);
  }
}

}  // namespace dyad::kernels
