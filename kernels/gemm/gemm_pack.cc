// Plan-time packing of GEMM weights and per-column constants (portable code;
// runs once per layer at model load).
//
// Packed layouts, one panel per `nr` output columns (n0 = panel * nr), K padded
// with zeros to kp (a multiple of 8), columns past N zero:
//   kWd              int8  [kp/2][nr][2]   byte (i, c, t) = w[n0 + c][2i + t]
//   kUbs, 8-bit      int8  [kp/4][nr][4]   byte (q, c, t) = w[n0 + c][4q + t]
//                    (also kDp and kSdot)
//   kSmmla           int8  [kp/8][nr][8]   byte (b, c, t) = w[n0 + c][8b + t]: per k
//                    block, columns in pairs of 16 bytes (one SMMLA operand)
//   kUbs, nibbles    uint8 [kp/8][nr/8][32]: byte j of vector v of quad pair p
//                    holds w[n0 + 8v + j/4][8p + j%4] + 8 in its low nibble and
//                    w[n0 + 8v + j/4][8p + 4 + j%4] + 8 in its high nibble, so
//                    one 32-byte load gives two quads of 8 columns (the
//                    unpacked form is the kUbs 8-bit layout).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/gemm/gemm_internal.h"

namespace dyad::kernels {

namespace {

int8_t wei_at(const GemmDesc& d, const int8_t* wei, int64_t n, int64_t k) {
  return (n < d.N && k < d.K) ? wei[n * d.K + k] : 0;
}

void pack_panel(const GemmPlan& plan, const int8_t* wei, int64_t n0, uint8_t* out) {
  const GemmDesc& d = plan.desc;
  const int64_t nr = plan.variant->nr, kp = plan.kp;
  if (plan.variant->family == GemmFamily::kWd) {
    for (int64_t i = 0; i < kp / 2; ++i)
      for (int64_t c = 0; c < nr; ++c)
        for (int64_t t = 0; t < 2; ++t)
          *out++ = static_cast<uint8_t>(wei_at(d, wei, n0 + c, 2 * i + t));
  } else if (plan.variant->family == GemmFamily::kSmmla) {
    for (int64_t b = 0; b < kp / 8; ++b)
      for (int64_t c = 0; c < nr; ++c)
        for (int64_t t = 0; t < 8; ++t)
          *out++ = static_cast<uint8_t>(wei_at(d, wei, n0 + c, 8 * b + t));
  } else if (plan.variant->packed_weight_bits == 8) {
    for (int64_t q = 0; q < kp / 4; ++q)
      for (int64_t c = 0; c < nr; ++c)
        for (int64_t t = 0; t < 4; ++t)
          *out++ = static_cast<uint8_t>(wei_at(d, wei, n0 + c, 4 * q + t));
  } else {
    for (int64_t p = 0; p < kp / 8; ++p)
      for (int64_t v = 0; v < nr / 8; ++v)
        for (int64_t j = 0; j < 32; ++j) {
          const int64_t n = n0 + 8 * v + j / 4, k = 8 * p + j % 4;
          const int lo = wei_at(d, wei, n, k) + 8, hi = wei_at(d, wei, n, k + 4) + 8;
          *out++ = static_cast<uint8_t>(lo | (hi << 4));
        }
  }
}

}  // namespace

bool gemm_pack(GemmPlan& plan, const GemmWeights& w, std::string* error) {
  const GemmDesc& d = plan.desc;
  const int64_t nr = plan.variant->nr;
  const int64_t np = int64_t{plan.n_panels} * nr;
  plan.panel_bytes = size_t(plan.kp) * nr / (plan.variant->packed_weight_bits == 4 ? 2 : 1);
  if (!plan.packed_wei.allocate_weights(plan.panel_bytes * plan.n_panels)) {
    if (error) *error = "gemm: out of memory packing the weights";
    return false;
  }
  try {
    plan.col_const.assign(np, 0);
    if (d.dst_type != GemmDstType::kInt32) plan.requant_blocks.assign(np / 8, RequantBlock8{});
  } catch (const std::bad_alloc&) {
    if (error) *error = "gemm: out of memory packing the weights";
    return false;
  }
  for (int32_t p = 0; p < plan.n_panels; ++p) {
    pack_panel(plan, w.wei, int64_t{p} * nr, plan.packed_wei.data() + p * plan.panel_bytes);
  }
  // Columns past N requantize by 0 (their outputs are dropped).
  for (int64_t n = 0; n < static_cast<int64_t>(plan.requant_blocks.size()) * 8; ++n)
    set_requant_lane(plan.requant_blocks[n / 8], static_cast<int>(n % 8),
                     n < d.N ? w.requant[n] : Dyadic{0, 1}, d.dst_zp);
  // Packed activations are a = src - src_offset, so
  //   sum_k (src - zp) w = sum_k a w + (src_offset - zp) sum_k w.
  // The constant is kept mod 2^32: the kernels add in int32 (wrapping), and
  // the planner proved the true accumulator fits int32, so the sum is exact.
  for (int64_t n = 0; n < d.N; ++n) {
    int64_t sum_w = 0;
    for (int64_t k = 0; k < d.K; ++k) sum_w += w.wei[n * d.K + k];
    const int64_t c = (w.bias ? w.bias[n] : 0) + (int64_t{plan.src_offset} - d.src_zp) * sum_w;
    plan.col_const[n] = static_cast<int32_t>(static_cast<uint32_t>(c));
    // With plan.col_in_floor_round (gemm.cc) the zmm VNNI epilogue's floor
    // path takes the column constant inside its 64-bit constant: (raw + c) *
    // m + R = raw * m + (c * m + R), where raw = sum_k a * w is the kernel's
    // int32 sum, which cannot wrap then; the rest are sums mod 2^64 of a
    // result that fits int64 (the true accumulator fits int32). Only where
    // the epilogue takes that path: 16 columns (col_in_floor_round plans
    // have zmm panels) whose two blocks both allow the high-half floor form
    // (Requant16::floor); the others add the column constant to the sums
    // and read the constant unchanged (the 64-bit form, or the exact path).
    const size_t group = size_t(n) / 16 * 2;
    if (plan.col_in_floor_round && plan.requant_blocks[group].floor_path() &&
        plan.requant_blocks[group + 1].floor_path()) {
      RequantBlock8& b = plan.requant_blocks[n / 8];
      const int lane = static_cast<int>(n % 8);
      int64_t& round = lane % 2 == 0 ? b.floor_round_even[lane / 2] : b.floor_round_odd[lane / 2];
      const uint64_t add = static_cast<uint64_t>(static_cast<int128_t>(c) * b.mult[lane]);
      round = static_cast<int64_t>(static_cast<uint64_t>(round) + add);
    }
  }
  return true;
}

}  // namespace dyad::kernels
