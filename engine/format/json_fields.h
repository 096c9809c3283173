// Checked, typed access to the members of one JSON object of a model file.
//
// Every error reads "<where>: field '<prefix><key>': <what>", for example
//   m.json: tensor 'conv1.w': field 'data.offset': expected an integer, got "12"
// `where` names the file and the tensor or node; `prefix` qualifies the members
// of a nested object ("data.", "weights."). Nothing here throws.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/status.h"

namespace dyad {

// A short description of a JSON value for messages: "a string \"abc\"", "3.5",
// "an object", ... Long values are cut.
std::string json_describe(const nlohmann::json& value);

class JsonFields {
 public:
  // `object` must outlive this reader. `newer_version` is the model's version
  // string when its minor version is newer than this build's, else empty.
  JsonFields(const nlohmann::json& object, std::string where, std::string newer_version = "",
             std::string prefix = "");

  const std::string& where() const { return where_; }
  const std::string& newer_version() const { return newer_version_; }
  // The member name as messages show it: prefix + key.
  std::string field(std::string_view key) const;
  // A reader for the nested object `value`, found at member `key` of this one.
  JsonFields nested(const nlohmann::json& value, std::string_view key) const;

  Status error(std::string_view key, std::string_view what,
               StatusCode code = StatusCode::kInvalidModel) const;

  // The member `key`, or nullptr when absent.
  const nlohmann::json* find(std::string_view key) const;
  // The member `key`; an error when absent.
  Status require(std::string_view key, const nlohmann::json** out) const;
  // Refuses a member whose name is not in `known` (so a typo never passes
  // silently): kInvalidModel. When the model's minor version is newer than this
  // build's, the member may be an optional field of that version: kUnsupported.
  Status check_known(std::initializer_list<std::string_view> known) const;

  // Conversions of a value found at `key` (a member name or "key[i]").
  Status as_string(const nlohmann::json& value, std::string_view key, std::string* out) const;
  // Integers only (a JSON number with a fraction or exponent is refused), within int64.
  Status as_int(const nlohmann::json& value, std::string_view key, int64_t* out) const;
  // Any JSON number.
  Status as_number(const nlohmann::json& value, std::string_view key, double* out) const;
  Status as_array(const nlohmann::json& value, std::string_view key) const;
  Status as_object(const nlohmann::json& value, std::string_view key) const;

  // Required members of a given type.
  Status get_string(std::string_view key, std::string* out) const;
  Status get_int(std::string_view key, int64_t* out) const;
  // A required list of strings.
  Status get_string_list(std::string_view key, std::vector<std::string>* out) const;

 private:
  const nlohmann::json& object_;
  std::string where_;
  std::string newer_version_;
  std::string prefix_;
};

}  // namespace dyad
