// Preprocessing (docs/mpq.md): pins and forbids, ties merged into groups, and
// dominated options removed. The solvers work on groups: each picks exactly one
// option, an option being one candidate per member layer that satisfies every
// tie among the members.
#pragma once

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "engine/mpq/problem.h"

namespace dyad::mpq {

struct Option {
  std::vector<int> choice;  // candidate index per member layer (Group::layers order)
  long double sensitivity = 0;
  Costs cost{};
};

struct Group {
  std::vector<int> layers;      // layer indices, ascending
  std::vector<Option> options;  // not dominated, in a deterministic order
  Costs min_cost{}, max_cost{}; // per dimension over the allowed options, before pruning
};

// Command-line pins and forbids, "NAME=ID" already split.
struct Selection {
  std::vector<std::pair<std::string, std::string>> pins, forbids;
};

// allowed[layer][candidate]. The file's pins apply, a command-line pin replaces
// the file's pin of that layer, forbids remove candidates. Throws InputError on
// an unknown layer or id, two different pins of one layer, or a layer left
// with no candidate.
std::vector<std::vector<bool>> allowed_candidates(const Problem& p, const Selection& s);

// Groups in the order of their first layer. An option is dropped when another
// has sensitivity <= and cost <= in every dimension of `dims` (of two equal
// ones the later goes). Throws InputError when ties leave a group no option or
// more than kMaxGroupOptions.
inline constexpr size_t kMaxGroupOptions = 100000;
std::vector<Group> build_groups(const Problem& p, const std::vector<std::vector<bool>>& allowed,
                                const std::array<bool, kDims>& dims);

}  // namespace dyad::mpq
