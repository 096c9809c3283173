// The vector adds (add__avx2, add__avx512, add__neon) against add__ref, bit for bit:
// every container pair, zero points at both ends, extreme inputs, multipliers
// and shifts, channel counts around the vector widths, element counts with
// tails, 1-4 threads; and when the plan refuses. A variant the CPU cannot run
// is skipped with the ISA named.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <random>
#include <vector>

#include "kernels/add/add.h"
#include "kernels/common/cpu.h"
#include "tests/kernels/elementwise_variants.h"
#include "kernels/common/thread_pool.h"

namespace dyad::kernels {
namespace {

struct Range {
  int64_t lo, hi;
};

Range range_of(IntType t) { return {int_type_min(t), int_type_max(t)}; }

// n values of type t, a third of them at the container's ends.
std::vector<uint8_t> random_tensor(IntType t, size_t n, std::mt19937_64& rng) {
  const Range r = range_of(t);
  std::vector<int64_t> v(n);
  for (int64_t& x : v) {
    switch (rng() % 6) {
      case 0: x = r.lo; break;
      case 1: x = r.hi; break;
      default: x = std::uniform_int_distribution<int64_t>(r.lo, r.hi)(rng);
    }
  }
  std::vector<uint8_t> bytes(n * int_type_bytes(t) + 1);
  store_ints(v.data(), n, t, bytes.data(), 0);
  return bytes;
}

// Large left shifts (e <= -20) only when `wild`: the plan refuses most of
// them, and one refused channel refuses the whole tensor.
Dyadic random_dyadic(std::mt19937_64& rng, bool wild) {
  static const int32_t kMults[] = {INT32_MIN, INT32_MAX, 1 << 30, -(1 << 30), 1, -1, 0,
                                   1518500250, -1518500250, 3, 12345};
  static const int32_t kShifts[] = {-40, -31, -20, -3, 0, 1, 2, 7, 30, 31, 32, 40,
                                    50, 62, 63, 64, 100, 1000};
  Dyadic d;
  d.m = rng() % 3 == 0 ? static_cast<int32_t>(rng()) : kMults[rng() % std::size(kMults)];
  const size_t first = wild ? 0 : 3;
  d.e = rng() % 3 == 0 ? static_cast<int32_t>(20 + rng() % 25)
                       : kShifts[first + rng() % (std::size(kShifts) - first)];
  return d;
}

constexpr IntType kTypes[] = {IntType::kS8, IntType::kU8, IntType::kS16, IntType::kS32};

class AddVec : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string missing = elementwise_variant_missing(GetParam());
    if (!missing.empty()) GTEST_SKIP() << missing << "; the " << GetParam() << " add is not tested";
  }
  void run(const AddVecPlan& plan, const void* a, const void* b, void* dst, ThreadPool* pool) const {
    if (GetParam() == "avx2")
      add__avx2(plan, a, b, dst, pool);
    else if (GetParam() == "avx512")
      add__avx512(plan, a, b, dst, pool);
#if defined(__aarch64__)
    else if (GetParam() == "neon")
      add__neon(plan, a, b, dst, pool);
#endif
  }
};

