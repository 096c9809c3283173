// Transpose: hand-computed 2-D and head-split cases, every element size, rank
// 0..6 against an independent index computation, threads, and validation;
// the blocked variant through the same random cases (sizes up to 11 so its
// 8 x 8 tiles are partial), attention's head split and batched 2-D shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/common/thread_pool.h"
#include "kernels/transpose/transpose.h"

namespace dyad::kernels {
namespace {

TransposeParams params(std::vector<int64_t> shape, std::vector<int> perm, size_t elem_bytes) {
  TransposeParams p;
  p.rank = static_cast<int>(shape.size());
  for (int i = 0; i < p.rank; ++i) {
    p.in_shape[i] = shape[i];
    p.perm[i] = perm[i];
  }
  p.elem_bytes = elem_bytes;
  return p;
}

TEST(TransposeRef, HandComputed2D) {
  // [[1, 2, 3], [4, 5, 6]] -> [[1, 4], [2, 5], [3, 6]].
  const std::vector<int8_t> x = {1, 2, 3, 4, 5, 6};
  std::vector<int8_t> y(6, 0);
  const TransposeParams p = params({2, 3}, {1, 0}, 1);
  ASSERT_TRUE(transpose_params_valid(p));
  transpose__ref(p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{1, 4, 2, 5, 3, 6}));
}

TEST(TransposeRef, SplitHeads) {
  // [B=1, L=2, H=2, dh=2] -> [B, H, L, dh] with perm {0, 2, 1, 3}:
  // x[l][h][d] = 100 l + 10 h + d; y[h][l][d] = the same value.
  const std::vector<int32_t> x = {0, 1, 10, 11, 100, 101, 110, 111};
  std::vector<int32_t> y(8, 0);
  transpose__ref(params({1, 2, 2, 2}, {0, 2, 1, 3}, 4), x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{0, 1, 100, 101, 10, 11, 110, 111}));
  // Merging back is the same permutation (it is its own inverse).
  std::vector<int32_t> back(8, 0);
  transpose__ref(params({1, 2, 2, 2}, {0, 2, 1, 3}, 4), y.data(), back.data(), nullptr);
  EXPECT_EQ(back, x);
}

// y via an independent walk: for every input index, where does it land?
template <typename T>
std::vector<T> expected_transpose(const std::vector<T>& x, const std::vector<int64_t>& shape,
                                  const std::vector<int>& perm) {
  const int rank = static_cast<int>(shape.size());
  std::vector<int64_t> out_shape(rank);
  for (int i = 0; i < rank; ++i) out_shape[i] = shape[perm[i]];
  std::vector<T> y(x.size());
  std::vector<int64_t> idx(rank, 0);
  for (size_t flat = 0; flat < x.size(); ++flat) {
    int64_t rest = static_cast<int64_t>(flat);
    for (int a = rank - 1; a >= 0; --a) {
      idx[a] = rest % shape[a];
      rest /= shape[a];
    }
    int64_t out = 0;
    for (int i = 0; i < rank; ++i) out = out * out_shape[i] + idx[perm[i]];
    y[out] = x[flat];
  }
  return y;
}

using TransposeFn = void (*)(const TransposeParams&, const void*, void*, ThreadPool*);

template <typename T>
void check_random(std::mt19937& rng, ThreadPool* pool, TransposeFn kernel = transpose__ref,
                  int64_t max_size = 4) {
  for (int rank = 0; rank <= kTransposeMaxRank; ++rank) {
    for (int trial = 0; trial < 8; ++trial) {
      std::vector<int64_t> shape(rank);
      for (auto& d : shape) d = 1 + static_cast<int64_t>(rng() % uint64_t(rank > 4 ? 4 : max_size));
      std::vector<int> perm(rank);
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      int64_t count = 1;
      for (int64_t d : shape) count *= d;
      std::vector<T> x(count);
      for (auto& v : x) v = static_cast<T>(rng());
      std::vector<T> y(count, 0);
      const TransposeParams p = params(shape, perm, sizeof(T));
      ASSERT_TRUE(transpose_params_valid(p));
      kernel(p, x.data(), y.data(), pool);
      ASSERT_EQ(y, expected_transpose(x, shape, perm)) << "rank " << rank;
    }
  }
}

