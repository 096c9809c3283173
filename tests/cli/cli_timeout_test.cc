// `dyad run --timeout` and `dyad bench --timeout` on a max_pool model that
// would run for minutes: a clear error naming the node, exit code 1, quickly.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/engine/test_models.h"

namespace dyad::cli {
namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string err;
  double seconds = 0;
};

class CliTimeout : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("dyad_cli_timeout_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    model_ = dir_ / "slow.json";
    std::ofstream(model_) << test::slow_max_pool_json(512, 256);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result dyad(const std::string& args) {
    const fs::path err = dir_ / "stderr.txt";
    const std::string cmd = std::string("'") + DYAD_CLI_PATH + "' " + args + " > /dev/null 2> '" +
                            err.string() + "'";
    const auto start = std::chrono::steady_clock::now();
    const int status = std::system(cmd.c_str());
    Result r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream f(err);
    std::stringstream s;
    s << f.rdbuf();
    r.err = s.str();
    return r;
  }

  fs::path dir_, model_;
};

TEST_F(CliTimeout, RunAndBenchStopWithAClearError) {
  for (const std::string command : {"run", "bench"}) {
    const Result r = dyad(command + " '" + model_.string() + "' --threads 2 --timeout 0.1");
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_NE(r.err.find("dyad " + command + ": error: run stopped at node 'pool'"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("timeout of 100000 microseconds"), std::string::npos) << r.err;
    EXPECT_LT(r.seconds, 5.0) << command;
  }
}

TEST_F(CliTimeout, BadValuesAreUsageErrors) {
  for (const char* value : {"0", "-1", "abc", "1e9", "nan"}) {
    const Result r = dyad("run '" + model_.string() + "' --timeout " + value);
    EXPECT_EQ(r.exit_code, 2) << value;
    EXPECT_NE(r.err.find("--timeout"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace dyad::cli
