// The planner: topological order, shape inference and per-op preparation (by
// each op's build function), kernel selection, and the arena layout.
#pragma once

#include "engine/core/status.h"
#include "engine/ir/graph.h"
#include "engine/plan/plan.h"

namespace dyad {

// Plans `graph` (whose output shapes it fills in). On error `out` is untouched.
Status build_plan(Graph& graph, Plan* out);

}  // namespace dyad
