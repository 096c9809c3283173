#include "engine/serve/infer_request.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace dyad::serve {

namespace {

using nlohmann::json;

// A name between quotes, cut at 64 bytes (a name comes from the client).
std::string in_quotes(std::string_view s) {
  std::string q = "'";
  q += s.substr(0, 64);
  q += s.size() > 64 ? "...'" : "'";
  return q;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string names_of(const std::vector<TensorSpec>& specs) {
  std::string s;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i > 0) s += ", ";
    s += in_quotes(specs[i].name);
  }
  return s;
}

// A short text of a JSON value for a message (never the whole of a big one).
std::string value_text(const json& v) {
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return s;
}

// Nesting depth of `text` outside strings; stops counting past `limit`.
bool depth_within(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// Reads parameters.NAME as a bool (absent: false).
bool bool_parameter(const json& owner, const char* name, const std::string& where, bool* out,
                    std::string* error) {
  *out = false;
  const auto p = owner.find("parameters");
  if (p == owner.end()) return true;
  if (!p->is_object()) {
    *error = where + ": 'parameters' must be an object";
    return false;
  }
  const auto v = p->find(name);
  if (v == p->end()) return true;
  if (!v->is_boolean()) {
    *error = where + ": 'parameters." + name + "' must be true or false, got " + value_text(*v);
    return false;
  }
  *out = v->get<bool>();
  return true;
}

// Collects the leaves of `data` (nested arrays at most `max_depth` deep) in row-major order.
bool flatten(const json& data, size_t max_depth, std::vector<const json*>* leaves,
             const std::string& where, std::string* error) {
  for (const json& v : data) {
    if (v.is_array()) {
      if (max_depth <= 1) {
        *error = where + ": 'data' is nested deeper than the shape's rank";
        return false;
      }
      if (!flatten(v, max_depth - 1, leaves, where, error)) return false;
    } else {
      leaves->push_back(&v);
    }
  }
  return true;
}

// JSON "data" -> the input's container (integers) or floats (FP32).
bool convert_json_data(const TensorSpec& spec, WireType type, const json& data,
                       const std::string& where, InputValue* in, std::string* error) {
  if (!data.is_array()) {
    *error = where + ": 'data' must be an array, got " + value_text(data);
    return false;
  }
  std::vector<const json*> leaves;
  leaves.reserve(spec.num_elements);
  if (!flatten(data, std::max<size_t>(spec.shape.size(), 1), &leaves, where, error)) return false;
  if (leaves.size() != spec.num_elements) {
    *error = where + ": 'data' has " + std::to_string(leaves.size()) + " values; shape " +
             shape_text(spec.shape) + " takes " + std::to_string(spec.num_elements);
    return false;
  }
  if (type == WireType::kFp32) {
    in->floats.resize(leaves.size());
    for (size_t i = 0; i < leaves.size(); ++i) {
      const json& v = *leaves[i];
      if (!v.is_number()) {
        *error = where + ": 'data'[" + std::to_string(i) + "] is " + value_text(v) +
                 ", not a number";
        return false;
      }
      const double d = v.get<double>();
      if (!(std::fabs(d) <= FLT_MAX)) {
        *error = where + ": 'data'[" + std::to_string(i) + "] " + value_text(v) +
                 " is out of range for FP32";
        return false;
      }
      in->floats[i] = static_cast<float>(d);
    }
    return true;
  }
  const int64_t lo = dtype_lowest(spec.dtype), hi = dtype_highest(spec.dtype);
  in->container.resize(spec.bytes);
  for (size_t i = 0; i < leaves.size(); ++i) {
    const json& v = *leaves[i];
    const std::string at = where + ": 'data'[" + std::to_string(i) + "] ";
    if (v.is_number_float()) {
      *error = at + value_text(v) + " is not an integer (" + std::string(wire_name(type)) +
               " takes integers)";
      return false;
    }
    if (!v.is_number_integer()) {
      *error = at + "is " + value_text(v) + ", not a number";
      return false;
    }
    bool in_range;
    int64_t x = 0;
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      in_range = u <= static_cast<uint64_t>(hi);
      x = in_range ? static_cast<int64_t>(u) : 0;
    } else {
      x = v.get<int64_t>();
      in_range = x >= lo && x <= hi;
    }
    if (!in_range) {
      *error = at + value_text(v) + " is out of range for " + std::string(wire_name(type)) +
               " input [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
      return false;
    }
    store_element(spec.dtype, in->container.data(), i, x);
  }
  return true;
}

