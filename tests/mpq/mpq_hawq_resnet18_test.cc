// HAWQ-V3's ResNet-18 tables (tests/data/mpq/hawq_resnet18.json, from HAWQ's
// ILP.ipynb, MIT; docs/mpq.md) under each single constraint at r = 0.75, 0.5,
// 0.25. The expected configuration of each case is derived here by brute force
// over the 2^16 tie-merged choices, independently of the solver; it must also
// equal the configuration HAWQ published in bit_config.py.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "engine/mpq/solve.h"
#include "tests/mpq/mpq_oracle.h"

namespace dyad::mpq {
namespace {

Problem load_fixture() {
  std::ifstream f(std::string(DYAD_SOURCE_DIR) + "/tests/data/mpq/hawq_resnet18.json");
  std::stringstream s;
  s << f.rdbuf();
  return parse_candidates(s.str());
}

// The bits of each of the 19 layers, in file order, as HAWQ's bit_config.py
// (Zhen-Dong/HAWQ @ 1616df69) gives them for bit_config_resnet18_<name>.
struct Case {
  int dim;
  double r;
  const char* published;
};
constexpr Case kCases[] = {
    {kSize, 0.75, "8888888888888488884"},    {kSize, 0.5, "8888888888888884844"},
    {kSize, 0.25, "8888888888888844444"},    {kBops, 0.75, "8888888848888484884"},
    {kBops, 0.5, "8884888848884444444"},     {kBops, 0.25, "8884848444444444444"},
    {kLatency, 0.75, "8888888848888484884"}, {kLatency, 0.5, "8888848848884484844"},
    {kLatency, 0.25, "8884848444444444444"},
};

std::string bits_of(const Problem& p, const std::vector<int>& cand) {
  std::string s;
  for (size_t l = 0; l < p.layers.size(); ++l)
    s += std::to_string(p.layers[l].candidates[static_cast<size_t>(cand[l])].w_bits);
  return s;
}

TEST(MpqHawqResnet18, FixtureSums) {
  const Problem p = load_fixture();
  ASSERT_EQ(p.layers.size(), 19u);
  ASSERT_EQ(p.ties.size(), 3u);
  uint64_t size4 = 0, size8 = 0;
  for (const Layer& l : p.layers) {
    size4 += l.candidates[0].cost[kSize];
    size8 += l.candidates[1].cost[kSize];
  }
  EXPECT_EQ(size4, 5578752u);  // docs/mpq.md Appendix A totals
  EXPECT_EQ(size8, 11157504u);
}

TEST(MpqHawqResnet18, SingleConstraintsMatchBruteForceAndHawq) {
  const Problem p = load_fixture();
  for (const Case& c : kCases) {
    // The limit, from the per-layer extremes (the test's own arithmetic).
    uint64_t lo = 0, hi = 0;
    for (const Layer& l : p.layers) {
      lo += std::min(l.candidates[0].cost[c.dim], l.candidates[1].cost[c.dim]);
      hi += std::max(l.candidates[0].cost[c.dim], l.candidates[1].cost[c.dim]);
    }
    // r is 3/4, 1/2 or 1/4: exact in integers.
    const uint64_t quarters = static_cast<uint64_t>(c.r * 4);
    const uint64_t limit = lo + (hi - lo) * quarters / 4;
    std::array<std::optional<uint64_t>, kDims> lim;
    lim[c.dim] = limit;
    const testing::BruteResult b = testing::brute_force(p, lim);
    const std::string what = std::string(dim_name(c.dim)) + " r=" + std::to_string(c.r);
    ASSERT_TRUE(b.feasible) << what;
    EXPECT_EQ(bits_of(p, b.candidate), c.published) << what << ": brute force vs HAWQ";

    SolveOptions o;
    o.constraints.frac[c.dim] = c.r;
    const SolveResult r = solve(p, o);
    ASSERT_EQ(r.status, Status::kOptimal) << what;
    EXPECT_EQ(r.limits[c.dim], limit) << what;
    EXPECT_EQ(r.best.candidate, b.candidate) << what << ": solver " << bits_of(p, r.best.candidate)
                                             << " brute force " << bits_of(p, b.candidate);
    EXPECT_TRUE(testing::near(r.best.objective, b.objective)) << what;
    EXPECT_LE(r.max_states, 64u) << what;  // docs/mpq.md: 8-33 live states
  }
}

// Section 4.8 item 4: all three constraints at r = 0.5 give 0.215689.
TEST(MpqHawqResnet18, ThreeConstraints) {
  const Problem p = load_fixture();
  SolveOptions o;
  for (int d = 0; d < kDims; ++d) o.constraints.frac[d] = 0.5;
  const SolveResult r = solve(p, o);
  ASSERT_EQ(r.status, Status::kOptimal);
  std::array<std::optional<uint64_t>, kDims> lim;
  for (int d = 0; d < kDims; ++d) lim[d] = r.limits[d];
  const testing::BruteResult b = testing::brute_force(p, lim);
  EXPECT_TRUE(testing::near(r.best.objective, b.objective));
  EXPECT_NEAR(static_cast<double>(r.best.objective), 0.215689, 5e-7);
}

}  // namespace
}  // namespace dyad::mpq
