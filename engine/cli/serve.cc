// `dyad serve --model NAME=PATH.json [...]`: the HTTP inference server
// (engine/serve, docs/serve.md). This file only parses the command line.
#include <cstdio>
#include <string>

#include "engine/cli/cli.h"
#include "engine/serve/server.h"

namespace dyad::cli {

namespace {

constexpr char kHelp[] =
    "usage: dyad serve --model NAME=MODEL.json [--model NAME2=MODEL2.json ...]\n"
    "                  [--host ADDR] [--port P] [--sessions S] [--threads T] [--max-queue Q]\n"
    "                  [--max-body-bytes B] [--io-timeout SECONDS] [--http-threads N] [--log]\n"
    "\n"
    "Serves the models over HTTP with the Open Inference Protocol (KServe v2, JSON, and\n"
    "the binary tensor data extension); docs/serve.md. Prints one line once it listens;\n"
    "SIGTERM or SIGINT stops it after the accepted requests are answered (exit 0).\n"
    "  --model NAME=MODEL.json  serve MODEL.json as NAME ([A-Za-z0-9_.-], at most 64)\n"
    "  --host ADDR              address to listen on (default 127.0.0.1)\n"
    "  --port P                 port (default 8080; 0: any free port)\n"
    "  --sessions S             sessions per model: requests run at once (default 1)\n"
    "  --threads T              threads of each session (default 1)\n"
    "  --max-queue Q            requests that may wait for a session, per model; more are\n"
    "                           answered 503 with Retry-After (default 64)\n"
    "  --max-body-bytes B       largest request body (K, M, G suffixes; default 64M); more: 413\n"
    "  --io-timeout SECONDS     limit on each read and write of a connection, and on an idle\n"
    "                           keep-alive connection (default 5)\n"
    "  --http-threads N         connection threads (default: sessions + queue per model, + 8)\n"
    "  --log                    one access log line per request on stdout\n";

}  // namespace

int serve_command(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::string error;
  if (!parse_args(args,
                  {"--model", "--host", "--port", "--sessions", "--threads", "--max-queue",
                   "--max-body-bytes", "--io-timeout", "--http-threads"},
                  {"--log"}, &parsed, &error))
    return usage_error("serve", error);
  if (parsed.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (!parsed.positional.empty())
    return usage_error("serve", "unexpected argument '" + parsed.positional[0] +
                                    "' (models are given with --model NAME=MODEL.json)");
  serve::ServeOptions options;
  for (const auto& [flag, value] : parsed.flags) {
    int n = 0;
    if (flag == "--model") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq + 1 == value.size())
        return usage_error("serve", "--model '" + value + "': write NAME=MODEL.json");
      serve::ModelArg m{value.substr(0, eq), value.substr(eq + 1)};
      if (!serve::valid_model_name(m.name))
        return usage_error("serve", "--model '" + value +
                                        "': NAME must be 1 to 64 of A-Z a-z 0-9 _ . -");
      for (const serve::ModelArg& other : options.models)
        if (other.name == m.name)
          return usage_error("serve", "--model: the name '" + m.name + "' is given twice");
      options.models.push_back(m);
    } else if (flag == "--host") {
      if (value.empty()) return usage_error("serve", "option --host needs an address");
      options.host = value;
    } else if (flag == "--port") {
      if (!parse_int_flag(flag, value, 0, 65535, &options.port, &error))
        return usage_error("serve", error);
    } else if (flag == "--sessions") {
      if (!parse_int_flag(flag, value, 1, 256, &options.pool.sessions, &error))
        return usage_error("serve", error);
    } else if (flag == "--threads") {
      if (!parse_int_flag(flag, value, 1, 256, &options.pool.threads, &error))
        return usage_error("serve", error);
    } else if (flag == "--max-queue") {
      if (!parse_int_flag(flag, value, 0, 100000, &n, &error)) return usage_error("serve", error);
      options.pool.max_queue = static_cast<size_t>(n);
    } else if (flag == "--http-threads") {
      if (!parse_int_flag(flag, value, 1, 4096, &options.http_threads, &error))
        return usage_error("serve", error);
    } else if (flag == "--max-body-bytes") {
      if (!parse_byte_count(value, &options.max_body_bytes))
        return usage_error("serve", "option --max-body-bytes: '" + value +
                                        "' is not a byte count (e.g. 1048576, 512K, 64M)");
    } else if (flag == "--io-timeout") {
      if (!parse_timeout_flag(flag, value, &options.io_timeout, &error))
        return usage_error("serve", error);
    } else if (flag == "--log") {
      options.access_log = true;
    }
  }
  if (options.models.empty()) return usage_error("serve", "missing --model NAME=MODEL.json");
  const LoadOptions& load = model_load_options();
  options.load.allow_weights_outside_model_dir = load.allow_weights_outside_model_dir ? 1 : 0;
  options.load.memory_budget_bytes = load.memory_budget_bytes;
  return serve::run_server(options);
}

}  // namespace dyad::cli
