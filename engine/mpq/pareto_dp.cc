// The Pareto-frontier DP (pareto_dp.h).
#include "engine/mpq/pareto_dp.h"

#include <algorithm>
#include <limits>

namespace dyad::mpq {

namespace {

struct Node {
  Costs cost;
  long double sensitivity;
  uint32_t parent, option;
};

// Fenwick tree over ranks 1..n holding prefix minima.
class PrefixMin {
 public:
  explicit PrefixMin(size_t n) : tree_(n + 1, std::numeric_limits<uint64_t>::max()) {}
  void update(size_t rank, uint64_t v) {
    for (; rank < tree_.size(); rank += rank & (~rank + 1)) tree_[rank] = std::min(tree_[rank], v);
  }
  uint64_t query(size_t rank) const {
    uint64_t m = std::numeric_limits<uint64_t>::max();
    for (; rank > 0; rank -= rank & (~rank + 1)) m = std::min(m, tree_[rank]);
    return m;
  }

 private:
  std::vector<uint64_t> tree_;
};

// The 1-based rank of each distinct value of one cost among a step's states.
class Ranks {
 public:
  Ranks(const std::vector<Node>& nodes, size_t k) {
    xs_.reserve(nodes.size());
    for (const Node& n : nodes) xs_.push_back(n.cost[k]);
    std::sort(xs_.begin(), xs_.end());
    xs_.erase(std::unique(xs_.begin(), xs_.end()), xs_.end());
  }
  size_t size() const { return xs_.size(); }
  size_t of(uint64_t v) const {
    return static_cast<size_t>(std::lower_bound(xs_.begin(), xs_.end(), v) - xs_.begin()) + 1;
  }

 private:
  std::vector<uint64_t> xs_;
};

}  // namespace

ParetoDp::ParetoDp(const std::vector<Group>& groups, DpConfig config)
    : groups_(groups), config_(std::move(config)) {}

bool ParetoDp::run() {
  const size_t dn = config_.dims.size();
  const size_t gn = groups_.size();
  // Option costs projected onto the active dimensions.
  std::vector<std::vector<Costs>> oc(gn);
  for (size_t g = 0; g < gn; ++g)
    for (const Option& o : groups_[g].options) {
      Costs c{};
      for (size_t k = 0; k < dn; ++k) c[k] = o.cost[static_cast<size_t>(config_.dims[k])];
      oc[g].push_back(c);
    }
  // rest[g][k]: the least the groups after g can add in dimension k.
  std::vector<Costs> rest(gn + 1, Costs{});
  for (size_t g = gn; g-- > 0;)
    for (size_t k = 0; k < dn; ++k) {
      uint64_t m = std::numeric_limits<uint64_t>::max();
      for (const Costs& c : oc[g]) m = std::min(m, c[k]);
      rest[g][k] = rest[g + 1][k] + m;
    }

  std::vector<Node> cur{Node{Costs{}, 0.0L, 0, 0}};
  std::vector<Node> next;
  links_.assign(gn, {});
  uint64_t work = 0, kept_total = 0;
  max_states_ = 1;
  for (size_t g = 0; g < gn; ++g) {
    next.clear();
    for (size_t i = 0; i < cur.size(); ++i) {
      for (size_t o = 0; o < oc[g].size(); ++o) {
        Node n;
        n.sensitivity = cur[i].sensitivity + groups_[g].options[o].sensitivity;
        bool ok = true;
        for (size_t k = 0; k < dn && ok; ++k) {
          n.cost[k] = cur[i].cost[k] + oc[g][o][k];
          // Sums are below 2^64 (checked on input); rest is too.
          ok = n.cost[k] <= config_.bound[k] && rest[g + 1][k] <= config_.bound[k] - n.cost[k];
        }
        if (!ok) continue;
        for (size_t k = dn; k < n.cost.size(); ++k) n.cost[k] = 0;
        n.parent = static_cast<uint32_t>(i);
        n.option = static_cast<uint32_t>(o);
        next.push_back(n);
        if (next.size() > config_.state_cap) return false;
      }
    }
    std::sort(next.begin(), next.end(), [](const Node& a, const Node& b) {
      if (a.sensitivity != b.sensitivity) return a.sensitivity < b.sensitivity;
      if (a.cost != b.cost) return a.cost < b.cost;
      if (a.parent != b.parent) return a.parent < b.parent;
      return a.option < b.option;
    });
    // Earlier states have sensitivity <=, so a state is dominated exactly when
    // an earlier kept one has every cost <=.
    std::vector<Node> kept;
    if (dn == 1) {
      uint64_t best = std::numeric_limits<uint64_t>::max();
      for (const Node& n : next)
        if (n.cost[0] < best) {
          best = n.cost[0];
          kept.push_back(n);
        }
    } else if (dn == 2) {
      const Ranks r0(next, 0);
      PrefixMin tree(r0.size());
      for (const Node& n : next) {
        const size_t rank = r0.of(n.cost[0]);
        if (tree.query(rank) <= n.cost[1]) continue;
        tree.update(rank, n.cost[1]);
        kept.push_back(n);
      }
    } else {
      // A state that no kept state beats in some pair of dimensions is kept at
      // once (Fenwick trees on the three projections); else the kept list is
      // scanned.
      const Ranks r0(next, 0), r1(next, 1);
      PrefixMin t01(r0.size()), t02(r0.size()), t12(r1.size());
      for (const Node& n : next) {
        const size_t k0 = r0.of(n.cost[0]), k1 = r1.of(n.cost[1]);
        bool dominated = false;
        if (t01.query(k0) <= n.cost[1] && t02.query(k0) <= n.cost[2] && t12.query(k1) <= n.cost[2]) {
          for (const Node& k : kept) {
            if (k.cost[0] <= n.cost[0] && k.cost[1] <= n.cost[1] && k.cost[2] <= n.cost[2]) {
              dominated = true;
              break;
            }
          }
          work += kept.size() + 1;
          if (work > config_.work_cap) return false;
        }
        if (dominated) continue;
        t01.update(k0, n.cost[1]);
        t02.update(k0, n.cost[2]);
        t12.update(k1, n.cost[2]);
        kept.push_back(n);
      }
    }
    kept_total += kept.size();
    if (kept_total > config_.kept_cap) return false;
    links_[g].reserve(kept.size());
    for (const Node& n : kept) links_[g].push_back(Link{n.parent, n.option});
    max_states_ = std::max(max_states_, kept.size());
    cur.swap(kept);
    if (cur.empty()) break;
  }
  final_.clear();
  if (!cur.empty() && links_.size() == gn && (gn == 0 || !links_[gn - 1].empty()))
    for (const Node& n : cur) final_.push_back(DpState{n.cost, n.sensitivity});
  return true;
}

std::vector<int> ParetoDp::options_of(size_t i) const {
  std::vector<int> out(groups_.size());
  size_t idx = i;
  for (size_t g = groups_.size(); g-- > 0;) {
    const Link& l = links_[g][idx];
    out[g] = static_cast<int>(l.option);
    idx = l.parent;
  }
  return out;
}

}  // namespace dyad::mpq
