#include "engine/ops/op.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "engine/core/checked_math.h"
#include "engine/core/limits.h"
#include "kernels/common/cpu.h"
#include "kernels/common/log.h"

namespace dyad {

namespace {
std::string quoted_list(std::initializer_list<DType> types) {
  std::string s;
  for (DType t : types) {
    if (!s.empty()) s += ", ";
    s += dtype_name(t);
  }
  return s;
}
}  // namespace

BuildContext::BuildContext(Graph& graph, int node_index, Step& step)
    : graph_(graph), node_index_(node_index), step_(step) {}

Status BuildContext::error(std::string_view field, std::string_view message) const {
  std::string text = graph_.source + ": node '" + node().name + "' (" + std::string(op_name()) + ")";
  if (!field.empty()) text += ": field '" + std::string(field) + "'";
  text += ": ";
  text += message;
  return invalid_model(std::move(text));
}

Status BuildContext::expect_io(int min_inputs, int max_inputs, int num_outputs_expected) const {
  if (num_inputs() < min_inputs || num_inputs() > max_inputs) {
    std::string want = min_inputs == max_inputs
                           ? std::to_string(min_inputs)
                           : std::to_string(min_inputs) + " to " + std::to_string(max_inputs);
    return error("inputs", "expected " + want + " inputs, got " + std::to_string(num_inputs()));
  }
  for (int i = 0; i < min_inputs; ++i)
    if (!has_input(i)) return error("inputs[" + std::to_string(i) + "]", "this input is required");
  if (num_outputs() != num_outputs_expected)
    return error("outputs", "expected " + std::to_string(num_outputs_expected) + " outputs, got " +
                                std::to_string(num_outputs()));
  return Status::ok();
}

Status BuildContext::expect_input_dtype(int i, std::initializer_list<DType> allowed) const {
  const std::string field = "inputs[" + std::to_string(i) + "]";
  if (!has_input(i)) return error(field, "this input is required");
  for (DType t : allowed)
    if (input(i).dtype == t) return Status::ok();
  return error(field, "tensor '" + input(i).name + "' has dtype " +
                          std::string(dtype_name(input(i).dtype)) + ", expected one of: " +
                          quoted_list(allowed));
}

Status BuildContext::expect_output_dtype(int i, std::initializer_list<DType> allowed) const {
  for (DType t : allowed)
    if (output(i).dtype == t) return Status::ok();
  return error("outputs[" + std::to_string(i) + "]",
               "tensor '" + output(i).name + "' has dtype " +
                   std::string(dtype_name(output(i).dtype)) + ", expected one of: " +
                   quoted_list(allowed));
}

Status BuildContext::expect_input_rank(int i, size_t rank) const {
  if (input(i).shape.size() != rank)
    return error("inputs[" + std::to_string(i) + "]",
                 "tensor '" + input(i).name + "' has shape " + shape_to_string(input(i).shape) +
                     ", expected rank " + std::to_string(rank));
  return Status::ok();
}

Status BuildContext::expect_constant(int i) const {
  if (!has_input(i) || !input(i).is_constant)
    return error("inputs[" + std::to_string(i) + "]",
                 has_input(i) ? "tensor '" + input(i).name + "' must be a constant"
                              : std::string("this input is required"));
  return Status::ok();
}

Status BuildContext::set_output_shape(int i, const Shape& shape) {
  TensorDesc& t = graph_.tensors[node().outputs[i]];
  for (int64_t d : shape)
    if (d <= 0)
      return error("outputs[" + std::to_string(i) + "]",
                   "inferred shape " + shape_to_string(shape) + " of tensor '" + t.name +
                       "' is empty");
  const std::string too_large = shape_limit_violation(shape, t.dtype);
  if (!too_large.empty())
    return error("outputs[" + std::to_string(i) + "]",
                 "tensor '" + t.name + "': inferred " + too_large);
  if (t.shape_known && t.shape != shape)
    return error("outputs[" + std::to_string(i) + "]",
                 "tensor '" + t.name + "' is declared with shape " + shape_to_string(t.shape) +
                     " but the op produces " + shape_to_string(shape));
  if (t.quant.per_channel()) {
    if (t.quant.axis >= static_cast<int>(shape.size()))
      return error("outputs[" + std::to_string(i) + "]",
                   "tensor '" + t.name + "' has quantization axis " +
                       std::to_string(t.quant.axis) + " beyond its rank " +
                       std::to_string(shape.size()));
    const size_t channels = static_cast<size_t>(shape[t.quant.axis]);
    if ((t.quant.scales.size() > 1 && t.quant.scales.size() != channels) ||
        (t.quant.zero_points.size() > 1 && t.quant.zero_points.size() != channels))
      return error("outputs[" + std::to_string(i) + "]",
                   "tensor '" + t.name + "' has per-channel quantization lists that do not "
                   "match its " + std::to_string(channels) + " channels");
  }
  t.shape = shape;
  t.shape_known = true;
  return Status::ok();
}

bool BuildContext::has_attr(const std::string& name) const { return node().attrs.contains(name); }

Status BuildContext::attr_int(const std::string& name, int64_t* out,
                              std::optional<int64_t> fallback, int64_t min_value,
                              int64_t max_value) {
  attrs_read_.insert(name);
  const std::string field = "attrs." + name;
  if (!has_attr(name)) {
    if (!fallback) return error(field, "required attribute is missing");
    *out = *fallback;
    return Status::ok();
  }
  const nlohmann::json& v = node().attrs.at(name);
  if (!v.is_number_integer()) return error(field, "expected an integer, got " + v.dump());
  const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX ? INT64_MAX
                                                                           : v.get<int64_t>();
  if (x < min_value || x > max_value)
    return error(field, std::to_string(x) + " is outside [" + std::to_string(min_value) + ", " +
                            std::to_string(max_value) + "]");
  *out = x;
  return Status::ok();
}

Status BuildContext::attr_ints(const std::string& name, std::vector<int64_t>* out,
                               std::optional<std::vector<int64_t>> fallback, size_t length,
                               int64_t min_value, int64_t max_value) {
  attrs_read_.insert(name);
  const std::string field = "attrs." + name;
  if (!has_attr(name)) {
    if (!fallback) return error(field, "required attribute is missing");
    *out = *fallback;
    return Status::ok();
  }
  const nlohmann::json& v = node().attrs.at(name);
  if (!v.is_array()) return error(field, "expected a list of integers, got " + v.dump());
  if (length != 0 && v.size() != length)
    return error(field, "expected " + std::to_string(length) + " integers, got " +
                            std::to_string(v.size()));
  std::vector<int64_t> values;
  values.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number_integer())
      return error(field + "[" + std::to_string(i) + "]", "expected an integer, got " + v[i].dump());
    const int64_t x = v[i].is_number_unsigned() && v[i].get<uint64_t>() > INT64_MAX
                          ? INT64_MAX
                          : v[i].get<int64_t>();
    if (x < min_value || x > max_value)
      return error(field + "[" + std::to_string(i) + "]",
                   std::to_string(x) + " is outside [" + std::to_string(min_value) + ", " +
                       std::to_string(max_value) + "]");
    values.push_back(x);
  }
  *out = std::move(values);
  return Status::ok();
}

