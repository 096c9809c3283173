// Tests of engine/format: the model loader (docs/format.md). Each malformed
// model changes one thing in a valid one and expects a specific status code and
// a message naming the tensor or node and the field.
#include "engine/format/loader.h"

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/engine/model_files.h"
#include "tests/engine/test_models.h"

namespace dyad {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kSource = "m.json";

using test::tiny_fc;
using test::tiny_fc_weights;
using test::tiny_fc_with_weights_file;
using test::TempDir;

json& tensor(json& model, const std::string& name) {
  for (json& t : model["tensors"])
    if (t["name"] == name) return t;
  ADD_FAILURE() << "no tensor " << name;
  static json none;
  return none;
}

Status load_text(const std::string& text, Graph* g, const std::vector<uint8_t>* weights = nullptr) {
  return load_graph_from_memory(text, weights ? weights->data() : nullptr,
                                weights ? weights->size() : 0, kSource, g);
}

::testing::AssertionResult fails_with(const Status& s, StatusCode code,
                                      const std::vector<std::string>& parts) {
  if (s.code() != code) {
    return ::testing::AssertionFailure() << "code " << static_cast<int>(s.code()) << ", expected "
                                         << static_cast<int>(code) << "; message: " << s.message();
  }
  for (const std::string& p : parts) {
    if (s.message().find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "message \"" << s.message() << "\" lacks \"" << p << "\"";
  }
  if (s.message().rfind(kSource, 0) != 0)
    return ::testing::AssertionFailure() << "message does not start with the source: " << s.message();
  return ::testing::AssertionSuccess();
}

// ---- fnv1a64 ---------------------------------------------------------------

TEST(Fnv1a64, KnownVectors) {
  // Reference values of FNV-1a 64 (the offset basis for the empty input).
  EXPECT_EQ(fnv1a64("", 0), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar", 6), 0x85944171f73967e8ULL);
}

// ---- valid models ------------------------------------------------------------

TEST(Loader, TinyFcInline) {
  Graph g;
  ASSERT_TRUE(load_text(test::tiny_fc_json(), &g).is_ok());
  EXPECT_EQ(g.source, "m.json");
  EXPECT_EQ(g.name, "tiny_fc");
  ASSERT_EQ(g.tensors.size(), 4u);
  const TensorDesc& x = g.tensors[0];
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.dtype, DType::kInt8);
  EXPECT_TRUE(x.shape_known);
  EXPECT_EQ(x.shape, (Shape{1, 4}));
  EXPECT_FALSE(x.is_constant);
  EXPECT_EQ(x.quant.scales, (std::vector<double>{0.05}));
  EXPECT_EQ(x.quant.axis, -1);

  const TensorDesc& w = g.tensors[1];
  EXPECT_TRUE(w.is_constant);
  EXPECT_EQ(w.quant.scales, (std::vector<double>{0.01, 0.02}));
  EXPECT_EQ(w.quant.axis, 0);
  EXPECT_EQ(w.quant.zero_point(1), 0);
  const std::vector<uint8_t> w_bytes = {0x01, 0xFE, 0x03, 0xFC, 0x05, 0x06, 0xF9, 0x08};
  ASSERT_EQ(w.data_bytes, 8u);
  ASSERT_NE(w.data, nullptr);
  EXPECT_EQ(std::vector<uint8_t>(w.data, w.data + 8), w_bytes);

  const TensorDesc& b = g.tensors[2];
  EXPECT_EQ(b.dtype, DType::kInt32);
  ASSERT_EQ(b.data_bytes, 8u);
  EXPECT_EQ(std::vector<uint8_t>(b.data, b.data + 8),
            (std::vector<uint8_t>{0x64, 0, 0, 0, 0xCE, 0xFF, 0xFF, 0xFF}));
  EXPECT_FALSE(b.quant.has_scale());

  const TensorDesc& y = g.tensors[3];
  EXPECT_FALSE(y.shape_known);
  EXPECT_EQ(y.quant.zero_point(), -3);

  EXPECT_EQ(g.inputs, (std::vector<int>{0}));
  EXPECT_EQ(g.outputs, (std::vector<int>{3}));
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].name, "fc");
  EXPECT_EQ(g.nodes[0].op, OpType::kFullyConnected);
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(g.nodes[0].outputs, (std::vector<int>{3}));
  EXPECT_EQ(g.nodes[0].attrs["shift"], json({40, 39}));
  EXPECT_TRUE(g.metadata.is_object());
}

