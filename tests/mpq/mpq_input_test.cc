// Validation of "dyad-mpq-candidates/1" files and command-line selections:
// every error names the field and the layer (docs/mpq.md).
#include <gtest/gtest.h>

#include <string>

#include "engine/mpq/groups.h"
#include "engine/mpq/problem.h"
#include "engine/mpq/sha256.h"
#include "engine/mpq/solve.h"

namespace dyad::mpq {
namespace {

// Two layers, two candidates each; c0_extra is appended to conv1's first
// candidate, s0 is its sensitivity.
std::string doc(const std::string& c0_extra = "", const std::string& ties = "[]",
                const std::string& s0 = "0.5") {
  return R"({"schema": "dyad-mpq-candidates/1", "fixed": {"size": 10},
    "layers": [
      {"name": "conv1", "candidates": [
        {"id": "w4a4", "w_bits": 4, "a_bits": 4, "sensitivity": )" + s0 + R"(, "size": 4, "bops": 16)" +
         c0_extra + R"(},
        {"id": "w8a8", "w_bits": 8, "a_bits": 8, "sensitivity": 0.01, "size": 8, "bops": 64}]},
      {"name": "conv2", "candidates": [
        {"id": "w4a4", "w_bits": 4, "a_bits": 4, "sensitivity": 0.3, "size": 4, "bops": 16},
        {"id": "w8a8", "w_bits": 8, "a_bits": 8, "sensitivity": 0.02, "size": 8, "bops": 64}]}],
    "ties": )" + ties + "}";
}

std::string error_of(const std::string& text) {
  try {
    parse_candidates(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

void expect_error(const std::string& text, std::initializer_list<std::string> parts) {
  const std::string e = error_of(text);
  ASSERT_FALSE(e.empty()) << "accepted: " << text;
  for (const std::string& part : parts) EXPECT_NE(e.find(part), std::string::npos) << e;
}

TEST(MpqInput, ParsesValidFile) {
  const Problem p = parse_candidates(doc());
  ASSERT_EQ(p.layers.size(), 2u);
  EXPECT_EQ(p.fixed[kSize], 10u);
  EXPECT_TRUE(p.has_dim[kSize]);
  EXPECT_TRUE(p.has_dim[kBops]);
  EXPECT_FALSE(p.has_dim[kLatency]);
  EXPECT_EQ(p.layers[1].candidates[1].cost[kBops], 64u);
}

TEST(MpqInput, NonFiniteNumbersNameFieldAndLayer) {
  for (const char* bad : {"NaN", "Infinity", "-Infinity", "1e999"})
    expect_error(doc("", "[]", bad), {"conv1", "w4a4", "sensitivity", "finite"});
}

TEST(MpqInput, NegativeSensitivity) {
  expect_error(doc("", "[]", "-0.5"), {"conv1", "w4a4", "sensitivity", "negative"});
}

TEST(MpqInput, BadCosts) {
  // A latency on one candidate only: a cost must be on all candidates or none.
  expect_error(doc(", \"latency\": 5"), {"latency", "missing", "conv1", "w8a8"});
  expect_error(doc(", \"latency\": -5"), {"conv1", "w4a4", "latency", "negative"});
  expect_error(doc(", \"latency\": 2.5"), {"conv1", "w4a4", "latency", "integer"});
  expect_error(doc(", \"latency\": \"7\""), {"conv1", "w4a4", "latency"});
}

TEST(MpqInput, DuplicateIdsAndNames) {
  std::string text = doc();
  const size_t at = text.find("\"w8a8\"");
  text.replace(at, 6, "\"w4a4\"");
  expect_error(text, {"duplicate candidate id", "w4a4", "conv1"});
  text = doc();
  text.replace(text.find("\"conv2\""), 7, "\"conv1\"");
  expect_error(text, {"duplicate layer name", "conv1"});
}

TEST(MpqInput, TiesAndPinsNameUnknownLayers) {
  expect_error(doc("", R"([{"attr": "a_bits", "layers": ["conv1", "conv9"]}])"),
               {"ties[0]", "unknown layer", "conv9"});
  expect_error(doc("", R"([{"attr": "colour", "layers": ["conv1", "conv2"]}])"), {"ties[0]", "attr"});
  std::string text = doc();
  text.insert(text.rfind('}'), R"(, "pins": {"conv2": "w2a2"})");
  expect_error(text, {"pins", "conv2", "w2a2"});
}

TEST(MpqInput, SchemaAndStructure) {
  expect_error("[]", {"object"});
  expect_error("{", {"not valid JSON"});
  std::string text = doc();
  text.replace(text.find("candidates/1"), 12, "candidates/2");
  expect_error(text, {"schema", "candidates/2"});
  expect_error(R"({"schema": "dyad-mpq-candidates/1", "layers": []})", {"layers", "non-empty"});
  expect_error(R"({"schema": "dyad-mpq-candidates/1", "layers": [{"name": "a", "candidates": [
      {"id": "x", "w_bits": 0, "a_bits": 4, "sensitivity": 1}]}]})",
               {"layers[0] 'a'", "w_bits"});
}

TEST(MpqInput, OverflowingTotalsRefused) {
  const std::string big = "18446744073709551615";
  std::string t2 = doc();
  t2.replace(t2.find("\"size\": 4"), 9, "\"size\": " + big);
  expect_error(t2, {"size", "overflows"});
}

TEST(MpqInput, SelectionErrors) {
  const Problem p = parse_candidates(doc());
  Selection s;
  s.pins = {{"conv3", "w4a4"}};
  EXPECT_THROW(allowed_candidates(p, s), InputError);
  s.pins = {{"conv1", "w2a2"}};
  EXPECT_THROW(allowed_candidates(p, s), InputError);
  s.pins = {{"conv1", "w4a4"}};
  s.forbids = {{"conv1", "w4a4"}};
  EXPECT_THROW(allowed_candidates(p, s), InputError);
  s = {};
  s.pins = {{"conv1", "w4a4"}, {"conv1", "w8a8"}};
  EXPECT_THROW(allowed_candidates(p, s), InputError);
  // Ties that pins make impossible.
  const Problem tied = parse_candidates(doc("", R"([{"attr": "id", "layers": ["conv1", "conv2"]}])"));
  s = {};
  s.pins = {{"conv1", "w4a4"}, {"conv2", "w8a8"}};
  SolveOptions o;
  o.selection = s;
  o.constraints.max[kSize] = 100;
  try {
    solve(tied, o);
    ADD_FAILURE() << "accepted contradictory pins";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no common choice"), std::string::npos) << e.what();
  }
  // A limit in a dimension the file lacks; no limit at all.
  o = {};
  o.constraints.max[kLatency] = 5;
  EXPECT_THROW(solve(p, o), InputError);
  EXPECT_THROW(solve(p, SolveOptions{}), InputError);
}

TEST(MpqInput, TieMergedGroups) {
  const Problem p = parse_candidates(doc("", R"([{"attr": "a_bits", "layers": ["conv2", "conv1"]}])"));
  const auto groups = build_groups(p, allowed_candidates(p, {}), {true, false, false});
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].layers, (std::vector<int>{0, 1}));
  ASSERT_EQ(groups[0].options.size(), 2u);  // (w4a4, w4a4) and (w8a8, w8a8)
  EXPECT_EQ(groups[0].min_cost[kSize], 8u);
  EXPECT_EQ(groups[0].max_cost[kSize], 16u);
}

TEST(MpqSha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace dyad::mpq
