#include "kernels/concat/concat.h"

#include <cstdint>
#include <cstring>

namespace dyad::kernels {

void concat__ref(size_t outer, size_t num_inputs, const size_t* slice_bytes,
                 const void* const* src, void* dst) {
  uint8_t* out = static_cast<uint8_t*>(dst);
  for (size_t j = 0; j < outer; ++j) {
    for (size_t i = 0; i < num_inputs; ++i) {
      std::memcpy(out, static_cast<const uint8_t*>(src[i]) + j * slice_bytes[i], slice_bytes[i]);
      out += slice_bytes[i];
    }
  }
}

}  // namespace dyad::kernels
