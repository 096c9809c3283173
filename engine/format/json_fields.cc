#include "engine/format/json_fields.h"

#include <limits>

#include "engine/format/loader.h"

namespace dyad {

using nlohmann::json;

std::string json_describe(const json& value) {
  constexpr size_t kMaxChars = 40;
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      if (s.size() <= kMaxChars) return "a string \"" + s + "\"";
      return "a string \"" + s.substr(0, kMaxChars) + "...\"";
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return value.dump();
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

JsonFields::JsonFields(const json& object, std::string where, std::string newer_version,
                       std::string prefix)
    : object_(object),
      where_(std::move(where)),
      newer_version_(std::move(newer_version)),
      prefix_(std::move(prefix)) {}

std::string JsonFields::field(std::string_view key) const {
  std::string f = prefix_;
  f += key;
  return f;
}

JsonFields JsonFields::nested(const json& value, std::string_view key) const {
  return JsonFields(value, where_, newer_version_, field(key) + ".");
}

Status JsonFields::error(std::string_view key, std::string_view what, StatusCode code) const {
  std::string message = where_;
  message += ": field '";
  message += field(key);
  message += "': ";
  message += what;
  return Status(code, std::move(message));
}

const json* JsonFields::find(std::string_view key) const {
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

Status JsonFields::require(std::string_view key, const json** out) const {
  *out = find(key);
  if (*out == nullptr) return error(key, "missing (required)");
  return Status::ok();
}

Status JsonFields::check_known(std::initializer_list<std::string_view> known) const {
  if (!object_.is_object()) return Status::ok();
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    bool found = false;
    for (std::string_view k : known) found = found || k == it.key();
    if (found) continue;
    if (!newer_version_.empty()) {
      return error(it.key(),
                   "not known to this build, which reads format version " +
                       std::to_string(kFormatMajorVersion) + "." +
                       std::to_string(kFormatMinorVersion) + " (the model is version " +
                       newer_version_ + ")",
                   StatusCode::kUnsupported);
    }
    std::string list;
    for (std::string_view k : known) {
      if (!list.empty()) list += ", ";
      list += k;
    }
    return error(it.key(), "unknown field; expected one of: " + list);
  }
  return Status::ok();
}

Status JsonFields::as_string(const json& value, std::string_view key, std::string* out) const {
  if (!value.is_string()) return error(key, "expected a string, got " + json_describe(value));
  *out = value.get_ref<const std::string&>();
  return Status::ok();
}

Status JsonFields::as_int(const json& value, std::string_view key, int64_t* out) const {
  if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return error(key, value.dump() + " is out of range");
    *out = static_cast<int64_t>(u);
    return Status::ok();
  }
  if (value.is_number_integer()) {
    *out = value.get<int64_t>();
    return Status::ok();
  }
  return error(key, "expected an integer, got " + json_describe(value));
}

Status JsonFields::as_number(const json& value, std::string_view key, double* out) const {
  if (!value.is_number()) return error(key, "expected a number, got " + json_describe(value));
  *out = value.get<double>();
  return Status::ok();
}

Status JsonFields::as_array(const json& value, std::string_view key) const {
  if (!value.is_array()) return error(key, "expected a list, got " + json_describe(value));
  return Status::ok();
}

Status JsonFields::as_object(const json& value, std::string_view key) const {
  if (!value.is_object()) return error(key, "expected an object, got " + json_describe(value));
  return Status::ok();
}

Status JsonFields::get_string(std::string_view key, std::string* out) const {
  const json* v = nullptr;
  DYAD_RETURN_IF_ERROR(require(key, &v));
  return as_string(*v, key, out);
}

Status JsonFields::get_int(std::string_view key, int64_t* out) const {
  const json* v = nullptr;
  DYAD_RETURN_IF_ERROR(require(key, &v));
  return as_int(*v, key, out);
}

Status JsonFields::get_string_list(std::string_view key, std::vector<std::string>* out) const {
  const json* v = nullptr;
  DYAD_RETURN_IF_ERROR(require(key, &v));
  DYAD_RETURN_IF_ERROR(as_array(*v, key));
  out->clear();
  out->reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    std::string s;
    DYAD_RETURN_IF_ERROR(as_string((*v)[i], std::string(key) + "[" + std::to_string(i) + "]", &s));
    out->push_back(std::move(s));
  }
  return Status::ok();
}

}  // namespace dyad
