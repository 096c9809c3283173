// Parsing and validation of "dyad-mpq-candidates/1" files (problem.h).
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "engine/mpq/problem.h"

namespace dyad::mpq {

namespace {

using nlohmann::json;

constexpr char kSchema[] = "dyad-mpq-candidates/1";

// Python's json module writes NaN, Infinity and -Infinity, which are not JSON.
// They are turned into the strings "NaN", "Infinity", "-Infinity" so that the
// field check below can name the field and the layer (instead of a parse error
// at a byte offset); so are numbers too large for a double (1e999). Letters
// outside strings are otherwise only true/false/null.
std::string quote_non_finite(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (std::string_view word : {"-Infinity", "Infinity", "NaN"}) {
      if (text.substr(i, word.size()) == word) {
        out += '"';
        out += word;
        out += '"';
        i += word.size() - 1;
        replaced = true;
        break;
      }
    }
    // A number too large for a double: quoted as it is, refused by the field check.
    if (!replaced && (c == '-' || (c >= '0' && c <= '9'))) {
      size_t end = i + 1;
      while (end < text.size() && text[end] != '\0' && std::strchr("0123456789+-.eE", text[end]) != nullptr) ++end;
      const std::string token(text.substr(i, end - i));
      if (std::isinf(std::strtod(token.c_str(), nullptr))) {
        out += '"' + token + '"';
        i = end - 1;
        continue;
      }
      out += token;
      i = end - 1;
      continue;
    }
    if (!replaced) out += c;
  }
  return out;
}

std::string describe(const json& v) {
  if (v.is_string()) return "\"" + v.get<std::string>().substr(0, 40) + "\"";
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return s;
}

[[noreturn]] void fail(const std::string& where, std::string_view field, const std::string& what) {
  std::string msg = where;
  if (!msg.empty()) msg += ": ";
  msg += "field '";
  msg += field;
  msg += "': ";
  msg += what;
  throw InputError(msg);
}

const json& require(const json& obj, const std::string& where, std::string_view key) {
  const auto it = obj.find(std::string(key));
  if (it == obj.end()) fail(where, key, "missing");
  return *it;
}

std::string get_string(const json& obj, const std::string& where, std::string_view key) {
  const json& v = require(obj, where, key);
  if (!v.is_string()) fail(where, key, "expected a string, got " + describe(v));
  std::string s = v.get<std::string>();
  if (s.empty()) fail(where, key, "is empty");
  return s;
}

// A string the scanner above made of a non-finite number.
bool is_non_finite_text(const json& v) {
  if (!v.is_string()) return false;
  const std::string s = v.get<std::string>();
  if (s == "NaN" || s == "Infinity" || s == "-Infinity") return true;
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  return !s.empty() && *end == '\0' && std::isinf(d);
}

// A non-negative integer that fits in uint64.
uint64_t get_uint(const json& v, const std::string& where, std::string_view key) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) fail(where, key, "is negative (" + describe(v) + ")");
  if (is_non_finite_text(v)) fail(where, key, "is " + v.get<std::string>() + "; must be a finite integer");
  fail(where, key, "expected a non-negative integer, got " + describe(v));
}

double get_finite(const json& v, const std::string& where, std::string_view key) {
  if (is_non_finite_text(v))
    fail(where, key, "is " + v.get<std::string>() + "; must be a finite number");
  if (!v.is_number()) fail(where, key, "expected a number, got " + describe(v));
  const double d = v.get<double>();
  if (!std::isfinite(d)) fail(where, key, "is not a finite number (" + describe(v) + ")");
  return d;
}

int get_bits(const json& obj, const std::string& where, std::string_view key) {
  const uint64_t b = get_uint(require(obj, where, key), where, key);
  if (b < 1 || b > 64) fail(where, key, "must be in [1, 64], got " + std::to_string(b));
  return static_cast<int>(b);
}