TEST(TransposeRef, RandomRanksAndElementSizes) {
  std::mt19937 rng(5);
  ThreadPool pool(3);
  for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
    check_random<uint8_t>(rng, tp);
    check_random<int16_t>(rng, tp);
    check_random<int32_t>(rng, tp);
    check_random<int64_t>(rng, tp);
  }
}

TEST(TransposeBlocked, RandomRanksAndElementSizes) {
  std::mt19937 rng(9);
  ThreadPool pool(2);
  for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
    check_random<uint8_t>(rng, tp, transpose__blocked, 11);
    check_random<int16_t>(rng, tp, transpose__blocked, 11);
    check_random<int32_t>(rng, tp, transpose__blocked, 11);
    check_random<int64_t>(rng, tp, transpose__blocked, 11);
  }
}

TEST(TransposeBlocked, AttentionAndBatched2DShapesEqualTheReference) {
  struct Case {
    std::vector<int64_t> shape;
    std::vector<int> perm;
  };
  const Case cases[] = {{{1, 128, 12, 64}, {0, 2, 1, 3}},  // head split: memcpy rows
                        {{1, 12, 128, 64}, {0, 2, 1, 3}},  // head merge
                        {{2, 1, 37, 5}, {0, 1, 3, 2}},     // batched 2-D: tiles
                        {{3, 19, 1, 23}, {3, 2, 0, 1}},    // size-1 axis dropped, tiles
                        {{4, 6, 5}, {1, 0, 2}},
                        {{2, 3, 4, 5, 6, 7}, {5, 3, 1, 0, 2, 4}}};  // gathered rows
  std::mt19937 rng(13);
  ThreadPool pool(2);
  for (const Case& c : cases) {
    int64_t count = 1;
    for (int64_t d : c.shape) count *= d;
    for (size_t bytes : {1, 2, 4, 8}) {
      std::vector<uint8_t> x(size_t(count) * bytes);
      for (auto& v : x) v = static_cast<uint8_t>(rng());
      std::vector<uint8_t> want(x.size(), 1), got(x.size(), 2);
      const TransposeParams p = params(c.shape, c.perm, bytes);
      transpose__ref(p, x.data(), want.data(), nullptr);
      for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
        std::fill(got.begin(), got.end(), 2);
        transpose__blocked(p, x.data(), got.data(), tp);
        ASSERT_EQ(want, got) << "rank " << c.shape.size() << " bytes " << bytes;
      }
    }
  }
}

TEST(TransposeRef, EmptyTensorWritesNothing) {
  std::vector<int8_t> y(1, 42);
  const int8_t x = 0;
  transpose__ref(params({2, 0, 3}, {2, 1, 0}, 1), &x, y.data(), nullptr);
  EXPECT_EQ(y[0], 42);
  transpose__blocked(params({2, 0, 3}, {2, 1, 0}, 1), &x, y.data(), nullptr);
  EXPECT_EQ(y[0], 42);
}

TEST(TransposeRef, Validation) {
  EXPECT_TRUE(transpose_params_valid(params({2, 3}, {1, 0}, 2)));
  EXPECT_FALSE(transpose_params_valid(params({2, 3}, {1, 1}, 2)));  // not a permutation
  EXPECT_FALSE(transpose_params_valid(params({2, 3}, {0, 2}, 2)));  // out of range
  EXPECT_FALSE(transpose_params_valid(params({2, 3}, {1, 0}, 3)));  // element size
  EXPECT_FALSE(transpose_params_valid(params({2, -1}, {1, 0}, 1)));
  TransposeParams p;
  p.rank = 7;
  EXPECT_FALSE(transpose_params_valid(p));
}

}  // namespace
}  // namespace dyad::kernels
