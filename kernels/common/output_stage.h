// The output stage shared by the accumulating kernels (conv2d,
// fully_connected): requantize one accumulator of channel c and store it, or
// store the raw accumulator when there are no requant constants.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/int_elements.h"
#include "kernels/common/requant.h"

namespace dyad::kernels {

struct OutputStage {
  const Dyadic* requant = nullptr;  // one per channel; null: store acc as int32
  int32_t zero_point = 0;
  int64_t min = 0, max = 0;  // the activation clamp, inside the dst dtype's range
  IntType type = IntType::kS32;
};

// y = clamp(z + rne(acc * m[c] / 2^e[c]), min, max), or y = acc.
inline void store_output(const OutputStage& s, int64_t acc, int64_t channel, void* dst,
                         size_t index) {
  int64_t y = acc;
  if (s.requant != nullptr) {
    const Dyadic d = s.requant[channel];
    y = clamp_int64(add_saturate(s.zero_point, dyadic_rne(acc, d.m, d.e)), s.min, s.max);
  }
  store_ints(&y, 1, s.type, dst, index);
}

}  // namespace dyad::kernels
