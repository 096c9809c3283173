// Integer square root by the Newton iteration of the I-BERT paper's appendix
// (numerics.md 6.2): x0 = 2^ceil(bits(n)/2), x' = (x + n/x) >> 1, stop when
// x' >= x. The result is floor(sqrt(n)) for every n (x0 >= sqrt(n), and the
// iteration decreases monotonically to the floor); n = 0 gives 0.
#pragma once

#include <cstdint>

#include "kernels/common/requant.h"  // int128_t

namespace dyad::kernels {

__extension__ using uint128_t = unsigned __int128;

// `U` is uint64_t or uint128_t. `steps`, when given, receives the number of
// Newton updates computed (the last one is the one that detects convergence).
template <typename U>
U isqrt_newton(U n, int* steps = nullptr) {
  if (steps != nullptr) *steps = 0;
  if (n == 0) return 0;
  int bits = 0;
  for (U v = n; v != 0; v >>= 1) ++bits;
  U x = static_cast<U>(1) << ((bits + 1) / 2);  // 2^ceil(bits/2) > sqrt(n)
  for (;;) {
    const U next = (x + n / x) >> 1;  // x <= 2^(W/2), n/x < 2^(W/2) + 1: no overflow
    if (steps != nullptr) ++*steps;
    if (next >= x) return x;
    x = next;
  }
}

inline uint64_t isqrt_u64(uint64_t n, int* steps = nullptr) { return isqrt_newton<uint64_t>(n, steps); }
inline uint128_t isqrt_u128(uint128_t n, int* steps = nullptr) { return isqrt_newton<uint128_t>(n, steps); }

}  // namespace dyad::kernels