TEST(Loader, ShippedExampleMatchesFixture) {
  Graph from_file;
  const std::string path = std::string(DYAD_SOURCE_DIR) + "/models/examples/tiny_fc.json";
  const Status s = load_graph_from_file(path, &from_file);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(from_file.source, path);
  std::ifstream in(path);
  const json shipped = json::parse(in);
  EXPECT_EQ(shipped, tiny_fc());
}

TEST(Loader, OmittedOptionalInputIsMinusOne) {
  json m = tiny_fc();
  m["nodes"][0]["inputs"] = {"x", "w", ""};
  m["nodes"][0].erase("attrs");  // attrs default to {}
  Graph g;
  ASSERT_TRUE(load_text(m.dump(), &g).is_ok());
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<int>{0, 1, -1}));
  EXPECT_TRUE(g.nodes[0].attrs.is_object());
  EXPECT_TRUE(g.nodes[0].attrs.empty());
}

// int4/uint4 constants are packed two per byte, low nibble first; the other
// types little-endian at their width.
TEST(Loader, PacksInlineValuesInFileLayout) {
  json m = tiny_fc();
  m["tensors"].push_back({{"name", "q4"}, {"dtype", "int4"}, {"shape", {5}},
                          {"values", {-8, 7, -1, 0, 3}}});
  m["tensors"].push_back({{"name", "u4"}, {"dtype", "uint4"}, {"shape", {3}},
                          {"values", {15, 0, 9}}});
  m["tensors"].push_back({{"name", "s16"}, {"dtype", "int16"}, {"shape", {2}},
                          {"values", {-2, 0x1234}}});
  m["tensors"].push_back({{"name", "s64"}, {"dtype", "int64"}, {"shape", {1}},
                          {"values", {INT64_MIN}}});
  Graph g;
  const Status s = load_text(m.dump(), &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  auto bytes = [&](const char* name) {
    const TensorDesc& t = g.tensors[g.find_tensor(name)];
    return std::vector<uint8_t>(t.data, t.data + t.data_bytes);
  };
  EXPECT_EQ(bytes("q4"), (std::vector<uint8_t>{0x78, 0x0F, 0x03}));
  EXPECT_EQ(bytes("u4"), (std::vector<uint8_t>{0x0F, 0x09}));
  EXPECT_EQ(bytes("s16"), (std::vector<uint8_t>{0xFE, 0xFF, 0x34, 0x12}));
  EXPECT_EQ(bytes("s64"), (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0x80}));

  // Unpacking the nibbles (sign-extending int4) gives the values back.
  const std::vector<uint8_t> q4 = bytes("q4");
  std::vector<int> unpacked;
  for (size_t i = 0; i < 5; ++i) {
    const int nibble = (q4[i / 2] >> (4 * (i % 2))) & 0xF;
    unpacked.push_back(nibble >= 8 ? nibble - 16 : nibble);
  }
  EXPECT_EQ(unpacked, (std::vector<int>{-8, 7, -1, 0, 3}));
}

TEST(Loader, WeightsFromMemory) {
  const std::vector<uint8_t> weights = tiny_fc_weights();
  Graph g;
  const Status s = load_text(tiny_fc_with_weights_file().dump(), &g, &weights);
  ASSERT_TRUE(s.is_ok()) << s.message();
  const TensorDesc& b = g.tensors[g.find_tensor("b")];
  ASSERT_EQ(b.data_bytes, 8u);
  EXPECT_EQ(std::memcmp(b.data, weights.data() + 64, 8), 0);
}