Status BuildContext::expect_channel_count(std::string_view field, int64_t channels) const {
  if (channels > limits::kMaxChannels)
    return error(field, std::to_string(channels) + " channels of per-channel constants; at most " +
                            std::to_string(limits::kMaxChannels) +
                            " are allowed (docs/format.md \"Limits\")");
  return Status::ok();
}

Status BuildContext::attr_int_or_ints(const std::string& name, std::vector<int64_t>* out,
                                      size_t length, std::optional<int64_t> fallback,
                                      int64_t min_value, int64_t max_value) {
  DYAD_RETURN_IF_ERROR(expect_channel_count("attrs." + name, static_cast<int64_t>(length)));
  if (has_attr(name) && node().attrs.at(name).is_array())
    return attr_ints(name, out, std::nullopt, length, min_value, max_value);
  int64_t x = 0;
  DYAD_RETURN_IF_ERROR(attr_int(name, &x, fallback, min_value, max_value));
  out->assign(length, x);
  return Status::ok();
}

Status BuildContext::attr_string(const std::string& name, std::string* out,
                                 std::optional<std::string> fallback,
                                 std::initializer_list<std::string_view> allowed) {
  attrs_read_.insert(name);
  const std::string field = "attrs." + name;
  if (!has_attr(name)) {
    if (!fallback) return error(field, "required attribute is missing");
    *out = *fallback;
    return Status::ok();
  }
  const nlohmann::json& v = node().attrs.at(name);
  if (!v.is_string()) return error(field, "expected a string, got " + v.dump());
  const std::string s = v.get<std::string>();
  if (allowed.size() != 0) {
    bool found = false;
    std::string options;
    for (std::string_view a : allowed) {
      found = found || a == s;
      options += (options.empty() ? "" : ", ") + std::string(a);
    }
    if (!found) return error(field, "'" + s + "' is not one of: " + options);
  }
  *out = s;
  return Status::ok();
}

