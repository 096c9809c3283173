// The MIP fallback (docs/mpq.md): when the DP exceeds its caps, the problem is
// written as a CPLEX-LP file (a binary x_g_o per group option, one option per
// group, a row per bounded dimension, the objective scaled so the largest
// sensitivity is 1) and the `cbc` program (Debian coinor-cbc, EPL-1.0) is run
// on it as a separate process; it is never linked. Its solution is checked
// exactly against the integer bounds before it is accepted.
#pragma once

#include <string>
#include <vector>

#include "engine/mpq/groups.h"

namespace dyad::mpq {

struct MipOutcome {
  enum class Status { kOptimal, kInfeasible, kFailed } status = Status::kFailed;
  std::vector<int> options;  // per group, when kOptimal
  std::string note;          // why kFailed
};

// The LP text (exposed for tests). `dims`/`bound` as in DpConfig.
std::string write_lp(const std::vector<Group>& groups, const std::vector<int>& dims,
                     const Costs& bound);

// Runs `cbc_program` (searched on PATH when it has no '/') with a time limit.
MipOutcome solve_with_cbc(const std::vector<Group>& groups, const std::vector<int>& dims,
                          const Costs& bound, const std::string& cbc_program, int seconds);

// True when `cbc_program` can be started (used by tests to skip).
bool cbc_available(const std::string& cbc_program);

}  // namespace dyad::mpq
