// `dyad bench MODEL [--threads N[,N...]] [--warmup W] [--iters I] [--timeout S] [--json|--csv]`:
// latency percentiles and per-op times from Session::run's step timer, for one
// or several thread counts, as text or for machines (JSON, CSV) with the machine
// and the process's peak RSS.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/cli/cli.h"
#include "engine/exec/session.h"
#include "kernels/common/cpu.h"

namespace dyad::cli {

namespace {

constexpr char kHelp[] =
    "usage: dyad bench MODEL [--threads N[,N...]] [--warmup W] [--iters I] [--timeout SECONDS]\n"
    "                        [--json | --csv]\n"
    "\n"
    "Runs MODEL on deterministic pseudo-random inputs: W warm-up runs (default 5), then\n"
    "I timed runs (default 50), with N threads (default 1); a list such as --threads 1,2\n"
    "measures each thread count in turn, on one loaded model. Prints the latency (min,\n"
    "mean, p50, p90 in ms) and the median time of every step, by op type and by step.\n"
    "The machine is shared and noisy: compare medians and ratios, not single numbers.\n"
    "--timeout stops with an error when any single run takes longer than SECONDS.\n"
    "--json prints one JSON object instead: the model, the machine (CPU model, kernel\n"
    "ISA in use, hardware threads), the load time, the peak RSS and per thread count\n"
    "the same figures. --csv prints one line per thread count with the latency figures.\n";

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// Three decimals, or four significant digits below 1 ms (small models run in microseconds).
std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms >= 1.0 ? "%.3f" : "%.4g", ms);
  return buf;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// "1,2,4": each in [1, kMaxSessionThreads], at least one.
bool parse_thread_list(const std::string& flag, const std::string& text, std::vector<int>* out,
                       std::string* error) {
  out->clear();
  size_t begin = 0;
  while (true) {
    const size_t comma = text.find(',', begin);
    const std::string item = text.substr(begin, comma == std::string::npos ? std::string::npos
                                                                           : comma - begin);
    int n = 0;
    if (!parse_int_flag(flag, item, 1, kMaxSessionThreads, &n, error)) return false;
    out->push_back(n);
    if (comma == std::string::npos) return true;
    begin = comma + 1;
  }
}

struct OpTotal {
  std::string op;
  int steps = 0;
  double ms = 0;
};

// The figures of one thread count.
struct BenchResult {
  int threads = 1;
  std::vector<double> latency_ms;  // sorted
  double mean_ms = 0;
  std::vector<double> step_median_ms;
  double step_total_ms = 0;
  std::vector<OpTotal> by_op;  // slowest first
};

Status measure(const std::shared_ptr<const Model>& model, int threads, int warmup, int iters,
               std::chrono::microseconds timeout, BenchResult* out) {
  std::unique_ptr<Session> session;
  DYAD_RETURN_IF_ERROR(Session::create(model, threads, &session));
  session->set_run_timeout(timeout);
  for (size_t i = 0; i < model->num_inputs(); ++i) {
    std::vector<uint8_t> container(session->input_bytes(i));
    fill_pseudo_random(model->input(i), 1 + i, container.data(), embedding_id_limit(*model, i));
    DYAD_RETURN_IF_ERROR(session->set_input(i, container.data(), container.size()));
  }
  const Plan& plan = model->plan();
  std::vector<int64_t> step_ns;
  for (int i = 0; i < warmup; ++i) DYAD_RETURN_IF_ERROR(session->run(&step_ns));
  BenchResult r;
  r.threads = threads;
  std::vector<std::vector<double>> step_ms(plan.steps.size());
  for (int i = 0; i < iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const Status s = session->run(&step_ns);
    const auto end = std::chrono::steady_clock::now();
    DYAD_RETURN_IF_ERROR(s);
    r.latency_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    for (size_t k = 0; k < plan.steps.size(); ++k) step_ms[k].push_back(step_ns[k] * 1e-6);
  }
  std::sort(r.latency_ms.begin(), r.latency_ms.end());
  for (double v : r.latency_ms) r.mean_ms += v;
  r.mean_ms /= static_cast<double>(r.latency_ms.size());
  r.step_median_ms.resize(plan.steps.size());
  for (size_t k = 0; k < plan.steps.size(); ++k)
    r.step_total_ms += r.step_median_ms[k] = median(step_ms[k]);
  std::map<std::string, OpTotal> by_op;
  for (size_t k = 0; k < plan.steps.size(); ++k) {
    OpTotal& t = by_op[std::string(op_type_name(plan.steps[k].op))];
    t.op = std::string(op_type_name(plan.steps[k].op));
    ++t.steps;
    t.ms += r.step_median_ms[k];
  }
  for (const auto& [op, t] : by_op) r.by_op.push_back(t);
  std::stable_sort(r.by_op.begin(), r.by_op.end(),
                   [](const OpTotal& a, const OpTotal& b) { return a.ms > b.ms; });
  *out = std::move(r);
  return Status::ok();
}

double share(const BenchResult& r, double ms) {
  return r.step_total_ms > 0 ? 100.0 * ms / r.step_total_ms : 0.0;
}

void print_text(const Model& model, const std::string& path, int warmup, int iters,
                const BenchResult& r) {
  const Plan& plan = model.plan();
  std::printf("model: %s (%s)\n", model.graph().name.c_str(), path.c_str());
  std::printf("threads %d, %d warm-up runs, %d timed runs\n", r.threads, warmup, iters);
  std::printf("latency (ms): min %s  mean %s  p50 %s  p90 %s\n", ms_text(r.latency_ms.front()).c_str(),
              ms_text(r.mean_ms).c_str(), ms_text(percentile(r.latency_ms, 50)).c_str(),
              ms_text(percentile(r.latency_ms, 90)).c_str());
  std::printf("\nby op type (sum of step medians):\n  %-22s %6s %12s %8s\n", "op", "steps",
              "median us", "share");
  for (const OpTotal& t : r.by_op)
    std::printf("  %-22s %6d %12.2f %7.1f%%\n", t.op.c_str(), t.steps, 1e3 * t.ms, share(r, t.ms));
  std::printf("\nby step (median over the timed runs):\n  %-4s %-24s %-20s %-32s %12s %8s\n", "#",
              "node", "op", "kernel", "median us", "share");
  for (size_t k = 0; k < plan.steps.size(); ++k) {
    const Step& s = plan.steps[k];
    std::printf("  %-4zu %-24s %-20s %-32s %12.2f %7.1f%%\n", k, s.node_name.c_str(),
                std::string(op_type_name(s.op)).c_str(), s.kernel_name.c_str(),
                1e3 * r.step_median_ms[k], share(r, r.step_median_ms[k]));
  }
  std::printf("  %-4s %-24s %-20s %-32s %12.2f\n", "", "total", "", "", 1e3 * r.step_total_ms);
}

// The process's peak resident set so far, in bytes (getrusage; 0 if unknown).
uint64_t peak_rss_bytes() {
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux: KiB
}

nlohmann::json to_json(const Model& model, const std::string& path, int warmup, int iters,
                       double load_ms, const std::vector<BenchResult>& results) {
  using nlohmann::json;
  const Machine m = describe_machine();
  json out;
  out["model"] = {{"name", model.graph().name}, {"path", path}};
  out["machine"] = {{"cpu_model", m.cpu_model},
                    {"isa", m.isa},
                    {"cpu_features", m.features},
                    {"hardware_threads", m.hardware_threads}};
  out["warmup"] = warmup;
  out["iters"] = iters;
  out["load_ms"] = load_ms;
  out["peak_rss_bytes"] = peak_rss_bytes();
  json runs = json::array();
  const Plan& plan = model.plan();
  for (const BenchResult& r : results) {
    json run;
    run["threads"] = r.threads;
    run["latency_ms"] = {{"min", r.latency_ms.front()},
                         {"mean", r.mean_ms},
                         {"p50", percentile(r.latency_ms, 50)},
                         {"p90", percentile(r.latency_ms, 90)},
                         {"max", r.latency_ms.back()}};
    json ops = json::array();
    for (const OpTotal& t : r.by_op)
      ops.push_back({{"op", t.op}, {"steps", t.steps}, {"median_us", 1e3 * t.ms},
                     {"share_percent", share(r, t.ms)}});
    run["by_op"] = std::move(ops);
    json steps = json::array();
    for (size_t k = 0; k < plan.steps.size(); ++k) {
      const Step& s = plan.steps[k];
      steps.push_back({{"index", k},
                       {"node", s.node_name},
                       {"op", std::string(op_type_name(s.op))},
                       {"kernel", s.kernel_name},
                       {"median_us", 1e3 * r.step_median_ms[k]},
                       {"share_percent", share(r, r.step_median_ms[k])}});
    }
    run["steps"] = std::move(steps);
    run["step_total_us"] = 1e3 * r.step_total_ms;
    runs.push_back(std::move(run));
  }
  out["runs"] = std::move(runs);
  return out;
}

// A CSV field: quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

void print_csv(const Model& model, const std::string& path, int warmup, int iters,
               double load_ms, const std::vector<BenchResult>& results) {
  const Machine m = describe_machine();
  const uint64_t rss = peak_rss_bytes();
  std::printf("model,path,cpu_model,isa,hardware_threads,threads,warmup,iters,min_ms,mean_ms,"
              "p50_ms,p90_ms,max_ms,step_total_us,load_ms,peak_rss_bytes\n");
  for (const BenchResult& r : results) {
    std::printf("%s,%s,%s,%s,%u,%d,%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.3f,%.3f,%llu\n",
                csv_field(model.graph().name).c_str(), csv_field(path).c_str(),
                csv_field(m.cpu_model).c_str(), m.isa.c_str(), m.hardware_threads, r.threads, warmup,
                iters, r.latency_ms.front(), r.mean_ms, percentile(r.latency_ms, 50),
                percentile(r.latency_ms, 90), r.latency_ms.back(), 1e3 * r.step_total_ms, load_ms,
                static_cast<unsigned long long>(rss));
  }
}

}  // namespace

