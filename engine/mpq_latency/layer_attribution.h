// Which steps of a planned model belong to which quantizable layer, for the
// per-layer latency table of `dyad mpq latency` (docs/mpq.md, "Latency").
//
// A quantizable layer is a conv2d or fully_connected step with a constant
// weight. Its precision is read from the model: w_bits from the weight's dtype
// (int4 -> 4, int8 -> 8), a_bits from its input activation's dtype (4-bit,
// 8-bit or 16-bit containers). A `requantize` step that turns an 8- or 4-bit
// activation into another width, read by quantizable layers, is the cost of
// changing those layers' input precision: it is attributed to them (split
// evenly when several read it; shared/mpq.md 4.9). Every other step is fixed.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/plan/plan.h"

namespace dyad::mpq_latency {

struct LayerPrecision {
  std::string name;   // the node name
  int w_bits = 0;
  int a_bits = 0;
  size_t step = 0;    // its own step in the plan
  int64_t macs = 0;   // multiply-accumulates of one run (the same layer in another model has as many)
};

// "w4a8".
std::string choice_id(int w_bits, int a_bits);

struct Attribution {
  std::vector<LayerPrecision> layers;     // in step order
  // Per plan step: the indices into `layers` that share its time (empty: fixed).
  std::vector<std::vector<size_t>> step_owners;
  int find(const std::string& name) const;  // index into layers, -1 if absent
};

Attribution attribute_steps(const Graph& graph, const Plan& plan);

}  // namespace dyad::mpq_latency
