// AVX-512 VNNI matmul of two activations (attention Q*K^T and P*V).
//
// Operands are shifted into the signedness the instruction wants, and the
// zero points are applied afterwards as row and column corrections:
//   8-bit a (vpdpbusd, u8 x s8, 4 k per int32 lane):
//     a_u = a + 128 for int8 a (a for uint8), z_a' = z_a + 128 (z_a);
//   int16 a (vpdpwssd, s16 x s16, 2 k per lane): a_u = a, z_a' = z_a;
//   b_s = b - 128 for uint8 b (b for int8), z_b' = z_b - 128 (z_b).
// Then a - z_a = a_u - z_a' and b - z_b = b_s - z_b', so
//   acc = S - z_b' * R_i - z_a' * C_j + K * z_a' * z_b'
// with S = sum_k a_u * b_s (the instruction), R_i = sum_k a_u, C_j = sum_k b_s.
//
// Exactness: each instruction step adds four products of at most 255 * 128
// (or two of at most 32768 * 128), far inside int32; vpdpbusd and vpdpwssd
// (the non-saturating forms) and the corrections all wrap mod 2^32, so the
// result is the true accumulator mod 2^32, and the true value because
// matmul_avx512vnni_applies proved it fits int32 (the same bound as AVX2).
// Padding (k beyond K, columns beyond N) is 0 in the packed B, so it adds 0.
//
// Layout: B is packed per batch entry into panels of 16 columns,
// [k group][16 columns][4 bytes] (4 u8/s8 or 2 int16), so one zmm load is one
// k group of 16 columns; a row tile of 4 rows is packed the same way, one
// 4-byte group per broadcast. The register tile is 4 rows x 64 columns (16
// accumulators). The output stage: raw int32 stored as is; 8-bit outputs
// through Requant16 (requant_avx512.h, the GEMM's exact epilogue) when the
// clamp bounds are within its range; anything else through
// matmul_output_value, the reference's own.
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/common/requant_avx512.h"
#include "kernels/common/requant_block8.h"
#include "kernels/common/thread_pool.h"
#include "kernels/matmul/matmul.h"