TEST(Loader, WeightsFileNextToTheModel) {
  TempDir dir;
  const std::vector<uint8_t> weights = tiny_fc_weights();
  dir.write("tiny_fc.bin", weights.data(), weights.size());
  const std::string path = dir.write("model.json", tiny_fc_with_weights_file().dump(2));
  Graph g;
  const Status s = load_graph_from_file(path, &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(g.source, path);
  const TensorDesc& w = g.tensors[g.find_tensor("w")];
  const TensorDesc& b = g.tensors[g.find_tensor("b")];
  ASSERT_TRUE(w.is_constant && b.is_constant);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data) % 64, 0u);
  EXPECT_EQ(std::memcmp(w.data, weights.data(), 8), 0);
  EXPECT_EQ(std::memcmp(b.data, weights.data() + 64, 8), 0);
  // The constants stay valid when the graph is moved.
  Graph moved = std::move(g);
  EXPECT_EQ(moved.tensors[moved.find_tensor("b")].data[0], 0x64);
}

TEST(Loader, MissingWeightsFileIsAnIoError) {
  TempDir dir;
  const std::string path = dir.write("model.json", tiny_fc_with_weights_file().dump());
  Graph g;
  const Status s = load_graph_from_file(path, &g);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("field 'weights.file'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("tiny_fc.bin"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().rfind(path, 0), 0u) << s.message();
}

TEST(Loader, TruncatedWeightsFileOnDisk) {
  TempDir dir;
  const std::vector<uint8_t> weights = tiny_fc_weights();
  dir.write("tiny_fc.bin", weights.data(), 70);
  const std::string path = dir.write("model.json", tiny_fc_with_weights_file().dump());
  Graph g;
  const Status s = load_graph_from_file(path, &g);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("field 'weights.bytes'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
}

TEST(Loader, MissingModelFileIsAnIoError) {
  Graph g;
  const Status s = load_graph_from_file("/nonexistent/dir/model.json", &g);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("/nonexistent/dir/model.json"), std::string::npos);
}

TEST(Loader, FailureLeavesOutputUntouched) {
  Graph g;
  g.name = "sentinel";
  json m = tiny_fc();
  m["nodes"][0]["op"] = "conv3d";  // fails after tensors were read
  EXPECT_FALSE(load_text(m.dump(), &g).is_ok());
  EXPECT_EQ(g.name, "sentinel");
  EXPECT_TRUE(g.tensors.empty());
}

TEST(Loader, NewerMinorVersionIsAccepted) {
  json m = tiny_fc();
  m["version"] = "1.7";
  Graph g;
  EXPECT_TRUE(load_text(m.dump(), &g).is_ok());
  // ... but a field this build does not know is not silently ignored.
  m["tensors"][0]["new_field"] = 1;
  EXPECT_TRUE(fails_with(load_text(m.dump(), &g), StatusCode::kUnsupported,
                         {"tensor 'x': field 'new_field'", "version 1.7"}));
}

// ---- text-level errors ---------------------------------------------------------

TEST(LoaderErrors, NotJson) {
  Graph g;
  EXPECT_TRUE(fails_with(load_text("{\"format\": \"dyad\",\n \"version\": }", &g),
                         StatusCode::kParseError, {"not valid JSON", "line 2", "byte"}));
  EXPECT_TRUE(fails_with(load_text("", &g), StatusCode::kParseError, {"not valid JSON"}));
}

TEST(LoaderErrors, NotAnObject) {
  Graph g;
  EXPECT_TRUE(fails_with(load_text("[1, 2]", &g), StatusCode::kInvalidModel,
                         {"expected a JSON object at the top level"}));
}

TEST(LoaderErrors, NumberTooLargeForADouble) {
  // JSON cannot spell inf or nan; a scale that overflows a double is refused
  // while parsing.
  std::string text = tiny_fc().dump();
  const std::string from = "\"scale\":0.05";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), "\"scale\":1e999");
  Graph g;
  EXPECT_TRUE(fails_with(load_text(text, &g), StatusCode::kParseError, {"1e999"}));
}

TEST(LoaderErrors, ScaleThatUnderflowsToZero) {
  std::string text = tiny_fc().dump();
  const std::string from = "\"scale\":0.05";
  text.replace(text.find(from), from.size(), "\"scale\":1e-400");
  Graph g;
  EXPECT_TRUE(fails_with(load_text(text, &g), StatusCode::kInvalidModel,
                         {"tensor 'x': field 'scale'", "nonzero"}));
}

