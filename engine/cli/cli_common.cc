#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/api/float_boundary.h"
#include "engine/cli/cli.h"

namespace dyad::cli {

namespace {
// Set by parse_args from the model-loading switches; the process runs one command.
LoadOptions g_load_options;
}  // namespace

bool parse_byte_count(const std::string& text, size_t* out) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] < '0' || text[0] > '9' || errno == ERANGE || v == 0) return false;
  int shift = 0;
  if (*end == 'K') shift = 10;
  if (*end == 'M') shift = 20;
  if (*end == 'G') shift = 30;
  if (shift != 0) ++end;
  if (*end != '\0' || v > (SIZE_MAX >> shift)) return false;
  *out = static_cast<size_t>(v) << shift;
  return true;
}

const LoadOptions& model_load_options() { return g_load_options; }

int usage_error(std::string_view command, const std::string& message) {
  std::fprintf(stderr, "dyad %.*s: %s\n(see 'dyad %.*s --help')\n",
               static_cast<int>(command.size()), command.data(), message.c_str(),
               static_cast<int>(command.size()), command.data());
  return kExitUsage;
}

int runtime_error(std::string_view command, const std::string& message) {
  std::fprintf(stderr, "dyad %.*s: error: %s\n", static_cast<int>(command.size()), command.data(),
               message.c_str());
  return kExitRuntime;
}

bool parse_args(const std::vector<std::string>& args,
                const std::vector<std::string_view>& value_flags,
                const std::vector<std::string_view>& switches, ParsedArgs* out,
                std::string* error) {
  const auto contains = [](const std::vector<std::string_view>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      out->help = true;
      continue;
    }
    if (a.empty() || a[0] != '-' || a == "-") {
      out->positional.push_back(a);
      continue;
    }
    const size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    if (a == kAllowWeightsOutsideFlag) {
      g_load_options.allow_weights_outside_model_dir = true;
    } else if (name == kMemoryBudgetFlag) {
      const std::string value = eq != std::string::npos ? a.substr(eq + 1)
                                : i + 1 < args.size()    ? args[++i]
                                                         : std::string();
      if (!parse_byte_count(value, &g_load_options.memory_budget_bytes)) {
        *error = "option " + name + ": '" + value + "' is not a byte count (e.g. 1073741824, 512M, 2G)";
        return false;
      }
    } else if (contains(switches, name)) {
      if (eq != std::string::npos) {
        *error = "option " + name + " takes no value";
        return false;
      }
      out->flags.emplace_back(name, "");
    } else if (contains(value_flags, name)) {
      if (eq != std::string::npos) {
        out->flags.emplace_back(name, a.substr(eq + 1));
      } else if (i + 1 < args.size()) {
        out->flags.emplace_back(name, args[++i]);
      } else {
        *error = "option " + name + " needs a value";
        return false;
      }
    } else {
      *error = "unknown option '" + a + "'";
      return false;
    }
  }
  return true;
}

bool parse_int_flag(const std::string& flag, const std::string& text, int lo, int hi, int* out,
                    std::string* error) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
    *error = "option " + flag + ": '" + text + "' is not an integer in [" + std::to_string(lo) +
             ", " + std::to_string(hi) + "]";
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

Status load_model(const std::string& path, std::shared_ptr<const Model>* out) {
  try {
    return Model::load_file(path, out, g_load_options);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, path + ": out of memory");
  }
}

void fill_pseudo_random(const TensorDesc& desc, uint64_t seed, void* container,
                        int64_t id_limit) {
  const bool narrow = dtype_storage_bytes(desc.dtype) == 1;
  const int64_t lo = id_limit > 0 ? 0 : narrow ? dtype_min(desc.dtype) : -128;
  const int64_t hi = id_limit > 0 ? std::min(id_limit - 1, dtype_max(desc.dtype))
                     : narrow     ? dtype_max(desc.dtype)
                                  : 127;
  const uint64_t span = static_cast<uint64_t>(hi - lo + 1);
  uint64_t state = seed;
  const int64_t n = shape_elements(desc.shape);
  for (int64_t i = 0; i < n; ++i) {
    // splitmix64
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    store_container_element(desc.dtype, container, static_cast<size_t>(i),
                            lo + static_cast<int64_t>(z % span));
  }
}

int64_t embedding_id_limit(const Model& model, size_t input) {
  const Graph& g = model.graph();
  const int tensor = g.inputs[input];
  int64_t limit = 0;
  for (const Node& n : g.nodes)
    if (n.op == OpType::kEmbedding && n.inputs.size() == 2 && n.inputs[0] == tensor) {
      const int64_t vocab = g.tensors[n.inputs[1]].shape.at(0);
      limit = limit == 0 ? vocab : std::min(limit, vocab);
    }
  return limit;
}

std::string group_thousands(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -static_cast<uint64_t>(v) : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

namespace {
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", v);
  return buf;
}

template <typename T, typename F>
std::string list_text(const std::vector<T>& v, F format) {
  if (v.size() == 1) return format(v[0]);
  std::string s = "[";
  const size_t shown = std::min<size_t>(v.size(), 4);
  for (size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + format(v[i]);
  if (shown < v.size()) s += ", ... (" + std::to_string(v.size()) + " values)";
  return s + "]";
}
}  // namespace

std::string quantization_text(const TensorDesc& desc) {
  const Quantization& q = desc.quant;
  std::string s = q.has_scale() ? "scale " + list_text(q.scales, number) : "no scale";
  const std::vector<int64_t> zps = q.zero_points.empty() ? std::vector<int64_t>{0} : q.zero_points;
  s += " zero_point " + list_text(zps, [](int64_t z) { return std::to_string(z); });
  if (q.per_channel()) s += " (axis " + std::to_string(q.axis) + ")";
  return s;
}

}  // namespace dyad::cli
