#include "engine/format/tensor_reader.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "engine/format/sparsity.h"

namespace dyad {

namespace {

using nlohmann::json;

// No tensor may have more elements than this, so that byte counts at any
// element width (up to 8 bytes) fit in int64.
constexpr int64_t kMaxElements = std::numeric_limits<int64_t>::max() / 8;

std::string indexed(std::string_view key, size_t i) {
  return std::string(key) + "[" + std::to_string(i) + "]";
}

std::string range_text(DType t) {
  return std::string(dtype_name(t)) + "'s range [" + std::to_string(dtype_min(t)) + ", " +
         std::to_string(dtype_max(t)) + "]";
}

Status read_in_range(const JsonFields& f, const json& v, std::string_view key, DType t,
                     int64_t* out) {
  DYAD_RETURN_IF_ERROR(f.as_int(v, key, out));
  if (*out < dtype_min(t) || *out > dtype_max(t))
    return f.error(key, std::to_string(*out) + " is outside " + range_text(t));
  return Status::ok();
}

Status read_dtype(const JsonFields& f, DType* out) {
  std::string name;
  DYAD_RETURN_IF_ERROR(f.get_string("dtype", &name));
  std::optional<DType> t = dtype_from_name(name);
  if (!t) {
    std::string known;
    for (DType k : kAllDTypes) known += (known.empty() ? "" : ", ") + std::string(dtype_name(k));
    return f.error("dtype", "unknown dtype \"" + name + "\"; expected one of: " + known);
  }
  *out = *t;
  return Status::ok();
}

Status read_shape(const JsonFields& f, const json& v, Shape* out) {
  DYAD_RETURN_IF_ERROR(f.as_array(v, "shape"));
  Shape shape;
  int64_t elements = 1;
  for (size_t i = 0; i < v.size(); ++i) {
    int64_t d = 0;
    DYAD_RETURN_IF_ERROR(f.as_int(v[i], indexed("shape", i), &d));
    if (d <= 0) return f.error(indexed("shape", i), "expected a positive size, got " + std::to_string(d));
    if (__builtin_mul_overflow(elements, d, &elements) || elements > kMaxElements)
      return f.error("shape", "too many elements");
    shape.push_back(d);
  }
  *out = std::move(shape);
  return Status::ok();
}

// "scale": a number or a non-empty list of numbers, each finite and nonzero.
Status read_scales(const JsonFields& f, const json& v, std::vector<double>* out, bool* is_list) {
  *is_list = v.is_array();
  if (*is_list && v.empty()) return f.error("scale", "must not be an empty list");
  const size_t n = *is_list ? v.size() : 1;
  for (size_t i = 0; i < n; ++i) {
    const std::string key = *is_list ? indexed("scale", i) : "scale";
    const json& item = *is_list ? v[i] : v;
    double s = 0;
    DYAD_RETURN_IF_ERROR(f.as_number(item, key, &s));
    if (!std::isfinite(s)) return f.error(key, "must be finite");
    if (s == 0) return f.error(key, "must be nonzero, got " + item.dump());
    out->push_back(s);
  }
  return Status::ok();
}

// "zero_point": an int or a non-empty list of ints, inside the dtype's range.
Status read_zero_points(const JsonFields& f, const json& v, DType t, std::vector<int64_t>* out,
                        bool* is_list) {
  *is_list = v.is_array();
  if (*is_list && v.empty()) return f.error("zero_point", "must not be an empty list");
  const size_t n = *is_list ? v.size() : 1;
  for (size_t i = 0; i < n; ++i) {
    int64_t z = 0;
    DYAD_RETURN_IF_ERROR(
        read_in_range(f, *is_list ? v[i] : v, *is_list ? indexed("zero_point", i) : "zero_point", t, &z));
    out->push_back(z);
  }
  return Status::ok();
}

// The axis rules: "axis" is required when a list has more than one entry, is
// only meaningful with a list, must be a dimension of the shape, and every list
// then has shape[axis] entries.
Status read_quantization(const JsonFields& f, const TensorDesc& desc, Quantization* out) {
  Quantization q;
  bool scale_list = false;
  bool zp_list = false;
  if (const json* v = f.find("scale")) DYAD_RETURN_IF_ERROR(read_scales(f, *v, &q.scales, &scale_list));
  if (const json* v = f.find("zero_point"))
    DYAD_RETURN_IF_ERROR(read_zero_points(f, *v, desc.dtype, &q.zero_points, &zp_list));

  const json* axis_json = f.find("axis");
  if (axis_json == nullptr) {
    if (q.scales.size() > 1)
      return f.error("axis", "missing; required because 'scale' has " +
                                 std::to_string(q.scales.size()) + " entries");
    if (q.zero_points.size() > 1)
      return f.error("axis", "missing; required because 'zero_point' has " +
                                 std::to_string(q.zero_points.size()) + " entries");
    *out = std::move(q);
    return Status::ok();
  }

  int64_t axis = 0;
  DYAD_RETURN_IF_ERROR(f.as_int(*axis_json, "axis", &axis));
  if (!scale_list && !zp_list)
    return f.error("axis", "given, but neither 'scale' nor 'zero_point' is a list");
  if (axis < 0) return f.error("axis", "expected a dimension index >= 0, got " + std::to_string(axis));
  if (desc.shape_known && axis >= static_cast<int64_t>(desc.shape.size())) {
    return f.error("axis", std::to_string(axis) + " is out of range for shape " +
                               shape_to_string(desc.shape) + " (rank " +
                               std::to_string(desc.shape.size()) + ")");
  }
  if (axis >= 64) return f.error("axis", std::to_string(axis) + " is out of range");
  q.axis = static_cast<int>(axis);
  if (desc.shape_known) {
    const int64_t channels = desc.shape[q.axis];
    if (scale_list && static_cast<int64_t>(q.scales.size()) != channels) {
      return f.error("scale", "has " + std::to_string(q.scales.size()) + " entries, but shape[" +
                                  std::to_string(axis) + "] is " + std::to_string(channels));
    }
    if (zp_list && static_cast<int64_t>(q.zero_points.size()) != channels) {
      return f.error("zero_point", "has " + std::to_string(q.zero_points.size()) +
                                       " entries, but shape[" + std::to_string(axis) + "] is " +
                                       std::to_string(channels));
    }
  } else if (scale_list && zp_list && q.scales.size() != q.zero_points.size()) {
    return f.error("zero_point", "has " + std::to_string(q.zero_points.size()) +
                                     " entries, but 'scale' has " + std::to_string(q.scales.size()));
  }
  *out = std::move(q);
  return Status::ok();
}

// "data": {"offset", "bytes"} in the weights file. Bounds are checked later,
// against the file.
Status read_file_data(const JsonFields& f, const json& v, bool has_weights, TensorEntry* entry) {
  DYAD_RETURN_IF_ERROR(f.as_object(v, "data"));
  if (!has_weights)
    return f.error("data", "the tensor is stored in the weights file, but the model has no 'weights' field");
  const JsonFields data = f.nested(v, "data");
  DYAD_RETURN_IF_ERROR(data.check_known({"offset", "bytes"}));
  int64_t offset = 0;
  int64_t bytes = 0;
  DYAD_RETURN_IF_ERROR(data.get_int("offset", &offset));
  DYAD_RETURN_IF_ERROR(data.get_int("bytes", &bytes));
  if (offset < 0) return data.error("offset", "expected an offset >= 0, got " + std::to_string(offset));
  if (offset % static_cast<int64_t>(AlignedBuffer::kAlignment) != 0) {
    return data.error("offset", std::to_string(offset) + " is not a multiple of " +
                                    std::to_string(AlignedBuffer::kAlignment));
  }
  TensorDesc& desc = entry->desc;
  const bool sparse = desc.sparsity.vnm;
  const size_t expected =
      sparse ? vnm_packed_bytes(desc)
             : dtype_packed_bytes(desc.dtype, static_cast<size_t>(shape_elements(desc.shape)));
  if (bytes < 0 || static_cast<uint64_t>(bytes) != expected) {
    const std::string form =
        sparse ? " packed " + std::to_string(desc.sparsity.v) + ":2:" + std::to_string(desc.sparsity.m)
               : "";
    return data.error("bytes", std::to_string(bytes) + " does not match " +
                                   std::string(dtype_name(desc.dtype)) + " " +
                                   shape_to_string(desc.shape) + form + ", which takes " +
                                   std::to_string(expected) + " bytes");
  }
  entry->in_weights_file = true;
  entry->file_offset = static_cast<uint64_t>(offset);
  desc.data_bytes = expected;
  return Status::ok();
}

// "values": the elements inline, packed here into the weights file layout.
Status read_inline_values(const JsonFields& f, const json& v, TensorEntry* entry) {
  DYAD_RETURN_IF_ERROR(f.as_array(v, "values"));
  TensorDesc& desc = entry->desc;
  const int64_t elements = shape_elements(desc.shape);
  if (static_cast<int64_t>(v.size()) != elements) {
    return f.error("values", "has " + std::to_string(v.size()) + " values, but shape " +
                                 shape_to_string(desc.shape) + " has " + std::to_string(elements) +
                                 " elements");
  }
  std::vector<int64_t> values(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    DYAD_RETURN_IF_ERROR(read_in_range(f, v[i], indexed("values", i), desc.dtype, &values[i]));

  if (desc.sparsity.vnm) {
    DYAD_RETURN_IF_ERROR(pack_sparse_values(f, desc, values, &entry->packed_values));
    desc.data = entry->packed_values->data();
    desc.data_bytes = entry->packed_values->size();
    return Status::ok();
  }
  const size_t bytes = dtype_packed_bytes(desc.dtype, values.size());
  auto buffer = std::make_shared<AlignedBuffer>(bytes);
  if (!buffer->ok())
    return Status(StatusCode::kOutOfMemory, f.where() + ": cannot allocate " + std::to_string(bytes) + " bytes");
  pack_constant(desc.dtype, values.data(), values.size(), buffer->data());
  desc.data = buffer->data();
  desc.data_bytes = bytes;
  entry->packed_values = std::move(buffer);
  return Status::ok();
}

}  // namespace

void pack_constant(DType dtype, const int64_t* values, size_t count, uint8_t* dst) {
  if (dtype_is_4bit(dtype)) {
    for (size_t i = 0; i < count; ++i) {
      const uint8_t nibble = static_cast<uint8_t>(static_cast<uint64_t>(values[i]) & 0xF);
      dst[i / 2] |= static_cast<uint8_t>(nibble << (4 * (i % 2)));
    }
    return;
  }
  const size_t width = dtype_storage_bytes(dtype);
  for (size_t i = 0; i < count; ++i) {
    const uint64_t u = static_cast<uint64_t>(values[i]);  // two's complement
    for (size_t b = 0; b < width; ++b) dst[i * width + b] = static_cast<uint8_t>(u >> (8 * b));
  }
}

Status read_tensor_entry(const json& item, size_t index, const JsonFields& top, bool has_weights,
                         TensorEntry* out) {
  const std::string key = indexed("tensors", index);
  DYAD_RETURN_IF_ERROR(top.as_object(item, key));

  // The name first, so that every later message can name the tensor.
  TensorEntry entry;
  TensorDesc& desc = entry.desc;
  {
    const JsonFields unnamed = top.nested(item, key);
    DYAD_RETURN_IF_ERROR(unnamed.get_string("name", &desc.name));
    if (desc.name.empty()) return unnamed.error("name", "must not be empty");
  }
  const JsonFields f(item, top.where() + ": tensor '" + desc.name + "'", top.newer_version());
  DYAD_RETURN_IF_ERROR(
      f.check_known({"name", "dtype", "shape", "scale", "zero_point", "axis", "data", "values",
                     "sparsity"}));
  DYAD_RETURN_IF_ERROR(read_dtype(f, &desc.dtype));
  if (const json* v = f.find("shape")) {
    DYAD_RETURN_IF_ERROR(read_shape(f, *v, &desc.shape));
    desc.shape_known = true;
  }
  DYAD_RETURN_IF_ERROR(read_quantization(f, desc, &desc.quant));

  const json* data = f.find("data");
  const json* values = f.find("values");
  if (data && values) return f.error("values", "a tensor has 'data' or 'values', not both");
  if ((data || values) && !desc.shape_known)
    return f.error("shape", std::string("missing; a constant (with '") + (data ? "data" : "values") +
                                "') needs a shape");
  if (const json* sp = f.find("sparsity")) {
    if (!data && !values)
      return f.error("sparsity", "only a constant (with 'data' or 'values') can be sparse");
    DYAD_RETURN_IF_ERROR(read_sparsity(f, *sp, &desc));
  }
  if (data) DYAD_RETURN_IF_ERROR(read_file_data(f, *data, has_weights, &entry));
  if (values) DYAD_RETURN_IF_ERROR(read_inline_values(f, *values, &entry));
  desc.is_constant = data || values;

  *out = std::move(entry);
  return Status::ok();
}

}  // namespace dyad
