// The reference GEMM: the definition in gemm.h written out, one output at a
// time, int64 accumulation, requant.h for the rounding. Slow on purpose; it is
// the oracle every other variant is compared with bit for bit.
#include "kernels/gemm/gemm_internal.h"

namespace dyad::kernels {

void gemm_x8_qc8w__ref(const GemmPlan& plan, const GemmArgs& args) {
  const GemmDesc& d = plan.desc;
  const auto* src_s8 = static_cast<const int8_t*>(args.src);
  const auto* src_u8 = static_cast<const uint8_t*>(args.src);
  for (size_t m = 0; m < args.M; ++m) {
    for (int32_t n = 0; n < d.N; ++n) {
      int64_t acc = plan.bias[n];
      for (int32_t k = 0; k < d.K; ++k) {
        const size_t i = m * args.src_stride + k;
        const int32_t x = d.src_signed ? src_s8[i] : src_u8[i];
        acc += int64_t{x - d.src_zp} * plan.wei[size_t(n) * d.K + k];
      }
      const size_t o = m * args.dst_stride + n;
      if (d.dst_type == GemmDstType::kInt32) {
        // Only a K >= 2^16 or a huge bias can leave int32; saturate then.
        static_cast<int32_t*>(args.dst)[o] = static_cast<int32_t>(clamp_int64(acc, INT32_MIN, INT32_MAX));
        continue;
      }
      const int64_t scaled = dyadic_rne(acc, plan.requant[n].m, plan.requant[n].e);
      const int64_t y = clamp_int64(add_saturate(d.dst_zp, scaled), d.qmin, d.qmax);
      if (d.dst_type == GemmDstType::kInt8) {
        static_cast<int8_t*>(args.dst)[o] = static_cast<int8_t>(y);
      } else {
        static_cast<uint8_t*>(args.dst)[o] = static_cast<uint8_t>(y);
      }
    }
  }
}

}  // namespace dyad::kernels
