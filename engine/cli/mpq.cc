// `dyad mpq solve CANDIDATES.json [limits] [--out RESULT.json]`: chooses each
// layer's precision (docs/mpq.md) with the solver in engine/mpq/. Exit codes:
// 0 optimal, 1 infeasible or not proven (the result is still written) or an
// unreadable file, 2 bad input (command line or candidates file).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "engine/cli/cli.h"
#include "engine/core/aligned_buffer.h"
#include "engine/format/file_io.h"
#include "engine/mpq/problem.h"
#include "engine/mpq/result_json.h"
#include "engine/mpq/sha256.h"
#include "engine/mpq/solve.h"

namespace dyad::cli {

namespace {

constexpr char kCommand[] = "mpq";
constexpr uintmax_t kMaxInputBytes = uintmax_t{256} << 20;

constexpr char kHelp[] =
    "usage: dyad mpq solve CANDIDATES.json [limits] [--out RESULT.json]\n"
    "\n"
    "Chooses one candidate precision per layer (schema dyad-mpq-candidates/1) that\n"
    "minimises the summed sensitivity within the limits, by an exact Pareto DP\n"
    "(falls back to the cbc MIP program beyond --state-cap). Writes RESULT.json\n"
    "(schema dyad-mpq-result/1), or prints it when --out is not given.\n"
    "  --max-size B, --max-bops N, --max-latency NS\n"
    "                     limit the total (the file's 'fixed' + the chosen layers)\n"
    "  --frac-size R, --frac-bops R, --frac-latency R\n"
    "                     limit at the fraction R in [0, 1] of the way from the least\n"
    "                     to the largest searchable total (HAWQ-V3's convention)\n"
    "  --pin NAME=ID      layer NAME takes candidate ID (repeatable)\n"
    "  --forbid NAME=ID   layer NAME may not take candidate ID (repeatable)\n"
    "  --frontier DIM     the exact Pareto frontier of (DIM total, objective),\n"
    "                     DIM one of size, bops, latency; other limits still apply\n"
    "  --state-cap N      most DP states per layer group before the MIP fallback\n"
    "                     (default 4000000)\n"
    "  --cbc PROGRAM      the MIP program (default cbc, from Debian's coinor-cbc);\n"
    "                     --cbc none disables the fallback\n"
    "  --mip-seconds S    time limit of the MIP program (default 600)\n"
    "Exit codes: 0 optimal, 1 infeasible / not proven / unreadable file, 2 bad input.\n"
    "\n"
    "dyad mpq latency MODEL.json ... measures the latency of each layer at each\n"
    "precision ('dyad mpq latency --help').\n";

bool parse_u64(const std::string& text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *out = v;
  return true;
}

bool split_pair(const std::string& text, std::pair<std::string, std::string>* out) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) return false;
  *out = {text.substr(0, eq), text.substr(eq + 1)};
  return true;
}

// The candidates file through the engine's file reader: a regular file only
// (a FIFO or device is refused, never waited on), at most kMaxInputBytes.
bool read_file(const std::string& path, std::string* out, std::string* error) {
  std::shared_ptr<AlignedBuffer> buffer;
  if (Status s = read_whole_file(path, path, "candidates file", kMaxInputBytes, &buffer); !s.is_ok()) {
    *error = s.message();
    return false;
  }
  out->assign(reinterpret_cast<const char*>(buffer->data()), buffer->size());
  return true;
}

// Parses the flags into options; returns a usage message on failure.
std::string parse_options(const ParsedArgs& pa, mpq::SolveOptions* o, std::string* out_path) {
  for (const auto& [flag, value] : pa.flags) {
    if (flag == "--out") {
      *out_path = value;
    } else if (flag.rfind("--max-", 0) == 0 || flag.rfind("--frac-", 0) == 0) {
      const bool is_max = flag[2] == 'm';
      const int d = mpq::dim_from_name(flag.substr(is_max ? 6 : 7));
      if (d < 0) return "unknown flag " + flag;
      if (is_max) {
        uint64_t v = 0;
        if (!parse_u64(value, &v)) return flag + ": expected a non-negative integer, got '" + value + "'";
        o->constraints.max[d] = v;
      } else {
        char* end = nullptr;
        const double r = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !(r >= 0 && r <= 1))
          return flag + ": expected a number in [0, 1], got '" + value + "'";
        o->constraints.frac[d] = r;
      }
    } else if (flag == "--pin" || flag == "--forbid") {
      std::pair<std::string, std::string> nv;
      if (!split_pair(value, &nv)) return flag + ": expected NAME=ID, got '" + value + "'";
      (flag == "--pin" ? o->selection.pins : o->selection.forbids).push_back(nv);
    } else if (flag == "--frontier") {
      o->frontier_dim = mpq::dim_from_name(value);
      if (o->frontier_dim < 0) return "--frontier: expected size, bops or latency, got '" + value + "'";
    } else if (flag == "--state-cap") {
      if (!parse_u64(value, &o->state_cap) || o->state_cap == 0)
        return "--state-cap: expected a positive integer, got '" + value + "'";
    } else if (flag == "--cbc") {
      o->cbc = value == "none" ? "" : value;
    } else if (flag == "--mip-seconds") {
      std::string error;
      if (!parse_int_flag(flag, value, 1, 1000000, &o->mip_seconds, &error)) return error;
    }
  }
  return "";
}

