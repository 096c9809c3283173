// `dyad`: inspect, run and benchmark a model from the command line.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "dyad/dyad.h"
#include "engine/cli/cli.h"

namespace {

constexpr char kUsage[] =
    "usage: dyad <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  info MODEL [--verbose]          inputs, outputs, op counts, parameters, MACs, memory\n"
    "  run MODEL [--input NAME=FILE.npy ...] [--output-dir DIR] [--threads N]\n"
    "                                  run once; print (and optionally save) the outputs\n"
    "  bench MODEL [--threads N[,N...]] [--warmup W] [--iters I] [--json|--csv]\n"
    "                                  latency percentiles and a per-op time table\n"
    "  classify MODEL --images IDX --labels IDX [--threads N] [--limit N] [--expect-accuracy]\n"
    "                                  top-1 accuracy and throughput on an image data set\n"
    "  prune MODEL --out OUT.json [--v V] [--m M] [--layers fc|all|NAMES]\n"
    "                                  write a copy with V:2:M sparse (pruned, packed) weights\n"
    "  mpq solve CANDIDATES.json [--max-bops N | --frac-size R | --frontier DIM ...]\n"
    "                [--out RESULT.json]\n"
    "                                  choose each layer's precision (mixed INT4/INT8)\n"
    "  mpq latency MODEL... [--candidates C.json] [--check MODEL ...] [--out OUT.json]\n"
    "                                  each layer's latency at each precision, in the graph\n"
    "  serve --model NAME=MODEL [--model ...] [--host H] [--port P] [--sessions S]\n"
    "        [--threads T] [--max-queue Q] [--max-body-bytes B] [--log]\n"
    "                                  HTTP inference server (KServe v2 protocol)\n"
    "  version                         print the library version\n"
    "  help                            print this text\n"
    "\n"
    "Every command that loads a model also takes --allow-weights-outside-model-dir:\n"
    "the model's weights file may then lie outside the model's folder (refused by default),\n"
    "and --memory-budget BYTES (K, M, G suffixes): the most the model and its session may\n"
    "take (constants, arena, scratch), checked before allocating (no budget by default).\n"
    "\n"
    "'dyad COMMAND --help' describes one command. Exit codes: 0 ok, 1 runtime error,\n"
    "2 usage error.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace dyad::cli;
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  int (*const fn)(const std::vector<std::string>&) = command == "info"    ? info_command
                                                     : command == "run"   ? run_command
                                                     : command == "bench" ? bench_command
                                                     : command == "classify" ? classify_command
                                                     : command == "prune" ? prune_command
                                                     : command == "mpq"   ? mpq_command
                                                     : command == "serve" ? serve_command
                                                                          : nullptr;
  if (fn != nullptr) {
    try {
      return fn(args);
    } catch (const std::exception& e) {  // out of memory, a filesystem error, ...
      return runtime_error(command, e.what());
    }
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (command == "version" || command == "--version") {
    std::printf("dyad %s\n", dyad_version());
    return kExitOk;
  }
  std::fprintf(stderr, "dyad: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return kExitUsage;
}
