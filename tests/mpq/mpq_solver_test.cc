// The bit-allocation solver (engine/mpq/) against independent oracles:
// brute force on small instances, CBC on larger ones (skipped when the cbc
// program is absent), and the properties of docs/mpq.md section 4.8 item 6.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "engine/mpq/cbc_mip.h"
#include "engine/mpq/groups.h"
#include "engine/mpq/solve.h"
#include "tests/mpq/mpq_oracle.h"

namespace dyad::mpq {
namespace {

using testing::brute_force;
using testing::near;
using testing::options_with;
using testing::random_limits;
using testing::random_problem;
using testing::total_of;

// The solver's answer must be feasible, agree with the oracle on
// feasibility, and reach its objective (configs may differ only on ties).
void expect_matches_oracle(const Problem& p, const SolveOptions& o, const testing::BruteResult& b,
                           const std::string& what) {
  const SolveResult r = solve(p, o);
  ASSERT_EQ(r.status == Status::kOptimal, b.feasible) << what << " " << r.note;
  if (!b.feasible) {
    EXPECT_EQ(r.status, Status::kInfeasible) << what;
    return;
  }
  EXPECT_TRUE(near(r.best.objective, b.objective))
      << what << ": solver " << static_cast<double>(r.best.objective) << " oracle "
      << static_cast<double>(b.objective);
  long double s = 0;
  for (size_t l = 0; l < p.layers.size(); ++l)
    s += p.layers[l].candidates[static_cast<size_t>(r.best.candidate[l])].sensitivity;
  EXPECT_TRUE(near(s, r.best.objective)) << what;
  for (int d = 0; d < kDims; ++d) {
    EXPECT_EQ(total_of(p, r.best.candidate, d), r.best.totals[d]) << what;
    if (o.constraints.max[d]) {
      EXPECT_LE(r.best.totals[d], *o.constraints.max[d]) << what;
    }
  }
}

TEST(MpqSolver, BruteForceSmallInstances) {
  std::mt19937_64 rng(20261207);
  int feasible = 0;
  for (int it = 0; it < 150; ++it) {
    const int layers = 2 + it % 9;  // up to 4^10 = 2^20 combinations
    const Problem p = random_problem(rng, layers, layers <= 8 ? 4 : 3, 0.25);
    const auto lim = random_limits(rng, p, 3);
    const auto b = brute_force(p, lim);
    feasible += b.feasible;
    expect_matches_oracle(p, options_with(lim), b, "instance " + std::to_string(it));
  }
  EXPECT_GT(feasible, 100);  // the generator mostly makes feasible instances
}

TEST(MpqSolver, PinsAndForbidsMatchBruteForce) {
  std::mt19937_64 rng(7);
  for (int it = 0; it < 40; ++it) {
    const Problem p = random_problem(rng, 6, 3, 0.2);
    const auto lim = random_limits(rng, p, 2);
    SolveOptions o = options_with(lim);
    const std::string& pin_layer = p.layers[0].name;
    o.selection.pins.push_back({pin_layer, p.layers[0].candidates[1].id});
    o.selection.forbids.push_back({p.layers[3].name, p.layers[3].candidates[0].id});
    const auto allowed = allowed_candidates(p, o.selection);
    EXPECT_FALSE(allowed[0][0]);
    EXPECT_TRUE(allowed[0][1]);
    EXPECT_FALSE(allowed[3][0]);
    expect_matches_oracle(p, o, brute_force(p, lim, allowed), "pins " + std::to_string(it));
  }
}

TEST(MpqSolver, RandomLargeAgainstCbc) {
  if (!cbc_available("cbc")) GTEST_SKIP() << "the cbc program is not installed (Debian coinor-cbc)";
  std::mt19937_64 rng(42);
  for (int it = 0; it < 16; ++it) {
    const int layers = 6 + (it * 11) % 23;  // 6..28
    const Problem p = random_problem(rng, layers, 4, 0.15);
    const auto lim = random_limits(rng, p, 1 + it % 3);
    SolveOptions dp = options_with(lim);
    SolveOptions mip = dp;
    mip.state_cap = 1;  // straight to the fallback
    const SolveResult a = solve(p, dp), b = solve(p, mip);
    ASSERT_EQ(a.solver, "pareto-dp");
    ASSERT_EQ(b.solver, "cbc") << b.note;
    ASSERT_EQ(a.status, b.status) << "instance " << it << ": " << b.note;
    if (a.status != Status::kOptimal) continue;
    EXPECT_TRUE(near(a.best.objective, b.best.objective))
        << "instance " << it << ": dp " << static_cast<double>(a.best.objective) << " cbc "
        << static_cast<double>(b.best.objective);
    for (int d = 0; d < kDims; ++d)
      if (lim[d]) {
        EXPECT_LE(b.best.totals[d], *lim[d]);
      }
  }
}

TEST(MpqSolver, CapWithoutMipIsNotProven) {
  std::mt19937_64 rng(3);
  const Problem p = random_problem(rng, 8, 3, 0);
  SolveOptions o = options_with(random_limits(rng, p, 1));
  o.state_cap = 1;
  o.cbc = "";
  EXPECT_EQ(solve(p, o).status, Status::kNotProven);
  o.cbc = "/nonexistent/cbc";
  const SolveResult r = solve(p, o);
  EXPECT_EQ(r.status, Status::kNotProven);
  // Natively the spawn itself fails; under qemu-user (the ARM64 stage) vfork
  // is emulated as fork, so the failed exec shows as the child's exit code 127.
  EXPECT_TRUE(r.note.find("cannot start") != std::string::npos ||
              r.note.find("exited with code 127") != std::string::npos)
      << r.note;
}

TEST(MpqSolver, InfeasibleReportsLeastTotals) {
  std::mt19937_64 rng(5);
  const Problem p = random_problem(rng, 5, 3, 0);
  uint64_t least = p.fixed[kSize];
  for (const Layer& l : p.layers) {
    uint64_t m = UINT64_MAX;
    for (const Candidate& c : l.candidates) m = std::min(m, c.cost[kSize]);
    least += m;
  }
  SolveOptions o;
  o.constraints.max[kSize] = least - 1;
  SolveResult r = solve(p, o);
  EXPECT_EQ(r.status, Status::kInfeasible);
  EXPECT_EQ(r.min_totals[kSize], least);
  o.constraints.max[kSize] = least;  // exactly reachable: the all-least choice
  r = solve(p, o);
  ASSERT_EQ(r.status, Status::kOptimal);
  EXPECT_EQ(r.best.totals[kSize], least);
}

TEST(MpqSolver, FracLimitFollowsHawqConvention) {
  EXPECT_EQ(frac_limit(10, 100, 200, 0.5), 160u);
  EXPECT_EQ(frac_limit(0, 100, 201, 0.5), 150u);  // floor
  EXPECT_EQ(frac_limit(0, 100, 200, 0.0), 100u);
  EXPECT_EQ(frac_limit(0, 100, 200, 1.0), 200u);
}

// Section 4.8 item 6: the optimum never gets worse as a limit grows.
TEST(MpqSolverProperty, ObjectiveMonotoneInLimit) {
  std::mt19937_64 rng(11);
  for (int it = 0; it < 10; ++it) {
    const Problem p = random_problem(rng, 12, 3, 0.2);
    for (int d = 0; d < kDims; ++d) {
      long double prev = std::numeric_limits<long double>::infinity();
      for (double r = 0; r <= 1.0; r += 0.05) {
        SolveOptions o;
        o.constraints.frac[d] = r;
        const SolveResult res = solve(p, o);
        ASSERT_EQ(res.status, Status::kOptimal);
        EXPECT_LE(res.best.objective, prev);
        prev = res.best.objective;
      }
    }
  }
}

// The frontier equals the point-wise solves, and equals the brute-force
// Pareto set of (cost, objective).
TEST(MpqSolverProperty, FrontierEqualsPointwiseSolves) {
  std::mt19937_64 rng(13);
  for (int it = 0; it < 8; ++it) {
    const Problem p = random_problem(rng, 8, 3, 0.2);
    for (int d = 0; d < kDims; ++d) {
      SolveOptions fo;
      fo.frontier_dim = d;
      const SolveResult f = solve(p, fo);
      ASSERT_EQ(f.status, Status::kOptimal);
      ASSERT_FALSE(f.frontier.empty());
      // Brute-force Pareto set.
      auto all = brute_force(p, {}, {}, true).all;
      std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) {
        return a.first[d] != b.first[d] ? a.first[d] < b.first[d] : a.second < b.second;
      });
      std::vector<std::pair<uint64_t, long double>> pareto;
      for (const auto& [c, s] : all)
        if (pareto.empty() || (s < pareto.back().second && !near(s, pareto.back().second)))
          pareto.emplace_back(c[d], s);
      ASSERT_EQ(f.frontier.size(), pareto.size()) << "dim " << d;
      for (size_t i = 0; i < pareto.size(); ++i) {
        EXPECT_EQ(f.frontier[i].totals[d], pareto[i].first);
        EXPECT_TRUE(near(f.frontier[i].objective, pareto[i].second));
        SolveOptions o;
        o.constraints.max[d] = f.frontier[i].totals[d];
        const SolveResult r = solve(p, o);
        ASSERT_EQ(r.status, Status::kOptimal);
        EXPECT_TRUE(near(r.best.objective, f.frontier[i].objective));
        if (i + 1 < pareto.size()) {  // just below the next point: still this one
          o.constraints.max[d] = f.frontier[i + 1].totals[d] - 1;
          EXPECT_TRUE(near(solve(p, o).best.objective, f.frontier[i].objective));
        }
      }
    }
  }
}

