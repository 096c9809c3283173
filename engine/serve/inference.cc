#include "engine/serve/inference.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <vector>

namespace dyad::serve {

namespace {

struct OutputValue {
  std::vector<uint8_t> container;  // integers
  std::vector<float> floats;       // dequantized
};

void append_shape(const std::vector<int64_t>& shape, std::string* out) {
  *out += "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) *out += ",";
    *out += std::to_string(shape[i]);
  }
  *out += "]";
}

// The "data" array: integers, or floats in their shortest round-trip form.
void append_values(const TensorSpec& spec, const OutputValue& v, bool dequantized,
                   std::string* out) {
  char buf[32];
  *out += "[";
  for (size_t i = 0; i < spec.num_elements; ++i) {
    if (i > 0) *out += ",";
    const std::to_chars_result r =
        dequantized ? std::to_chars(buf, buf + sizeof buf, v.floats[i])
                    : std::to_chars(buf, buf + sizeof buf,
                                    load_element(spec.dtype, v.container.data(), i));
    out->append(buf, r.ptr);
  }
  *out += "]";
}

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

InferReply failure(int status, std::string message) {
  InferReply r;
  r.status = status;
  r.body = std::move(message);
  return r;
}

}  // namespace

InferReply run_inference(ServedModel& model, const InferRequest& request) {
  const std::vector<TensorSpec>& outs = model.outputs();
  std::vector<OutputValue> values(request.outputs.size());
  {
    SessionPool::Lease lease;
    if (!model.pool().acquire(&lease))
      return failure(503, "model '" + model.name() + "' is busy: every session is in use and " +
                              "the queue is full; retry later");
    dyad_session* s = lease.get();
    for (const InputValue& in : request.inputs) {
      const dyad_status st =
          in.is_float ? dyad_session_set_input_f32(s, in.index, in.floats.data(), in.floats.size())
                      : dyad_session_set_input(s, in.index, in.container.data(), in.container.size());
      if (st != DYAD_OK)
        return failure(st == DYAD_INVALID_ARGUMENT ? 400 : 500,
                       "input '" + model.inputs()[in.index].name + "': " + dyad_last_error_message());
    }
    if (dyad_session_run(s) != DYAD_OK)
      return failure(500, std::string("the run failed: ") + dyad_last_error_message());
    for (size_t k = 0; k < request.outputs.size(); ++k) {
      const OutputRequest& o = request.outputs[k];
      const TensorSpec& spec = outs[o.index];
      dyad_status st;
      if (o.dequantize) {
        values[k].floats.resize(spec.num_elements);
        st = dyad_session_get_output_f32(s, o.index, values[k].floats.data(), spec.num_elements);
      } else {
        values[k].container.resize(spec.bytes);
        st = dyad_session_get_output(s, o.index, values[k].container.data(), spec.bytes);
      }
      if (st != DYAD_OK)
        return failure(500, "output '" + spec.name + "': " + dyad_last_error_message());
    }
  }  // the session goes back here

  InferReply reply;
  std::string& j = reply.body;
  std::string binary;
  j = "{\"model_name\":" + json_string(model.name()) + ",\"model_version\":\"1\"";
  if (request.id) j += ",\"id\":" + json_string(*request.id);
  j += ",\"outputs\":[";
  for (size_t k = 0; k < request.outputs.size(); ++k) {
    const OutputRequest& o = request.outputs[k];
    const TensorSpec& spec = outs[o.index];
    const std::string_view type = o.dequantize ? wire_name(WireType::kFp32) : wire_name(spec.wire);
    if (k > 0) j += ",";
    j += "{\"name\":" + json_string(spec.name) + ",\"datatype\":\"";
    j += type;
    j += "\",\"shape\":";
    append_shape(spec.shape, &j);
    if (o.binary) {
      const size_t before = binary.size();
      if (o.dequantize)
        binary.append(reinterpret_cast<const char*>(values[k].floats.data()),
                      values[k].floats.size() * sizeof(float));
      else
        binary.append(values[k].container.begin(), values[k].container.end());
      j += ",\"parameters\":{\"binary_data_size\":";
      j += std::to_string(binary.size() - before);
      j += "}}";
    } else {
      j += ",\"data\":";
      append_values(spec, values[k], o.dequantize, &j);
      j += "}";
    }
  }
  j += "]}";
  bool any_binary = false;
  for (const OutputRequest& o : request.outputs) any_binary = any_binary || o.binary;
  if (any_binary) {
    reply.binary = true;
    reply.header_length = j.size();
    j += binary;
  }
  return reply;
}

}  // namespace dyad::serve
