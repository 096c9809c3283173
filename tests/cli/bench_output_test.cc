// `dyad bench --json / --csv / --threads 1,2` (docs/c_api.md "The command-line
// tool"): the machine-readable output parses and holds one run per thread count
// with consistent figures.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

const std::string kModel = std::string(DYAD_SOURCE_DIR) + "/models/examples/tiny_fc.json";

// Runs `dyad bench MODEL ARGS`; returns stdout, sets the exit code.
std::string bench(const std::string& args, int* exit_code) {
  const std::string cmd =
      std::string("'") + DYAD_CLI_PATH + "' bench '" + kModel + "' " + args + " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::string out;
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST(BenchOutput, JsonHasTheMachineAndOneRunPerThreadCount) {
  int rc = -1;
  const std::string out = bench("--threads 1,2 --warmup 1 --iters 5 --json", &rc);
  ASSERT_EQ(rc, 0) << out;
  const nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["model"]["name"], "tiny_fc");
  EXPECT_FALSE(j["machine"]["cpu_model"].get<std::string>().empty());
  EXPECT_FALSE(j["machine"]["isa"].get<std::string>().empty());
  EXPECT_GE(j["machine"]["hardware_threads"].get<int>(), 1);
  EXPECT_GT(j["peak_rss_bytes"].get<uint64_t>(), 0u);
  EXPECT_GE(j["load_ms"].get<double>(), 0.0);
  EXPECT_EQ(j["iters"], 5);
  ASSERT_EQ(j["runs"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const nlohmann::json& run = j["runs"][i];
    EXPECT_EQ(run["threads"], i + 1);
    const nlohmann::json& l = run["latency_ms"];
    EXPECT_LE(l["min"].get<double>(), l["p50"].get<double>());
    EXPECT_LE(l["p50"].get<double>(), l["p90"].get<double>());
    EXPECT_LE(l["p90"].get<double>(), l["max"].get<double>());
    ASSERT_EQ(run["steps"].size(), 1u);
    EXPECT_EQ(run["steps"][0]["node"], "fc");
    EXPECT_EQ(run["steps"][0]["op"], "fully_connected");
    EXPECT_FALSE(run["steps"][0]["kernel"].get<std::string>().empty());
    EXPECT_EQ(run["by_op"][0]["op"], "fully_connected");
  }
}

TEST(BenchOutput, CsvHasAHeaderAndOneLinePerThreadCount) {
  int rc = -1;
  const std::string out = bench("--threads 2,1,2 --warmup 0 --iters 3 --csv", &rc);
  ASSERT_EQ(rc, 0) << out;
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u) << out;
  EXPECT_EQ(lines[0].rfind("model,path,cpu_model,isa,hardware_threads,threads,", 0), 0u) << lines[0];
  const size_t columns = std::count(lines[0].begin(), lines[0].end(), ',');
  const char* const threads[] = {"2", "1", "2"};
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].rfind("tiny_fc,", 0), 0u) << lines[i];
    // The CPU model has no comma here, so every line splits into the header's columns.
    std::vector<std::string> fields;
    std::istringstream row(lines[i]);
    for (std::string f; std::getline(row, f, ',');) fields.push_back(f);
    ASSERT_EQ(fields.size(), columns + 1) << lines[i];
    EXPECT_EQ(fields[5], threads[i - 1]) << lines[i];
  }
}

TEST(BenchOutput, BadThreadListsAndBothFormatsAreUsageErrors) {
  int rc = -1;
  bench("--threads 1,,2 --json", &rc);
  EXPECT_EQ(rc, 2);
  bench("--threads 1,0 --json", &rc);
  EXPECT_EQ(rc, 2);
  bench("--threads 1,2, --json", &rc);
  EXPECT_EQ(rc, 2);
  bench("--json --csv", &rc);
  EXPECT_EQ(rc, 2);
}

}  // namespace
