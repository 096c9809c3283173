// The result file (result_json.h).
#include "engine/mpq/result_json.h"

namespace dyad::mpq {

namespace {

using nlohmann::ordered_json;

ordered_json costs_json(const Problem& p, const Costs& c) {
  ordered_json j = ordered_json::object();
  for (int d = 0; d < kDims; ++d)
    if (p.has_dim[d]) j[dim_name(d)] = c[d];
  return j;
}

}  // namespace

ordered_json result_json(const Problem& p, const SolveResult& r, const std::string& input_sha256) {
  ordered_json j;
  j["schema"] = "dyad-mpq-result/1";
  j["status"] = status_name(r.status);
  j["solver"] = r.solver;
  ordered_json limits = ordered_json::object();
  for (int d = 0; d < kDims; ++d)
    if (r.limited[d]) limits[dim_name(d)] = r.limits[d];
  const bool frontier = r.frontier_dim >= 0;
  if (r.status == Status::kOptimal && !frontier) {
    j["objective"] = static_cast<double>(r.best.objective);
    j["totals"] = costs_json(p, r.best.totals);
    j["limits"] = limits;
    ordered_json slack = ordered_json::object();
    for (int d = 0; d < kDims; ++d)
      if (r.limited[d]) slack[dim_name(d)] = r.limits[d] - r.best.totals[d];
    j["slack"] = slack;
    ordered_json layers = ordered_json::array();
    for (size_t l = 0; l < p.layers.size(); ++l) {
      const Candidate& c = p.layers[l].candidates[static_cast<size_t>(r.best.candidate[l])];
      layers.push_back({{"name", p.layers[l].name}, {"choice", c.id}, {"w_bits", c.w_bits},
                        {"a_bits", c.a_bits}});
    }
    j["layers"] = layers;
  } else {
    j["limits"] = limits;
  }
  if (r.status == Status::kOptimal && frontier) {
    j["frontier_dim"] = dim_name(r.frontier_dim);
    ordered_json names = ordered_json::array();
    for (const Layer& l : p.layers) names.push_back(l.name);
    j["layer_names"] = names;
    ordered_json points = ordered_json::array();
    for (const Config& c : r.frontier) {
      ordered_json choices = ordered_json::array();
      for (size_t l = 0; l < p.layers.size(); ++l)
        choices.push_back(p.layers[l].candidates[static_cast<size_t>(c.candidate[l])].id);
      points.push_back({{"cost", c.totals[r.frontier_dim]},
                        {"objective", static_cast<double>(c.objective)},
                        {"totals", costs_json(p, c.totals)},
                        {"choices", choices}});
    }
    j["frontier"] = points;
  }
  if (r.status == Status::kInfeasible) j["minimum_totals"] = costs_json(p, r.min_totals);
  if (!r.note.empty()) j["message"] = r.note;
  j["stats"] = {{"groups", r.groups}, {"max_states", r.max_states}, {"solve_ms", r.solve_ms}};
  j["input_sha256"] = input_sha256;
  return j;
}

}  // namespace dyad::mpq