TEST_P(AddVec, EqualsReferenceForEveryContainerAndConstant) {
  std::mt19937_64 rng(7);
  int planned = 0, refused = 0;
  for (IntType ta : kTypes)
    for (IntType tb : kTypes)
      for (IntType td : kTypes)
        for (int trial = 0; trial < 6; ++trial) {
          static const size_t kChannels[] = {1, 3, 7, 8, 9, 16, 17, 33, 64};
          AddParams p;
          p.channels = kChannels[rng() % std::size(kChannels)];
          p.count = p.channels * (1 + rng() % 5);
          p.a_type = ta;
          p.b_type = tb;
          p.dst_type = td;
          const Range ra = range_of(ta), rb = range_of(tb), rd = range_of(td);
          // Zero points at either end of the container, or inside (int32: 0).
          auto zp = [&](Range r, IntType t) -> int64_t {
            if (t == IntType::kS32) return 0;
            switch (rng() % 3) {
              case 0: return r.lo;
              case 1: return r.hi;
              default: return std::uniform_int_distribution<int64_t>(r.lo, r.hi)(rng);
            }
          };
          p.a_zero_point = zp(ra, ta);
          p.b_zero_point = zp(rb, tb);
          p.dst_zero_point = zp(rd, td);
          p.dst_min = rd.lo;
          p.dst_max = rd.hi;
          if (rng() % 2) p.dst_min = std::max(p.dst_zero_point, rd.lo);  // ReLU
          std::vector<Dyadic> qa(p.channels), qb(p.channels);
          const bool wild = trial == 0;
          for (size_t c = 0; c < p.channels; ++c) {
            qa[c] = random_dyadic(rng, wild);
            qb[c] = random_dyadic(rng, wild);
          }
          AddVecPlan plan;
          std::string why;
          if (!add_vec_plan(p, qa.data(), qb.data(), &plan, &why)) {
            ++refused;
            continue;
          }
          ++planned;
          const std::vector<uint8_t> a = random_tensor(ta, p.count, rng);
          const std::vector<uint8_t> b = random_tensor(tb, p.count, rng);
          const size_t out_bytes = p.count * int_type_bytes(td);
          std::vector<uint8_t> want(out_bytes + 8, 0xA5), got(out_bytes + 8, 0xA5);
          add__ref(p, qa.data(), qb.data(), a.data(), b.data(), want.data());
          run(plan, a.data(), b.data(), got.data(), nullptr);
          ASSERT_EQ(got, want) << "a " << int(ta) << " b " << int(tb) << " dst " << int(td)
                               << " channels " << p.channels << " count " << p.count;
        }
  EXPECT_GT(planned, 200);
  EXPECT_GT(refused, 0);  // the large left shifts
}

TEST_P(AddVec, ExtremeProductsAndTies) {
  // |x - z| = 2^31 (int32 INT32_MIN) times m = INT32_MIN is t = 2^62, the
  // largest product; e = 63 makes it an exact tie (rounds to even 0), e = 62
  // gives 1; every element is such an extreme or a tie at a small shift.
  AddParams p;
  p.a_type = IntType::kS32;
  p.b_type = IntType::kS8;
  p.dst_type = IntType::kS32;
  p.dst_min = INT32_MIN;
  p.dst_max = INT32_MAX;
  p.b_zero_point = 127;
  const std::vector<int32_t> a = {INT32_MIN, INT32_MAX, INT32_MIN, -1, 1, 3, -3, 5, 0, INT32_MIN, 7};
  const std::vector<int8_t> b = {-128, 127, -128, -128, 126, 125, -128, 0, 1, 2, 3};
  p.count = p.channels = a.size();
  for (const Dyadic da : {Dyadic{INT32_MIN, 63}, Dyadic{INT32_MIN, 62}, Dyadic{INT32_MAX, 63},
                          Dyadic{1, 1}, Dyadic{-1, 1}, Dyadic{1 << 30, 31}, Dyadic{3, 2}})
    for (const Dyadic db : {Dyadic{INT32_MIN, 1}, Dyadic{1, 1}, Dyadic{-3, 1}, Dyadic{5, 0},
                            Dyadic{1 << 20, -10}}) {
      const std::vector<Dyadic> qa(p.channels, da), qb(p.channels, db);
      AddVecPlan plan;
      std::string why;
      ASSERT_TRUE(add_vec_plan(p, qa.data(), qb.data(), &plan, &why)) << why;
      std::vector<int32_t> want(a.size()), got(a.size());
      add__ref(p, qa.data(), qb.data(), a.data(), b.data(), want.data());
      run(plan, a.data(), b.data(), got.data(), nullptr);
      EXPECT_EQ(got, want) << da.m << "/" << da.e << " " << db.m << "/" << db.e;
    }
}

