// The shipped I-BERT toy encoder (models/examples/ibert_toy.json, made by
// models/ibert_gen). Its samples (every layer's output, layer 0's softmax and
// GELU) are checked bit for bit by models_test.cc; this checks what samples
// cannot: the graph uses every transformer op, a bad token id stops the run
// with an error naming the node, and the session recovers.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/exec/model.h"
#include "engine/exec/session.h"

namespace dyad {
namespace {

std::string toy_path() { return std::string(DYAD_SOURCE_DIR) + "/models/examples/ibert_toy.json"; }

TEST(IbertToy, UsesEveryTransformerOp) {
  std::shared_ptr<const Model> model;
  const Status s = Model::load_file(toy_path(), &model);
  ASSERT_TRUE(s.is_ok()) << s.message();
  std::set<std::string> ops;
  for (const Step& step : model->plan().steps) ops.insert(std::string(op_type_name(step.op)));
  for (const char* op : {"embedding", "add", "int_layernorm", "requantize", "fully_connected",
                         "reshape", "transpose", "matmul", "int_softmax", "int_gelu"})
    EXPECT_EQ(ops.count(op), 1u) << op;
}

TEST(IbertToy, TokenIdOutOfRangeIsARunTimeError) {
  std::shared_ptr<const Model> model;
  ASSERT_TRUE(Model::load_file(toy_path(), &model).is_ok());
  std::unique_ptr<Session> session;
  ASSERT_TRUE(Session::create(model, 2, &session).is_ok());
  ASSERT_EQ(model->graph().tensors[model->graph().inputs[0]].name, "input_ids");
  const int64_t vocab = model->graph().metadata["config"]["vocab"].get<int64_t>();
  const size_t length = session->input_bytes(0) / 4;
  std::vector<int32_t> ids(length, 1);
  std::vector<int32_t> mask(length, 1);
  ids[5] = static_cast<int32_t>(vocab);
  ASSERT_TRUE(session->set_input(0, ids.data(), ids.size() * 4).is_ok());
  ASSERT_TRUE(session->set_input(1, mask.data(), mask.size() * 4).is_ok());
  const Status s = session->run();
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  for (const std::string& part : {std::string("node 'emb.word'"), std::string("input 'input_ids'"),
                                 "id " + std::to_string(vocab), std::string("position 5")})
    EXPECT_NE(s.message().find(part), std::string::npos) << s.message();
  ids[5] = static_cast<int32_t>(vocab - 1);
  ASSERT_TRUE(session->set_input(0, ids.data(), ids.size() * 4).is_ok());
  EXPECT_TRUE(session->run().is_ok());
}

}  // namespace
}  // namespace dyad
