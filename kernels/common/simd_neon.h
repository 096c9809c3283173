// The operations of kernels/common/simd_avx2.h on 64-bit ARM Advanced SIMD
// (NEON, baseline armv8-a: include only from *_neon.cc files). Same names,
// same exact results per lane, and the same width: a vector is a pair of
// 128-bit registers (8 int32 lanes or 4 int64 lanes), so the templates'
// per-step constants (AddBlock8's 8 elements, the 4-lane 64-bit loads) and
// their loops are those of the AVX2 instantiation. Comparison results are
// all-ones lanes, as on AVX2.
//
// Where NEON differs from x86, the operation restores the x86 meaning:
// - shifts by a vector count (srlv64, sllv64): NEON's USHL reads a signed
//   count from each lane's low byte (negative = right), x86's reads the whole
//   lane as unsigned and gives 0 from 64 up; here the shift is formed with
//   USHL and the lanes whose count (unsigned) is above 63 are cleared;
// - 32 x 32 -> 64-bit products of the low halves of 64-bit lanes (mul_u32,
//   mul_s32): narrow to 32 bits, then UMULL / SMULL;
// - the 32-bit arithmetic shift by a vector count (srav32) clamps the count
//   to 31 first (x86 fills with the sign from 32 up);
// - 64-bit comparisons are CMGT (signed), min/max by bit select.
#pragma once

#include <arm_neon.h>

#include <cstdint>

#include "kernels/common/isa_namespace.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

struct Simd {
  struct V {
    uint64x2_t h[2];  // h[0]: int32 lanes 0-3 (int64 lanes 0-1), h[1]: the rest
  };
  using M32 = V;  // all-ones lanes
  using M64 = V;
  static constexpr int kLanes32 = 8;
  static constexpr int kLanes64 = 4;

  // Lane-wise helpers over the two halves.
  template <class F>
  static V map(V a, F f) { return {{f(a.h[0]), f(a.h[1])}}; }
  template <class F>
  static V map(V a, V b, F f) { return {{f(a.h[0], b.h[0]), f(a.h[1], b.h[1])}}; }
  static int32x4_t s32(uint64x2_t a) { return vreinterpretq_s32_u64(a); }
  static uint32x4_t u32(uint64x2_t a) { return vreinterpretq_u32_u64(a); }
  static int64x2_t s64(uint64x2_t a) { return vreinterpretq_s64_u64(a); }
  static uint64x2_t bits(int32x4_t a) { return vreinterpretq_u64_s32(a); }
  static uint64x2_t bits(uint32x4_t a) { return vreinterpretq_u64_u32(a); }
  static uint64x2_t bits(int64x2_t a) { return vreinterpretq_u64_s64(a); }
  static uint64x2_t bits(uint64x2_t a) { return a; }

  static V zero() { return set1_64(0); }
  static V set1_32(int32_t v) { const uint64x2_t x = bits(vdupq_n_s32(v)); return {{x, x}}; }
  static V set1_64(int64_t v) { const uint64x2_t x = vdupq_n_u64(static_cast<uint64_t>(v)); return {{x, x}}; }
  static V load(const void* p) {
    const auto* b = static_cast<const uint8_t*>(p);
    return {{vreinterpretq_u64_u8(vld1q_u8(b)), vreinterpretq_u64_u8(vld1q_u8(b + 16))}};
  }
  static void store(void* p, V v) {
    auto* b = static_cast<uint8_t*>(p);
    vst1q_u8(b, vreinterpretq_u8_u64(v.h[0]));
    vst1q_u8(b + 16, vreinterpretq_u8_u64(v.h[1]));
  }

