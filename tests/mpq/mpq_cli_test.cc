// `dyad mpq solve` and `dyad mpq latency` end to end: exit codes, the files'
// schemas, the frontier and error messages (the built binary, DYAD_CLI_PATH).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dyad {
namespace {

namespace fs = std::filesystem;

const std::string kFixture = std::string(DYAD_SOURCE_DIR) + "/tests/data/mpq/hawq_resnet18.json";

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class MpqCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("dyad_mpq_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `dyad mpq solve ARGS`; returns the exit code, fills out_ and err_.
  int solve(const std::string& args) { return mpq("solve " + args); }
  // Runs `dyad mpq latency ARGS` with few runs (the figures are not checked).
  int latency(const std::string& args) { return mpq("latency --warmup 2 --runs 5 " + args); }
  int mpq(const std::string& args) {
    const std::string cmd = std::string("'") + DYAD_CLI_PATH + "' mpq " + args + " > '" +
                            (dir_ / "out").string() + "' 2> '" + (dir_ / "err").string() + "'";
    const int status = std::system(cmd.c_str());
    out_ = read_text(dir_ / "out");
    err_ = read_text(dir_ / "err");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }

  fs::path dir_;
  std::string out_, err_;
};

TEST_F(MpqCli, SolveWritesResultSchema) {
  const std::string out = (dir_ / "r.json").string();
  ASSERT_EQ(solve(kFixture + " --frac-bops 0.5 --out " + out), 0) << err_;
  EXPECT_NE(out_.find("status optimal"), std::string::npos) << out_;
  const auto j = nlohmann::json::parse(read_text(out));
  EXPECT_EQ(j["schema"], "dyad-mpq-result/1");
  EXPECT_EQ(j["status"], "optimal");
  EXPECT_EQ(j["solver"], "pareto-dp");
  ASSERT_EQ(j["layers"].size(), 19u);
  EXPECT_EQ(j["layers"][0]["name"], "stage1.unit1.conv1");
  EXPECT_EQ(j["layers"][3]["choice"], "w4a4");  // HAWQ bops_0.5: stage1.unit2.conv2 at 4 bits
  EXPECT_EQ(j["layers"][3]["w_bits"], 4);
  EXPECT_EQ(j["layers"][3]["a_bits"], 4);
  EXPECT_EQ(j["limits"]["bops"].get<uint64_t>(),
            j["totals"]["bops"].get<uint64_t>() + j["slack"]["bops"].get<uint64_t>());
  EXPECT_TRUE(j["objective"].is_number());
  EXPECT_EQ(j["input_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["stats"]["groups"], 16);
}

TEST_F(MpqCli, PrintsJsonWithoutOut) {
  ASSERT_EQ(solve(kFixture + " --max-size 8000000 --pin stage1.unit1.conv1=w4a4"), 0) << err_;
  const auto j = nlohmann::json::parse(out_);
  EXPECT_EQ(j["layers"][0]["choice"], "w4a4");
  EXPECT_LE(j["totals"]["size"].get<uint64_t>(), 8000000u);
}

TEST_F(MpqCli, Frontier) {
  ASSERT_EQ(solve(kFixture + " --frontier size"), 0) << err_;
  const auto j = nlohmann::json::parse(out_);
  ASSERT_GE(j["frontier"].size(), 2u);
  EXPECT_EQ(j["frontier_dim"], "size");
  EXPECT_EQ(j["frontier"][0]["cost"], 5578752);  // all-INT4
  const auto& last = j["frontier"][j["frontier"].size() - 1];
  EXPECT_EQ(last["cost"], 11157504);  // all-INT8
  for (size_t i = 1; i < j["frontier"].size(); ++i) {
    EXPECT_GT(j["frontier"][i]["cost"].get<uint64_t>(), j["frontier"][i - 1]["cost"].get<uint64_t>());
    EXPECT_LT(j["frontier"][i]["objective"].get<double>(), j["frontier"][i - 1]["objective"].get<double>());
  }
}

TEST_F(MpqCli, InfeasibleGivesLeastTotals) {
  const std::string out = (dir_ / "r.json").string();
  EXPECT_EQ(solve(kFixture + " --max-size 1000 --out " + out), 1);
  const auto j = nlohmann::json::parse(read_text(out));
  EXPECT_EQ(j["status"], "infeasible");
  EXPECT_EQ(j["minimum_totals"]["size"], 5578752);
  EXPECT_FALSE(j.contains("layers"));
}

TEST_F(MpqCli, BadInputExitsTwoNamingFieldAndLayer) {
  std::string text = read_text(kFixture);
  text.replace(text.find("0.46242320718"), 13, "NaN");
  EXPECT_EQ(solve(write("nan.json", text)), 2);
  EXPECT_NE(err_.find("stage1.unit1.conv1"), std::string::npos) << err_;
  EXPECT_NE(err_.find("sensitivity"), std::string::npos) << err_;

  text = read_text(kFixture);
  text.replace(text.rfind("\"stage4.unit1.downsample\""), 25, "\"stage9.unit1.downsample\"");  // in ties
  EXPECT_EQ(solve(write("tie.json", text) + " --max-size 9000000"), 2);
  EXPECT_NE(err_.find("stage9.unit1.downsample"), std::string::npos) << err_;
  EXPECT_NE(err_.find("ties[2]"), std::string::npos) << err_;
}

TEST_F(MpqCli, UsageErrors) {
  EXPECT_EQ(solve(kFixture), 2);  // no limit
  EXPECT_NE(err_.find("at least one limit"), std::string::npos) << err_;
  EXPECT_EQ(solve(kFixture + " --frac-size 1.5"), 2);
  EXPECT_EQ(solve(kFixture + " --max-size -3"), 2);
  EXPECT_EQ(solve(kFixture + " --frontier colour"), 2);
  EXPECT_EQ(solve(kFixture + " --max-size 9000000 --pin nosuch=w4a4"), 2);
  EXPECT_NE(err_.find("nosuch"), std::string::npos) << err_;
  EXPECT_EQ(solve(kFixture + " --max-size 9000000 --forbid stage1.unit1.conv1"), 2);
  EXPECT_EQ(solve((dir_ / "missing.json").string() + " --max-size 1"), 1);
}

const std::string kFmnist = std::string(DYAD_SOURCE_DIR) + "/models/fmnist/";
const std::string kResNets = kFmnist + "resnet_int8.json " + kFmnist + "resnet_mixed.json";

// Two searched layers of the shipped ResNet (the rest is fixed), INT4 or INT8.
const char kResNetCandidates[] = R"json({"schema": "dyad-mpq-candidates/1", "model": "resnet",
  "layers": [
    {"name": "blocks.0.conv1", "candidates": [
      {"id": "w4a4", "w_bits": 4, "a_bits": 4, "sensitivity": 0.5, "size": 1152},
      {"id": "w8a8", "w_bits": 8, "a_bits": 8, "sensitivity": 0.1, "size": 2304}]},
    {"name": "blocks.2.conv2", "candidates": [
      {"id": "w4a4", "w_bits": 4, "a_bits": 4, "sensitivity": 0.5, "size": 18432},
      {"id": "w8a8", "w_bits": 8, "a_bits": 8, "sensitivity": 0.1, "size": 36864}]}]})json";

TEST_F(MpqCli, LatencyTableOfEveryLayer) {
  const std::string out = (dir_ / "t.json").string();
  ASSERT_EQ(latency(kResNets + " --check " + kFmnist + "resnet_mixed.json --out " + out), 0) << err_;
  EXPECT_NE(out_.find("additivity"), std::string::npos) << out_;
  const auto j = nlohmann::ordered_json::parse(read_text(out));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"schema", "unit", "fixed", "layers", "check", "provenance"}));
  EXPECT_EQ(j["schema"], "dyad-mpq-latency/1");
  ASSERT_EQ(j["layers"].size(), 10u);
  EXPECT_EQ(j["layers"].begin().key(), "stem");
  EXPECT_EQ(j["layers"]["stem"].size(), 1u);  // w8a8 in both models
  EXPECT_GT(j["layers"]["stem"]["w8a8"].get<int64_t>(), 0);
  EXPECT_GT(j["layers"]["blocks.1.conv2"]["w4a4"].get<int64_t>(), 0);
  EXPECT_GT(j["layers"]["blocks.1.conv2"]["w8a8"].get<int64_t>(), 0);
  ASSERT_EQ(j["check"].size(), 3u);  // the two models and the --check one
  EXPECT_NE(j["provenance"].get<std::string>().find("threads=1"), std::string::npos);
}

