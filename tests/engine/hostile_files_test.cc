// Hostile model files (issue 11): what the loader opens and parses. A FIFO or
// a directory where a file should be, a weights file far larger than the model
// says, a weights path leading out of the model's folder, JSON nested 100,000
// deep. Each gets a clear error, fast, without reading what it should not.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/format/file_io.h"
#include "engine/format/json_parse.h"
#include "engine/format/loader.h"
#include "tests/engine/model_files.h"

namespace dyad {
namespace {

using nlohmann::json;
using test::TempDir;
namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Loads `path`, failing the test if that takes more than a few seconds. A
// loader stuck on one of `fifos` is then released (a writer opens and closes
// it), so a regression fails instead of hanging the suite.
Status load_within_seconds(const std::string& path, const std::vector<std::string>& fifos,
                           const LoadOptions& options = {}) {
  Graph g;
  auto done = std::async(std::launch::async,
                         [&] { return load_graph_from_file(path, &g, options); });
  if (done.wait_for(std::chrono::seconds(5)) == std::future_status::timeout) {
    ADD_FAILURE() << "loading " << path << " took more than 5 s";
    for (const std::string& f : fifos) {
      const int fd = ::open(f.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) ::close(fd);
    }
  }
  return done.get();
}

// A model folder "model/" inside a temporary folder, with tiny_fc and its
// weights file; the temporary folder itself stands for "outside".
struct ModelFolder {
  TempDir root;
  fs::path dir = root.path() / "model";
  std::string model_path;

  explicit ModelFolder(const std::string& weights_file = "tiny_fc.bin", bool write_weights = true) {
    fs::create_directories(dir);
    set_weights_file(weights_file);
    if (write_weights) write_weights_to("model/tiny_fc.bin");
  }
  void set_weights_file(const std::string& weights_file) {
    json m = test::tiny_fc_with_weights_file();
    m["weights"]["file"] = weights_file;
    model_path = root.write("model/model.json", m.dump());
  }
  std::string write_weights_to(const std::string& name) const {
    const std::vector<uint8_t> w = test::tiny_fc_weights();
    return root.write(name, w.data(), w.size());
  }
};

// ---- files that are not regular files ---------------------------------------

TEST(HostileFiles, FifoAsModelFileIsRefusedWithoutBlocking) {
  TempDir dir;
  const std::string fifo = (dir.path() / "model.json").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const Status s = load_within_seconds(fifo, {fifo});
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(s.message(), "not a regular file")) << s.message();
  EXPECT_TRUE(contains(s.message(), fifo)) << s.message();
}

TEST(HostileFiles, FifoAsWeightsFileIsRefusedWithoutBlocking) {
  ModelFolder m("tiny_fc.bin", /*write_weights=*/false);
  const std::string fifo = (m.dir / "tiny_fc.bin").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const bool allow_outside : {false, true}) {
    LoadOptions options;
    options.allow_weights_outside_model_dir = allow_outside;
    const Status s = load_within_seconds(m.model_path, {fifo}, options);
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_TRUE(contains(s.message(), "field 'weights.file'")) << s.message();
    EXPECT_TRUE(contains(s.message(), "not a regular file")) << s.message();
  }
}

TEST(HostileFiles, DirectoryAsWeightsFileOrModelFile) {
  ModelFolder m("tiny_fc.bin", /*write_weights=*/false);
  fs::create_directories(m.dir / "tiny_fc.bin");
  Graph g;
  Status s = load_graph_from_file(m.model_path, &g);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(s.message(), "field 'weights.file'")) << s.message();
  EXPECT_TRUE(contains(s.message(), "is a directory")) << s.message();

  s = load_graph_from_file(m.dir.string(), &g);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(s.message(), "is a directory")) << s.message();
}

// ---- sizes compared before reading --------------------------------------------

long peak_rss_kib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// A sparse file: `bytes` long, no disk blocks, reads as zeros.
void make_sparse_file(const fs::path& path, uint64_t bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(bytes)), 0);
  ::close(fd);
}

