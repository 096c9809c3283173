// The bit-allocation solve (docs/mpq.md): limits from the command line,
// preprocessing (groups.h), the exact Pareto DP (pareto_dp.h) and, beyond its
// caps, the CBC fallback (cbc_mip.h).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/mpq/groups.h"
#include "engine/mpq/problem.h"

namespace dyad::mpq {

struct Constraints {
  // --max-DIM: on the total, fixed + the chosen candidates.
  std::array<std::optional<uint64_t>, kDims> max;
  // --frac-DIM r in [0, 1] (HAWQ): fixed + floor(lo + r * (hi - lo)), lo and hi
  // the sums over groups of the least and largest allowed cost. With both
  // flags for one dimension the smaller limit applies.
  std::array<std::optional<double>, kDims> frac;
};

struct SolveOptions {
  Constraints constraints;
  Selection selection;
  int frontier_dim = -1;  // >= 0: the exact (cost, objective) frontier in this dimension
  uint64_t state_cap = 4'000'000;
  uint64_t work_cap = 4'000'000'000;
  std::string cbc = "cbc";  // the MIP program; empty: no fallback
  int mip_seconds = 600;
};

enum class Status { kOptimal, kInfeasible, kNotProven };
const char* status_name(Status s);

struct Config {
  std::vector<int> candidate;  // per layer
  long double objective = 0;   // sum of the chosen sensitivities
  Costs totals{};              // fixed + chosen, every dimension
};

struct SolveResult {
  Status status = Status::kNotProven;
  std::string solver;  // "pareto-dp" or "cbc"
  Config best;         // when optimal, without --frontier
  int frontier_dim = -1;
  std::vector<Config> frontier;  // ascending cost, descending objective
  std::array<bool, kDims> limited{};
  Costs limits{};      // totals allowed, where limited
  Costs min_totals{};  // per dimension, the least reachable total
  std::string note;    // why infeasible or not proven
  size_t groups = 0, max_states = 0;
  double solve_ms = 0;
};

// Throws InputError on bad options (a limit in a dimension the file lacks, no
// limit without --frontier, pins and forbids as in allowed_candidates).
SolveResult solve(const Problem& p, const SolveOptions& o);

// The limit --frac-DIM r gives (a total, fixed included).
uint64_t frac_limit(uint64_t fixed, uint64_t lo, uint64_t hi, double r);

}  // namespace dyad::mpq
