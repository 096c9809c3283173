#include "engine/mpq_latency/measure.h"

#include <chrono>

#include "engine/exec/session.h"

namespace dyad::mpq_latency {

Status measure_alternating(const std::vector<std::shared_ptr<const Model>>& models,
                           const MeasureOptions& options, FillInput fill_input,
                           std::vector<Samples>* out) {
  const size_t n = models.size();
  std::vector<std::unique_ptr<Session>> sessions(n);
  std::vector<Samples> samples(n);
  for (size_t m = 0; m < n; ++m) {
    DYAD_RETURN_IF_ERROR(Session::create(models[m], options.threads, &sessions[m]));
    for (size_t i = 0; i < models[m]->num_inputs(); ++i) {
      std::vector<uint8_t> container(sessions[m]->input_bytes(i));
      fill_input(*models[m], i, container.data());
      DYAD_RETURN_IF_ERROR(sessions[m]->set_input(i, container.data(), container.size()));
    }
    samples[m].step_ns.assign(models[m]->plan().steps.size(), {});
    for (auto& s : samples[m].step_ns) s.reserve(static_cast<size_t>(options.runs));
    samples[m].run_ns.reserve(static_cast<size_t>(options.runs));
  }
  std::vector<int64_t> step_ns;
  for (int round = 0; round < options.warmup + options.runs; ++round) {
    const bool timed = round >= options.warmup;
    for (size_t j = 0; j < n; ++j) {
      const size_t m = (static_cast<size_t>(round) + j) % n;
      const auto start = std::chrono::steady_clock::now();
      const Status s = sessions[m]->run(&step_ns);
      const auto end = std::chrono::steady_clock::now();
      DYAD_RETURN_IF_ERROR(s);
      if (!timed) continue;
      samples[m].run_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
      for (size_t k = 0; k < step_ns.size(); ++k) samples[m].step_ns[k].push_back(step_ns[k]);
    }
  }
  *out = std::move(samples);
  return Status::ok();
}

}  // namespace dyad::mpq_latency
