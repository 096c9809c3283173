// Where the weights file named by a model ("weights.file") is read from.
//
// By default the file must lie inside the model file's folder: a path that
// leaves it ("../x", an absolute path) or resolves outside it through a
// symbolic link is refused. The errors say nothing about files outside the
// folder (neither their size nor whether they exist): a model from anywhere
// must not be able to probe the machine that loads it.
#pragma once

#include <string>

#include "engine/core/status.h"

namespace dyad {

struct WeightsPath {
  std::string open_path;   // the path to open
  std::string shown_path;  // the path as messages show it: folder / file
  bool confined = false;   // open_path has no symbolic links: open it with O_NOFOLLOW
};

// Resolves `file` against `folder` (the model file's folder, "" for the working
// directory). `context` starts the error messages ("m.json: field 'weights.file'").
// Errors are kIoError.
Status resolve_weights_path(const std::string& folder, const std::string& file,
                            bool allow_outside, const std::string& context, WeightsPath* out);

}  // namespace dyad
