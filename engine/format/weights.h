// The model's "weights" field and the checks of the weights file against it:
// exact size (truncated and oversized reported apart) and FNV-1a 64 checksum.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/byte_storage.h"
#include "engine/core/status.h"
#include "engine/format/json_fields.h"

namespace dyad {

struct WeightsSpec {
  std::string file;  // relative to the model file's folder (engine/format/weights_path.h)
  uint64_t bytes = 0;
  uint64_t fnv1a64 = 0;
};

// Reads the "weights" member `value` of the top-level object read by `top`.
Status read_weights_spec(const JsonFields& top, const nlohmann::json& value, WeightsSpec* out);

// Checks the size of the weights (the file, shown as `shown_name` in messages)
// against `spec`: run before the file is read.
Status check_weights_size(const JsonFields& top, const WeightsSpec& spec, uint64_t size,
                          const std::string& shown_name);

// Checks the checksum of `contents` against `spec`.
Status check_weights_checksum(const JsonFields& top, const WeightsSpec& spec,
                              const ByteStorage& contents, const std::string& shown_name);

// 16 lowercase hex digits.
std::string hex64(uint64_t value);

}  // namespace dyad