// Binary tensor data -> the input's container or floats.
bool convert_binary_data(const TensorSpec& spec, WireType type, std::string_view bytes,
                         const std::string& where, InputValue* in, std::string* error) {
  if (type == WireType::kFp32) {
    in->floats.resize(spec.num_elements);
    std::memcpy(in->floats.data(), bytes.data(), bytes.size());
    for (size_t i = 0; i < in->floats.size(); ++i)
      if (std::isnan(in->floats[i])) {
        *error = where + ": binary data element " + std::to_string(i) + " is NaN";
        return false;
      }
    return true;
  }
  in->container.assign(bytes.begin(), bytes.end());
  const int64_t lo = dtype_lowest(spec.dtype), hi = dtype_highest(spec.dtype);
  if (spec.dtype == DYAD_INT4 || spec.dtype == DYAD_UINT4)
    for (size_t i = 0; i < spec.num_elements; ++i) {
      const int64_t x = load_element(spec.dtype, in->container.data(), i);
      if (x < lo || x > hi) {
        *error = where + ": binary data element " + std::to_string(i) + " (" +
                 std::to_string(x) + ") is out of range [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]";
        return false;
      }
    }
  return true;
}

bool parse_shape(const json& input, const TensorSpec& spec, const std::string& where,
                 std::string* error) {
  const auto s = input.find("shape");
  if (s == input.end()) {
    *error = where + ": missing field 'shape'";
    return false;
  }
  std::vector<int64_t> shape;
  bool ok = s->is_array() && s->size() <= DYAD_MAX_RANK;
  if (ok)
    for (const json& d : *s) {
      if (!d.is_number_integer() || (!d.is_number_unsigned() && d.get<int64_t>() < 0)) {
        ok = false;
        break;
      }
      shape.push_back(d.is_number_unsigned() && d.get<uint64_t>() > INT64_MAX
                          ? -1
                          : d.get<int64_t>());
    }
  if (!ok) {
    *error = where + ": 'shape' must be an array of at most " + std::to_string(DYAD_MAX_RANK) +
             " non-negative integers";
    return false;
  }
  if (shape != spec.shape) {
    *error = where + ": 'shape' " + shape_text(shape) + " does not match the model's " +
             shape_text(spec.shape);
    return false;
  }
  return true;
}

bool parse_datatype(const json& input, const TensorSpec& spec, const std::string& where,
                    WireType* type, std::string* error) {
  const auto d = input.find("datatype");
  if (d == input.end()) {
    *error = where + ": missing field 'datatype'";
    return false;
  }
  const std::string expected = std::string(wire_name(spec.wire)) +
                               (spec.has_scale ? " (or FP32, quantized by the server)" : "");
  if (!d->is_string() || !parse_wire_type(d->get<std::string>(), type) ||
      (*type != spec.wire && !(*type == WireType::kFp32 && spec.has_scale))) {
    *error = where + ": 'datatype' " + value_text(*d) + " does not match the model's " + expected;
    return false;
  }
  return true;
}

bool parse_inputs(const ServedModel& model, const json& request, std::string_view binary,
                  bool has_binary_section, InferRequest* out, std::string* error) {
  const auto inputs = request.find("inputs");
  if (inputs == request.end() || !inputs->is_array()) {
    *error = inputs == request.end() ? "missing field 'inputs'" : "'inputs' must be an array";
    return false;
  }
  const std::vector<TensorSpec>& specs = model.inputs();
  std::vector<InputValue> values(specs.size());
  std::vector<bool> seen(specs.size(), false);
  size_t offset = 0;  // into the binary section
  for (size_t k = 0; k < inputs->size(); ++k) {
    const json& input = (*inputs)[k];
    const std::string slot = "inputs[" + std::to_string(k) + "]";
    if (!input.is_object()) {
      *error = slot + " must be an object";
      return false;
    }
    const auto name = input.find("name");
    if (name == input.end() || !name->is_string()) {
      *error = slot + ": missing string field 'name'";
      return false;
    }
    const std::string n = name->get<std::string>();
    size_t index = specs.size();
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].name == n) index = i;
    const std::string where = "input " + in_quotes(n);
    if (index == specs.size()) {
      *error = where + ": the model has no such input (its inputs: " + names_of(specs) + ")";
      return false;
    }
    if (seen[index]) {
      *error = where + ": given twice";
      return false;
    }
    seen[index] = true;
    const TensorSpec& spec = specs[index];
    WireType type;
    if (!parse_shape(input, spec, where, error) || !parse_datatype(input, spec, where, &type, error))
      return false;
    InputValue& value = values[index];
    value.index = index;
    value.is_float = type == WireType::kFp32;

    // Binary data: parameters.binary_data_size bytes from the binary section.
    std::optional<uint64_t> binary_size;
    if (const auto p = input.find("parameters"); p != input.end()) {
      if (!p->is_object()) {
        *error = where + ": 'parameters' must be an object";
        return false;
      }
      if (const auto b = p->find("binary_data_size"); b != p->end()) {
        if (!b->is_number_unsigned()) {
          *error = where + ": 'parameters.binary_data_size' must be a non-negative integer";
          return false;
        }
        binary_size = b->get<uint64_t>();
      }
    }
    const auto data = input.find("data");
    if (binary_size) {
      if (data != input.end()) {
        *error = where + ": give either 'data' or 'parameters.binary_data_size', not both";
        return false;
      }
      if (!has_binary_section) {
        *error = where + ": 'parameters.binary_data_size' needs the Inference-Header-Content-Length header";
        return false;
      }
      const uint64_t want = static_cast<uint64_t>(spec.num_elements) * wire_bytes(type);
      if (*binary_size != want) {
        *error = where + ": 'parameters.binary_data_size' " + std::to_string(*binary_size) +
                 " does not match shape " + shape_text(spec.shape) + " of " +
                 std::string(wire_name(type)) + " (" + std::to_string(want) + " bytes)";
        return false;
      }
      if (want > binary.size() - offset) {
        *error = where + ": the binary data ends " + std::to_string(want - (binary.size() - offset)) +
                 " bytes short of this input's " + std::to_string(want);
        return false;
      }
      if (!convert_binary_data(spec, type, binary.substr(offset, want), where, &value, error))
        return false;
      offset += want;
      continue;
    }
    if (data == input.end()) {
      *error = where + ": missing field 'data' (or 'parameters.binary_data_size')";
      return false;
    }
    if (!convert_json_data(spec, type, *data, where, &value, error)) return false;
  }
  for (size_t i = 0; i < specs.size(); ++i)
    if (!seen[i]) {
      *error = "missing input " + in_quotes(specs[i].name) + " (the model's inputs: " +
               names_of(specs) + ")";
      return false;
    }
  if (offset != binary.size()) {
    *error = "the binary data has " + std::to_string(binary.size() - offset) +
             " bytes that no input takes";
    return false;
  }
  out->inputs = std::move(values);
  return true;
}

