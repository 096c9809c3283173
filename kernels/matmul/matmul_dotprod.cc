// Matmul of two activations on 64-bit ARM (attention Q*K^T and P*V), built
// with -march=armv8.2-a+dotprod and chosen only when the CPU reports asimddp.
// Per batch entry B is packed into panels of 8 columns of b' = b - o_b as
// int8 (o = 0 for int8, 128 for uint8: a byte XOR), [k/4][8 columns][4]
// bytes, and a tile of 8 byte rows of a times a panel is formed with SDOT's
// lane form (one k quad of a row times the 8 columns: the dense SDOT GEMM's
// tile, gemm_sdot_dotprod.cc), 16 int32x4 sums.
//
// The byte rows ("planes") of a:
//   - 8-bit a (Q*K^T): one plane per row, a' = a - o_a as int8;
//   - int16 a (the softmax probabilities P times an 8-bit V): two planes per
//     row, hi = a >> 8 (int8) and lo' = (a & 255) - 128 (int8), so
//     a = 256 hi + lo' + 128 and a row's sum is 256 S_hi + S_lo: two SDOT per
//     k quad instead of four 16-bit multiply-adds per SMLAL, and no limit on
//     z_b (b' is a byte for any zero point).
// With o_a = 0 / 128 / 128 (int8 / uint8 / int16 a) and alpha = o_a - z_a,
// beta = o_b - z_b:
//   acc = sum (a - z_a)(b' + beta)
//       = S + alpha * sum_k b'[k][j] + beta * sum_k (a[i][k] - z_a),
// with S = sum a' b' (8-bit) or 256 S_hi + S_lo (int16): a column term per
// panel, a row term per row tile.
//
// Exactness. Every product is exact in its lane (|a' b'| <= 2^14) and every
// sum, scale and correction is taken mod 2^32; the result mod 2^32 is the
// true accumulator, and it is the true value because matmul_dotprod_applies
// proved it fits int32 from the dtype ranges: K * max|a - z_a| * max|b - z_b|
// <= 2^31 - 1. The output stage is matmul_output_value, the reference's own.
// Each output is formed by one task, so the thread count does not matter.
#include <arm_neon.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "kernels/common/thread_pool.h"
#include "kernels/matmul/matmul.h"

