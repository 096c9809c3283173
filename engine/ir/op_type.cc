#include "engine/ir/op_type.h"

namespace dyad {

namespace {
constexpr std::string_view kOpNames[] = {
#define DYAD_OP(enum_name, json_name, build_fn) json_name,
#include "engine/ir/ops.inc"
#undef DYAD_OP
};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == static_cast<size_t>(OpType::kCount));
}  // namespace

std::string_view op_type_name(OpType op) { return kOpNames[static_cast<int>(op)]; }

std::optional<OpType> op_type_from_name(std::string_view name) {
  for (int i = 0; i < static_cast<int>(OpType::kCount); ++i)
    if (kOpNames[i] == name) return static_cast<OpType>(i);
  return std::nullopt;
}

}  // namespace dyad
