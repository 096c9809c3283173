// Reference matmul of two activations: one output row per task, int64 sums.
#include "kernels/matmul/matmul.h"

#include <cstddef>

#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

bool matmul_params_valid(const MatmulParams& p) {
  const bool a_ok = p.a_type == IntType::kS8 || p.a_type == IntType::kU8 || p.a_type == IntType::kS16;
  const bool b_ok = p.b_type == IntType::kS8 || p.b_type == IntType::kU8;
  const bool y_ok = p.requantize ? p.y_type != IntType::kS64 : p.y_type == IntType::kS32;
  return a_ok && b_ok && y_ok && p.batch >= 0 && p.m >= 0 && p.k >= 0 && p.n >= 0 &&
         (!p.requantize || p.y_min <= p.y_max);
}

namespace {

// acc of output element (row, j); row indexes [batch * m].
template <typename TA, typename TB>
int64_t dot(const MatmulParams& p, const TA* a, const TB* b, int64_t row, int64_t j) {
  const TA* arow = a + row * p.k;
  const TB* bmat = b + (row / p.m) * p.k * p.n;
  int64_t acc = 0;
  for (int64_t kk = 0; kk < p.k; ++kk) {
    const int64_t bv = p.transpose_b ? bmat[j * p.k + kk] : bmat[kk * p.n + j];
    acc += (static_cast<int64_t>(arow[kk]) - p.a_zero_point) * (bv - p.b_zero_point);
  }
  return acc;
}

}  // namespace

void matmul__ref(const MatmulParams& p, const void* a, const void* b, void* y, ThreadPool* pool) {
  if (p.m <= 0 || p.n <= 0) return;
  with_int_type(p.a_type, [&](auto a_zero) {
    with_int_type(p.b_type, [&](auto b_zero) {
      using TA = decltype(a_zero);
      using TB = decltype(b_zero);
      const TA* at = static_cast<const TA*>(a);
      const TB* bt = static_cast<const TB*>(b);
      parallel_for(pool, static_cast<size_t>(p.batch * p.m), [&](size_t r) {
        const int64_t row = static_cast<int64_t>(r);
        int64_t values[64];
        for (int64_t j0 = 0; j0 < p.n; j0 += 64) {
          const int64_t count = p.n - j0 < 64 ? p.n - j0 : 64;
          for (int64_t j = 0; j < count; ++j) values[j] = matmul_output_value(p, dot(p, at, bt, row, j0 + j));
          store_ints(values, static_cast<size_t>(count), p.y_type, y,
                     static_cast<size_t>(row * p.n + j0));
        }
      });
    });
  });
}

}  // namespace dyad::kernels
