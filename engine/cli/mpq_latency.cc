// `dyad mpq latency MODEL.json ... [--candidates C.json] [--check M.json ...] [--out OUT.json]`:
// the latency of every quantizable layer at every precision the given models
// have it at, measured inside the real graphs, and the additivity check
// (docs/mpq.md, "Latency"; engine/mpq_latency/). Exit codes: 0 ok, 1 a model
// that cannot be loaded or run, an unwritable output, or a check beyond
// --max-error; 2 bad input (command line, candidates file, a layer or
// precision missing from a model).
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "dyad/dyad.h"
#include "engine/cli/cli.h"
#include "engine/core/aligned_buffer.h"
#include "engine/format/file_io.h"
#include "engine/mpq/problem.h"
#include "engine/mpq_latency/latency_json.h"
#include "engine/mpq_latency/latency_table.h"
#include "engine/mpq_latency/layer_attribution.h"
#include "engine/mpq_latency/measure.h"

namespace dyad::cli {

namespace {

constexpr char kCommand[] = "mpq latency";
constexpr uintmax_t kMaxInputBytes = uintmax_t{256} << 20;

constexpr char kHelp[] =
    "usage: dyad mpq latency MODEL.json [MODEL.json ...] [--candidates C.json]\n"
    "                        [--check MODEL.json ...] [--out OUT.json] [--threads N]\n"
    "                        [--warmup W] [--runs R] [--percentile P] [--max-error PCT]\n"
    "\n"
    "Measures how long every quantizable layer (conv2d, fully_connected with a\n"
    "constant weight) takes at every precision, inside the real graph. The MODELs\n"
    "are one network exported at different precisions (for example all-INT8 and\n"
    "all-INT4, same node names); each layer's precision (w_bits from its weight,\n"
    "a_bits from its input) is read from each model. The models run in\n"
    "alternation (W untimed rounds, then R timed ones); a layer's time is the median\n"
    "of its step, plus any requantize step that changes its input's width (split\n"
    "among the layers reading it); the rest of the run is 'fixed'.\n"
    "  --candidates C.json  fill the latency fields of this dyad-mpq-candidates/1\n"
    "                     file (its layers are the searched ones; the others count\n"
    "                     as fixed); without it, write a dyad-mpq-latency/1 table\n"
    "                     of every layer\n"
    "  --check MODEL.json   also time this model (e.g. a mixed one) end to end and\n"
    "                     compare it with fixed + the sum of its layers' entries\n"
    "                     (repeatable; the MODELs are checked too)\n"
    "  --out OUT.json       write the result there (default: print it)\n"
    "  --threads N          session threads (default 1)\n"
    "  --warmup W           untimed rounds (default 100)\n"
    "  --runs R             timed rounds (default 101)\n"
    "  --percentile P       take this percentile of the runs instead of the median\n"
    "                     (P in [0, 100]; docs/mpq.md: on a busy machine a low one\n"
    "                     was no better at 1 thread and far worse at 2 threads)\n"
    "  --max-error PCT      exit 1 when a checked model's |error| exceeds PCT percent\n"
    "Exit codes: 0 ok, 1 runtime error or check beyond --max-error, 2 bad input.\n";

bool read_text(const std::string& path, std::string* out, std::string* error) {
  std::shared_ptr<AlignedBuffer> buffer;
  if (Status s = read_whole_file(path, path, "candidates file", kMaxInputBytes, &buffer); !s.is_ok()) {
    *error = s.message();
    return false;
  }
  out->assign(reinterpret_cast<const char*>(buffer->data()), buffer->size());
  return true;
}

void fill_input(const Model& model, size_t i, void* container) {
  fill_pseudo_random(model.input(i), 1 + i, container, embedding_id_limit(model, i));
}

std::string statistic_name(double pct) {
  if (pct == 50) return "median";
  if (pct == 0) return "minimum";
  char buf[32];
  std::snprintf(buf, sizeof buf, "percentile %g", pct);
  return buf;
}

std::string provenance_text(const Model& first, const std::vector<std::string>& files,
                            const mpq_latency::MeasureOptions& o, double pct) {
  const Machine m = describe_machine();
  std::string batch = "?";
  if (first.num_inputs() > 0 && !first.input(0).shape.empty()) batch = std::to_string(first.input(0).shape[0]);
  std::string s = "dyad " + std::string(dyad_version()) + " mpq latency, " + m.cpu_model + " (" + m.isa +
                  "), threads=" + std::to_string(o.threads) + ", batch=" + batch + ", " + statistic_name(pct) + " of " +
                  std::to_string(o.runs) + " alternated runs after " + std::to_string(o.warmup) +
                  " warm-up runs; models:";
  for (const std::string& f : files) s += " " + f;
  return s;
}

// Warns when a layer that is not searched has different precisions in the
// models: the fixed time then mixes them.
void warn_unsearched(const std::vector<mpq_latency::ModelLatency>& models, const mpq_latency::LatencyTable& t) {
  std::map<std::string, std::set<std::string>> seen;
  for (const auto& m : models)
    for (const auto& l : m.layers)
      if (t.find(l.name) < 0) seen[l.name].insert(mpq_latency::choice_id(l.w_bits, l.a_bits));
  for (const auto& [name, ids] : seen) {
    if (ids.size() < 2) continue;
    std::string list;
    for (const std::string& id : ids) list += " " + id;
    std::fprintf(stderr, "dyad mpq latency: warning: layer '%s' is not searched but differs between the models (%s ); 'fixed' mixes them\n",
                 name.c_str(), list.c_str());
  }
}

void print_summary(const mpq_latency::LatencyTable& t, const std::vector<mpq_latency::Check>& checks) {
  std::set<std::string> ids;
  for (const auto& row : t.entries)
    for (const auto& [id, e] : row) ids.insert(id);
  std::printf("%-32s", "layer (us)");
  for (const std::string& id : ids) std::printf(" %10s", id.c_str());
  std::printf("\n");
  for (size_t i = 0; i < t.layers.size(); ++i) {
    std::printf("%-32s", t.layers[i].c_str());
    for (const std::string& id : ids) {
      const auto it = t.entries[i].find(id);
      if (it == t.entries[i].end())
        std::printf(" %10s", "-");
      else
        std::printf(" %10.2f", 1e-3 * static_cast<double>(it->second.latency_ns));
    }
    std::printf("\n");
  }
  std::printf("%-32s %10.2f\n", "fixed", 1e-3 * static_cast<double>(t.fixed_ns));
  if (checks.empty()) return;
  std::printf("\nadditivity (fixed + sum of the table against the measured run):\n");
  std::printf("  %-40s %12s %10s %12s %8s\n", "model", "measured us", "IQR us", "predicted us", "error");
  for (const auto& c : checks)
    std::printf("  %-40s %12.2f %10.2f %12.2f %+7.2f%%\n", c.source.c_str(), 1e-3 * c.measured_ns,
                1e-3 * c.iqr_ns, 1e-3 * static_cast<double>(c.predicted_ns), c.error_pct);
}

}  // namespace

int mpq_latency_command(const std::vector<std::string>& args) {
  ParsedArgs pa;
  std::string error;
  if (!parse_args(args,
                  {"--candidates", "--check", "--out", "--threads", "--warmup", "--runs", "--max-error", "--percentile"},
                  {}, &pa, &error))
    return usage_error(kCommand, error);
  if (pa.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (pa.positional.empty()) return usage_error(kCommand, "expected at least one MODEL.json");
  mpq_latency::MeasureOptions options;
  std::string candidates_path, out_path;
  std::vector<std::string> check_paths;
  double max_error = -1;
  double pct = 50;
  for (const auto& [flag, value] : pa.flags) {
    if (flag == "--candidates") {
      candidates_path = value;
    } else if (flag == "--check") {
      check_paths.push_back(value);
    } else if (flag == "--out") {
      out_path = value;
    } else if (flag == "--threads") {
      if (!parse_int_flag(flag, value, 1, 256, &options.threads, &error)) return usage_error(kCommand, error);
    } else if (flag == "--warmup") {
      if (!parse_int_flag(flag, value, 0, 1000000, &options.warmup, &error)) return usage_error(kCommand, error);
    } else if (flag == "--runs") {
      if (!parse_int_flag(flag, value, 1, 1000000, &options.runs, &error)) return usage_error(kCommand, error);
    } else if (flag == "--percentile") {
      char* end = nullptr;
      pct = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(pct >= 0 && pct <= 100))
        return usage_error(kCommand, "--percentile: expected a number in [0, 100], got '" + value + "'");
    } else if (flag == "--max-error") {
      char* end = nullptr;
      max_error = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(max_error >= 0 && max_error < 1e6))
        return usage_error(kCommand, "--max-error: expected a percentage >= 0, got '" + value + "'");
    }
  }

