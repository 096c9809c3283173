// A fused epilogue on a GEMM's int32 output (kernels/gemm/gemm.h
// gemm_run_rows_epilogue, kernels/vnm_gemm/vnm_gemm.h
// vnm_gemm_run_rows_epilogue): the run hands it blocks of final int32 values
// (bias and zero-point terms added) as they are summed: rows x count values,
// row t at x + t * x_stride, of output rows m0 .. m0 + rows - 1 and channels
// n0 .. n0 + count - 1; it writes those outputs of y (the run's dst, row
// stride y_stride) in its own element type, and may be called from several
// threads at once on different blocks. The int32 tensor is never stored
// (engine/ops/fusion.cc: fully_connected + int_gelu + requantize).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dyad::kernels {

struct Int32RowsEpilogue {
  void (*fn)(const void* ctx, const int32_t* x, size_t x_stride, size_t m0, size_t rows, size_t n0, size_t count,
             void* y, size_t y_stride) = nullptr;
  const void* ctx = nullptr;
};

}  // namespace dyad::kernels
