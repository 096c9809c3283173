#include "engine/ops/ibert_constants.h"

#include <cmath>

#include "engine/ops/quant_params.h"
#include "kernels/common/requant.h"

namespace dyad {

namespace {

__extension__ using uint128_t = unsigned __int128;

// numerics.md 4 (HF IntGELU).
constexpr double kGeluK = 1.4142;
constexpr double kGeluA = -0.2888;
constexpr double kGeluB = -1.769;
constexpr double kGeluN = 16384.0;  // 2^14

// numerics.md 5 (HF IntSoftmax / int_exp).
constexpr double kExpX0 = -0.6931;
constexpr double kExpA = 0.35815147;
constexpr double kExpBOverA = 0.96963238 / 0.35815147;
constexpr double kExpCOverA = 1.0 / 0.35815147;
constexpr double kTwo30 = 1073741824.0;

// floor(v) as int64, or false when it is not finite or outside int64.
bool floor_int64(double v, const char* name, int64_t* out, std::string* why) {
  const double f = std::floor(v);
  if (!std::isfinite(f) || f < -9223372036854775808.0 || f >= 9223372036854775808.0) {
    *why = std::string(name) + " = floor(" + std::to_string(v) + ") is not an int64";
    return false;
  }
  *out = static_cast<int64_t>(f);
  return true;
}

// floor(scalar / t) the way torch evaluates `python_scalar / tensor`:
// t.reciprocal() * scalar.
bool floor_rdiv(double scalar, double t, const char* name, int64_t* out, std::string* why) {
  const double reciprocal = 1.0 / t;
  return floor_int64(reciprocal * scalar, name, out, why);
}

int bit_length(uint128_t v) {
  int bits = 0;
  for (; v != 0; v >>= 1) ++bits;
  return bits;
}

}  // namespace

double python_floor_divide(double a, double b) {
  // CPython float_floor_div (_float_div_mod), which torch.floor_divide follows.
  if (b == 0.0) return a / b;
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) div -= 1.0;
  }
  double floordiv;
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, a / b);
  }
  return floordiv;
}

bool derive_gelu_constants(double scale, GeluConstants* out, std::string* why) {
  if (!std::isfinite(scale) || scale <= 0) {
    *why = "the input scale " + std::to_string(scale) + " is not finite and positive";
    return false;
  }
  const double sp = scale / kGeluK;  // tensor / scalar: a true division
  if (!floor_rdiv(kGeluB, sp, "b_int", &out->b_int, why)) return false;
  const double s2 = sp * sp;
  if (!floor_rdiv(1.0 / kGeluA, s2, "c_int", &out->c_int, why)) return false;
  const double erf_scale = (s2 * kGeluA) * kGeluN;  // negative
  return floor_int64(python_floor_divide(1.0, erf_scale), "shift_int", &out->shift_int, why);
}

bool derive_softmax_constants(double scale, double act16_scale, SoftmaxConstants* out,
                              std::string* why) {
  if (!std::isfinite(scale) || scale <= 0) {
    *why = "the input scale " + std::to_string(scale) + " is not finite and positive";
    return false;
  }
  const float act32 = static_cast<float>(act16_scale);
  if (!std::isfinite(act32) || act32 <= 0) {
    *why = "act16_scale " + std::to_string(act16_scale) + " is not a finite positive float32";
    return false;
  }
  if (!floor_rdiv(kExpX0, scale, "x0_int", &out->x0_int, why)) return false;
  if (!floor_rdiv(kExpBOverA, scale, "b_int", &out->b_int, why)) return false;
  const double ss = scale * scale;
  if (!floor_rdiv(kExpCOverA, ss, "c_int", &out->c_int, why)) return false;
  const double exp_scale = (ss * kExpA) / kTwo30;
  if (!std::isfinite(exp_scale) || exp_scale <= 0) {
    *why = "the exp scale S^2 * 0.35815147 / 2^30 underflows";
    return false;
  }
  // (m, e) of the internal QuantAct(16): m / 2^e ~ exp_scale / f32(act16).
  const kernels::Dyadic d = frexp_dyadic(exp_scale / static_cast<double>(act32));
  if (d.m <= 0) {
    *why = "the ratio exp_scale / act16_scale rounds to 0";
    return false;
  }
  // exp_scale = P * 2^k exactly, P a 53-bit integer. R * 2^30 = m * 2^(30 - e) / exp_scale
  // = m * 2^(30 - e - k) / P. Find s with 2^62 <= floor(m * 2^s / P) < 2^63; then
  // M = rne(m * 2^s / P) and E = s - (30 - e - k).
  int k2 = 0;
  const double frac = std::frexp(exp_scale, &k2);
  const uint64_t p = static_cast<uint64_t>(std::ldexp(frac, 53));  // exact
  const int64_t k = static_cast<int64_t>(k2) - 53;
  const uint128_t m = static_cast<uint128_t>(d.m);
  int s = 115 - bit_length(m);  // m * 2^s < 2^116: fits, and the quotient is near 2^62
  const uint128_t two62 = static_cast<uint128_t>(1) << 62;
  const uint128_t two63 = static_cast<uint128_t>(1) << 63;
  while ((m << s) / p >= two63) --s;
  while ((m << s) / p < two62) ++s;
  const uint128_t num = m << s;
  uint128_t q = num / p;
  const uint128_t rem = num % p;
  if (2 * rem > p || (2 * rem == p && (q & 1) != 0)) ++q;  // ties to even
  if (q == two63) {                                        // the same value as (2^62, E - 1)
    q = two62;
    --s;
  }
  out->act_multiplier = static_cast<int64_t>(q);
  out->act_shift = static_cast<int64_t>(s) - (30 - static_cast<int64_t>(d.e) - k);
  return true;
}

}  // namespace dyad
