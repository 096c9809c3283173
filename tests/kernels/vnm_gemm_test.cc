// V:N:M sparse GEMM: the packed format (hand-computed golden bytes, round
// trips, the packer's refusals, the validator's refusal of every kind of
// corrupted metadata), then every variant compared bit for bit with a dense
// reference GEMM written here and run on the unpacked (pruned) matrix, over
// V in {8, 16, 24, 32, 64, 128}, M in {4, 5, 6, 7, 8, 12, 16, 32}, odd shapes
// that need padding, 1..30 tokens (GEMV and GEMM drivers), activation
// formats and zero points at both ends, extreme values, int16 sums at their
// bound, saturating outputs, extreme requant constants, int32 outputs and
// 1..4 threads. The VNNI variants (vpdpbusd) and, in the ARM build, the SDOT
// one run the same comparisons over every pattern, bit width and source
// format, or are skipped naming the ISA the CPU lacks; DYAD_ISA caps which
// variant dispatch picks. Also: the same
// bits as kernels/gemm's dense GEMM, and the same blob as the Python packer.
#include "kernels/vnm_gemm/vnm_gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/common/thread_pool.h"
#include "kernels/gemm/gemm.h"
#include "tests/kernels/inverting_rows_epilogue.h"
#include "tests/kernels/scoped_env.h"

