// SHA-256 (FIPS 180-4) of a byte string, as 64 lowercase hex digits: the
// result file records the hash of the candidates file it was solved from.
#pragma once

#include <string>
#include <string_view>

namespace dyad::mpq {

std::string sha256_hex(std::string_view bytes);

}  // namespace dyad::mpq