int bench_command(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::string error;
  if (!parse_args(args, {"--threads", "-t", "--warmup", "--iters", "--timeout"}, {"--json", "--csv"},
                  &parsed, &error))
    return usage_error("bench", error);
  if (parsed.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (parsed.positional.size() != 1)
    return usage_error("bench", parsed.positional.empty()
                                    ? "missing MODEL"
                                    : "expected one MODEL, got " +
                                          std::to_string(parsed.positional.size()) + " arguments");
  std::vector<int> thread_counts = {1};
  int warmup = 5, iters = 50;
  bool json = false, csv = false;
  std::chrono::microseconds timeout{0};
  for (const auto& [flag, value] : parsed.flags) {
    if (flag == "--json" || flag == "--csv") {
      (flag == "--json" ? json : csv) = true;
      continue;
    }
    const bool ok = flag == "--timeout" ? parse_timeout_flag(flag, value, &timeout, &error)
                    : flag == "--warmup"  ? parse_int_flag(flag, value, 0, 1000000, &warmup, &error)
                    : flag == "--iters" ? parse_int_flag(flag, value, 1, 1000000, &iters, &error)
                                        : parse_thread_list(flag, value, &thread_counts, &error);
    if (!ok) return usage_error("bench", error);
  }
  if (json && csv) return usage_error("bench", "--json and --csv exclude each other");

  const std::string& path = parsed.positional[0];
  std::shared_ptr<const Model> model;
  const auto load_start = std::chrono::steady_clock::now();
  if (Status s = load_model(path, &model); !s.is_ok()) return runtime_error("bench", s.message());
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();

  std::vector<BenchResult> results;
  for (int threads : thread_counts) {
    BenchResult r;
    if (Status s = measure(model, threads, warmup, iters, timeout, &r); !s.is_ok())
      return runtime_error("bench", s.message());
    if (!json && !csv) {
      if (!results.empty()) std::printf("\n");
      print_text(*model, path, warmup, iters, r);
    }
    results.push_back(std::move(r));
  }
  if (json) std::printf("%s\n", to_json(*model, path, warmup, iters, load_ms, results).dump(2).c_str());
  if (csv) print_csv(*model, path, warmup, iters, load_ms, results);
  return kExitOk;
}

}  // namespace dyad::cli
