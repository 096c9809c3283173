// Embedding gather: hand-computed rows, int32 and int64 ids, wider elements,
// and out-of-range ids (zero row, first bad position reported, no OOB read).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/embedding/embedding.h"

namespace dyad::kernels {
namespace {

// A 4 x 3 int8 table: row r = [10r, 10r + 1, -10r - 2].
const std::vector<int8_t> kTable = {0, 1, -2, 10, 11, -12, 20, 21, -22, 30, 31, -32};

TEST(EmbeddingRef, GathersRows) {
  EmbeddingParams p;
  p.num_ids = 5;
  p.vocab = 4;
  p.row_bytes = 3;
  const std::vector<int32_t> ids = {2, 0, 3, 3, 1};
  std::vector<int8_t> out(15, 99);
  EXPECT_EQ(embedding_gather__ref(p, kTable.data(), ids.data(), out.data()), -1);
  EXPECT_EQ(out, (std::vector<int8_t>{20, 21, -22, 0, 1, -2, 30, 31, -32, 30, 31, -32, 10, 11, -12}));
  const std::vector<int64_t> ids64 = {2, 0, 3, 3, 1};
  std::vector<int8_t> out64(15, 99);
  EXPECT_EQ(embedding_gather__ref(p, kTable.data(), ids64.data(), out64.data()), -1);
  EXPECT_EQ(out64, out);
}

TEST(EmbeddingRef, BadIdsGiveZeroRowsAndTheFirstPosition) {
  EmbeddingParams p;
  p.num_ids = 6;
  p.vocab = 4;
  p.row_bytes = 3;
  const std::vector<int64_t> ids = {1, 4, -1, INT64_MAX, INT64_MIN, 0};
  std::vector<int8_t> out(18, 99);
  EXPECT_EQ(embedding_gather__ref(p, kTable.data(), ids.data(), out.data()), 1);
  EXPECT_EQ(out, (std::vector<int8_t>{10, 11, -12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -2}));
  const std::vector<int32_t> ids32 = {3, 2, INT32_MIN};
  p.num_ids = 3;
  std::vector<int8_t> out32(9, 99);
  EXPECT_EQ(embedding_gather__ref(p, kTable.data(), ids32.data(), out32.data()), 2);
  EXPECT_EQ(out32, (std::vector<int8_t>{30, 31, -32, 20, 21, -22, 0, 0, 0}));
}

TEST(EmbeddingRef, WideElementsAndEmpty) {
  const std::vector<int16_t> table = {1000, -1000, 7, 8};  // 2 x 2 int16
  EmbeddingParams p;
  p.num_ids = 2;
  p.vocab = 2;
  p.row_bytes = 2 * sizeof(int16_t);
  const std::vector<int32_t> ids = {1, 0};
  std::vector<int16_t> out(4, 0);
  EXPECT_EQ(embedding_gather__ref(p, table.data(), ids.data(), out.data()), -1);
  EXPECT_EQ(out, (std::vector<int16_t>{7, 8, 1000, -1000}));
  p.num_ids = 0;
  EXPECT_EQ(embedding_gather__ref(p, table.data(), ids.data(), out.data()), -1);
}

}  // namespace
}  // namespace dyad::kernels
