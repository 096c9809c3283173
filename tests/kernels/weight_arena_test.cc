// The weight arena (kernels/common/weight_arena.h): zeroed, 64-byte aligned
// allocations that never overlap, a chunk unmapped with its last allocation,
// requests larger than a chunk, and allocations from several threads at once.
#include "kernels/common/weight_arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "kernels/common/aligned_bytes.h"

namespace dyad::kernels {
namespace {

// Fills p with a pattern of `seed`, or checks it is still there.
void fill(uint8_t* p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(seed + i * 7);
}
bool intact(const uint8_t* p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != static_cast<uint8_t>(seed + i * 7)) return false;
  return true;
}

TEST(WeightArena, ZeroedAlignedAndDisjoint) {
  const size_t before = weight_arena::chunks_mapped();
  std::vector<std::pair<uint8_t*, size_t>> blocks;
  for (size_t i = 0; i < 64; ++i) {
    const size_t n = 1 + i * 40000;  // 1 byte .. 2.5 MB, past one 32 MiB chunk in all
    uint8_t* p = weight_arena::allocate(n);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    for (size_t j = 0; j < n; ++j) ASSERT_EQ(p[j], 0) << "allocation " << i << " byte " << j;
    fill(p, n, static_cast<uint8_t>(i));
    blocks.emplace_back(p, n);
  }
  EXPECT_GT(weight_arena::chunks_mapped(), before + 1);
  for (size_t i = 0; i < blocks.size(); ++i)
    EXPECT_TRUE(intact(blocks[i].first, blocks[i].second, static_cast<uint8_t>(i))) << "allocation " << i;
  for (auto& [p, n] : blocks) weight_arena::release(p);
  EXPECT_EQ(weight_arena::chunks_mapped(), before);
}

TEST(WeightArena, ARequestLargerThanAChunkAndReleaseInAnyOrder) {
  const size_t before = weight_arena::chunks_mapped();
  uint8_t* small = weight_arena::allocate(100);
  uint8_t* big = weight_arena::allocate((size_t{40} << 20) + 3);
  uint8_t* after = weight_arena::allocate(100);
  ASSERT_TRUE(small && big && after);
  big[0] = 1;
  big[(size_t{40} << 20) + 2] = 2;
  weight_arena::release(small);  // its chunk may still hold nothing else
  weight_arena::release(big);
  weight_arena::release(after);
  weight_arena::release(nullptr);
  EXPECT_EQ(weight_arena::chunks_mapped(), before);
  EXPECT_EQ(weight_arena::allocate(0), nullptr);
  EXPECT_EQ(weight_arena::allocate(SIZE_MAX), nullptr);
}

TEST(WeightArena, ThreadsAllocateAndReleaseAtOnce) {
  const size_t before = weight_arena::chunks_mapped();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      struct Block {
        uint8_t* p;
        size_t n;
        uint8_t seed;
      };
      std::vector<Block> mine;
      auto release = [&](const Block& b) {
        if (!intact(b.p, b.n, b.seed)) ++failures[t];  // another allocation overlapped it
        weight_arena::release(b.p);
      };
      for (size_t i = 0; i < 300; ++i) {
        const size_t n = 64 + (i * 977 + static_cast<size_t>(t) * 131) % 200000;
        uint8_t* p = weight_arena::allocate(n);
        if (p == nullptr) {
          ++failures[t];
          continue;
        }
        const auto seed = static_cast<uint8_t>(t * 64 + i);
        fill(p, n, seed);
        mine.push_back(Block{p, n, seed});
        if (i % 3 == 2) {  // release some early, in a different order
          release(mine.front());
          mine.erase(mine.begin());
        }
      }
      for (const Block& b : mine) release(b);
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  EXPECT_EQ(weight_arena::chunks_mapped(), before);
}

TEST(WeightArena, AlignedBytesWeightsAreZeroedAndFreedByTheirOwnDeleter) {
  const size_t before = weight_arena::chunks_mapped();
  {
    AlignedBytes weights, scratch;
    ASSERT_TRUE(weights.allocate_weights(5000));
    ASSERT_TRUE(scratch.allocate(5000));
    for (size_t i = 0; i < 5000; ++i) ASSERT_EQ(weights.data()[i] | scratch.data()[i], 0);
    ASSERT_TRUE(weights.allocate_weights(0));
    EXPECT_EQ(weights.data(), nullptr);
    ASSERT_TRUE(weights.allocate_weights(300));
  }
  EXPECT_EQ(weight_arena::chunks_mapped(), before);
}

}  // namespace
}  // namespace dyad::kernels
