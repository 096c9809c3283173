// Reference embedding gather: one memcpy per id.
#include "kernels/embedding/embedding.h"

#include <cstring>

namespace dyad::kernels {

template <typename TI>
int64_t embedding_gather__ref(const EmbeddingParams& p, const void* table, const TI* ids, void* out) {
  const auto* src = static_cast<const uint8_t*>(table);
  auto* dst = static_cast<uint8_t*>(out);
  int64_t first_bad = -1;
  for (int64_t i = 0; i < p.num_ids; ++i) {
    const int64_t id = static_cast<int64_t>(ids[i]);
    uint8_t* row = dst + static_cast<size_t>(i) * p.row_bytes;
    if (id < 0 || id >= p.vocab) {
      if (p.row_bytes > 0) std::memset(row, 0, p.row_bytes);
      if (first_bad < 0) first_bad = i;
      continue;
    }
    if (p.row_bytes > 0) std::memcpy(row, src + static_cast<size_t>(id) * p.row_bytes, p.row_bytes);
  }
  return first_bad;
}

template int64_t embedding_gather__ref<int32_t>(const EmbeddingParams&, const void*, const int32_t*,
                                                void*);
template int64_t embedding_gather__ref<int64_t>(const EmbeddingParams&, const void*, const int64_t*,
                                                void*);

}  // namespace dyad::kernels
