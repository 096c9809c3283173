// OpType: generated from engine/ir/ops.inc.
#pragma once

#include <optional>
#include <string_view>

namespace dyad {

enum class OpType : int {
#define DYAD_OP(enum_name, json_name, build_fn) enum_name,
#include "engine/ir/ops.inc"
#undef DYAD_OP
  kCount
};

std::string_view op_type_name(OpType op);
std::optional<OpType> op_type_from_name(std::string_view name);

}  // namespace dyad
