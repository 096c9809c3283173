#include "kernels/gemm/gemm_windows.h"

#include <algorithm>

namespace dyad::kernels {

// Called once per M block and thread, not per tile and K block: the
// divisions of a per-tile origin took 2-3 % of ResNet-18.
size_t GemmWindows::block_tiles(size_t m0, size_t rows, size_t tile_rows, const uint8_t** origin,
                                WindowTile* tiles) const {
  return column_lo != nullptr ? column_tiles(m0, rows, tile_rows, origin, tiles)
                              : pixel_tiles(m0, rows, tile_rows, origin, tiles);
}

size_t GemmWindows::pixel_tiles(size_t m0, size_t rows, size_t tile_rows, const uint8_t** origin,
                                WindowTile* tiles) const {
  const size_t pixels = out_h * out_w;
  size_t image_index = m0 / pixels, oh = m0 % pixels / out_w, ow = m0 % out_w;
  size_t count = 0;
  for (size_t t0 = 0; t0 < rows; t0 += tile_rows) {
    const size_t first_oh = oh, first_image = image_index, n = std::min(rows - t0, tile_rows);
    size_t last_oh = oh, last_image = image_index;
    for (size_t i = t0; i < t0 + n; ++i) {
      origin[i] = origin_of(image_index, oh, ow);
      last_oh = oh, last_image = image_index;
      if (++ow == out_w) {
        ow = 0;
        if (++oh == out_h) oh = 0, ++image_index;
      }
    }
    WindowTile& tile = tiles[count++];
    tile.r0 = static_cast<uint32_t>(t0);
    tile.rows = static_cast<uint32_t>(n);
    live_range(first_oh, last_oh, first_image != last_image, &tile.lo_step, &tile.hi_step);
    tile.col_lo = 0;
    tile.col_hi = segment_steps;
    tile.dst_row = m0 + t0;
    tile.dst_column = WindowTile::kRowTile;
  }
  return count;
}

size_t GemmWindows::column_tiles(size_t m0, size_t rows, size_t tile_rows, const uint8_t** origin,
                                 WindowTile* tiles) const {
  const size_t pixels = out_h * out_w, full_w = full_hi - full_lo, full_pixels = out_h * full_w;
  size_t image_index = m0 / pixels, pos = m0 % pixels;
  size_t count = 0;
  for (size_t r = 0; r < rows;) {
    // The run of pixels from pos: the rest of a full-column row, or of an
    // edge column (the edge columns are the pixel columns outside [full_lo,
    // full_hi), in order).
    const bool column = pos >= full_pixels;
    size_t oh, ow, run;
    if (!column) {
      oh = pos / full_w, ow = full_lo + pos % full_w, run = full_w - pos % full_w;
    } else {
      const size_t edge = (pos - full_pixels) / out_h;
      oh = (pos - full_pixels) % out_h, ow = edge < full_lo ? edge : full_hi + (edge - full_lo), run = out_h - oh;
    }
    // Near-equal tiles (a column of 7 as 4 + 3, not 6 + 1; a row of 26 as
    // 6 + 5 + 5 + 5 + 5, not 6 + 6 + 6 + 6 + 2): a short tile loads as
    // many weight vectors per step for fewer products. 1-3 % faster on
    // ResNet-18's 3x3 convs.
    const size_t left = std::min(run, rows - r), tiles_left = (left + tile_rows - 1) / tile_rows;
    const size_t n = (left + tiles_left - 1) / tiles_left;
    for (size_t i = 0; i < n; ++i)
      origin[r + i] = column ? origin_of(image_index, oh + i, ow) : origin_of(image_index, oh, ow + i);
    WindowTile& tile = tiles[count++];
    tile.r0 = static_cast<uint32_t>(r);
    tile.rows = static_cast<uint32_t>(n);
    live_range(oh, column ? oh + n - 1 : oh, false, &tile.lo_step, &tile.hi_step);
    tile.col_lo = column ? column_lo[ow] : 0;
    tile.col_hi = column ? column_hi[ow] : segment_steps;
    tile.dst_row = column ? image_index * out_h + oh : image_index * pixels + oh * out_w + ow;
    tile.dst_column = column ? ow : WindowTile::kRowTile;
    r += n;
    pos += n;
    if (pos == pixels) pos = 0, ++image_index;
  }
  return count;
}

void GemmWindows::live_range(size_t first, size_t last, bool two_images, size_t* lo_step, size_t* hi_step) const {
  size_t lo = 0, hi = segment_count;
  if (segment_rows != nullptr && !two_images) {
    const size_t end_row = first_image_row + image_rows;
    while (lo < hi && last * stride_h + segment_rows[lo] < first_image_row) ++lo;
    while (hi > lo && first * stride_h + segment_rows[hi - 1] >= end_row) --hi;
  } else {
    hi = SIZE_MAX / segment_steps;
  }
  *lo_step = lo * segment_steps;
  *hi_step = hi * segment_steps;
}

}  // namespace dyad::kernels
