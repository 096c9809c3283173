// A test epilogue for the GEMMs' fused int32 epilogue
// (kernels/common/rows_epilogue.h): it writes the bitwise complement of each
// int32 value to an int32 dst, so a run through it equals the plain int32
// run complemented, and a path that bypassed the epilogue (storing the plain
// values) shows.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dyad::kernels {

inline void inverting_rows_epilogue(const void*, const int32_t* x, size_t x_stride, size_t m0, size_t rows,
                                    size_t n0, size_t count, void* y, size_t y_stride) {
  auto* out = static_cast<int32_t*>(y) + m0 * y_stride + n0;
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < count; ++c) out[r * y_stride + c] = ~x[r * x_stride + c];
}

}  // namespace dyad::kernels