TEST(HostileFiles, HugeWeightsFileIsRefusedBeforeReading) {
  ModelFolder m("tiny_fc.bin", /*write_weights=*/false);
  constexpr uint64_t kTwoGiB = uint64_t{2} << 30;
  make_sparse_file(m.dir / "tiny_fc.bin", kTwoGiB);
  const long rss_before = peak_rss_kib();
  const auto start = std::chrono::steady_clock::now();
  Graph g;
  const Status s = load_graph_from_file(m.model_path, &g);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long rss_growth_kib = peak_rss_kib() - rss_before;
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_TRUE(contains(s.message(), "field 'weights.bytes'")) << s.message();
  EXPECT_TRUE(contains(s.message(), "larger than expected: it has 2147483648 bytes")) << s.message();
  EXPECT_LT(seconds, 1.0);                   // reading 2 GiB takes several seconds
  EXPECT_LT(rss_growth_kib, 64 * 1024) << "peak RSS grew by " << rss_growth_kib << " KiB";
}

TEST(HostileFiles, ModelFileOverTheCapIsRefusedBeforeReading) {
  TempDir dir;
  const fs::path path = dir.path() / "model.json";
  make_sparse_file(path, kMaxModelFileBytes + 1);
  const long rss_before = peak_rss_kib();
  Graph g;
  const Status s = load_graph_from_file(path.string(), &g);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(s.message(), "more than the " + std::to_string(kMaxModelFileBytes) +
                                        " allowed"))
      << s.message();
  EXPECT_LT(peak_rss_kib() - rss_before, 32 * 1024);
}

// ---- weights.file confined to the model's folder ----------------------------

// Each way out of the folder: refused by default, allowed by the option.
struct Escape {
  const char* name;
  // Points the model at the outside file root/outside.bin; returns weights.file.
  std::string (*arrange)(const ModelFolder& m, const fs::path& outside);
};

const Escape kEscapes[] = {
    {"DotDot", [](const ModelFolder&, const fs::path&) { return std::string("../outside.bin"); }},
    {"DotDotAfterASubfolder",
     [](const ModelFolder& m, const fs::path&) {
       fs::create_directories(m.dir / "sub");
       return std::string("sub/../../outside.bin");
     }},
    {"Absolute", [](const ModelFolder&, const fs::path& outside) { return outside.string(); }},
    {"SymlinkToAFile",
     [](const ModelFolder& m, const fs::path& outside) {
       fs::create_symlink(outside, m.dir / "link.bin");
       return std::string("link.bin");
     }},
    {"SymlinkToAFolder",
     [](const ModelFolder& m, const fs::path& outside) {
       fs::create_directory_symlink(outside.parent_path(), m.dir / "up");
       return std::string("up/outside.bin");
     }},
};

class WeightsOutsideTheFolder : public ::testing::TestWithParam<Escape> {};

TEST_P(WeightsOutsideTheFolder, IsRefusedUnlessAllowed) {
  // A valid weights file outside: loading succeeds when allowed.
  ModelFolder m("tiny_fc.bin", /*write_weights=*/false);
  const fs::path outside = m.root.path() / "outside.bin";
  m.write_weights_to("outside.bin");
  m.set_weights_file(GetParam().arrange(m, outside));

  Graph g;
  const Status refused = load_graph_from_file(m.model_path, &g);
  EXPECT_EQ(refused.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(refused.message(), "field 'weights.file'")) << refused.message();
  EXPECT_TRUE(contains(refused.message(), "allow_weights_outside_model_dir")) << refused.message();

  LoadOptions allow;
  allow.allow_weights_outside_model_dir = true;
  const Status allowed = load_graph_from_file(m.model_path, &g, allow);
  EXPECT_TRUE(allowed.is_ok()) << allowed.message();

  // Outside files reveal nothing: not their size, not whether they exist.
  const uint64_t odd_size = 12345;
  make_sparse_file(m.root.path() / "outside.bin", odd_size);
  const Status with_odd_file = load_graph_from_file(m.model_path, &g);
  EXPECT_EQ(with_odd_file.message(), refused.message());
  EXPECT_FALSE(contains(with_odd_file.message(), std::to_string(odd_size)));
  fs::remove(m.root.path() / "outside.bin");
  const Status without_file = load_graph_from_file(m.model_path, &g);
  EXPECT_EQ(without_file.code(), refused.code());
  EXPECT_EQ(without_file.message(), refused.message());
}