TEST(MpqSolverProperty, LayerPermutationKeepsObjective) {
  std::mt19937_64 rng(17);
  for (int it = 0; it < 20; ++it) {
    const Problem p = random_problem(rng, 14, 4, 0.2);
    const auto lim = random_limits(rng, p, 3);
    const SolveResult a = solve(p, options_with(lim));
    std::vector<int> perm(p.layers.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    Problem q = p;
    for (size_t i = 0; i < perm.size(); ++i) q.layers[i] = p.layers[static_cast<size_t>(perm[i])];
    std::vector<int> where(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) where[static_cast<size_t>(perm[i])] = static_cast<int>(i);
    for (Tie& t : q.ties)
      for (int& l : t.layers) l = where[static_cast<size_t>(l)];
    const SolveResult b = solve(q, options_with(lim));
    ASSERT_EQ(a.status, b.status);
    if (a.status == Status::kOptimal) {
      EXPECT_TRUE(near(a.best.objective, b.best.objective));
    }
  }
}

TEST(MpqSolverProperty, DominatedCandidateChangesNothing) {
  std::mt19937_64 rng(19);
  for (int it = 0; it < 20; ++it) {
    const Problem p = random_problem(rng, 10, 3, 0.2);
    const auto lim = random_limits(rng, p, 3);
    const SolveResult a = solve(p, options_with(lim));
    Problem q = p;
    Layer& l = q.layers[static_cast<size_t>(it) % q.layers.size()];
    Candidate worse = l.candidates[0];
    worse.id = "dominated";
    worse.sensitivity *= 1.5;
    worse.sensitivity += 1e-6;
    for (uint64_t& c : worse.cost) c += 1;
    l.candidates.push_back(worse);
    const SolveResult b = solve(q, options_with(lim));
    ASSERT_EQ(a.status, b.status);
    if (a.status != Status::kOptimal) continue;
    EXPECT_EQ(a.best.candidate, b.best.candidate);
    EXPECT_EQ(a.best.objective, b.best.objective);
  }
}

TEST(MpqSolver, DeterministicAcrossRuns) {
  std::mt19937_64 rng(23);
  const Problem p = random_problem(rng, 20, 4, 0.2);
  const auto lim = random_limits(rng, p, 3);
  const SolveResult a = solve(p, options_with(lim)), b = solve(p, options_with(lim));
  EXPECT_EQ(a.best.candidate, b.best.candidate);
  EXPECT_EQ(a.max_states, b.max_states);
}

TEST(MpqSolver, LpFileIsWellFormed) {
  std::mt19937_64 rng(29);
  const Problem p = random_problem(rng, 3, 2, 0);
  const auto groups = build_groups(p, allowed_candidates(p, {}), {true, false, false});
  const std::string lp = write_lp(groups, {kSize}, Costs{1000000, 0, 0});
  EXPECT_NE(lp.find("Minimize"), std::string::npos);
  EXPECT_NE(lp.find("c_size:"), std::string::npos);
  EXPECT_NE(lp.find("Binaries"), std::string::npos);
  EXPECT_EQ(lp.find("e+"), std::string::npos);  // integer costs are written as integers
}

}  // namespace
}  // namespace dyad::mpq
