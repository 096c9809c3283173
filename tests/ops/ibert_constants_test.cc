// Load-time derivation of the I-BERT constants (engine/ops/ibert_constants.h).
// Goldens: numerics.md 4 (GELU examples), Python's own `//`, and
// models/ibert_sim (softmax_constants_from_act_scale, float64), an independent
// implementation written from numerics.md with exact fractions.
#include "engine/ops/ibert_constants.h"

#include <gtest/gtest.h>

namespace dyad {
namespace {

TEST(IbertConstants, GeluMatchesNumericsExamples) {
  GeluConstants k;
  std::string why;
  ASSERT_TRUE(derive_gelu_constants(1e-3, &k, &why)) << why;
  EXPECT_EQ(k.b_int, -2502);
  EXPECT_EQ(k.c_int, -6925075);
  EXPECT_EQ(k.shift_int, -423);
  ASSERT_TRUE(derive_gelu_constants(1e-4, &k, &why)) << why;
  EXPECT_EQ(k.b_int, -25018);
  EXPECT_EQ(k.c_int, -692507494);
  EXPECT_EQ(k.shift_int, -42268);
  // S = 1e-5: c_int is beyond int32 (ibert_sim.gelu.gelu_constants).
  ASSERT_TRUE(derive_gelu_constants(1e-5, &k, &why)) << why;
  EXPECT_EQ(k.b_int, -250172);
  EXPECT_EQ(k.c_int, -69250749308);
  EXPECT_EQ(k.shift_int, -4226731);
}

TEST(IbertConstants, GeluRefusesScalesWithoutInt64Constants) {
  GeluConstants k;
  std::string why;
  EXPECT_FALSE(derive_gelu_constants(0.0, &k, &why));
  EXPECT_FALSE(derive_gelu_constants(-1e-3, &k, &why));
  EXPECT_FALSE(derive_gelu_constants(1e-12, &k, &why));  // c_int ~ -6.9e24
  EXPECT_NE(why.find("c_int"), std::string::npos) << why;
}

TEST(IbertConstants, PythonFloorDivide) {
  // Python: 1.0 // 0.1 == 9.0 although floor(1.0 / 0.1) == 10 (fmod-based).
  EXPECT_EQ(python_floor_divide(1.0, 0.1), 9.0);
  EXPECT_EQ(python_floor_divide(1.0, -0.3), -4.0);
  EXPECT_EQ(python_floor_divide(7.0, 2.0), 3.0);
  EXPECT_EQ(python_floor_divide(-7.0, 2.0), -4.0);
  EXPECT_EQ(python_floor_divide(6.0, -3.0), -2.0);
}

struct SoftmaxCase {
  double scale, act16;
  int64_t x0_int, b_int, c_int, m, e;
};

TEST(IbertConstants, SoftmaxMatchesIbertSim) {
  // act16 ~ c_int * 2^30 / 32767, the calibrated range of HF's internal QuantAct(16).
  const SoftmaxCase cases[] = {
      {0.05, 36570204.0, -14, 54, 1116, 8462764109925862988, 58},
      {1e-4, 9149480800027.0, -6932, 27073, 279211474, 8867130144684314147, 76},
      {0.0123, 604751895.5, -57, 220, 18455, 8188085703126734447, 62},
      {0.05, 36571.0, -14, 54, 1116, 8264238190828993786, 48},
  };
  for (const SoftmaxCase& c : cases) {
    SCOPED_TRACE("S = " + std::to_string(c.scale) + ", act16 = " + std::to_string(c.act16));
    SoftmaxConstants k;
    std::string why;
    ASSERT_TRUE(derive_softmax_constants(c.scale, c.act16, &k, &why)) << why;
    EXPECT_EQ(k.x0_int, c.x0_int);
    EXPECT_EQ(k.b_int, c.b_int);
    EXPECT_EQ(k.c_int, c.c_int);
    EXPECT_EQ(k.act_multiplier, c.m);
    EXPECT_EQ(k.act_shift, c.e);
  }
}

TEST(IbertConstants, SoftmaxRefusesBadScales) {
  SoftmaxConstants k;
  std::string why;
  EXPECT_FALSE(derive_softmax_constants(0.05, 0.0, &k, &why));
  EXPECT_NE(why.find("act16_scale"), std::string::npos) << why;
  EXPECT_FALSE(derive_softmax_constants(0.05, 1e300, &k, &why));  // not a float32
  EXPECT_FALSE(derive_softmax_constants(-0.05, 1.0, &k, &why));
}

}  // namespace
}  // namespace dyad
