// Parses and validates a POST /v2/models/NAME/infer body against the model:
// JSON inputs (flat or nested "data") or binary tensor data (Triton's
// Inference-Header-Content-Length extension), requested outputs and their
// parameters, and the request id. Everything is checked here, before a
// session is taken: every message names the input or output and the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/serve/served_model.h"

namespace dyad::serve {

struct InputValue {
  size_t index = 0;                // the model's input index
  bool is_float = false;           // FP32: `floats`, quantized by the C API; else `container`
  std::vector<uint8_t> container;  // the C API container, TensorSpec::bytes long
  std::vector<float> floats;
};

struct OutputRequest {
  size_t index = 0;  // the model's output index
  bool dequantize = false;
  bool binary = false;
};

struct InferRequest {
  std::optional<std::string> id;
  std::vector<InputValue> inputs;      // one per model input, in model order
  std::vector<OutputRequest> outputs;  // in the reply's order
};

// The deepest nesting of arrays and objects a request body may have (the
// body is scanned before it is parsed).
inline constexpr int kMaxJsonDepth = 32;

// `header_length` is the Inference-Header-Content-Length header's text, or
// nullopt without it. Returns false with *error set (HTTP 400).
bool parse_infer_request(const ServedModel& model, std::string_view body,
                         const std::optional<std::string>& header_length, InferRequest* out,
                         std::string* error);

}  // namespace dyad::serve