namespace dyad::kernels {
namespace {

constexpr int kPlanes = 8;  // byte rows per register tile (8 rows of 8-bit a, 4 of int16 a)
constexpr int kPanel = 8;   // output columns per panel

int64_t max_abs_offset(IntType t, int64_t z) { return std::max(z - int_type_min(t), int_type_max(t) - z); }
size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

// Byte planes per row of a, and rows per tile.
int planes_per_row(const MatmulParams& p) { return p.a_type == IntType::kS16 ? 2 : 1; }
int64_t tile_rows(const MatmulParams& p) { return kPlanes / planes_per_row(p); }
// K padded to a row vector (4 k quads).
int64_t k_pad(const MatmulParams& p) { return (p.k + 15) / 16 * 16; }
int64_t panels(const MatmulParams& p) { return (p.n + kPanel - 1) / kPanel; }
// The shift that makes a value's (low) byte a signed byte.
int32_t byte_offset(IntType t) { return t == IntType::kS8 ? 0 : 128; }

// Scratch layout of one task.
struct Scratch {
  int8_t* b;          // panels * k_pad * 8 bytes
  uint32_t* colterm;  // panels * 8: alpha * sum_k b', mod 2^32
  int8_t* a;          // kPlanes * k_pad bytes: the row tile's planes, zero-padded
  uint32_t* rowterm;  // kPlanes: beta * sum_k (a - z_a), mod 2^32
  int32_t* acc;       // kPlanes * 8
};

size_t b_bytes(const MatmulParams& p) { return round64(size_t(panels(p) * k_pad(p) * kPanel)); }
size_t colterm_bytes(const MatmulParams& p) { return round64(size_t(panels(p) * kPanel) * 4); }
size_t a_bytes(const MatmulParams& p) { return round64(size_t(kPlanes * k_pad(p))); }
constexpr size_t kRowtermBytes = 64;
constexpr size_t kAccBytes = kPlanes * kPanel * 4;

Scratch carve(const MatmulParams& p, uint8_t* base) {
  Scratch s;
  s.b = reinterpret_cast<int8_t*>(base);
  s.colterm = reinterpret_cast<uint32_t*>(base + b_bytes(p));
  s.a = reinterpret_cast<int8_t*>(base + b_bytes(p) + colterm_bytes(p));
  s.rowterm = reinterpret_cast<uint32_t*>(base + b_bytes(p) + colterm_bytes(p) + a_bytes(p));
  s.acc = reinterpret_cast<int32_t*>(base + b_bytes(p) + colterm_bytes(p) + a_bytes(p) + kRowtermBytes);
  return s;
}

template <typename TB>
void pack_b(const MatmulParams& p, const TB* b, const Scratch& s) {
  const int64_t kp = k_pad(p);
  const uint32_t alpha = static_cast<uint32_t>(byte_offset(p.a_type)) - static_cast<uint32_t>(p.a_zero_point);
  const int32_t o_b = byte_offset(p.b_type);
  for (int64_t q = 0; q < panels(p); ++q) {
    int8_t* panel = s.b + q * kp * kPanel;
    for (int64_t c = 0; c < kPanel; ++c) {
      const int64_t j = q * kPanel + c;
      uint32_t sum = 0;
      for (int64_t k = 0; k < kp; ++k) {
        int32_t v = 0;  // columns and k beyond the matrix contribute nothing
        if (j < p.n && k < p.k) v = static_cast<int32_t>(p.transpose_b ? b[j * p.k + k] : b[k * p.n + j]) - o_b;
        panel[(k / 4) * 4 * kPanel + c * 4 + k % 4] = static_cast<int8_t>(v);  // [k/4][8 columns][4]
        sum += static_cast<uint32_t>(v);
      }
      s.colterm[q * kPanel + c] = alpha * sum;
    }
  }
}

// Rows row0.. (at most tile_rows) of one batch entry's a as byte planes,
// zero padded to kPlanes x k_pad, and their row terms.
template <typename TA>
void pack_a_rows(const MatmulParams& p, const TA* a, int64_t row0, int64_t rows, const Scratch& s) {
  const int64_t kp = k_pad(p);
  const int planes = planes_per_row(p);
  std::memset(s.a, 0, size_t(kPlanes * kp));
  const int32_t o_a = byte_offset(p.a_type);
  const uint32_t beta = static_cast<uint32_t>(byte_offset(p.b_type)) - static_cast<uint32_t>(p.b_zero_point);
  for (int64_t r = 0; r < rows; ++r) {
    const TA* src = a + (row0 + r) * p.k;
    int8_t* plane = s.a + r * planes * kp;
    uint32_t sum = 0;
    for (int64_t k = 0; k < p.k; ++k) {
      const int32_t v = static_cast<int32_t>(src[k]);
      if (planes == 1) {
        plane[k] = static_cast<int8_t>(v - o_a);
      } else {
        plane[k] = static_cast<int8_t>(v >> 8);                  // hi, in [-128, 127]
        plane[kp + k] = static_cast<int8_t>((v & 255) - o_a);    // lo' = (a & 255) - 128
      }
      sum += static_cast<uint32_t>(v) - static_cast<uint32_t>(p.a_zero_point);
    }
    s.rowterm[r] = beta * sum;
  }
}

// SDOT: k quad Q of the row vectors av times the 8 columns of panel quad wq.
template <int R, int Q>
__attribute__((always_inline)) inline void dot_quad(int32x4_t (&c)[R][2], const int8x16_t (&av)[R], const int8_t* wq) {
  const int8x16_t w0 = vld1q_s8(wq), w1 = vld1q_s8(wq + 16);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    c[r][0] = vdotq_laneq_s32(c[r][0], w0, av[r], Q);
    c[r][1] = vdotq_laneq_s32(c[r][1], w1, av[r], Q);
  }
}

// acc[r][8] = the R planes of the tile (kp bytes apart) times one panel.
template <int R>
void tile(const int8_t* a, int64_t kp, const int8_t* panel, int32_t* acc) {
  int32x4_t c[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) c[r][0] = c[r][1] = vdupq_n_s32(0);
  for (int64_t k = 0; k < kp; k += 16) {
    int8x16_t av[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) av[r] = vld1q_s8(a + r * kp + k);
    const int8_t* wq = panel + k * kPanel;  // 4 quads of 32 bytes
    dot_quad<R, 0>(c, av, wq);
    dot_quad<R, 1>(c, av, wq + 32);
    dot_quad<R, 2>(c, av, wq + 64);
    dot_quad<R, 3>(c, av, wq + 96);
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    vst1q_s32(acc + r * kPanel, c[r][0]);
    vst1q_s32(acc + r * kPanel + 4, c[r][1]);
  }
}

using TileFn = void (*)(const int8_t*, int64_t, const int8_t*, int32_t*);
template <size_t... R>
constexpr std::array<TileFn, sizeof...(R)> tiles_of(std::index_sequence<R...>) {
  return {&tile<int(R) + 1>...};
}
constexpr std::array<TileFn, kPlanes> kTiles = tiles_of(std::make_index_sequence<kPlanes>{});  // [planes - 1]

template <typename TA, typename TB>
void run_batch(const MatmulParams& p, const TA* a, const TB* b, void* y, int64_t t, const Scratch& s) {
  const int64_t kp = k_pad(p), tr = tile_rows(p);
  const int planes = planes_per_row(p);
  pack_b(p, b + t * p.k * p.n, s);
  int64_t values[kPanel];
  for (int64_t row0 = 0; row0 < p.m; row0 += tr) {
    const int64_t rows = std::min(tr, p.m - row0);
    pack_a_rows(p, a + t * p.m * p.k, row0, rows, s);
    for (int64_t q = 0; q < panels(p); ++q) {
      kTiles[rows * planes - 1](s.a, kp, s.b + q * kp * kPanel, s.acc);
      const int64_t cols = std::min<int64_t>(kPanel, p.n - q * kPanel);
      for (int64_t r = 0; r < rows; ++r) {
        const int32_t* sums = s.acc + r * planes * kPanel;
        for (int64_t c = 0; c < cols; ++c) {
          uint32_t sum = static_cast<uint32_t>(sums[c]);
          if (planes == 2) sum = 256u * sum + static_cast<uint32_t>(sums[kPanel + c]);  // 256 S_hi + S_lo
          const uint32_t wrapped = sum + s.colterm[q * kPanel + c] + s.rowterm[r];
          values[c] = matmul_output_value(p, static_cast<int32_t>(wrapped));
        }
        store_ints(values, size_t(cols), p.y_type, y, size_t((t * p.m + row0 + r) * p.n + q * kPanel));
      }
    }
  }
}

}  // namespace