namespace dyad::kernels {

namespace {

constexpr int kRows = 4;       // rows per register tile
constexpr int kPanel = 16;     // columns per panel (one zmm of int32)
constexpr int kMaxPanels = 4;  // panels per register tile

int64_t max_abs_offset(IntType t, int64_t z) { return std::max(z - int_type_min(t), int_type_max(t) - z); }

bool word_path(const MatmulParams& p) { return p.a_type == IntType::kS16; }
int64_t per_group(const MatmulParams& p) { return word_path(p) ? 2 : 4; }  // k per 4-byte group
int64_t groups(const MatmulParams& p) { return (p.k + per_group(p) - 1) / per_group(p); }
int64_t panels(const MatmulParams& p) { return (p.n + kPanel - 1) / kPanel; }
size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

size_t b_bytes(const MatmulParams& p) { return round64(size_t(panels(p) * groups(p)) * 64); }
size_t colterm_bytes(const MatmulParams& p) { return round64(size_t(panels(p) * kPanel) * 4); }
size_t a_bytes(const MatmulParams& p) { return round64(size_t(kRows * groups(p)) * 4); }

// The shifted zero points z_a', z_b' (mod 2^32).
uint32_t za_shifted(const MatmulParams& p) {
  return uint32_t(p.a_zero_point) + (p.a_type == IntType::kS8 ? 128u : 0u);
}
uint32_t zb_shifted(const MatmulParams& p) {
  return uint32_t(p.b_zero_point) - (p.b_type == IntType::kU8 ? 128u : 0u);
}

struct Scratch {
  uint8_t* b;          // panels * groups * 64 bytes
  uint32_t* colterm;   // panels * 16: K z_a' z_b' - z_a' C_j (mod 2^32)
  uint8_t* a;          // kRows * groups * 4 bytes: the row tile
};

Scratch carve(const MatmulParams& p, uint8_t* base) {
  return {base, reinterpret_cast<uint32_t*>(base + b_bytes(p)), base + b_bytes(p) + colterm_bytes(p)};
}

// b_s of element (k, j) of one batch entry's B.
template <typename TB>
int32_t b_shifted(const MatmulParams& p, const TB* b, int64_t k, int64_t j) {
  const int32_t raw = p.transpose_b ? b[j * p.k + k] : b[k * p.n + j];
  return raw - (p.b_type == IntType::kU8 ? 128 : 0);
}

// One panel, element by element (any layout, partial panels, odd K).
template <typename TB>
void pack_panel_scalar(const MatmulParams& p, const TB* b, int64_t q, uint8_t* panel) {
  const int64_t per = per_group(p), g = groups(p);
  std::memset(panel, 0, size_t(g) * 64);
  for (int64_t c = 0; c < kPanel && q * kPanel + c < p.n; ++c) {
    for (int64_t k = 0; k < p.k; ++k) {
      const int32_t v = b_shifted(p, b, k, q * kPanel + c);
      uint8_t* slot = panel + (k / per) * 64 + c * 4;
      if (per == 4) {
        slot[k % 4] = static_cast<uint8_t>(v);
      } else {
        const int16_t w = static_cast<int16_t>(v);
        std::memcpy(slot + (k % 2) * 2, &w, 2);
      }
    }
  }
}

// A full panel of B [K, N] (16 columns present): rows of 16 bytes are
// interleaved into groups with byte/word unpacks.
void pack_panel_rows(const MatmulParams& p, const uint8_t* b, int64_t q, uint8_t* panel) {
  const __m128i flip = _mm_set1_epi8(p.b_type == IntType::kU8 ? char(0x80) : 0);
  const int64_t per = per_group(p), g = groups(p);
  auto row = [&](int64_t k) {
    if (k >= p.k) return _mm_setzero_si128();  // padding: b_s = 0
    return _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + k * p.n + q * kPanel)), flip);
  };
  for (int64_t i = 0; i < g; ++i) {
    __m128i* out = reinterpret_cast<__m128i*>(panel + i * 64);
    if (per == 4) {
      const __m128i r0 = row(4 * i), r1 = row(4 * i + 1), r2 = row(4 * i + 2), r3 = row(4 * i + 3);
      const __m128i t01lo = _mm_unpacklo_epi8(r0, r1), t01hi = _mm_unpackhi_epi8(r0, r1);
      const __m128i t23lo = _mm_unpacklo_epi8(r2, r3), t23hi = _mm_unpackhi_epi8(r2, r3);
      _mm_storeu_si128(out + 0, _mm_unpacklo_epi16(t01lo, t23lo));
      _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(t01lo, t23lo));
      _mm_storeu_si128(out + 2, _mm_unpacklo_epi16(t01hi, t23hi));
      _mm_storeu_si128(out + 3, _mm_unpackhi_epi16(t01hi, t23hi));
    } else {  // int16 pairs: sign-extend two rows, interleave words
      const __m256i r0 = _mm256_cvtepi8_epi16(row(2 * i)), r1 = _mm256_cvtepi8_epi16(row(2 * i + 1));
      const __m256i lo = _mm256_unpacklo_epi16(r0, r1);  // columns 0-3, 8-11
      const __m256i hi = _mm256_unpackhi_epi16(r0, r1);  // columns 4-7, 12-15
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
  }
}

// A full panel of B^T [N, K] with 8-bit a and K % 4 == 0: each column's
// group is 4 consecutive bytes of its row.
void pack_panel_bt_quads(const MatmulParams& p, const uint8_t* b, int64_t q, uint8_t* panel) {
  const uint32_t flip = p.b_type == IntType::kU8 ? 0x80808080u : 0u;
  const int64_t g = groups(p);
  for (int64_t c = 0; c < kPanel; ++c) {
    const uint8_t* src = b + (q * kPanel + c) * p.k;
    for (int64_t i = 0; i < g; ++i) {
      uint32_t w;
      std::memcpy(&w, src + 4 * i, 4);
      w ^= flip;
      std::memcpy(panel + i * 64 + c * 4, &w, 4);
    }
  }
}

