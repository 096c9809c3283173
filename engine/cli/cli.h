// Shared pieces of the `dyad` command-line tool: the command entry points,
// argument parsing, error reporting and input generation.
//
// Exit codes: 0 success, 1 runtime error (a model or file that cannot be
// loaded or used, a failed run), 2 usage error (bad command line). Every error
// is one line on stderr that names the file or argument at fault.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/load_options.h"
#include "engine/core/status.h"
#include "engine/exec/model.h"
#include "engine/ir/tensor.h"

namespace dyad::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

// Each takes the arguments after the command name.
int info_command(const std::vector<std::string>& args);
int run_command(const std::vector<std::string>& args);
int bench_command(const std::vector<std::string>& args);
int classify_command(const std::vector<std::string>& args);
int prune_command(const std::vector<std::string>& args);
int mpq_command(const std::vector<std::string>& args);
int mpq_latency_command(const std::vector<std::string>& args);  // `dyad mpq latency`
int serve_command(const std::vector<std::string>& args);

// Prints "dyad <command>: <message>" and a pointer to the help; returns kExitUsage.
int usage_error(std::string_view command, const std::string& message);
// Prints "dyad <command>: error: <message>"; returns kExitRuntime.
int runtime_error(std::string_view command, const std::string& message);

struct ParsedArgs {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> flags;  // in order; "" for switches
  bool help = false;                                       // -h or --help was given
};

// The switch every command that loads a model accepts: a model's weights file
// may then lie outside the model's folder (LoadOptions).
inline constexpr std::string_view kAllowWeightsOutsideFlag = "--allow-weights-outside-model-dir";
// The value flag every command that loads a model accepts: BYTES (or with a
// K, M or G suffix, powers of 1024) as LoadOptions::memory_budget_bytes.
inline constexpr std::string_view kMemoryBudgetFlag = "--memory-budget";

// Splits args into positionals and flags. `value_flags` take a value
// ("--threads 2" or "--threads=2"); `switches` take none. Anything else that
// starts with '-' is an error. The model-loading switch above is taken here for
// every command (it is not listed in `flags`) and applies to every later
// load_model call of the process. Returns false with *error set on failure.
bool parse_args(const std::vector<std::string>& args,
                const std::vector<std::string_view>& value_flags,
                const std::vector<std::string_view>& switches, ParsedArgs* out,
                std::string* error);

// Parses a flag value as an int in [lo, hi]; on failure sets *error naming the flag.
bool parse_int_flag(const std::string& flag, const std::string& text, int lo, int hi, int* out,
                    std::string* error);

// Parses --timeout SECONDS (a decimal number, > 0) for Session::set_run_timeout;
// on failure sets *error naming the flag.
bool parse_timeout_flag(const std::string& flag, const std::string& text,
                        std::chrono::microseconds* out, std::string* error);

// "123", "64K", "512M", "2G" (powers of 1024) -> bytes (> 0). False when
// malformed or past SIZE_MAX.
bool parse_byte_count(const std::string& text, size_t* out);

// The options the model-loading switches set (for loads through the C API).
const LoadOptions& model_load_options();

// Loads and plans a model with the options of the model-loading switches; the
// Status message names the file.
Status load_model(const std::string& path, std::shared_ptr<const Model>* out);

// Fills an input container with deterministic pseudo-random values (a
// splitmix64 stream seeded by `seed`): the whole range for 4- and 8-bit dtypes,
// [-128, 127] for wider ones, and [0, id_limit) when id_limit > 0 (token ids).
void fill_pseudo_random(const TensorDesc& desc, uint64_t seed, void* container,
                        int64_t id_limit = 0);

// For a graph input that an `embedding` node reads as ids, the smallest table
// size (vocab) among those nodes, so pseudo-random ids stay valid; else 0.
int64_t embedding_id_limit(const Model& model, size_t input);

// The machine the figures come from (machine.cc).
struct Machine {
  std::string cpu_model;  // /proc/cpuinfo "model name"
  std::string isa;        // the highest kernel ISA dispatch may use (DYAD_ISA caps it)
  std::string features;   // kernels::cpu_summary()
  unsigned hardware_threads = 0;
};
Machine describe_machine();

// "1,234,567".
std::string group_thousands(int64_t v);
// A short text of a tensor's quantization: "scale 0.05 zero_point 0" or
// "scale [0.01, 0.02] zero_point 0 (axis 0)" or "no scale".
std::string quantization_text(const TensorDesc& desc);

}  // namespace dyad::cli
