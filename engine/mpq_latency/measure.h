// Times several models in alternation (`dyad mpq latency`): every round runs
// each model once, the order rotated from round to round, so that a slow
// stretch of a shared machine falls on all of them alike. Each timed run
// records every step (Session::run's step timer) and the whole run.
#pragma once

#include <memory>
#include <vector>

#include "engine/core/status.h"
#include "engine/exec/model.h"
#include "engine/mpq_latency/latency_table.h"

namespace dyad::mpq_latency {

struct MeasureOptions {
  int threads = 1;
  int warmup = 100;  // untimed runs of each model first (alternated too)
  int runs = 101;    // timed runs of each model
};

// Inputs are deterministic pseudo-random values in each input's range
// (`fill_input`, the same for every model). `out` gets one Samples per model.
using FillInput = void (*)(const Model& model, size_t input, void* container);
Status measure_alternating(const std::vector<std::shared_ptr<const Model>>& models,
                           const MeasureOptions& options, FillInput fill_input,
                           std::vector<Samples>* out);

}  // namespace dyad::mpq_latency
