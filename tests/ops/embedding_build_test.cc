// embedding through the loader, planner and session: gathers with int32,
// int64 and constant ids, quantization pass-through, the run-time error for
// an id outside [0, vocab), and one build error per invalid field.
#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

// table [4, 3] = rows (0 1 2) (3 4 5) (6 7 8) (-9 -10 -11), scale 0.1, zero point 2.
json model(const std::string& ids_dtype = "int32", const Shape& ids_shape = {1, 3}) {
  const json tensors = {{{"name", "ids"}, {"dtype", ids_dtype}, {"shape", ids_shape}},
                        {{"name", "table"},
                         {"dtype", "int8"},
                         {"shape", {4, 3}},
                         {"scale", 0.1},
                         {"zero_point", 2},
                         {"values", {0, 1, 2, 3, 4, 5, 6, 7, 8, -9, -10, -11}}},
                        {{"name", "y"}, {"dtype", "int8"}, {"scale", 0.1}, {"zero_point", 2}}};
  return one_node_model("embedding", tensors, {"ids", "table"}, {"y"}, json(), {"ids"});
}

TEST(EmbeddingBuild, Gathers) {
  const std::vector<int8_t> want = {-9, -10, -11, 0, 1, 2, 6, 7, 8};
  EXPECT_EQ(run_model<int8_t>(model(), {bytes_of(std::vector<int32_t>{3, 0, 2})}), want);
  EXPECT_EQ(run_model<int8_t>(model("int64"), {bytes_of(std::vector<int64_t>{3, 0, 2})}), want);
  EXPECT_EQ(kernel_of(model()), "embedding_gather_s32__ref");
  // A scalar id gives one row [3].
  EXPECT_EQ(run_model<int8_t>(model("int32", {}), {bytes_of(std::vector<int32_t>{1})}),
            (std::vector<int8_t>{3, 4, 5}));
}

TEST(EmbeddingBuild, ConstantIdsAndWideTables) {
  // Position ids as a constant; an int16 table.
  const json tensors = {
      {{"name", "pos"}, {"dtype", "int32"}, {"shape", {2}}, {"values", {1, 0}}},
      {{"name", "table"}, {"dtype", "int16"}, {"shape", {2, 2}}, {"values", {-32768, 1, 2, 32767}}},
      {{"name", "x"}, {"dtype", "int8"}, {"shape", {1}}},
      {{"name", "y"}, {"dtype", "int16"}}};
  json m = one_node_model("embedding", tensors, {"pos", "table"}, {"y"}, json(), {"x"});
  EXPECT_EQ(run_model<int16_t>(m, {{0}}), (std::vector<int16_t>{2, 32767, -32768, 1}));
  // A constant id out of range is a build error.
  m["tensors"][0]["values"] = {1, 2};
  expect_build_error(m, "inputs[0]", {"id 2 at position 1", "[0, 2)"});
}

Status run_with_ids(const std::shared_ptr<const Model>& m, const std::vector<int32_t>& ids,
                    std::vector<int8_t>* out) {
  std::unique_ptr<Session> session;
  DYAD_RETURN_IF_ERROR(Session::create(m, 1, &session));
  DYAD_RETURN_IF_ERROR(session->set_input(0, ids.data(), ids.size() * 4));
  DYAD_RETURN_IF_ERROR(session->run());
  out->assign(static_cast<const int8_t*>(session->output_data(0)),
              static_cast<const int8_t*>(session->output_data(0)) + session->output_bytes(0));
  return Status::ok();
}

TEST(EmbeddingBuild, IdOutOfRangeIsARunTimeError) {
  std::shared_ptr<const Model> m;
  ASSERT_TRUE(load(model(), &m).is_ok());
  std::vector<int8_t> out;
  for (const auto& [ids, id, position] :
       {std::tuple{std::vector<int32_t>{0, 4, -1}, "id 4", "position 1"},
        std::tuple{std::vector<int32_t>{-1, 0, 0}, "id -1", "position 0"},
        std::tuple{std::vector<int32_t>{0, 1, INT32_MAX}, "id 2147483647", "position 2"}}) {
    const Status s = run_with_ids(m, ids, &out);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    for (const char* part : {"node 'n'", "input 'ids'", id, position, "[0, 4)"})
      EXPECT_NE(s.message().find(part), std::string::npos) << s.message();
  }
  // The same model and a new session with valid ids run normally.
  ASSERT_TRUE(run_with_ids(m, {1, 1, 3}, &out).is_ok());
  EXPECT_EQ(out, (std::vector<int8_t>{3, 4, 5, 3, 4, 5, -9, -10, -11}));
}

TEST(EmbeddingBuild, Errors) {
  json not_const = model();
  not_const["tensors"][1].erase("values");
  not_const["inputs"] = {"ids", "table"};
  expect_build_error(not_const, "inputs[1]", {"must be a constant"});
  expect_build_error(model("int8"), "inputs[0]", {"int32, int64"});
  json rank3 = model();
  rank3["tensors"][1]["shape"] = {2, 2, 3};
  expect_build_error(rank3, "inputs[1]", {"expected rank 2"});
  json out_dtype = model();
  out_dtype["tensors"][2]["dtype"] = "int16";
  expect_build_error(out_dtype, "outputs[0]", {"dtype int16"});
  json out_scale = model();
  out_scale["tensors"][2]["scale"] = 0.2;
  expect_build_error(out_scale, "outputs[0]", {"different scale"});
  json per_channel = model();
  per_channel["tensors"][1]["scale"] = {0.1, 0.2, 0.3};
  per_channel["tensors"][1]["axis"] = 1;
  expect_build_error(per_channel, "inputs[1]", {"per tensor"});
  json extra = model();
  extra["nodes"][0]["attrs"] = {{"padding_idx", 0}};
  expect_build_error(extra, "attrs.padding_idx", {"unknown attribute"});
}

}  // namespace
}  // namespace dyad::test
