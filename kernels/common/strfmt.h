// printf-style formatting into a std::string, for the planners' error and
// dispatch messages (kernels/gemm, kernels/vnm_gemm). Messages longer than
// 511 characters are cut.
#pragma once

#include <string>

namespace dyad::kernels {

std::string strfmt(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace dyad::kernels