// Packs one batch entry's B and its column terms.
template <typename TB>
void pack_b(const MatmulParams& p, const TB* b, const Scratch& s) {
  const int64_t g = groups(p);
  const bool bytes = !word_path(p);
  const __m512i ones = bytes ? _mm512_set1_epi8(1) : _mm512_set1_epi16(1);
  const uint32_t za = za_shifted(p), zb = zb_shifted(p);
  const __m512i kzz = _mm512_set1_epi32(static_cast<int32_t>(uint32_t(p.k) * za * zb));
  const __m512i za_v = _mm512_set1_epi32(static_cast<int32_t>(za));
  for (int64_t q = 0; q < panels(p); ++q) {
    uint8_t* panel = s.b + q * g * 64;
    const bool full = (q + 1) * kPanel <= p.n;
    const uint8_t* raw = reinterpret_cast<const uint8_t*>(b);
    if (full && !p.transpose_b)
      pack_panel_rows(p, raw, q, panel);
    else if (full && bytes && p.k % 4 == 0)
      pack_panel_bt_quads(p, raw, q, panel);
    else
      pack_panel_scalar(p, b, q, panel);
    // C_j = sum of the panel's values per column: a dot product with ones.
    __m512i colsum = _mm512_setzero_si512();
    for (int64_t i = 0; i < g; ++i) {
      const __m512i v = _mm512_loadu_si512(panel + i * 64);
      colsum = bytes ? _mm512_dpbusd_epi32(colsum, ones, v) : _mm512_dpwssd_epi32(colsum, ones, v);
    }
    _mm512_storeu_si512(s.colterm + q * kPanel, _mm512_sub_epi32(kzz, _mm512_mullo_epi32(za_v, colsum)));
  }
}

// Packs rows [row0, row0 + rows) of one batch entry's a into the row tile
// (rows past `rows` and k past K are 0) and returns z_b' * R_i per row.
template <typename TA>
void pack_a(const MatmulParams& p, const TA* a, int64_t row0, int64_t rows, const Scratch& s,
            int32_t rowterm[kRows]) {
  const int64_t g = groups(p);
  const uint32_t zb = zb_shifted(p);
  std::memset(s.a, 0, size_t(kRows * g) * 4);
  for (int64_t r = 0; r < rows; ++r) {
    const TA* src = a + (row0 + r) * p.k;
    uint32_t sum = 0;
    if constexpr (sizeof(TA) == 1) {
      uint8_t* dst = s.a + r * g * 4;
      const __m512i flip = _mm512_set1_epi8(p.a_type == IntType::kS8 ? char(0x80) : 0);
      __m512i sums = _mm512_setzero_si512();
      for (int64_t k = 0; k < p.k; k += 64) {
        const int64_t count = std::min<int64_t>(64, p.k - k);
        const __mmask64 mask = count == 64 ? ~__mmask64{0} : (__mmask64{1} << count) - 1;
        const __m512i u = _mm512_maskz_mov_epi8(mask, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, src + k), flip));
        _mm512_mask_storeu_epi8(dst + k, mask, u);
        sums = _mm512_add_epi64(sums, _mm512_sad_epu8(u, _mm512_setzero_si512()));
      }
      sum = static_cast<uint32_t>(_mm512_reduce_add_epi64(sums));
    } else {
      int16_t* dst = reinterpret_cast<int16_t*>(s.a + r * g * 4);
      const __m512i ones = _mm512_set1_epi16(1);
      __m512i sums = _mm512_setzero_si512();
      for (int64_t k = 0; k < p.k; k += 32) {
        const int64_t count = std::min<int64_t>(32, p.k - k);
        const __mmask32 mask = count == 32 ? ~__mmask32{0} : (__mmask32{1} << count) - 1;
        const __m512i v = _mm512_maskz_loadu_epi16(mask, src + k);
        _mm512_mask_storeu_epi16(dst + k, mask, v);
        sums = _mm512_add_epi32(sums, _mm512_madd_epi16(v, ones));
      }
      sum = static_cast<uint32_t>(_mm512_reduce_add_epi32(sums));
    }
    rowterm[r] = static_cast<int32_t>(zb * sum);
  }
  for (int64_t r = rows; r < kRows; ++r) rowterm[r] = 0;
}