namespace dyad::kernels {
namespace {

int32_t uniform(std::mt19937& rng, int32_t lo, int32_t hi) {
  return std::uniform_int_distribution<int32_t>(lo, hi)(rng);
}

// A value in [lo, hi], at one end one time in `edge_one_in`.
int32_t value(std::mt19937& rng, int32_t lo, int32_t hi, int edge_one_in = 8) {
  const int32_t pick = uniform(rng, 0, 2 * edge_one_in - 1);
  if (pick == 0) return lo;
  if (pick == 1) return hi;
  return uniform(rng, lo, hi);
}

// A random N x K matrix satisfying V:2:M: per V x M block 4 random kept
// columns, per row 2 random positions among them holding random values
// (sometimes 0, sometimes at the ends of [wlo, whi]).
std::vector<int8_t> random_vnm(std::mt19937& rng, const VnmShape& s, int32_t wlo, int32_t whi) {
  std::vector<int8_t> w(size_t(s.n) * s.k, 0);
  const int64_t groups = (s.k + s.m - 1) / s.m;
  for (int64_t b = 0; b * s.v < s.n; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      std::vector<int> cols(s.m);
      for (int c = 0; c < s.m; ++c) cols[c] = c;
      std::shuffle(cols.begin(), cols.end(), rng);
      for (int64_t r = b * s.v; r < std::min<int64_t>(s.n, (b + 1) * s.v); ++r) {
        int p[4] = {0, 1, 2, 3};
        std::shuffle(p, p + 4, rng);
        for (int j = 0; j < 2; ++j) {
          const int64_t k = g * s.m + cols[p[j]];
          if (k < s.k) w[r * s.k + k] = static_cast<int8_t>(uniform(rng, 0, 9) == 0 ? 0 : value(rng, wlo, whi));
        }
      }
    }
  }
  return w;
}

std::vector<uint8_t> pack(const VnmShape& s, const std::vector<int8_t>& dense) {
  std::vector<uint8_t> blob;
  const std::string error = vnm_pack(s, dense.data(), &blob);
  EXPECT_EQ(error, "");
  return blob;
}

// ---- format ---------------------------------------------------------------------

TEST(VnmFormat, LayoutOfASmallShape) {
  // N = 20, K = 21, V = 16, M = 5: n_pad 32, k_pad 30 (a multiple of 2M),
  // 6 groups, 3 group pairs, 4 octets, 2 blocks.
  VnmLayout l;
  ASSERT_EQ(vnm_layout({20, 21, 16, 5, 8}, &l), "");
  EXPECT_EQ(l.n_pad, 32);
  EXPECT_EQ(l.k_pad, 30);
  EXPECT_EQ(l.groups, 6);
  EXPECT_EQ(l.group_pairs, 3);
  EXPECT_EQ(l.octets, 4);
  EXPECT_EQ(l.blocks, 2);
  EXPECT_EQ(l.values_bytes, 4u * 3 * 32);             // 384
  EXPECT_EQ(l.positions_offset, 384u);
  EXPECT_EQ(l.positions_bytes, 4u * 3 * 8);           // 96
  EXPECT_EQ(l.columns_offset, 512u);                  // 480 rounded up to 64
  EXPECT_EQ(l.columns_bytes, 2u * 6 * 4);             // 48
  EXPECT_EQ(l.total_bytes, 560u);
  ASSERT_EQ(vnm_layout({20, 21, 16, 5, 4}, &l), "");
  EXPECT_EQ(l.values_bytes, 4u * 3 * 16);
  EXPECT_EQ(l.positions_offset, 192u);
  EXPECT_EQ(l.columns_offset, 320u);                  // 192 + 96 = 288 -> 320
  EXPECT_EQ(l.total_bytes, 368u);
}

TEST(VnmFormat, LayoutRefusesBadShapes) {
  VnmLayout l;
  EXPECT_NE(vnm_layout({0, 8, 8, 4, 8}, &l).find("N = 0"), std::string::npos);
  EXPECT_NE(vnm_layout({8, 0, 8, 4, 8}, &l).find("K = 0"), std::string::npos);
  EXPECT_NE(vnm_layout({8, 8, 12, 4, 8}, &l).find("V = 12"), std::string::npos);
  EXPECT_NE(vnm_layout({8, 8, 2048, 4, 8}, &l).find("V = 2048"), std::string::npos);
  EXPECT_NE(vnm_layout({8, 8, 8, 3, 8}, &l).find("M = 3"), std::string::npos);
  EXPECT_NE(vnm_layout({8, 8, 8, 129, 8}, &l).find("M = 129"), std::string::npos);
  EXPECT_NE(vnm_layout({8, 8, 8, 4, 2}, &l).find("value_bits = 2"), std::string::npos);
}

TEST(VnmFormat, GoldenBytes2of4) {
  // 8 x 8, V = 8, M = 4 (plain 2:4). Row 0 = [1 0 -2 0 | 0 3 0 4], others 0.
  const VnmShape s{8, 8, 8, 4, 8};
  std::vector<int8_t> w(64, 0);
  w[0] = 1, w[2] = -2, w[5] = 3, w[7] = 4;
  const std::vector<uint8_t> blob = pack(s, w);
  ASSERT_EQ(blob.size(), 136u);  // values 32 @0, positions 8 @64, columns 8 @128
  std::vector<uint8_t> want(136, 0);
  want[0] = 1, want[1] = 0xFE, want[2] = 3, want[3] = 4;  // row 0: group 0 (1, -2), group 1 (3, 4)
  // Row 0: group 0 positions (0, 2) -> 0 | 2 << 2 = 8; group 1 (1, 3) -> (1 | 3 << 2) << 4 = 208.
  want[64] = 8 + 208;
  // Rows 1..7 hold no nonzero: the lowest positions (0, 1) in both groups.
  for (int r = 1; r < 8; ++r) want[64 + r] = (0 | 1 << 2) | (0 | 1 << 2) << 4;
  for (int g = 0; g < 2; ++g)
    for (int j = 0; j < 4; ++j) want[128 + 4 * g + j] = static_cast<uint8_t>(j);
  EXPECT_EQ(blob, want);
}

TEST(VnmFormat, GoldenBytes8of2of8WithColumnChoice) {
  // 8 x 16, V = 8, M = 8: row 0 has columns 1 (5) and 6 (-7), row 3 columns
  // 2 (9) and 6 (10), row 5 columns 9 (-1) and 15 (127).
  const VnmShape s{8, 16, 8, 8, 8};
  std::vector<int8_t> w(128, 0);
  w[0 * 16 + 1] = 5, w[0 * 16 + 6] = -7;
  w[3 * 16 + 2] = 9, w[3 * 16 + 6] = 10;
  w[5 * 16 + 9] = -1, w[5 * 16 + 15] = 127;
  const std::vector<uint8_t> blob = pack(s, w);
  ASSERT_EQ(blob.size(), 136u);
  std::vector<uint8_t> want(136, 0);
  // Group 0: nonzero columns {1, 2, 6} + lowest other 0 -> kept (0, 1, 2, 6).
  // Group 1: nonzero offsets {1, 7} + lowest others 0, 2 -> kept (0, 1, 2, 7).
  const uint8_t cols[8] = {0, 1, 2, 6, 0, 1, 2, 7};
  std::memcpy(&want[128], cols, 8);
  // Row 0: group 0 columns 1, 6 -> positions (1, 3); group 1 none -> (0, 1).
  want[0 * 4 + 0] = 5, want[0 * 4 + 1] = static_cast<uint8_t>(-7);
  want[64 + 0] = (1 | 3 << 2) | (0 | 1 << 2) << 4;
  // Row 3: group 0 columns 2, 6 -> (2, 3).
  want[3 * 4 + 0] = 9, want[3 * 4 + 1] = 10;
  want[64 + 3] = (2 | 3 << 2) | (0 | 1 << 2) << 4;
  // Row 5: group 0 none -> (0, 1); group 1 offsets 1, 7 -> (1, 3).
  want[5 * 4 + 2] = 0xFF, want[5 * 4 + 3] = 127;
  want[64 + 5] = (0 | 1 << 2) | (1 | 3 << 2) << 4;
  for (int r : {1, 2, 4, 6, 7}) want[64 + r] = (0 | 1 << 2) | (0 | 1 << 2) << 4;
  EXPECT_EQ(blob, want);
}

TEST(VnmFormat, GoldenBytesInt4) {
  // 8 x 8, V = 8, M = 4, int4: row 0 = [1 0 -2 0 | 0 3 0 -8], row 4 = [7 -1 0 0 | 0 0 0 0].
  const VnmShape s{8, 8, 8, 4, 4};
  std::vector<int8_t> w(64, 0);
  w[0] = 1, w[2] = -2, w[5] = 3, w[7] = -8;
  w[32 + 0] = 7, w[32 + 1] = -1;
  const std::vector<uint8_t> blob = pack(s, w);
  ASSERT_EQ(blob.size(), 136u);  // values 16 @0, positions 8 @64, columns 8 @128
  // Value slots v[0..31] = 4 per row; byte j = v[j] | v[j + 16] << 4.
  // v[0..3] = (1, -2, 3, -8); row 4 is v[16..19] = (7, -1, 0, 0).
  EXPECT_EQ(blob[0], (1 & 15) | (7 << 4));
  EXPECT_EQ(blob[1], (-2 & 15) | ((-1 & 15) << 4));
  EXPECT_EQ(blob[2], 3);
  EXPECT_EQ(blob[3], (-8 & 15));
  for (int j = 4; j < 16; ++j) EXPECT_EQ(blob[j], 0) << j;
  EXPECT_EQ(blob[64 + 4], (0 | 1 << 2) | (0 | 1 << 2) << 4);
}

TEST(VnmFormat, PackRefusesMatricesThatAreNotVnm) {
  std::vector<uint8_t> blob;
  std::vector<int8_t> w(16 * 16, 0);
  // Rows 0..7 of V = 8, group 0 (M = 8): nonzeros in 5 columns.
  for (int c : {0, 1, 2, 3, 5}) w[(c % 3) * 16 + c] = 1;
  std::string e = vnm_pack({16, 16, 8, 8, 8}, w.data(), &blob);
  EXPECT_NE(e.find("rows 0..7, group 0 (columns 0..7): nonzeros in 5 columns (0, 1, 2, 3, 5)"), std::string::npos) << e;
  // Row 9 with 3 nonzeros among 4 columns.
  std::fill(w.begin(), w.end(), 0);
  w[9 * 16 + 8] = 1, w[9 * 16 + 9] = 2, w[9 * 16 + 12] = 3;
  e = vnm_pack({16, 16, 8, 8, 8}, w.data(), &blob);
  EXPECT_NE(e.find("row 9, group 1: 3 nonzeros (columns 8, 9, 12)"), std::string::npos) << e;
  // An int4 value out of range.
  std::fill(w.begin(), w.end(), 0);
  w[3] = 8;
  e = vnm_pack({16, 16, 8, 8, 4}, w.data(), &blob);
  EXPECT_NE(e.find("w[0, 3] = 8 is outside the int4 range"), std::string::npos) << e;
}

TEST(VnmFormat, RoundTripsOverShapesAndPatterns) {
  std::mt19937 rng(7);
  for (int32_t v : {8, 16, 24, 64, 128})
    for (int32_t m : {4, 5, 6, 8, 13, 16, 40})
      for (int bits : {8, 4}) {
        const VnmShape s{uniform(rng, 1, 150), uniform(rng, 1, 200), v, m, bits};
        const auto w = random_vnm(rng, s, bits == 4 ? -8 : -128, bits == 4 ? 7 : 127);
        const auto blob = pack(s, w);
        ASSERT_EQ(vnm_validate(s, blob.data(), blob.size()), "");
        std::vector<int8_t> back(w.size());
        ASSERT_EQ(vnm_unpack(s, blob.data(), blob.size(), back.data()), "");
        EXPECT_EQ(back, w) << "N=" << s.n << " K=" << s.k << " V=" << v << " M=" << m << " bits=" << bits;
        // Packing the unpacked matrix again gives the same bytes (canonical form).
        EXPECT_EQ(pack(s, back), blob);
      }
}

// Every kind of corrupted metadata is refused with a message that says what.
TEST(VnmFormat, ValidateRejectsEachKindOfCorruption) {
  std::mt19937 rng(11);
  const VnmShape s{20, 21, 16, 5, 8};  // padding rows 20..31, padding columns 21..29
  const auto w = random_vnm(rng, s, -128, 127);
  const auto good = pack(s, w);
  VnmLayout l;
  ASSERT_EQ(vnm_layout(s, &l), "");
  ASSERT_EQ(vnm_validate(s, good.data(), good.size()), "");
  auto check = [&](const char* what, auto corrupt, const std::string& expect) {
    auto bad = good;
    corrupt(bad);
    const std::string e = vnm_validate(s, bad.data(), bad.size());
    EXPECT_NE(e.find(expect), std::string::npos) << what << ": got '" << e << "'";
  };
  const size_t col0 = l.columns_offset, pos0 = l.positions_offset;
  check("column out of range", [&](std::vector<uint8_t>& b) { b[col0 + 3] = 5; },
        "rows 0..15, group 0 (columns 0..4): kept column offset 5 is not below M = 5");
  check("columns unsorted", [&](std::vector<uint8_t>& b) {
    b[col0 + 4 * 7 + 0] = 3, b[col0 + 4 * 7 + 1] = 1, b[col0 + 4 * 7 + 2] = 2, b[col0 + 4 * 7 + 3] = 4;
  }, "rows 16..31, group 1 (columns 5..9): kept column offsets (3, 1, 2, 4) are not 4 distinct ascending");
  check("columns duplicated", [&](std::vector<uint8_t>& b) {
    b[col0 + 0] = 0, b[col0 + 1] = 2, b[col0 + 2] = 2, b[col0 + 3] = 4;
  }, "kept column offsets (0, 2, 2, 4) are not 4 distinct ascending");
  // Row 10 is octet 1, row 2 of it; group 2 is gp 1, low nibble.
  const size_t p10 = pos0 + (1 * l.group_pairs + 1) * 8 + 2;
  auto set_low = [&](std::vector<uint8_t>& b, int p0, int p1) {
    b[p10] = static_cast<uint8_t>((b[p10] & 0xF0) | p0 | p1 << 2);
  };
  check("positions equal", [&](std::vector<uint8_t>& b) { set_low(b, 1, 1); },
        "row 10, group 2: positions (1, 1) are not 2 distinct ascending indices");
  check("positions descending", [&](std::vector<uint8_t>& b) { set_low(b, 3, 0); },
        "row 10, group 2: positions (3, 0)");
  check("second group's positions",
        [&](std::vector<uint8_t>& b) { b[p10] = static_cast<uint8_t>((b[p10] & 0x0F) | (2 | 2 << 2) << 4); },
        "row 10, group 3: positions (2, 2)");
  // Row 25 (a padding row: N = 20) gets a value.
  check("value in a padding row", [&](std::vector<uint8_t>& b) { b[(3 * l.group_pairs + 0) * 32 + 4 * 1 + 0] = 9; },
        "row 25, column");
  check("value in a padding column", [&](std::vector<uint8_t>& b) {
    // Row 0, group 5 (columns 25..29, all padding): gp 2, slots 2 and 3.
    b[(0 * l.group_pairs + 2) * 32 + 2] = 1;
  }, "value 1 in padding (N = 20, K = 21) must be 0");
  check("bytes between sections", [&](std::vector<uint8_t>& b) { b[l.positions_offset + l.positions_bytes] = 7; },
        "padding byte 480 after the positions section is 7");
  {
    // 8 x 10, M = 5: 32 bytes of values, positions at 64.
    auto small = pack({8, 10, 8, 5, 8}, std::vector<int8_t>(80, 0));
    small[40] = 1;
    EXPECT_NE(vnm_validate({8, 10, 8, 5, 8}, small.data(), small.size())
                  .find("padding byte 40 after the values section is 1"),
              std::string::npos);
  }
  // Size mismatches.
  EXPECT_NE(vnm_validate(s, good.data(), good.size() - 1)
                .find("has 559 bytes; N = 20, K = 21, V = 16, M = 5, int8 needs 560"),
            std::string::npos);
  EXPECT_NE(vnm_validate({20, 21, 16, 5, 4}, good.data(), good.size()).find("needs 368"), std::string::npos);
  EXPECT_NE(vnm_validate({20, 21, 12, 5, 8}, good.data(), good.size()).find("V = 12"), std::string::npos);
  EXPECT_NE(vnm_validate(s, nullptr, good.size()).find("missing"), std::string::npos);
}

// ---- kernels --------------------------------------------------------------------

struct SrcFormat {
  const char* name;
  bool is_signed;
  int32_t min, max;
};
constexpr SrcFormat kS8{"s8", true, -128, 127};
constexpr SrcFormat kU8{"u8", false, 0, 255};
constexpr SrcFormat kS7{"s8[-127,127]", true, -127, 127};
constexpr SrcFormat kU7{"u8[0,127]", false, 0, 127};
constexpr SrcFormat kS4{"s4", true, -8, 7};
constexpr SrcFormat kU4{"u4", false, 0, 15};

struct Problem {
  VnmGemmDesc desc;
  std::vector<int8_t> dense;  // N x K, satisfies V:2:M
  std::vector<uint8_t> blob;
  std::vector<int32_t> bias;  // empty: none
  std::vector<Dyadic> requant;

