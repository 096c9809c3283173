// Reference integer LayerNorm (numerics.md 6.2), one row at a time.
#include "kernels/int_layernorm/int_layernorm.h"

#include <cstddef>

#include "kernels/common/requant.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_layernorm/isqrt.h"

namespace dyad::kernels {

namespace {

// int32 inputs must have zero point 0 (the bounds in layernorm_row assume
// |v| <= 2^31); a narrower input's zero point lies in its dtype's range.
bool zero_point_valid(IntType t, int64_t zero_point) {
  if (t == IntType::kS32 || t == IntType::kS64) return zero_point == 0;
  return zero_point >= int_type_min(t) && zero_point <= int_type_max(t);
}

}  // namespace

int64_t int_layernorm_mean(int64_t sum, int64_t n) {
  int64_t q = sum / n;  // truncates toward zero
  if (sum % n != 0 && sum < 0) --q;  // floor
  const int64_t r = sum - q * n;  // in [0, n)
  if (2 * r > n || (2 * r == n && (q & 1) != 0)) ++q;
  return q;
}

bool int_layernorm_params_valid(const IntLayerNormParams& p) {
  return p.x_type != IntType::kS64 && p.rows >= 0 && p.channels >= 1 && p.channels <= (int64_t{1} << 31) && p.shift >= 0 && p.shift <= kIntLayerNormMaxShift &&
         p.bias_int != nullptr && zero_point_valid(p.x_type, p.zero_point);
}

namespace {

template <typename T>
void layernorm_row(const IntLayerNormParams& p, const T* x, int64_t* out) {
  const int64_t n = p.channels;
  const int64_t zp = p.zero_point;
  int64_t sum = 0;  // |v| <= 2^31, n <= 2^31: |sum| <= 2^62
  for (int64_t c = 0; c < n; ++c) sum += static_cast<int64_t>(x[c]) - zp;
  const int64_t mean = int_layernorm_mean(sum, n);  // within [min x, max x]

  uint128_t var = 0;
  for (int64_t c = 0; c < n; ++c) {
    const int64_t ys = (static_cast<int64_t>(x[c]) - zp - mean) >> p.shift;  // |ys| < 2^32
    // ys^2 < 2^64 fits uint64 but not int64: square the magnitude unsigned.
    const uint64_t a = ys < 0 ? 0 - static_cast<uint64_t>(ys) : static_cast<uint64_t>(ys);
    var += static_cast<uint128_t>(a * a);
  }
  const uint128_t root = var <= UINT64_MAX ? isqrt_u64(static_cast<uint64_t>(var))
                                           : isqrt_u128(var);
  const uint128_t std_int = root << p.shift;  // var < 2^95, so root < 2^48; shift <= 62

  if (std_int == 0) {  // constant row (HF: inf/NaN)
    for (int64_t c = 0; c < n; ++c) out[c] = p.bias_int[c];
    return;
  }
  const uint128_t two31 = static_cast<uint128_t>(1) << 31;
  const int64_t factor = static_cast<int64_t>(two31 / std_int);  // floor, <= 2^31
  for (int64_t c = 0; c < n; ++c) {
    const int64_t y = static_cast<int64_t>(x[c]) - zp - mean;
    out[c] = add_saturate((y * factor) >> 1, p.bias_int[c]);  // |y*factor| < 2^63
  }
}

}  // namespace

void int_layernorm_row_to(const IntLayerNormParams& p, const void* x, int64_t row, int64_t* out_row) {
  with_int_type(p.x_type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (sizeof(T) <= 4) layernorm_row(p, static_cast<const T*>(x) + row * p.channels, out_row);
  });
}

void int_layernorm_row(const IntLayerNormParams& p, const void* x, int64_t row, int64_t* out) {
  int_layernorm_row_to(p, x, row, out + row * p.channels);
}

void int_layernorm__ref(const IntLayerNormParams& p, const void* x, int64_t* out, ThreadPool* pool) {
  const int64_t n = p.channels;
  if (p.x_type == IntType::kS64) return;  // rejected by int_layernorm_params_valid
  with_int_type(p.x_type, [&](auto zero) {
    using T = decltype(zero);
    const T* xt = static_cast<const T*>(x);
    parallel_for(pool, static_cast<size_t>(p.rows), [&](size_t row) {
      const int64_t r = static_cast<int64_t>(row);
      layernorm_row(p, xt + r * n, out + r * n);
    });
  });
}

}  // namespace dyad::kernels
