// `dyad prune MODEL --out OUT.json [--v V] [--m M] [--layers ...] [--method ...]`:
// writes a copy of a dense model whose chosen weights are pruned to V:2:M by
// magnitude (kernels/vnm_gemm/vnm_prune.h) and stored packed (docs/format.md
// "Sparse weights"). Everything else is copied unchanged: quantization,
// biases and integer constants (pruning only lowers sum |w|, so the loader's
// accumulator-range proof still holds).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/cli/cli.h"
#include "engine/format/file_io.h"
#include "engine/format/loader.h"
#include "engine/format/sparsity.h"
#include "engine/format/weights.h"
#include "engine/ops/quant_params.h"
#include "kernels/vnm_gemm/vnm_prune.h"

namespace dyad::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kHelp[] =
    "usage: dyad prune MODEL --out OUT.json [--v V] [--m M] [--layers WHICH]\n"
    "                  [--method exact|greedy]\n"
    "\n"
    "Writes OUT.json and OUT.bin: MODEL with the weights of the chosen layers pruned\n"
    "by magnitude to V:2:M (in every block of V output channels x M input channels\n"
    "the same 4 columns are kept, and 2 of those 4 in each row) and stored packed.\n"
    "  --v V          rows per block, a multiple of 8 in [8, 1024] (default 64)\n"
    "  --m M          columns per group, in [4, 128] (default 8; 4 is plain 2:4)\n"
    "  --layers WHICH fc (default): every fully_connected; all: also conv2d with\n"
    "                 groups 1; or a comma-separated list of node names\n"
    "  --method       exact (default): best of the C(M,4) column subsets per block;\n"
    "                 greedy: the 4 columns with the largest sum of |w|\n"
    "Pruning without fine-tuning loses accuracy; see docs/vnm.md.\n";

struct Options {
  std::string in, out;
  int v = 64, m = 8;
  std::string layers = "fc";
  kernels::VnmPruneMethod method = kernels::VnmPruneMethod::kExact;
};

