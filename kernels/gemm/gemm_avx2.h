// Shared by the x86 vector GEMM kernels (include only from *_avx2.cc,
// *_avxvnni.cc and *_avx512vnni.cc files; isa_namespace.h keeps each ISA's
// copies apart): the activation packing of the u8 x s8 families, the requant
// epilogue (8 columns at a time on ymm), and tile stores; the work split over
// threads is gemm_drive.h's.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/requant_avx2.h"
#include "kernels/common/store_lanes_avx2.h"
#include "kernels/common/thread_pool.h"
#include "kernels/gemm/gemm_drive.h"
#include "kernels/gemm/gemm_internal.h"

namespace dyad::kernels::gemm_avx2 {
inline namespace DYAD_ISA_NAMESPACE {

inline __m256i load32_broadcast(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// One register-tile row step of the kUbs 4 x 24 tile: b = broadcast(4 bytes
// at a), then
//   s0 += MUL(b, w0), s1 += MUL(b, w1), s2 += MUL(b, [w2])
// with MUL/ADD = vpmaddubsw/vpaddw. Written as
// asm because GCC's scheduling of the intrinsic form hoists every multiply
// of a step ahead of the adds and spills the 12 accumulators of a 4 x 24
// tile; here each product is consumed at once, so 12 sums + 2 weight
// vectors + b + one product register fit the 16 ymm registers (the third
// weight vector is a memory operand).
#define DYAD_GEMM_ROW3_ASM(MUL, ADD)                                              \
  "vpbroadcastd %[a], %[b]\n\t"                                                   \
  MUL " %[w0], %[b], %[t]\n\t" ADD " %[t], %[s0], %[s0]\n\t"                        \
  MUL " %[w1], %[b], %[t]\n\t" ADD " %[t], %[s1], %[s1]\n\t"                        \
  MUL " %[w2], %[b], %[t]\n\t" ADD " %[t], %[s2], %[s2]\n\t"
#define DYAD_GEMM_ROW3_OPERANDS                                                    \
  : [s0] "+x"(s0), [s1] "+x"(s1), [s2] "+x"(s2), [b] "=&x"(b), [t] "=&x"(t)       \
  : [a] "m"(*static_cast<const int32_t*>(a)), [w0] "x"(w0), [w1] "x"(w1),        \
    [w2] "m"(*static_cast<const __m256i*>(w2))

// u8 x s8 pair sums into int16 (vpmaddubsw: b unsigned, w signed).
inline void row3_ubs(__m256i& s0, __m256i& s1, __m256i& s2, const void* a, __m256i w0,
                     __m256i w1, const void* w2) {
  __m256i b, t;
  asm(DYAD_GEMM_ROW3_ASM("vpmaddubsw", "vpaddw") DYAD_GEMM_ROW3_OPERANDS);
}

#undef DYAD_GEMM_ROW3_ASM
#undef DYAD_GEMM_ROW3_OPERANDS

// The 4 x 24 register tile: MR rows of three 8-column vectors, as named
// variables (GCC keeps them in registers; an array of vectors it spills).
struct Tile4x24 {
  __m256i s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32;

  void zero() {
    s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = s30 = s31 = s32 = _mm256_setzero_si256();
  }

  // Rows < MR from / to an int32 tile with row stride 24.
  template <int MR>
  void load(const int32_t* acc) {
    __m256i v[12];
    for (int i = 0; i < 12; ++i) {
      v[i] = i < 3 * MR ? _mm256_load_si256(reinterpret_cast<const __m256i*>(acc + 8 * i))
                        : _mm256_setzero_si256();
    }
    *this = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  }
  template <int MR>
  void store(int32_t* acc) const {
    const __m256i v[12] = {s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32};
    for (int i = 0; i < 3 * MR; ++i) _mm256_store_si256(reinterpret_cast<__m256i*>(acc + 8 * i), v[i]);
  }
  // acc (+)= vpmaddwd(s, ones) for rows < MR: widens int16 chunk sums.
  template <int MR>
  void widen_into(int32_t* acc, bool add) const {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i v[12] = {s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32};
    for (int i = 0; i < 3 * MR; ++i) {
      __m256i* c = reinterpret_cast<__m256i*>(acc + 8 * i);
      const __m256i wide = _mm256_madd_epi16(v[i], ones);
      _mm256_store_si256(c, add ? _mm256_add_epi32(_mm256_load_si256(c), wide) : wide);
    }
  }
};

// Steps i in [i0, i1) of a 4 x 24 tile: row r reads 4 bytes at
// a + r * a_stride + i * 4, the weights of step i are the 96 bytes at
// w + i * 96. Row = row3_ubs.
template <int MR, auto Row>
__attribute__((always_inline)) inline void tile_steps(Tile4x24& t, const uint8_t* a, size_t a_stride,
                                                      const uint8_t* w, size_t i0, size_t i1) {
  __m256i s00 = t.s00, s01 = t.s01, s02 = t.s02, s10 = t.s10, s11 = t.s11, s12 = t.s12;
  __m256i s20 = t.s20, s21 = t.s21, s22 = t.s22, s30 = t.s30, s31 = t.s31, s32 = t.s32;
  const uint8_t* a0 = a;
  const uint8_t* a1 = a + a_stride;
  const uint8_t* a2 = a + 2 * a_stride;
  const uint8_t* a3 = a + 3 * a_stride;
  for (size_t i = i0; i < i1; ++i) {
    const uint8_t* wi = w + i * 96;
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wi));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wi + 32));
    Row(s00, s01, s02, a0 + 4 * i, w0, w1, wi + 64);
    if constexpr (MR > 1) Row(s10, s11, s12, a1 + 4 * i, w0, w1, wi + 64);
    if constexpr (MR > 2) Row(s20, s21, s22, a2 + 4 * i, w0, w1, wi + 64);
    if constexpr (MR > 3) Row(s30, s31, s32, a3 + 4 * i, w0, w1, wi + 64);
  }
  t = {s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32};
}

