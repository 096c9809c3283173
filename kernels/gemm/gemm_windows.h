// Direct convolution (kernels/conv2d/conv_direct.cc): the GEMM's source rows
// are the windows of output pixels, which the tiles read where they lie in a
// padded copy of the image (already src - src_offset) instead of a packed
// block. Output pixel (image, oh, ow) has its window origin at image + image
// * image_bytes + oh * row_step + ow * pixel_step. Its k values come in
// segments of segment_steps k quads (a kernel row of adjacent taps, or one
// tap), segment t starting segment_offsets[t] bytes past the origin; the
// weights' K runs over the segments in order.
//
// The GEMM drive asks for an M block's register tiles (block_tiles): which
// pixels each tile's rows are, which of their k steps can hold a non-zero
// product, and where its outputs go.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dyad::kernels {

// One register tile of an M block: rows [r0, r0 + rows) of the block, whose
// window origins block_tiles wrote at origin[r0 ..]. Only steps [lo_step,
// hi_step) can hold a non-zero product for some row, and within every
// segment only steps [col_lo, col_hi) of it: the tile skips the rest.
// Outputs: a row tile's rows are output rows dst_row, dst_row + 1, ...; a
// column tile's (dst_column set) are pixel column dst_column of the image
// rows dst_row, dst_row + 1, ... (counted over batch * out_h).
struct WindowTile {
  static constexpr size_t kRowTile = SIZE_MAX;
  uint32_t r0 = 0, rows = 0;
  size_t lo_step = 0, hi_step = 0;
  size_t col_lo = 0, col_hi = 0;
  size_t dst_row = 0;
  size_t dst_column = kRowTile;
};

struct GemmWindows {
  const uint8_t* image = nullptr;
  size_t image_bytes = 0;
  size_t out_h = 0, out_w = 0;
  size_t row_step = 0, pixel_step = 0;
  const size_t* segment_offsets = nullptr;
  size_t segment_steps = 0;
  // Optional (null: none skipped): when the padding rows hold u = 0, a tile
  // skips the segments whose window row, padded row oh * stride_h +
  // segment_rows[t], lies outside the image rows [first_image_row,
  // first_image_row + image_rows) for every one of its pixels (their
  // products are all 0). Such segments are the first and the last few of a
  // window, so the rest are one range of steps.
  const size_t* segment_rows = nullptr;
  size_t segment_count = 0, stride_h = 1, first_image_row = 0, image_rows = 0;
  // Optional too (null: every column reads whole segments), with
  // segment_rows and segments that are kernel rows of whole-quad taps: the
  // steps [column_lo[ow], column_hi[ow]) of each segment are the taps of
  // pixel column ow that read image columns, the others read padding (u =
  // 0). Columns [full_lo, full_hi) read whole segments. The pixels of the
  // other columns (ResNet's first and last: a sixth of the taps of a 7x7
  // map) are then tiled down their column, so that a tile's pixels share
  // their padding columns and skip them; the rest are tiled along their
  // output row, a tile never spanning two rows, so that the top and bottom
  // rows' tiles skip their padding rows whole.
  const size_t* column_lo = nullptr;
  const size_t* column_hi = nullptr;
  size_t full_lo = 0, full_hi = 0;

  // The tiles of the M block of `rows` rows from m0, at most tile_rows rows
  // each, into tiles (at most `rows` of them); the count. Without column_lo
  // M row m is output pixel m, tiled in runs of tile_rows pixels (a tile may
  // span output rows and images). With it, each image's pixels are ordered
  // as the tiling above needs: the full columns' pixels row by row, then
  // each other column's top to bottom.
  size_t block_tiles(size_t m0, size_t rows, size_t tile_rows, const uint8_t** origin, WindowTile* tiles) const;

 private:
  size_t pixel_tiles(size_t m0, size_t rows, size_t tile_rows, const uint8_t** origin, WindowTile* tiles) const;
  size_t column_tiles(size_t m0, size_t rows, size_t tile_rows, const uint8_t** origin, WindowTile* tiles) const;
  const uint8_t* origin_of(size_t image_index, size_t oh, size_t ow) const {
    return image + image_index * image_bytes + oh * row_step + ow * pixel_step;
  }
  // The steps of the segments that read an image row for a pixel in output
  // rows [first, last] of one image (all of them across two images).
  void live_range(size_t first, size_t last, bool two_images, size_t* lo_step, size_t* hi_step) const;
};

}  // namespace dyad::kernels
