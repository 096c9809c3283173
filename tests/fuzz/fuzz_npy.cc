// Fuzz target: the CLI's .npy reader (engine/cli/npy.cc). Whatever parses must
// also survive a write and re-read unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/cli/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  dyad::cli::NpyArray array;
  if (!dyad::cli::parse_npy(bytes, "fuzz.npy", &array).is_ok()) return 0;

  const std::string written = dyad::cli::serialize_npy(array.type, array.shape, array.data.data());
  dyad::cli::NpyArray again;
  if (!dyad::cli::parse_npy(written, "rewritten.npy", &again).is_ok()) std::abort();
  if (again.type != array.type || again.shape != array.shape || again.data != array.data) std::abort();
  return 0;
}
