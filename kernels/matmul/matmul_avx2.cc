// AVX2 matmul of two activations (attention Q*K^T and P*V). Per batch entry,
// B is packed into int16 panels of 16 columns holding b - z_b in k pairs,
// [kpair][16 columns][2], so one vpmaddwd of a broadcast (a[k], a[k+1]) pair
// with half a panel row gives 8 column sums of two products. a is used
// without its zero point (int8/uint8 widened to int16, or int16 as is); the
// term z_a * sum_k (b - z_b) is subtracted per column at the end.
//
// Exactness (matmul.h): |a| <= 32768 and |b - z_b| <= 32767, so a product
// pair stays inside int32 (vpmaddwd's one overflow, -32768 * -32768 twice,
// needs b - z_b = -32768). The int32 sums wrap (mod 2^32), so does the
// correction; the result mod 2^32 is the true accumulator, and it is the
// true value because matmul_avx2_applies proved that fits int32. The output
// stage is matmul_output_value, the reference's own.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/common/thread_pool.h"
#include "kernels/matmul/matmul.h"

namespace dyad::kernels {

namespace {

constexpr int64_t kRows = 4;     // output rows per register tile
constexpr int64_t kPanel = 16;   // output columns per panel (two vectors)

int64_t max_abs_offset(IntType t, int64_t z) { return std::max(z - int_type_min(t), int_type_max(t) - z); }

int64_t k_pairs(const MatmulParams& p) { return (p.k + 1) / 2; }
int64_t panels(const MatmulParams& p) { return (p.n + kPanel - 1) / kPanel; }

size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

// Scratch layout of one task.
struct Scratch {
  int16_t* b;        // panels() * k_pairs() * 32 int16
  uint32_t* colsum;  // panels() * 16: sum_k (b - z_b), mod 2^32
  int16_t* a;        // kRows * 2 * k_pairs() int16: the row tile, zero-padded
  int32_t* acc;      // kRows * 16 int32
};

size_t b_bytes(const MatmulParams& p) { return round64(size_t(panels(p) * k_pairs(p) * 32) * 2); }
size_t colsum_bytes(const MatmulParams& p) { return round64(size_t(panels(p) * kPanel) * 4); }
size_t a_bytes(const MatmulParams& p) { return round64(size_t(kRows * 2 * k_pairs(p)) * 2); }
constexpr size_t kAccBytes = kRows * kPanel * 4;

Scratch carve(const MatmulParams& p, uint8_t* base) {
  Scratch s;
  s.b = reinterpret_cast<int16_t*>(base);
  s.colsum = reinterpret_cast<uint32_t*>(base + b_bytes(p));
  s.a = reinterpret_cast<int16_t*>(base + b_bytes(p) + colsum_bytes(p));
  s.acc = reinterpret_cast<int32_t*>(base + b_bytes(p) + colsum_bytes(p) + a_bytes(p));
  return s;
}

template <typename TB>
void pack_b(const MatmulParams& p, const TB* b, const Scratch& s) {
  const int64_t kp = k_pairs(p);
  for (int64_t q = 0; q < panels(p); ++q) {
    int16_t* panel = s.b + q * kp * 32;
    for (int64_t c = 0; c < kPanel; ++c) {
      const int64_t j = q * kPanel + c;
      uint32_t sum = 0;
      for (int64_t k = 0; k < 2 * kp; ++k) {
        int16_t v = 0;  // columns and k beyond the matrix contribute nothing
        if (j < p.n && k < p.k) {
          const int64_t raw = p.transpose_b ? b[j * p.k + k] : b[k * p.n + j];
          v = static_cast<int16_t>(raw - p.b_zero_point);
        }
        panel[(k / 2) * 32 + c * 2 + (k % 2)] = v;
        sum += static_cast<uint32_t>(static_cast<int32_t>(v));
      }
      s.colsum[q * kPanel + c] = sum;
    }
  }
}

template <typename TA>
void pack_a_rows(const MatmulParams& p, const TA* a, int64_t row0, int64_t rows, const Scratch& s) {
  const int64_t kp2 = 2 * k_pairs(p);
  std::memset(s.a, 0, size_t(kRows * kp2) * 2);
  for (int64_t r = 0; r < rows; ++r) {
    const TA* src = a + (row0 + r) * p.k;
    for (int64_t k = 0; k < p.k; ++k) s.a[r * kp2 + k] = static_cast<int16_t>(src[k]);
  }
}

// acc[r][16] = sum over k pairs of a[r] pair x panel row, for kRows rows.
void tile(const int16_t* a, int64_t kp, const int16_t* panel, int32_t* acc) {
  __m256i c[kRows][2];
  for (int r = 0; r < kRows; ++r) c[r][0] = c[r][1] = _mm256_setzero_si256();
  for (int64_t i = 0; i < kp; ++i) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + i * 32));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + i * 32 + 16));
    for (int r = 0; r < kRows; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * 2 * kp + 2 * i, 4);
      const __m256i av = _mm256_set1_epi32(pair);
      c[r][0] = _mm256_add_epi32(c[r][0], _mm256_madd_epi16(av, b0));
      c[r][1] = _mm256_add_epi32(c[r][1], _mm256_madd_epi16(av, b1));
    }
  }
  for (int r = 0; r < kRows; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * kPanel), c[r][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * kPanel + 8), c[r][1]);
  }
}

