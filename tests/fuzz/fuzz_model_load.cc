// Fuzz target: a model JSON plus its weights through dyad_model_load_from_memory,
// then (when it loads) one run. Input layout:
//
//   byte 0      flags: bit 0  rewrite the weights section's "fnv1a64" and "bytes"
//                             to match the weights part, so mutated weights get
//                             past the checksum and reach the deep checks
//                      bit 1  fill the inputs from the fuzz bytes (else zeros)
//                      bit 2  run the session with 2 threads (else 1)
//   then        the JSON text, up to the first NUL byte
//   then        the weights file (everything after that NUL; absent: no weights)
//
// tests/fuzz/make_corpus.py writes seeds in this layout from the shipped models.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "engine/format/loader.h"
#include "tests/fuzz/fuzz_run_model.h"

namespace {

constexpr uint8_t kFixChecksum = 1;
constexpr uint8_t kFuzzInputs = 2;
constexpr uint8_t kTwoThreads = 4;

// Replaces the value after `"key"` (searched from `from`) with `value`: a quoted
// string's contents when the value is a string, else the run of digits.
void replace_value(std::string& json, size_t from, std::string_view key, const std::string& value) {
  const size_t k = json.find("\"" + std::string(key) + "\"", from);
  if (k == std::string::npos) return;
  size_t v = json.find(':', k + key.size() + 2);
  if (v == std::string::npos) return;
  v = json.find_first_not_of(" \t\r\n", v + 1);
  if (v == std::string::npos) return;
  if (json[v] == '"') {
    const size_t end = json.find('"', v + 1);
    if (end != std::string::npos) json.replace(v + 1, end - v - 1, value);
  } else {
    const size_t end = json.find_first_not_of("0123456789", v);
    json.replace(v, (end == std::string::npos ? json.size() : end) - v, value);
  }
}

void fix_weights_section(std::string& json, std::string_view weights) {
  const size_t section = json.find("\"weights\"");
  if (section == std::string::npos) return;
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(dyad::fnv1a64(weights.data(), weights.size())));
  replace_value(json, section, "fnv1a64", hash);
  replace_value(json, section, "bytes", std::to_string(weights.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t nul = rest.find('\0');
  std::string json(rest.substr(0, nul));
  const std::string_view weights = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  if (flags & kFixChecksum) fix_weights_section(json, weights);

  dyad::fuzz::RunOptions options;
  options.num_threads = (flags & kTwoThreads) ? 2 : 1;
  if (flags & kFuzzInputs) options.input_bytes = rest;
  dyad::fuzz::load_and_run(json, weights, options);
  return 0;
}
