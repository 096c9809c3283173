#include "engine/mpq_latency/latency_table.h"

#include <algorithm>
#include <cmath>

#include "engine/mpq/problem.h"

namespace dyad::mpq_latency {

namespace {

const LayerPrecision* find_layer(const ModelLatency& m, const std::string& name, double* ns) {
  for (size_t i = 0; i < m.layers.size(); ++i) {
    if (m.layers[i].name != name) continue;
    if (ns != nullptr) *ns = m.layer_ns[i];
    return &m.layers[i];
  }
  return nullptr;
}

// The same layer in two models of one network has the same shape.
void check_same_layer(const LayerPrecision& l, const ModelLatency& m, const LayerPrecision& ref,
                      const std::string& ref_source) {
  if (l.macs != ref.macs)
    throw mpq::InputError(m.source + ": layer '" + l.name + "' has " + std::to_string(l.macs) +
                          " MACs, against " + std::to_string(ref.macs) + " in " + ref_source +
                          ": not the same network (shapes differ)");
}

}  // namespace

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return frac == 0 ? v[lo] : v[lo] + frac * (v[hi] - v[lo]);
}

int LatencyTable::find(const std::string& layer) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i] == layer) return static_cast<int>(i);
  return -1;
}

ModelLatency summarize(const std::string& source, const Attribution& a, const Samples& samples, double p) {
  if (samples.step_ns.size() != a.step_owners.size())
    throw mpq::InputError(source + ": " + std::to_string(samples.step_ns.size()) +
                          " step time series for " + std::to_string(a.step_owners.size()) + " steps");
  ModelLatency m;
  m.source = source;
  m.layers = a.layers;
  m.layer_ns.assign(a.layers.size(), 0.0);
  for (size_t k = 0; k < a.step_owners.size(); ++k) {
    const std::vector<size_t>& owners = a.step_owners[k];
    if (owners.empty()) continue;
    std::vector<double> v(samples.step_ns[k].begin(), samples.step_ns[k].end());
    const double share = percentile(std::move(v), p) / static_cast<double>(owners.size());
    for (size_t l : owners) m.layer_ns[l] += share;
  }
  const std::vector<double> runs(samples.run_ns.begin(), samples.run_ns.end());
  m.total_ns = percentile(runs, p);
  m.total_iqr_ns = percentile(runs, 75) - percentile(runs, 25);
  return m;
}

LatencyTable build_table(const std::vector<ModelLatency>& models, const std::vector<std::string>& searched) {
  if (models.empty()) throw mpq::InputError("no model to measure");
  LatencyTable t;
  if (searched.empty()) {
    for (const LayerPrecision& l : models[0].layers) t.layers.push_back(l.name);
  } else {
    t.layers = searched;
  }
  if (t.layers.empty()) throw mpq::InputError(models[0].source + ": no conv2d or fully_connected layer with a constant weight");
  t.entries.resize(t.layers.size());
  std::vector<std::map<std::string, std::vector<double>>> values(t.layers.size());
  std::vector<double> fixed;
  std::vector<const LayerPrecision*> first(t.layers.size(), nullptr);
  for (const ModelLatency& m : models) {
    double searched_ns = 0;
    for (size_t i = 0; i < t.layers.size(); ++i) {
      double ns = 0;
      const LayerPrecision* l = find_layer(m, t.layers[i], &ns);
      if (l == nullptr)
        throw mpq::InputError(m.source + ": layer '" + t.layers[i] +
                              "': no conv2d or fully_connected node of that name with a constant weight");
      if (first[i] == nullptr) first[i] = l;
      check_same_layer(*l, m, *first[i], models[0].source);
      const std::string id = choice_id(l->w_bits, l->a_bits);
      TableEntry& e = t.entries[i][id];
      e.w_bits = l->w_bits;
      e.a_bits = l->a_bits;
      ++e.models;
      values[i][id].push_back(ns);
      searched_ns += ns;
    }
    fixed.push_back(m.total_ns - searched_ns);
  }
  for (const LayerPrecision* l : first) t.macs.push_back(l->macs);
  for (size_t i = 0; i < t.layers.size(); ++i)
    for (auto& [id, v] : values[i]) t.entries[i][id].latency_ns = std::llround(median(v));
  t.fixed_ns = std::llround(std::max(0.0, median(fixed)));
  return t;
}

Check check_model(const LatencyTable& t, const ModelLatency& m) {
  Check c;
  c.source = m.source;
  c.measured_ns = m.total_ns;
  c.iqr_ns = m.total_iqr_ns;
  int64_t sum = t.fixed_ns;
  for (size_t i = 0; i < t.layers.size(); ++i) {
    const LayerPrecision* l = find_layer(m, t.layers[i], nullptr);
    if (l == nullptr)
      throw mpq::InputError(m.source + ": layer '" + t.layers[i] +
                            "': no conv2d or fully_connected node of that name with a constant weight");
    if (i < t.macs.size() && l->macs != t.macs[i])
      throw mpq::InputError(m.source + ": layer '" + l->name + "' has " + std::to_string(l->macs) +
                            " MACs, against " + std::to_string(t.macs[i]) +
                            " in the table's models: not the same network (shapes differ)");
    const std::string id = choice_id(l->w_bits, l->a_bits);
    const auto it = t.entries[i].find(id);
    if (it == t.entries[i].end())
      throw mpq::InputError(m.source + ": layer '" + t.layers[i] + "' is " + id +
                            ", a precision no --model measured for it");
    sum += it->second.latency_ns;
  }
  c.predicted_ns = sum;
  c.error_pct = m.total_ns > 0 ? 100.0 * (static_cast<double>(sum) - m.total_ns) / m.total_ns : 0.0;
  return c;
}

}  // namespace dyad::mpq_latency
