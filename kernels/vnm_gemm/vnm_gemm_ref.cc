// The reference V:N:M GEMM: the definition in vnm_gemm.h computed on the
// packed form, one output at a time, int64 accumulation, requant.h for the
// rounding. For each row and group it reads the row's two positions, maps
// them through the block's kept columns to absolute columns, and multiplies
// the two stored values with those activations. Slow on purpose: it is the
// oracle the AVX2 variants are compared with.
#include "kernels/vnm_gemm/vnm_gemm_internal.h"

namespace dyad::kernels {

void vnm_gemm_ref(const VnmGemmPlan& plan, const VnmArgs& args) {
  const VnmGemmDesc& d = plan.desc;
  const VnmShape& s = d.shape;
  const VnmLayout& l = plan.layout;
  const auto* src_s8 = static_cast<const int8_t*>(args.src);
  const auto* src_u8 = static_cast<const uint8_t*>(args.src);
  for (size_t t = 0; t < args.tokens; ++t) {
    for (int64_t n = 0; n < s.n; ++n) {
      int64_t acc = plan.bias[n];
      const int64_t block = n / s.v;
      for (int64_t g = 0; g < l.groups; ++g) {
        const int64_t unit = (n / 8) * l.group_pairs + g / 2;
        const uint8_t pos = plan.positions()[unit * 8 + n % 8] >> (4 * (g % 2));
        const uint8_t* kept = plan.columns() + (block * l.groups + g) * 4;
        for (int j = 0; j < 2; ++j) {
          const int64_t k = g * s.m + kept[(pos >> (2 * j)) & 3];
          if (k >= s.k) continue;  // a padding column (its value is 0)
          const int slot = static_cast<int>(4 * (n % 8) + 2 * (g % 2) + j);
          const int32_t w = vnm_value(plan.values(), s.value_bits, unit, slot);
          const size_t i = t * args.src_stride + k;
          const int32_t x = d.src_signed ? src_s8[i] : src_u8[i];
          acc += int64_t{x - d.src_zp} * w;
        }
      }
      const size_t o = t * args.dst_stride + n;
      if (d.dst_type == VnmDstType::kInt32) {
        static_cast<int32_t*>(args.dst)[o] = static_cast<int32_t>(clamp_int64(acc, INT32_MIN, INT32_MAX));
        continue;
      }
      const int64_t y = clamp_int64(add_saturate(d.dst_zp, dyadic_rne(acc, plan.requant[n].m, plan.requant[n].e)),
                                    d.qmin, d.qmax);
      if (d.dst_type == VnmDstType::kInt8) {
        static_cast<int8_t*>(args.dst)[o] = static_cast<int8_t>(y);
      } else {
        static_cast<uint8_t*>(args.dst)[o] = static_cast<uint8_t>(y);
      }
    }
  }
}

}  // namespace dyad::kernels
