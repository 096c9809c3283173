#include "engine/cli/npy.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "engine/core/checked_math.h"
#include "engine/core/limits.h"
#include "engine/format/file_io.h"

namespace dyad::cli {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;

struct TypeInfo {
  NpyType type;
  std::string_view descr;
  size_t bytes;
};
constexpr TypeInfo kTypes[] = {
    {NpyType::kI1, "|i1", 1}, {NpyType::kU1, "|u1", 1}, {NpyType::kI2, "<i2", 2},
    {NpyType::kI4, "<i4", 4}, {NpyType::kI8, "<i8", 8}, {NpyType::kF4, "<f4", 4},
    {NpyType::kF8, "<f8", 8},
};

Status parse_error(std::string_view source, const std::string& what) {
  return Status(StatusCode::kParseError, std::string(source) + ": not a valid .npy file: " + what);
}

// A reader for the header: a Python dict literal such as
// {'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }
  std::optional<std::string> string() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) return std::nullopt;
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) return std::nullopt;
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  std::optional<bool> boolean() {
    skip_space();
    for (auto [word, value] : {std::pair{std::string_view("True"), true}, {"False", false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    return std::nullopt;
  }
  std::optional<int64_t> integer() {
    skip_space();
    int64_t v = 0;
    size_t digits = 0;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      if (v > (INT64_MAX - 9) / 10) return std::nullopt;
      v = v * 10 + (text_[pos_++] - '0');
      ++digits;
    }
    // Python 2 era files may write 3L.
    if (digits > 0 && pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
    return digits > 0 ? std::optional<int64_t>(v) : std::nullopt;
  }
  // A tuple of non-negative ints: (), (3,), (2, 3) or (2, 3,).
  std::optional<Shape> tuple() {
    if (!eat('(')) return std::nullopt;
    Shape shape;
    while (!eat(')')) {
      std::optional<int64_t> d = integer();
      if (!d) return std::nullopt;
      shape.push_back(*d);
      if (!eat(',') && !peek(')')) return std::nullopt;
    }
    return shape;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

Status parse_header(std::string_view header, std::string_view source, NpyArray* out) {
  HeaderParser p(header);
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<Shape> shape;
  if (!p.eat('{')) return parse_error(source, "the header is not a dict");
  while (!p.eat('}')) {
    std::optional<std::string> key = p.string();
    if (!key || !p.eat(':')) return parse_error(source, "malformed header dict");
    if (*key == "descr") {
      if (!(descr = p.string())) return parse_error(source, "'descr' is not a string");
    } else if (*key == "fortran_order") {
      if (!(fortran = p.boolean())) return parse_error(source, "'fortran_order' is not True/False");
    } else if (*key == "shape") {
      if (!(shape = p.tuple())) return parse_error(source, "'shape' is not a tuple of ints");
    } else {
      return parse_error(source, "unknown header key '" + *key + "'");
    }
    if (!p.eat(',') && !p.peek('}')) return parse_error(source, "malformed header dict");
  }
  if (!p.at_end()) return parse_error(source, "text after the header dict");
  if (!descr || !fortran || !shape)
    return parse_error(source, "the header lacks 'descr', 'fortran_order' or 'shape'");
  if (*fortran)
    return Status(StatusCode::kUnsupported,
                  std::string(source) +
                      ": Fortran-order arrays are not supported; save a C-order array "
                      "(np.ascontiguousarray)");
  // NumPy writes '|i1' for int8; '<i1' and '>i1' mean the same, accept them too.
  std::string d = *descr;
  if (d.size() == 3 && (d[0] == '<' || d[0] == '>') && d[2] == '1') d[0] = '|';
  for (const TypeInfo& t : kTypes) {
    if (t.descr == d) {
      out->type = t.type;
      out->shape = *shape;
      return Status::ok();
    }
  }
  return Status(StatusCode::kUnsupported,
                std::string(source) + ": dtype '" + *descr +
                    "' is not supported (use one of |i1 |u1 <i2 <i4 <i8 <f4 <f8, little-endian)");
}

}  // namespace

std::string_view npy_descr(NpyType type) { return kTypes[static_cast<int>(type)].descr; }
size_t npy_item_bytes(NpyType type) { return kTypes[static_cast<int>(type)].bytes; }
bool npy_is_float(NpyType type) { return type == NpyType::kF4 || type == NpyType::kF8; }

NpyType npy_type_of(DType dtype) {
  switch (dtype) {
    case DType::kInt8:
    case DType::kInt4: return NpyType::kI1;
    case DType::kUint8:
    case DType::kUint4: return NpyType::kU1;
    case DType::kInt16: return NpyType::kI2;
    case DType::kInt32: return NpyType::kI4;
    case DType::kInt64: return NpyType::kI8;
  }
  return NpyType::kI1;
}

Status parse_npy(std::string_view bytes, std::string_view source, NpyArray* out) {
  if (bytes.size() < kMagicBytes + 2 || bytes.substr(0, kMagicBytes) != kMagic)
    return parse_error(source, "missing the \\x93NUMPY magic");
  const uint8_t major = static_cast<uint8_t>(bytes[6]);
  const uint8_t minor = static_cast<uint8_t>(bytes[7]);
  // Version 1 stores the header length in 2 bytes, versions 2 and 3 in 4.
  const size_t len_bytes = major == 1 ? 2 : 4;
  if ((major < 1 || major > 3) || minor != 0)
    return Status(StatusCode::kUnsupported, std::string(source) + ": .npy format version " +
                                                std::to_string(major) + "." +
                                                std::to_string(minor) +
                                                " is not supported (1.0, 2.0, 3.0 are)");
  size_t pos = kMagicBytes + 2;
  if (bytes.size() < pos + len_bytes) return parse_error(source, "truncated header length");
  size_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i)
    header_len |= static_cast<size_t>(static_cast<uint8_t>(bytes[pos + i])) << (8 * i);
  pos += len_bytes;
  if (bytes.size() - pos < header_len)
    return parse_error(source, "the header says " + std::to_string(header_len) +
                                   " bytes but the file is shorter");
  NpyArray array;
  DYAD_RETURN_IF_ERROR(parse_header(bytes.substr(pos, header_len), source, &array));
  pos += header_len;

  // Every partial product of the dims must stay within the engine's element
  // limit, so the zero dimensions count as 1 here: a zero-sized array does not
  // excuse dimensions whose product overflows, since later code (the writer,
  // strides, the session's input check) multiplies them in any order.
  const size_t item = npy_item_bytes(array.type);
  if (static_cast<int64_t>(array.shape.size()) > limits::kMaxRank)
    return parse_error(source, "shape " + shape_to_string(array.shape) + " has more than " +
                                   std::to_string(limits::kMaxRank) + " dimensions");
  Shape nonzero_dims;
  for (int64_t d : array.shape) nonzero_dims.push_back(d == 0 ? 1 : d);
  if (!product_within<int64_t>(nonzero_dims, limits::kMaxTensorElements))
    return parse_error(source, "shape " + shape_to_string(array.shape) +
                                   " is too large: its nonzero dimensions multiply to more than "
                                   "2^32 elements");
  const size_t data_bytes = static_cast<size_t>(shape_elements(array.shape)) * item;
  const size_t have = bytes.size() - pos;
  if (have != data_bytes)
    return parse_error(source, "shape " + shape_to_string(array.shape) + " of " +
                                   std::string(npy_descr(array.type)) + " needs " +
                                   std::to_string(data_bytes) + " data bytes, the file has " +
                                   std::to_string(have));
  array.data.assign(bytes.begin() + pos, bytes.end());
  *out = std::move(array);
  return Status::ok();
}

// A header beyond this is not one NumPy writes (it pads to 64 bytes).
constexpr uint64_t kMaxNpyHeaderBytes = uint64_t{1} << 20;

Status read_npy(const std::string& path, NpyArray* out) {
  // Through the engine's reader: a regular file only (a FIFO or device is
  // refused before it can block or stream forever), at most one tensor's
  // bytes plus a header, read in one allocation.
  std::shared_ptr<AlignedBuffer> bytes;
  DYAD_RETURN_IF_ERROR(read_whole_file(path, "dyad", ".npy file",
                                       static_cast<uint64_t>(limits::kMaxTensorBytes) + kMaxNpyHeaderBytes,
                                       &bytes));
  return parse_npy(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), path, out);
}

std::string serialize_npy(NpyType type, const Shape& shape, const void* data) {
  std::string shape_text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) shape_text += ", ";
    shape_text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) shape_text += ",";
  shape_text += ")";
  std::string header = "{'descr': '" + std::string(npy_descr(type)) +
                       "', 'fortran_order': False, 'shape': " + shape_text + ", }";
  // Pad with spaces and a final newline so the data starts 64-byte aligned, as NumPy does.
  const size_t prefix = kMagicBytes + 2 + 2;
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';

  std::string out(kMagic, kMagicBytes);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  const size_t data_bytes = static_cast<size_t>(shape_elements(shape)) * npy_item_bytes(type);
  out.append(static_cast<const char*>(data), data_bytes);
  return out;
}

Status write_npy(const std::string& path, NpyType type, const Shape& shape, const void* data) {
  const std::string bytes = serialize_npy(type, shape, data);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status(StatusCode::kIoError, path + ": cannot create: " + std::strerror(errno));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return Status(StatusCode::kIoError, path + ": write error");
  return Status::ok();
}

}  // namespace dyad::cli