TEST_P(AddVec, LongTensorsAtEveryThreadCount) {
  std::mt19937_64 rng(21);
  for (size_t channels : {size_t{1}, size_t{24}, size_t{768}, size_t{100}}) {
    for (int threads = 1; threads <= 4; ++threads) {
      AddParams p;  // a residual add: int8 + int8 -> int8, many task chunks
      p.channels = channels;
      p.count = channels * (1 + 70000 / channels) + (channels == 1 ? 5 : 0);
      p.dst_min = -128;
      p.dst_max = 127;
      std::vector<Dyadic> qa(channels), qb(channels);
      for (size_t c = 0; c < channels; ++c) {
        qa[c] = random_dyadic(rng, false);
        qb[c] = random_dyadic(rng, false);
      }
      AddVecPlan plan;
      std::string why;
      ASSERT_TRUE(add_vec_plan(p, qa.data(), qb.data(), &plan, &why)) << why;
      const std::vector<uint8_t> a = random_tensor(IntType::kS8, p.count, rng);
      const std::vector<uint8_t> b = random_tensor(IntType::kS8, p.count, rng);
      std::vector<uint8_t> want(p.count, 0xA5), got(p.count, 0x5A);
      add__ref(p, qa.data(), qb.data(), a.data(), b.data(), want.data());
      std::unique_ptr<ThreadPool> pool;
      if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
      run(plan, a.data(), b.data(), got.data(), pool.get());
      ASSERT_EQ(got, want) << "channels " << channels << " threads " << threads;
    }
  }
}

// The narrow path (8-bit inputs, AddVecPlan::narrow): every (a, b) pair of
// the containers on each of 3 channels with residual-like constants (ratios
// about 1/4 to 2, and one m = 0 channel), at 1 and 3 threads; and a channel
// whose exact ties alternate direction (m = 2^30, e = 31: d / 2), which no
// single round constant reproduces, so the plan keeps the 64-bit path.
TEST_P(AddVec, NarrowPathForEveryInputPair) {
  std::mt19937_64 rng(11);
  const size_t kChannels = 3, kPairs = 256 * 256;
  for (IntType ta : {IntType::kS8, IntType::kU8})
    for (IntType td : {IntType::kS8, IntType::kU8, IntType::kS16}) {
      AddParams p;
      p.channels = kChannels;
      p.count = kChannels * kPairs;
      p.a_type = ta;
      p.b_type = IntType::kS8;
      p.dst_type = td;
      p.a_zero_point = ta == IntType::kU8 ? 131 : -7;
      p.b_zero_point = 3;
      p.dst_zero_point = td == IntType::kU8 ? 128 : -1;
      p.dst_min = int_type_min(td);
      p.dst_max = int_type_max(td);
      std::vector<Dyadic> qa(kChannels), qb(kChannels);
      for (size_t c = 0; c < kChannels; ++c) {
        qa[c] = {static_cast<int32_t>((1u << 30) + rng() % (1u << 30)), 30 + static_cast<int32_t>(rng() % 3)};
        qb[c] = {-static_cast<int32_t>((1u << 30) + rng() % (1u << 30)), 31 + static_cast<int32_t>(rng() % 3)};
      }
      qb[1].m = 0;
      AddVecPlan plan;
      std::string why;
      ASSERT_TRUE(add_vec_plan(p, qa.data(), qb.data(), &plan, &why)) << why;
      ASSERT_TRUE(plan.narrow);
      // Element i is pair i / 3 of channel i % 3: a = pair % 256, b = pair / 256.
      std::vector<int64_t> va(p.count), vb(p.count);
      for (size_t i = 0; i < p.count; ++i) {
        const size_t pair = i / kChannels;
        va[i] = int_type_min(ta) + int64_t(pair % 256);
        vb[i] = -128 + int64_t(pair / 256);
      }
      std::vector<uint8_t> a(p.count + 1), b(p.count + 1);
      store_ints(va.data(), p.count, ta, a.data(), 0);
      store_ints(vb.data(), p.count, IntType::kS8, b.data(), 0);
      const size_t out_bytes = p.count * int_type_bytes(td);
      std::vector<uint8_t> want(out_bytes + 8, 0xA5);
      add__ref(p, qa.data(), qb.data(), a.data(), b.data(), want.data());
      for (int threads : {1, 3}) {
        std::unique_ptr<ThreadPool> pool;
        if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
        std::vector<uint8_t> got(out_bytes + 8, 0xA5);
        run(plan, a.data(), b.data(), got.data(), pool.get());
        ASSERT_EQ(got, want) << "a " << int(ta) << " dst " << int(td) << " threads " << threads;
      }
      qa[2] = {1 << 30, 31};
      ASSERT_TRUE(add_vec_plan(p, qa.data(), qb.data(), &plan, &why)) << why;
      EXPECT_FALSE(plan.narrow);
      std::vector<uint8_t> got(out_bytes + 8, 0xA5);
      add__ref(p, qa.data(), qb.data(), a.data(), b.data(), want.data());
      run(plan, a.data(), b.data(), got.data(), nullptr);
      ASSERT_EQ(got, want);
    }
}