bool matmul_dotprod_applies(const MatmulParams& p) {
  if (!matmul_params_valid(p) || p.k <= 0) return false;
  const int64_t max_a = max_abs_offset(p.a_type, p.a_zero_point);
  const int64_t max_b = max_abs_offset(p.b_type, p.b_zero_point);
  const __int128 bound = static_cast<__int128>(p.k) * max_a * max_b;
  return bound <= INT32_MAX;
}

size_t matmul_dotprod_scratch_bytes(const MatmulParams& p) {
  return b_bytes(p) + colterm_bytes(p) + a_bytes(p) + kRowtermBytes + kAccBytes;
}

void matmul__dotprod(const MatmulParams& p, const void* a, const void* b, void* y, ThreadPool* pool,
                     uint8_t* scratch, size_t scratch_stride) {
  if (p.m <= 0 || p.n <= 0 || p.batch <= 0) return;
  const int64_t threads = pool ? pool->num_threads() : 1;
  const int64_t tasks = std::min<int64_t>(threads, p.batch);
  with_int_type(p.a_type, [&](auto a_zero) {
    with_int_type(p.b_type, [&](auto b_zero) {
      using TA = decltype(a_zero);
      using TB = decltype(b_zero);
      // Task i takes the batch entries i, i + tasks, ...: one task per
      // scratch slice, each output written by exactly one task.
      parallel_for(pool, size_t(tasks), [&](size_t i) {
        const Scratch s = carve(p, scratch + i * scratch_stride);
        for (int64_t t = int64_t(i); t < p.batch; t += tasks)
          run_batch(p, static_cast<const TA*>(a), static_cast<const TB*>(b), y, t, s);
      });
    });
  });
}

}  // namespace dyad::kernels
