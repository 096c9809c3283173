// Reshape (docs/format.md "reshape"): row-major order is unchanged, so the
// output is a copy of the input's bytes.
#pragma once

#include <cstddef>

namespace dyad::kernels {

void reshape__ref(size_t bytes, const void* src, void* dst);

}  // namespace dyad::kernels
