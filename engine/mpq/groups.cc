// Pins, forbids, tie groups and dominance pruning (groups.h).
#include "engine/mpq/groups.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <numeric>

namespace dyad::mpq {

namespace {

int find_root(std::vector<int>& parent, int x) {
  while (parent[static_cast<size_t>(x)] != x) {
    parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
    x = parent[static_cast<size_t>(x)];
  }
  return x;
}

int tie_value(const Candidate& c, TieAttr attr, int index) {
  switch (attr) {
    case TieAttr::kWBits: return c.w_bits;
    case TieAttr::kABits: return c.a_bits;
    default: return index;  // compared by id string below
  }
}

std::string layer_list(const Problem& p, const std::vector<int>& layers) {
  std::string s;
  for (int l : layers) {
    if (!s.empty()) s += ", ";
    s += "'" + p.layers[static_cast<size_t>(l)].name + "'";
  }
  return s;
}

// Keeps the options no earlier kept option dominates; input sorted by
// (sensitivity, costs) so an earlier one never has the larger sensitivity.
std::vector<Option> prune_dominated(std::vector<Option> options, const std::array<bool, kDims>& dims) {
  std::vector<size_t> order(options.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (options[a].sensitivity != options[b].sensitivity)
      return options[a].sensitivity < options[b].sensitivity;
    for (int d = 0; d < kDims; ++d)
      if (dims[d] && options[a].cost[d] != options[b].cost[d])
        return options[a].cost[d] < options[b].cost[d];
    return false;
  });
  std::vector<Option> kept;
  for (size_t i : order) {
    bool dominated = false;
    for (const Option& k : kept) {
      bool le = true;
      for (int d = 0; d < kDims && le; ++d)
        if (dims[d] && k.cost[d] > options[i].cost[d]) le = false;
      if (le) {
        dominated = true;
        break;
      }
    }
    if (!dominated) kept.push_back(std::move(options[i]));
  }
  return kept;
}

}  // namespace

std::vector<std::vector<bool>> allowed_candidates(const Problem& p, const Selection& s) {
  std::vector<std::vector<bool>> allowed;
  for (const Layer& l : p.layers) allowed.emplace_back(l.candidates.size(), true);
  std::map<int, int> pins = p.pins;
  std::map<int, int> cli_pins;
  auto lookup = [&](const std::string& flag, const std::pair<std::string, std::string>& nv) {
    const int li = p.find_layer(nv.first);
    if (li < 0) throw InputError(flag + " " + nv.first + "=" + nv.second + ": no layer named '" +
                                 nv.first + "'");
    const int ci = p.find_candidate(li, nv.second);
    if (ci < 0) throw InputError(flag + " " + nv.first + "=" + nv.second + ": layer '" + nv.first +
                                 "' has no candidate '" + nv.second + "'");
    return std::make_pair(li, ci);
  };
  for (const auto& nv : s.pins) {
    const auto [li, ci] = lookup("--pin", nv);
    if (const auto it = cli_pins.find(li); it != cli_pins.end() && it->second != ci)
      throw InputError("--pin: layer '" + nv.first + "' is pinned to two different candidates");
    cli_pins[li] = ci;
  }
  for (const auto& [li, ci] : cli_pins) pins[li] = ci;
  for (const auto& [li, ci] : pins)
    for (size_t c = 0; c < allowed[static_cast<size_t>(li)].size(); ++c)
      allowed[static_cast<size_t>(li)][c] = static_cast<int>(c) == ci;
  for (const auto& nv : s.forbids) {
    const auto [li, ci] = lookup("--forbid", nv);
    allowed[static_cast<size_t>(li)][static_cast<size_t>(ci)] = false;
  }
  for (size_t l = 0; l < allowed.size(); ++l)
    if (std::none_of(allowed[l].begin(), allowed[l].end(), [](bool b) { return b; }))
      throw InputError("layer '" + p.layers[l].name +
                       "': pins and forbids leave no candidate (a pinned candidate was forbidden, "
                       "or every candidate was)");
  return allowed;
}

