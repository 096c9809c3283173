// TensorDesc: what the model says about one tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/ir/dtype.h"

namespace dyad {

using Shape = std::vector<int64_t>;

// 1 for a scalar shape []. Only for shapes already within limits (below).
int64_t shape_elements(const Shape& shape);
std::string shape_to_string(const Shape& shape);

// Why a non-constant tensor of `shape` and `dtype` breaks a limit of
// engine/core/limits.h (rank, elements, arena bytes), or "" when it is within
// them. Dims must be positive.
std::string shape_limit_violation(const Shape& shape, DType dtype);

// Quantization parameters: real = (q - zero_point) * scale. Per tensor when
// `axis` is -1 (one scale, one zero point), else one per index along `axis`.
// Scales are metadata for tools, for load-time derivation of constants and for
// the float API boundary; kernels never see them.
struct Quantization {
  std::vector<double> scales;       // empty when the model gives no scale
  std::vector<int64_t> zero_points; // empty means 0
  int axis = -1;

  bool has_scale() const { return !scales.empty(); }
  double scale(int64_t channel) const { return scales.size() == 1 ? scales[0] : scales[channel]; }
  int64_t zero_point(int64_t channel = 0) const {
    if (zero_points.empty()) return 0;
    return zero_points.size() == 1 ? zero_points[0] : zero_points[channel];
  }
  bool per_channel() const { return axis >= 0; }
};

// A constant weight stored V:N:M sparse (docs/format.md "Sparse weights"):
// its data is the packed blob of kernels/vnm_gemm/vnm_format.h for the matrix
// [shape[0], product of the other dims], not the dense elements.
struct Sparsity {
  bool vnm = false;  // false: dense
  int32_t v = 0;     // rows per block
  int32_t m = 0;     // columns per group (N is always 2)
};

struct TensorDesc {
  std::string name;
  DType dtype = DType::kInt8;
  Shape shape;            // for activations may be empty until shape inference
  bool shape_known = false;
  Quantization quant;
  // Constant tensors: bytes in the packed file layout (int4: two per byte).
  bool is_constant = false;
  const uint8_t* data = nullptr;  // points into Model's weights storage
  size_t data_bytes = 0;
  Sparsity sparsity;  // constants only
};

}  // namespace dyad
