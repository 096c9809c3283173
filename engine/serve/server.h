// `dyad serve`: an HTTP server speaking the Open Inference Protocol (KServe
// v2, JSON form, with Triton's binary tensor data extension) over models
// loaded through the public C API. docs/serve.md describes it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "dyad/dyad.h"
#include "engine/serve/served_model.h"

namespace dyad::serve {

struct ModelArg {
  std::string name;  // [A-Za-z0-9_.-]+, checked by the caller
  std::string path;
};

struct ServeOptions {
  std::vector<ModelArg> models;
  std::string host = "127.0.0.1";
  int port = 8080;                   // 0: any free port (printed in the ready line)
  PoolConfig pool;                   // per model
  size_t max_body_bytes = 64u << 20;
  std::chrono::microseconds io_timeout{5'000'000};  // per read / write on a connection
  int http_threads = 0;              // 0: every session and queue slot + 8
  bool access_log = false;
  dyad_model_options load = DYAD_MODEL_OPTIONS_INIT;
};

// True when `name` may name a model: 1 to 64 of [A-Za-z0-9_.-].
bool valid_model_name(const std::string& name);

// Loads the models, listens, prints the ready line to stdout, serves until
// SIGTERM or SIGINT, finishes every accepted request and returns 0; returns
// 1 with a message on stderr when a model does not load or the address
// cannot be bound.
int run_server(const ServeOptions& options);

}  // namespace dyad::serve