INSTANTIATE_TEST_SUITE_P(Escapes, WeightsOutsideTheFolder, ::testing::ValuesIn(kEscapes),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(HostileFiles, PathsThatStayInsideTheFolderAreFine) {
  for (const std::string file : {"tiny_fc.bin", "./tiny_fc.bin", "sub/../tiny_fc.bin",
                                 "link_inside.bin", "sub/real.bin"}) {
    ModelFolder m(file);
    fs::create_directories(m.dir / "sub");
    fs::create_symlink("tiny_fc.bin", m.dir / "link_inside.bin");
    m.write_weights_to("model/sub/real.bin");
    Graph g;
    const Status s = load_graph_from_file(m.model_path, &g);
    EXPECT_TRUE(s.is_ok()) << file << ": " << s.message();
  }
}

TEST(HostileFiles, ModelReachedThroughASymlinkedFolder) {
  ModelFolder m;
  fs::create_directory_symlink(m.dir, m.root.path() / "alias");
  Graph g;
  const Status s = load_graph_from_file((m.root.path() / "alias" / "model.json").string(), &g);
  EXPECT_TRUE(s.is_ok()) << s.message();
}

TEST(HostileFiles, MissingWeightsInsideTheFolderIsAnIoError) {
  ModelFolder m("missing.bin");
  Graph g;
  const Status s = load_graph_from_file(m.model_path, &g);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(s.message(), "'missing.bin'")) << s.message();
}

// ---- JSON nesting --------------------------------------------------------------

// `depth` arrays nested inside one another: "[[...]]".
std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// `depth` objects nested inside one another: {"a":{"a":...1...}}.
std::string nested_objects(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  return s + std::string(depth, '}');
}

// tiny_fc with `value` spliced in as the value of metadata.deep.
std::string tiny_fc_with_metadata(const std::string& value) {
  json m = test::tiny_fc();
  m["metadata"] = {{"deep", "PLACEHOLDER"}};
  std::string text = m.dump();
  const std::string placeholder = "\"PLACEHOLDER\"";
  return text.replace(text.find(placeholder), placeholder.size(), value);
}

Status load_text(const std::string& text) {
  Graph g;
  return load_graph_from_memory(text, nullptr, 0, "m.json", &g);
}

void expect_too_deep(const Status& s) {
  EXPECT_EQ(s.code(), StatusCode::kParseError);
  EXPECT_TRUE(contains(s.message(), "m.json: arrays and objects nest more than 64 deep"))
      << s.message();
}

TEST(HostileJson, DeepMetadataIsAParseError) {
  expect_too_deep(load_text(tiny_fc_with_metadata(nested_objects(100000))));
  expect_too_deep(load_text(tiny_fc_with_metadata(nested_arrays(100000))));
}

TEST(HostileJson, DeepValuesElsewhereAreParseErrors) {
  expect_too_deep(load_text(nested_arrays(100000)));
  expect_too_deep(load_text(nested_objects(100000)));
  json m = test::tiny_fc();
  m["nodes"][0]["attrs"]["deep"] = "PLACEHOLDER";
  std::string text = m.dump();
  text.replace(text.find("\"PLACEHOLDER\""), 13, nested_arrays(100000));
  expect_too_deep(load_text(text));
  // Unclosed: the depth is what is reported, not the missing brackets.
  expect_too_deep(load_text(std::string(100000, '{')));
}

TEST(HostileJson, DeepFileIsAParseError) {
  TempDir dir;
  const std::string path = dir.write("m.json", tiny_fc_with_metadata(nested_objects(100000)));
  Graph g;
  const Status s = load_graph_from_file(path, &g);
  EXPECT_EQ(s.code(), StatusCode::kParseError);
  EXPECT_TRUE(contains(s.message(), "nest more than 64 deep")) << s.message();
}

TEST(HostileJson, DepthLimitIsExact) {
  // The top-level object and the metadata object are two levels.
  const Status at_limit = load_text(tiny_fc_with_metadata(nested_arrays(kMaxJsonDepth - 2)));
  EXPECT_TRUE(at_limit.is_ok()) << at_limit.message();
  expect_too_deep(load_text(tiny_fc_with_metadata(nested_arrays(kMaxJsonDepth - 1))));
}

TEST(HostileJson, BracketsInsideStringsDoNotCount) {
  const std::string many(100000, '[');
  const Status s = load_text(tiny_fc_with_metadata("[\"" + many + "\", \"\\\"" + many + "\"]"));
  EXPECT_TRUE(s.is_ok()) << s.message();
}

TEST(HostileJson, MetadataIsKept) {
  json m = test::tiny_fc();
  m["metadata"] = {{"accuracy", {{"int_top1", 0.875}}}, {"nested", json::parse(nested_arrays(20))}};
  Graph g;
  const Status s = load_graph_from_memory(m.dump(), nullptr, 0, "m.json", &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(g.metadata, m["metadata"]);
}

}  // namespace
}  // namespace dyad