TEST(LoaderErrors, DuplicateJsonKey) {
  std::string text = tiny_fc().dump();
  const std::string from = "\"scale\":0.05";
  text.replace(text.find(from), from.size(), "\"scale\":0.05,\"scale\":0.5");
  Graph g;
  EXPECT_TRUE(fails_with(load_text(text, &g), StatusCode::kInvalidModel, {"duplicate key 'scale'"}));
}

TEST(LoaderErrors, WeightsGivenButNotNamed) {
  const std::vector<uint8_t> weights = tiny_fc_weights();
  Graph g;
  EXPECT_TRUE(fails_with(load_text(test::tiny_fc_json(), &g, &weights),
                         StatusCode::kInvalidArgument, {"no 'weights' field"}));
}

TEST(LoaderErrors, WeightsNeededButNotGiven) {
  Graph g;
  EXPECT_TRUE(fails_with(load_text(tiny_fc_with_weights_file().dump(), &g),
                         StatusCode::kInvalidArgument, {"field 'weights'", "tiny_fc.bin"}));
}

TEST(LoaderErrors, DefaultSourceName) {
  Graph g;
  const Status s = load_graph_from_memory("[]", nullptr, 0, "", &g);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_EQ(s.message().rfind("<memory>: ", 0), 0u) << s.message();
}

// Robustness: every prefix of a valid model, and every value of it replaced by
// values of other types, gives a Status (never a crash or an exception), and a
// failure names the source. Run under the sanitizers this also checks memory.
TEST(LoaderErrors, TruncatedTextIsAlwaysAParseError) {
  const std::string text = tiny_fc_with_weights_file().dump();
  const std::vector<uint8_t> weights = tiny_fc_weights();
  for (size_t n = 0; n < text.size(); ++n) {
    Graph g;
    const Status s = load_text(text.substr(0, n), &g, &weights);
    ASSERT_EQ(s.code(), StatusCode::kParseError) << n << ": " << s.message();
  }
}

TEST(LoaderErrors, EveryValueReplacedGivesAStatus) {
  const json base = tiny_fc_with_weights_file();
  const std::vector<uint8_t> weights = tiny_fc_weights();
  std::vector<json::json_pointer> places;
  const json flat = base.flatten();  // {"/tensors/0/name": "x", ...}
  for (const auto& [pointer, leaf] : flat.items()) {
    json::json_pointer p(pointer);
    for (; !p.empty(); p = p.parent_pointer()) places.push_back(p);
  }
  const json replacements[] = {nullptr, "", "x", -1, 0, 63, 1.5, true, json::array(), json::object(),
                               json::array({1}), UINT64_MAX};
  int failures = 0;
  for (const json::json_pointer& p : places) {
    for (const json& r : replacements) {
      json m = base;
      m[p] = r;
      Graph g;
      const Status s = load_text(m.dump(), &g, &weights);
      if (s.is_ok()) continue;
      ++failures;
      EXPECT_EQ(s.message().rfind(kSource, 0), 0u) << p.to_string() << ": " << s.message();
      EXPECT_NE(s.code(), StatusCode::kInternal) << p.to_string() << ": " << s.message();
    }
  }
  EXPECT_GT(failures, 100);
}

// ---- one change to a valid model per case ----------------------------------------

struct BadModel {
  const char* name;
  std::function<void(json&)> mutate;
  StatusCode code;
  std::vector<std::string> message_parts;
  bool with_weights_file = false;  // start from tiny_fc_with_weights_file()
  std::function<void(std::vector<uint8_t>&)> mutate_weights = nullptr;
};

void PrintTo(const BadModel& c, std::ostream* os) { *os << c.name; }

class LoaderBadModel : public ::testing::TestWithParam<BadModel> {};

TEST_P(LoaderBadModel, IsRefused) {
  const BadModel& c = GetParam();
  json m = c.with_weights_file ? tiny_fc_with_weights_file() : tiny_fc();
  std::vector<uint8_t> weights = tiny_fc_weights();
  c.mutate(m);
  if (c.mutate_weights) c.mutate_weights(weights);
  Graph g;
  const Status s = load_text(m.dump(), &g, c.with_weights_file ? &weights : nullptr);
  EXPECT_TRUE(fails_with(s, c.code, c.message_parts));
  EXPECT_TRUE(g.tensors.empty());
}

