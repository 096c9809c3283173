#include "engine/serve/served_model.h"

#include <nlohmann/json.hpp>

namespace dyad::serve {

namespace {
TensorSpec spec_of(const dyad_tensor_info& info) {
  TensorSpec t;
  t.name = info.name;
  t.dtype = info.dtype;
  t.wire = wire_type_of(info.dtype);
  t.shape.assign(info.shape, info.shape + info.rank);
  t.num_elements = info.num_elements;
  t.bytes = info.bytes;
  t.has_scale = info.num_scales > 0;
  return t;
}

nlohmann::json tensor_metadata(const TensorSpec& t) {
  return {{"name", t.name}, {"datatype", std::string(wire_name(t.wire))}, {"shape", t.shape}};
}
}  // namespace

bool ServedModel::load(const std::string& name, const std::string& path,
                       const dyad_model_options& options, const PoolConfig& pool,
                       std::unique_ptr<ServedModel>* out, std::string* error) {
  std::unique_ptr<ServedModel> m(new ServedModel());
  m->name_ = name;
  m->path_ = path;
  if (dyad_model_load(path.c_str(), &options, &m->model_) != DYAD_OK) {
    *error = dyad_last_error_message();
    return false;
  }
  for (size_t i = 0; i < dyad_model_num_inputs(m->model_); ++i) {
    dyad_tensor_info info;
    if (dyad_model_input_info(m->model_, i, &info) != DYAD_OK) {
      *error = dyad_last_error_message();
      return false;
    }
    m->inputs_.push_back(spec_of(info));
  }
  for (size_t i = 0; i < dyad_model_num_outputs(m->model_); ++i) {
    dyad_tensor_info info;
    if (dyad_model_output_info(m->model_, i, &info) != DYAD_OK) {
      *error = dyad_last_error_message();
      return false;
    }
    m->outputs_.push_back(spec_of(info));
  }
  if (!SessionPool::create(m->model_, pool.sessions, pool.threads, pool.max_queue, &m->pool_,
                           error))
    return false;
  *out = std::move(m);
  return true;
}

ServedModel::~ServedModel() {
  pool_.reset();  // sessions first (they would keep the model alive anyway)
  dyad_model_free(model_);
}

std::string ServedModel::metadata_json() const {
  nlohmann::json j = {{"name", name_}, {"versions", {"1"}}, {"platform", "dyad"}};
  j["inputs"] = nlohmann::json::array();
  for (const TensorSpec& t : inputs_) j["inputs"].push_back(tensor_metadata(t));
  j["outputs"] = nlohmann::json::array();
  for (const TensorSpec& t : outputs_) j["outputs"].push_back(tensor_metadata(t));
  return j.dump();
}

}  // namespace dyad::serve
