// Shared by the model fuzz targets: loads a model through the C API and, when
// it loads, runs it once in a fresh session, then frees everything. Any crash,
// sanitizer report, leak, hang or memory blow-up on the way is a finding; an
// error status is the expected answer to a bad model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dyad::fuzz {

struct RunOptions {
  int num_threads = 1;  // intra-op threads of the session
  // Bytes the inputs are filled from, cyclically (each element's bytes taken in
  // turn); empty means all-zero inputs.
  std::string_view input_bytes;
};

// The caller limits every fuzzed load and run uses (docs/c_api.md): a memory
// budget well under libFuzzer's -rss_limit_mb and a run timeout under its -timeout.
inline constexpr size_t kFuzzMemoryBudgetBytes = size_t{64} << 20;
inline constexpr uint64_t kFuzzRunTimeoutMicroseconds = 2'000'000;

void load_and_run(std::string_view json_text, std::string_view weights, const RunOptions& options);

}  // namespace dyad::fuzz
