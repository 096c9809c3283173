#include "engine/format/json_parse.h"

#include <cstddef>
#include <set>
#include <vector>

namespace dyad {

namespace {

using nlohmann::json;

// nlohmann's messages start with "[json.exception.parse_error.101] ".
std::string without_exception_id(const char* what) {
  std::string s(what);
  const size_t end = s.find("] ");
  if (!s.empty() && s[0] == '[' && end != std::string::npos) s.erase(0, end + 2);
  return s;
}

// One pass over the text counting the '[' and '{' open outside strings. Run
// before parsing, so no deep value is ever built. Malformed text is left to
// the parser, which reports it.
Status check_depth(std::string_view text, const std::string& source) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return Status(StatusCode::kParseError,
                      source + ": arrays and objects nest more than " +
                          std::to_string(kMaxJsonDepth) + " deep (byte " + std::to_string(i + 1) +
                          "); a model needs far fewer levels");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Status::ok();
}

}  // namespace

// JSON lets an object repeat a key (nlohmann keeps the last one), which would
// hide a typo or a merge accident: that is refused too.
Status parse_model_json(std::string_view text, const std::string& source, json* out) {
  DYAD_RETURN_IF_ERROR(check_depth(text, source));
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::string duplicate;
  const json::parser_callback_t track_keys = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == json::parse_event_t::key && !keys.empty() && parsed.is_string()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  try {
    *out = json::parse(text.begin(), text.end(), track_keys);
  } catch (const json::parse_error& e) {
    return Status(StatusCode::kParseError, source + ": not valid JSON: " +
                                               without_exception_id(e.what()) + " (byte " +
                                               std::to_string(e.byte) + ")");
  } catch (const json::exception& e) {  // e.g. a number too large for a double
    return Status(StatusCode::kParseError,
                  source + ": not valid JSON: " + without_exception_id(e.what()));
  }
  if (!duplicate.empty()) {
    return invalid_model(source + ": duplicate key '" + duplicate +
                         "' in a JSON object; keys must be unique");
  }
  return Status::ok();
}

}  // namespace dyad
