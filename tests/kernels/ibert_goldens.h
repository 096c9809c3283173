// Loads the golden vectors written by models/ibert_sim/make_goldens.py (the
// independent Python integer simulator of numerics.md) from tests/data/ibert.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dyad::test {

// The "cases" array of tests/data/ibert/<name>.json; fails the test if absent.
inline nlohmann::json load_ibert_goldens(const std::string& name) {
  const std::string path = std::string(DYAD_SOURCE_DIR) + "/tests/data/ibert/" + name + ".json";
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open " << path << " (regenerate: /usr/bin/python3 models/ibert_sim/make_goldens.py)";
    return nlohmann::json::array();
  }
  nlohmann::json doc = nlohmann::json::parse(in);
  EXPECT_GT(doc.at("cases").size(), 0u) << path;
  return doc.at("cases");
}

template <typename T>
std::vector<T> json_ints(const nlohmann::json& j) {
  std::vector<T> v;
  v.reserve(j.size());
  for (const auto& e : j) v.push_back(e.get<T>());
  return v;
}

}  // namespace dyad::test
