// Reference transpose: walks the output in row-major order and reads the
// input through permuted strides.
#include "kernels/transpose/transpose.h"

#include <cstring>

#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

bool transpose_params_valid(const TransposeParams& p) {
  if (p.rank < 0 || p.rank > kTransposeMaxRank) return false;
  if (p.elem_bytes != 1 && p.elem_bytes != 2 && p.elem_bytes != 4 && p.elem_bytes != 8) return false;
  bool seen[kTransposeMaxRank] = {};
  for (int i = 0; i < p.rank; ++i) {
    if (p.in_shape[i] < 0) return false;
    if (p.perm[i] < 0 || p.perm[i] >= p.rank || seen[p.perm[i]]) return false;
    seen[p.perm[i]] = true;
  }
  return true;
}

namespace {

template <typename T>
void transpose_typed(const TransposeParams& p, const T* x, T* y, ThreadPool* pool) {
  if (p.rank == 0) {
    y[0] = x[0];
    return;
  }
  int64_t in_strides[kTransposeMaxRank];
  int64_t stride = 1;
  for (int a = p.rank - 1; a >= 0; --a) {
    in_strides[a] = stride;
    stride *= p.in_shape[a];
  }
  if (stride == 0) return;  // empty tensor
  int64_t out_shape[kTransposeMaxRank];
  int64_t src_strides[kTransposeMaxRank];  // input stride of each output axis
  for (int i = 0; i < p.rank; ++i) {
    out_shape[i] = p.in_shape[p.perm[i]];
    src_strides[i] = in_strides[p.perm[i]];
  }
  const int last = p.rank - 1;
  const int64_t inner = out_shape[last];
  const int64_t rows = stride / inner;
  parallel_for(pool, static_cast<size_t>(rows), [&](size_t r) {
    // Decompose the output row index into the indices of axes [0, last).
    int64_t rest = static_cast<int64_t>(r);
    int64_t src = 0;
    for (int i = last - 1; i >= 0; --i) {
      src += (rest % out_shape[i]) * src_strides[i];
      rest /= out_shape[i];
    }
    T* dst = y + static_cast<int64_t>(r) * inner;
    for (int64_t j = 0; j < inner; ++j) dst[j] = x[src + j * src_strides[last]];
  });
}

}  // namespace

void transpose__ref(const TransposeParams& p, const void* x, void* y, ThreadPool* pool) {
  switch (p.elem_bytes) {
    case 1:
      transpose_typed(p, static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), pool);
      break;
    case 2:
      transpose_typed(p, static_cast<const uint16_t*>(x), static_cast<uint16_t*>(y), pool);
      break;
    case 4:
      transpose_typed(p, static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y), pool);
      break;
    case 8:
      transpose_typed(p, static_cast<const uint64_t*>(x), static_cast<uint64_t*>(y), pool);
      break;
    default:
      break;  // rejected by transpose_params_valid
  }
}

}  // namespace dyad::kernels