TEST_F(MpqCli, LatencyFillsCandidates) {
  const std::string out = (dir_ / "c.json").string();
  ASSERT_EQ(latency(kResNets + " --threads 2 --candidates " + write("c.json", kResNetCandidates) +
                    " --out " + out),
            0)
      << err_;
  const auto j = nlohmann::json::parse(read_text(out));
  for (const auto& layer : j["layers"])
    for (const auto& c : layer["candidates"]) EXPECT_GT(c["latency"].get<int64_t>(), 0) << layer["name"];
  EXPECT_GT(j["fixed"]["latency"].get<int64_t>(), 0);
  EXPECT_EQ(j["cost_units"]["latency"], "ns");
  EXPECT_NE(j["provenance"]["latency"].get<std::string>().find("threads=2"), std::string::npos);
  // The layers left out of the file are INT4 in one model, INT8 in the other.
  EXPECT_NE(err_.find("warning: layer 'blocks.0.conv2' is not searched but differs between the models"),
            std::string::npos)
      << err_;
  EXPECT_EQ(err_.find("layer 'stem'"), std::string::npos) << err_;
  // The filled file solves with a latency limit.
  EXPECT_EQ(solve(out + " --frac-latency 0.5"), 0) << err_;
}

TEST_F(MpqCli, LatencyBadInputExitsTwoNamingTheLayer) {
  std::string text = kResNetCandidates;
  text.replace(text.rfind("\"a_bits\": 4"), 11, "\"a_bits\": 8");  // blocks.2.conv2 w4a8: not measured
  EXPECT_EQ(latency(kResNets + " --candidates " + write("c.json", text)), 2);
  EXPECT_NE(err_.find("layers[1] 'blocks.2.conv2': candidates[0] 'w4a4': no --model has this layer at w4a8"),
            std::string::npos)
      << err_;
  text = kResNetCandidates;
  text.replace(text.find("0.5"), 3, "-1");
  EXPECT_EQ(latency(kResNets + " --candidates " + write("neg.json", text)), 2);
  EXPECT_NE(err_.find("blocks.0.conv1"), std::string::npos) << err_;
  EXPECT_NE(err_.find("sensitivity"), std::string::npos) << err_;
  // Another network: the ViT has no layer 'stem'.
  EXPECT_EQ(latency(kResNets + " --check " + kFmnist + "vit_int8.json"), 2);
  EXPECT_NE(err_.find("vit_int8.json: layer 'stem'"), std::string::npos) << err_;
  EXPECT_EQ(latency(""), 2);
  EXPECT_EQ(latency(kResNets + " --runs 0"), 2);
  EXPECT_EQ(latency(kResNets + " --max-error x"), 2);
  EXPECT_EQ(latency(kResNets + " --percentile 101"), 2);
  EXPECT_EQ(latency((dir_ / "missing.json").string()), 1);
}

}  // namespace
}  // namespace dyad
