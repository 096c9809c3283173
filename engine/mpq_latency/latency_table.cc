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

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int LatencyTable::find(const std::string& layer) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i] == layer) return static_cast<int>(i);
  return -1;
}

ModelLatency summarize(const std::string& source, const Attribution& a, const Samples& samples) {
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
    const double share = median(std::move(v)) / static_cast<double>(owners.size());
    for (size_t l : owners) m.layer_ns[l] += share;
  }
  m.total_ns = median(std::vector<double>(samples.run_ns.begin(), samples.run_ns.end()));
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
  for (const ModelLatency& m : models) {
    double searched_ns = 0;
    for (size_t i = 0; i < t.layers.size(); ++i) {
      double ns = 0;
      const LayerPrecision* l = find_layer(m, t.layers[i], &ns);
      if (l == nullptr)
        throw mpq::InputError(m.source + ": layer '" + t.layers[i] +
                              "': no conv2d or fully_connected node of that name with a constant weight");
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
  for (size_t i = 0; i < t.layers.size(); ++i)
    for (auto& [id, v] : values[i]) t.entries[i][id].latency_ns = std::llround(median(v));
  t.fixed_ns = std::llround(std::max(0.0, median(fixed)));
  return t;
}

Check check_model(const LatencyTable& t, const ModelLatency& m) {
  Check c;
  c.source = m.source;
  c.measured_ns = m.total_ns;
  int64_t sum = t.fixed_ns;
  for (size_t i = 0; i < t.layers.size(); ++i) {
    const LayerPrecision* l = find_layer(m, t.layers[i], nullptr);
    if (l == nullptr)
      throw mpq::InputError(m.source + ": layer '" + t.layers[i] +
                            "': no conv2d or fully_connected node of that name with a constant weight");
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