  VnmGemmWeights weights() const {
    return {blob.data(), blob.size(), bias.empty() ? nullptr : bias.data(),
            requant.empty() ? nullptr : requant.data()};
  }
};

int bit_length(uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

// wlo/whi: weight range (e.g. [-127, 127] so every AVX2 family applies).
Problem make_problem(std::mt19937& rng, const VnmShape& shape, const SrcFormat& src, VnmDstType dst,
                     int32_t wlo, int32_t whi, bool extreme_requant = false) {
  Problem p;
  VnmGemmDesc& d = p.desc;
  d.shape = shape;
  d.src_signed = src.is_signed;
  d.src_min = src.min;
  d.src_max = src.max;
  const int32_t clo = src.is_signed ? -128 : 0, chi = src.is_signed ? 127 : 255;
  d.src_zp = uniform(rng, 0, 3) == 0 ? value(rng, clo, chi, 1) : value(rng, src.min, src.max);
  d.dst_type = dst;
  p.dense = random_vnm(rng, shape, wlo, whi);
  p.blob = pack(shape, p.dense);
  if (uniform(rng, 0, 3) != 0) {
    p.bias.resize(shape.n);
    for (auto& b : p.bias) b = value(rng, -(1 << 20), 1 << 20);
  }
  if (dst != VnmDstType::kInt32) {
    const int32_t lo = dst == VnmDstType::kInt8 ? -128 : 0, hi = dst == VnmDstType::kInt8 ? 127 : 255;
    d.dst_zp = value(rng, lo, hi, 3);
    d.qmin = lo, d.qmax = hi;
    if (uniform(rng, 0, 2) == 0) {  // a fused activation clamp
      d.qmin = uniform(rng, lo, (lo + hi) / 2);
      d.qmax = uniform(rng, d.qmin, hi);
    }
    // Typical |acc| ~ sqrt(nnz) * |w| * |x|: pick e so outputs spread over the
    // range, some channels far too big (saturating) or extreme.
    const int64_t nnz = 2 * ((shape.k + shape.m - 1) / shape.m);
    int64_t root = 1;
    while (root * root < nnz) ++root;
    const int typical = bit_length(static_cast<uint64_t>(std::max(1, whi) * int64_t{src.max - src.min + 1} * root));
    p.requant.resize(shape.n);
    for (auto& r : p.requant) {
      r.m = uniform(rng, 1 << 30, INT32_MAX) * (uniform(rng, 0, 1) ? 1 : -1);
      r.e = 31 + typical - 8 + uniform(rng, -3, 3);
      if (uniform(rng, 0, 9) == 0) r.e -= 12;  // saturating
      if (extreme_requant) {
        switch (uniform(rng, 0, 7)) {
          case 0: r = {INT32_MIN, uniform(rng, 1, 70)}; break;
          case 1: r = {0, 31}; break;
          case 2: r = {uniform(rng, -5, 5), uniform(rng, -62, 0)}; break;  // left shifts
          case 3: r = {uniform(rng, INT32_MIN, INT32_MAX), uniform(rng, 63, 255)}; break;
          case 4: r = {1, 1}; break;
          case 5: r = {-1, 0}; break;
          default: break;
        }
      }
    }
  }
  return p;
}

std::vector<uint8_t> random_src(std::mt19937& rng, const SrcFormat& f, size_t tokens, size_t stride) {
  std::vector<uint8_t> src(tokens * stride);
  for (auto& x : src) x = static_cast<uint8_t>(value(rng, f.min, f.max, 6));
  return src;
}

size_t dst_bytes(VnmDstType t) { return t == VnmDstType::kInt32 ? 4 : 1; }

// The dense reference: the definition of vnm_gemm.h on the unpacked matrix.
std::vector<uint8_t> dense_reference(const Problem& p, const std::vector<uint8_t>& src, size_t tokens,
                                     size_t src_stride, size_t dst_stride) {
  const VnmGemmDesc& d = p.desc;
  const size_t eb = dst_bytes(d.dst_type);
  std::vector<uint8_t> out(tokens * dst_stride * eb, 0xA5);
  for (size_t t = 0; t < tokens; ++t) {
    for (int32_t n = 0; n < d.shape.n; ++n) {
      int64_t acc = p.bias.empty() ? 0 : p.bias[n];
      for (int32_t k = 0; k < d.shape.k; ++k) {
        const uint8_t raw = src[t * src_stride + k];
        const int32_t x = d.src_signed ? static_cast<int8_t>(raw) : raw;
        acc += int64_t{x - d.src_zp} * p.dense[size_t(n) * d.shape.k + k];
      }
      const size_t o = (t * dst_stride + n) * eb;
      if (d.dst_type == VnmDstType::kInt32) {
        const int32_t y = static_cast<int32_t>(clamp_int64(acc, INT32_MIN, INT32_MAX));
        std::memcpy(&out[o], &y, 4);
      } else {
        const int64_t y = clamp_int64(add_saturate(d.dst_zp, dyadic_rne(acc, p.requant[n].m, p.requant[n].e)),
                                      d.qmin, d.qmax);
        out[o] = static_cast<uint8_t>(y);
      }
    }
  }
  return out;
}

// Runs `variant` (or the planner's choice when empty) and compares every
// output byte, and that bytes between rows (stride padding) are untouched.
// Returns false when the variant refuses the problem.
bool run_and_compare(const Problem& p, const std::string& variant, size_t tokens, int threads,
                     std::mt19937& rng, const SrcFormat& f, const std::string& what) {
  std::string error;
  VnmGemmPlanPtr plan = variant.empty() ? vnm_gemm_plan(p.desc, p.weights(), &error)
                                        : vnm_gemm_plan_variant(p.desc, p.weights(), variant, &error);
  if (!plan) {
    EXPECT_NE(error.find("refused"), std::string::npos) << what << ": " << error;
    return false;
  }
  const size_t src_stride = p.desc.shape.k + uniform(rng, 0, 3);
  const size_t dst_stride = p.desc.shape.n + uniform(rng, 0, 2);
  const auto src = random_src(rng, f, tokens, src_stride);
  const auto want = dense_reference(p, src, tokens, src_stride, dst_stride);
  std::vector<uint8_t> got(want.size(), 0xA5);
  ThreadPool pool(threads);
  EXPECT_TRUE(vnm_gemm_run(*plan, src.data(), tokens, src_stride, got.data(), dst_stride, &pool));
  const size_t eb = dst_bytes(p.desc.dst_type);
  for (size_t i = 0; i < want.size(); ++i) {
    if (got[i] != want[i]) {
      const size_t e = i / eb;
      ADD_FAILURE() << what << " variant " << vnm_gemm_plan_variant_name(*plan) << " tokens " << tokens
                    << " threads " << threads << ": first difference at token " << e / dst_stride << " channel "
                    << e % dst_stride << " byte " << i % eb << ": got " << int(got[i]) << " want " << int(want[i]);
      return true;
    }
  }
  return true;
}

// Every optimized variant this CPU has (AVX2, AVX-VNNI, AVX-512 VNNI).
std::vector<std::string> fast_variants() {
  std::vector<std::string> out;
  for (const auto& v : vnm_gemm_variants())
    if (!v.is_reference && v.cpu_supported) out.push_back(v.name);
  return out;
}

std::string describe(const VnmShape& s, const SrcFormat& f, VnmDstType dst) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "N=%d K=%d V=%d M=%d int%d src=%s dst=%d", s.n, s.k, s.v, s.m, s.value_bits, f.name,
                int(dst));
  return buf;
}

