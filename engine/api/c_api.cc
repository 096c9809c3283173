// The C API (engine/include/dyad/dyad.h) over dyad::Model and dyad::Session.
//
// Every entry point runs its body inside `guarded`, so no exception crosses
// the boundary: std::bad_alloc becomes DYAD_OUT_OF_MEMORY, anything else
// DYAD_INTERNAL_ERROR. Failures record a thread-local message that stays until
// the next failure on the same thread.
#include "dyad/dyad.h"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "engine/api/float_boundary.h"
#include "engine/api/struct_options.h"
#include "engine/exec/memory_needs.h"
#include "engine/exec/model.h"
#include "engine/exec/session.h"
#include "kernels/common/log.h"

#ifndef DYAD_VERSION_STRING
#error "DYAD_VERSION_STRING must be defined by the build (CMakeLists.txt)"
#endif

namespace {

// The dyad_tensor_info of one input or output, with the arrays it points to.
struct TensorInfoCache {
  dyad_tensor_info info{};
  std::vector<double> scales;
  std::vector<int64_t> zero_points;
  size_t model_rank = 0;  // > DYAD_MAX_RANK cannot be described by dyad_tensor_info
};

// Built once per model and shared with its sessions, so a session stays fully
// usable after dyad_model_free.
struct ModelInfo {
  std::shared_ptr<const dyad::Model> model;  // keeps the names alive
  std::vector<TensorInfoCache> inputs;
  std::vector<TensorInfoCache> outputs;
  // dyad_model_metadata_json's text, made on first use (metadata can be large).
  mutable std::once_flag metadata_once;
  mutable std::string metadata_json;
  mutable bool metadata_ok = false;
};

thread_local std::string t_last_error;

dyad_status fail(dyad_status status, std::string message) {
  t_last_error = std::move(message);
  return status;
}

dyad_status from_status(const dyad::Status& s) {
  if (s.is_ok()) return DYAD_OK;
  const int code = static_cast<int>(s.code());
  const dyad_status status = (code >= DYAD_INVALID_ARGUMENT && code <= DYAD_DEADLINE_EXCEEDED)
                                 ? static_cast<dyad_status>(code)
                                 : DYAD_INTERNAL_ERROR;
  return fail(status, s.message());
}

// Runs `body` (returning dyad_status) with every exception turned into a status.
template <typename Body>
dyad_status guarded(const char* function, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    try {
      return fail(DYAD_OUT_OF_MEMORY, std::string(function) + ": out of memory");
    } catch (...) {
      return DYAD_OUT_OF_MEMORY;
    }
  } catch (const std::exception& e) {
    try {
      return fail(DYAD_INTERNAL_ERROR, std::string(function) + ": internal error: " + e.what());
    } catch (...) {
      return DYAD_INTERNAL_ERROR;
    }
  } catch (...) {
    try {
      return fail(DYAD_INTERNAL_ERROR, std::string(function) + ": internal error");
    } catch (...) {
      return DYAD_INTERNAL_ERROR;
    }
  }
}

dyad_status null_argument(const char* function, const char* argument) {
  return fail(DYAD_INVALID_ARGUMENT, std::string(function) + ": " + argument + " is NULL");
}

dyad_status bad_index(const char* function, const char* what, size_t index, size_t count) {
  return fail(DYAD_INVALID_ARGUMENT, std::string(function) + ": " + what + " index " +
                                         std::to_string(index) + " out of range (the model has " +
                                         std::to_string(count) + ")");
}

