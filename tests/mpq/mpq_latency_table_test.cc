// The latency table of `dyad mpq latency` (engine/mpq_latency/): which steps
// belong to which layer, medians, pooling over models, the fixed time, the
// additivity check, and the files it writes (field order, errors).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/exec/model.h"
#include "engine/mpq/problem.h"
#include "engine/mpq_latency/latency_json.h"
#include "engine/mpq_latency/latency_table.h"
#include "engine/mpq_latency/layer_attribution.h"

namespace dyad::mpq_latency {
namespace {

// x int8 -> requantize to int4 (xq) -> fc1 (int4 weights), fc2 (int8 weights);
// x -> fc3; x -> fc4 (raw int32 acc) -> requantize (acc.q, int8) -> fc5.
const char kModel[] = R"json({
  "format": "dyad", "version": "1.0", "name": "attribution",
  "inputs": ["x"], "outputs": ["y1", "y2", "y3", "y5"],
  "tensors": [
    {"name": "x", "dtype": "int8", "shape": [1, 4], "scale": 0.05},
    {"name": "xq", "dtype": "int4", "scale": 0.8},
    {"name": "w4", "dtype": "int4", "shape": [2, 4], "scale": 0.1, "values": [1, -2, 3, -4, 5, 6, -7, 7]},
    {"name": "w8", "dtype": "int8", "shape": [2, 4], "scale": 0.01, "values": [1, -2, 3, -4, 5, 6, -7, 8]},
    {"name": "w8b", "dtype": "int8", "shape": [2, 2], "scale": 0.01, "values": [1, -2, 3, -4]},
    {"name": "y1", "dtype": "int8", "scale": 0.1},
    {"name": "y2", "dtype": "int8", "scale": 0.1},
    {"name": "y3", "dtype": "int8", "scale": 0.1},
    {"name": "acc", "dtype": "int32"},
    {"name": "z", "dtype": "int8", "scale": 0.1},
    {"name": "y5", "dtype": "int8", "scale": 0.1}
  ],
  "nodes": [
    {"name": "x.q4", "op": "requantize", "inputs": ["x"], "outputs": ["xq"],
     "attrs": {"multiplier": 1073741824, "shift": 34}},
    {"name": "fc1", "op": "fully_connected", "inputs": ["xq", "w4", ""], "outputs": ["y1"],
     "attrs": {"multiplier": 1073741824, "shift": 31}},
    {"name": "fc2", "op": "fully_connected", "inputs": ["xq", "w8", ""], "outputs": ["y2"],
     "attrs": {"multiplier": 1073741824, "shift": 31}},
    {"name": "fc3", "op": "fully_connected", "inputs": ["x", "w8", ""], "outputs": ["y3"],
     "attrs": {"multiplier": 1073741824, "shift": 31}},
    {"name": "fc4", "op": "fully_connected", "inputs": ["x", "w8", ""], "outputs": ["acc"]},
    {"name": "acc.q", "op": "requantize", "inputs": ["acc"], "outputs": ["z"],
     "attrs": {"multiplier": 1073741824, "shift": 40}},
    {"name": "fc5", "op": "fully_connected", "inputs": ["z", "w8b", ""], "outputs": ["y5"],
     "attrs": {"multiplier": 1073741824, "shift": 31}}
  ]
})json";

std::shared_ptr<const Model> load_model() {
  std::shared_ptr<const Model> m;
  const Status s = Model::load_memory(kModel, nullptr, 0, "m.json", &m);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return m;
}

size_t step_of(const Model& m, const std::string& node) {
  for (size_t k = 0; k < m.plan().steps.size(); ++k)
    if (m.plan().steps[k].node_name == node) return k;
  ADD_FAILURE() << "no step " << node;
  return 0;
}

