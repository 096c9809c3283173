// The packed V:N:M weight representation (docs/vnm.md "Packed layout"): how a
// dense N x K int8/int4 weight matrix that satisfies V:2:M is stored, and the
// functions that build, read and check it. The same bytes are the model-file
// payload of a V:N:M tensor, the kernels' input, and the output of the Python
// packer (models/vnm/pack.py), byte for byte.
//
// Geometry (y = W x, W is N output channels x K input channels, row-major):
//   - W is cut into V x M blocks: V consecutive rows x M consecutive columns
//     (a "group" of columns). In each block the same 4 columns (the kept
//     columns) are used by all V rows, and each row keeps 2 of those 4.
//   - N is padded with zero rows to n_pad (a multiple of V), K with zero
//     columns to k_pad (a multiple of 2M: the kernels step over group pairs).
//
// The blob has three sections, each starting at a multiple of 64 bytes
// (octet = 8 consecutive rows, gp = group pair (2*gp, 2*gp + 1)):
//   values    [n_pad/8][k_pad/(2M)][8 rows][4]  int8: for row r of the octet the
//             4 bytes are (first, second kept value of group 2gp, first, second
//             kept value of group 2gp+1), "first" = lower column.
//             int4: the 32 values of one (octet, gp) unit, v[0..31] in the int8
//             order, as 16 bytes: byte j = (v[j] & 15) | (v[j + 16] & 15) << 4.
//   positions [n_pad/8][k_pad/(2M)][8 rows]  uint8: bits 1:0 and 3:2 = the
//             indices (0..3, p0 < p1) of the row's two kept values among the 4
//             kept columns of group 2gp; bits 5:4 and 7:6 the same for 2gp+1.
//   columns   [n_pad/V][k_pad/M][4]  uint8: the kept column offsets (0..M-1,
//             strictly ascending) of each block and group.
// Padding rows and padding columns hold zero values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dyad::kernels {

// The pattern and the logical (unpadded) matrix size. N = 2 is implied.
struct VnmShape {
  int32_t n = 0;           // output channels (rows)
  int32_t k = 0;           // input channels (columns, the reduction)
  int32_t v = 64;          // rows per block: a multiple of 8 in [8, 1024]
  int32_t m = 8;           // columns per group, in [4, 128]
  int32_t value_bits = 8;  // 8: int8 values; 4: int4 values (-8..7)
};

constexpr int32_t kVnmMaxDim = 1 << 24;
constexpr int32_t kVnmMaxV = 1024;
constexpr int32_t kVnmMinM = 4;
constexpr int32_t kVnmMaxM = 128;

// Sizes and offsets of the blob for a shape (all derived, nothing stored).
struct VnmLayout {
  int64_t n_pad = 0, k_pad = 0;
  int64_t groups = 0;       // k_pad / m
  int64_t group_pairs = 0;  // k_pad / (2m)
  int64_t octets = 0;       // n_pad / 8
  int64_t blocks = 0;       // n_pad / v
  size_t values_offset = 0, values_bytes = 0;
  size_t positions_offset = 0, positions_bytes = 0;
  size_t columns_offset = 0, columns_bytes = 0;
  size_t total_bytes = 0;  // columns_offset + columns_bytes
};

// Every function returns "" on success or a message saying what is wrong.

// Checks the shape and computes its layout.
std::string vnm_layout(const VnmShape& shape, VnmLayout* layout);

// Packs a dense row-major N x K matrix (int8 containers; values in [-8, 7]
// when value_bits is 4) that satisfies V:2:M into blob (resized to
// total_bytes). Canonical choice where the matrix leaves freedom: a block's
// kept columns are its columns holding a nonzero, completed with the lowest
// other columns; a row's two positions are its nonzeros, completed with the
// lowest other positions. Fails, naming the rows and columns, if a block has
// nonzeros in more than 4 columns of a group or a row more than 2 in a group.
std::string vnm_pack(const VnmShape& shape, const int8_t* dense, std::vector<uint8_t>* blob);

// Checks a blob of `bytes` bytes for `shape` (the model loader calls this):
// size, every kept column in range and strictly ascending, every row's two
// positions distinct and ascending, zero values in padding rows and columns,
// and zero bytes between sections.
std::string vnm_validate(const VnmShape& shape, const uint8_t* blob, size_t bytes);

// The dense N x K matrix of a valid blob (tests, tools).
std::string vnm_unpack(const VnmShape& shape, const uint8_t* blob, size_t bytes, int8_t* dense);

// Element accessors of the blob (portable code: the reference kernel, packer,
// validator). `unit` = octet * group_pairs + gp, `slot` = 4 * row_in_octet +
// 2 * (group & 1) + j.
inline int8_t vnm_value(const uint8_t* values, int32_t value_bits, int64_t unit, int slot) {
  if (value_bits == 8) return static_cast<int8_t>(values[unit * 32 + slot]);
  const uint8_t byte = values[unit * 16 + slot % 16];
  const int nib = slot < 16 ? byte & 15 : byte >> 4;
  return static_cast<int8_t>(nib >= 8 ? nib - 16 : nib);
}

}  // namespace dyad::kernels
