// Loading a model file (docs/format.md) into a validated Graph.
//
// Everything the format itself can check is checked here: JSON syntax, known
// fields and their types, format and version, tensor descriptors, constant
// data (offsets, sizes, alignment, value ranges), the weights file's size and
// checksum, names referenced by nodes and graph inputs/outputs, unique names
// and single producers. Op-specific checks (attributes, dtypes, shapes) and
// cycles are the planner's (engine/plan). On error `out` is left untouched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/load_options.h"
#include "engine/core/status.h"
#include "engine/ir/graph.h"

namespace dyad {

inline constexpr int kFormatMajorVersion = 1;
inline constexpr int kFormatMinorVersion = 1;  // 1.1: "sparsity"

// Reads `json_path` and the weights file it names (relative to its folder).
Status load_graph_from_file(const std::string& json_path, Graph* out,
                            const LoadOptions& options = {});

// The same from memory. `weights` may be null when no tensor uses the file.
// The bytes are copied (the caller may free them after the call) unless
// options.borrow_weights is set: then the graph points into them.
// `source_name` stands for the file name in error messages.
Status load_graph_from_memory(std::string_view json_text, const void* weights,
                              size_t weights_bytes, std::string_view source_name, Graph* out,
                              const LoadOptions& options = {});

// FNV-1a 64-bit hash, as recorded in the "fnv1a64" field.
uint64_t fnv1a64(const void* data, size_t bytes);

}  // namespace dyad
