// The variant choice shared by the GEMM planners (kernels/gemm,
// kernels/vnm_gemm): a variant named by the caller (tests, benchmarks), the
// reference under DYAD_KERNELS=ref, else the first variant of the list that
// accepts the operands. DYAD_VERBOSE=dispatch logs each refusal and the choice.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "kernels/common/cpu.h"

namespace dyad::kernels {

// `variants` is best first with the reference (which accepts everything)
// last; each has a `name`. refusal(v) returns "" when v accepts the operands,
// else why not. log(what, name, why) prints one dispatch line ("chose" or
// "skipped"). `kernel` prefixes errors ("gemm", "vnm_gemm"). Returns nullptr
// and sets *error only for a forced variant that is unknown or refuses.
template <typename Variant, size_t N, typename Refusal, typename Log>
const Variant* select_variant(const Variant (&variants)[N], const std::string_view* forced,
                              const char* kernel, Refusal&& refusal, Log&& log, std::string* error) {
  if (forced != nullptr) {
    for (const Variant& v : variants) {
      if (*forced != v.name) continue;
      const std::string why = refusal(v);
      if (why.empty()) return &v;
      if (error) *error = std::string(kernel) + ": variant " + v.name + " refused: " + why;
      return nullptr;
    }
    if (error) *error = std::string(kernel) + ": unknown variant '" + std::string(*forced) + "'";
    return nullptr;
  }
  const bool verbose = verbose_dispatch();
  if (force_reference_kernels()) {
    if (verbose) log("chose", variants[N - 1].name, "DYAD_KERNELS=ref");
    return &variants[N - 1];
  }
  for (const Variant& v : variants) {
    const std::string why = refusal(v);
    if (why.empty()) {
      if (verbose) log("chose", v.name, "");
      return &v;
    }
    if (verbose) log("skipped", v.name, why);
  }
  return &variants[N - 1];  // not reached: the reference accepts everything
}

}  // namespace dyad::kernels
