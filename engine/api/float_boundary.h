// The optional float <-> integer conversion at the API boundary (DESIGN.md
// principle 1: the only float at run time besides load-time derivation).
// Shared by the C API (dyad_session_set_input_f32 / get_output_f32) and the
// `dyad` CLI (float .npy inputs, NAME.f32.npy outputs), so both quantize the
// same way:
//   quantize:   q = clamp(rne(x / scale[c]) + zero_point[c])  in the dtype range
//   dequantize: x = (q - zero_point[c]) * scale[c]
// rne is std::nearbyint in the default rounding mode (half to even); c is the
// channel along quant.axis, or 0 per tensor. The arithmetic is in double.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/core/status.h"
#include "engine/ir/dtype.h"
#include "engine/ir/tensor.h"

namespace dyad {

// Element i of an activation buffer in its container (docs/format.md: int4 in
// an int8 byte, uint4 in a uint8 byte).
int64_t load_container_element(DType dtype, const void* base, size_t i);
// Stores v (already inside the dtype's range) as element i.
void store_container_element(DType dtype, void* base, size_t i, int64_t v);

// Quantizes `count` values (the tensor's element count) into `container`
// (shape_elements * dtype_storage_bytes bytes). Fails without writing when the
// tensor has no scale, when count is wrong or when a value is NaN.
Status quantize_to_container(const TensorDesc& desc, const float* x, size_t count,
                             void* container);
Status quantize_to_container(const TensorDesc& desc, const double* x, size_t count,
                             void* container);

// Dequantizes a whole tensor. Fails when it has no scale or count is wrong.
Status dequantize_from_container(const TensorDesc& desc, const void* container, float* out,
                                 size_t count);

}  // namespace dyad