TEST(VnmGemm, ReferenceMatchesHandComputedGolden) {
  // W (2:4, one octet, 8 x 8): row 0 = [1 0 -2 0 | 0 3 0 4], row 7 = [0 0 5 6 | -1 0 0 2].
  const VnmShape s{8, 8, 8, 4, 8};
  Problem p;
  p.desc.shape = s;
  p.desc.src_signed = false, p.desc.src_min = 0, p.desc.src_max = 255, p.desc.src_zp = 10;
  p.desc.dst_type = VnmDstType::kInt32;
  p.dense.assign(64, 0);
  p.dense[0] = 1, p.dense[2] = -2, p.dense[5] = 3, p.dense[7] = 4;
  p.dense[56 + 2] = 5, p.dense[56 + 3] = 6, p.dense[56 + 4] = -1, p.dense[56 + 7] = 2;
  p.blob = pack(s, p.dense);
  p.bias = {100, 0, 0, 0, 0, 0, 0, -7};
  const uint8_t x[8] = {11, 12, 13, 14, 15, 16, 17, 18};  // x - zp = 1..8
  // Row 0: 100 + 1*1 - 2*3 + 3*6 + 4*8 = 145. Row 7: -7 + 5*3 + 6*4 - 1*5 + 2*8 = 43.
  for (const auto& v : vnm_gemm_variants()) {
    if (!v.cpu_supported) continue;
    std::string error;
    auto plan = vnm_gemm_plan_variant(p.desc, p.weights(), v.name, &error);
    if (!plan) continue;  // the int4 variant: these are int8 weights
    int32_t y[8] = {};
    ASSERT_TRUE(vnm_gemm_run(*plan, x, 1, 8, y, 8, nullptr));
    EXPECT_EQ(y[0], 145) << v.name;
    EXPECT_EQ(y[7], 43) << v.name;
    for (int n = 1; n < 7; ++n) EXPECT_EQ(y[n], 0) << v.name;
  }
}

// The main sweep: every variant that accepts the problem, bit for bit.
TEST(VnmGemm, VariantsMatchDenseReferenceSweep) {
  const std::vector<std::string> variants = fast_variants();
  if (variants.empty()) GTEST_SKIP() << "no vector variant (AVX2 on x86, SDOT on ARM) on this CPU";
  std::mt19937 rng(2024);
  int compared = 0;
  for (int32_t v : {16, 32, 64, 128})
    for (int32_t m : {4, 5, 6, 8, 16}) {
      for (int bits : {8, 4}) {
        // Odd sizes: N not a multiple of V or 8, K not a multiple of 2M.
        const VnmShape s{v + uniform(rng, 1, 2 * v), uniform(rng, 1, 10) * 2 * m + uniform(rng, -m, m) + m, v, m,
                         bits};
        for (const SrcFormat& f : {kS8, kU8, kS7, kU4}) {
          constexpr VnmDstType kDsts[] = {VnmDstType::kInt8, VnmDstType::kUint8, VnmDstType::kInt32};
          const VnmDstType dst = kDsts[uniform(rng, 0, 2)];
          const int32_t wmax = bits == 4 ? 7 : 127, wmin = bits == 4 ? -8 : -127;
          const Problem p = make_problem(rng, s, f, dst, wmin, wmax);
          for (const std::string& name : variants) {
            for (size_t tokens : {size_t(1), size_t(3), size_t(uniform(rng, 5, 30))}) {
              const std::string what = describe(s, f, dst);
              if (run_and_compare(p, name, tokens, uniform(rng, 1, 4), rng, f, what)) ++compared;
              if (HasFailure()) return;
            }
          }
        }
      }
    }
  EXPECT_GE(compared, 480);  // each of the 160 problems x 3 token counts on at least one variant
}