bool is_gemm_node(const Node& n) {
  if (n.op == OpType::kFullyConnected) return true;
  if (n.op != OpType::kConv2d) return false;
  const auto it = n.attrs.find("groups");
  return it == n.attrs.end() || (it->is_number_integer() && it->get<int64_t>() == 1);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// The weight tensors to prune, by index. A weight read by anything other than
// the weight input of fully_connected / conv2d cannot be sparse.
Status choose_weights(const Graph& g, const Options& o, std::set<int>* out) {
  std::set<std::string> names;
  if (o.layers != "fc" && o.layers != "all")
    for (const std::string& n : split_commas(o.layers)) names.insert(n);
  std::set<std::string> found;
  for (const Node& n : g.nodes) {
    const bool named = names.count(n.name) > 0;
    if (named) found.insert(n.name);
    const bool wanted = named || (o.layers == "fc" && n.op == OpType::kFullyConnected) ||
                        (o.layers == "all" && is_gemm_node(n));
    if (!wanted) continue;
    if (!is_gemm_node(n) || n.inputs.size() < 2)
      return invalid_argument("--layers: node '" + n.name + "' is a " +
                              std::string(op_type_name(n.op)) +
                              "; only fully_connected and conv2d (groups 1) can be pruned");
    const TensorDesc& w = g.tensors[n.inputs[1]];
    if (w.sparsity.vnm) continue;  // already sparse: left as it is
    out->insert(n.inputs[1]);
  }
  for (const std::string& n : names)
    if (!found.count(n)) return invalid_argument("--layers: no node named '" + n + "'");
  for (const Node& n : g.nodes)
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (out->count(n.inputs[i]) && !(i == 1 && is_gemm_node(n)))
        return invalid_argument("weight '" + g.tensors[n.inputs[i]].name + "' is also read by node '" +
                                n.name + "' (inputs[" + std::to_string(i) +
                                "]); a sparse weight can only be a fully_connected/conv2d weight");
  if (out->empty()) return invalid_argument("--layers " + o.layers + " selects no dense weight");
  return Status::ok();
}

// The dense values of a weight constant, one int8 per element.
std::vector<int8_t> dense_values(const TensorDesc& t) {
  const size_t count = static_cast<size_t>(shape_elements(t.shape));
  if (t.dtype == DType::kInt4) return unpack_int4(t.data, count);
  return std::vector<int8_t>(t.data, t.data + count);
}

Status write_file(const fs::path& path, const void* data, size_t bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  f.close();
  if (!f) return invalid_argument(path.string() + ": cannot write");
  return Status::ok();
}

Status prune_model(const Options& o) {
  std::shared_ptr<const Model> model;
  DYAD_RETURN_IF_ERROR(load_model(o.in, &model));  // the whole model is valid before we start
  const Graph& g = model->graph();
  std::set<int> chosen;
  DYAD_RETURN_IF_ERROR(choose_weights(g, o, &chosen));

  // Read again through the loader's file checks (regular file, size cap); it
  // parsed once already, so only a file changed in between can fail here.
  json doc;
  {
    std::shared_ptr<AlignedBuffer> text;
    DYAD_RETURN_IF_ERROR(read_whole_file(o.in, "dyad prune", "model file", kMaxModelFileBytes, &text));
    const char* begin = reinterpret_cast<const char*>(text->data());
    doc = json::parse(begin, begin + text->size(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return invalid_argument(o.in + ": changed while dyad prune read it");
  }
  std::map<std::string, int> index_of;
  for (size_t i = 0; i < g.tensors.size(); ++i) index_of[g.tensors[i].name] = static_cast<int>(i);

  // Every file constant is rewritten to a fresh weights file, 64-byte aligned.
  std::vector<uint8_t> blob;
  int64_t dense_total = 0, packed_total = 0;
  for (json& item : doc["tensors"]) {
    const TensorDesc& t = g.tensors[index_of.at(item["name"].get<std::string>())];
    if (!t.is_constant) continue;
    const bool prune = chosen.count(index_of.at(t.name)) > 0;
    std::vector<uint8_t> bytes(t.data, t.data + t.data_bytes);
    if (prune) {
      TensorDesc sparse = t;
      sparse.sparsity = {true, o.v, o.m};
      const kernels::VnmShape shape = vnm_shape_of(sparse);
      std::vector<int8_t> w = dense_values(t);
      std::string err = kernels::vnm_prune_magnitude(shape, w.data(), w.data(), o.method);
      if (err.empty()) err = kernels::vnm_pack(shape, w.data(), &bytes);
      if (!err.empty()) return invalid_argument("tensor '" + t.name + "': " + err);
      item["sparsity"] = {{"pattern", "vnm"}, {"v", o.v}, {"n", 2}, {"m", o.m}};
      dense_total += static_cast<int64_t>(t.data_bytes);
      packed_total += static_cast<int64_t>(bytes.size());
      std::printf("  %-28s %-6s %-16s -> %d:2:%d, %zu bytes (dense %zu)\n", t.name.c_str(),
                  std::string(dtype_name(t.dtype)).c_str(), shape_to_string(t.shape).c_str(), o.v,
                  o.m, bytes.size(), t.data_bytes);
      if (item.contains("values")) {  // inline: the loader packs the pruned dense values
        item["values"] = std::vector<int>(w.begin(), w.end());
        continue;
      }
    }
    if (!item.contains("data")) continue;
    blob.resize((blob.size() + 63) / 64 * 64, 0);
    item["data"] = {{"offset", blob.size()}, {"bytes", bytes.size()}};
    blob.insert(blob.end(), bytes.begin(), bytes.end());
  }

  const fs::path out_json(o.out);
  const std::string bin_name = out_json.stem().string() + ".bin";
  if (doc.contains("weights"))
    doc["weights"] = {{"file", bin_name},
                      {"bytes", blob.size()},
                      {"fnv1a64", hex64(fnv1a64(blob.data(), blob.size()))}};
  int major = 1, minor = 0;
  if (std::sscanf(doc["version"].get<std::string>().c_str(), "%d.%d", &major, &minor) == 2 &&
      minor < kFormatMinorVersion)
    doc["version"] = std::to_string(major) + "." + std::to_string(kFormatMinorVersion);
  if (doc.contains("weights"))
    DYAD_RETURN_IF_ERROR(write_file(out_json.parent_path() / bin_name, blob.data(), blob.size()));
  const std::string text = doc.dump(1) + "\n";
  DYAD_RETURN_IF_ERROR(write_file(out_json, text.data(), text.size()));

  // The result must load and plan like any model.
  std::shared_ptr<const Model> check;
  DYAD_RETURN_IF_ERROR(load_model(o.out, &check));
  std::printf("pruned %zu weights to %d:2:%d: %s bytes packed (%s dense)\nwrote %s\n",
              chosen.size(), o.v, o.m, group_thousands(packed_total).c_str(),
              group_thousands(dense_total).c_str(), o.out.c_str());
  return Status::ok();
}

}  // namespace

int prune_command(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::string error;
  if (!parse_args(args, {"--out", "--v", "--m", "--layers", "--method"}, {}, &parsed, &error))
    return usage_error("prune", error);
  if (parsed.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (parsed.positional.size() != 1)
    return usage_error("prune", parsed.positional.empty() ? "missing MODEL" : "expected one MODEL");
  Options o;
  o.in = parsed.positional[0];
  for (const auto& [flag, value] : parsed.flags) {
    if (flag == "--out") {
      o.out = value;
    } else if (flag == "--v") {
      if (!parse_int_flag(flag, value, 8, kernels::kVnmMaxV, &o.v, &error)) return usage_error("prune", error);
      if (o.v % 8 != 0) return usage_error("prune", "--v must be a multiple of 8, got " + value);
    } else if (flag == "--m") {
      if (!parse_int_flag(flag, value, kernels::kVnmMinM, kernels::kVnmMaxM, &o.m, &error))
        return usage_error("prune", error);
    } else if (flag == "--layers") {
      o.layers = value;
    } else if (flag == "--method") {
      if (value != "exact" && value != "greedy")
        return usage_error("prune", "--method must be exact or greedy, got '" + value + "'");
      o.method = value == "exact" ? kernels::VnmPruneMethod::kExact : kernels::VnmPruneMethod::kGreedy;
    }
  }
  if (o.out.empty()) return usage_error("prune", "missing --out OUT.json");
  if (fs::path(o.out).extension() != ".json") return usage_error("prune", "--out must end in .json");
  if (fs::exists(o.in) && fs::exists(o.out) && fs::equivalent(o.in, o.out))
    return usage_error("prune", "--out must differ from MODEL");
  if (Status s = prune_model(o); !s.is_ok()) return runtime_error("prune", s.message());
  return kExitOk;
}

}  // namespace dyad::cli
