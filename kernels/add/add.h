// Residual add of two dyadic branches (docs/format.md "add"):
//   y = clamp(z_y + rne((a - z_a) * m_a[c] / 2^e_a[c]) + rne((b - z_b) * m_b[c] / 2^e_b[c]))
// Each branch is rounded on its own, the sum is clamped once (numerics.md
// 2.2). c is the index along the last axis. a, b, y may be any integer dtype.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/int_elements.h"
#include "kernels/common/requant.h"

namespace dyad::kernels {

// Precondition, proved by the builder (engine/ops/add.cc): each rounded branch
// is at most 2^125 in magnitude for every input of its dtype, so the sum is
// exact in 128 bits.
inline constexpr int kAddBranchBits = 125;

struct AddParams {
  size_t count = 0;     // elements of a, b and y
  size_t channels = 1;  // length of each requant array; count is a multiple of it
  IntType a_type = IntType::kS8, b_type = IntType::kS8, dst_type = IntType::kS8;
  int64_t a_zero_point = 0, b_zero_point = 0, dst_zero_point = 0;
  int64_t dst_min = -128, dst_max = 127;  // activation clamp within the dst dtype
};

void add__ref(const AddParams& p, const Dyadic* a_requant, const Dyadic* b_requant,
              const void* a, const void* b, void* dst);

}  // namespace dyad::kernels