// Each family on the problems it exists for, with every token count the
// drivers split differently (1..4 direct, 5+ panels with 12-token tiles).
TEST(VnmGemm, EachFamilyOverTokenCountsAndThreads) {
  if (!cpu_features().avx2) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(99);
  struct Case {
    const char* variant;
    SrcFormat src;
    int bits;
    int32_t wmin, wmax;
  };
  const Case cases[] = {
      {"vnm_ubs_qc8w__avx2", kU4, 8, -128, 127},    // 2 * 15 * 128 <= 32767
      {"vnm_ubs_qc8w__avx2", kU8, 8, -64, 64},      // 2 * 255 * 64 = 32640
      {"vnm_ubs_qc4w__avx2", kS8, 4, -8, 7},
      {"vnm_signw_qc8w__avx2", kS7, 8, -128, 127},  // 255 values, -128 weights allowed
      {"vnm_signa_qc8w__avx2", kU8, 8, -127, 127},  // full range
      {"vnm_signa_qc8w__avx2", kS8, 8, -127, 127},
  };
  for (const Case& c : cases) {
    for (int32_t m : {4, 7, 8, 12, 32}) {
      const VnmShape s{uniform(rng, 70, 200), uniform(rng, 40, 300), m == 12 ? 24 : 8, m, c.bits};
      const Problem p = make_problem(rng, s, c.src, VnmDstType::kInt8, c.wmin, c.wmax);
      for (size_t tokens : {1, 2, 3, 4, 5, 11, 12, 13, 25}) {
        for (int threads = 1; threads <= 4; ++threads) {
          ASSERT_TRUE(run_and_compare(p, c.variant, tokens, threads, rng, c.src, describe(s, c.src, VnmDstType::kInt8)))
              << c.variant << " refused";
          if (HasFailure()) return;
        }
      }
    }
  }
}

// Activation and weight extremes: all-min / all-max activations, zero points
// at both ends of the container, weights all at +-127 (or -128 where the
// family allows it), with outputs that saturate.
TEST(VnmGemm, ExtremeValuesAndZeroPoints) {
  std::mt19937 rng(5);
  for (const SrcFormat& f : {kS8, kU8, kS7}) {
    for (int32_t zp : {f.is_signed ? -128 : 0, f.is_signed ? 127 : 255}) {
      for (int32_t wext : {127, -127, -128}) {
        const VnmShape s{72, 400, 8, 5, 8};
        Problem p = make_problem(rng, s, f, VnmDstType::kInt8, -127, 127);
        for (auto& w : p.dense)
          if (w != 0) w = static_cast<int8_t>(uniform(rng, 0, 1) ? wext : (wext == -128 ? 127 : -wext));
        p.blob = pack(s, p.dense);
        p.desc.src_zp = zp;
        for (size_t tokens : {1, 17}) {
          for (const std::string& name : fast_variants()) {
            const std::string what = describe(s, f, VnmDstType::kInt8) + " zp " + std::to_string(zp) + " w " +
                                     std::to_string(wext);
            run_and_compare(p, name, tokens, 2, rng, f, what);  // a third of the activations at an end
            if (HasFailure()) return;
          }
          // The planner's choice always runs (falls back to the reference).
          EXPECT_TRUE(run_and_compare(p, "", tokens, 1, rng, f, "auto"));
        }
      }
    }
  }
}

TEST(VnmGemm, ConstantExtremeActivations) {
  if (!cpu_features().avx2) GTEST_SKIP() << "no AVX2";
  // Every activation at the container's min or max, weights at +-127.
  std::mt19937 rng(6);
  const VnmShape s{64, 256, 16, 4, 8};
  Problem p = make_problem(rng, s, kU8, VnmDstType::kInt32, -127, 127);
  for (auto& w : p.dense)
    if (w != 0) w = 127;
  p.blob = pack(s, p.dense);
  p.bias.clear();
  for (uint8_t fill : {uint8_t{0}, uint8_t{255}}) {
    for (int32_t zp : {0, 255}) {
      p.desc.src_zp = zp;
      std::string error;
      auto plan = vnm_gemm_plan_variant(p.desc, p.weights(), "vnm_signa_qc8w__avx2", &error);
      ASSERT_TRUE(plan) << error;
      for (size_t tokens : {1, 13}) {
        std::vector<uint8_t> src(tokens * 256, fill);
        const auto want = dense_reference(p, src, tokens, 256, 64);
        std::vector<uint8_t> got(want.size());
        ASSERT_TRUE(vnm_gemm_run(*plan, src.data(), tokens, 256, got.data(), 64, nullptr));
        EXPECT_EQ(got, want) << "fill " << int(fill) << " zp " << zp;
        // A hand check: row 0 has 2 nonzeros per group = 128 weights of 127.
        int32_t y0;
        std::memcpy(&y0, got.data(), 4);
        int64_t count = 0;
        for (int k = 0; k < 256; ++k) count += p.dense[k] != 0;
        EXPECT_EQ(y0, count * 127 * (int(fill) - zp));
      }
    }
  }
}

// kUbs adds pair sums in int16 over as many group pairs as the bound
// allows: with every pair sum at its extreme the int16 sums reach the limit.
TEST(VnmGemm, Int16SumsAtTheirBound) {
  if (!cpu_features().avx2) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(12);
  struct Case {
    const char* variant;
    int bits;
    int8_t w;
    bool src_signed;
    int32_t src_min, src_max;
    uint8_t x;
  };
  const Case cases[] = {
      {"vnm_ubs_qc4w__avx2", 4, -8, false, 0, 255, 255},  // pairs -4080, 8 per int16 sum
      {"vnm_ubs_qc4w__avx2", 4, -8, true, -128, 127, 127},
      {"vnm_ubs_qc8w__avx2", 8, -128, false, 0, 15, 15},  // pairs -3840, 8 per int16 sum
  };
  for (const Case& c : cases) {
    for (int32_t m : {4, 8, 16}) {
      const VnmShape s{48, 40 * m, 16, m, c.bits};
      Problem p = make_problem(rng, s, {"edge", c.src_signed, c.src_min, c.src_max}, VnmDstType::kInt32, -1, 1);
      for (auto& w : p.dense)
        if (w != 0) w = c.w;
      p.blob = pack(s, p.dense);
      p.bias.clear();
      p.desc.src_zp = c.src_min;
      std::string error;
      auto plan = vnm_gemm_plan_variant(p.desc, p.weights(), c.variant, &error);
      ASSERT_TRUE(plan) << error;
      for (size_t tokens : {1, 2, 20}) {
        std::vector<uint8_t> src(tokens * s.k, c.x);
        const auto want = dense_reference(p, src, tokens, s.k, s.n);
        std::vector<uint8_t> got(want.size());
        ASSERT_TRUE(vnm_gemm_run(*plan, src.data(), tokens, s.k, got.data(), s.n, nullptr));
        EXPECT_EQ(got, want) << c.variant << " M=" << m << " tokens " << tokens;
      }
    }
  }
}

TEST(VnmGemm, ExtremeRequantConstantsAndInt32Outputs) {
  std::mt19937 rng(77);
  for (VnmDstType dst : {VnmDstType::kInt8, VnmDstType::kUint8, VnmDstType::kInt32}) {
    for (int32_t m : {4, 8, 16}) {
      const VnmShape s{uniform(rng, 8, 100), uniform(rng, 8, 300), 16, m, 8};
      const Problem p = make_problem(rng, s, kS8, dst, -127, 127, /*extreme_requant=*/true);
      for (const std::string& name : fast_variants()) {
        for (size_t tokens : {1, 14}) {
          run_and_compare(p, name, tokens, 3, rng, kS8, describe(s, kS8, dst));
          if (HasFailure()) return;
        }
      }
    }
  }
}