template <typename TA, typename TB>
void run_batch(const MatmulParams& p, const TA* a, const TB* b, void* y, int64_t t, const Scratch& s) {
  const int64_t kp = k_pairs(p);
  pack_b(p, b + t * p.k * p.n, s);
  const uint32_t z_a = static_cast<uint32_t>(p.a_zero_point);
  int64_t values[kPanel];
  for (int64_t row0 = 0; row0 < p.m; row0 += kRows) {
    const int64_t rows = std::min(kRows, p.m - row0);
    pack_a_rows(p, a + t * p.m * p.k, row0, rows, s);
    for (int64_t q = 0; q < panels(p); ++q) {
      tile(s.a, kp, s.b + q * kp * 32, s.acc);
      const int64_t cols = std::min(kPanel, p.n - q * kPanel);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
          const uint32_t wrapped = static_cast<uint32_t>(s.acc[r * kPanel + c]) - z_a * s.colsum[q * kPanel + c];
          values[c] = matmul_output_value(p, static_cast<int32_t>(wrapped));
        }
        store_ints(values, size_t(cols), p.y_type, y, size_t((t * p.m + row0 + r) * p.n + q * kPanel));
      }
    }
  }
}

}  // namespace

bool matmul_avx2_applies(const MatmulParams& p) {
  if (!matmul_params_valid(p) || p.k <= 0) return false;
  const int64_t max_a = max_abs_offset(p.a_type, p.a_zero_point);
  const int64_t max_b = max_abs_offset(p.b_type, p.b_zero_point);
  if (max_b > INT16_MAX) return false;  // b - z_b is stored as int16
  const __int128 bound = static_cast<__int128>(p.k) * max_a * max_b;
  return bound <= INT32_MAX;
}

size_t matmul_avx2_scratch_bytes(const MatmulParams& p) {
  return b_bytes(p) + colsum_bytes(p) + a_bytes(p) + kAccBytes;
}

void matmul__avx2(const MatmulParams& p, const void* a, const void* b, void* y, ThreadPool* pool,
                  uint8_t* scratch, size_t scratch_stride) {
  if (p.m <= 0 || p.n <= 0 || p.batch <= 0) return;
  const int64_t threads = pool ? pool->num_threads() : 1;
  const int64_t tasks = std::min<int64_t>(threads, p.batch);
  with_int_type(p.a_type, [&](auto a_zero) {
    with_int_type(p.b_type, [&](auto b_zero) {
      using TA = decltype(a_zero);
      using TB = decltype(b_zero);
      // Task i takes the batch entries i, i + tasks, ...: at most one task
      // per scratch slice, and each output written by exactly one task.
      parallel_for(pool, size_t(tasks), [&](size_t i) {
        const Scratch s = carve(p, scratch + i * scratch_stride);
        for (int64_t t = int64_t(i); t < p.batch; t += tasks)
          run_batch(p, static_cast<const TA*>(a), static_cast<const TB*>(b), y, t, s);
      });
    });
  });
}

}  // namespace dyad::kernels
