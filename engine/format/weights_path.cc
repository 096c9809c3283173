#include "engine/format/weights_path.h"

#include <filesystem>
#include <system_error>

namespace dyad {

namespace {

namespace fs = std::filesystem;

constexpr const char* kHowToAllow =
    " (LoadOptions::allow_weights_outside_model_dir, dyad_model_options."
    "allow_weights_outside_model_dir or --allow-weights-outside-model-dir allow it)";

// True if `inner` is `outer` or below it, comparing whole components (so
// "/a/bc" is not inside "/a/b"). Both are absolute and normalized.
bool is_inside(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // the trailing "" of "/a/b/"
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

}  // namespace

Status resolve_weights_path(const std::string& folder, const std::string& file,
                            bool allow_outside, const std::string& context, WeightsPath* out) {
  const fs::path base = folder.empty() ? fs::path(".") : fs::path(folder);
  const fs::path joined = folder.empty() ? fs::path(file) : base / file;  // an absolute file wins
  WeightsPath result;
  result.shown_path = joined.string();
  if (allow_outside) {
    result.open_path = result.shown_path;
    *out = std::move(result);
    return Status::ok();
  }
  const std::string refused = context + ": cannot read weights file '" + file + "': ";
  // Decided from the text alone, before touching the file system.
  const fs::path relative = fs::path(file).lexically_normal();
  if (relative.is_absolute() || relative.empty() || *relative.begin() == "..") {
    return Status(StatusCode::kIoError,
                  refused + "the path leaves the model's folder, which is refused" + kHowToAllow);
  }
  // Symbolic links are resolved on both sides. Every failure (the file is
  // missing, a link dangles, a folder is unreadable) and every path outside
  // the folder gets the same message, so that nothing is learned about files
  // outside the folder. realpath's result has no links left in it; the file
  // is opened with O_NOFOLLOW so that its last component cannot be swapped
  // for a link between here and the open.
  std::error_code ec_base;
  std::error_code ec_file;
  const fs::path real_base = fs::canonical(base, ec_base);
  const fs::path real_file = fs::canonical(joined, ec_file);
  if (ec_base || ec_file || !is_inside(real_file, real_base) || real_file == real_base) {
    return Status(StatusCode::kIoError,
                  refused + "no such file inside the model's folder (a symbolic link to a file "
                            "outside the folder counts as none)" + kHowToAllow);
  }
  result.open_path = real_file.string();
  result.confined = true;
  *out = std::move(result);
  return Status::ok();
}

}  // namespace dyad