TEST(MpqLatencyAttribution, LayersPrecisionsAndRequantizeOwners) {
  const auto m = load_model();
  ASSERT_NE(m, nullptr);
  const Attribution a = attribute_steps(m->graph(), m->plan());
  ASSERT_EQ(a.layers.size(), 5u);
  const auto layer = [&](const std::string& n) { return a.layers[static_cast<size_t>(a.find(n))]; };
  EXPECT_EQ(choice_id(layer("fc1").w_bits, layer("fc1").a_bits), "w4a4");
  EXPECT_EQ(choice_id(layer("fc2").w_bits, layer("fc2").a_bits), "w8a4");
  EXPECT_EQ(choice_id(layer("fc3").w_bits, layer("fc3").a_bits), "w8a8");
  EXPECT_EQ(a.find("x.q4"), -1);
  // The width change x -> xq is read by fc1 and fc2: theirs, split.
  const auto& owners = a.step_owners[step_of(*m, "x.q4")];
  ASSERT_EQ(owners.size(), 2u);
  EXPECT_EQ(a.layers[owners[0]].name == "fc1" ? a.layers[owners[1]].name : a.layers[owners[0]].name, "fc2");
  // Quantizing a wide int32 accumulator is there at any precision: fixed.
  EXPECT_TRUE(a.step_owners[step_of(*m, "acc.q")].empty());
  // A layer owns its own step.
  ASSERT_EQ(a.step_owners[step_of(*m, "fc5")].size(), 1u);
  EXPECT_EQ(a.layers[a.step_owners[step_of(*m, "fc5")][0]].name, "fc5");
}

TEST(MpqLatencyAttribution, ShippedMixedResNet) {
  std::shared_ptr<const Model> m;
  const Status s = Model::load_file(std::string(DYAD_SOURCE_DIR) + "/models/fmnist/resnet_mixed.json", &m);
  ASSERT_TRUE(s.is_ok()) << s.message();
  const Attribution a = attribute_steps(m->graph(), m->plan());
  ASSERT_EQ(a.layers.size(), 10u);  // stem, 8 block convs, fc
  EXPECT_EQ(a.layers[static_cast<size_t>(a.find("blocks.0.conv1"))].macs, 14 * 14 * 16 * 9 * 16);
  const auto id = [&](const std::string& n) {
    const LayerPrecision& l = a.layers[static_cast<size_t>(a.find(n))];
    return choice_id(l.w_bits, l.a_bits);
  };
  EXPECT_EQ(id("stem"), "w8a8");
  EXPECT_EQ(id("blocks.0.conv1"), "w4a4");
  EXPECT_EQ(id("blocks.2.shortcut"), "w4a4");
  EXPECT_EQ(id("fc"), "w8a8");
  const auto& owners = a.step_owners[step_of(*m, "pool.out.requant4")];
  ASSERT_EQ(owners.size(), 1u);
  EXPECT_EQ(a.layers[owners[0]].name, "blocks.0.conv1");
}

TEST(MpqLatencyTable, Percentiles) {
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({5, 1, 3}), 3.0);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 100), 4.0);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 25), 1.75);
  EXPECT_DOUBLE_EQ(median({}), 0.0);
}

TEST(MpqLatencyTable, MediansSplitSharedStepsAndTakeTheRunMedian) {
  const auto m = load_model();
  ASSERT_NE(m, nullptr);
  const Attribution a = attribute_steps(m->graph(), m->plan());
  Samples s;
  s.step_ns.assign(m->plan().steps.size(), {10, 10, 10});
  s.step_ns[step_of(*m, "x.q4")] = {100, 900, 40};   // median 100, 50 to each reader
  s.step_ns[step_of(*m, "fc1")] = {7, 1000, 3};      // median 7
  s.run_ns = {500, 300, 400, 10000};                 // median 450
  const ModelLatency ml = summarize("m.json", a, s);
  EXPECT_DOUBLE_EQ(ml.layer_ns[static_cast<size_t>(a.find("fc1"))], 57.0);
  EXPECT_DOUBLE_EQ(ml.layer_ns[static_cast<size_t>(a.find("fc2"))], 60.0);
  EXPECT_DOUBLE_EQ(ml.layer_ns[static_cast<size_t>(a.find("fc5"))], 10.0);
  EXPECT_DOUBLE_EQ(ml.total_ns, 450.0);
  EXPECT_DOUBLE_EQ(ml.total_iqr_ns, 2875.0 - 375.0);  // linear between ranks: p75 2875, p25 375
  EXPECT_DOUBLE_EQ(summarize("m.json", a, s, 0).total_ns, 300.0);
  EXPECT_DOUBLE_EQ(summarize("m.json", a, s, 100).layer_ns[static_cast<size_t>(a.find("fc1"))], 1000.0 + 450.0);
  s.step_ns.pop_back();
  EXPECT_THROW(summarize("m.json", a, s), mpq::InputError);
}

