// Test helpers for the bit-allocation solver: an independent brute-force
// oracle over every per-layer choice (ties checked directly, no groups, no
// dominance), a seeded random instance generator, and small builders.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/mpq/problem.h"
#include "engine/mpq/solve.h"

namespace dyad::mpq::testing {

struct BruteResult {
  bool feasible = false;
  long double objective = 0;
  std::vector<int> candidate;  // a minimiser (the first in enumeration order)
  Costs totals{};
  // Every feasible (totals, objective) when collect_all is set.
  std::vector<std::pair<Costs, long double>> all;
};

// Limits on totals (fixed included); nullopt = none. allowed[l][c] as in
// allowed_candidates (empty = every candidate).
inline BruteResult brute_force(const Problem& p, const std::array<std::optional<uint64_t>, kDims>& limit,
                               const std::vector<std::vector<bool>>& allowed = {},
                               bool collect_all = false) {
  BruteResult best;
  const size_t n = p.layers.size();
  std::vector<int> pick(n, 0);
  auto ok_candidate = [&](size_t l, int c) {
    return allowed.empty() || allowed[l][static_cast<size_t>(c)];
  };
  for (;;) {
    bool valid = true;
    for (size_t l = 0; l < n && valid; ++l) valid = ok_candidate(l, pick[l]);
    for (const Tie& t : p.ties) {
      if (!valid) break;
      const Candidate& a = p.layers[static_cast<size_t>(t.layers[0])].candidates[static_cast<size_t>(pick[static_cast<size_t>(t.layers[0])])];
      for (int m : t.layers) {
        const Candidate& b = p.layers[static_cast<size_t>(m)].candidates[static_cast<size_t>(pick[static_cast<size_t>(m)])];
        const bool same = t.attr == TieAttr::kId      ? a.id == b.id
                          : t.attr == TieAttr::kWBits ? a.w_bits == b.w_bits
                                                      : a.a_bits == b.a_bits;
        if (!same) valid = false;
      }
    }
    if (valid) {
      Costs tot = p.fixed;
      long double s = 0;
      for (size_t l = 0; l < n; ++l) {
        const Candidate& c = p.layers[l].candidates[static_cast<size_t>(pick[l])];
        s += c.sensitivity;
        for (int d = 0; d < kDims; ++d) tot[d] += c.cost[d];
      }
      bool fits = true;
      for (int d = 0; d < kDims; ++d)
        if (limit[d] && tot[d] > *limit[d]) fits = false;
      if (fits) {
        if (collect_all) best.all.emplace_back(tot, s);
        if (!best.feasible || s < best.objective) {
          best.feasible = true;
          best.objective = s;
          best.candidate = pick;
          best.totals = tot;
        }
      }
    }
    size_t l = 0;
    while (l < n && ++pick[l] == static_cast<int>(p.layers[l].candidates.size())) pick[l++] = 0;
    if (l == n) break;
  }
  return best;
}

inline uint64_t total_of(const Problem& p, const std::vector<int>& cand, int d) {
  uint64_t t = p.fixed[d];
  for (size_t l = 0; l < p.layers.size(); ++l)
    t += p.layers[l].candidates[static_cast<size_t>(cand[l])].cost[d];
  return t;
}

// A random instance: `layers` layers of 2..max_choices candidates with costs
// increasing in precision (plus noise) and sensitivity decreasing; ties
// between random layer pairs with probability tie_p (a tied layer takes its
// partner's precisions, so every tie can be met).
inline Problem random_problem(std::mt19937_64& rng, int layers, int max_choices, double tie_p) {
  static constexpr int kBits[] = {2, 3, 4, 5, 6, 8};
  std::uniform_int_distribution<int> choices(2, max_choices);
  std::uniform_int_distribution<uint64_t> params(1, 4096), macs(1, 100000), noise(0, 50);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Problem p;
  p.has_dim = {true, true, true};
  p.fixed = {noise(rng), noise(rng), noise(rng)};
  std::vector<std::vector<int>> bits(static_cast<size_t>(layers));
  for (int l = 0; l < layers; ++l) {
    std::vector<int> b(std::begin(kBits), std::end(kBits));
    std::shuffle(b.begin(), b.end(), rng);
    b.resize(static_cast<size_t>(choices(rng)));
    std::sort(b.begin(), b.end());
    if (l > 0 && unit(rng) < tie_p) {
      Tie t;
      t.attr = unit(rng) < 0.5 ? TieAttr::kABits : TieAttr::kId;
      t.layers = {std::uniform_int_distribution<int>(0, l - 1)(rng), l};
      b = bits[static_cast<size_t>(t.layers[0])];
      p.ties.push_back(t);
    }
    bits[static_cast<size_t>(l)] = b;
  }
  for (int l = 0; l < layers; ++l) {
    Layer layer;
    layer.name = "layer" + std::to_string(l);
    const uint64_t n = params(rng), m = macs(rng), t = macs(rng);  // independent scales
    const double trace = unit(rng) + 1e-3;
    for (int b : bits[static_cast<size_t>(l)]) {
      Candidate c;
      c.id = "w" + std::to_string(b) + "a" + std::to_string(b);
      c.w_bits = c.a_bits = b;
      c.sensitivity = trace * std::ldexp(1.0, -2 * b) * (0.5 + unit(rng));
      c.cost = {n * static_cast<uint64_t>(b) / 8 + noise(rng), m * static_cast<uint64_t>(b * b) + noise(rng),
                t * static_cast<uint64_t>(b + 4) / 8 + noise(rng) * 100};
      layer.candidates.push_back(c);
    }
    p.layers.push_back(layer);
  }
  return p;
}

// Random limits: each dimension limited with probability 1/2 (at least one),
// at a fraction in [0.05, 0.95] between the all-least and all-largest totals.
inline std::array<std::optional<uint64_t>, kDims> random_limits(std::mt19937_64& rng, const Problem& p,
                                                                 int max_dims) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::array<std::optional<uint64_t>, kDims> lim;
  int count = 0;
  for (int d = 0; d < kDims; ++d) {
    if (count >= max_dims || unit(rng) < 0.5) continue;
    uint64_t lo = p.fixed[d], hi = p.fixed[d];
    for (const Layer& l : p.layers) {
      uint64_t a = std::numeric_limits<uint64_t>::max(), b = 0;
      for (const Candidate& c : l.candidates) {
        a = std::min(a, c.cost[d]);
        b = std::max(b, c.cost[d]);
      }
      lo += a;
      hi += b;
    }
    lim[d] = lo + static_cast<uint64_t>((0.05 + 0.9 * unit(rng)) * static_cast<double>(hi - lo));
    ++count;
  }
  if (count == 0) lim[kBops] = std::numeric_limits<uint64_t>::max() / 2;
  return lim;
}

inline SolveOptions options_with(const std::array<std::optional<uint64_t>, kDims>& lim) {
  SolveOptions o;
  o.constraints.max = lim;
  return o;
}

inline bool near(long double a, long double b) {
  return std::fabs(a - b) <= 1e-9L * std::max<long double>(1e-30L, std::max(std::fabs(a), std::fabs(b)));
}

}  // namespace dyad::mpq::testing
