// vnm_prune_magnitude (kernels/vnm_gemm/vnm_prune.h), the pruner of
// `dyad prune`: a hand-checked block, the V:2:M property, and the same result
// as the Python pruner (models/vnm/prune.py) including its tie rules.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "kernels/vnm_gemm/vnm_prune.h"

namespace dyad::kernels {
namespace {

TEST(VnmPrune, HandExample) {
  // V 8, M 8, one block of 8 rows; only row 0 is nonzero:
  // |w| = 9 1 8 1 7 1 6 5. Exact: the best 4-subset has the row's top 2 (9, 8)
  // and the first such subset in lexicographic order is (0, 1, 2, 3).
  // Greedy: the 4 largest column sums are columns 0, 2, 4, 6; row keeps 9, 8.
  std::vector<int8_t> w(8 * 16, 0);
  const int8_t row[8] = {9, -1, -8, 1, 7, 1, -6, 5};
  for (int c = 0; c < 8; ++c) w[c] = row[c];
  std::vector<int8_t> out(w.size());
  ASSERT_EQ(vnm_prune_magnitude({8, 16, 8, 8, 8}, w.data(), out.data()), "");
  const std::vector<int8_t> expected = {9, 0, -8, 0, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<int8_t>(out.begin(), out.begin() + 8), expected);
  for (size_t i = 8; i < out.size(); ++i) EXPECT_EQ(out[i], 0);
  std::vector<uint8_t> blob;
  EXPECT_EQ(vnm_pack({8, 16, 8, 8, 8}, out.data(), &blob), "");
}

TEST(VnmPrune, RefusesBadShapes) {
  std::vector<int8_t> w(64);
  EXPECT_NE(vnm_prune_magnitude({8, 8, 12, 8, 8}, w.data(), w.data()), "");
  EXPECT_NE(vnm_prune_magnitude({8, 8, 8, 3, 8}, w.data(), w.data()), "");
}

std::vector<int8_t> random_matrix(std::mt19937& rng, const VnmShape& s, int lo, int hi) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> w(static_cast<size_t>(s.n) * s.k);
  for (int8_t& x : w) x = static_cast<int8_t>(d(rng));
  return w;
}

TEST(VnmPrune, SameAsThePythonPruner) {
  if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "no /usr/bin/python3 with numpy";
  std::mt19937 rng(11);
  const std::string dir = ::testing::TempDir();
  struct Case {
    VnmShape s;
    int lo, hi;  // a narrow range makes ties
    const char* method;
  };
  for (const Case& c : {Case{{70, 93, 16, 5, 8}, -128, 127, "exact"}, Case{{40, 50, 8, 8, 8}, -2, 2, "exact"},
                        Case{{33, 64, 8, 4, 4}, -8, 7, "exact"}, Case{{64, 70, 32, 16, 8}, -3, 3, "greedy"},
                        Case{{24, 100, 24, 6, 8}, -128, 127, "greedy"}}) {
    const VnmShape& s = c.s;
    const std::vector<int8_t> w = random_matrix(rng, s, c.lo, c.hi);
    const std::string in = dir + "/vnm_prune_w.bin", out = dir + "/vnm_prune_py.bin";
    std::ofstream(in, std::ios::binary).write(reinterpret_cast<const char*>(w.data()), w.size());
    const std::string cmd = "cd '" DYAD_SOURCE_DIR "' && /usr/bin/python3 -c \"import numpy as np; "
                            "from models.vnm import prune; "
                            "w = np.fromfile('" + in + "', dtype=np.int8).reshape(" + std::to_string(s.n) + ", " +
                            std::to_string(s.k) + "); "
                            "p, _ = prune.prune_vnm(w, " + std::to_string(s.v) + ", " + std::to_string(s.m) +
                            ", method='" + c.method + "'); p.astype(np.int8).tofile('" + out + "')\"";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream f(out, std::ios::binary);
    const std::vector<char> py((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<int8_t> cc(w.size());
    ASSERT_EQ(vnm_prune_magnitude(s, w.data(), cc.data(),
                                  std::string(c.method) == "exact" ? VnmPruneMethod::kExact
                                                                   : VnmPruneMethod::kGreedy),
              "");
    ASSERT_EQ(py.size(), cc.size());
    EXPECT_TRUE(std::equal(cc.begin(), cc.end(), py.begin(), [](int8_t a, char b) { return a == int8_t(b); }))
        << "N=" << s.n << " K=" << s.k << " V=" << s.v << " M=" << s.m << " " << c.method;
    std::vector<uint8_t> blob;
    EXPECT_EQ(vnm_pack(s, cc.data(), &blob), "");
  }
}

}  // namespace
}  // namespace dyad::kernels
