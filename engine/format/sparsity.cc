#include "engine/format/sparsity.h"

#include <algorithm>
#include <string>

namespace dyad {

using nlohmann::json;

kernels::VnmShape vnm_shape_of(const TensorDesc& desc) {
  kernels::VnmShape s;
  const int64_t rows = desc.shape.empty() ? 0 : desc.shape[0];
  const int64_t cols = rows == 0 ? 0 : shape_elements(desc.shape) / rows;
  // Sizes beyond the kernels' limit are refused by vnm_layout; clamp so the
  // narrowing never wraps into a valid-looking size.
  s.n = static_cast<int32_t>(std::min<int64_t>(rows, int64_t{1} << 30));
  s.k = static_cast<int32_t>(std::min<int64_t>(cols, int64_t{1} << 30));
  s.v = desc.sparsity.v;
  s.m = desc.sparsity.m;
  s.value_bits = desc.dtype == DType::kInt4 ? 4 : 8;
  return s;
}

Status read_sparsity(const JsonFields& f, const json& value, TensorDesc* desc) {
  DYAD_RETURN_IF_ERROR(f.as_object(value, "sparsity"));
  const JsonFields sp = f.nested(value, "sparsity");
  DYAD_RETURN_IF_ERROR(sp.check_known({"pattern", "v", "n", "m"}));
  std::string pattern;
  DYAD_RETURN_IF_ERROR(sp.get_string("pattern", &pattern));
  if (pattern != "vnm") return sp.error("pattern", "expected \"vnm\", got \"" + pattern + "\"");
  int64_t v = 0, n = 0, m = 0;
  DYAD_RETURN_IF_ERROR(sp.get_int("v", &v));
  DYAD_RETURN_IF_ERROR(sp.get_int("n", &n));
  DYAD_RETURN_IF_ERROR(sp.get_int("m", &m));
  if (v < 8 || v > kernels::kVnmMaxV || v % 8 != 0)
    return sp.error("v", std::to_string(v) + " must be a multiple of 8 in [8, " +
                             std::to_string(kernels::kVnmMaxV) + "]");
  if (n != 2) return sp.error("n", std::to_string(n) + " is not supported; n must be 2");
  if (m < kernels::kVnmMinM || m > kernels::kVnmMaxM)
    return sp.error("m", std::to_string(m) + " is outside [" + std::to_string(kernels::kVnmMinM) +
                             ", " + std::to_string(kernels::kVnmMaxM) + "]");
  if (desc->dtype != DType::kInt8 && desc->dtype != DType::kInt4)
    return f.error("sparsity", "a sparse tensor must be int8 or int4, not " +
                                   std::string(dtype_name(desc->dtype)));
  if (desc->shape.size() < 2)
    return f.error("sparsity", "a sparse tensor needs rank >= 2 ([out_channels, ...]), got shape " +
                                   shape_to_string(desc->shape));
  desc->sparsity.vnm = true;
  desc->sparsity.v = static_cast<int32_t>(v);
  desc->sparsity.m = static_cast<int32_t>(m);
  kernels::VnmLayout lay;
  if (std::string err = kernels::vnm_layout(vnm_shape_of(*desc), &lay); !err.empty())
    return f.error("shape", shape_to_string(desc->shape) + " cannot be stored sparse: " + err);
  return Status::ok();
}

int64_t kept_per_row(const TensorDesc& desc) {
  const int64_t k = desc.shape.empty() ? 1 : shape_elements(desc.shape) / desc.shape[0];
  if (!desc.sparsity.vnm) return k;
  return std::min(k, 2 * ((k + desc.sparsity.m - 1) / desc.sparsity.m));
}

size_t vnm_packed_bytes(const TensorDesc& desc) {
  kernels::VnmLayout lay;
  return kernels::vnm_layout(vnm_shape_of(desc), &lay).empty() ? lay.total_bytes : 0;
}

Status pack_sparse_values(const JsonFields& f, const TensorDesc& desc,
                          const std::vector<int64_t>& values, std::shared_ptr<AlignedBuffer>* out) {
  const std::vector<int8_t> dense(values.begin(), values.end());  // in range: checked by the caller
  std::vector<uint8_t> blob;
  if (std::string err = kernels::vnm_pack(vnm_shape_of(desc), dense.data(), &blob); !err.empty())
    return f.error("values", "not a V:2:M matrix: " + err);
  auto buffer = std::make_shared<AlignedBuffer>(blob.size());
  if (!buffer->ok())
    return Status(StatusCode::kOutOfMemory,
                  f.where() + ": cannot allocate " + std::to_string(blob.size()) + " bytes");
  std::copy(blob.begin(), blob.end(), buffer->data());
  *out = std::move(buffer);
  return Status::ok();
}

Status validate_sparse_data(const std::string& where, const TensorDesc& desc) {
  const std::string err = kernels::vnm_validate(vnm_shape_of(desc), desc.data, desc.data_bytes);
  if (err.empty()) return Status::ok();
  return invalid_model(where + ": field 'data': invalid V:N:M packed weights: " + err);
}

Status unpack_sparse(const std::string& where, const TensorDesc& desc, std::vector<int8_t>* out) {
  const kernels::VnmShape s = vnm_shape_of(desc);
  out->assign(static_cast<size_t>(s.n) * static_cast<size_t>(s.k), 0);
  const std::string err = kernels::vnm_unpack(s, desc.data, desc.data_bytes, out->data());
  if (err.empty()) return Status::ok();
  return Status(StatusCode::kInternal, where + ": cannot unpack V:N:M weights: " + err);
}

}  // namespace dyad
