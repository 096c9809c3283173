#include "tests/fuzz/fuzz_run_model.h"

#include <dyad/dyad.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

// dyad_session_set_run_timeout is declared in dyad.h but defined only once the
// run-deadline work is merged (issue 11). A weak reference lets this file link
// either way: before that it is null and the run has no deadline (libFuzzer's
// -timeout still catches hangs).
#pragma weak dyad_session_set_run_timeout

namespace dyad::fuzz {
namespace {

// A status the C API may return for a hostile model; anything else is a bug.
void expect_known_status(dyad_status status, const char* call) {
  if (status >= DYAD_OK && status <= DYAD_DEADLINE_EXCEEDED) return;
  std::fprintf(stderr, "%s returned unknown status %d\n", call, static_cast<int>(status));
  std::abort();
}

bool set_inputs(dyad_session* session, const dyad_model* model, std::string_view bytes) {
  const size_t count = dyad_model_num_inputs(model);
  size_t cursor = 0;
  for (size_t i = 0; i < count; ++i) {
    dyad_tensor_info info{};
    if (dyad_model_input_info(model, i, &info) != DYAD_OK) std::abort();  // index is valid
    std::vector<unsigned char> data(info.bytes, 0);
    if (!bytes.empty()) {
      for (unsigned char& b : data) b = static_cast<unsigned char>(bytes[cursor++ % bytes.size()]);
    }
    const dyad_status status = dyad_session_set_input(session, i, data.data(), data.size());
    expect_known_status(status, "dyad_session_set_input");
    // Out-of-range int4 bytes are refused; that is an answer, not a finding.
    if (status != DYAD_OK) return false;
  }
  return true;
}

void read_outputs(const dyad_session* session, const dyad_model* model) {
  const size_t count = dyad_model_num_outputs(model);
  for (size_t i = 0; i < count; ++i) {
    dyad_tensor_info info{};
    if (dyad_model_output_info(model, i, &info) != DYAD_OK) std::abort();
    std::vector<unsigned char> data(info.bytes);
    if (dyad_session_get_output(session, i, data.data(), data.size()) != DYAD_OK) std::abort();
  }
}

}  // namespace

void load_and_run(std::string_view json_text, std::string_view weights, const RunOptions& options) {
  dyad_model_options model_options = DYAD_MODEL_OPTIONS_INIT;
  model_options.memory_budget_bytes = kFuzzMemoryBudgetBytes;
  dyad_model* model = nullptr;
  dyad_status status = dyad_model_load_from_memory(
      json_text.data(), json_text.size(), weights.empty() ? nullptr : weights.data(),
      weights.size(), &model_options, &model);
  expect_known_status(status, "dyad_model_load_from_memory");
  if (status != DYAD_OK) {
    if (model != nullptr) std::abort();  // a failed load hands back nothing
    return;
  }
  dyad_session_options session_options = DYAD_SESSION_OPTIONS_INIT;
  session_options.num_threads = options.num_threads;
  dyad_session* session = nullptr;
  status = dyad_session_create(model, &session_options, &session);
  expect_known_status(status, "dyad_session_create");
  if (status == DYAD_OK) {
    if (dyad_session_set_run_timeout != nullptr)
      dyad_session_set_run_timeout(session, kFuzzRunTimeoutMicroseconds);
    if (set_inputs(session, model, options.input_bytes)) {
      status = dyad_session_run(session);
      expect_known_status(status, "dyad_session_run");
      if (status == DYAD_OK) read_outputs(session, model);
    }
    dyad_session_free(session);
  }
  dyad_model_free(model);
}

}  // namespace dyad::fuzz
