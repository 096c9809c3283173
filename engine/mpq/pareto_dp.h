// The exact Pareto-frontier dynamic program of docs/mpq.md (a multiple-choice
// knapsack with dominance). Groups are taken in order; a partial solution is a
// state (cost vector over the active dimensions, sensitivity). A state is
// dropped when no completion can meet the bounds, or when another state has
// sensitivity <= and every cost <= (it can replace it in any completion, so
// the optimum is never lost). Costs are exact integers; sensitivities are
// summed in long double in group order.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/mpq/groups.h"

namespace dyad::mpq {

struct DpState {
  Costs cost{};  // over the active dimensions, in DpConfig::dims order (unused entries 0)
  long double sensitivity = 0;
};

struct DpConfig {
  std::vector<int> dims;  // the active dimensions: 1 to 3 of kSize, kBops, kLatency
  Costs bound{};          // per active dimension (same order): bound on the sum over groups
  uint64_t state_cap = 4'000'000;       // most states one group may expand to
  uint64_t work_cap = 4'000'000'000;    // most dominance comparisons in all (3 dimensions)
  uint64_t kept_cap = 50'000'000;       // most states kept over all groups (8 bytes each)
};

class ParetoDp {
 public:
  ParetoDp(const std::vector<Group>& groups, DpConfig config);

  // Returns false when a cap was hit (the answer is then unknown).
  bool run();
  // The complete states no other complete state dominates, sorted by
  // (sensitivity, costs); empty when no choice meets the bounds.
  const std::vector<DpState>& final_states() const { return final_; }
  // The option index per group of final_states()[i].
  std::vector<int> options_of(size_t i) const;
  size_t max_states() const { return max_states_; }

 private:
  struct Link {
    uint32_t parent, option;
  };
  const std::vector<Group>& groups_;
  DpConfig config_;
  std::vector<std::vector<Link>> links_;  // per group, for the states kept after it
  std::vector<DpState> final_;
  size_t max_states_ = 0;
};

}  // namespace dyad::mpq
