// The bit-allocation solve (solve.h).
#include "engine/mpq/solve.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "engine/mpq/cbc_mip.h"
#include "engine/mpq/pareto_dp.h"

namespace dyad::mpq {

namespace {

Config config_of(const Problem& p, const std::vector<Group>& groups,
                 const std::vector<int>& options) {
  Config c;
  c.candidate.assign(p.layers.size(), -1);
  c.totals = p.fixed;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Option& o = groups[g].options[static_cast<size_t>(options[g])];
    for (size_t j = 0; j < groups[g].layers.size(); ++j)
      c.candidate[static_cast<size_t>(groups[g].layers[j])] = o.choice[j];
    c.objective += o.sensitivity;
  }
  for (size_t l = 0; l < p.layers.size(); ++l)
    for (int d = 0; d < kDims; ++d)
      c.totals[d] += p.layers[l].candidates[static_cast<size_t>(c.candidate[l])].cost[d];
  return c;
}

// Objectives within relative 1e-12 count as equal.
bool same_objective(long double a, long double b) {
  return std::fabs(a - b) <= 1e-12L * std::max(std::fabs(a), std::fabs(b));
}

}  // namespace

const char* status_name(Status s) {
  switch (s) {
    case Status::kOptimal: return "optimal";
    case Status::kInfeasible: return "infeasible";
    default: return "not_proven";
  }
}

uint64_t frac_limit(uint64_t fixed, uint64_t lo, uint64_t hi, double r) {
  const long double span = static_cast<long double>(hi - lo);
  const long double extra = std::floor(static_cast<long double>(r) * span);
  return fixed + lo + std::min(hi - lo, static_cast<uint64_t>(extra));
}

SolveResult solve(const Problem& p, const SolveOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  SolveResult r;
  r.frontier_dim = o.frontier_dim;
  std::array<bool, kDims> active{};
  for (int d = 0; d < kDims; ++d) {
    const bool given = o.constraints.max[d].has_value() || o.constraints.frac[d].has_value();
    if ((given || o.frontier_dim == d) && !p.has_dim[d])
      throw InputError(std::string("the candidates file gives no '") + dim_name(d) +
                       "' cost, so it cannot be limited or traded off");
    if (const auto& f = o.constraints.frac[d]; f && !(*f >= 0 && *f <= 1))
      throw InputError(std::string("--frac-") + dim_name(d) + ": must be in [0, 1]");
    r.limited[d] = given;
    active[d] = given || o.frontier_dim == d;
  }
  if (std::none_of(active.begin(), active.end(), [](bool b) { return b; }))
    throw InputError("give at least one limit (--max-size, --frac-bops, ...) or --frontier");

  const std::vector<Group> groups = build_groups(p, allowed_candidates(p, o.selection), active);
  r.groups = groups.size();
  Costs lo{}, hi{};
  for (const Group& g : groups)
    for (int d = 0; d < kDims; ++d) {
      lo[d] += g.min_cost[d];
      hi[d] += g.max_cost[d];
    }
  for (int d = 0; d < kDims; ++d) {
    r.min_totals[d] = p.fixed[d] + lo[d];
    if (!r.limited[d]) continue;
    uint64_t lim = std::numeric_limits<uint64_t>::max();
    if (o.constraints.max[d]) lim = *o.constraints.max[d];
    if (o.constraints.frac[d]) lim = std::min(lim, frac_limit(p.fixed[d], lo[d], hi[d], *o.constraints.frac[d]));
    r.limits[d] = lim;
  }
  auto finish = [&]() {
    r.solve_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count();
    return r;
  };
  for (int d = 0; d < kDims; ++d)
    if (r.limited[d] && r.limits[d] < r.min_totals[d]) {
      r.status = Status::kInfeasible;
      r.note = std::string("the ") + dim_name(d) + " limit " + std::to_string(r.limits[d]) +
               " is below the least reachable total " + std::to_string(r.min_totals[d]);
      return finish();
    }

  DpConfig dc;
  dc.state_cap = o.state_cap;
  dc.work_cap = o.work_cap;
  for (int d = 0; d < kDims; ++d) {
    if (!active[d]) continue;
    dc.bound[dc.dims.size()] =
        r.limited[d] ? r.limits[d] - p.fixed[d] : std::numeric_limits<uint64_t>::max();
    dc.dims.push_back(d);
  }
  ParetoDp dp(groups, dc);
  const bool done = dp.run();
  r.max_states = dp.max_states();
  if (!done) {
    if (o.frontier_dim >= 0) {
      r.note = "the DP exceeded its state cap; the frontier needs the DP (raise --state-cap)";
      return finish();
    }
    if (o.cbc.empty()) {
      r.note = "the DP exceeded its state cap and no MIP program is allowed";
      return finish();
    }
    r.solver = "cbc";
    const MipOutcome m = solve_with_cbc(groups, dc.dims, dc.bound, o.cbc, o.mip_seconds);
    if (m.status == MipOutcome::Status::kInfeasible) {
      r.status = Status::kInfeasible;
      r.note = "no choice meets all limits together (CBC)";
    } else if (m.status == MipOutcome::Status::kOptimal) {
      r.status = Status::kOptimal;
      r.best = config_of(p, groups, m.options);
    } else {
      r.note = "the DP exceeded its state cap and the MIP fallback failed: " + m.note;
    }
    return finish();
  }
  r.solver = "pareto-dp";
  const std::vector<DpState>& fin = dp.final_states();
  if (fin.empty()) {
    r.status = Status::kInfeasible;
    r.note = "each limit alone is reachable, but no choice meets all of them together";
    return finish();
  }
  r.status = Status::kOptimal;
  if (o.frontier_dim >= 0) {
    // Project onto (cost in the frontier dimension, objective).
    size_t k = 0;
    while (dc.dims[k] != o.frontier_dim) ++k;
    std::vector<size_t> order(fin.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (fin[a].cost[k] != fin[b].cost[k]) return fin[a].cost[k] < fin[b].cost[k];
      return fin[a].sensitivity < fin[b].sensitivity;
    });
    long double best = std::numeric_limits<long double>::infinity();
    for (size_t i : order)
      if (fin[i].sensitivity < best) {
        best = fin[i].sensitivity;
        r.frontier.push_back(config_of(p, groups, dp.options_of(i)));
      }
    return finish();
  }
  // Least objective; among equal ones (relative 1e-12) the smaller costs.
  // final_states() is sorted by sensitivity, so the candidates are a prefix.
  size_t best = 0;
  for (size_t i = 1; i < fin.size() && same_objective(fin[i].sensitivity, fin[0].sensitivity); ++i)
    if (fin[i].cost < fin[best].cost) best = i;
  r.best = config_of(p, groups, dp.options_of(best));
  return finish();
}

}  // namespace dyad::mpq
