// Parsing a model's JSON text: nesting depth bounded before any value is
// built, duplicate keys refused, errors that name the file and the byte.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/core/status.h"

namespace dyad {

// The deepest nesting of arrays and objects a model may have (the top-level
// object is level 1). The models in models/ nest at most 6 deep; the bound
// keeps everything that walks a parsed value recursively (nlohmann's copies,
// comparisons, dump) far from the stack's limit.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text` (named `source` in messages) into *out. kParseError for text
// that is not JSON or nests deeper than kMaxJsonDepth; kInvalidModel for an
// object that repeats a key.
Status parse_model_json(std::string_view text, const std::string& source, nlohmann::json* out);

}  // namespace dyad