  static V and_(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return vandq_u64(x, y); }); }
  static V or_(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return vorrq_u64(x, y); }); }
  static V xor_(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return veorq_u64(x, y); }); }

  // 32-bit lanes.
  static V add32(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return bits(vaddq_s32(s32(x), s32(y))); }); }
  static V sub32(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return bits(vsubq_s32(s32(x), s32(y))); }); }
  static V min32(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return bits(vminq_s32(s32(x), s32(y))); }); }
  static V max32(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return bits(vmaxq_s32(s32(x), s32(y))); }); }
  static V mullo32(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return bits(vmulq_s32(s32(x), s32(y))); }); }
  // Arithmetic right shift by a vector count, x86 semantics (vpsravd): the
  // count read as unsigned 32 bits, sign fill from 32 up (min(count, 31)).
  static V srav32(V a, V count) {
    return map(a, count, [](uint64x2_t x, uint64x2_t c) {
      return bits(vshlq_s32(s32(x), vnegq_s32(vreinterpretq_s32_u32(vminq_u32(u32(c), vdupq_n_u32(31))))));
    });
  }
  static M32 nonzero32(V a) { return map(a, [](uint64x2_t x) { return bits(vtstq_u32(u32(x), u32(x))); }); }
  static V select32(M32 m, V if_true, V if_false) { return select64(m, if_true, if_false); }
  static bool any32(M32 m) { return vmaxvq_u32(u32(vorrq_u64(m.h[0], m.h[1]))) != 0; }
  static int64_t hsum32(V a) { return vaddlvq_s32(s32(a.h[0])) + vaddlvq_s32(s32(a.h[1])); }
  static int32_t hmax32(V a) { return vmaxvq_s32(vmaxq_s32(s32(a.h[0]), s32(a.h[1]))); }

  // 64-bit lanes.
  static V add64(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return vaddq_u64(x, y); }); }
  static V sub64(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return vsubq_u64(x, y); }); }
  static M64 gt64(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return vcgtq_s64(s64(x), s64(y)); }); }
  static V select64(M64 m, V if_true, V if_false) {
    return {{vbslq_u64(m.h[0], if_true.h[0], if_false.h[0]), vbslq_u64(m.h[1], if_true.h[1], if_false.h[1])}};
  }
  static V min64(V a, V b) { return select64(gt64(a, b), b, a); }
  static V max64(V a, V b) { return select64(gt64(a, b), a, b); }
  // All-ones in the negative lanes (the arithmetic shift by 63).
  static V sign64(V a) { return map(a, [](uint64x2_t x) { return bits(vshrq_n_s64(s64(x), 63)); }); }
  static V srai64_14(V a) { return map(a, [](uint64x2_t x) { return bits(vshrq_n_s64(s64(x), 14)); }); }
  // Arithmetic right shift of every lane by `count` in [0, 63] (floor).
  static V sra64(V a, int count) {
    const int64x2_t c = vdupq_n_s64(-count);
    return map(a, [c](uint64x2_t x) { return bits(vshlq_s64(s64(x), c)); });
  }
  template <int k>
  static V srli64(V a) { return map(a, [](uint64x2_t x) { return vshrq_n_u64(x, k); }); }
  template <int k>
  static V slli64(V a) { return map(a, [](uint64x2_t x) { return vshlq_n_u64(x, k); }); }
  // x86 semantics: count read as unsigned 64 bits, 0 from 64 up.
  static V srlv64(V a, V count) {
    return map(a, count, [](uint64x2_t x, uint64x2_t c) {
      return vbicq_u64(vshlq_u64(x, vnegq_s64(s64(c))), vcgtq_u64(c, vdupq_n_u64(63)));
    });
  }
  static V sllv64(V a, V count) {
    return map(a, count, [](uint64x2_t x, uint64x2_t c) {
      return vbicq_u64(vshlq_u64(x, s64(c)), vcgtq_u64(c, vdupq_n_u64(63)));
    });
  }
  // `v` where `w` is nonzero, else 0.
  static V where_nonzero64(V w, V v) { return map(w, v, [](uint64x2_t x, uint64x2_t y) { return vandq_u64(vtstq_u64(x, x), y); }); }
  // Unsigned product of the low 32 bits of each lane: exact, 64 bits.
  static V mul_u32(V a, V b) { return map(a, b, [](uint64x2_t x, uint64x2_t y) { return vmull_u32(vmovn_u64(x), vmovn_u64(y)); }); }
  // Signed product of the low 32 bits of each lane: exact, 64 bits.
  static V mul_s32(V a, V b) {
    return map(a, b, [](uint64x2_t x, uint64x2_t y) {
      return bits(vmull_s32(vreinterpret_s32_u32(vmovn_u64(x)), vreinterpret_s32_u32(vmovn_u64(y))));
    });
  }
  // The low 64 bits of a * b (mod 2^64): lo(a) lo(b) + ((lo(a) hi(b) + hi(a) lo(b)) << 32).
  static V mullo64(V a, V b) {
    return map(a, b, [](uint64x2_t x, uint64x2_t y) {
      const uint32x4_t cross = vmulq_u32(u32(x), vrev64q_u32(u32(y)));  // lo*hi, hi*lo per lane, mod 2^32
      return vmlal_u32(vshlq_n_u64(vpaddlq_u32(cross), 32), vmovn_u64(x), vmovn_u64(y));
    });
  }
  // Wrapping sum, minimum and maximum of the int64 lanes.
  static int64_t hsum64(V a) { return static_cast<int64_t>(vaddvq_u64(vaddq_u64(a.h[0], a.h[1]))); }
  static int64_t hmin64(V a) {
    const V m = min64(a, V{{a.h[1], a.h[0]}});
    const int64_t x = vgetq_lane_s64(s64(m.h[0]), 0), y = vgetq_lane_s64(s64(m.h[0]), 1);
    return x < y ? x : y;
  }
  static int64_t hmax64(V a) {
    const V m = max64(a, V{{a.h[1], a.h[0]}});
    const int64_t x = vgetq_lane_s64(s64(m.h[0]), 0), y = vgetq_lane_s64(s64(m.h[0]), 1);
    return x > y ? x : y;
  }

  // The even 32-bit lanes from `even` (the low halves of its 64-bit lanes)
  // and the odd ones from the low halves of `odd`'s 64-bit lanes.
  static V interleave32(V even, V odd) {
    return map(even, odd, [](uint64x2_t e, uint64x2_t o) { return bits(vtrn1q_u32(u32(e), u32(o))); });
  }
  // The high 32 bits of each 64-bit lane of even (to the even int32 lanes)
  // and of odd (to the odd ones).
  static V high_halves64(V even, V odd) {
    return map(even, odd, [](uint64x2_t e, uint64x2_t o) { return bits(vtrn2q_u32(u32(e), u32(o))); });
  }
  // kLanes64 64-bit values from 32 bytes at `lo` (`hi` is for the wider ISAs).
  static V load_64x4s(const void* lo, const void* /*hi*/) { return load(lo); }

  // int32 lanes <-> int64 lanes. widen_lo/hi: lanes [0, 4) / [4, 8) sign
  // extended; narrow: the low 32 bits of a's lanes, then of b's.
  static V widen_lo(V a) { return {{bits(vmovl_s32(vget_low_s32(s32(a.h[0])))), bits(vmovl_high_s32(s32(a.h[0])))}}; }
  static V widen_hi(V a) { return {{bits(vmovl_s32(vget_low_s32(s32(a.h[1])))), bits(vmovl_high_s32(s32(a.h[1])))}}; }
  static V narrow(V a, V b) {
    return {{bits(vuzp1q_u32(u32(a.h[0]), u32(a.h[1]))), bits(vuzp1q_u32(u32(b.h[0]), u32(b.h[1])))}};
  }

  // kLanes32 integers of type T, sign (or zero) extended to int32 lanes.
  static V load_s32(const int8_t* p) { return from_s16(vmovl_s8(vld1_s8(p))); }
  static V load_s32(const uint8_t* p) { return from_s16(vreinterpretq_s16_u16(vmovl_u8(vld1_u8(p)))); }
  static V load_s32(const int16_t* p) { return from_s16(vld1q_s16(p)); }
  static V load_s32(const int32_t* p) { return load(p); }
  static V from_s16(int16x8_t w) { return {{bits(vmovl_s16(vget_low_s16(w))), bits(vmovl_high_s16(w))}}; }

  // int32 lanes already within the destination's range, stored narrowed.
  static void store_s16(int16_t* p, V a) { vst1q_s16(p, vcombine_s16(vmovn_s32(s32(a.h[0])), vmovn_s32(s32(a.h[1])))); }
  static void store_bytes(uint8_t* p, V a, bool /*is_signed*/) {
    vst1_u8(p, vmovn_u16(vcombine_u16(vmovn_u32(u32(a.h[0])), vmovn_u32(u32(a.h[1])))));
  }
};

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
