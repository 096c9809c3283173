// The planned arena of the bundled model is smaller than the sum of its
// activation tensors: buffers whose lifetimes do not overlap share memory.
#include <gtest/gtest.h>

#include "engine/exec/model.h"

namespace dyad {
namespace {

TEST(ArenaReuse, BundledModelArenaIsSmallerThanItsTensors) {
  std::shared_ptr<const Model> model;
  const Status st =
      Model::load_file(std::string(DYAD_SOURCE_DIR) + "/models/examples/tiny_cnn.json", &model);
  ASSERT_TRUE(st.is_ok()) << st.message();
  const Plan& plan = model->plan();
  std::printf("tiny_cnn: arena %zu bytes, tensors without reuse %zu bytes (%.1f%% saved)\n",
              plan.arena_bytes, plan.unshared_bytes,
              100.0 * (1.0 - static_cast<double>(plan.arena_bytes) / plan.unshared_bytes));
  EXPECT_LT(plan.arena_bytes, plan.unshared_bytes);
  // Every activation got an offset inside the arena.
  const Graph& g = model->graph();
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    if (g.tensors[t].is_constant) continue;
    ASSERT_GE(plan.arena_offsets[t], 0) << g.tensors[t].name;
    const size_t bytes = shape_elements(g.tensors[t].shape) * dtype_storage_bytes(g.tensors[t].dtype);
    EXPECT_LE(plan.arena_offsets[t] + bytes, plan.arena_bytes) << g.tensors[t].name;
  }
}

}  // namespace
}  // namespace dyad
