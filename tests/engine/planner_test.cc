// Planner-level validation: cycles, tensors nobody produces, declared shapes
// that disagree with the inferred ones, unknown attributes; and the order.
#include <gtest/gtest.h>

#include "engine/exec/model.h"

namespace dyad {
namespace {

// Two requantize nodes a -> b -> c on int8 [1, 4]; `nodes` replaces the node list.
std::string chain_model(const std::string& nodes, const std::string& extra_tensors = "") {
  return R"({"format": "dyad", "version": "1.0", "inputs": ["x"], "outputs": ["c"],
    "tensors": [
      {"name": "x", "dtype": "int8", "shape": [1, 4], "scale": 0.1},
      {"name": "b", "dtype": "int8", "scale": 0.1},
      {"name": "c", "dtype": "int8", "scale": 0.1})" +
         extra_tensors + R"(],
    "nodes": [)" + nodes + "]}";
}

Status load(const std::string& json, std::shared_ptr<const Model>* model) {
  return Model::load_memory(json, nullptr, 0, "m.json", model);
}

TEST(Planner, SortsNodesGivenOutOfOrder) {
  std::shared_ptr<const Model> model;
  const Status st = load(chain_model(R"(
      {"name": "second", "op": "requantize", "inputs": ["b"], "outputs": ["c"]},
      {"name": "first", "op": "requantize", "inputs": ["x"], "outputs": ["b"]})"), &model);
  ASSERT_TRUE(st.is_ok()) << st.message();
  ASSERT_EQ(model->plan().steps.size(), 2u);
  EXPECT_EQ(model->plan().steps[0].node_name, "first");
  EXPECT_EQ(model->plan().steps[1].node_name, "second");
  EXPECT_EQ(model->output(0).shape, (Shape{1, 4}));
}

TEST(Planner, RejectsCycle) {
  std::shared_ptr<const Model> model;
  const Status st = load(chain_model(R"(
      {"name": "first", "op": "add", "inputs": ["x", "c"], "outputs": ["b"]},
      {"name": "second", "op": "requantize", "inputs": ["b"], "outputs": ["c"]})"), &model);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel);
  EXPECT_NE(st.message().find("cycle"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("m.json: node '"), std::string::npos) << st.message();
  EXPECT_EQ(model, nullptr);
}

TEST(Planner, RejectsTensorThatNobodyProduces) {
  std::shared_ptr<const Model> model;
  const Status st = load(chain_model(R"(
      {"name": "first", "op": "requantize", "inputs": ["orphan"], "outputs": ["b"]},
      {"name": "second", "op": "requantize", "inputs": ["b"], "outputs": ["c"]})",
                                     R"(, {"name": "orphan", "dtype": "int8", "scale": 0.1})"),
                         &model);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel);
  EXPECT_NE(st.message().find("node 'first'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'orphan'"), std::string::npos) << st.message();
}

TEST(Planner, RejectsDeclaredShapeThatDisagrees) {
  std::shared_ptr<const Model> model;
  std::string json = chain_model(R"(
      {"name": "first", "op": "requantize", "inputs": ["x"], "outputs": ["b"]},
      {"name": "second", "op": "requantize", "inputs": ["b"], "outputs": ["c"]})");
  json.replace(json.find(R"({"name": "b", "dtype": "int8")"), 29,
               R"({"name": "b", "dtype": "int8", "shape": [1, 5])");
  const Status st = load(json, &model);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel);
  EXPECT_NE(st.message().find("node 'first'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("[1, 5]"), std::string::npos) << st.message();
}

TEST(Planner, RejectsUnknownAttribute) {
  std::shared_ptr<const Model> model;
  const Status st = load(chain_model(R"(
      {"name": "first", "op": "requantize", "inputs": ["x"], "outputs": ["b"], "attrs": {"strid": 2}},
      {"name": "second", "op": "requantize", "inputs": ["b"], "outputs": ["c"]})"), &model);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel);
  EXPECT_NE(st.message().find("node 'first'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("attrs.strid"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace dyad