TensorInfoCache describe(const dyad::TensorDesc& t) {
  TensorInfoCache c;
  c.model_rank = t.shape.size();
  dyad_tensor_info& info = c.info;
  info.name = t.name.c_str();
  info.dtype = static_cast<dyad_dtype>(t.dtype);
  info.rank = t.shape.size() <= DYAD_MAX_RANK ? t.shape.size() : DYAD_MAX_RANK;
  for (size_t d = 0; d < info.rank; ++d) info.shape[d] = t.shape[d];
  info.num_elements = static_cast<size_t>(dyad::shape_elements(t.shape));
  info.bytes = info.num_elements * dyad::dtype_storage_bytes(t.dtype);
  const dyad::Quantization& q = t.quant;
  const bool per_channel = q.per_channel() && static_cast<size_t>(q.axis) < t.shape.size();
  info.quant_axis = per_channel ? q.axis : -1;
  // Per channel, both lists are expanded to one entry per channel, even when
  // the model gives a single scale or zero point for all of them.
  const size_t channels = per_channel ? static_cast<size_t>(t.shape[q.axis]) : 1;
  if (q.has_scale()) {
    for (size_t ch = 0; ch < channels; ++ch) {
      const size_t si = q.scales.size() == 1 ? 0 : ch;
      c.scales.push_back(si < q.scales.size() ? q.scales[si] : 0.0);
    }
  }
  for (size_t ch = 0; ch < (q.has_scale() ? channels : 1); ++ch) {
    const size_t zi = q.zero_points.size() <= 1 ? 0 : ch;
    c.zero_points.push_back(q.zero_points.empty() ? 0
                            : zi < q.zero_points.size() ? q.zero_points[zi]
                                                        : 0);
  }
  return c;
}

// Pointers into the vectors are set after the caches reach their final place.
void fix_pointers(std::vector<TensorInfoCache>* caches) {
  for (TensorInfoCache& c : *caches) {
    c.info.num_scales = c.scales.size();
    c.info.scales = c.scales.empty() ? nullptr : c.scales.data();
    c.info.zero_points = c.zero_points.data();
  }
}

std::shared_ptr<const ModelInfo> make_model_info(std::shared_ptr<const dyad::Model> model) {
  auto info = std::make_shared<ModelInfo>();
  for (size_t i = 0; i < model->num_inputs(); ++i) info->inputs.push_back(describe(model->input(i)));
  for (size_t i = 0; i < model->num_outputs(); ++i)
    info->outputs.push_back(describe(model->output(i)));
  fix_pointers(&info->inputs);
  fix_pointers(&info->outputs);
  info->model = std::move(model);
  return info;
}

dyad_status from_status_in(const char* function, const dyad::Status& s) {
  if (s.is_ok()) return DYAD_OK;
  return from_status(dyad::Status(s.code(), std::string(function) + ": " + s.message()));
}

// The caller's options (NULL: the defaults) as LoadOptions, struct_size checked.
dyad_status to_load_options(const char* function, const dyad_model_options* options,
                            dyad::LoadOptions* out) {
  dyad_model_options o = DYAD_MODEL_OPTIONS_INIT;
  if (options != nullptr) {
    const dyad::Status s = dyad::read_struct_options(options, options->struct_size, &o,
                                                     sizeof o, "dyad_model_options");
    if (!s.is_ok()) return from_status_in(function, s);
  }
  out->allow_weights_outside_model_dir = o.allow_weights_outside_model_dir != 0;
  out->memory_budget_bytes = o.memory_budget_bytes;
  out->read_weights_into_memory = o.read_weights_into_memory != 0;
  return DYAD_OK;
}

dyad_status to_thread_count(const char* function, const dyad_session_options* options,
                            int* threads) {
  dyad_session_options o = DYAD_SESSION_OPTIONS_INIT;
  if (options != nullptr) {
    const dyad::Status s = dyad::read_struct_options(options, options->struct_size, &o,
                                                     sizeof o, "dyad_session_options");
    if (!s.is_ok()) return from_status_in(function, s);
  }
  *threads = o.num_threads == 0 ? 1 : o.num_threads;  // Session::create checks the range
  return DYAD_OK;
}

}  // namespace

struct dyad_model {
  std::shared_ptr<const ModelInfo> info;
};

struct dyad_session {
  std::unique_ptr<dyad::Session> session;
  std::shared_ptr<const ModelInfo> info;
  bool has_outputs = false;  // the last run succeeded
  std::vector<bool> input_set;  // per input: set at least once since creation
};