TEST(VnmGemm, PlannerChoosesFamiliesAndRefuses) {
  if (!cpu_features().avx2) GTEST_SKIP() << "no AVX2";
  ScopedEnv cap("DYAD_ISA", "avx2");  // the AVX2 families' choice (VNNI ones would win otherwise)
  std::mt19937 rng(3);
  auto chosen = [&](const SrcFormat& f, int bits, int32_t wmin, int32_t wmax) {
    const Problem p = make_problem(rng, {64, 64, 16, 8, bits}, f, VnmDstType::kInt8, wmin, wmax);
    std::string error;
    auto plan = vnm_gemm_plan(p.desc, p.weights(), &error);
    EXPECT_TRUE(plan) << error;
    return std::string(plan ? vnm_gemm_plan_variant_name(*plan) : "");
  };
  EXPECT_EQ(chosen(kS8, 4, -8, 7), "vnm_ubs_qc4w__avx2");
  EXPECT_EQ(chosen(kU4, 8, -128, 127), "vnm_ubs_qc8w__avx2");
  EXPECT_EQ(chosen(kS7, 8, -128, 127), "vnm_signw_qc8w__avx2");
  EXPECT_EQ(chosen(kU8, 8, -127, 127), "vnm_signa_qc8w__avx2");
  // Full-range activations with a -128 weight: only the reference is exact.
  Problem p = make_problem(rng, {64, 64, 16, 8, 8}, kU8, VnmDstType::kInt8, -127, 127);
  for (int k = 0; k < 64; ++k) {
    if (p.dense[k] != 0) {
      p.dense[k] = -128;
      break;
    }
  }
  p.blob = pack(p.desc.shape, p.dense);
  std::string error;
  auto plan = vnm_gemm_plan(p.desc, p.weights(), &error);
  ASSERT_TRUE(plan) << error;
  EXPECT_STREQ(vnm_gemm_plan_variant_name(*plan), "vnm_ref");
  EXPECT_FALSE(vnm_gemm_plan_variant(p.desc, p.weights(), "vnm_signa_qc8w__avx2", &error));
  EXPECT_NE(error.find("a weight is -128"), std::string::npos) << error;
  EXPECT_FALSE(vnm_gemm_plan_variant(p.desc, p.weights(), "vnm_ubs_qc8w__avx2", &error));
  EXPECT_NE(error.find("reach"), std::string::npos) << error;
  EXPECT_FALSE(vnm_gemm_plan_variant(p.desc, p.weights(), "vnm_signw_qc8w__avx2", &error));
  EXPECT_NE(error.find("has 256 values"), std::string::npos) << error;
  EXPECT_FALSE(vnm_gemm_plan_variant(p.desc, p.weights(), "vnm_ubs_qc4w__avx2", &error));
  EXPECT_NE(error.find("reads int4 values"), std::string::npos) << error;
  EXPECT_FALSE(vnm_gemm_plan_variant(p.desc, p.weights(), "no_such", &error));
  // An accumulator that could overflow int32: reference only.
  Problem big = make_problem(rng, {8, 64, 8, 4, 8}, kU8, VnmDstType::kInt32, -127, 127);
  big.bias.assign(8, INT32_MAX - 10);
  plan = vnm_gemm_plan(big.desc, big.weights(), &error);
  ASSERT_TRUE(plan);
  EXPECT_STREQ(vnm_gemm_plan_variant_name(*plan), "vnm_ref");
  EXPECT_TRUE(run_and_compare(big, "", 3, 1, rng, kU8, "overflow"));
  // Invalid inputs are errors, not crashes.
  Problem bad = make_problem(rng, {16, 16, 8, 4, 8}, kS8, VnmDstType::kInt8, -127, 127);
  bad.blob[bad.blob.size() - 1] = 9;  // a kept column offset >= M
  EXPECT_FALSE(vnm_gemm_plan(bad.desc, bad.weights(), &error));
  EXPECT_NE(error.find("kept column offset 9 is not below M = 4"), std::string::npos) << error;
  bad = make_problem(rng, {16, 16, 8, 4, 8}, kS8, VnmDstType::kInt8, -127, 127);
  bad.requant.clear();
  EXPECT_FALSE(vnm_gemm_plan(bad.desc, bad.weights(), &error));
  EXPECT_NE(error.find("requant constants are missing"), std::string::npos);
  bad.desc.dst_type = VnmDstType::kInt32;
  bad.desc.src_zp = 300;
  EXPECT_FALSE(vnm_gemm_plan(bad.desc, bad.weights(), &error));
  EXPECT_NE(error.find("src_zp = 300"), std::string::npos);
}

// ---- VNNI variants (vpdpbusd) ---------------------------------------------------

// Skips (naming the missing ISA) when the CPU lacks the variant's ISA.
class VnmVnniTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    for (const VnmGemmVariantInfo& v : vnm_gemm_variants()) {
      if (GetParam() == v.name && !v.cpu_supported)
        GTEST_SKIP() << "this CPU lacks " << v.isa << ", needed by " << v.name;
    }
  }
};

// Every kind of pattern the format allows (plain 2:4, V:2:M with M 5..128,
// V from 8 to 128, M > 8 through the gathered windows, M > 16 gathered by
// scalar code), odd shapes, int8 and int4
// values over their full range (-128 and -8 included), every source format
// with zero points anywhere in the container, every output type, token
// counts on both drivers and around the zmm tile (16 tokens, 4 per zmm), and
// 1..4 threads: bit for bit with the dense reference.
TEST_P(VnmVnniTest, MatchesReferenceOverPatternsTokensAndThreads) {
  std::mt19937 rng(4242);
  struct Pattern {
    int32_t v, m;
  };
  const Pattern patterns[] = {{8, 4},  {64, 4},  {64, 5},  {64, 8},  {16, 6},  {24, 7},
                              {8, 16}, {32, 12}, {16, 32}, {128, 5}, {8, 128}};
  constexpr VnmDstType kDsts[] = {VnmDstType::kInt8, VnmDstType::kUint8, VnmDstType::kInt32};
  int runs = 0;
  for (const Pattern& pat : patterns) {
    for (int bits : {8, 4}) {
      const VnmShape s{pat.v + uniform(rng, 1, 2 * pat.v), uniform(rng, 2, 12) * 2 * pat.m + uniform(rng, -pat.m, pat.m),
                       pat.v, pat.m, bits};
      for (const SrcFormat& f : {kS8, kU8, kS4, kU4}) {
        const int32_t wmin = bits == 4 ? -8 : -128, wmax = bits == 4 ? 7 : 127;
        const VnmDstType dst = kDsts[uniform(rng, 0, 2)];
        const Problem p = make_problem(rng, s, f, dst, wmin, wmax);
        for (size_t tokens : {1, 3, 4, 5, 15, 16, 17, 35}) {
          const int threads = uniform(rng, 1, 4);
          ASSERT_TRUE(run_and_compare(p, GetParam(), tokens, threads, rng, f, describe(s, f, dst)))
              << GetParam() << " refused " << describe(s, f, dst);
          ++runs;
          if (HasFailure()) return;
        }
      }
    }
  }
  EXPECT_EQ(runs, 11 * 2 * 4 * 8);
}

