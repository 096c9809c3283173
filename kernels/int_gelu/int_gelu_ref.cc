// Reference integer GELU (numerics.md 4): one element at a time, in int64.
#include "kernels/int_gelu/int_gelu.h"

#include <cstddef>

#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

bool int_gelu_constants_valid(const IntGeluParams& p) {
  for (int64_t c = 0; c < p.channels; ++c) {
    if (p.b_int[c] < kIntGeluMinB || p.b_int[c] > 0) return false;
    if (p.c_int[c] < kIntGeluMinC || p.c_int[c] > 0) return false;
    if (p.shift_int[c] < kIntGeluMinShift || p.shift_int[c] > 0) return false;
  }
  return true;
}

int64_t int_gelu_element(int64_t x, int64_t b_int, int64_t c_int, int64_t shift_int) {
  const int64_t limit = -b_int;  // in [0, 2^31]
  // min(|x|, -b_int) without forming |x| (|INT64_MIN| does not exist).
  int64_t abs_clipped;
  if (x >= limit || x <= -limit) {
    abs_clipped = limit;
  } else {
    abs_clipped = x < 0 ? -x : x;
  }
  const int64_t t = abs_clipped + b_int;       // in [b_int, 0]
  const int64_t poly = t * t + c_int;          // |poly| <= 2^62
  const int64_t sign = (x > 0) - (x < 0);
  const int64_t erf_i = (sign * poly) >> 14;   // arithmetic shift = floor
  const int64_t factor = erf_i + shift_int;    // in [-2^62 - 2^48, 2^48]
  int64_t y;
  if (__builtin_mul_overflow(x, factor, &y)) {
    // The exact product's sign is sign(x) * sign(factor).
    return ((x < 0) != (factor < 0)) ? INT64_MIN : INT64_MAX;
  }
  return y;
}

void int_gelu__ref(const IntGeluParams& p, const void* x, int64_t* y, ThreadPool* pool) {
  const int64_t channels = p.channels;
  with_int_type(p.x_type, [&](auto zero) {
    using T = decltype(zero);
    const T* xt = static_cast<const T*>(x);
    parallel_for(pool, static_cast<size_t>(p.rows), [&](size_t row) {
      const T* xr = xt + static_cast<int64_t>(row) * channels;
      int64_t* yr = y + static_cast<int64_t>(row) * channels;
      for (int64_t c = 0; c < channels; ++c) {
        yr[c] = int_gelu_element(xr[c], p.b_int[c], p.c_int[c], p.shift_int[c]);
      }
    });
  });
}

}  // namespace dyad::kernels
