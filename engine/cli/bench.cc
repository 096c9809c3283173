// `dyad bench MODEL [--threads N] [--warmup W] [--iters I] [--timeout S]`: latency
// percentiles and per-op times from Session::run's step timer.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "engine/cli/cli.h"
#include "engine/exec/session.h"

namespace dyad::cli {

namespace {

constexpr char kHelp[] =
    "usage: dyad bench MODEL [--threads N] [--warmup W] [--iters I] [--timeout SECONDS]\n"
    "\n"
    "Runs MODEL on deterministic pseudo-random inputs: W warm-up runs (default 5), then\n"
    "I timed runs (default 50), with N threads (default 1). Prints the latency (min,\n"
    "mean, p50, p90 in ms) and the median time of every step, by op type and by step.\n"
    "The machine is shared and noisy: compare medians and ratios, not single numbers.\n"
    "--timeout stops with an error when any single run takes longer than SECONDS.\n";

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

}  // namespace

int bench_command(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::string error;
  if (!parse_args(args, {"--threads", "-t", "--warmup", "--iters", "--timeout"}, {}, &parsed, &error))
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
  int threads = 1, warmup = 5, iters = 50;
  std::chrono::microseconds timeout{0};
  for (const auto& [flag, value] : parsed.flags) {
    const bool ok = flag == "--timeout" ? parse_timeout_flag(flag, value, &timeout, &error)
                    : flag == "--warmup"  ? parse_int_flag(flag, value, 0, 1000000, &warmup, &error)
                    : flag == "--iters" ? parse_int_flag(flag, value, 1, 1000000, &iters, &error)
                                        : parse_int_flag(flag, value, 1, 256, &threads, &error);
    if (!ok) return usage_error("bench", error);
  }

  const std::string& path = parsed.positional[0];
  std::shared_ptr<const Model> model;
  if (Status s = load_model(path, &model); !s.is_ok()) return runtime_error("bench", s.message());
  std::unique_ptr<Session> session;
  if (Status s = Session::create(model, threads, &session); !s.is_ok())
    return runtime_error("bench", s.message());
  session->set_run_timeout(timeout);
  for (size_t i = 0; i < model->num_inputs(); ++i) {
    std::vector<uint8_t> container(session->input_bytes(i));
    fill_pseudo_random(model->input(i), 1 + i, container.data(),
                       embedding_id_limit(*model, i));
    if (Status s = session->set_input(i, container.data(), container.size()); !s.is_ok())
      return runtime_error("bench", s.message());
  }

  const Plan& plan = model->plan();
  std::vector<int64_t> step_ns;
  for (int i = 0; i < warmup; ++i)
    if (Status s = session->run(&step_ns); !s.is_ok()) return runtime_error("bench", s.message());
  std::vector<double> latency_ms;
  std::vector<std::vector<double>> step_ms(plan.steps.size());
  for (int i = 0; i < iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const Status s = session->run(&step_ns);
    const auto end = std::chrono::steady_clock::now();
    if (!s.is_ok()) return runtime_error("bench", s.message());
    latency_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    for (size_t k = 0; k < plan.steps.size(); ++k) step_ms[k].push_back(step_ns[k] * 1e-6);
  }

  std::sort(latency_ms.begin(), latency_ms.end());
  double mean = 0;
  for (double v : latency_ms) mean += v;
  mean /= static_cast<double>(latency_ms.size());
  std::printf("model: %s (%s)\n", model->graph().name.c_str(), path.c_str());
  std::printf("threads %d, %d warm-up runs, %d timed runs\n", threads, warmup, iters);
  std::printf("latency (ms): min %s  mean %s  p50 %s  p90 %s\n", ms_text(latency_ms.front()).c_str(),
              ms_text(mean).c_str(), ms_text(percentile(latency_ms, 50)).c_str(),
              ms_text(percentile(latency_ms, 90)).c_str());

  std::vector<double> step_median(plan.steps.size());
  double total = 0;
  for (size_t k = 0; k < plan.steps.size(); ++k) total += step_median[k] = median(step_ms[k]);
  const auto share = [&](double v) { return total > 0 ? 100.0 * v / total : 0.0; };

  struct OpTotal {
    int steps = 0;
    double ms = 0;
  };
  std::map<std::string, OpTotal> by_op;
  for (size_t k = 0; k < plan.steps.size(); ++k) {
    OpTotal& t = by_op[std::string(op_type_name(plan.steps[k].op))];
    ++t.steps;
    t.ms += step_median[k];
  }
  std::vector<std::pair<std::string, OpTotal>> ops(by_op.begin(), by_op.end());
  std::stable_sort(ops.begin(), ops.end(),
                   [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  std::printf("\nby op type (sum of step medians):\n  %-22s %6s %12s %8s\n", "op", "steps",
              "median us", "share");
  for (const auto& [op, t] : ops)
    std::printf("  %-22s %6d %12.2f %7.1f%%\n", op.c_str(), t.steps, 1e3 * t.ms, share(t.ms));

  std::printf("\nby step (median over the timed runs):\n  %-4s %-24s %-20s %-32s %12s %8s\n", "#",
              "node", "op", "kernel", "median us", "share");
  for (size_t k = 0; k < plan.steps.size(); ++k) {
    const Step& s = plan.steps[k];
    std::printf("  %-4zu %-24s %-20s %-32s %12.2f %7.1f%%\n", k, s.node_name.c_str(),
                std::string(op_type_name(s.op)).c_str(), s.kernel_name.c_str(), 1e3 * step_median[k],
                share(step_median[k]));
  }
  std::printf("  %-4s %-24s %-20s %-32s %12.2f\n", "", "total", "", "", 1e3 * total);
  return kExitOk;
}

}  // namespace dyad::cli