std::vector<Group> build_groups(const Problem& p, const std::vector<std::vector<bool>>& allowed,
                                const std::array<bool, kDims>& dims) {
  const int n = static_cast<int>(p.layers.size());
  std::vector<int> parent(static_cast<size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  for (const Tie& t : p.ties)
    for (int l : t.layers) {
      const int a = find_root(parent, t.layers[0]), b = find_root(parent, l);
      if (a != b) parent[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
    }
  // Groups by first layer: the root of each set is its smallest member.
  std::vector<Group> groups;
  std::vector<int> group_of(static_cast<size_t>(n), -1);
  for (int l = 0; l < n; ++l) {
    const int r = find_root(parent, l);
    if (group_of[static_cast<size_t>(r)] < 0) {
      group_of[static_cast<size_t>(r)] = static_cast<int>(groups.size());
      groups.emplace_back();
    }
    groups[static_cast<size_t>(group_of[static_cast<size_t>(r)])].layers.push_back(l);
  }

  // The ties of each group.
  std::vector<std::vector<const Tie*>> group_ties(groups.size());
  for (const Tie& t : p.ties)
    group_ties[static_cast<size_t>(group_of[static_cast<size_t>(find_root(parent, t.layers[0]))])]
        .push_back(&t);

  for (size_t gi = 0; gi < groups.size(); ++gi) {
    Group& g = groups[gi];
    const size_t m = g.layers.size();
    // The ties among this group's members, as member positions.
    std::vector<std::pair<TieAttr, std::vector<size_t>>> ties;
    for (const Tie* tp : group_ties[gi]) {
      const Tie& t = *tp;
      std::vector<size_t> pos;
      for (int l : t.layers)
        pos.push_back(static_cast<size_t>(
            std::lower_bound(g.layers.begin(), g.layers.end(), l) - g.layers.begin()));
      std::sort(pos.begin(), pos.end());
      ties.emplace_back(t.attr, std::move(pos));
    }
    std::vector<Option> options;
    std::vector<int> choice(m, -1);
    g.min_cost.fill(std::numeric_limits<uint64_t>::max());
    g.max_cost.fill(0);
    // Does member k's choice agree with every tie partner chosen before it?
    auto consistent = [&](size_t k) {
      const Candidate& ck = p.layers[static_cast<size_t>(g.layers[k])].candidates[
          static_cast<size_t>(choice[k])];
      for (const auto& [attr, pos] : ties) {
        if (!std::binary_search(pos.begin(), pos.end(), k) || pos[0] == k) continue;
        const size_t j = pos[0];  // the tie's first member, chosen earlier
        const Candidate& cj = p.layers[static_cast<size_t>(g.layers[j])].candidates[
            static_cast<size_t>(choice[j])];
        const bool same = attr == TieAttr::kId
                              ? ck.id == cj.id
                              : tie_value(ck, attr, 0) == tie_value(cj, attr, 0);
        if (!same) return false;
      }
      return true;
    };
    std::function<void(size_t)> enumerate = [&](size_t k) {
      if (k == m) {
        if (options.size() >= kMaxGroupOptions)
          throw InputError("ties merge layers " + layer_list(p, g.layers) + " into more than " +
                           std::to_string(kMaxGroupOptions) + " combinations");
        Option o;
        o.choice = choice;
        for (size_t j = 0; j < m; ++j) {
          const Candidate& c = p.layers[static_cast<size_t>(g.layers[j])].candidates[
              static_cast<size_t>(choice[j])];
          o.sensitivity += c.sensitivity;
          for (int d = 0; d < kDims; ++d) o.cost[d] += c.cost[d];
        }
        for (int d = 0; d < kDims; ++d) {
          g.min_cost[d] = std::min(g.min_cost[d], o.cost[d]);
          g.max_cost[d] = std::max(g.max_cost[d], o.cost[d]);
        }
        options.push_back(std::move(o));
        return;
      }
      const auto& ok = allowed[static_cast<size_t>(g.layers[k])];
      for (size_t c = 0; c < ok.size(); ++c) {
        if (!ok[c]) continue;
        choice[k] = static_cast<int>(c);
        if (consistent(k)) enumerate(k + 1);
      }
    };
    enumerate(0);
    if (options.empty())
      throw InputError("ties between layers " + layer_list(p, g.layers) +
                       " leave no common choice (after pins and forbids)");
    g.options = prune_dominated(std::move(options), dims);
  }
  return groups;
}

}  // namespace dyad::mpq
