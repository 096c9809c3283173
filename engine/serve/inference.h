// Runs one validated request on a session of the model's pool and builds
// the reply (JSON, or JSON followed by binary tensor data).
#pragma once

#include <cstddef>
#include <string>

#include "engine/serve/infer_request.h"
#include "engine/serve/served_model.h"

namespace dyad::serve {

struct InferReply {
  int status = 200;            // 200, 400 (an input the C API refused), 500, 503
  std::string body;            // the reply, or the error message when status != 200
  bool binary = false;         // binary tensor data follows the JSON part
  size_t header_length = 0;    // then: the JSON part's length
};

// Takes a session (waiting in the pool's queue), sets every input, runs,
// copies the requested outputs and gives the session back before the reply
// is formatted.
InferReply run_inference(ServedModel& model, const InferRequest& request);

}  // namespace dyad::serve
