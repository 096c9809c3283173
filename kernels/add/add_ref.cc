#include "kernels/add/add.h"

#include <algorithm>

#include "kernels/requantize/requantize.h"

namespace dyad::kernels {

namespace {
// Keeps the kernel free of overflow even if the builder's precondition were
// broken; when it holds this changes nothing.
int128_t limit_branch(int128_t v) {
  const int128_t limit = static_cast<int128_t>(1) << kAddBranchBits;
  return v > limit ? limit : (v < -limit ? -limit : v);
}
}  // namespace

int64_t add_value(const AddParams& p, int64_t a, int64_t b, Dyadic a_requant, Dyadic b_requant) {
  const int128_t ra = dyadic_rne_wide(static_cast<int128_t>(a) - p.a_zero_point, a_requant.m, a_requant.e);
  const int128_t rb = dyadic_rne_wide(static_cast<int128_t>(b) - p.b_zero_point, b_requant.m, b_requant.e);
  return clamp_wide(p.dst_zero_point + limit_branch(ra) + limit_branch(rb), p.dst_min, p.dst_max);
}

void add__ref(const AddParams& p, const Dyadic* a_requant, const Dyadic* b_requant,
              const void* a, const void* b, void* dst) {
  constexpr size_t kBlock = 256;
  int64_t xa[kBlock], xb[kBlock];
  size_t c = 0;  // channel of element `first`
  for (size_t first = 0; first < p.count; first += kBlock) {
    const size_t n = std::min(kBlock, p.count - first);
    load_ints(a, p.a_type, first, n, xa);
    load_ints(b, p.b_type, first, n, xb);
    for (size_t k = 0; k < n; ++k) {
      xa[k] = add_value(p, xa[k], xb[k], a_requant[c], b_requant[c]);
      if (++c == p.channels) c = 0;
    }
    store_ints(xa, n, p.dst_type, dst, first);
  }
}

}  // namespace dyad::kernels