bool parse_outputs(const ServedModel& model, const json& request, InferRequest* out,
                   std::string* error) {
  bool binary_default = false;
  if (!bool_parameter(request, "binary_data_output", "the request", &binary_default, error))
    return false;
  const std::vector<TensorSpec>& specs = model.outputs();
  const auto outputs = request.find("outputs");
  if (outputs == request.end()) {
    for (size_t i = 0; i < specs.size(); ++i) out->outputs.push_back({i, false, binary_default});
    return true;
  }
  if (!outputs->is_array()) {
    *error = "'outputs' must be an array";
    return false;
  }
  std::vector<bool> seen(specs.size(), false);
  for (size_t k = 0; k < outputs->size(); ++k) {
    const json& o = (*outputs)[k];
    const std::string slot = "outputs[" + std::to_string(k) + "]";
    if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
      *error = slot + " must be an object with a string field 'name'";
      return false;
    }
    const std::string n = o["name"].get<std::string>();
    const std::string where = "output " + in_quotes(n);
    size_t index = specs.size();
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].name == n) index = i;
    if (index == specs.size()) {
      *error = where + ": the model has no such output (its outputs: " + names_of(specs) + ")";
      return false;
    }
    if (seen[index]) {
      *error = where + ": requested twice";
      return false;
    }
    seen[index] = true;
    OutputRequest r{index, false, binary_default};
    bool binary = false;
    if (!bool_parameter(o, "dequantize", where, &r.dequantize, error) ||
        !bool_parameter(o, "binary_data", where, &binary, error))
      return false;
    if (o.contains("parameters") && o["parameters"].contains("binary_data")) r.binary = binary;
    if (r.dequantize && !specs[index].has_scale) {
      *error = where + ": 'parameters.dequantize': the output has no scale";
      return false;
    }
    out->outputs.push_back(r);
  }
  return true;
}

}  // namespace

bool parse_infer_request(const ServedModel& model, std::string_view body,
                         const std::optional<std::string>& header_length, InferRequest* out,
                         std::string* error) {
  std::string_view text = body, binary;
  if (header_length) {
    const std::string& h = *header_length;
    size_t n = 0;
    bool ok = !h.empty() && h.size() <= 19;
    for (const char c : h) {
      if (c < '0' || c > '9') ok = false;
      else n = n * 10 + static_cast<size_t>(c - '0');
    }
    if (!ok || n > body.size()) {
      *error = "header Inference-Header-Content-Length: '" + h.substr(0, 40) +
               "' is not a byte count within the body's " + std::to_string(body.size()) + " bytes";
      return false;
    }
    text = body.substr(0, n);
    binary = body.substr(n);
  }
  if (!depth_within(text, kMaxJsonDepth)) {
    *error = "malformed JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }
  json request;
  try {
    request = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    *error = std::string("malformed JSON: ") + e.what();
    return false;
  }
  if (!request.is_object()) {
    *error = "the request must be a JSON object";
    return false;
  }
  if (const auto id = request.find("id"); id != request.end()) {
    if (!id->is_string()) {
      *error = "'id' must be a string";
      return false;
    }
    out->id = id->get<std::string>();
  }
  return parse_inputs(model, request, binary, header_length.has_value(), out, error) &&
         parse_outputs(model, request, out, error);
}

}  // namespace dyad::serve
