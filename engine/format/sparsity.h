// V:N:M sparse constants (docs/format.md "Sparse weights"): reading the
// "sparsity" field of a tensor, the packed size it implies, and the check of
// the packed bytes with the kernels' validator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/aligned_buffer.h"
#include "engine/core/status.h"
#include "engine/format/json_fields.h"
#include "engine/ir/tensor.h"
#include "kernels/vnm_gemm/vnm_format.h"

namespace dyad {

// The packed matrix of a sparse tensor: [shape[0], product of the other dims]
// (a conv weight OHWI flattens to [O, KH*KW*C], the im2col order).
kernels::VnmShape vnm_shape_of(const TensorDesc& desc);

// Reads `value` (the tensor's "sparsity" member) into desc->sparsity. desc's
// dtype and shape are already read; the tensor must be a constant (checked
// by the caller) of dtype int8 or int4 with rank >= 2.
Status read_sparsity(const JsonFields& f, const nlohmann::json& value, TensorDesc* desc);

// The weights a row of a sparse tensor keeps (at most): 2 per group of M
// columns, at most the row's length. A dense tensor keeps all.
int64_t kept_per_row(const TensorDesc& desc);

// The blob size of a sparse tensor (its "data.bytes").
size_t vnm_packed_bytes(const TensorDesc& desc);

// Packs the dense elements (one per entry, row-major) of an inline sparse
// constant; the error names the rows and columns that break the pattern.
Status pack_sparse_values(const JsonFields& f, const TensorDesc& desc,
                          const std::vector<int64_t>& values, std::shared_ptr<AlignedBuffer>* out);

// Checks desc.data (desc.data_bytes bytes) with kernels::vnm_validate.
// `where` is "<file>: tensor '<name>'".
Status validate_sparse_data(const std::string& where, const TensorDesc& desc);

// The dense [N, K] int8 matrix of a valid sparse constant (op builders, tools).
Status unpack_sparse(const std::string& where, const TensorDesc& desc, std::vector<int8_t>* out);

}  // namespace dyad