enum class OutMode { kRaw, kRequant8, kScalar };

struct Epilogue {
  OutMode mode;
  Requant16 rq;
  __m512i qmin, qmax;
};

// acc of the row tile x NV panels starting at panel q0, then the output stage.
template <int NV, bool kBytes>
void tile(const MatmulParams& p, const Scratch& s, int64_t q0, const int32_t rowterm[kRows], int64_t rows,
          int64_t y_row0, const Epilogue& ep, void* y) {
  const int64_t g = groups(p);
  __m512i c[kRows][NV];
#pragma GCC unroll 4
  for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) c[r][v] = _mm512_setzero_si512();
  const uint8_t* bp = s.b + q0 * g * 64;
  for (int64_t i = 0; i < g; ++i) {
    __m512i bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_si512(bp + (v * g + i) * 64);
#pragma GCC unroll 4
    for (int r = 0; r < kRows; ++r) {
      int32_t quad;
      std::memcpy(&quad, s.a + (r * g + i) * 4, 4);
      const __m512i av = _mm512_set1_epi32(quad);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        c[r][v] = kBytes ? _mm512_dpbusd_epi32(c[r][v], av, bv[v]) : _mm512_dpwssd_epi32(c[r][v], av, bv[v]);
    }
  }
  // The sums leave their registers here, at constant indices: the output
  // stage's loop over a run-time row count would otherwise make GCC keep
  // `c` addressable and copy every accumulator in the loop above.
  alignas(64) int32_t sums[kRows][NV][kPanel];
#pragma GCC unroll 4
  for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm512_store_si512(sums[r][v], c[r][v]);
  for (int v = 0; v < NV; ++v) {
    const int64_t j0 = (q0 + v) * kPanel;
    const int64_t cols = std::min<int64_t>(kPanel, p.n - j0);
    const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1);
    const __m512i colterm = _mm512_loadu_si512(s.colterm + (q0 + v) * kPanel);
    for (int r = 0; r < rows; ++r) {
      const __m512i acc =
          _mm512_sub_epi32(_mm512_add_epi32(_mm512_load_si512(sums[r][v]), colterm), _mm512_set1_epi32(rowterm[r]));
      const size_t offset = size_t((y_row0 + r) * p.n + j0);
      if (ep.mode == OutMode::kRaw) {
        _mm512_mask_storeu_epi32(static_cast<int32_t*>(y) + offset, mask, acc);
      } else if (ep.mode == OutMode::kRequant8) {
        const __m512i q = _mm512_min_epi32(_mm512_max_epi32(ep.rq.apply(acc), ep.qmin), ep.qmax);
        _mm_mask_storeu_epi8(static_cast<uint8_t*>(y) + offset, mask, _mm512_cvtepi32_epi8(q));
      } else {
        alignas(64) int32_t lanes[kPanel];
        _mm512_store_si512(lanes, acc);
        int64_t values[kPanel];
        for (int64_t j = 0; j < cols; ++j) values[j] = matmul_output_value(p, lanes[j]);
        store_ints(values, size_t(cols), p.y_type, y, offset);
      }
    }
  }
}

template <bool kBytes>
void tiles(const MatmulParams& p, const Scratch& s, const int32_t rowterm[kRows], int64_t rows, int64_t y_row0,
           const Epilogue& ep, void* y) {
  const int64_t np = panels(p);
  int64_t q = 0;
  for (; q + kMaxPanels <= np; q += kMaxPanels) tile<kMaxPanels, kBytes>(p, s, q, rowterm, rows, y_row0, ep, y);
  switch (np - q) {
    case 3: tile<3, kBytes>(p, s, q, rowterm, rows, y_row0, ep, y); break;
    case 2: tile<2, kBytes>(p, s, q, rowterm, rows, y_row0, ep, y); break;
    case 1: tile<1, kBytes>(p, s, q, rowterm, rows, y_row0, ep, y); break;
    default: break;
  }
}

