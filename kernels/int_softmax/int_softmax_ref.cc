// Reference integer softmax (numerics.md 5.2-5.5), one row at a time.
#include "kernels/int_softmax/int_softmax.h"

#include "kernels/common/thread_pool.h"
#include "kernels/int_softmax/int_softmax_vec.h"

namespace dyad::kernels {

__extension__ using uint128_t = unsigned __int128;  // the same alias as isqrt.h

namespace {

constexpr int64_t kQMax = 30;  // numerics.md 5: N = 30

bool mask_valid(const IntSoftmaxMask& m, int64_t rows) {
  if (m.data == nullptr) return true;
  if (m.elem_bytes != 1 && m.elem_bytes != 2 && m.elem_bytes != 4 && m.elem_bytes != 8) return false;
  if (m.rank < 0 || m.rank > kIntSoftmaxMaxMaskRank) return false;
  int64_t n = 1;
  for (int a = 0; a < m.rank; ++a) {
    if (m.dims[a] < 1 || m.row_strides[a] < 0) return false;
    n *= m.dims[a];
  }
  return n == rows;
}

bool mask_keeps(const IntSoftmaxMask& m, int64_t row_offset, int64_t j) {
  const auto* bytes = static_cast<const uint8_t*>(m.data) +
                      static_cast<size_t>(row_offset + j) * m.elem_bytes;
  for (size_t b = 0; b < m.elem_bytes; ++b)
    if (bytes[b] != 0) return true;
  return false;
}

void softmax_row(const IntSoftmaxParams& p, const int32_t* x, int16_t* y, int64_t row) {
  const int64_t n = p.length;
  const bool has_mask = p.mask.data != nullptr;
  const int64_t mask_offset = has_mask ? int_softmax_mask_offset(p.mask, row) : 0;
  auto keep = [&](int64_t j) { return !has_mask || mask_keeps(p.mask, mask_offset, j); };

  // Maximum over the unmasked entries.
  bool any = false;
  int32_t max_x = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (!keep(j)) continue;
    if (!any || x[j] > max_x) max_x = x[j];
    any = true;
  }
  if (!any) {  // fully masked row: defined as all 0
    for (int64_t j = 0; j < n; ++j) y[j] = 0;
    return;
  }

  // e16 per entry, kept in y (it is <= 32767) until the sum is known.
  int64_t sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    const int32_t e16 = int_softmax_entry_e16(p, x[j], max_x, keep(j));
    y[j] = static_cast<int16_t>(e16);
    sum += e16;
  }

  if (sum == 0) {  // HF: NaN; defined as all 0
    for (int64_t j = 0; j < n; ++j) y[j] = 0;
    return;
  }
  const int64_t factor = (int64_t{1} << 32) / sum;  // floor, sum > 0; <= 2^32
  for (int64_t j = 0; j < n; ++j) {
    y[j] = static_cast<int16_t>((static_cast<int64_t>(y[j]) * factor) >> 24);  // < 2^47 before
  }
}

}  // namespace

int64_t int_softmax_mask_offset(const IntSoftmaxMask& m, int64_t row) {
  int64_t offset = 0;
  for (int a = m.rank - 1; a >= 0; --a) {
    offset += (row % m.dims[a]) * m.row_strides[a];
    row /= m.dims[a];
  }
  return offset;
}

IntSoftmaxMask int_softmax_mask_rows(const IntSoftmaxMask& m, int64_t first_row, int64_t rows) {
  IntSoftmaxMask out = m;
  if (m.data == nullptr || m.rank == 0) return out;
  out.data = static_cast<const uint8_t*>(m.data) +
             static_cast<size_t>(int_softmax_mask_offset(m, first_row)) * m.elem_bytes;
  out.rank = 1;
  out.dims[0] = rows;
  out.row_strides[0] = m.row_strides[m.rank - 1];
  return out;
}

void int_softmax_mask_keep(const IntSoftmaxMask& m, int64_t offset, int64_t n, int32_t* keep) {
  for (int64_t j = 0; j < n; ++j) keep[j] = mask_keeps(m, offset, j) ? -1 : 0;
}

int32_t int_softmax_entry_e16(const IntSoftmaxParams& p, int32_t x, int32_t max_x, bool keep) {
  const int64_t floor_d = kQMax * p.x0_int;
  int64_t d = floor_d;
  if (keep) {
    const int64_t diff = static_cast<int64_t>(x) - max_x;  // <= 0
    d = diff > floor_d ? diff : floor_d;
  }
  // Both operands <= 0 and the quotient >= 0, so truncation is the floor.
  const int64_t q = d / p.x0_int;          // in [0, 30]
  const int64_t r = d - p.x0_int * q;      // in (x0_int, 0]
  const int128_t z = static_cast<int128_t>(r + p.b_int) * r + p.c_int;
  return int_softmax_e16(z, p.act_m, p.act_e + static_cast<int>(q));
}

int32_t int_softmax_e16(int128_t z, int64_t act_m, int shift) {
  if (z <= 0 || act_m <= 0) return 0;
  const uint128_t prod = static_cast<uint128_t>(z) * static_cast<uint64_t>(act_m);
  uint128_t v;
  if (shift <= 0) {
    v = prod;  // shift is never negative for valid E; 0 means no rounding
  } else if (shift >= 128) {
    v = 0;  // prod < 2^127 <= 2^(shift-1): below one half
  } else {
    const uint128_t quot = prod >> shift;
    const uint128_t rem = prod - (quot << shift);
    const uint128_t half = static_cast<uint128_t>(1) << (shift - 1);
    v = quot + ((rem > half || (rem == half && (quot & 1))) ? 1 : 0);
  }
  return v > 32767 ? 32767 : static_cast<int32_t>(v);
}

bool int_softmax_params_valid(const IntSoftmaxParams& p) {
  if (p.rows < 0 || p.length < 0) return false;
  if (p.x0_int < kIntSoftmaxMinX0 || p.x0_int > -1) return false;
  if (p.b_int < -kIntSoftmaxMaxAbsB || p.b_int > kIntSoftmaxMaxAbsB) return false;
  if (p.c_int < -kIntSoftmaxMaxAbsC || p.c_int > kIntSoftmaxMaxAbsC) return false;
  if (p.act_m < 0 || p.act_e < 0 || p.act_e > kIntSoftmaxMaxE) return false;
  return mask_valid(p.mask, p.rows);
}

void int_softmax_s32__ref(const IntSoftmaxParams& p, const int32_t* x, int16_t* y,
                          ThreadPool* pool) {
  const int64_t n = p.length;
  parallel_for(pool, static_cast<size_t>(p.rows), [&](size_t row) {
    const int64_t r = static_cast<int64_t>(row);
    softmax_row(p, x + r * n, y + r * n, r);
  });
}

}  // namespace dyad::kernels
