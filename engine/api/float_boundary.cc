#include "engine/api/float_boundary.h"

#include <cmath>
#include <cstring>
#include <string>

namespace dyad {

namespace {

template <typename T>
int64_t load_as(const void* base, size_t i) {
  T v;
  std::memcpy(&v, static_cast<const uint8_t*>(base) + i * sizeof(T), sizeof(T));
  return static_cast<int64_t>(v);
}

template <typename T>
void store_as(void* base, size_t i, int64_t v) {
  const T t = static_cast<T>(v);
  std::memcpy(static_cast<uint8_t*>(base) + i * sizeof(T), &t, sizeof(T));
}

// Maps an element index to its quantization channel: (i / inner) % channels
// along quant.axis, or always 0 per tensor.
struct ChannelMap {
  size_t inner = 1;
  size_t channels = 1;
  bool per_channel = false;
  size_t operator()(size_t i) const { return per_channel ? (i / inner) % channels : 0; }
};

Status make_channel_map(const TensorDesc& desc, size_t count, const char* what, ChannelMap* map) {
  const Quantization& q = desc.quant;
  if (!q.has_scale())
    return invalid_argument(std::string(what) + " '" + desc.name +
                            "' has no scale, so it has no float form; use the integer call");
  const int64_t elements = shape_elements(desc.shape);
  if (static_cast<int64_t>(count) != elements)
    return invalid_argument(std::string(what) + " '" + desc.name + "' has " +
                            std::to_string(elements) + " elements " +
                            shape_to_string(desc.shape) + ", got a count of " +
                            std::to_string(count));
  if (!q.per_channel()) return Status::ok();
  if (static_cast<size_t>(q.axis) >= desc.shape.size())
    return Status(StatusCode::kInternal, "tensor '" + desc.name + "': quantization axis " +
                                             std::to_string(q.axis) + " outside its shape " +
                                             shape_to_string(desc.shape));
  map->per_channel = true;
  map->channels = static_cast<size_t>(desc.shape[q.axis]);
  for (size_t d = q.axis + 1; d < desc.shape.size(); ++d) map->inner *= desc.shape[d];
  // The loader checks list lengths; guard anyway so a bad desc cannot read out of bounds.
  const auto fits = [&](size_t n) { return n <= 1 || n == map->channels; };
  if (!fits(q.scales.size()) || !fits(q.zero_points.size()))
    return Status(StatusCode::kInternal, "tensor '" + desc.name +
                                             "': per-channel scale or zero point count does "
                                             "not match shape[axis] = " +
                                             std::to_string(map->channels));
  return Status::ok();
}

// q = clamp(rne(x / scale) + zp) in [lo, hi]. The clamp happens in double so
// that huge values and infinities saturate; for int64, hi as a double is 2^63,
// which no in-range value reaches.
int64_t quantize_one(double x, double scale, int64_t zp, int64_t lo, int64_t hi) {
  const double v = std::nearbyint(x / scale) + static_cast<double>(zp);
  if (v <= static_cast<double>(lo)) return lo;
  if (v >= static_cast<double>(hi)) return hi;
  return static_cast<int64_t>(v);
}

template <typename F>
Status quantize_impl(const TensorDesc& desc, const F* x, size_t count, void* container) {
  ChannelMap map;
  DYAD_RETURN_IF_ERROR(make_channel_map(desc, count, "input", &map));
  for (size_t i = 0; i < count; ++i)
    if (std::isnan(x[i]))
      return invalid_argument("input '" + desc.name + "': element " + std::to_string(i) +
                              " is NaN, which has no quantized value");
  const int64_t lo = dtype_min(desc.dtype), hi = dtype_max(desc.dtype);
  for (size_t i = 0; i < count; ++i) {
    const size_t c = map(i);
    const int64_t q = quantize_one(static_cast<double>(x[i]), desc.quant.scale(c),
                                   desc.quant.zero_point(c), lo, hi);
    store_container_element(desc.dtype, container, i, q);
  }
  return Status::ok();
}

}  // namespace

int64_t load_container_element(DType dtype, const void* base, size_t i) {
  switch (dtype) {
    case DType::kInt8:
    case DType::kInt4: return load_as<int8_t>(base, i);
    case DType::kUint8:
    case DType::kUint4: return load_as<uint8_t>(base, i);
    case DType::kInt16: return load_as<int16_t>(base, i);
    case DType::kInt32: return load_as<int32_t>(base, i);
    case DType::kInt64: return load_as<int64_t>(base, i);
  }
  return 0;
}

void store_container_element(DType dtype, void* base, size_t i, int64_t v) {
  switch (dtype) {
    case DType::kInt8:
    case DType::kInt4: store_as<int8_t>(base, i, v); return;
    case DType::kUint8:
    case DType::kUint4: store_as<uint8_t>(base, i, v); return;
    case DType::kInt16: store_as<int16_t>(base, i, v); return;
    case DType::kInt32: store_as<int32_t>(base, i, v); return;
    case DType::kInt64: store_as<int64_t>(base, i, v); return;
  }
}

Status quantize_to_container(const TensorDesc& desc, const float* x, size_t count,
                             void* container) {
  return quantize_impl(desc, x, count, container);
}

Status quantize_to_container(const TensorDesc& desc, const double* x, size_t count,
                             void* container) {
  return quantize_impl(desc, x, count, container);
}

Status dequantize_from_container(const TensorDesc& desc, const void* container, float* out,
                                 size_t count) {
  ChannelMap map;
  DYAD_RETURN_IF_ERROR(make_channel_map(desc, count, "output", &map));
  for (size_t i = 0; i < count; ++i) {
    const size_t c = map(i);
    const int64_t q = load_container_element(desc.dtype, container, i);
    const int64_t zp = desc.quant.zero_point(c);
    // q - zp is exact in int64 for every dtype but int64 itself.
    int64_t diff;
    const double centered = __builtin_sub_overflow(q, zp, &diff)
                                ? static_cast<double>(q) - static_cast<double>(zp)
                                : static_cast<double>(diff);
    out[i] = static_cast<float>(centered * desc.quant.scale(c));
  }
  return Status::ok();
}

}  // namespace dyad
