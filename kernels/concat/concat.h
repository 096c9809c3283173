// Concatenation along one axis (docs/format.md "concat"). Inputs share dtype
// and quantization, so this is a byte copy: the output is `outer` blocks, and
// block j is input 0's j-th slice, then input 1's, and so on.
#pragma once

#include <cstddef>

namespace dyad::kernels {

// slice_bytes[i]: bytes input i contributes to each block (its dims from the
// axis on, times the element size). src[i]: input i, outer * slice_bytes[i] bytes.
void concat__ref(size_t outer, size_t num_inputs, const size_t* slice_bytes,
                 const void* const* src, void* dst);

}  // namespace dyad::kernels
