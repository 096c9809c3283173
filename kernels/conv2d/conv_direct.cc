#include "kernels/conv2d/conv_direct.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/common/thread_pool.h"
#include "kernels/gemm/gemm_internal.h"

namespace dyad::kernels {

namespace {

// The padded image holds exactly the rows and columns some window reads:
// padded pixel (y, x) is input pixel (y - pad_top, x - pad_left), or the
// zero point outside the input.
struct PaddedGeometry {
  size_t height = 0, width = 0, channels = 0;
  size_t row_bytes() const { return width * channels; }
  size_t image_bytes() const { return height * row_bytes(); }
};

// Padded rows (or columns) that the windows of `out` outputs read. The
// builder checked that they fit in the padded input, so this cannot wrap.
int64_t padded_extent(int64_t out, int64_t stride, int64_t kernel, int64_t dilation) {
  return (out - 1) * stride + (kernel - 1) * dilation + 1;
}

PaddedGeometry padded_geometry(const Conv2dParams& p) {
  PaddedGeometry g;
  g.height = static_cast<size_t>(padded_extent(p.out_h, p.stride_h, p.kernel_h, p.dilation_h));
  g.width = static_cast<size_t>(padded_extent(p.out_w, p.stride_w, p.kernel_w, p.dilation_w));
  g.channels = static_cast<size_t>(p.in_c);
  return g;
}

// Padded rows [first, last) of every batch image, counted over batch *
// height, as u = x - src_offset (mod 256, the bytes the GEMM's tiles read).
void pad_rows(const Conv2dParams& p, const PaddedGeometry& g, const uint8_t* src, uint8_t offset,
              uint8_t pad_byte, size_t first, size_t last, uint8_t* image) {
  const size_t c = g.channels, in_row_bytes = static_cast<size_t>(p.in_w) * c;
  // Columns [lo, hi) of a padded row come from the input.
  const size_t lo = std::min(g.width, static_cast<size_t>(p.pad_left));
  const size_t hi = std::min(g.width, static_cast<size_t>(p.pad_left + p.in_w));
  for (size_t row = first; row < last; ++row) {
    uint8_t* out = image + row * g.row_bytes();
    const int64_t n = static_cast<int64_t>(row / g.height);
    const int64_t ih = static_cast<int64_t>(row % g.height) - p.pad_top;
    if (ih < 0 || ih >= p.in_h) {
      std::memset(out, pad_byte, g.row_bytes());
      continue;
    }
    const uint8_t* in = src + static_cast<size_t>(n * p.in_h + ih) * in_row_bytes;
    std::memset(out, pad_byte, lo * c);
    if (offset == 0) {
      std::memcpy(out + lo * c, in, (hi - lo) * c);
    } else {
      for (size_t i = 0; i < (hi - lo) * c; ++i) out[lo * c + i] = static_cast<uint8_t>(in[i] - offset);
    }
    std::memset(out + hi * c, pad_byte, (g.width - hi) * c);
  }
}

// A window's k values as the tiles read them: with adjacent taps
// (dilation_w 1) one segment per kernel row, its kernel_w * in_c bytes
// contiguous in the image; else one per tap. Each segment is padded to whole
// k quads with zero weights (the stems' 7 x 3 and 3 x 3 byte rows); the
// quads past a segment's bytes read the image's next bytes, which those
// zero weights ignore.
struct Segments {
  size_t count = 0, bytes = 0, steps = 0;
};

Segments segments_of(const Conv2dParams& p) {
  Segments s;
  const bool rows = p.dilation_w == 1;
  s.count = static_cast<size_t>(rows ? p.kernel_h : p.kernel_h * p.kernel_w);
  s.bytes = static_cast<size_t>(rows ? p.kernel_w * p.in_c : p.in_c);
  s.steps = (s.bytes + 3) / 4;
  return s;
}

constexpr size_t kMaxSegments = 4096;

// With u = 0 padding: the taps of each pixel column that read image
// columns, as steps of a segment (GemmWindows::column_lo), where segments are
// kernel rows of whole-quad taps (in_c a multiple of 4, adjacent taps) and
// some column has padding taps; the tables (2 * out_w entries) at `table`.
void skip_padding_columns(const Conv2dParams& p, size_t* table, GemmWindows* windows) {
  if (p.dilation_w != 1 || p.in_c % 4 != 0) return;
  const size_t columns = static_cast<size_t>(p.out_w), tap_steps = static_cast<size_t>(p.in_c) / 4;
  size_t* lo = table;
  size_t* hi = table + columns;
  size_t full_lo = columns, full_hi = columns;
  for (size_t ow = 0; ow < columns; ++ow) {
    // Padded column x = ow * stride_w + kw is image column x - pad_left.
    const int64_t x0 = static_cast<int64_t>(ow) * p.stride_w - p.pad_left;
    const int64_t first = std::clamp<int64_t>(-x0, 0, p.kernel_w);
    const int64_t last = std::clamp<int64_t>(p.in_w - x0, first, p.kernel_w);
    lo[ow] = static_cast<size_t>(first) * tap_steps;
    hi[ow] = static_cast<size_t>(last) * tap_steps;
    const bool full = first == 0 && last == p.kernel_w;
    if (full && full_lo == columns) full_lo = ow;
    if (full) full_hi = ow + 1;
  }
  if (full_lo == columns) full_hi = columns;  // no full column: every column is an edge
  if (full_lo == 0 && full_hi == columns) return;  // no padding columns
  windows->column_lo = lo;
  windows->column_hi = hi;
  windows->full_lo = full_lo;
  windows->full_hi = full_hi;
}

// The batch's padded images plus slack for the last segment's padding
// quads, a 64-byte multiple; the segment offsets follow.
size_t image_bytes(const Conv2dParams& p) {
  return (static_cast<size_t>(p.batch) * padded_geometry(p).image_bytes() + 64 + 63) / 64 * 64;
}

}  // namespace

int64_t conv_direct_k(const Conv2dParams& p) {
  const Segments s = segments_of(p);
  return static_cast<int64_t>(s.count * s.steps * 4);
}

std::vector<int8_t> conv_direct_weights(const Conv2dParams& p, const std::vector<int8_t>& ohwi) {
  const Segments s = segments_of(p);
  const size_t k = static_cast<size_t>(conv_direct_k(p)), out_c = static_cast<size_t>(p.out_c);
  std::vector<int8_t> weights(out_c * k, 0);
  for (size_t o = 0; o < out_c; ++o)
    for (size_t t = 0; t < s.count; ++t)
      std::copy_n(ohwi.begin() + static_cast<ptrdiff_t>((o * s.count + t) * s.bytes), s.bytes,
                  weights.begin() + static_cast<ptrdiff_t>(o * k + t * s.steps * 4));
  return weights;
}

size_t conv_direct_shared_scratch_bytes(const Conv2dParams& p) {
  // One more entry for a K padding step past the last segment (gemm.cc
  // rounds K up to 8); two tables: offsets and padded rows; then the two
  // of each pixel column's live taps.
  const size_t entries = segments_of(p).count + 1, columns = static_cast<size_t>(p.out_w);
  return image_bytes(p) + (2 * (entries + columns) * sizeof(size_t) + 63) / 64 * 64;
}

bool conv_direct_suits(const GemmPlan& plan, const Conv2dParams& p) {
  const GemmVariant& v = *plan.variant;
  if (v.family != GemmFamily::kDp || v.packed_weight_bits != 8 || p.groups != 1) return false;
  // Real windows have at most a few dozen segments (7x7: 7 kernel rows, or
  // 49 taps dilated); the tables of a huge dilated kernel stay bounded.
  if (segments_of(p).count > kMaxSegments) return false;
  if (p.out_h < 1 || p.out_w < 1 || p.pad_top < 0 || p.pad_left < 0) return false;
  // The builder has bounded the input, the window and the work (MACs), so
  // none of these products overflows.
  const int64_t padded_h = padded_extent(p.out_h, p.stride_h, p.kernel_h, p.dilation_h);
  const int64_t padded_w = padded_extent(p.out_w, p.stride_w, p.kernel_w, p.dilation_w);
  const int64_t input_bytes = p.batch * p.in_h * p.in_w * p.in_c;
  if (padded_h > 2 * p.in_h + 64 || padded_w > 2 * p.in_w + 64) return false;
  const int64_t padded_bytes = p.batch * padded_h * padded_w * p.in_c;
  // The copy must also be smaller than the windows it saves gathering (a
  // strided 1x1 conv reads a quarter of its input: its windows are smaller).
  const int64_t window_bytes = p.batch * p.out_h * p.out_w * p.kernel_h * p.kernel_w * p.in_c;
  // And at most 16 MiB: the engine's scratch holds the copy once per thread
  // (engine/ops/conv2d.cc), and a bigger input takes the implicit GEMM's
  // cache-sized blocks.
  return padded_bytes <= 2 * input_bytes + (int64_t{64} << 10) && padded_bytes < window_bytes &&
         padded_bytes <= (int64_t{16} << 20);
}

bool conv_direct_supported(const GemmPlan& plan, const Conv2dParams& p) {
  return conv_direct_suits(plan, p) && int64_t{plan.desc.K} == conv_direct_k(p);
}

void conv_direct_run(const GemmPlan& plan, const Conv2dParams& p, const uint8_t* src, void* dst,
                     ThreadPool* pool, uint8_t* scratch) {
  const PaddedGeometry g = padded_geometry(p);
  const auto offset = static_cast<uint8_t>(plan.src_offset);
  const auto pad_byte = static_cast<uint8_t>(p.src_zero_point - plan.src_offset);
  const size_t threads = pool ? static_cast<size_t>(pool->num_threads()) : 1;
  const size_t rows = static_cast<size_t>(p.batch) * g.height;
  parallel_for(pool, threads, [&](size_t t) {
    pad_rows(p, g, src, offset, pad_byte, rows * t / threads, rows * (t + 1) / threads, scratch);
  });
  // The slack, which only zero weights read, set anyway.
  const size_t used = rows * g.row_bytes(), image = image_bytes(p);
  std::memset(scratch + used, pad_byte, image - used);

  const Segments s = segments_of(p);
  auto* offsets = reinterpret_cast<size_t*>(scratch + image);
  size_t* rows_below = offsets + s.count + 1;
  for (size_t t = 0; t < s.count; ++t) {
    const size_t kh = p.dilation_w == 1 ? t : t / static_cast<size_t>(p.kernel_w);
    const size_t kw = p.dilation_w == 1 ? 0 : t % static_cast<size_t>(p.kernel_w);
    rows_below[t] = kh * static_cast<size_t>(p.dilation_h);
    offsets[t] = rows_below[t] * g.row_bytes() + kw * static_cast<size_t>(p.dilation_w) * g.channels;
  }
  offsets[s.count] = rows_below[s.count] = 0;
  GemmWindows windows;
  windows.image = scratch;
  windows.image_bytes = g.image_bytes();
  windows.out_h = static_cast<size_t>(p.out_h);
  windows.out_w = static_cast<size_t>(p.out_w);
  windows.row_step = static_cast<size_t>(p.stride_h) * g.row_bytes();
  windows.pixel_step = static_cast<size_t>(p.stride_w) * g.channels;
  windows.segment_offsets = offsets;
  windows.segment_steps = s.steps;
  // Padding is u = 0 when the zero point is the offset (ResNet's uint8
  // activations): its products are 0, and the segments that read only
  // padding rows can be skipped (oneDNN's convolutions skip them too).
  if (pad_byte == 0) {
    windows.segment_rows = rows_below;
    windows.segment_count = s.count;
    windows.stride_h = static_cast<size_t>(p.stride_h);
    windows.first_image_row = static_cast<size_t>(p.pad_top);
    windows.image_rows = static_cast<size_t>(p.in_h);
    skip_padding_columns(p, rows_below + s.count + 1, &windows);
  }

  const size_t M = static_cast<size_t>(p.batch * p.out_h * p.out_w);
  GemmArgs args{nullptr, M, 0, dst, static_cast<size_t>(p.out_c), pool, scratch + conv_direct_shared_scratch_bytes(p)};
  args.windows = &windows;
  args.slice_bytes = plan.scratch_bytes_per_thread;
  plan.variant->run(plan, args);
}

}  // namespace dyad::kernels
