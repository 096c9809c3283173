// The result file, schema "dyad-mpq-result/1" (docs/mpq.md).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/mpq/problem.h"
#include "engine/mpq/solve.h"

namespace dyad::mpq {

nlohmann::ordered_json result_json(const Problem& p, const SolveResult& r,
                                   const std::string& input_sha256);

}  // namespace dyad::mpq
