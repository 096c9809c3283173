// Load-time derivation of the I-BERT constants of int_gelu and int_softmax
// from float scales (numerics.md 4 and 5.3), for models that give scales
// instead of the integer constants. The operations are the IEEE sequences of
// HF's float64 code, in HF's order: reciprocal-then-multiply for
// `python_scalar / tensor`, Python float floor division for GELU's
// shift_int, and the fused 16-bit softmax step (M, E) computed exactly with
// integer division. A float32 checkpoint's constants differ for a few percent
// of scales, so its exporter stores them instead (docs/format.md).
//
// Load-time code: double is allowed (DESIGN.md principle 1); compiled with
// -ffp-contract=off so no multiply-add is fused.
#pragma once

#include <cstdint>
#include <string>

namespace dyad {

struct GeluConstants {
  int64_t b_int = 0, c_int = 0, shift_int = 0;
};

// numerics.md 4 for input scale S (> 0, finite). Returns false, with a reason
// in *why, when a constant is not a finite integer inside int64.
bool derive_gelu_constants(double scale, GeluConstants* out, std::string* why);

struct SoftmaxConstants {
  int64_t x0_int = 0, b_int = 0, c_int = 0;
  int64_t act_multiplier = 0;  // M: 2^62 <= M < 2^63
  int64_t act_shift = 0;       // E
};

// numerics.md 5.1-5.3 for input scale S and the internal QuantAct(16) scale
// (both > 0, finite): M / 2^E = rne(R * 2^30) to 63 bits, with
// R = (m / 2^e) / exp_scale and (m, e) = frexp_dyadic(exp_scale / f32(act16)).
bool derive_softmax_constants(double scale, double act16_scale, SoftmaxConstants* out,
                              std::string* why);

// Python's float `a // b` (CPython float_floor_div, torch floor_divide).
double python_floor_divide(double a, double b);

}  // namespace dyad