namespace {

dyad_status make_model(dyad::Status status, std::shared_ptr<const dyad::Model> model,
                       dyad_model** out) {
  if (!status.is_ok()) return from_status(status);
  auto handle = std::make_unique<dyad_model>();
  handle->info = make_model_info(std::move(model));
  *out = handle.release();
  return DYAD_OK;
}

dyad_status tensor_info(const char* function, const dyad_model* model, size_t index,
                        dyad_tensor_info* out, bool input) {
  if (model == nullptr) return null_argument(function, "model");
  if (out == nullptr) return null_argument(function, "out");
  const std::vector<TensorInfoCache>& caches =
      input ? model->info->inputs : model->info->outputs;
  if (index >= caches.size())
    return bad_index(function, input ? "input" : "output", index, caches.size());
  const TensorInfoCache& c = caches[index];
  if (c.model_rank > DYAD_MAX_RANK)
    return fail(DYAD_UNSUPPORTED, std::string(function) + ": tensor '" + c.info.name +
                                      "' has rank " + std::to_string(c.model_rank) +
                                      ", more than DYAD_MAX_RANK (" +
                                      std::to_string(DYAD_MAX_RANK) + ")");
  *out = c.info;
  return DYAD_OK;
}

dyad_status check_session_index(const char* function, const dyad_session* session, size_t index,
                                bool input) {
  if (session == nullptr) return null_argument(function, "session");
  const size_t count = input ? session->info->inputs.size() : session->info->outputs.size();
  if (index >= count) return bad_index(function, input ? "input" : "output", index, count);
  return DYAD_OK;
}

dyad_status mark_input_set(dyad_session* session, size_t index, const dyad::Status& status) {
  if (status.is_ok()) session->input_set[index] = true;
  return from_status(status);
}

// DYAD_INVALID_ARGUMENT naming the first input never set since creation.
dyad_status check_inputs_set(const char* function, const dyad_session* session) {
  for (size_t i = 0; i < session->input_set.size(); ++i)
    if (!session->input_set[i])
      return fail(DYAD_INVALID_ARGUMENT,
                  std::string(function) + ": input '" + session->info->inputs[i].info.name +
                      "' (index " + std::to_string(i) +
                      ") was never set: call dyad_session_set_input first");
  return DYAD_OK;
}

dyad_status check_outputs_ready(const char* function, const dyad_session* session) {
  if (!session->has_outputs)
    return fail(DYAD_INVALID_ARGUMENT,
                std::string(function) +
                    ": no output: the last dyad_session_run did not succeed, or none ran yet");
  return DYAD_OK;
}

dyad_status load_from_memory(const char* kFn, const char* json_text, size_t json_bytes,
                             const void* weights, size_t weights_bytes,
                             const dyad_model_options* options, bool borrow, dyad_model** out) {
  return guarded(kFn, [&] {
    if (out == nullptr) return null_argument(kFn, "out");
    *out = nullptr;
    if (json_text == nullptr) return null_argument(kFn, "json_text");
    if (weights == nullptr && weights_bytes != 0)
      return fail(DYAD_INVALID_ARGUMENT, std::string(kFn) + ": weights is NULL but weights_bytes is " +
                                             std::to_string(weights_bytes));
    dyad::LoadOptions load_options;
    if (dyad_status s = to_load_options(kFn, options, &load_options); s != DYAD_OK) return s;
    load_options.borrow_weights = borrow;
    std::shared_ptr<const dyad::Model> model;
    dyad::Status status =
        dyad::Model::load_memory(std::string_view(json_text, json_bytes), weights, weights_bytes,
                                 "<memory>", &model, load_options);
    return make_model(std::move(status), std::move(model), out);
  });
}

dyad_status find_tensor(const char* function, const dyad_model* model, const char* name,
                        size_t* index, bool input) {
  if (model == nullptr) return null_argument(function, "model");
  if (name == nullptr) return null_argument(function, "name");
  if (index == nullptr) return null_argument(function, "index");
  const std::vector<TensorInfoCache>& caches = input ? model->info->inputs : model->info->outputs;
  for (size_t i = 0; i < caches.size(); ++i) {
    if (std::strcmp(caches[i].info.name, name) == 0) {
      *index = i;
      return DYAD_OK;
    }
  }
  std::string message = std::string(function) + ": the model has no " +
                        (input ? "input" : "output") + " named '" + name + "' (it has ";
  for (size_t i = 0; i < caches.size(); ++i) {
    if (i > 0) message += ", ";
    message += "'";
    message += caches[i].info.name;
    message += "'";
  }
  message += ")";
  return fail(DYAD_INVALID_ARGUMENT, std::move(message));
}

void forward_log(void* user_data, int level, const char* message) {
  auto* target = static_cast<std::pair<dyad_log_callback, void*>*>(user_data);
  target->first(target->second, static_cast<dyad_log_level>(level), message);
}

}  // namespace