// The narrow path with one int32 input (a conv's sums plus a residual
// block's int8 identity): the int32 branch on both sides of every output
// threshold within reach of the clamp, and at the int32 extremes, each next
// to every int8 value; and a multiplier whose small odd part (3 * 2^28)
// would let a tie reach the clamp window, so the int32 branch takes the
// exact 64-bit form (narrow_exact_wide).
TEST_P(AddVec, NarrowPathWithAnInt32Branch) {
  std::mt19937_64 rng(12);
  const size_t kChannels = 5;
  AddParams p;
  p.channels = kChannels;
  p.a_type = IntType::kS8;
  p.b_type = IntType::kS32;
  p.dst_type = IntType::kU8;
  p.a_zero_point = 2;
  p.dst_zero_point = 0;
  p.dst_min = 0;  // ReLU
  p.dst_max = 255;
  std::vector<Dyadic> qa(kChannels), qb(kChannels);
  for (size_t c = 0; c < kChannels; ++c) {
    qa[c] = {static_cast<int32_t>((1u << 30) + rng() % (1u << 30)), 31};
    qb[c] = {static_cast<int32_t>((1u << 30) + rng() % (1u << 30)) * (c % 2 ? -1 : 1),
             36 + static_cast<int32_t>(rng() % 8)};
  }
  qb[3].m = 0;
  std::vector<int64_t> va, vb;  // element i is of channel i % kChannels
  std::vector<int64_t> wide = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX};
  for (int64_t h = -600; h <= 600; ++h)
    for (int64_t delta : {-1, 0, 1}) wide.push_back(h * 1000003 + delta);  // filler across the range
  for (size_t rep = 0; rep < wide.size(); ++rep)
    for (size_t c = 0; c < kChannels; ++c) {
      // Around the threshold between outputs h and h + 1 of this channel,
      // h cycling through [-600, 600]; or the fixed list.
      const Dyadic d = qb[c];
      const int64_t h = static_cast<int64_t>(rep % 1201) - 600;
      int64_t x = wide[rep];
      if (d.m != 0 && rep % 2 == 0) {
        const int128_t edge = (int128_t{2 * h + 1} << (d.e - 1)) / d.m;
        x = static_cast<int64_t>(std::clamp<int128_t>(edge + int64_t(rep % 5) - 2, INT32_MIN, INT32_MAX));
      }
      va.push_back(int64_t(rep % 256) - 128);
      vb.push_back(x);
    }
  p.count = va.size();
  std::vector<uint8_t> a(p.count + 1), b(p.count * 4 + 1);
  store_ints(va.data(), p.count, p.a_type, a.data(), 0);
  store_ints(vb.data(), p.count, p.b_type, b.data(), 0);
  for (int variant = 0; variant < 2; ++variant) {
    if (variant == 1) qb[1] = {3 << 28, 40};
    AddVecPlan plan;
    std::string why;
    ASSERT_TRUE(add_vec_plan(p, qa.data(), qb.data(), &plan, &why)) << why;
    ASSERT_TRUE(plan.narrow);
    ASSERT_EQ(plan.narrow_exact_wide, variant == 1);
    std::vector<uint8_t> want(p.count + 8, 0xA5);
    add__ref(p, qa.data(), qb.data(), a.data(), b.data(), want.data());
    for (int threads : {1, 2}) {
      std::unique_ptr<ThreadPool> pool;
      if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
      std::vector<uint8_t> got(p.count + 8, 0xA5);
      run(plan, a.data(), b.data(), got.data(), pool.get());
      ASSERT_EQ(got, want) << "variant " << variant << " threads " << threads;
    }
  }
}

