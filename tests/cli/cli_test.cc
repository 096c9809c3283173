// End-to-end tests of the `dyad` CLI: runs the built binary (DYAD_CLI_PATH) on
// models/examples/tiny_fc.json and checks stdout, stderr, exit codes and the
// .npy files it writes.
//
// tiny_fc (docs/format.md): y[c] = clamp(-3 + rne(acc[c] * 2^30 / 2^shift[c])),
// acc = b + W x, W = [[1, -2, 3, -4], [5, 6, -7, 8]], b = [100, -50],
// shift = [40, 39]. For x = [127, -128, 100, -100]:
//   acc0 = 100 + 127 + 256 + 300 + 400 = 1183, 1183 / 1024 = 1.155 -> 1 -> y0 = -2
//   acc1 = -50 + 635 - 768 - 700 - 800 = -1683, -1683 / 512 = -3.287 -> -3 -> y1 = -6
// and dequantized with scale 0.1, zero point -3: [0.1, -0.3].
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/cli/npy.h"

namespace dyad::cli {
namespace {

namespace fs = std::filesystem;

const std::string kModel = std::string(DYAD_SOURCE_DIR) + "/models/examples/tiny_fc.json";

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("dyad_cli_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `dyad ARGS` (ARGS already shell-quoted where needed).
  Result dyad(const std::string& args) {
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    const std::string cmd = std::string("'") + DYAD_CLI_PATH + "' " + args + " > '" +
                            out.string() + "' 2> '" + err.string() + "'";
    const int status = std::system(cmd.c_str());
    Result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE((text).find(part), std::string::npos) << "missing \"" << (part) << "\" in:\n" << (text)

TEST_F(Cli, InfoDescribesTheModel) {
  Result r = dyad("info '" + kModel + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_CONTAINS(r.out, "tiny_fc");
  EXPECT_CONTAINS(r.out, "int8");
  EXPECT_CONTAINS(r.out, "[1, 4]");
  EXPECT_CONTAINS(r.out, "scale 0.05 zero_point 0");
  EXPECT_CONTAINS(r.out, "[1, 2]");  // the inferred output shape
  EXPECT_CONTAINS(r.out, "scale 0.1 zero_point -3");
  EXPECT_CONTAINS(r.out, "fully_connected        1");
  // w: 8 int8 values, b: 2 int32 values -> 8 + 8 bytes; MACs: 1 x 4 x 2.
  EXPECT_CONTAINS(r.out, "parameters: 16 bytes (10 values in 2 constants)");
  EXPECT_CONTAINS(r.out, "MACs per run: 8\n");
  EXPECT_CONTAINS(r.out, "arena: ");
  EXPECT_EQ(r.out.find("steps:"), std::string::npos);

  r = dyad("info --verbose '" + kModel + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "steps:");
  EXPECT_CONTAINS(r.out, "fully_connected");
  EXPECT_CONTAINS(r.out, "__");  // kernel names are op__variant
}

TEST_F(Cli, RunWithAnIntegerInputFileWritesTheOutputs) {
  const int8_t x[4] = {127, -128, 100, -100};
  ASSERT_TRUE(write_npy(path("x.npy"), NpyType::kI1, {1, 4}, x).is_ok());
  const Result r =
      dyad("run '" + kModel + "' --input x='" + path("x.npy") + "' --output-dir '" + path("out") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "values: -2 -6");
  EXPECT_CONTAINS(r.out, "argmax: 0");
  EXPECT_EQ(r.out.find("pseudo-random"), std::string::npos);

  NpyArray y;
  ASSERT_TRUE(read_npy(path("out/y.npy"), &y).is_ok());
  EXPECT_EQ(y.type, NpyType::kI1);
  EXPECT_EQ(y.shape, (Shape{1, 2}));
  ASSERT_EQ(y.data.size(), 2u);
  EXPECT_EQ(static_cast<int8_t>(y.data[0]), -2);
  EXPECT_EQ(static_cast<int8_t>(y.data[1]), -6);

  NpyArray yf;
  ASSERT_TRUE(read_npy(path("out/y.f32.npy"), &yf).is_ok());
  EXPECT_EQ(yf.type, NpyType::kF4);
  EXPECT_EQ(yf.shape, (Shape{1, 2}));
  float f[2];
  ASSERT_EQ(yf.data.size(), sizeof f);
  std::memcpy(f, yf.data.data(), sizeof f);
  EXPECT_EQ(f[0], static_cast<float>(1 * 0.1));   // (-2 - (-3)) * 0.1
  EXPECT_EQ(f[1], static_cast<float>(-3 * 0.1));  // (-6 - (-3)) * 0.1
}

TEST_F(Cli, RunQuantizesFloatInputsAndAcceptsThreads) {
  // x / 0.05 = [127, -128, 100, -100] (the last two saturate from 20 and -20).
  const float x32[4] = {6.35f, -6.4f, 20.0f, -20.0f};
  const double x64[4] = {6.35, -6.4, 5.0, -5.0};
  ASSERT_TRUE(write_npy(path("x32.npy"), NpyType::kF4, {1, 4}, x32).is_ok());
  ASSERT_TRUE(write_npy(path("x64.npy"), NpyType::kF8, {1, 4}, x64).is_ok());
  Result r = dyad("run '" + kModel + "' --input '" + path("x64.npy") + "' --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "values: -2 -6");
  // 20 / 0.05 = 400 saturates to 127, -400 to -128: x = [127, -128, 127, -128],
  // acc0 = 100 + 127 + 256 + 381 + 512 = 1376 -> rne(1.34) = 1 -> -2,
  // acc1 = -50 + 635 - 768 - 889 - 1024 = -2096 -> rne(-4.09) = -4 -> -7.
  r = dyad("run '" + kModel + "' -i x=" + path("x32.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "values: -2 -7");
}

TEST_F(Cli, RunWithoutInputsUsesDeterministicValues) {
  const Result a = dyad("run '" + kModel + "'");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_CONTAINS(a.out, "input 'x'");
  EXPECT_CONTAINS(a.out, "pseudo-random");
  const Result b = dyad("run '" + kModel + "' --threads=2");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
}

TEST_F(Cli, BenchPrintsLatencyAndPerOpTimes) {
  const Result r = dyad("bench '" + kModel + "' --warmup 1 --iters 7 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "threads 2, 1 warm-up runs, 7 timed runs");
  EXPECT_CONTAINS(r.out, "p50");
  EXPECT_CONTAINS(r.out, "p90");
  EXPECT_CONTAINS(r.out, "by op type");
  EXPECT_CONTAINS(r.out, "fully_connected");
  EXPECT_CONTAINS(r.out, "by step");
  EXPECT_CONTAINS(r.out, " fc ");
}

TEST_F(Cli, HelpAndVersion) {
  Result r = dyad("help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_CONTAINS(r.out, "usage: dyad");
  r = dyad("run --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_CONTAINS(r.out, "--output-dir");
  r = dyad("version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_CONTAINS(r.out, "dyad ");
}

struct BadCase {
  std::string args;
  int exit_code;
  std::string stderr_part;
};

TEST_F(Cli, BadArgumentsAndFilesGiveClearErrors) {
  const int8_t x[4] = {0, 0, 0, 0};
  const int16_t x16[4] = {0, 0, 0, 0};
  ASSERT_TRUE(write_npy(path("x_i2.npy"), NpyType::kI2, {1, 4}, x16).is_ok());
  ASSERT_TRUE(write_npy(path("x_flat.npy"), NpyType::kI1, {4}, x).is_ok());
  std::ofstream(path("garbage.npy")) << "not an npy file";
  std::ofstream(path("bad.json")) << "{\"format\": \"dyad\", \"version\": ";
  const std::string m = "'" + kModel + "'";
  const std::vector<BadCase> cases = {
      {"", 2, "usage: dyad"},
      {"frobnicate", 2, "unknown command 'frobnicate'"},
      {"info", 2, "missing MODEL"},
      {"info a.json b.json", 2, "expected one MODEL"},
      {"info --bogus " + m, 2, "unknown option '--bogus'"},
      {"info '" + path("missing.json") + "'", 1, path("missing.json")},
      {"info '" + path("bad.json") + "'", 1, path("bad.json")},
      {"run", 2, "missing MODEL"},
      {"run " + m + " --threads 0", 2, "--threads"},
      {"run " + m + " --threads abc", 2, "'abc' is not an integer"},
      {"run " + m + " --threads", 2, "needs a value"},
      {"run " + m + " --input z=" + path("x_flat.npy"), 2, "no input 'z'"},
      {"run " + m + " --input x=", 2, "missing the file name"},
      {"run " + m + " --input x=" + path("missing.npy"), 1, path("missing.npy")},
      {"run " + m + " --input x=" + path("garbage.npy"), 1, "garbage.npy: not a valid .npy"},
      {"run " + m + " --input x=" + path("x_i2.npy"), 1, "dtype '<i2' does not match input 'x'"},
      {"run " + m + " --input x=" + path("x_flat.npy"), 1,
       "shape [4] does not match input 'x' of shape [1, 4]"},
      {"run " + m + " --output-dir '" + path("garbage.npy") + "/sub'", 1, "garbage.npy"},
      {"bench", 2, "missing MODEL"},
      {"bench " + m + " --iters 0", 2, "--iters"},
      {"bench " + m + " --warmup", 2, "needs a value"},
      {"bench '" + path("missing.json") + "'", 1, path("missing.json")},
  };
  for (const BadCase& c : cases) {
    const Result r = dyad(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << "dyad " << c.args << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find(c.stderr_part), std::string::npos)
        << "dyad " << c.args << "\nstderr lacks \"" << c.stderr_part << "\":\n" << r.err;
  }
}

// The weights of a model in model/ that live one folder up: refused unless
// --allow-weights-outside-model-dir is given (docs/format.md, "Files").
TEST_F(Cli, WeightsOutsideTheModelFolderNeedTheFlag) {
  const std::string examples = std::string(DYAD_SOURCE_DIR) + "/models/examples/";
  std::string text = read_text(examples + "tiny_cnn.json");
  const std::string named = "\"file\": \"tiny_cnn.bin\"";
  ASSERT_NE(text.find(named), std::string::npos);
  text.replace(text.find(named), named.size(), "\"file\": \"../tiny_cnn.bin\"");
  fs::create_directories(dir_ / "model");
  std::ofstream(path("model/tiny_cnn.json")) << text;
  fs::copy_file(examples + "tiny_cnn.bin", path("tiny_cnn.bin"));
  std::string m = "'";  // (built in steps: GCC 12 warns falsely on "'" + path(...))
  m += path("model/tiny_cnn.json");
  m += "'";

  Result r = dyad("info " + m);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "field 'weights.file'");
  EXPECT_CONTAINS(r.err, "--allow-weights-outside-model-dir");
  for (const char* command : {"info", "run", "bench --iters 1 --warmup 0"}) {
    std::string args = command;
    args += " --allow-weights-outside-model-dir ";
    args += m;
    r = dyad(args);
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
  }
}

TEST_F(Cli, MemoryBudgetFlag) {
  const std::string model = std::string(DYAD_SOURCE_DIR) + "/models/examples/tiny_cnn.json";
  // tiny_cnn's arena alone is 6,208 bytes: a 1 KiB budget refuses it, naming the parts.
  Result r = dyad("run --memory-budget 1K " + model);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "memory budget of 1,024 bytes");
  EXPECT_CONTAINS(r.err, "arena");
  r = dyad("bench --iters 1 --warmup 0 --memory-budget=64M " + model);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* bad : {"0", "12X", "-5", "", "99999999999999999999G"}) {
    r = dyad(std::string("info --memory-budget=") + bad + " " + model);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_CONTAINS(r.err, "--memory-budget");
  }
}

}  // namespace
}  // namespace dyad::cli