// Activation rows as bytes u = src - src_offset (in [0, 255] for
// src_offset = src_min), row r at out + r * a_stride, zero padded to kp, with
// sum_k u as an int32 at byte kp (used by the offset-nibble path): the
// operand layout of the u8 x s8 families (kUbs, kDp).
inline void pack_rows_u8(const GemmPlan& plan, const uint8_t* src, size_t rows,
                         size_t src_stride, uint8_t* out) {
  const size_t K = plan.desc.K, kp = plan.kp;
  const uint8_t offset = static_cast<uint8_t>(plan.src_offset);
  const __m256i off = _mm256_set1_epi8(static_cast<char>(offset));
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * src_stride;
    uint8_t* a = out + r * plan.a_stride;
    size_t k = 0;
    __m256i sums = _mm256_setzero_si256();  // 4 x 64-bit partial sums of u
    for (; k + 32 <= K; k += 32) {
      const __m256i u = _mm256_sub_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + k)), off);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(a + k), u);
      sums = _mm256_add_epi64(sums, _mm256_sad_epu8(u, _mm256_setzero_si256()));
    }
    alignas(32) int64_t part[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(part), sums);
    int64_t row_sum = part[0] + part[1] + part[2] + part[3];
    for (; k < K; ++k) {
      a[k] = static_cast<uint8_t>(s[k] - offset);
      row_sum += a[k];
    }
    for (; k < kp; ++k) a[k] = 0;
    // Kept mod 2^32 (the int32 sums wrap; the planner proved the true
    // accumulator fits); read by the offset-nibble path.
    const uint32_t row_sum32 = static_cast<uint32_t>(row_sum);
    std::memcpy(a + kp, &row_sum32, sizeof(row_sum32));
  }
}

// round_shift and requant8: kernels/common/requant_avx2.h.

// Writes an mr x (8 * NV) int32 accumulator tile (row stride 8 * NV) to dst
// rows m0.., columns n0.. (n0 a multiple of 8), adding the column constants
// and requantizing; columns past N are dropped.
template <int NV>
void store_tile(const GemmPlan& plan, const int32_t* acc, int mr, size_t m0, size_t n0,
                const GemmArgs& args) {
  constexpr int NR = NV * 8;
  const GemmDesc& d = plan.desc;
  const size_t ncols = std::min<size_t>(NR, d.N - n0);
  const int32_t* col = plan.col_const.data() + n0;
  const bool to_int32 = d.dst_type == GemmDstType::kInt32;
  const bool is_signed = d.dst_type == GemmDstType::kInt8;
  const __m256i qmin = _mm256_set1_epi32(d.qmin), qmax = _mm256_set1_epi32(d.qmax);
  for (size_t j = 0; 8 * j < ncols; ++j) {
    const size_t n = 8 * j, count = std::min<size_t>(8, ncols - n);
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + n));
    for (int r = 0; r < mr; ++r) {
      const __m256i a = _mm256_add_epi32(
          _mm256_load_si256(reinterpret_cast<const __m256i*>(acc + r * NR + n)), c);
      const size_t row = (m0 + r) * args.dst_stride + n0 + n;
      if (to_int32) {
        store_s32_lanes(static_cast<int32_t*>(args.dst) + row, a, count);
        continue;
      }
      const __m256i y = _mm256_min_epi32(_mm256_max_epi32(requant8(a, plan.requant_blocks[(n0 + n) / 8]), qmin), qmax);
      store_x8_lanes(static_cast<uint8_t*>(args.dst) + row, y, is_signed, count);
    }
  }
}

// The work split over threads and blocks (gemm_drive.h), with store_tile as
// the epilogue of kernels that bring none of their own.
template <class Kernel>
struct WithEpilogue : Kernel {
  // The kernel's own per-panel epilogue (gemm_drive.h panel_epilogue).
  template <class Epilogue>
  __attribute__((always_inline)) static inline void store_rows(const GemmPlan& plan, const Epilogue& epilogue,
                                                               const int32_t* acc, int mr, size_t m0,
                                                               const GemmArgs& args) {
    Kernel::store_rows(plan, epilogue, acc, mr, m0, args);
  }
  static void store_rows(const GemmPlan& plan, const int32_t* acc, int mr, size_t m0, size_t n0,
                         const GemmArgs& args) {
    if constexpr (requires { Kernel::store_rows(plan, acc, mr, m0, n0, args); }) {
      Kernel::store_rows(plan, acc, mr, m0, n0, args);
    } else {
      store_tile<Kernel::kNV>(plan, acc, mr, m0, n0, args);
    }
  }
};

template <class Kernel>
void drive(const GemmPlan& plan, const GemmArgs& args) {
  gemm_drive::drive<WithEpilogue<Kernel>>(plan, args);
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels::gemm_avx2