std::string layer_where(size_t i, const std::string& name) {
  std::string w = "layers[";
  w += std::to_string(i);
  w += "]";
  if (!name.empty()) {
    w += " '";
    w += name;
    w += "'";
  }
  return w;
}

Candidate parse_candidate(const json& c, const std::string& where,
                          std::array<int, kDims>* dim_count) {
  if (!c.is_object()) throw InputError(where + ": expected an object, got " + describe(c));
  Candidate out;
  out.id = get_string(c, where, "id");
  const std::string w = where + " '" + out.id + "'";
  out.w_bits = get_bits(c, w, "w_bits");
  out.a_bits = get_bits(c, w, "a_bits");
  out.sensitivity = get_finite(require(c, w, "sensitivity"), w, "sensitivity");
  if (out.sensitivity < 0)
    fail(w, "sensitivity", "is negative (" + describe(c["sensitivity"]) + "); must be >= 0");
  for (int d = 0; d < kDims; ++d) {
    const auto it = c.find(dim_name(d));
    if (it == c.end()) continue;
    out.cost[d] = get_uint(*it, w, dim_name(d));
    ++(*dim_count)[d];
  }
  return out;
}

TieAttr parse_tie_attr(const json& tie, const std::string& where) {
  const auto it = tie.find("attr");
  if (it == tie.end()) return TieAttr::kId;
  if (it->is_string()) {
    const std::string a = it->get<std::string>();
    if (a == "id") return TieAttr::kId;
    if (a == "w_bits") return TieAttr::kWBits;
    if (a == "a_bits") return TieAttr::kABits;
  }
  fail(where, "attr", "expected \"id\", \"w_bits\" or \"a_bits\", got " + describe(*it));
}

}  // namespace

const char* dim_name(int dim) {
  switch (dim) {
    case kSize: return "size";
    case kBops: return "bops";
    default: return "latency";
  }
}

int dim_from_name(std::string_view name) {
  for (int d = 0; d < kDims; ++d)
    if (name == dim_name(d)) return d;
  return -1;
}

int Problem::find_layer(std::string_view name) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == name) return static_cast<int>(i);
  return -1;
}

int Problem::find_candidate(int layer, std::string_view id) const {
  const auto& cs = layers[static_cast<size_t>(layer)].candidates;
  for (size_t i = 0; i < cs.size(); ++i)
    if (cs[i].id == id) return static_cast<int>(i);
  return -1;
}

