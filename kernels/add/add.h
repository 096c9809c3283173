// Residual add of two dyadic branches (docs/format.md "add"):
//   y = clamp(z_y + rne((a - z_a) * m_a[c] / 2^e_a[c]) + rne((b - z_b) * m_b[c] / 2^e_b[c]))
// Each branch is rounded on its own, the sum is clamped once (numerics.md
// 2.2). c is the index along the last axis. a, b, y may be any integer dtype.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/common/int_elements.h"
#include "kernels/common/requant.h"

namespace dyad::kernels {

class ThreadPool;

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

// One output of the definition above (values a and b of their dtypes).
int64_t add_value(const AddParams& p, int64_t a, int64_t b, Dyadic a_requant, Dyadic b_requant);

// ---- Vector variants (add_simd.h, add_avx2.cc, add_avx512.cc, add_neon.cc;
// plan in add_plan.cc) ----
// Each branch is computed exactly in 64-bit lanes: d = x - z in int32, then
// t = (d * m) << ls and rne(t / 2^rs) with rs in [1, 63], |t| <= 2^62.
// docs/kernels.md ("add") has the argument.

// Constants of 8 consecutive elements; index [0] holds the even elements
// (0, 2, 4, 6), [1] the odd ones, as 64-bit lanes (vpmuldq reads the even
// 32-bit lanes of d directly, and the odd ones after a 32-bit shift).
struct alignas(32) AddBlock8 {
  struct Branch {
    int64_t mult[2][4];    // m (vpmuldq reads the low 32 bits, signed)
    int64_t lshift[2][4];  // ls: 1 - e when e <= 0, else 0
    int64_t rshift[2][4];  // rs in [1, 63]
    int64_t round[2][4];   // 2^(rs-1) - 1 + 2^63 (mod 2^64)
  } a, b;
  int64_t offset[2][4];    // dst_zp - 2^(63 - rs_a) - 2^(63 - rs_b) (mod 2^64)
  // The narrow path (AddVecPlan::narrow, add_narrow.cc), in element order.
  // An 8-bit input: (x * mult + round) >> shift in int32 (mod 2^32 until the
  // shift). A 16/32-bit input: hi32((x - z) * mult + round64) >> shift, the
  // product in 64-bit lanes (even and odd elements apart).
  struct NarrowBranch {
    int32_t mult[8];
    int32_t mult_odd[8];    // 16/32-bit: mult of elements 1, 3, 5, 7 at 0, 2, 4, 6
    int32_t round[8];       // 8-bit: (2^(shift-1) or one less) - z * mult, mod 2^32
    int32_t shift[8];       // 8-bit: the shift; 16/32-bit: e - 32
    int64_t round64[2][4];  // 16/32-bit: 2^(e-1), [0] even elements, [1] odd
    // 8-bit, split form (AddVecPlan::split8): m = mult * 2^16 + mult_lo,
    // (x * mult + round + ((x * mult_lo + round_lo) >> 16)) >> shift.
    int32_t mult_lo[8];
    int32_t round_lo[8];
  } narrow_a, narrow_b;
  // The narrow path's exact wide branch (AddVecPlan::narrow_exact_wide): the
  // 2^(63 - rs) that the wide branch's logical shift adds, [0] even, [1] odd.
  int64_t exact_bias[2][4];
};

inline constexpr int64_t kNarrowExactLimit = int64_t{1} << 30;

struct AddVecPlan {
  AddParams params;
  size_t period = 8;               // lcm(channels, 8): constants repeat every period elements
  // Every branch has a 32-bit-lane form proved to give the same output
  // (add_narrow.cc): at least one input is 8-bit.
  bool narrow = false;
  // On the narrow path, the 16/32-bit branch is the exact 64-bit rne of
  // `blocks[].a` or `.b`, unbiased and clamped to +-kNarrowExactLimit in
  // int32 (add_narrow.cc), instead of the floor form: when a tie could reach
  // the clamp window but the window and the 8-bit branch are small.
  bool narrow_exact_wide = false;
  // On the narrow path, an 8-bit branch in the split form (add_narrow.cc):
  // its multiplier as two 16-bit halves, for branches too large for one
  // 32-bit product (BERT's residuals reach 2^21). [0] a, [1] b.
  bool split8[2] = {false, false};
  std::vector<AddBlock8> blocks;   // period / 8
  std::vector<Dyadic> a_requant, b_requant;  // the original pairs, for the scalar tails
};

// Fills `plan` when the vector variants are exact for every input of the
// containers: a, b and dst of types s8, u8, s16, s32; x - z fits int32 for
// every value of each input container; each branch's |d| * |m| * 2^ls
// stays within 2^62. Otherwise returns false and says why.
bool add_vec_plan(const AddParams& p, const Dyadic* a_requant, const Dyadic* b_requant, AddVecPlan* plan,
                  std::string* why);

// Sets plan->narrow and the blocks' narrow constants when they apply
// (add_narrow.cc; called by add_vec_plan).
void plan_narrow(const AddParams& p, const Dyadic* a_requant, const Dyadic* b_requant, AddVecPlan* plan);

// Elements [begin, end) by the reference formula (out of line, generic build:
// the vector loops' tails).
void add_scalar_range(const AddVecPlan& plan, const void* a, const void* b, void* dst, size_t begin,
                      size_t end);

// Split over `pool` (may be null) in chunks of whole constant periods. AVX2:
// 8 elements (one block) per step; AVX-512 (F/BW/VL/DQ): 16 (two blocks).
void add__avx2(const AddVecPlan& plan, const void* a, const void* b, void* dst, ThreadPool* pool);
void add__avx512(const AddVecPlan& plan, const void* a, const void* b, void* dst, ThreadPool* pool);
// 64-bit ARM (add_neon.cc, built on aarch64 only): 8 elements per step, as AVX2.
void add__neon(const AddVecPlan& plan, const void* a, const void* b, void* dst, ThreadPool* pool);

}  // namespace dyad::kernels
