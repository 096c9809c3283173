// The files `dyad mpq latency` writes (docs/mpq.md, "Latency"): its own table
// (schema dyad-mpq-latency/1, keyed by layer name and choice id), or the
// latency fields of a dyad-mpq-candidates/1 file. Keys come out in a fixed
// order (a filled candidates file keeps the order it had; new keys follow).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/mpq_latency/latency_table.h"

namespace dyad::mpq_latency {

// The layer names of a candidates file, in file order, after validating it
// as the solver does. Throws mpq::InputError naming the field and the layer.
std::vector<std::string> candidate_layer_names(std::string_view candidates_json);

// {"schema": "dyad-mpq-latency/1", "unit": "ns", "fixed": N,
//  "layers": {"NAME": {"w4a4": N, "w8a8": N}, ...}, "check": [...], "provenance": "..."}
nlohmann::ordered_json table_json(const LatencyTable& table, const std::vector<Check>& checks,
                                  const std::string& provenance);

// The candidates file with every candidate's "latency" (the table entry of
// its layer at its w_bits and a_bits), "fixed.latency", "cost_units.latency"
// = "ns", "provenance.latency" and "latency_check" set. Throws mpq::InputError
// for a candidate whose precision the table does not hold, naming the layer
// and the candidate.
nlohmann::ordered_json fill_candidates(std::string_view candidates_json, const LatencyTable& table,
                                       const std::vector<Check>& checks, const std::string& provenance);

}  // namespace dyad::mpq_latency