// Each thread count on one problem, tokens on both sides of the tile.
TEST_P(VnmVnniTest, EveryThreadCount) {
  std::mt19937 rng(17);
  for (int32_t m : {4, 5, 8, 16}) {
    const VnmShape s{uniform(rng, 100, 260), uniform(rng, 100, 400), 64, m, 8};
    const Problem p = make_problem(rng, s, kU8, VnmDstType::kInt8, -128, 127);
    for (size_t tokens : {2, 31, 64}) {
      for (int threads = 1; threads <= 4; ++threads) {
        ASSERT_TRUE(run_and_compare(p, GetParam(), tokens, threads, rng, kU8, describe(s, kU8, VnmDstType::kInt8)));
        if (HasFailure()) return;
      }
    }
  }
}

// A long K makes the token block short (16 tokens), so a run spans several
// blocks; several K chunks add into the same sums.
TEST_P(VnmVnniTest, SeveralTokenBlocksAndChunks) {
  std::mt19937 rng(23);
  // N = 16 is one V-block: with gathering (M = 12) each token block must
  // gather its own windows though the V-block does not change.
  for (int32_t n : {40, 16}) {
    for (int32_t m : {4, 12}) {
      const VnmShape s{n, 20000 + m, 16, m, 8};
      const Problem p = make_problem(rng, s, kS8, VnmDstType::kInt32, -128, 127);
      for (int threads : {1, 3}) {
        ASSERT_TRUE(run_and_compare(p, GetParam(), 37, threads, rng, kS8, describe(s, kS8, VnmDstType::kInt32)));
        if (HasFailure()) return;
      }
    }
  }
}

// The extremes: all activations at one end of the container, zero points at
// both ends, every weight -128 (or 127), outputs far beyond the clamp.
TEST_P(VnmVnniTest, ExtremeValues) {
  std::mt19937 rng(29);
  const VnmShape s{48, 333, 16, 5, 8};
  Problem p = make_problem(rng, s, kU8, VnmDstType::kInt32, -128, 127);
  p.bias.clear();
  for (int8_t wext : {int8_t{-128}, int8_t{127}}) {
    for (auto& w : p.dense)
      if (w != 0) w = wext;
    p.blob = pack(s, p.dense);
    for (uint8_t fill : {uint8_t{0}, uint8_t{255}}) {
      for (int32_t zp : {0, 255}) {
        p.desc.src_zp = zp;
        std::string error;
        auto plan = vnm_gemm_plan_variant(p.desc, p.weights(), GetParam(), &error);
        ASSERT_TRUE(plan) << error;
        for (size_t tokens : {1, 21}) {
          std::vector<uint8_t> src(tokens * s.k, fill);
          const auto want = dense_reference(p, src, tokens, s.k, s.n);
          std::vector<uint8_t> got(want.size());
          ASSERT_TRUE(vnm_gemm_run(*plan, src.data(), tokens, s.k, got.data(), s.n, nullptr));
          EXPECT_EQ(got, want) << "w " << int(wext) << " fill " << int(fill) << " zp " << zp;
        }
      }
    }
  }
}

// The same comparisons for 64-bit ARM's SDOT variant (s8 x s8, the same
// ranges as vpdpbusd's); each architecture names the variants it builds.
#if defined(__aarch64__)
INSTANTIATE_TEST_SUITE_P(Arm, VnmVnniTest, ::testing::Values("vnm_sdot__dotprod"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param.substr(param.param.find("__") + 2);
                         });
#else
INSTANTIATE_TEST_SUITE_P(Vnni, VnmVnniTest, ::testing::Values("vnm_dp__avx512vnni", "vnm_dp__avxvnni"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param.substr(param.param.find("__") + 2);
                         });
#endif

// The fused epilogue (vnm_gemm_run_rows_epilogue): an epilogue that writes
// the bitwise complements of its int32 blocks to an int32 tensor (filled
// with a sentinel first) must give the plain run's output complemented over
// patterns with and without gathering,
// tails of N and tokens, several token blocks, 4-bit values and 1-3 threads.
// Token counts and plans the panel path does not take refuse.
TEST(VnmGemm, RowsEpilogueSeesEveryFinalInt32Once) {
  if (!kernel_isa_present(KernelIsa::kAvx512Vnni))
    GTEST_SKIP() << "this CPU lacks avx512vnni (the panel path's epilogue)";
  std::mt19937 rng(91);
  struct Case {
    VnmShape shape;
    size_t tokens;
  };
  const Case cases[] = {{{3072, 768, 64, 8, 8}, 128}, {{200, 96, 64, 5, 8}, 37}, {{40, 20016, 16, 4, 8}, 37},
                        {{72, 64, 8, 16, 8}, 19},     {{250, 400, 64, 8, 4}, 65}};
  for (const Case& c : cases) {
    for (const SrcFormat& f : {kS8, kU8}) {
      const Problem p = make_problem(rng, c.shape, f, VnmDstType::kInt32, c.shape.value_bits == 4 ? -8 : -128,
                                     c.shape.value_bits == 4 ? 7 : 127);
      std::string error;
      VnmGemmPlanPtr plan = vnm_gemm_plan_variant(p.desc, p.weights(), "vnm_dp__avx512vnni", &error);
      ASSERT_TRUE(plan) << error;
      ASSERT_TRUE(vnm_gemm_takes_rows_epilogue(*plan, c.tokens));
      const size_t src_stride = c.shape.k + 1, dst_stride = c.shape.n + 3;
      const auto src = random_src(rng, f, c.tokens, src_stride);
      std::vector<int32_t> want(c.tokens * dst_stride, 0x5A5A5A5A), got(want);
      ASSERT_TRUE(vnm_gemm_run(*plan, src.data(), c.tokens, src_stride, want.data(), dst_stride, nullptr));
      for (int threads : {1, 2, 3}) {
        std::fill(got.begin(), got.end(), ~0x5A5A5A5A);
        const Int32RowsEpilogue epilogue{inverting_rows_epilogue, nullptr};
        ThreadPool pool(threads);
        ASSERT_TRUE(vnm_gemm_run_rows_epilogue(*plan, epilogue, src.data(), c.tokens, src_stride, got.data(),
                                               dst_stride, &pool));
        for (int32_t& v : got) v = ~v;
        ASSERT_EQ(got, want) << describe(c.shape, f, VnmDstType::kInt32) << " tokens " << c.tokens << " threads "
                             << threads;
      }
    }
  }
  // Refusals: the GEMV path's token counts, and an int8 plan.
  const Problem p = make_problem(rng, {64, 64, 64, 8, 8}, kS8, VnmDstType::kInt32, -128, 127);
  std::string error;
  VnmGemmPlanPtr plan = vnm_gemm_plan_variant(p.desc, p.weights(), "vnm_dp__avx512vnni", &error);
  ASSERT_TRUE(plan) << error;
  EXPECT_FALSE(vnm_gemm_takes_rows_epilogue(*plan, 1));
  std::vector<int32_t> dst(64);
  std::vector<uint8_t> src(64);
  const Int32RowsEpilogue epilogue{inverting_rows_epilogue, nullptr};
  EXPECT_FALSE(vnm_gemm_run_rows_epilogue(*plan, epilogue, src.data(), 1, 64, dst.data(), 64, nullptr));
  const Problem q = make_problem(rng, {64, 64, 64, 8, 8}, kS8, VnmDstType::kInt8, -128, 127);
  plan = vnm_gemm_plan_variant(q.desc, q.weights(), "vnm_dp__avx512vnni", &error);
  ASSERT_TRUE(plan) << error;
  EXPECT_FALSE(vnm_gemm_takes_rows_epilogue(*plan, 128));
}

