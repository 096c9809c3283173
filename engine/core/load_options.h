// What a caller may set when loading a model (the C API's dyad_model_options,
// the CLI's flags). Defaults are the safe choice for files from anywhere.
#pragma once

#include <cstddef>

namespace dyad {

struct LoadOptions {
  // The weights file named by a model must lie inside the model file's folder
  // (after resolving symbolic links) unless this is set.
  bool allow_weights_outside_model_dir = false;
  // Upper bound on the bytes a model may take: constants + packed weights +
  // arena + one thread's scratch, checked at load before anything of that
  // size is allocated (and again per session, with its thread count).
  // 0: no budget beyond the format's own limits (docs/format.md, "Limits").
  size_t memory_budget_bytes = 0;
  // A weights file is mapped read-only (shared page cache) unless this is set,
  // in which case it is read into private memory.
  bool read_weights_into_memory = false;
  // Model::load_memory: point into the caller's weights instead of copying
  // them (the C API's dyad_model_load_from_memory_borrowed).
  bool borrow_weights = false;
};

}  // namespace dyad
