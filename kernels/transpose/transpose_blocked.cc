// Transpose by blocks: the permutation is first reduced to its essential
// form (size-1 axes dropped, output axes that stay adjacent and in order in
// the input merged into one), then
//   - when the last output axis is contiguous in the input (attention's
//     {0, 2, 1, 3} head split and merge: rows of dh elements), every output
//     row is one memcpy;
//   - when the two last output axes are swapped input axes (a batched 2-D
//     transpose), 8 x 8 element tiles are copied so that reads and writes
//     both stay within a few cache lines;
//   - otherwise each output row is gathered through the input stride.
// It only copies bytes, so it equals the reference for every dtype.
#include <algorithm>
#include <cstring>

#include "kernels/common/thread_pool.h"
#include "kernels/transpose/transpose.h"

namespace dyad::kernels {

namespace {

// The reduced problem: output axes with their sizes and input strides (in
// elements), row-major over the output.
struct Reduced {
  int rank = 0;
  int64_t shape[kTransposeMaxRank] = {};
  int64_t stride[kTransposeMaxRank] = {};
  int64_t total = 1;
};

Reduced reduce(const TransposeParams& p) {
  int64_t in_strides[kTransposeMaxRank];
  int64_t s = 1;
  for (int a = p.rank - 1; a >= 0; --a) {
    in_strides[a] = s;
    s *= p.in_shape[a];
  }
  Reduced r;
  r.total = s;
  for (int i = 0; i < p.rank; ++i) {
    const int64_t size = p.in_shape[p.perm[i]];
    if (size == 1) continue;
    const int64_t stride = in_strides[p.perm[i]];
    // Merge with the previous output axis when the pair is one run in the input.
    if (r.rank > 0 && r.stride[r.rank - 1] == stride * size) {
      r.shape[r.rank - 1] *= size;
      r.stride[r.rank - 1] = stride;
      continue;
    }
    r.shape[r.rank] = size;
    r.stride[r.rank] = stride;
    ++r.rank;
  }
  if (r.rank == 0) {  // a single element (or rank 0)
    r.rank = 1;
    r.shape[0] = 1;
    r.stride[0] = 1;
  }
  return r;
}

// Input offset of the first element of outer index `index` over axes [0, axes).
int64_t offset_of(const Reduced& r, int axes, int64_t index) {
  int64_t off = 0;
  for (int i = axes - 1; i >= 0; --i) {
    off += (index % r.shape[i]) * r.stride[i];
    index /= r.shape[i];
  }
  return off;
}

// Calls f(first, count) for contiguous ranges covering [0, n), about
// `per_thread` ranges per thread of the pool.
template <typename F>
void split(ThreadPool* pool, int64_t n, F&& f) {
  const int64_t threads = pool ? pool->num_threads() : 1;
  const int64_t chunks = std::min<int64_t>(n, threads == 1 ? 1 : threads * 4);
  parallel_for(pool, size_t(chunks), [&](size_t c) {
    const int64_t first = n * int64_t(c) / chunks, last = n * (int64_t(c) + 1) / chunks;
    if (last > first) f(first, last - first);
  });
}

template <typename T>
void rows_gather(const Reduced& r, const T* x, T* y, ThreadPool* pool) {
  const int last = r.rank - 1;
  const int64_t inner = r.shape[last], step = r.stride[last];
  split(pool, r.total / inner, [&](int64_t first, int64_t count) {
    for (int64_t row = first; row < first + count; ++row) {
      const T* src = x + offset_of(r, last, row);
      T* dst = y + row * inner;
      for (int64_t j = 0; j < inner; ++j) dst[j] = src[j * step];
    }
  });
}

// Output [outer..., A, B] from input where the A axis has stride 1 and B
// stride sb: per outer index, a 2-D transpose in 8 x 8 tiles.
template <typename T>
void tiles_2d(const Reduced& r, const T* x, T* y, ThreadPool* pool) {
  constexpr int64_t kTile = 8;
  const int64_t rows = r.shape[r.rank - 2], cols = r.shape[r.rank - 1], sb = r.stride[r.rank - 1];
  const int64_t row_tiles = (rows + kTile - 1) / kTile;
  const int64_t planes = r.total / (rows * cols);
  split(pool, planes * row_tiles, [&](int64_t first, int64_t count) {
    for (int64_t t = first; t < first + count; ++t) {
      const int64_t plane = t / row_tiles, i0 = (t % row_tiles) * kTile;
      const int64_t nr = std::min(kTile, rows - i0);
      const T* src = x + offset_of(r, r.rank - 2, plane) + i0;
      T* dst = y + plane * rows * cols + i0 * cols;
      for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
        const int64_t nc = std::min(kTile, cols - j0);
        for (int64_t i = 0; i < nr; ++i)
          for (int64_t j = 0; j < nc; ++j) dst[i * cols + j0 + j] = src[(j0 + j) * sb + i];
      }
    }
  });
}

template <typename T>
void transpose_typed(const Reduced& r, const T* x, T* y, ThreadPool* pool) {
  const int last = r.rank - 1;
  if (r.stride[last] == 1) {  // contiguous rows: one memcpy each
    const int64_t inner = r.shape[last];
    split(pool, r.total / inner, [&](int64_t first, int64_t count) {
      // Walk the outer axes as an odometer instead of dividing per row.
      int64_t idx[kTransposeMaxRank] = {};
      int64_t rest = first;
      int64_t off = 0;
      for (int i = last - 1; i >= 0; --i) {
        idx[i] = rest % r.shape[i];
        rest /= r.shape[i];
        off += idx[i] * r.stride[i];
      }
      for (int64_t row = first; row < first + count; ++row) {
        std::memcpy(y + row * inner, x + off, size_t(inner) * sizeof(T));
        for (int i = last - 1; i >= 0; --i) {
          off += r.stride[i];
          if (++idx[i] < r.shape[i]) break;
          off -= r.stride[i] * r.shape[i];
          idx[i] = 0;
        }
      }
    });
    return;
  }
  if (r.rank >= 2 && r.stride[last - 1] == 1) {
    tiles_2d(r, x, y, pool);
    return;
  }
  rows_gather(r, x, y, pool);
}

}  // namespace

void transpose__blocked(const TransposeParams& p, const void* x, void* y, ThreadPool* pool) {
  const Reduced r = reduce(p);
  if (r.total == 0) return;  // empty tensor
  switch (p.elem_bytes) {
    case 1:
      transpose_typed(r, static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), pool);
      break;
    case 2:
      transpose_typed(r, static_cast<const uint16_t*>(x), static_cast<uint16_t*>(y), pool);
      break;
    case 4:
      transpose_typed(r, static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y), pool);
      break;
    case 8:
      transpose_typed(r, static_cast<const uint64_t*>(x), static_cast<uint64_t*>(y), pool);
      break;
    default:
      break;  // rejected by transpose_params_valid
  }
}

}  // namespace dyad::kernels