ModelLatency model(const std::string& source, std::vector<std::pair<std::string, int>> layers,
                   std::vector<double> ns, double total) {
  ModelLatency m;
  m.source = source;
  for (const auto& [name, bits] : layers) m.layers.push_back({name, bits, bits, 0});
  m.layer_ns = std::move(ns);
  m.total_ns = total;
  return m;
}

TEST(MpqLatencyTable, PoolsModelsAndKeepsTheRestFixed) {
  const ModelLatency m8 = model("a8.json", {{"stem", 8}, {"c1", 8}, {"c2", 8}}, {50, 100, 200}, 400);
  const ModelLatency m4 = model("a4.json", {{"stem", 8}, {"c1", 4}, {"c2", 4}}, {52, 60, 120}, 290);
  const ModelLatency mx = model("mx.json", {{"stem", 8}, {"c1", 4}, {"c2", 8}}, {51, 70, 190}, 370);
  // Every layer searched: stem has one precision, measured in all three models.
  const LatencyTable all = build_table({m8, m4, mx}, {});
  ASSERT_EQ(all.layers, (std::vector<std::string>{"stem", "c1", "c2"}));
  EXPECT_EQ(all.entries[0].at("w8a8").latency_ns, 51);
  EXPECT_EQ(all.entries[0].at("w8a8").models, 3);
  EXPECT_EQ(all.entries[1].at("w4a4").latency_ns, 65);  // median of 60 and 70
  EXPECT_EQ(all.entries[2].at("w8a8").latency_ns, 195);
  EXPECT_EQ(all.fixed_ns, 58);  // median of 50, 58, 59
  // Only c1 and c2 searched: the stem goes to fixed.
  const LatencyTable t = build_table({m8, m4}, {"c1", "c2"});
  EXPECT_EQ(t.entries[0].size(), 2u);
  EXPECT_EQ(t.fixed_ns, 105);  // (400 - 300 + 290 - 180) / 2
  const Check c = check_model(t, mx);
  EXPECT_EQ(c.predicted_ns, 105 + 60 + 200);
  EXPECT_NEAR(c.error_pct, 100.0 * (365.0 - 370.0) / 370.0, 1e-9);
}

TEST(MpqLatencyTable, MissingLayersAndPrecisionsNameTheLayer) {
  const ModelLatency m8 = model("a8.json", {{"c1", 8}, {"c2", 8}}, {100, 200}, 400);
  const ModelLatency other = model("vit.json", {{"q", 8}}, {100}, 400);
  try {
    build_table({m8, other}, {});
    FAIL() << "no error";
  } catch (const mpq::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("vit.json: layer 'c1'"), std::string::npos) << e.what();
  }
  try {
    build_table({m8}, {"c1", "c9"});
    FAIL() << "no error";
  } catch (const mpq::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'c9'"), std::string::npos) << e.what();
  }
  ModelLatency wider = m8;
  wider.source = "wide.json";
  wider.layers[1].macs = 7;
  try {
    build_table({m8, wider}, {});
    FAIL() << "no error";
  } catch (const mpq::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("wide.json: layer 'c2' has 7 MACs, against 0 in a8.json"), std::string::npos)
        << e.what();
  }
  const LatencyTable t = build_table({m8}, {});
  EXPECT_THROW(check_model(t, wider), mpq::InputError);
  const ModelLatency m4 = model("a4.json", {{"c1", 4}, {"c2", 8}}, {60, 200}, 330);
  try {
    check_model(t, m4);
    FAIL() << "no error";
  } catch (const mpq::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("a4.json: layer 'c1' is w4a4"), std::string::npos) << e.what();
  }
}

const char kCandidates[] = R"json({
  "schema": "dyad-mpq-candidates/1", "model": "toy",
  "cost_units": {"size": "bytes"},
  "fixed": {"size": 10},
  "layers": [
    {"name": "c1", "candidates": [
      {"id": "w4a4", "w_bits": 4, "a_bits": 4, "sensitivity": 0.5, "latency": 1, "size": 2},
      {"id": "w8a8", "w_bits": 8, "a_bits": 8, "sensitivity": 0.1, "latency": 1, "size": 4}]},
    {"name": "c2", "candidates": [
      {"id": "hi", "w_bits": 8, "a_bits": 8, "sensitivity": 0.1, "size": 4, "latency": 999}]}
  ]
})json";

