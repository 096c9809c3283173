#include "engine/format/weights.h"

#include "engine/format/loader.h"
#include "engine/format/resident_pages.h"

namespace dyad {

std::string hex64(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) s[i] = kDigits[value & 0xF];
  return s;
}

namespace {

bool parse_hex64(const std::string& s, uint64_t* out) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d = 0;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = v << 4 | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace

Status read_weights_spec(const JsonFields& top, const nlohmann::json& value, WeightsSpec* out) {
  DYAD_RETURN_IF_ERROR(top.as_object(value, "weights"));
  const JsonFields w = top.nested(value, "weights");
  DYAD_RETURN_IF_ERROR(w.check_known({"file", "bytes", "fnv1a64"}));
  WeightsSpec spec;
  DYAD_RETURN_IF_ERROR(w.get_string("file", &spec.file));
  if (spec.file.empty()) return w.error("file", "must not be empty");
  if (spec.file.find('\0') != std::string::npos)
    return w.error("file", "must not contain a NUL character (\\u0000)");
  int64_t bytes = 0;
  DYAD_RETURN_IF_ERROR(w.get_int("bytes", &bytes));
  if (bytes < 0) return w.error("bytes", "expected a size >= 0, got " + std::to_string(bytes));
  spec.bytes = static_cast<uint64_t>(bytes);
  std::string hash;
  DYAD_RETURN_IF_ERROR(w.get_string("fnv1a64", &hash));
  if (!parse_hex64(hash, &spec.fnv1a64))
    return w.error("fnv1a64", "expected 16 lowercase hex digits, got \"" + hash + "\"");
  *out = std::move(spec);
  return Status::ok();
}

Status check_weights_size(const JsonFields& top, const WeightsSpec& spec, uint64_t size,
                          const std::string& shown_name) {
  if (size < spec.bytes) {
    return top.error("weights.bytes", "weights file '" + shown_name + "' is truncated: it has " +
                                          std::to_string(size) + " bytes, the model expects " +
                                          std::to_string(spec.bytes));
  }
  if (size > spec.bytes) {
    return top.error("weights.bytes", "weights file '" + shown_name + "' is larger than expected: it has " +
                                          std::to_string(size) + " bytes, the model expects " +
                                          std::to_string(spec.bytes));
  }
  return Status::ok();
}

Status check_weights_checksum(const JsonFields& top, const WeightsSpec& spec,
                              const ByteStorage& contents, const std::string& shown_name) {
  const uint64_t hash = fnv1a64_dropping_pages(contents);
  if (hash != spec.fnv1a64) {
    return top.error("weights.fnv1a64", "checksum mismatch for weights file '" + shown_name +
                                            "': the file hashes to " + hex64(hash) +
                                            ", the model says " + hex64(spec.fnv1a64));
  }
  return Status::ok();
}

}  // namespace dyad
