// The server's counters for GET /metrics (Prometheus text format 0.0.4):
// requests by model and HTTP code, errors (code >= 400) by model and code,
// a latency histogram of successful inference requests per model, and per model the
// queue depth, sessions busy and pool size (read from the pools on demand).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace dyad::serve {

class ServedModel;

class Metrics {
 public:
  // Upper bounds (seconds) of the latency histogram's buckets (+Inf is implied).
  static constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,  0.1,    0.25,  0.5,
                                                      1,      2.5,   5,      10};

  // One finished request; `model` is "" for requests not about a served
  // model. `infer_seconds` >= 0 adds an inference latency sample.
  void record(const std::string& model, int code, double infer_seconds);
  // Totals by HTTP code (the summary printed at exit).
  std::map<int, uint64_t> totals_by_code() const;
  std::string render(const std::vector<const ServedModel*>& models) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size() + 1> counts{};  // last: +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

}  // namespace dyad::serve