  std::string candidates_text;
  std::vector<std::string> searched;
  if (!candidates_path.empty()) {
    if (!read_text(candidates_path, &candidates_text, &error)) return runtime_error(kCommand, error);
    try {
      searched = mpq_latency::candidate_layer_names(candidates_text);
    } catch (const mpq::InputError& e) {
      std::fprintf(stderr, "dyad mpq latency: %s: %s\n", candidates_path.c_str(), e.what());
      return kExitUsage;
    }
  }

  std::vector<std::string> files = pa.positional;
  files.insert(files.end(), check_paths.begin(), check_paths.end());
  std::vector<std::shared_ptr<const Model>> models(files.size());
  for (size_t i = 0; i < files.size(); ++i)
    if (Status s = load_model(files[i], &models[i]); !s.is_ok()) return runtime_error(kCommand, s.message());

  std::vector<mpq_latency::Samples> samples;
  if (Status s = mpq_latency::measure_alternating(models, options, fill_input, &samples); !s.is_ok())
    return runtime_error(kCommand, s.message());

  std::vector<mpq_latency::ModelLatency> measured;
  try {
    for (size_t i = 0; i < files.size(); ++i) {
      const mpq_latency::Attribution a = mpq_latency::attribute_steps(models[i]->graph(), models[i]->plan());
      measured.push_back(mpq_latency::summarize(files[i], a, samples[i], pct));
    }
    const std::vector<mpq_latency::ModelLatency> table_models(measured.begin(),
                                                              measured.begin() + static_cast<long>(pa.positional.size()));
    const mpq_latency::LatencyTable table = mpq_latency::build_table(table_models, searched);
    warn_unsearched(table_models, table);
    std::vector<mpq_latency::Check> checks;
    for (const auto& m : measured) checks.push_back(mpq_latency::check_model(table, m));
    const std::string provenance = provenance_text(*models[0], files, options, pct);
    const nlohmann::ordered_json doc = candidates_path.empty()
                                           ? mpq_latency::table_json(table, checks, provenance)
                                           : mpq_latency::fill_candidates(candidates_text, table, checks, provenance);
    const std::string json = doc.dump(2) + "\n";
    if (out_path.empty()) {
      std::fputs(json.c_str(), stdout);
    } else {
      std::ofstream f(out_path, std::ios::binary | std::ios::trunc);
      f << json;
      f.close();
      if (!f) return runtime_error(kCommand, out_path + ": cannot write");
      print_summary(table, checks);
    }
    if (max_error >= 0) {
      for (const auto& c : checks)
        if (std::fabs(c.error_pct) > max_error) {
          std::fprintf(stderr, "dyad mpq latency: %s: additivity error %+.2f%% exceeds --max-error %g%%\n",
                       c.source.c_str(), c.error_pct, max_error);
          return kExitRuntime;
        }
    }
  } catch (const mpq::InputError& e) {
    std::fprintf(stderr, "dyad mpq latency: %s%s\n", candidates_path.empty() ? "" : (candidates_path + ": ").c_str(),
                 e.what());
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace dyad::cli