void print_summary(const mpq::Problem& p, const mpq::SolveResult& r) {
  std::printf("status %s (%s, %zu groups, at most %zu states, %.3f ms)\n", mpq::status_name(r.status),
              r.solver.empty() ? "no solver" : r.solver.c_str(), r.groups, r.max_states, r.solve_ms);
  if (!r.note.empty()) std::printf("%s\n", r.note.c_str());
  for (int d = 0; d < mpq::kDims; ++d) {
    if (!p.has_dim[d]) continue;
    std::printf("  %-8s", mpq::dim_name(d));
    if (r.status == mpq::Status::kOptimal && r.frontier_dim < 0)
      std::printf(" total %llu", static_cast<unsigned long long>(r.best.totals[d]));
    if (r.limited[d]) std::printf(" limit %llu", static_cast<unsigned long long>(r.limits[d]));
    std::printf(" least reachable %llu\n", static_cast<unsigned long long>(r.min_totals[d]));
  }
  if (r.status != mpq::Status::kOptimal) return;
  if (r.frontier_dim >= 0) {
    std::printf("frontier (%s): %zu points\n  %20s  %-14s  choices\n", mpq::dim_name(r.frontier_dim),
                r.frontier.size(), mpq::dim_name(r.frontier_dim), "objective");
    for (const mpq::Config& c : r.frontier) {
      std::map<std::string, int> count;
      for (size_t l = 0; l < p.layers.size(); ++l)
        ++count[p.layers[l].candidates[static_cast<size_t>(c.candidate[l])].id];
      std::string counts;
      for (const auto& [id, n] : count) counts += " " + id + ":" + std::to_string(n);
      std::printf("  %20llu  %-14.8Lg %s\n", static_cast<unsigned long long>(c.totals[r.frontier_dim]),
                  c.objective, counts.c_str());
    }
    return;
  }
  std::printf("objective %.10Lg\n", r.best.objective);
  for (size_t l = 0; l < p.layers.size(); ++l)
    std::printf("  %-40s %s\n", p.layers[l].name.c_str(),
                p.layers[l].candidates[static_cast<size_t>(r.best.candidate[l])].id.c_str());
}

int solve_command(const std::vector<std::string>& args) {
  ParsedArgs pa;
  std::string error;
  if (!parse_args(args,
                  {"--out", "--max-size", "--max-bops", "--max-latency", "--frac-size", "--frac-bops",
                   "--frac-latency", "--pin", "--forbid", "--frontier", "--state-cap", "--cbc",
                   "--mip-seconds"},
                  {}, &pa, &error))
    return usage_error(kCommand, error);
  if (pa.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (pa.positional.size() != 1) return usage_error(kCommand, "expected one CANDIDATES.json");
  mpq::SolveOptions options;
  std::string out_path;
  if (const std::string msg = parse_options(pa, &options, &out_path); !msg.empty())
    return usage_error(kCommand, msg);
  const std::string& in_path = pa.positional[0];
  std::string text;
  if (!read_file(in_path, &text, &error)) return runtime_error(kCommand, error);
  mpq::Problem problem;
  mpq::SolveResult result;
  try {
    problem = mpq::parse_candidates(text);
    result = mpq::solve(problem, options);
  } catch (const mpq::InputError& e) {
    std::fprintf(stderr, "dyad mpq: %s: %s\n", in_path.c_str(), e.what());
    return kExitUsage;
  }
  const std::string json = mpq::result_json(problem, result, mpq::sha256_hex(text)).dump(2) + "\n";
  if (out_path.empty()) {
    std::fputs(json.c_str(), stdout);
  } else {
    std::ofstream f(out_path, std::ios::binary | std::ios::trunc);
    f << json;
    f.close();
    if (!f) return runtime_error(kCommand, out_path + ": cannot write");
    print_summary(problem, result);
  }
  return result.status == mpq::Status::kOptimal ? kExitOk : kExitRuntime;
}

}  // namespace

int mpq_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kHelp, args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "latency")
    return mpq_latency_command(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args[0] != "solve") return usage_error(kCommand, "unknown subcommand '" + args[0] + "'");
  return solve_command(std::vector<std::string>(args.begin() + 1, args.end()));
}

}  // namespace dyad::cli
