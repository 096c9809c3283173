// Models on disk for the loader tests: tiny_fc with its constants in a weights
// file, and a temporary folder to write them to.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/format/loader.h"
#include "tests/engine/test_models.h"

namespace dyad::test {

inline nlohmann::json tiny_fc() { return nlohmann::json::parse(tiny_fc_json()); }

// The weights file of tiny_fc_with_weights_file: w (int8 [2, 4]) at offset 0,
// b (int32 [2], little-endian) at offset 64. 72 bytes.
inline std::vector<uint8_t> tiny_fc_weights() {
  std::vector<uint8_t> bytes(72, 0);
  const uint8_t w[] = {0x01, 0xFE, 0x03, 0xFC, 0x05, 0x06, 0xF9, 0x08};  // 1 -2 3 -4 5 6 -7 8
  const uint8_t b[] = {0x64, 0x00, 0x00, 0x00, 0xCE, 0xFF, 0xFF, 0xFF};  // 100, -50
  std::memcpy(bytes.data(), w, 8);
  std::memcpy(bytes.data() + 64, b, 8);
  return bytes;
}

// tiny_fc with w and b in the weights file "tiny_fc.bin" instead of inline.
inline nlohmann::json tiny_fc_with_weights_file() {
  nlohmann::json m = tiny_fc();
  const std::vector<uint8_t> bytes = tiny_fc_weights();
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(fnv1a64(bytes.data(), bytes.size())));
  m["weights"] = {{"file", "tiny_fc.bin"}, {"bytes", bytes.size()}, {"fnv1a64", hash}};
  for (nlohmann::json& t : m["tensors"]) {
    if (t["name"] == "w") {
      t.erase("values");
      t["data"] = {{"offset", 0}, {"bytes", 8}};
    } else if (t["name"] == "b") {
      t.erase("values");
      t["data"] = {{"offset", 64}, {"bytes", 8}};
    }
  }
  return m;
}

// A folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';
    path_ = std::filesystem::temp_directory_path() /
            ("dyad_loader_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string write(const std::string& name, const void* data, size_t bytes) const {
    const std::filesystem::path p = path_ / name;
    std::ofstream(p, std::ios::binary).write(static_cast<const char*>(data), bytes);
    return p.string();
  }
  std::string write(const std::string& name, const std::string& text) const {
    return write(name, text.data(), text.size());
  }

 private:
  std::filesystem::path path_;
};

}  // namespace dyad::test
