// The CBC fallback (cbc_mip.h).
#include "engine/mpq/cbc_mip.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

extern char** environ;

namespace dyad::mpq {

namespace {

namespace fs = std::filesystem;

std::string var_name(size_t g, size_t o) {
  std::string s = "x";
  s += std::to_string(g);
  s += "_";
  s += std::to_string(o);
  return s;
}

std::string fmt_double(long double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", static_cast<double>(v));
  return buf;
}

// Runs argv with stdout and stderr to `log`; returns the exit status, or -1
// with *error set when the program cannot be started.
int run_program(const std::vector<std::string>& argv, const fs::path& log, std::string* error) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *error = "cannot start '" + argv[0] + "' (" + std::string(std::strerror(rc)) +
             "); install it (Debian: coinor-cbc) or pass --cbc PATH";
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      *error = "waitpid failed";
      return -1;
    }
  }
  if (!WIFEXITED(status)) {
    *error = "'" + argv[0] + "' was killed by signal " + std::to_string(WTERMSIG(status));
    return -1;
  }
  return WEXITSTATUS(status);
}

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = (base != nullptr && *base != '\0') ? base : "/tmp";
    pattern += "/dyad_mpq_XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

std::string write_lp(const std::vector<Group>& groups, const std::vector<int>& dims,
                     const Costs& bound) {
  long double scale = 0;
  for (const Group& g : groups)
    for (const Option& o : g.options) scale = std::max(scale, o.sensitivity);
  if (scale == 0) scale = 1;
  std::ostringstream lp;
  // One term per line: CBC's LP reader cuts long lines.
  lp << "\\ dyad mpq: one option per group\nMinimize\n obj:";
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t o = 0; o < groups[g].options.size(); ++o)
      lp << "\n + " << fmt_double(groups[g].options[o].sensitivity / scale) << " "
         << var_name(g, o);
  lp << "\nSubject To\n";
  for (size_t g = 0; g < groups.size(); ++g) {
    lp << " g" << g << ":";
    for (size_t o = 0; o < groups[g].options.size(); ++o) lp << "\n + " << var_name(g, o);
    lp << "\n = 1\n";
  }
  // Costs above each group's least option, so the coefficients stay small.
  for (size_t k = 0; k < dims.size(); ++k) {
    const size_t d = static_cast<size_t>(dims[k]);
    uint64_t base = 0;
    lp << " c_" << dim_name(static_cast<int>(d)) << ":";
    bool any = false;
    for (size_t g = 0; g < groups.size(); ++g) {
      uint64_t m = std::numeric_limits<uint64_t>::max();
      for (const Option& o : groups[g].options) m = std::min(m, o.cost[d]);
      base += m;
      for (size_t o = 0; o < groups[g].options.size(); ++o) {
        const uint64_t c = groups[g].options[o].cost[d] - m;
        if (c == 0) continue;
        lp << "\n + " << c << " " << var_name(g, o);
        any = true;
      }
    }
    if (!any) lp << " 0 " << var_name(0, 0);
    lp << "\n <= " << (bound[k] >= base ? bound[k] - base : 0) << "\n";
  }
  lp << "Binaries\n";
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t o = 0; o < groups[g].options.size(); ++o) lp << " " << var_name(g, o) << "\n";
  lp << "End\n";
  return lp.str();
}

bool cbc_available(const std::string& cbc_program) {
  TempDir dir;
  if (dir.path().empty()) return false;
  std::string error;
  return run_program({cbc_program, "-quit"}, dir.path() / "log.txt", &error) == 0;
}

MipOutcome solve_with_cbc(const std::vector<Group>& groups, const std::vector<int>& dims,
                          const Costs& bound, const std::string& cbc_program, int seconds) {
  MipOutcome out;
  TempDir dir;
  if (dir.path().empty()) {
    out.note = "cannot create a temporary directory";
    return out;
  }
  const fs::path lp = dir.path() / "model.lp", sol = dir.path() / "solution.txt";
  {
    std::ofstream f(lp);
    f << write_lp(groups, dims, bound);
    if (!f) {
      out.note = "cannot write " + lp.string();
      return out;
    }
  }
  std::string error;
  const int rc = run_program({cbc_program, lp.string(), "-sec", std::to_string(seconds),
                              "-ratioGap", "0", "-allowableGap", "0", "-solve", "-solution",
                              sol.string()},
                             dir.path() / "log.txt", &error);
  if (rc != 0) {
    out.note = rc < 0 ? error : "'" + cbc_program + "' exited with code " + std::to_string(rc);
    return out;
  }
  std::ifstream f(sol);
  std::string status_line;
  if (!std::getline(f, status_line)) {
    // CBC exits 0 even when it cannot read the model; quote its first error.
    std::ifstream log(dir.path() / "log.txt");
    std::string why;
    for (std::string line; std::getline(log, line);)
      if (line.find("ERROR") != std::string::npos || line.find("Unable") != std::string::npos) {
        why = ": " + line;
        break;
      }
    out.note = "'" + cbc_program + "' wrote no solution" + why;
    return out;
  }
  if (status_line.rfind("Infeasible", 0) == 0) {
    out.status = MipOutcome::Status::kInfeasible;
    return out;
  }
  if (status_line.rfind("Optimal", 0) != 0) {
    out.note = "'" + cbc_program + "' did not prove optimality: " + status_line;
    return out;
  }
  std::map<std::string, std::pair<size_t, size_t>> names;
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t o = 0; o < groups[g].options.size(); ++o) names[var_name(g, o)] = {g, o};
  out.options.assign(groups.size(), -1);
  for (std::string line; std::getline(f, line);) {
    std::istringstream in(line);
    std::string tok, name;
    double value = 0;
    in >> tok;
    if (tok == "**") in >> tok;  // marks an infeasible or non-integral value
    if (!(in >> name >> value)) continue;
    const auto it = names.find(name);
    if (it == names.end() || value < 0.5) continue;
    const auto [g, o] = it->second;
    if (out.options[g] >= 0) {
      out.note = "the MIP solution picks two options in one group";
      return out;
    }
    out.options[g] = static_cast<int>(o);
  }
  for (size_t k = 0; k < dims.size(); ++k) {
    uint64_t total = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      if (out.options[g] < 0) {
        out.note = "the MIP solution picks no option in a group";
        return out;
      }
      total += groups[g].options[static_cast<size_t>(out.options[g])].cost[static_cast<size_t>(dims[k])];
    }
    if (total > bound[k]) {
      out.note = "the MIP solution exceeds the " + std::string(dim_name(dims[k])) +
                 " limit (solver tolerance)";
      return out;
    }
  }
  out.status = MipOutcome::Status::kOptimal;
  return out;
}

}  // namespace dyad::mpq