#if defined(__aarch64__)
// On ARM: DYAD_ISA=neon (no SDOT) leaves the reference, dotprod and above
// pick the SDOT variant, which takes a -128 weight with a 256-value source.
TEST(VnmGemm, DispatchFollowsTheArmIsaCap) {
  if (!kernel_isa_present(KernelIsa::kDotprod)) GTEST_SKIP() << "this CPU lacks dotprod (asimddp)";
  std::mt19937 rng(43);
  Problem p = make_problem(rng, {64, 96, 16, 8, 8}, kU8, VnmDstType::kInt8, -128, 127);
  auto chosen = [&] {
    std::string error;
    auto plan = vnm_gemm_plan(p.desc, p.weights(), &error);
    EXPECT_TRUE(plan) << error;
    return std::string(plan ? vnm_gemm_plan_variant_name(*plan) : "");
  };
  {
    ScopedEnv cap("DYAD_ISA", "neon");
    EXPECT_EQ(chosen(), "vnm_ref");
  }
  {
    ScopedEnv cap("DYAD_ISA", "dotprod");
    EXPECT_EQ(chosen(), "vnm_sdot__dotprod");
  }
  EXPECT_EQ(chosen(), "vnm_sdot__dotprod");
  EXPECT_TRUE(run_and_compare(p, "", 20, 2, rng, kU8, "-128 weight"));
}
#endif

// DYAD_ISA caps the choice: the AVX2 family under avx2 (as on an AVX2-only
// CPU), the ymm VNNI variant under avxvnni, the zmm one above; ref forces
// the reference. A -128 weight with a 256-value source, which only the
// reference takes on AVX2, runs on either VNNI variant.
TEST(VnmGemm, DispatchFollowsTheIsaCap) {
  if (!cpu_features().avx2) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(41);
  Problem p = make_problem(rng, {64, 96, 16, 8, 8}, kU8, VnmDstType::kInt8, -127, 127);
  auto chosen = [&] {
    std::string error;
    auto plan = vnm_gemm_plan(p.desc, p.weights(), &error);
    EXPECT_TRUE(plan) << error;
    return std::string(plan ? vnm_gemm_plan_variant_name(*plan) : "");
  };
  {
    ScopedEnv cap("DYAD_ISA", "ref");
    EXPECT_EQ(chosen(), "vnm_ref");
  }
  {
    ScopedEnv cap("DYAD_ISA", "avx2");
    EXPECT_EQ(chosen(), "vnm_signa_qc8w__avx2");
  }
  if (kernel_isa_present(KernelIsa::kAvxVnni)) {
    ScopedEnv cap("DYAD_ISA", "avxvnni");
    EXPECT_EQ(chosen(), "vnm_dp__avxvnni");
  }
  if (kernel_isa_present(KernelIsa::kAvx512Vnni)) {
    ScopedEnv cap("DYAD_ISA", "avx512vnni");
    EXPECT_EQ(chosen(), "vnm_dp__avx512vnni");
    // A variant named explicitly needs only the CPU, not the cap.
    ScopedEnv lower("DYAD_ISA", "avx2");
    std::string error;
    EXPECT_TRUE(vnm_gemm_plan_variant(p.desc, p.weights(), "vnm_dp__avx512vnni", &error)) << error;
  }
  for (int k = 0; k < 96; ++k) {
    if (p.dense[k] != 0) {
      p.dense[k] = -128;
      break;
    }
  }
  p.blob = pack(p.desc.shape, p.dense);
  {
    ScopedEnv cap("DYAD_ISA", "avx2");
    EXPECT_EQ(chosen(), "vnm_ref");
  }
  if (kernel_isa_usable(KernelIsa::kAvxVnni)) {
    const std::string name = chosen();
    EXPECT_NE(name.find("vnm_dp__"), std::string::npos) << name;
    EXPECT_TRUE(run_and_compare(p, "", 20, 2, rng, kU8, "-128 weight"));
  }
}

// Same bits as the dense GEMM of kernels/gemm (its planner's AVX2 choice) on
// the unpacked matrix.
TEST(VnmGemm, MatchesDenseGemmKernel) {
  std::mt19937 rng(31);
  for (int32_t m : {4, 5, 8}) {
    for (size_t tokens : {1, 40}) {
      const VnmShape s{96, 200, 32, m, 8};
      const Problem p = make_problem(rng, s, kU8, VnmDstType::kUint8, -127, 127);
      GemmDesc gd;
      gd.N = s.n, gd.K = s.k, gd.src_signed = false, gd.src_min = 0, gd.src_max = 255;
      gd.src_zp = p.desc.src_zp, gd.weight_bits = 8, gd.dst_type = GemmDstType::kUint8;
      gd.dst_zp = p.desc.dst_zp, gd.qmin = p.desc.qmin, gd.qmax = p.desc.qmax;
      std::string error;
      auto dense = gemm_plan(gd, {p.dense.data(), p.bias.empty() ? nullptr : p.bias.data(), p.requant.data()}, &error);
      ASSERT_TRUE(dense) << error;
      auto sparse = vnm_gemm_plan(p.desc, p.weights(), &error);
      ASSERT_TRUE(sparse) << error;
      const auto src = random_src(rng, kU8, tokens, s.k);
      std::vector<uint8_t> a(tokens * s.n), b(tokens * s.n);
      ASSERT_TRUE(gemm_run(*dense, src.data(), tokens, s.k, a.data(), s.n, nullptr));
      ASSERT_TRUE(vnm_gemm_run(*sparse, src.data(), tokens, s.k, b.data(), s.n, nullptr));
      EXPECT_EQ(a, b) << "M=" << m << " tokens " << tokens << " dense " << gemm_plan_variant_name(*dense)
                      << " sparse " << vnm_gemm_plan_variant_name(*sparse);
    }
  }
}

// The Python packer (models/vnm) writes the same bytes as vnm_pack.
TEST(VnmFormat, PythonPackerWritesTheSameBytes) {
  if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "no /usr/bin/python3 with numpy";
  std::mt19937 rng(8);
  const std::string dir = ::testing::TempDir();
  for (const VnmShape s : {VnmShape{70, 93, 16, 5, 8}, VnmShape{33, 64, 8, 4, 4}, VnmShape{130, 100, 64, 16, 8},
                           VnmShape{24, 50, 24, 6, 4}}) {
    const auto w = random_vnm(rng, s, s.value_bits == 4 ? -8 : -128, s.value_bits == 4 ? 7 : 127);
    const std::string in = dir + "/vnm_w.bin", out = dir + "/vnm_py.bin";
    std::ofstream(in, std::ios::binary).write(reinterpret_cast<const char*>(w.data()), w.size());
    const std::string cmd = "cd '" DYAD_SOURCE_DIR "' && /usr/bin/python3 -c \"import numpy as np; "
                            "from models.vnm import pack; "
                            "w = np.fromfile('" + in + "', dtype=np.int8).reshape(" + std::to_string(s.n) + ", " +
                            std::to_string(s.k) + "); "
                            "open('" + out + "', 'wb').write(pack.pack_vnm(w, " + std::to_string(s.v) + ", " +
                            std::to_string(s.m) + ", " + std::to_string(s.value_bits) + "))\"";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream f(out, std::ios::binary);
    const std::vector<uint8_t> py((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(py, pack(s, w)) << "N=" << s.n << " K=" << s.k << " V=" << s.v << " M=" << s.m;
  }
}

}  // namespace
}  // namespace dyad::kernels