extern "C" {

const char* dyad_version(void) { return DYAD_VERSION_STRING; }

const char* dyad_status_string(dyad_status status) {
  switch (status) {
    case DYAD_OK: return "ok";
    case DYAD_INVALID_ARGUMENT: return "invalid argument";
    case DYAD_IO_ERROR: return "I/O error";
    case DYAD_PARSE_ERROR: return "parse error";
    case DYAD_INVALID_MODEL: return "invalid model";
    case DYAD_UNSUPPORTED: return "unsupported";
    case DYAD_OUT_OF_MEMORY: return "out of memory";
    case DYAD_INTERNAL_ERROR: return "internal error";
    case DYAD_CANCELLED: return "cancelled";
    case DYAD_DEADLINE_EXCEEDED: return "deadline exceeded";
  }
  return "unknown status";
}

const char* dyad_last_error_message(void) { return t_last_error.c_str(); }

void dyad_set_log_callback(dyad_log_callback callback, void* user_data) {
  // The C callback and its argument, kept where the kernels' sink can reach
  // them; replaced only after the sink no longer points at the old pair.
  static std::pair<dyad_log_callback, void*> targets[2];
  static int current = 0;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (callback == nullptr) {
    dyad::kernels::set_log_sink(nullptr, nullptr);
    return;
  }
  current ^= 1;
  targets[current] = {callback, user_data};
  dyad::kernels::set_log_sink(forward_log, &targets[current]);
}

dyad_status dyad_model_load(const char* json_path, const dyad_model_options* options,
                            dyad_model** out) {
  return guarded("dyad_model_load", [&] {
    if (out == nullptr) return null_argument("dyad_model_load", "out");
    *out = nullptr;
    if (json_path == nullptr) return null_argument("dyad_model_load", "json_path");
    dyad::LoadOptions load_options;
    if (dyad_status s = to_load_options("dyad_model_load", options, &load_options); s != DYAD_OK)
      return s;
    std::shared_ptr<const dyad::Model> model;
    dyad::Status status = dyad::Model::load_file(json_path, &model, load_options);
    return make_model(std::move(status), std::move(model), out);
  });
}

dyad_status dyad_model_load_from_memory(const char* json_text, size_t json_bytes,
                                        const void* weights, size_t weights_bytes,
                                        const dyad_model_options* options, dyad_model** out) {
  return load_from_memory("dyad_model_load_from_memory", json_text, json_bytes, weights,
                          weights_bytes, options, /*borrow=*/false, out);
}

dyad_status dyad_model_load_from_memory_borrowed(const char* json_text, size_t json_bytes,
                                                 const void* weights, size_t weights_bytes,
                                                 const dyad_model_options* options,
                                                 dyad_model** out) {
  return load_from_memory("dyad_model_load_from_memory_borrowed", json_text, json_bytes, weights,
                          weights_bytes, options, /*borrow=*/true, out);
}

void dyad_model_free(dyad_model* model) { delete model; }

const char* dyad_model_name(const dyad_model* model) {
  return model == nullptr ? "" : model->info->model->graph().name.c_str();
}

const char* dyad_model_metadata_json(const dyad_model* model) {
  if (model == nullptr) return nullptr;
  const ModelInfo& info = *model->info;
  std::call_once(info.metadata_once, [&info] {
    try {
      info.metadata_json = info.model->graph().metadata.dump();
      info.metadata_ok = true;
    } catch (...) {  // out of memory, or text that is not UTF-8
      info.metadata_json.clear();
    }
  });
  return info.metadata_ok ? info.metadata_json.c_str() : nullptr;
}

const char* dyad_model_metadata_string(const dyad_model* model, const char* key) {
  if (model == nullptr || key == nullptr) return nullptr;
  const nlohmann::json& metadata = model->info->model->graph().metadata;
  if (!metadata.is_object()) return nullptr;
  const auto it = metadata.find(key);
  if (it == metadata.end() || !it->is_string()) return nullptr;
  return it->get_ref<const std::string&>().c_str();
}

dyad_status dyad_model_find_input(const dyad_model* model, const char* name, size_t* index) {
  return guarded("dyad_model_find_input", [&] {
    return find_tensor("dyad_model_find_input", model, name, index, /*input=*/true);
  });
}

dyad_status dyad_model_find_output(const dyad_model* model, const char* name, size_t* index) {
  return guarded("dyad_model_find_output", [&] {
    return find_tensor("dyad_model_find_output", model, name, index, /*input=*/false);
  });
}

dyad_status dyad_model_memory(const dyad_model* model, int num_threads, dyad_memory_info* out) {
  static constexpr const char* kFn = "dyad_model_memory";
  return guarded(kFn, [&] {
    if (model == nullptr) return null_argument(kFn, "model");
    if (out == nullptr) return null_argument(kFn, "out");
    if (num_threads < 0 || num_threads > dyad::kMaxSessionThreads)
      return fail(DYAD_INVALID_ARGUMENT, std::string(kFn) + ": num_threads " +
                                             std::to_string(num_threads) + " is out of range (0.." +
                                             std::to_string(dyad::kMaxSessionThreads) +
                                             ")");
    const dyad::Model& m = *model->info->model;
    const dyad::MemoryNeeds needs =
        dyad::memory_needs(m.graph(), m.plan(), num_threads == 0 ? 1 : num_threads);
    dyad_memory_info info{};
    info.struct_size = sizeof info;
    info.constants_bytes = needs.constants;
    info.weights_mapped_bytes = needs.mapped;
    info.weights_borrowed_bytes = needs.borrowed;
    info.packed_bytes = needs.packed;
    info.arena_bytes = needs.arena;
    info.scratch_bytes_per_thread = needs.scratch_per_thread;
    info.session_bytes = needs.arena + needs.scratch();
    const dyad::Status s =
        dyad::write_struct_result(&info, sizeof info, out, out->struct_size, "dyad_memory_info");
    return from_status_in(kFn, s);
  });
}

size_t dyad_model_num_inputs(const dyad_model* model) {
  return model == nullptr ? 0 : model->info->inputs.size();
}

size_t dyad_model_num_outputs(const dyad_model* model) {
  return model == nullptr ? 0 : model->info->outputs.size();
}

dyad_status dyad_model_input_info(const dyad_model* model, size_t index, dyad_tensor_info* out) {
  return guarded("dyad_model_input_info", [&] {
    return tensor_info("dyad_model_input_info", model, index, out, /*input=*/true);
  });
}

dyad_status dyad_model_output_info(const dyad_model* model, size_t index, dyad_tensor_info* out) {
  return guarded("dyad_model_output_info", [&] {
    return tensor_info("dyad_model_output_info", model, index, out, /*input=*/false);
  });
}

dyad_status dyad_session_create(const dyad_model* model, const dyad_session_options* options,
                                dyad_session** out) {
  static constexpr const char* kFn = "dyad_session_create";
  return guarded(kFn, [&] {
    if (out == nullptr) return null_argument(kFn, "out");
    *out = nullptr;
    if (model == nullptr) return null_argument(kFn, "model");
    int threads = 1;
    if (dyad_status s = to_thread_count(kFn, options, &threads); s != DYAD_OK) return s;
    auto handle = std::make_unique<dyad_session>();
    handle->info = model->info;
    handle->input_set.assign(model->info->inputs.size(), false);
    dyad::Status status = dyad::Session::create(model->info->model, threads, &handle->session);
    if (!status.is_ok()) return from_status(status);
    *out = handle.release();
    return DYAD_OK;
  });
}

void dyad_session_free(dyad_session* session) { delete session; }

dyad_status dyad_session_set_input(dyad_session* session, size_t index, const void* data,
                                   size_t bytes) {
  static constexpr const char* kFn = "dyad_session_set_input";
  return guarded(kFn, [&] {
    if (dyad_status s = check_session_index(kFn, session, index, true); s != DYAD_OK) return s;
    if (data == nullptr) return null_argument(kFn, "data");
    const dyad_tensor_info& info = session->info->inputs[index].info;
    if (bytes != info.bytes)
      return fail(DYAD_INVALID_ARGUMENT, std::string(kFn) + ": input '" + info.name + "' takes " +
                                             std::to_string(info.bytes) + " bytes, got " +
                                             std::to_string(bytes));
    return mark_input_set(session, index, session->session->set_input(index, data, bytes));
  });
}

dyad_status dyad_session_set_input_f32(dyad_session* session, size_t index, const float* data,
                                       size_t count) {
  static constexpr const char* kFn = "dyad_session_set_input_f32";
  return guarded(kFn, [&] {
    if (dyad_status s = check_session_index(kFn, session, index, true); s != DYAD_OK) return s;
    if (data == nullptr) return null_argument(kFn, "data");
    const dyad::TensorDesc& desc = session->session->model().input(index);
    // Quantize into a temporary so that a failure leaves the input untouched.
    std::vector<uint8_t> container(session->info->inputs[index].info.bytes);
    dyad::Status status = dyad::quantize_to_container(desc, data, count, container.data());
    if (!status.is_ok())
      return from_status(dyad::Status(status.code(), std::string(kFn) + ": " + status.message()));
    return mark_input_set(session, index,
                          session->session->set_input(index, container.data(), container.size()));
  });
}

dyad_status dyad_session_run(dyad_session* session) {
  static constexpr const char* kFn = "dyad_session_run";
  return guarded(kFn, [&] {
    if (session == nullptr) return null_argument(kFn, "session");
    if (dyad_status s = check_inputs_set(kFn, session); s != DYAD_OK) return s;
    session->has_outputs = false;
    const dyad_status s = from_status(session->session->run());
    session->has_outputs = (s == DYAD_OK);
    return s;
  });
}

dyad_status dyad_session_set_run_timeout(dyad_session* session, uint64_t timeout_microseconds) {
  static constexpr const char* kFn = "dyad_session_set_run_timeout";
  return guarded(kFn, [&] {
    if (session == nullptr) return null_argument(kFn, "session");
    // Longer than int64 microseconds (292,000 years) is no limit either.
    const int64_t us = timeout_microseconds > static_cast<uint64_t>(INT64_MAX)
                           ? 0
                           : static_cast<int64_t>(timeout_microseconds);
    session->session->set_run_timeout(std::chrono::microseconds(us));
    return DYAD_OK;
  });
}

void dyad_session_cancel(dyad_session* session) {
  if (session != nullptr) session->session->cancel();
}

dyad_status dyad_session_get_output(const dyad_session* session, size_t index, void* data,
                                    size_t bytes) {
  static constexpr const char* kFn = "dyad_session_get_output";
  return guarded(kFn, [&] {
    if (dyad_status s = check_session_index(kFn, session, index, false); s != DYAD_OK) return s;
    if (data == nullptr) return null_argument(kFn, "data");
    const dyad_tensor_info& info = session->info->outputs[index].info;
    if (bytes != info.bytes)
      return fail(DYAD_INVALID_ARGUMENT, std::string(kFn) + ": output '" + info.name + "' has " +
                                             std::to_string(info.bytes) + " bytes, got " +
                                             std::to_string(bytes));
    if (dyad_status s = check_outputs_ready(kFn, session); s != DYAD_OK) return s;
    std::memcpy(data, session->session->output_data(index), bytes);
    return DYAD_OK;
  });
}

dyad_status dyad_session_get_output_f32(const dyad_session* session, size_t index, float* data,
                                        size_t count) {
  static constexpr const char* kFn = "dyad_session_get_output_f32";
  return guarded(kFn, [&] {
    if (dyad_status s = check_session_index(kFn, session, index, false); s != DYAD_OK) return s;
    if (data == nullptr) return null_argument(kFn, "data");
    if (dyad_status s = check_outputs_ready(kFn, session); s != DYAD_OK) return s;
    const dyad::TensorDesc& desc = session->session->model().output(index);
    dyad::Status status = dyad::dequantize_from_container(
        desc, session->session->output_data(index), data, count);
    if (!status.is_ok())
      return from_status(dyad::Status(status.code(), std::string(kFn) + ": " + status.message()));
    return DYAD_OK;
  });
}

}  // extern "C"