constexpr StatusCode kBad = StatusCode::kInvalidModel;

json node(const char* name, std::vector<std::string> inputs, std::vector<std::string> outputs) {
  return {{"name", name}, {"op", "requantize"}, {"inputs", inputs}, {"outputs", outputs}};
}

const BadModel kBadModels[] = {
    // top level
    {"MissingFormat", [](json& m) { m.erase("format"); }, kBad, {"m.json: field 'format': missing"}},
    {"WrongFormat", [](json& m) { m["format"] = "onnx"; }, kBad, {"field 'format'", "\"onnx\""}},
    {"NewerMajorVersion", [](json& m) { m["version"] = "2.0"; }, StatusCode::kUnsupported,
     {"m.json: field 'version': model is version 2.0, this build reads version 1.x"}},
    {"OlderMajorVersion", [](json& m) { m["version"] = "0.9"; }, StatusCode::kUnsupported,
     {"field 'version'", "0.9"}},
    {"VersionWithoutMinor", [](json& m) { m["version"] = "1"; }, kBad, {"field 'version'", "MAJOR.MINOR"}},
    {"VersionWithPatch", [](json& m) { m["version"] = "1.0.0"; }, kBad, {"field 'version'", "\"1.0.0\""}},
    {"VersionNotString", [](json& m) { m["version"] = 1.0; }, kBad, {"field 'version'", "expected a string"}},
    {"MissingVersion", [](json& m) { m.erase("version"); }, kBad, {"field 'version': missing"}},
    {"UnknownTopLevelField", [](json& m) { m["tensor"] = json::array(); }, kBad,
     {"m.json: field 'tensor': unknown field"}},
    {"MissingTensors", [](json& m) { m.erase("tensors"); }, kBad, {"field 'tensors': missing"}},
    {"MissingNodes", [](json& m) { m.erase("nodes"); }, kBad, {"field 'nodes': missing"}},
    {"MissingInputs", [](json& m) { m.erase("inputs"); }, kBad, {"field 'inputs': missing"}},
    {"MissingOutputs", [](json& m) { m.erase("outputs"); }, kBad, {"field 'outputs': missing"}},
    {"TensorsNotAList", [](json& m) { m["tensors"] = json::object(); }, kBad,
     {"field 'tensors': expected a list"}},
    {"TensorNotAnObject", [](json& m) { m["tensors"][1] = 3; }, kBad,
     {"field 'tensors[1]': expected an object"}},
    {"MetadataNotAnObject", [](json& m) { m["metadata"] = "x"; }, kBad,
     {"field 'metadata': expected an object"}},
    {"NoOutputs", [](json& m) { m["outputs"] = json::array(); }, kBad, {"field 'outputs'", "at least one"}},
    // tensors
    {"TensorWithoutName", [](json& m) { m["tensors"][0].erase("name"); }, kBad,
     {"field 'tensors[0].name': missing"}},
    {"DuplicateTensor", [](json& m) { m["tensors"].push_back(m["tensors"][1]); }, kBad,
     {"tensor 'w': field 'name': defined twice (tensors[1] and tensors[4])"}},
    {"UnknownTensorField", [](json& m) { tensor(m, "x")["scael"] = 0.1; }, kBad,
     {"m.json: tensor 'x': field 'scael': unknown field"}},
    {"UnknownDtype", [](json& m) { tensor(m, "x")["dtype"] = "float32"; }, kBad,
     {"tensor 'x': field 'dtype'", "\"float32\""}},
    {"NegativeDim", [](json& m) { tensor(m, "x")["shape"] = {1, -4}; }, kBad,
     {"tensor 'x': field 'shape[1]'", "positive", "-4"}},
    {"ZeroDim", [](json& m) { tensor(m, "x")["shape"] = {0, 4}; }, kBad,
     {"tensor 'x': field 'shape[0]'", "positive"}},
    {"FractionalDim", [](json& m) { tensor(m, "x")["shape"] = {1, 4.5}; }, kBad,
     {"tensor 'x': field 'shape[1]'", "expected an integer, got 4.5"}},
    {"HugeDim", [](json& m) { tensor(m, "x")["shape"] = {1, UINT64_MAX}; }, kBad,
     {"tensor 'x': field 'shape[1]'", "out of range"}},
    {"TooManyElements", [](json& m) { tensor(m, "x")["shape"] = {1 << 30, 1 << 30, 1 << 30}; }, kBad,
     {"tensor 'x': field 'shape'", "too many elements"}},
    {"ShapeNotAList", [](json& m) { tensor(m, "x")["shape"] = 4; }, kBad,
     {"tensor 'x': field 'shape'", "expected a list"}},
    {"ZeroScale", [](json& m) { tensor(m, "x")["scale"] = 0; }, kBad,
     {"tensor 'x': field 'scale'", "nonzero"}},
    {"ZeroScaleInList", [](json& m) { tensor(m, "w")["scale"] = {0.01, 0.0}; }, kBad,
     {"tensor 'w': field 'scale[1]'", "nonzero"}},
    {"ScaleNotANumber", [](json& m) { tensor(m, "x")["scale"] = "0.05"; }, kBad,
     {"tensor 'x': field 'scale'", "expected a number"}},
    {"EmptyScaleList", [](json& m) { tensor(m, "x")["scale"] = json::array(); }, kBad,
     {"tensor 'x': field 'scale'", "empty"}},
    {"ZeroPointAboveRange", [](json& m) { tensor(m, "x")["zero_point"] = 128; }, kBad,
     {"tensor 'x': field 'zero_point'", "128 is outside int8's range [-128, 127]"}},
    {"ZeroPointBelowUint8", [](json& m) {
       tensor(m, "x")["dtype"] = "uint8";
       tensor(m, "x")["zero_point"] = -1;
     }, kBad, {"tensor 'x': field 'zero_point'", "outside uint8's range"}},
    {"ZeroPointNotInt", [](json& m) { tensor(m, "y")["zero_point"] = 1.5; }, kBad,
     {"tensor 'y': field 'zero_point'", "expected an integer"}},
    {"PerChannelLengthMismatch", [](json& m) { tensor(m, "w")["scale"] = {0.01, 0.02, 0.03}; }, kBad,
     {"tensor 'w': field 'scale'", "has 3 entries, but shape[0] is 2"}},
    {"PerChannelZeroPointMismatch", [](json& m) { tensor(m, "w")["zero_point"] = {0, 0, 0}; }, kBad,
     {"tensor 'w': field 'zero_point'", "has 3 entries, but shape[0] is 2"}},
    {"ListsDisagreeWithoutShape", [](json& m) {
       tensor(m, "y")["scale"] = {0.1, 0.2};
       tensor(m, "y")["zero_point"] = {0, 0, 0};
       tensor(m, "y")["axis"] = 1;
     }, kBad, {"tensor 'y': field 'zero_point'", "'scale' has 2"}},
    {"AxisOutOfRange", [](json& m) { tensor(m, "w")["axis"] = 2; }, kBad,
     {"tensor 'w': field 'axis'", "out of range for shape [2, 4]"}},
    {"NegativeAxis", [](json& m) { tensor(m, "w")["axis"] = -1; }, kBad, {"tensor 'w': field 'axis'"}},
    {"MissingAxisForList", [](json& m) { tensor(m, "w").erase("axis"); }, kBad,
     {"tensor 'w': field 'axis': missing", "'scale' has 2 entries"}},
    {"AxisWithoutList", [](json& m) { tensor(m, "x")["axis"] = 1; }, kBad,
     {"tensor 'x': field 'axis'", "neither"}},
    {"ValuesCountMismatch", [](json& m) { tensor(m, "w")["values"].erase(7); }, kBad,
     {"tensor 'w': field 'values'", "has 7 values, but shape [2, 4] has 8 elements"}},
    {"ValueOutOfRange", [](json& m) { tensor(m, "w")["values"][3] = 300; }, kBad,
     {"tensor 'w': field 'values[3]'", "300 is outside int8's range"}},
    {"Int4ValueOutOfRange", [](json& m) {
       tensor(m, "w")["dtype"] = "int4";
       tensor(m, "w")["values"][0] = 8;
     }, kBad, {"tensor 'w': field 'values[0]'", "outside int4's range [-8, 7]"}},
    {"ValueNotInt", [](json& m) { tensor(m, "b")["values"][1] = "5"; }, kBad,
     {"tensor 'b': field 'values[1]'", "expected an integer"}},
    {"ConstantWithoutShape", [](json& m) { tensor(m, "b").erase("shape"); }, kBad,
     {"tensor 'b': field 'shape': missing", "needs a shape"}},
    {"DataWithoutWeightsSection", [](json& m) { m.erase("weights"); }, kBad,
     {"tensor 'w': field 'data'", "no 'weights' field"}, true},
    {"BothDataAndValues", [](json& m) { tensor(m, "b")["values"] = {1, 2}; }, kBad,
     {"tensor 'b': field 'values'", "not both"}, true},
    {"MisalignedOffset", [](json& m) { tensor(m, "b")["data"]["offset"] = 32; }, kBad,
     {"m.json: tensor 'b': field 'data.offset': 32 is not a multiple of 64"}, true},
    {"OffsetBeyondFile", [](json& m) { tensor(m, "b")["data"]["offset"] = 128; }, kBad,
     {"tensor 'b': field 'data.offset'", "outside weights file 'tiny_fc.bin' (72 bytes)"}, true},
    {"NegativeOffset", [](json& m) { tensor(m, "b")["data"]["offset"] = -64; }, kBad,
     {"tensor 'b': field 'data.offset'", ">= 0"}, true},
    {"BytesMismatch", [](json& m) { tensor(m, "b")["data"]["bytes"] = 4; }, kBad,
     {"tensor 'b': field 'data.bytes'", "takes 8 bytes"}, true},
    {"UnknownDataField", [](json& m) { tensor(m, "b")["data"]["size"] = 8; }, kBad,
     {"tensor 'b': field 'data.size': unknown field"}, true},
    {"DataMissingBytes", [](json& m) { tensor(m, "b")["data"].erase("bytes"); }, kBad,
     {"tensor 'b': field 'data.bytes': missing"}, true},
    // the weights file
    {"TruncatedWeights", [](json&) {}, kBad, {"field 'weights.bytes'", "truncated", "70 bytes"}, true,
     [](std::vector<uint8_t>& w) { w.resize(70); }},
    {"OversizedWeights", [](json&) {}, kBad, {"field 'weights.bytes'", "larger than expected", "80 bytes"},
     true, [](std::vector<uint8_t>& w) { w.resize(80); }},
    {"ChecksumMismatch", [](json&) {}, kBad, {"field 'weights.fnv1a64'", "checksum mismatch"}, true,
     [](std::vector<uint8_t>& w) { w[3] ^= 1; }},
    {"ChecksumNotHex", [](json& m) { m["weights"]["fnv1a64"] = "8F3E0C5A9B1D2E47"; }, kBad,
     {"field 'weights.fnv1a64'", "16 lowercase hex digits"}, true},
    {"NulInWeightsPath", [](json& m) { m["weights"]["file"] = std::string("a\0b", 3); }, kBad,
     {"field 'weights.file'", "NUL"}, true},
    // (where "weights.file" may point is tested on files: hostile_files_test.cc)
    {"UnknownWeightsField", [](json& m) { m["weights"]["sha"] = "x"; }, kBad,
     {"field 'weights.sha': unknown field"}, true},
    // nodes
    {"DuplicateNodeName", [](json& m) { m["nodes"].push_back(node("fc", {"y"}, {"z"})); }, kBad,
     {"node 'fc': field 'name': defined twice"}},
    {"UnknownOp", [](json& m) { m["nodes"][0]["op"] = "conv3d"; }, kBad,
     {"m.json: node 'fc': field 'op': unknown op \"conv3d\""}},
    {"MissingOp", [](json& m) { m["nodes"][0].erase("op"); }, kBad, {"node 'fc': field 'op': missing"}},
    {"DanglingNodeInput", [](json& m) { m["nodes"][0]["inputs"][2] = "b9"; }, kBad,
     {"m.json: node 'fc': field 'inputs[2]': unknown tensor 'b9'"}},
    {"DanglingNodeOutput", [](json& m) { m["nodes"][0]["outputs"][0] = "y9"; }, kBad,
     {"node 'fc': field 'outputs[0]': unknown tensor 'y9'"}},
    {"InputWithoutSource", [](json& m) {
       m["tensors"].push_back({{"name", "h"}, {"dtype", "int8"}});
       m["nodes"][0]["inputs"][0] = "h";
     }, kBad, {"node 'fc': field 'inputs[0]'", "tensor 'h' is not a graph input, a constant"}},
    {"DanglingGraphOutput", [](json& m) { m["outputs"][0] = "z"; }, kBad,
     {"m.json: field 'outputs[0]': unknown tensor 'z'"}},
    {"DanglingGraphInput", [](json& m) { m["inputs"][0] = "z"; }, kBad,
     {"field 'inputs[0]': unknown tensor 'z'"}},
    {"GraphOutputNotProduced", [](json& m) {
       m["tensors"].push_back({{"name", "h"}, {"dtype", "int8"}});
       m["outputs"].push_back("h");
     }, kBad, {"field 'outputs[1]': tensor 'h' is not produced by any node"}},
    {"TensorProducedTwice", [](json& m) { m["nodes"].push_back(node("fc2", {"x"}, {"y"})); }, kBad,
     {"node 'fc2': field 'outputs[0]'", "already produced by node 'fc'"}},
    {"NodeOutputIsConstant", [](json& m) { m["nodes"][0]["outputs"][0] = "w"; }, kBad,
     {"node 'fc': field 'outputs[0]'", "'w' is a constant"}},
    {"NodeOutputIsGraphInput", [](json& m) { m["nodes"].push_back(node("r", {"y"}, {"x"})); }, kBad,
     {"node 'r': field 'outputs[0]'", "graph input"}},
    {"EmptyNodeOutput", [](json& m) { m["nodes"][0]["outputs"][0] = ""; }, kBad,
     {"node 'fc': field 'outputs[0]'", "cannot be omitted"}},
    {"GraphInputIsConstant", [](json& m) { m["inputs"][0] = "w"; }, kBad,
     {"field 'inputs[0]'", "'w' is a constant"}},
    {"GraphOutputIsConstant", [](json& m) { m["outputs"][0] = "b"; }, kBad,
     {"field 'outputs[0]'", "'b' is a constant"}},
    {"GraphInputWithoutShape", [](json& m) { tensor(m, "x").erase("shape"); }, kBad,
     {"field 'inputs[0]'", "'x' has no shape"}},
    {"GraphInputListedTwice", [](json& m) { m["inputs"].push_back("x"); }, kBad,
     {"field 'inputs[1]'", "listed twice"}},
    {"UnknownNodeField", [](json& m) { m["nodes"][0]["atrs"] = json::object(); }, kBad,
     {"m.json: node 'fc': field 'atrs': unknown field"}},
    {"AttrsNotAnObject", [](json& m) { m["nodes"][0]["attrs"] = json::array({1, 2}); }, kBad,
     {"node 'fc': field 'attrs': expected an object, got an array"}},
    {"NodeInputsNotAList", [](json& m) { m["nodes"][0]["inputs"] = "x"; }, kBad,
     {"node 'fc': field 'inputs': expected a list"}},
    {"NodeInputNotAString", [](json& m) { m["nodes"][0]["inputs"][1] = 1; }, kBad,
     {"node 'fc': field 'inputs[1]': expected a string"}},
    {"NodeWithoutName", [](json& m) { m["nodes"][0].erase("name"); }, kBad,
     {"field 'nodes[0].name': missing"}},
};

INSTANTIATE_TEST_SUITE_P(Cases, LoaderBadModel, ::testing::ValuesIn(kBadModels),
                         [](const ::testing::TestParamInfo<BadModel>& param) {
                           return std::string(param.param.name);
                         });

}  // namespace
}  // namespace dyad