LatencyTable toy_table() {
  const ModelLatency m8 = model("a8.json", {{"c1", 8}, {"c2", 8}}, {100, 200}, 400);
  const ModelLatency m4 = model("a4.json", {{"c1", 4}, {"c2", 8}}, {60, 202}, 362);
  return build_table({m8, m4}, candidate_layer_names(kCandidates));
}

TEST(MpqLatencyJson, FillsCandidatesInPlaceInAFixedOrder) {
  const LatencyTable t = toy_table();
  const std::vector<Check> checks = {{"a8.json", 400.4, 401, 0.1498, 12.6}};
  const nlohmann::ordered_json doc = fill_candidates(kCandidates, t, checks, "test");
  const auto& c1 = doc["layers"][0]["candidates"];
  EXPECT_EQ(c1[0]["latency"], 60);
  EXPECT_EQ(c1[1]["latency"], 100);
  EXPECT_EQ(doc["layers"][1]["candidates"][0]["latency"], 201);  // replaced, median of 200 and 202
  EXPECT_EQ(doc["fixed"]["size"], 10);
  EXPECT_EQ(doc["fixed"]["latency"], 100);
  EXPECT_EQ(doc["cost_units"]["latency"], "ns");
  EXPECT_EQ(doc["provenance"]["latency"], "test");
  EXPECT_EQ(doc["latency_check"][0].dump(),
            R"({"model":"a8.json","measured":400,"predicted":401,"error_pct":0.15,"iqr":13})");
  // Order: the file's keys as they were (an existing key stays in place), new ones after them.
  EXPECT_EQ(c1[0].dump(), R"({"id":"w4a4","w_bits":4,"a_bits":4,"sensitivity":0.5,"latency":60,"size":2})");
  EXPECT_EQ(doc["fixed"].dump(), R"({"size":10,"latency":100})");
  EXPECT_EQ(doc["layers"][1]["candidates"][0].dump(),
            R"({"id":"hi","w_bits":8,"a_bits":8,"sensitivity":0.1,"size":4,"latency":201})");
  std::vector<std::string> keys;
  for (const auto& [k, v] : doc.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"schema", "model", "cost_units", "fixed", "layers", "provenance",
                                            "latency_check"}));
  // The filled file is a valid candidates file with latency on every candidate.
  const mpq::Problem p = mpq::parse_candidates(doc.dump());
  EXPECT_TRUE(p.has_dim[mpq::kLatency]);
  EXPECT_EQ(p.fixed[mpq::kLatency], 100u);
}

TEST(MpqLatencyJson, TableKeyedByLayerAndChoice) {
  const nlohmann::ordered_json j = table_json(toy_table(), {}, "p");
  EXPECT_EQ(j.dump(), R"({"schema":"dyad-mpq-latency/1","unit":"ns","fixed":100,)"
                      R"("layers":{"c1":{"w4a4":60,"w8a8":100},"c2":{"w8a8":201}},"check":[],"provenance":"p"})");
}

TEST(MpqLatencyJson, RefusesWhatItCannotFill) {
  std::string text = kCandidates;
  text.replace(text.find("\"a_bits\": 4"), 11, "\"a_bits\": 8");  // c1 w4a4 -> w_bits 4, a_bits 8
  try {
    fill_candidates(text, toy_table(), {}, "");
    FAIL() << "no error";
  } catch (const mpq::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("layers[0] 'c1': candidates[0] 'w4a4': no --model has this layer at w4a8"),
              std::string::npos)
        << e.what();
  }
  std::string nan = kCandidates;
  nan.replace(nan.find("0.5"), 3, "NaN");
  EXPECT_THROW(candidate_layer_names(nan), mpq::InputError);
  std::string bad_provenance = kCandidates;
  bad_provenance.replace(bad_provenance.find("\"model\": \"toy\""), 14, "\"provenance\": 3");
  EXPECT_THROW(fill_candidates(bad_provenance, toy_table(), {}, ""), mpq::InputError);
}

}  // namespace
}  // namespace dyad::mpq_latency