// An int32 + int8 -> int32 add with zero point zp and clamp [lo, hi].
AddParams int32_plus_int8(size_t channels, int64_t zp, int64_t lo, int64_t hi) {
  AddParams p;
  p.channels = channels;
  p.a_type = IntType::kS32;
  p.b_type = IntType::kS8;
  p.dst_type = IntType::kS32;
  p.dst_zero_point = zp;
  p.dst_min = lo;
  p.dst_max = hi;
  return p;
}

// BERT's residual adds: int32 sums plus an int8 residual into an int32
// output clamped to 22 bits. Some multipliers have small odd parts (ties
// reach the window), so the int32 branch takes the exact form, clamped to
// +-2^30: inputs at, below and above every output threshold across the
// window (exact ties included), around the +-2^30 clamp of the branch and at
// the int32 extremes, next to every int8 value.
TEST_P(AddVec, NarrowPathWithAnExactInt32Branch) {
  const std::vector<Dyadic> qa = {{3 << 20, 27}, {1 << 30, 27}, {5 << 25, 28}, {1421217894, 27},
                                  {-(3 << 20), 27}, {0, 27}, {2123886106, 28}};
  const size_t channels = qa.size();
  // The residual's multipliers: one 32-bit product is exact for the last
  // only; the others take the split form (AddVecPlan::split8).
  struct Residual {
    Dyadic q;
    bool split;
  };
  for (const Residual residual : {Residual{{1937810517, 17}, true}, Residual{{1086918370, 16}, true},
                                  Residual{{2089541263, 17}, false}})
  for (int64_t zp : {int64_t{0}, int64_t{5}}) {
    const std::vector<Dyadic> qb(channels, residual.q);
    AddParams p = int32_plus_int8(channels, zp, -2097152, 2097151);
    std::vector<std::vector<int64_t>> columns(channels);
    for (size_t c = 0; c < channels; ++c) {
      std::vector<int64_t>& col = columns[c];
      for (int64_t x : {int64_t{INT32_MIN}, int64_t{INT32_MIN} + 1, int64_t{-1}, int64_t{0}, int64_t{1},
                        int64_t{INT32_MAX} - 1, int64_t{INT32_MAX}})
        col.push_back(x);
      const Dyadic d = qa[c];
      if (d.m == 0) continue;
      std::vector<int64_t> outputs;
      for (int64_t k = -700; k <= 700; ++k) outputs.push_back(k * 6151);  // across the 22-bit window
      for (int64_t k = -40; k <= 40; ++k) outputs.push_back(k);
      for (int64_t sign : {-1, 1}) outputs.push_back(sign * kNarrowExactLimit);
      for (int64_t h : outputs) {
        const int128_t edge = (int128_t{2 * h + 1} << (d.e - 1)) / d.m;
        for (int64_t delta = -2; delta <= 2; ++delta)
          col.push_back(static_cast<int64_t>(std::clamp<int128_t>(edge + delta, INT32_MIN, INT32_MAX)));
      }
    }
    size_t rows = 0;
    for (const auto& col : columns) rows = std::max(rows, col.size());
    std::vector<int64_t> va(rows * channels), vb(rows * channels);
    for (size_t r = 0; r < rows; ++r)
      for (size_t c = 0; c < channels; ++c) {
        va[r * channels + c] = columns[c][r % columns[c].size()];
        vb[r * channels + c] = static_cast<int64_t>((r * 7 + c) % 256) - 128;
      }
    p.count = va.size();
    std::vector<uint8_t> a(p.count * 4 + 1), b(p.count + 1);
    store_ints(va.data(), p.count, p.a_type, a.data(), 0);
    store_ints(vb.data(), p.count, p.b_type, b.data(), 0);
    AddVecPlan plan;
    std::string why;
    ASSERT_TRUE(add_vec_plan(p, qa.data(), qb.data(), &plan, &why)) << why;
    ASSERT_TRUE(plan.narrow);
    ASSERT_TRUE(plan.narrow_exact_wide);
    ASSERT_EQ(plan.split8[1], residual.split) << residual.q.m;
    std::vector<uint8_t> want(p.count * 4 + 8, 0xA5);
    add__ref(p, qa.data(), qb.data(), a.data(), b.data(), want.data());
    for (int threads : {1, 2}) {
      std::unique_ptr<ThreadPool> pool;
      if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
      std::vector<uint8_t> got(p.count * 4 + 8, 0xA5);
      run(plan, a.data(), b.data(), got.data(), pool.get());
      for (size_t i = 0; i < p.count; ++i) {
        int32_t w, g;
        std::memcpy(&w, want.data() + 4 * i, 4);
        std::memcpy(&g, got.data() + 4 * i, 4);
        if (w != g) {
          ADD_FAILURE() << GetParam() << ": element " << i << " a=" << va[i] << " b=" << vb[i] << " zp " << zp
                        << " threads " << threads << ": want " << w << " got " << g;
          break;
        }
      }
      EXPECT_EQ(got[p.count * 4], 0xA5) << "wrote past the end";
    }
  }
  // A window plus 8-bit branch of 2^30 or more keeps the 64-bit path.
  const std::vector<Dyadic> qb(channels, Dyadic{1937810517, 17});
  const AddParams p = int32_plus_int8(channels, 0, INT32_MIN, INT32_MAX);
  AddVecPlan plan;
  std::string why;
  ASSERT_TRUE(add_vec_plan(p, qa.data(), qb.data(), &plan, &why)) << why;
  EXPECT_FALSE(plan.narrow);
}

TEST(AddVecPlan, RefusesWhatItCannotComputeExactly) {
  AddParams p;
  p.a_type = IntType::kS32;
  p.a_zero_point = 1;  // x - z can leave int32
  const std::vector<Dyadic> q = {{1 << 30, 31}};
  AddVecPlan plan;
  std::string why;
  EXPECT_FALSE(add_vec_plan(p, q.data(), q.data(), &plan, &why));
  p.a_zero_point = 0;
  EXPECT_TRUE(add_vec_plan(p, q.data(), q.data(), &plan, &why)) << why;
  p.a_type = IntType::kS64;
  EXPECT_FALSE(add_vec_plan(p, q.data(), q.data(), &plan, &why));
  p.a_type = IntType::kS8;
  const std::vector<Dyadic> big = {{INT32_MAX, -40}};  // 255 * 2^31 * 2^41 > 2^62
  EXPECT_FALSE(add_vec_plan(p, big.data(), q.data(), &plan, &why));
}

INSTANTIATE_TEST_SUITE_P(Variants, AddVec, ::testing::ValuesIn(elementwise_variants()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace dyad::kernels