Problem parse_candidates(std::string_view json_text) {
  json root;
  try {
    root = json::parse(quote_non_finite(json_text));
  } catch (const json::exception& e) {
    throw InputError(std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw InputError("expected a JSON object at the top level");
  const std::string schema = get_string(root, "", "schema");
  if (schema != kSchema)
    fail("", "schema", "expected \"" + std::string(kSchema) + "\", got \"" + schema + "\"");

  Problem p;
  if (const auto it = root.find("model"); it != root.end() && it->is_string())
    p.model = it->get<std::string>();
  if (const auto it = root.find("fixed"); it != root.end()) {
    if (!it->is_object()) fail("", "fixed", "expected an object, got " + describe(*it));
    for (int d = 0; d < kDims; ++d)
      if (const auto f = it->find(dim_name(d)); f != it->end())
        p.fixed[d] = get_uint(*f, "fixed", dim_name(d));
  }

  const json& layers = require(root, "", "layers");
  if (!layers.is_array() || layers.empty())
    fail("", "layers", "expected a non-empty array, got " + describe(layers));
  std::array<int, kDims> dim_count{};
  size_t candidate_count = 0;
  std::unordered_map<std::string, int> index;  // layer name -> position
  for (size_t i = 0; i < layers.size(); ++i) {
    const json& l = layers[i];
    if (!l.is_object()) throw InputError(layer_where(i, "") + ": expected an object");
    Layer layer;
    layer.name = get_string(l, layer_where(i, ""), "name");
    const std::string where = layer_where(i, layer.name);
    if (!index.emplace(layer.name, static_cast<int>(i)).second)
      fail(where, "name", "duplicate layer name '" + layer.name + "'");
    const json& cands = require(l, where, "candidates");
    if (!cands.is_array() || cands.empty())
      fail(where, "candidates", "expected a non-empty array, got " + describe(cands));
    std::set<std::string> ids;
    for (size_t c = 0; c < cands.size(); ++c) {
      std::string cw = where + ": candidates[";
      cw += std::to_string(c);
      cw += "]";
      Candidate cand = parse_candidate(cands[c], cw, &dim_count);
      if (!ids.insert(cand.id).second)
        fail(cw, "id", "duplicate candidate id '" + cand.id + "' in layer '" + layer.name + "'");
      layer.candidates.push_back(std::move(cand));
    }
    candidate_count += cands.size();
    p.layers.push_back(std::move(layer));
  }
  for (int d = 0; d < kDims; ++d) {
    if (dim_count[d] != 0 && static_cast<size_t>(dim_count[d]) != candidate_count) {
      // Name the first candidate without it.
      for (size_t li = 0; li < p.layers.size(); ++li)
        for (size_t c = 0; c < p.layers[li].candidates.size(); ++c) {
          const Layer& l = p.layers[li];
          const json& cj = layers[li]["candidates"][c];
          if (!cj.contains(dim_name(d)))
            fail("layer '" + l.name + "': candidate '" + l.candidates[c].id + "'", dim_name(d),
                 "missing (other candidates give it: a cost must be on every candidate or none)");
        }
    }
    p.has_dim[d] = dim_count[d] != 0;
  }
  // The largest total must fit in 64 bits, so sums below never overflow.
  for (int d = 0; d < kDims; ++d) {
    uint64_t total = p.fixed[d];
    for (const Layer& l : p.layers) {
      uint64_t most = 0;
      for (const Candidate& c : l.candidates) most = std::max(most, c.cost[d]);
      if (most > std::numeric_limits<uint64_t>::max() - total)
        fail("layer '" + l.name + "'", dim_name(d),
             "the total over all layers (with 'fixed') overflows 64 bits");
      total += most;
    }
  }

  if (const auto it = root.find("ties"); it != root.end()) {
    if (!it->is_array()) fail("", "ties", "expected an array, got " + describe(*it));
    for (size_t t = 0; t < it->size(); ++t) {
      const json& tj = (*it)[t];
      std::string where = "ties[";
      where += std::to_string(t);
      where += "]";
      if (!tj.is_object()) throw InputError(where + ": expected an object");
      Tie tie;
      tie.attr = parse_tie_attr(tj, where);
      const json& members = require(tj, where, "layers");
      if (!members.is_array() || members.size() < 2)
        fail(where, "layers", "expected an array of at least 2 layer names");
      for (const json& m : members) {
        if (!m.is_string()) fail(where, "layers", "expected layer names, got " + describe(m));
        const auto found = index.find(m.get<std::string>());
        if (found == index.end()) fail(where, "layers", "unknown layer '" + m.get<std::string>() + "'");
        tie.layers.push_back(found->second);
      }
      p.ties.push_back(std::move(tie));
    }
  }
  if (const auto it = root.find("pins"); it != root.end()) {
    if (!it->is_object()) fail("", "pins", "expected an object, got " + describe(*it));
    for (const auto& [name, id] : it->items()) {
      const auto found = index.find(name);
      if (found == index.end()) fail("pins", name, "unknown layer '" + name + "'");
      const int li = found->second;
      if (!id.is_string()) fail("pins", name, "expected a candidate id, got " + describe(id));
      const int ci = p.find_candidate(li, id.get<std::string>());
      if (ci < 0)
        fail("pins", name, "layer '" + name + "' has no candidate '" + id.get<std::string>() + "'");
      p.pins[li] = ci;
    }
  }
  return p;
}

}  // namespace dyad::mpq