template <typename TA, typename TB>
void run_batch(const MatmulParams& p, const TA* a, const TB* b, void* y, int64_t t, const Scratch& s,
               const Epilogue& ep) {
  pack_b(p, b + t * p.k * p.n, s);
  int32_t rowterm[kRows];
  for (int64_t row0 = 0; row0 < p.m; row0 += kRows) {
    const int64_t rows = std::min<int64_t>(kRows, p.m - row0);
    pack_a(p, a + t * p.m * p.k, row0, rows, s, rowterm);
    tiles<sizeof(TA) == 1>(p, s, rowterm, rows, t * p.m + row0, ep, y);
  }
}

Epilogue make_epilogue(const MatmulParams& p) {
  RequantBlock8 block{};
  Epilogue ep{OutMode::kScalar, Requant16(block, block), _mm512_setzero_si512(), _mm512_setzero_si512()};
  if (!p.requantize) {
    ep.mode = OutMode::kRaw;  // the accumulator fits int32: the saturation changes nothing
    return ep;
  }
  const bool eight_bit = p.y_type == IntType::kS8 || p.y_type == IntType::kU8;
  const int64_t zp = p.y_zero_point;
  // Requant16 holds for clamp bounds within 383 of the zero point (requant_block8.h).
  if (eight_bit && std::abs(p.y_min - zp) <= 383 && std::abs(p.y_max - zp) <= 383) {
    for (int lane = 0; lane < 8; ++lane) set_requant_lane(block, lane, Dyadic{p.multiplier, p.shift}, p.y_zero_point);
    ep.mode = OutMode::kRequant8;
    ep.rq = Requant16(block, block);
    ep.qmin = _mm512_set1_epi32(p.y_min);
    ep.qmax = _mm512_set1_epi32(p.y_max);
  }
  return ep;
}

}  // namespace

bool matmul_avx512vnni_applies(const MatmulParams& p) {
  if (!matmul_params_valid(p) || p.k <= 0) return false;
  const int64_t max_a = max_abs_offset(p.a_type, p.a_zero_point);
  const int64_t max_b = max_abs_offset(p.b_type, p.b_zero_point);
  const __int128 bound = static_cast<__int128>(p.k) * max_a * max_b;
  return bound <= INT32_MAX;
}

size_t matmul_avx512vnni_scratch_bytes(const MatmulParams& p) {
  return b_bytes(p) + colterm_bytes(p) + a_bytes(p);
}

void matmul__avx512vnni(const MatmulParams& p, const void* a, const void* b, void* y, ThreadPool* pool,
                        uint8_t* scratch, size_t scratch_stride) {
  if (p.m <= 0 || p.n <= 0 || p.batch <= 0) return;
  const int64_t threads = pool ? pool->num_threads() : 1;
  const int64_t tasks = std::min<int64_t>(threads, p.batch);
  const Epilogue ep = make_epilogue(p);
  // Only the valid combinations are instantiated: a int8/uint8/int16, b int8/uint8.
  auto run = [&](auto a_zero, auto b_zero) {
    using TA = decltype(a_zero);
    using TB = decltype(b_zero);
    // Task i takes the batch entries i, i + tasks, ...: one task per
    // scratch slice, each output written by exactly one task.
    parallel_for(pool, size_t(tasks), [&](size_t i) {
      const Scratch s = carve(p, scratch + i * scratch_stride);
      for (int64_t t = int64_t(i); t < p.batch; t += tasks)
        run_batch(p, static_cast<const TA*>(a), static_cast<const TB*>(b), y, t, s, ep);
    });
  };
  auto with_b = [&](auto a_zero) {
    if (p.b_type == IntType::kU8)
      run(a_zero, uint8_t{});
    else
      run(a_zero, int8_t{});
  };
  if (p.a_type == IntType::kS16)
    with_b(int16_t{});
  else if (p.a_type == IntType::kU8)
    with_b(uint8_t{});
  else
    with_b(int8_t{});
}

}  // namespace dyad::kernels
