// The input of the bit-allocation solver (docs/mpq.md): a candidates file of
// schema "dyad-mpq-candidates/1", parsed and validated.
//
// Each searchable layer offers candidates (a precision such as w4a4 or w8a8),
// each with an additive sensitivity (lower is better) and exact integer costs
// in up to three dimensions: size (bytes), bops (MAC * w_bits * a_bits) and
// latency (ns). Ties force layers to agree on the candidate id, w_bits or
// a_bits. Nothing here depends on the rest of the engine.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dyad::mpq {

inline constexpr int kDims = 3;
enum Dim : int { kSize = 0, kBops = 1, kLatency = 2 };
// "size", "bops", "latency".
const char* dim_name(int dim);
// The dimension named `name`, or -1.
int dim_from_name(std::string_view name);

using Costs = std::array<uint64_t, kDims>;

// Bad input (file or command line): the message names the field and the layer.
// The CLI exits with code 2 on it.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Candidate {
  std::string id;
  int w_bits = 0, a_bits = 0;
  double sensitivity = 0;
  Costs cost{};  // zero in a dimension the file does not give
};

struct Layer {
  std::string name;
  std::vector<Candidate> candidates;
};

enum class TieAttr { kId, kWBits, kABits };

struct Tie {
  TieAttr attr = TieAttr::kId;
  std::vector<int> layers;  // indices into Problem::layers
};

struct Problem {
  std::string model;
  Costs fixed{};                       // costs of the layers that are not searched
  std::array<bool, kDims> has_dim{};   // the dimension is given on every candidate
  std::vector<Layer> layers;
  std::vector<Tie> ties;
  std::map<int, int> pins;             // layer index -> candidate index (the file's "pins")

  int find_layer(std::string_view name) const;                   // -1 if absent
  int find_candidate(int layer, std::string_view id) const;      // -1 if absent
};

// Parses and validates a candidates file. Throws InputError, for example
//   layers[3] 'stage2.unit1.conv1': candidates[1] 'w8a8': sensitivity is NaN; ...
// Checks: schema, every number finite, sensitivity >= 0, costs non-negative
// integers given on all candidates or none (per dimension), ids unique within a
// layer and names unique, ties and pins naming existing layers and ids, and the
// sum over layers of the largest costs plus "fixed" fits in 64 bits.
Problem parse_candidates(std::string_view json_text);

}  // namespace dyad::mpq