Status BuildContext::attr_bool(const std::string& name, bool* out, std::optional<bool> fallback) {
  attrs_read_.insert(name);
  const std::string field = "attrs." + name;
  if (!has_attr(name)) {
    if (!fallback) return error(field, "required attribute is missing");
    *out = *fallback;
    return Status::ok();
  }
  const nlohmann::json& v = node().attrs.at(name);
  if (!v.is_boolean()) return error(field, "expected true or false, got " + v.dump());
  *out = v.get<bool>();
  return Status::ok();
}

Status BuildContext::attr_number(const std::string& name, double* out,
                                 std::optional<double> fallback) {
  attrs_read_.insert(name);
  const std::string field = "attrs." + name;
  if (!has_attr(name)) {
    if (!fallback) return error(field, "required attribute is missing");
    *out = *fallback;
    return Status::ok();
  }
  const nlohmann::json& v = node().attrs.at(name);
  if (!v.is_number()) return error(field, "expected a number, got " + v.dump());
  const double x = v.get<double>();
  if (!std::isfinite(x)) return error(field, "expected a finite number, got " + v.dump());
  *out = x;
  return Status::ok();
}

Status BuildContext::check_no_unknown_attrs() const {
  for (auto it = node().attrs.begin(); it != node().attrs.end(); ++it)
    if (attrs_read_.count(it.key()) == 0)
      return error("attrs." + it.key(), "unknown attribute for op " + std::string(op_name()));
  return Status::ok();
}

Status BuildContext::add_work(std::string_view field, std::string_view unit,
                              std::initializer_list<int64_t> factors, int64_t* count) {
  const std::optional<int64_t> product = checked_product(factors);
  const std::optional<int64_t> total =
      product ? checked_add(step_.work, *product) : std::nullopt;
  if (!total || *total > limits::kMaxStepWork)
    return error(field, "the step needs " +
                            (product ? std::to_string(*product) : std::string("more than 2^63")) +
                            " " + std::string(unit) + " per run, more than the limit of " +
                            std::to_string(limits::kMaxStepWork) + " (2^40) per step");
  step_.work = *total;
  if (count != nullptr) *count = *product;
  return Status::ok();
}

Status BuildContext::set_scratch_bytes_per_thread(std::string_view field,
                                                  std::optional<size_t> bytes) {
  if (!bytes || *bytes > static_cast<size_t>(limits::kMaxScratchBytesPerThread))
    return error(field, "the kernel needs " +
                            (bytes ? std::to_string(*bytes) : std::string("more than 2^64")) +
                            " scratch bytes per thread, more than the limit of " +
                            std::to_string(limits::kMaxScratchBytesPerThread) + " (2^34)");
  step_.scratch_bytes_per_thread = *bytes;
  return Status::ok();
}

void BuildContext::set_kernel(std::string kernel_name, KernelFn fn,
                              std::shared_ptr<const void> op_data) {
  if (kernels::verbose_dispatch())
    kernels::log_line(kernels::LogLevel::kDebug, "dyad dispatch: node '" + node().name + "' (" +
                                                     std::string(op_name()) + ") -> " + kernel_name);
  step_.kernel_name = std::move(kernel_name);
  step_.fn = fn;
  step_.op_data = std::move(op_data);
}

}  // namespace dyad
