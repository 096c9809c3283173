// The per-layer latency table of `dyad mpq latency` (docs/mpq.md, "Latency"):
// from the step times of several models of one network (each layer at some
// precision), the median time of each layer at each precision it was measured
// at, the fixed time of everything else, and the additivity check (a model's
// measured time against fixed + the sum of its layers' table entries).
// Pure arithmetic on recorded samples: no timing here (measure.h does it).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/mpq_latency/layer_attribution.h"

namespace dyad::mpq_latency {

// The samples of one model: per step, one time per timed run; and the wall
// time of each whole run.
struct Samples {
  std::vector<std::vector<int64_t>> step_ns;  // [step][run]
  std::vector<int64_t> run_ns;                // [run]
};

// One model's figures (a percentile of its samples, the median by default), split by layer.
struct ModelLatency {
  std::string source;                 // the model file, for messages
  std::vector<LayerPrecision> layers; // Attribution::layers
  std::vector<double> layer_ns;       // of each owned step, shared steps split evenly
  double total_ns = 0;                // of the whole runs
  double total_iqr_ns = 0;            // interquartile range of the whole runs
};

// The percentile p in [0, 100] of `values`, interpolated linearly between
// the closest ranks (p 50: the median, the mean of the middle two for an even
// count; p 0: the least); 0 for none.
double percentile(std::vector<double> values, double p);
inline double median(std::vector<double> values) { return percentile(std::move(values), 50); }

// The percentile p (default the median) of `samples`, attributed by `a`.
// Throws mpq::InputError when the samples do not match the plan (a programming
// error in the caller).
ModelLatency summarize(const std::string& source, const Attribution& a, const Samples& samples,
                       double p = 50);

struct TableEntry {
  int w_bits = 0, a_bits = 0;
  int64_t latency_ns = 0;  // median over the models that have the layer at this precision
  int models = 0;          // how many did
};

struct LatencyTable {
  std::vector<std::string> layers;                       // searched layers, in step order
  std::vector<std::map<std::string, TableEntry>> entries;  // per layer, by choice id ("w4a8")
  int64_t fixed_ns = 0;  // median over the models of (run time - searched layers)
  std::vector<int64_t> macs;                             // per layer, for the check
  int find(const std::string& layer) const;              // -1 if absent
};

// Builds the table from models of one network. `searched` names the layers to
// search (empty: every quantizable layer of the first model); every model must
// have each of them. Throws mpq::InputError naming the layer and the model.
LatencyTable build_table(const std::vector<ModelLatency>& models,
                         const std::vector<std::string>& searched);

struct Check {
  std::string source;
  double measured_ns = 0;
  int64_t predicted_ns = 0;  // fixed + sum of the model's layers' entries
  double error_pct = 0;      // 100 * (predicted - measured) / measured
  double iqr_ns = 0;         // the measured runs' interquartile range (noise)
};

// The additivity check of one model against the table. Throws mpq::InputError
// when the model lacks a searched layer or has one at a precision the table
// does not hold.
Check check_model(const LatencyTable& table, const ModelLatency& model);

}  // namespace dyad::mpq_latency
