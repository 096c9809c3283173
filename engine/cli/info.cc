// `dyad info MODEL [--verbose]`: what a model takes and gives, what it costs.
#include <cstdio>
#include <map>
#include <string>

#include "engine/cli/cli.h"
#include "engine/exec/memory_needs.h"
#include "kernels/common/cpu.h"

namespace dyad::cli {

namespace {

constexpr char kHelp[] =
    "usage: dyad info MODEL [--verbose]\n"
    "\n"
    "Loads and plans MODEL (a .json model file) and prints its inputs and outputs\n"
    "(name, dtype, shape, scale, zero point), op counts, parameter bytes, total\n"
    "multiply-accumulates of one run and the activation arena size. For V:N:M\n"
    "sparse weights: per layer the pattern, the share of weights kept, packed vs\n"
    "dense bytes, and dense vs kept (effective) MACs. Also the CPU features the\n"
    "kernels may use and the DYAD_ISA / DYAD_KERNELS cap on them.\n"
    "  --verbose   also list every planned step with its kernel and MACs\n";

// Per step with a V:N:M sparse weight: the pattern, the weight bytes packed vs
// dense, and the MACs of the dense layer vs those on the kept weights.
void print_sparse_layers(const Graph& g, const Plan& plan) {
  bool header = false;
  for (const Step& s : plan.steps) {
    if (s.kept_macs < 0 || s.inputs.size() < 2 || s.inputs[1] < 0) continue;
    const TensorDesc& w = g.tensors[s.inputs[1]];
    if (!header) {
      std::printf("sparse layers (V:N:M):\n  %-24s %-24s %-12s %-8s %-14s %-22s %s\n", "node",
                  "weight", "pattern", "kept", "shape", "bytes packed / dense", "MACs dense -> kept");
      header = true;
    }
    const std::string pattern = std::to_string(w.sparsity.v) + ":2:" +
                                std::to_string(w.sparsity.m) + " " +
                                std::string(dtype_name(w.dtype));
    const int64_t dense_bytes = static_cast<int64_t>(
        dtype_packed_bytes(w.dtype, static_cast<size_t>(shape_elements(w.shape))));
    const double kept = s.macs == 0 ? 0.0 : 100.0 * static_cast<double>(s.kept_macs) /
                                                static_cast<double>(s.macs);
    std::printf("  %-24s %-24s %-12s %5.1f%%   %-14s %-22s %s -> %s\n", s.node_name.c_str(),
                w.name.c_str(), pattern.c_str(), kept, shape_to_string(w.shape).c_str(),
                (group_thousands(static_cast<int64_t>(w.data_bytes)) + " / " +
                 group_thousands(dense_bytes)).c_str(),
                group_thousands(s.macs).c_str(), group_thousands(s.kept_macs).c_str());
  }
}

void print_tensor(const TensorDesc& t) {
  std::printf("  %-16s %-6s %-18s %s\n", t.name.c_str(), std::string(dtype_name(t.dtype)).c_str(),
              shape_to_string(t.shape).c_str(), quantization_text(t).c_str());
}

}  // namespace

int info_command(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::string error;
  if (!parse_args(args, {}, {"--verbose", "-v"}, &parsed, &error)) return usage_error("info", error);
  if (parsed.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (parsed.positional.size() != 1)
    return usage_error("info", parsed.positional.empty() ? "missing MODEL"
                                                         : "expected one MODEL, got " +
                                                               std::to_string(parsed.positional.size()) +
                                                               " arguments");
  const bool verbose = !parsed.flags.empty();
  const std::string& path = parsed.positional[0];

  std::shared_ptr<const Model> model;
  if (Status s = load_model(path, &model); !s.is_ok()) return runtime_error("info", s.message());
  const Graph& g = model->graph();
  const Plan& plan = model->plan();

  std::printf("model: %s (%s)\n", g.name.empty() ? "(unnamed)" : g.name.c_str(), path.c_str());
  std::printf("cpu: %s\n", kernels::cpu_summary().c_str());
  std::printf("inputs:\n");
  for (size_t i = 0; i < model->num_inputs(); ++i) print_tensor(model->input(i));
  std::printf("outputs:\n");
  for (size_t i = 0; i < model->num_outputs(); ++i) print_tensor(model->output(i));

  std::map<std::string, int> op_counts;
  for (const Node& n : g.nodes) ++op_counts[std::string(op_type_name(n.op))];
  std::printf("ops: %zu nodes, %zu planned steps\n", g.nodes.size(), plan.steps.size());
  for (const auto& [op, count] : op_counts) std::printf("  %-22s %d\n", op.c_str(), count);

  size_t param_bytes = 0, constants = 0;
  int64_t param_elements = 0;
  for (const TensorDesc& t : g.tensors) {
    if (!t.is_constant) continue;
    ++constants;
    param_bytes += t.data_bytes;
    param_elements += shape_elements(t.shape);
  }
  int64_t macs = 0, kept_macs = 0;
  bool any_sparse = false;
  for (const Step& s : plan.steps) {
    macs += s.macs;
    kept_macs += s.kept_macs >= 0 ? s.kept_macs : s.macs;
    any_sparse = any_sparse || s.kept_macs >= 0;
  }
  std::printf("parameters: %s bytes (%s values in %zu constants)\n",
              group_thousands(static_cast<int64_t>(param_bytes)).c_str(),
              group_thousands(param_elements).c_str(), constants);
  std::printf("MACs per run: %s\n", group_thousands(macs).c_str());
  if (any_sparse)
    std::printf("effective MACs per run: %s (%.1f%%; sparse layers count their kept weights)\n",
                group_thousands(kept_macs).c_str(),
                macs == 0 ? 0.0 : 100.0 * static_cast<double>(kept_macs) / static_cast<double>(macs));
  const double saved = plan.unshared_bytes == 0
                           ? 0.0
                           : 100.0 * (1.0 - static_cast<double>(plan.arena_bytes) /
                                                static_cast<double>(plan.unshared_bytes));
  std::printf("arena: %s bytes (%s bytes without reuse, %.1f%% saved)\n",
              group_thousands(static_cast<int64_t>(plan.arena_bytes)).c_str(),
              group_thousands(static_cast<int64_t>(plan.unshared_bytes)).c_str(), saved);
  std::printf("scratch: %s bytes per thread\n",
              group_thousands(static_cast<int64_t>(plan.scratch_bytes_per_thread)).c_str());
  // What dyad_model_options.memory_budget_bytes is compared with.
  std::printf("memory: %s\n", memory_needs(g, plan, 1).describe().c_str());

  print_sparse_layers(g, plan);

  if (verbose) {
    std::printf("steps:\n  %-4s %-24s %-20s %-32s %s\n", "#", "node", "op", "kernel", "MACs");
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const Step& s = plan.steps[i];
      std::printf("  %-4zu %-24s %-20s %-32s %s\n", i, s.node_name.c_str(),
                  std::string(op_type_name(s.op)).c_str(), s.kernel_name.c_str(),
                  group_thousands(s.macs).c_str());
    }
  }
  return kExitOk;
}

}  // namespace dyad::cli
