#include "engine/serve/metrics.h"

#include <cstdio>

#include "engine/serve/served_model.h"

namespace dyad::serve {

namespace {
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Model names are checked at startup ([A-Za-z0-9_.-]), so no escaping is needed.
std::string label(const std::string& model) { return "model=\"" + model + "\""; }
}  // namespace

void Metrics::record(const std::string& model, int code, double infer_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{model, code}];
  if (infer_seconds < 0) return;
  Histogram& h = latency_[model];
  size_t b = 0;
  while (b < kBuckets.size() && infer_seconds > kBuckets[b]) ++b;
  ++h.counts[b];
  h.sum += infer_seconds;
  ++h.count;
}

std::map<int, uint64_t> Metrics::totals_by_code() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<int, uint64_t> totals;
  for (const auto& [key, n] : requests_) totals[key.second] += n;
  return totals;
}

std::string Metrics::render(const std::vector<const ServedModel*>& models) const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  out += "# HELP dyad_requests_total HTTP requests answered, by model and status code.\n";
  out += "# TYPE dyad_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += "dyad_requests_total{" + label(key.first) + ",code=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(n) + "\n";
  out += "# HELP dyad_request_errors_total HTTP requests answered with a 4xx or 5xx code.\n";
  out += "# TYPE dyad_request_errors_total counter\n";
  for (const auto& [key, n] : requests_)
    if (key.second >= 400)
      out += "dyad_request_errors_total{" + label(key.first) + ",code=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP dyad_infer_duration_seconds Successful inference requests' time in the server, from the\n"
         "# body's arrival to the reply (queueing, run and formatting).\n";
  out += "# TYPE dyad_infer_duration_seconds histogram\n";
  for (const auto& [model, h] : latency_) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += h.counts[b];
      const std::string le = b < kBuckets.size() ? number(kBuckets[b]) : "+Inf";
      out += "dyad_infer_duration_seconds_bucket{" + label(model) + ",le=\"" + le + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "dyad_infer_duration_seconds_sum{" + label(model) + "} " + number(h.sum) + "\n";
    out += "dyad_infer_duration_seconds_count{" + label(model) + "} " + std::to_string(h.count) +
           "\n";
  }
  out += "# HELP dyad_queue_depth Requests waiting for a session.\n";
  out += "# TYPE dyad_queue_depth gauge\n";
  for (const ServedModel* m : models)
    out += "dyad_queue_depth{" + label(m->name()) + "} " + std::to_string(m->pool().waiting()) + "\n";
  out += "# HELP dyad_sessions_busy Sessions running a request.\n";
  out += "# TYPE dyad_sessions_busy gauge\n";
  for (const ServedModel* m : models)
    out += "dyad_sessions_busy{" + label(m->name()) + "} " + std::to_string(m->pool().busy()) + "\n";
  out += "# HELP dyad_sessions Sessions in the model's pool.\n";
  out += "# TYPE dyad_sessions gauge\n";
  for (const ServedModel* m : models)
    out += "dyad_sessions{" + label(m->name()) + "} " + std::to_string(m->pool().size()) + "\n";
  return out;
}

}  // namespace dyad::serve
