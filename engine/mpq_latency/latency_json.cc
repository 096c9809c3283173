#include "engine/mpq_latency/latency_json.h"

#include <cmath>

#include "engine/mpq/problem.h"

namespace dyad::mpq_latency {

namespace {

using nlohmann::ordered_json;

ordered_json checks_json(const std::vector<Check>& checks) {
  ordered_json a = ordered_json::array();
  for (const Check& c : checks) {
    ordered_json j;
    j["model"] = c.source;
    j["measured"] = std::llround(c.measured_ns);
    j["predicted"] = c.predicted_ns;
    j["error_pct"] = std::round(c.error_pct * 100.0) / 100.0;
    j["iqr"] = std::llround(c.iqr_ns);
    a.push_back(std::move(j));
  }
  return a;
}

std::string measured_ids(const std::map<std::string, TableEntry>& entries) {
  std::string s;
  for (const auto& [id, e] : entries) s += (s.empty() ? "" : ", ") + id;
  return s;
}

}  // namespace

std::vector<std::string> candidate_layer_names(std::string_view text) {
  const mpq::Problem p = mpq::parse_candidates(text);
  std::vector<std::string> names;
  for (const mpq::Layer& l : p.layers) names.push_back(l.name);
  return names;
}

ordered_json table_json(const LatencyTable& t, const std::vector<Check>& checks,
                        const std::string& provenance) {
  ordered_json j;
  j["schema"] = "dyad-mpq-latency/1";
  j["unit"] = "ns";
  j["fixed"] = t.fixed_ns;
  ordered_json layers = ordered_json::object();
  for (size_t i = 0; i < t.layers.size(); ++i) {
    ordered_json row = ordered_json::object();
    for (const auto& [id, e] : t.entries[i]) row[id] = e.latency_ns;
    layers[t.layers[i]] = std::move(row);
  }
  j["layers"] = std::move(layers);
  j["check"] = checks_json(checks);
  j["provenance"] = provenance;
  return j;
}

ordered_json fill_candidates(std::string_view text, const LatencyTable& t, const std::vector<Check>& checks,
                             const std::string& provenance) {
  mpq::parse_candidates(text);  // the solver's validation: the file is a good candidates file
  ordered_json doc = ordered_json::parse(text);
  ordered_json& layers = doc["layers"];
  for (size_t i = 0; i < layers.size(); ++i) {
    ordered_json& layer = layers[i];
    const std::string name = layer["name"].get<std::string>();
    const std::string where = "layers[" + std::to_string(i) + "] '" + name + "'";
    const int row = t.find(name);
    if (row < 0) throw mpq::InputError(where + ": not measured");
    ordered_json& cands = layer["candidates"];
    for (size_t c = 0; c < cands.size(); ++c) {
      ordered_json& cand = cands[c];
      const int w = cand["w_bits"].get<int>(), a = cand["a_bits"].get<int>();
      const auto it = t.entries[static_cast<size_t>(row)].find(choice_id(w, a));
      if (it == t.entries[static_cast<size_t>(row)].end())
        throw mpq::InputError(where + ": candidates[" + std::to_string(c) + "] '" +
                              cand["id"].get<std::string>() + "': no --model has this layer at " +
                              choice_id(w, a) + " (measured: " +
                              measured_ids(t.entries[static_cast<size_t>(row)]) + ")");
      cand["latency"] = it->second.latency_ns;
    }
  }
  if (!doc.contains("fixed")) doc["fixed"] = ordered_json::object();
  doc["fixed"]["latency"] = t.fixed_ns;
  if (!doc.contains("cost_units")) doc["cost_units"] = ordered_json::object();
  if (!doc["cost_units"].is_object()) throw mpq::InputError("field 'cost_units': expected an object");
  doc["cost_units"]["latency"] = "ns";
  if (!doc.contains("provenance")) doc["provenance"] = ordered_json::object();
  if (!doc["provenance"].is_object()) throw mpq::InputError("field 'provenance': expected an object");
  doc["provenance"]["latency"] = provenance;
  doc["latency_check"] = checks_json(checks);
  return doc;
}

}  // namespace dyad::mpq_latency
