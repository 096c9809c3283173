// conv2d with groups > 1: a vector depthwise 3x3 or 5x5 kernel
// (kernels/conv2d/depthwise.h; AVX-512 VNNI first, then AVX2) when it
// applies, else the caller keeps the reference.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ops/op.h"
#include "kernels/conv2d/conv2d.h"

namespace dyad {

// Sets the step's kernel and *chosen = true when a vector depthwise kernel
// supports the layer (and its ISA is allowed); otherwise leaves the
// step alone. weights: OHWI; bias, requant: empty or one per channel.
Status select_depthwise(BuildContext& ctx, bool unsigned_input, const kernels::Conv2dParams& p,
                        const std::vector<int8_t>& weights, const std::vector<int32_t>& bias,
                        const std::vector<kernels::Dyadic>& requant, bool* chosen);

}  // namespace dyad
