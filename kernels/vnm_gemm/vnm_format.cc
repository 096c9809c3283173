// Packing, unpacking and validation of the V:N:M blob (vnm_format.h). Plain
// loops: this runs once per layer at load time, and must agree byte for byte
// with the Python packer (models/vnm/pack.py).
#include "kernels/vnm_gemm/vnm_format.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>

#include "kernels/common/strfmt.h"

namespace dyad::kernels {
namespace {

size_t align64(size_t x) { return (x + 63) / 64 * 64; }

// "rows a..b, group g (columns c..d)" for error messages.
std::string where(const VnmShape& s, int64_t block, int64_t g) {
  return strfmt("rows %" PRId64 "..%" PRId64 ", group %" PRId64 " (columns %" PRId64 "..%" PRId64 ")",
             block * s.v, block * s.v + s.v - 1, g, g * s.m, g * s.m + s.m - 1);
}

std::string list(const int64_t* v, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out;
}

// The (octet, gp) unit and the slot of row r, group g, kept value j.
int64_t unit_of(const VnmLayout& l, int64_t r, int64_t g) { return (r / 8) * l.group_pairs + g / 2; }
int slot_of(int64_t r, int64_t g, int j) { return static_cast<int>(4 * (r % 8) + 2 * (g % 2) + j); }

void put_value(uint8_t* values, int32_t bits, int64_t unit, int slot, int8_t v) {
  if (bits == 8) {
    values[unit * 32 + slot] = static_cast<uint8_t>(v);
    return;
  }
  uint8_t& byte = values[unit * 16 + slot % 16];
  const uint8_t nib = static_cast<uint8_t>(v) & 15;
  byte = slot < 16 ? static_cast<uint8_t>((byte & 0xF0) | nib) : static_cast<uint8_t>((byte & 0x0F) | (nib << 4));
}

// Positions of row r in group g from its byte: (p0, p1).
void positions_of(uint8_t byte, int64_t g, int* p0, int* p1) {
  const int shift = 4 * static_cast<int>(g % 2);
  *p0 = (byte >> shift) & 3;
  *p1 = (byte >> (shift + 2)) & 3;
}

}  // namespace

std::string vnm_layout(const VnmShape& s, VnmLayout* l) {
  if (s.n < 1 || s.n > kVnmMaxDim) return strfmt("vnm: N = %d is outside [1, %d]", s.n, kVnmMaxDim);
  if (s.k < 1 || s.k > kVnmMaxDim) return strfmt("vnm: K = %d is outside [1, %d]", s.k, kVnmMaxDim);
  if (s.v < 8 || s.v > kVnmMaxV || s.v % 8 != 0) {
    return strfmt("vnm: V = %d must be a multiple of 8 in [8, %d]", s.v, kVnmMaxV);
  }
  if (s.m < kVnmMinM || s.m > kVnmMaxM) {
    return strfmt("vnm: M = %d is outside [%d, %d]", s.m, kVnmMinM, kVnmMaxM);
  }
  if (s.value_bits != 8 && s.value_bits != 4) {
    return strfmt("vnm: value_bits = %d (must be 8 or 4)", s.value_bits);
  }
  VnmLayout out;
  out.n_pad = (int64_t{s.n} + s.v - 1) / s.v * s.v;
  out.k_pad = (int64_t{s.k} + 2 * s.m - 1) / (2 * s.m) * (2 * s.m);
  out.groups = out.k_pad / s.m;
  out.group_pairs = out.groups / 2;
  out.octets = out.n_pad / 8;
  out.blocks = out.n_pad / s.v;
  const size_t units = size_t(out.octets) * out.group_pairs;
  out.values_offset = 0;
  out.values_bytes = units * (s.value_bits == 8 ? 32 : 16);
  out.positions_offset = align64(out.values_bytes);
  out.positions_bytes = units * 8;
  out.columns_offset = align64(out.positions_offset + out.positions_bytes);
  out.columns_bytes = size_t(out.blocks) * out.groups * 4;
  out.total_bytes = out.columns_offset + out.columns_bytes;
  *l = out;
  return "";
}

std::string vnm_pack(const VnmShape& s, const int8_t* dense, std::vector<uint8_t>* blob) {
  VnmLayout l;
  std::string error = vnm_layout(s, &l);
  if (!error.empty()) return error;
  if (dense == nullptr) return "vnm_pack: the dense matrix is missing";
  const int8_t lo = s.value_bits == 4 ? -8 : -128, hi = s.value_bits == 4 ? 7 : 127;
  for (int64_t i = 0; i < int64_t{s.n} * s.k; ++i) {
    if (dense[i] < lo || dense[i] > hi) {
      return strfmt("vnm_pack: w[%" PRId64 ", %" PRId64 "] = %d is outside the int%d range", i / s.k,
                 i % s.k, dense[i], s.value_bits);
    }
  }
  try {
    blob->assign(l.total_bytes, 0);
  } catch (const std::bad_alloc&) {
    return "vnm_pack: out of memory";
  }
  uint8_t* values = blob->data() + l.values_offset;
  uint8_t* positions = blob->data() + l.positions_offset;
  uint8_t* columns = blob->data() + l.columns_offset;
  auto at = [&](int64_t r, int64_t k) -> int8_t { return r < s.n && k < s.k ? dense[r * s.k + k] : 0; };
  std::vector<uint8_t> used(s.m);
  for (int64_t b = 0; b < l.blocks; ++b) {
    for (int64_t g = 0; g < l.groups; ++g) {
      // Kept columns: the columns with a nonzero, then the lowest others.
      std::fill(used.begin(), used.end(), 0);
      int64_t nz[kVnmMaxM];
      int count = 0;
      for (int64_t c = 0; c < s.m; ++c) {
        for (int64_t r = b * s.v; r < (b + 1) * s.v; ++r) {
          if (at(r, g * s.m + c) != 0) {
            nz[count++] = c;
            used[c] = 1;
            break;
          }
        }
      }
      if (count > 4) {
        for (int i = 0; i < count; ++i) nz[i] += g * s.m;
        return strfmt("vnm_pack: %s: nonzeros in %d columns (%s); V:2:M allows 4", where(s, b, g).c_str(),
                   count, list(nz, count).c_str());
      }
      int64_t kept[4];
      std::copy(nz, nz + count, kept);
      for (int64_t c = 0; count < 4; ++c) {
        if (!used[c]) kept[count++] = c;
      }
      std::sort(kept, kept + 4);
      for (int j = 0; j < 4; ++j) columns[(b * l.groups + g) * 4 + j] = static_cast<uint8_t>(kept[j]);
      // Each row: its nonzero positions, then the lowest others.
      for (int64_t r = b * s.v; r < (b + 1) * s.v; ++r) {
        int pos[4], npos = 0;
        bool taken[4] = {false, false, false, false};
        for (int j = 0; j < 4; ++j) {
          if (at(r, g * s.m + kept[j]) != 0) {
            if (npos == 2) {
              int64_t cols[4], nc = 0;
              for (int i = 0; i < 4; ++i)
                if (at(r, g * s.m + kept[i]) != 0) cols[nc++] = g * s.m + kept[i];
              return strfmt("vnm_pack: row %" PRId64 ", group %" PRId64 ": %d nonzeros (columns %s); V:2:M allows 2",
                         r, g, int(nc), list(cols, int(nc)).c_str());
            }
            pos[npos++] = j;
            taken[j] = true;
          }
        }
        for (int j = 0; npos < 2; ++j) {
          if (!taken[j]) pos[npos++] = j;
        }
        std::sort(pos, pos + 2);
        const int64_t unit = unit_of(l, r, g);
        positions[unit * 8 + r % 8] |= static_cast<uint8_t>((pos[0] | pos[1] << 2) << (4 * (g % 2)));
        for (int j = 0; j < 2; ++j) {
          put_value(values, s.value_bits, unit, slot_of(r, g, j), at(r, g * s.m + kept[pos[j]]));
        }
      }
    }
  }
  return "";
}

std::string vnm_validate(const VnmShape& s, const uint8_t* blob, size_t bytes) {
  VnmLayout l;
  std::string error = vnm_layout(s, &l);
  if (!error.empty()) return error;
  if (bytes != l.total_bytes) {
    return strfmt("vnm: the packed data has %zu bytes; N = %d, K = %d, V = %d, M = %d, int%d needs %zu",
               bytes, s.n, s.k, s.v, s.m, s.value_bits, l.total_bytes);
  }
  if (blob == nullptr) return "vnm: the packed data is missing";
  const uint8_t* values = blob + l.values_offset;
  const uint8_t* positions = blob + l.positions_offset;
  const uint8_t* columns = blob + l.columns_offset;
  for (size_t i = l.values_bytes; i < l.positions_offset; ++i) {
    if (blob[i] != 0) return strfmt("vnm: padding byte %zu after the values section is %d, not 0", i, blob[i]);
  }
  for (size_t i = l.positions_offset + l.positions_bytes; i < l.columns_offset; ++i) {
    if (blob[i] != 0) return strfmt("vnm: padding byte %zu after the positions section is %d, not 0", i, blob[i]);
  }
  for (int64_t b = 0; b < l.blocks; ++b) {
    for (int64_t g = 0; g < l.groups; ++g) {
      const uint8_t* c = columns + (b * l.groups + g) * 4;
      for (int j = 0; j < 4; ++j) {
        if (c[j] >= s.m) {
          return strfmt("vnm: %s: kept column offset %d is not below M = %d", where(s, b, g).c_str(), c[j], s.m);
        }
      }
      if (!(c[0] < c[1] && c[1] < c[2] && c[2] < c[3])) {
        return strfmt("vnm: %s: kept column offsets (%d, %d, %d, %d) are not 4 distinct ascending offsets",
                   where(s, b, g).c_str(), c[0], c[1], c[2], c[3]);
      }
    }
  }
  for (int64_t r = 0; r < l.n_pad; ++r) {
    const int64_t b = r / s.v;
    for (int64_t g = 0; g < l.groups; ++g) {
      const int64_t unit = unit_of(l, r, g);
      int p[2];
      positions_of(positions[unit * 8 + r % 8], g, &p[0], &p[1]);
      if (p[0] >= p[1]) {
        return strfmt("vnm: row %" PRId64 ", group %" PRId64 ": positions (%d, %d) are not 2 distinct ascending indices",
                   r, g, p[0], p[1]);
      }
      for (int j = 0; j < 2; ++j) {
        const int8_t v = vnm_value(values, s.value_bits, unit, slot_of(r, g, j));
        const int64_t col = g * s.m + columns[(b * l.groups + g) * 4 + p[j]];
        if (v != 0 && (r >= s.n || col >= s.k)) {
          return strfmt("vnm: row %" PRId64 ", column %" PRId64 ": value %d in padding (N = %d, K = %d) must be 0",
                     r, col, v, s.n, s.k);
        }
      }
    }
  }
  return "";
}

std::string vnm_unpack(const VnmShape& s, const uint8_t* blob, size_t bytes, int8_t* dense) {
  std::string error = vnm_validate(s, blob, bytes);
  if (!error.empty()) return error;
  VnmLayout l;
  vnm_layout(s, &l);
  std::memset(dense, 0, size_t(s.n) * s.k);
  const uint8_t* values = blob + l.values_offset;
  const uint8_t* positions = blob + l.positions_offset;
  const uint8_t* columns = blob + l.columns_offset;
  for (int64_t r = 0; r < s.n; ++r) {
    for (int64_t g = 0; g < l.groups; ++g) {
      const int64_t unit = unit_of(l, r, g);
      int p[2];
      positions_of(positions[unit * 8 + r % 8], g, &p[0], &p[1]);
      for (int j = 0; j < 2; ++j) {
        const int64_t col = g * s.m + columns[((r / s.v) * l.groups + g) * 4 + p[j]];
        if (col < s.k) dense[r * s.k + col] = vnm_value(values, s.value_bits, unit, slot_of(r, g, j));
      }
    }
  }
  return "";
}

}  // namespace dyad::kernels
