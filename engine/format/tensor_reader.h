// One entry of a model's "tensors" list, read and checked (docs/format.md,
// "Tensors"). What needs the weights file (bounds of "data") is checked by the
// loader once the file is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/core/aligned_buffer.h"
#include "engine/core/status.h"
#include "engine/format/json_fields.h"
#include "engine/ir/tensor.h"

namespace dyad {

struct TensorEntry {
  TensorDesc desc;
  // A constant stored in the weights file ("data"): desc.data_bytes is its size,
  // desc.data is set by the loader once the file is read.
  bool in_weights_file = false;
  uint64_t file_offset = 0;
  // A constant written inline ("values"), packed in the weights file layout
  // (int4/uint4 two per byte, low nibble first); desc.data points into it.
  std::shared_ptr<AlignedBuffer> packed_values;
};

// Reads item `index` of "tensors". `top` reads the top-level object (its `where`
// is the source name). `has_weights` says whether the model names a weights file.
Status read_tensor_entry(const nlohmann::json& item, size_t index, const JsonFields& top,
                         bool has_weights, TensorEntry* out);

// Packs `count` integers, each inside `dtype`'s range, into `dst` in the weights
// file layout; `dst` holds dtype_packed_bytes(dtype, count) zeroed bytes.
void pack_constant(DType dtype, const int64_t* values, size_t count, uint8_t* dst);

}  // namespace dyad
