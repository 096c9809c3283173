// Fuzz target, structure-aware: the fuzz bytes choose a small graph in the
// valid model format (docs/format.md) -- ops from engine/ir/ops.inc, shapes and
// attributes often at or past the limits -- written as JSON with inline
// constants, then loaded and, when it loads, run once. Where the raw JSON
// target (fuzz_model_load) mostly meets parse errors, every input here reaches
// shape inference, the planner and the kernels.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_run_model.h"

namespace {

using nlohmann::json;
using Shape = std::vector<int64_t>;

// Values at the edges of what the format and the kernels accept.
constexpr int64_t kEdgeValues[] = {
    0, 1, 2, 3, 4, 7, 8, 15, 16, 255, 256, 65535, int64_t{1} << 20, (int64_t{1} << 30) - 1,
    int64_t{1} << 30, (int64_t{1} << 30) + 1, (int64_t{1} << 31) - 1, int64_t{1} << 31,
    int64_t{1} << 32, int64_t{1} << 40, int64_t{1} << 62, std::numeric_limits<int64_t>::max(),
    -1, -2, std::numeric_limits<int64_t>::min()};

// For the graph input's dimensions: the same edges without the mid-sized ones
// (65535, 2^20) that make legal but slow models (a requantize over 2^20
// channels takes seconds to derive under ASan) and so only time out.
constexpr int64_t kDimEdgeValues[] = {
    0, 1, 2, 3, 7, 8, 15, 16, 255, 256, (int64_t{1} << 30) - 1, int64_t{1} << 30,
    (int64_t{1} << 31) - 1, int64_t{1} << 31, int64_t{1} << 32, int64_t{1} << 40,
    int64_t{1} << 62, std::numeric_limits<int64_t>::max(), -1, std::numeric_limits<int64_t>::min()};

// Constants with more elements than this are written with too few values (and
// so rejected): the fuzzer still reaches the size checks without a huge JSON.
constexpr int64_t kMaxInlineValues = 1 << 14;

// The builder's shape estimates saturate instead of overflowing: they only
// steer the constants' shapes, and the engine infers the real shapes.
int64_t saturating_mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

class GraphBuilder {
 public:
  explicit GraphBuilder(FuzzedDataProvider& fdp) : fdp_(fdp) {}

  // A value for a dimension or attribute: usually small, sometimes an edge value.
  int64_t small_or_edge(int64_t lo, int64_t hi) {
    if (fdp_.ConsumeProbability<float>() < 0.1f) return fdp_.PickValueInArray(kEdgeValues);
    return fdp_.ConsumeIntegralInRange<int64_t>(lo, hi);
  }

  int64_t dim(int64_t lo, int64_t hi) {
    if (fdp_.ConsumeProbability<float>() < 0.1f) return fdp_.PickValueInArray(kDimEdgeValues);
    return fdp_.ConsumeIntegralInRange<int64_t>(lo, hi);
  }

  static int64_t elements(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) {
      if (d <= 0) return 0;
      if (n > std::numeric_limits<int64_t>::max() / d) return std::numeric_limits<int64_t>::max();
      n *= d;
    }
    return n;
  }

  struct Act {
    std::string name;
    Shape shape;  // this builder's estimate; the engine infers the real one
    double scale;
    int64_t zero_point;
  };

  std::string new_name(const char* prefix) { return prefix + std::to_string(counter_++); }

  std::string activation_dtype() {
    static const char* kTypes[] = {"int8", "int8", "int8", "uint8", "int4", "uint4", "int32"};
    return fdp_.PickValueInArray(kTypes);
  }

  double scale() {
    static const double kScales[] = {0.05, 0.1, 0.02, 1.0, 1e-9, 1e9, 3.0e38, 1.0e-38, 0.0, -1.0};
    return fdp_.ConsumeProbability<float>() < 0.85f ? 0.01 + fdp_.ConsumeProbability<double>()
                                                     : fdp_.PickValueInArray(kScales);
  }

  Act add_activation(const Shape& estimate) {
    Act a{new_name("t"), estimate, scale(), fdp_.ConsumeIntegralInRange<int64_t>(-3, 3)};
    const std::string dtype = activation_dtype();
    json t = {{"name", a.name}, {"dtype", dtype}, {"scale", a.scale}};
    if (dtype != "int32") t["zero_point"] = dtype == "uint8" || dtype == "uint4" ? 0 : a.zero_point;
    tensors_.push_back(std::move(t));
    return a;
  }

  // A constant with inline values; int4 values nibble-range, sometimes a wrong count.
  std::string add_constant(const char* prefix, const std::string& dtype, const Shape& shape,
                           int64_t per_channel, bool quantized) {
    const std::string name = new_name(prefix);
    int64_t count = elements(shape);
    if (count > kMaxInlineValues) count = 1;
    if (fdp_.ConsumeProbability<float>() < 0.05f) count += fdp_.ConsumeIntegralInRange<int64_t>(-1, 1);
    const bool nibbles = dtype == "int4" || dtype == "uint4";
    const int64_t lo = dtype == "int32" ? -100000 : nibbles ? (dtype == "int4" ? -8 : 0) : -128;
    const int64_t hi = dtype == "int32" ? 100000 : nibbles ? (dtype == "int4" ? 7 : 15) : 127;
    const bool out_of_range = fdp_.ConsumeProbability<float>() < 0.02f;
    json values = json::array();
    for (int64_t i = 0; i < count; ++i)
      values.push_back(out_of_range && i == 0 ? hi + 1 : fdp_.ConsumeIntegralInRange<int64_t>(lo, hi));
    json t = {{"name", name}, {"dtype", dtype}, {"shape", shape}, {"values", std::move(values)}};
    if (quantized) {
      if (per_channel > 1 && per_channel <= kMaxInlineValues && fdp_.ConsumeBool()) {
        t["scale"] = std::vector<double>(static_cast<size_t>(per_channel), 0.01);
        t["axis"] = 0;
      } else {
        t["scale"] = 0.01;
      }
      t["zero_point"] = 0;
    }
    tensors_.push_back(std::move(t));
    return name;
  }

  void add_node(const char* op, std::vector<std::string> inputs, const std::string& output, json attrs) {
    json n = {{"name", new_name("n")}, {"op", op}, {"inputs", std::move(inputs)}, {"outputs", {output}}};
    if (!attrs.empty()) n["attrs"] = std::move(attrs);
    nodes_.push_back(std::move(n));
  }

  json int_or_ints(size_t count, int64_t lo, int64_t hi) {
    if (fdp_.ConsumeBool()) return small_or_edge(lo, hi);
    json a = json::array();
    for (size_t i = 0; i < count; ++i) a.push_back(small_or_edge(lo, hi));
    return a;
  }

  static int64_t window_out(int64_t in, int64_t pad, int64_t k, int64_t stride, int64_t dilation) {
    const __int128 span = static_cast<__int128>(in) + 2 * static_cast<__int128>(pad) -
                          static_cast<__int128>(dilation) * (static_cast<__int128>(k) - 1) - 1;
    if (span < 0 || stride <= 0) return 1;
    const __int128 out = span / stride + 1;
    return out > (int64_t{1} << 40) ? 1 : static_cast<int64_t>(out);
  }

  static Shape as_nhwc(const Shape& s) { return s.size() == 4 ? s : Shape{1, 1, 1, elements(s)}; }

  void maybe_activation(json& attrs) {
    static const char* kActs[] = {"none", "relu", "relu6"};
    if (fdp_.ConsumeBool()) attrs["activation"] = fdp_.PickValueInArray(kActs);
  }

  Act conv2d(const Act& x) {
    const Shape in = as_nhwc(x.shape);
    const int64_t groups = fdp_.ConsumeBool() ? 1 : small_or_edge(1, 4) == 2 ? 2 : in[3];
    const int64_t out_c = fdp_.ConsumeBool() ? saturating_mul(std::max<int64_t>(groups, 1), small_or_edge(1, 3)) : small_or_edge(1, 8);
    const int64_t kh = small_or_edge(1, 3), kw = small_or_edge(1, 3);
    const int64_t in_per_group = groups > 0 ? in[3] / groups : in[3];
    json attrs = json::object();
    int64_t stride = 1, pad = 0, dilation = 1;
    if (fdp_.ConsumeBool()) { stride = small_or_edge(1, 3); attrs["stride"] = stride; }
    if (fdp_.ConsumeBool()) { pad = small_or_edge(0, 2); attrs["padding"] = fdp_.ConsumeBool() ? json(pad) : int_or_ints(4, 0, 2); }
    if (fdp_.ConsumeBool()) { dilation = small_or_edge(1, 2); attrs["dilation"] = dilation; }
    if (groups != 1 || fdp_.ConsumeBool()) attrs["groups"] = groups;
    maybe_activation(attrs);
    const std::string wtype = fdp_.ConsumeBool() ? "int8" : "int4";
    const std::string w = add_constant("w", wtype, {out_c, kh, kw, in_per_group}, out_c, true);
    std::vector<std::string> inputs = {x.name, w};
    if (fdp_.ConsumeBool()) inputs.push_back(add_constant("b", "int32", {out_c}, 1, false));
    const Act y = add_activation({in[0], window_out(in[1], pad, kh, stride, dilation),
                                  window_out(in[2], pad, kw, stride, dilation), out_c});
    add_node("conv2d", inputs, y.name, attrs);
    return y;
  }

  Act pool(const Act& x, const char* op) {
    const Shape in = as_nhwc(x.shape);
    const int64_t k = small_or_edge(1, 3);
    json attrs = {{"kernel", fdp_.ConsumeBool() ? json(k) : int_or_ints(2, 1, 3)}};
    int64_t stride = 1, pad = 0;
    if (fdp_.ConsumeBool()) { stride = small_or_edge(1, 3); attrs["stride"] = stride; }
    if (fdp_.ConsumeBool()) { pad = small_or_edge(0, 1); attrs["padding"] = fdp_.ConsumeBool() ? json(pad) : int_or_ints(4, 0, 1); }
    const Act y = add_activation({in[0], window_out(in[1], pad, k, stride, 1), window_out(in[2], pad, k, stride, 1), in[3]});
    add_node(op, {x.name}, y.name, attrs);
    return y;
  }

  Act global_pool(const Act& x) {
    const Shape in = as_nhwc(x.shape);
    const bool keepdims = fdp_.ConsumeBool();
    const Act y = add_activation(keepdims ? Shape{in[0], 1, 1, in[3]} : Shape{in[0], in[3]});
    add_node("global_average_pool", {x.name}, y.name, {{"keepdims", keepdims}});
    return y;
  }

  Act concat(const Act& x, const std::vector<Act>& all) {
    const size_t count = fdp_.ConsumeProbability<float>() < 0.1f ? fdp_.ConsumeIntegralInRange<size_t>(0, 300)
                                                                   : fdp_.ConsumeIntegralInRange<size_t>(1, 4);
    std::vector<std::string> inputs;
    Shape out = x.shape;
    const int64_t rank = static_cast<int64_t>(out.size());
    const int64_t axis = fdp_.ConsumeIntegralInRange<int64_t>(-rank - 1, rank);
    for (size_t i = 0; i < count; ++i) inputs.push_back(fdp_.ConsumeBool() ? x.name : all[fdp_.ConsumeIntegralInRange<size_t>(0, all.size() - 1)].name);
    if (axis >= -rank && axis < rank && !out.empty()) {
      int64_t& d = out[axis < 0 ? axis + rank : axis];
      d = saturating_mul(d, static_cast<int64_t>(std::max<size_t>(count, 1)));
    }
    const Act y = add_activation(out);
    add_node("concat", inputs, y.name, {{"axis", axis}});
    return y;
  }

  Act reshape(const Act& x) {
    Shape target;
    switch (fdp_.ConsumeIntegralInRange<int>(0, 2)) {
      case 0: target = {1, -1}; break;
      case 1: target = {x.shape.empty() ? 1 : x.shape[0], -1}; break;
      default: {
        const size_t rank = fdp_.ConsumeIntegralInRange<size_t>(0, 9);
        for (size_t i = 0; i < rank; ++i) target.push_back(small_or_edge(-1, 8));
      }
    }
    Shape estimate = target;
    for (int64_t& d : estimate) if (d == -1) d = std::max<int64_t>(1, elements(x.shape) / std::max<int64_t>(1, -elements(target)));
    const Act y = add_activation(estimate);
    add_node("reshape", {x.name}, y.name, {{"shape", target}});
    return y;
  }

  Act add(const Act& x, const std::vector<Act>& all) {
    std::string b;
    switch (fdp_.ConsumeIntegralInRange<int>(0, 2)) {
      case 0: b = x.name; break;
      case 1: b = all[fdp_.ConsumeIntegralInRange<size_t>(0, all.size() - 1)].name; break;
      default: b = add_constant("c", fdp_.ConsumeBool() ? "int4" : "int8", x.shape, 1, true);
    }
    json attrs = json::object();
    maybe_activation(attrs);
    const Act y = add_activation(x.shape);
    add_node("add", {x.name, b}, y.name, attrs);
    return y;
  }

  Act fully_connected(const Act& x) {
    Act in = x;
    if (x.shape.size() != 2) in = reshape_to({1, -1}, x);
    const int64_t out_f = small_or_edge(1, 16);
    const int64_t k = in.shape.size() == 2 ? in.shape[1] : 1;
    const std::string w = add_constant("w", fdp_.ConsumeBool() ? "int8" : "int4", {out_f, k}, out_f, true);
    std::vector<std::string> inputs = {in.name, w};
    if (fdp_.ConsumeBool()) inputs.push_back(add_constant("b", "int32", {out_f}, 1, false));
    json attrs = json::object();
    maybe_activation(attrs);
    const Act y = add_activation({in.shape.empty() ? 1 : in.shape[0], out_f});
    add_node("fully_connected", inputs, y.name, attrs);
    return y;
  }

  Act reshape_to(const Shape& target, const Act& x) {
    Act y = add_activation({1, elements(x.shape)});
    add_node("reshape", {x.name}, y.name, {{"shape", target}});
    return y;
  }

  Act requantize(const Act& x) {
    const Act y = add_activation(x.shape);
    add_node("requantize", {x.name}, y.name, json::object());
    return y;
  }

  Act transpose(const Act& x) {
    std::vector<int64_t> perm;
    for (size_t i = 0; i < x.shape.size(); ++i) perm.push_back(static_cast<int64_t>(i));
    for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[fdp_.ConsumeIntegralInRange<size_t>(0, i - 1)]);
    if (fdp_.ConsumeProbability<float>() < 0.05f && !perm.empty()) perm[0] = small_or_edge(-1, 9);
    Shape out;
    for (int64_t p : perm) out.push_back(p >= 0 && p < static_cast<int64_t>(x.shape.size()) ? x.shape[p] : 1);
    const Act y = add_activation(out);
    add_node("transpose", {x.name}, y.name, {{"perm", perm}});
    return y;
  }

  std::string build() {
    Shape in_shape;
    if (fdp_.ConsumeProbability<float>() < 0.8f) {
      in_shape = {dim(1, 2), dim(1, 12), dim(1, 12), dim(1, 8)};
    } else {
      const size_t rank = fdp_.ConsumeIntegralInRange<size_t>(1, 3);
      for (size_t i = 0; i < rank; ++i) in_shape.push_back(dim(1, 16));
    }
    static const char* kInputTypes[] = {"int8", "uint8", "int4", "uint4"};
    const std::string in_type = fdp_.PickValueInArray(kInputTypes);
    Act x{"x", in_shape, 0.05, 0};
    tensors_.push_back({{"name", "x"}, {"dtype", in_type}, {"shape", in_shape}, {"scale", 0.05}, {"zero_point", 0}});

    std::vector<Act> all = {x};
    const int num_nodes = fdp_.ConsumeIntegralInRange<int>(1, 6);
    for (int i = 0; i < num_nodes && fdp_.remaining_bytes() > 0; ++i) {
      const Act& cur = all.back();
      Act next;
      switch (fdp_.ConsumeIntegralInRange<int>(0, 10)) {
        case 0: case 1: next = conv2d(cur); break;
        case 2: next = pool(cur, "max_pool"); break;
        case 3: next = pool(cur, "average_pool"); break;
        case 4: next = global_pool(cur); break;
        case 5: next = concat(cur, all); break;
        case 6: next = reshape(cur); break;
        case 7: next = add(cur, all); break;
        case 8: next = fully_connected(cur); break;
        case 9: next = requantize(cur); break;
        default: next = transpose(cur); break;
      }
      all.push_back(next);
    }
    json model = {{"format", "dyad"}, {"version", "1.0"}, {"name", "fuzz_graph"},
                  {"inputs", {"x"}}, {"outputs", {all.back().name}},
                  {"tensors", tensors_}, {"nodes", nodes_}};
    return model.dump();
  }

 private:
  FuzzedDataProvider& fdp_;
  json tensors_ = json::array();
  json nodes_ = json::array();
  int counter_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const int threads = fdp.ConsumeBool() ? 2 : 1;
  const std::string json_text = GraphBuilder(fdp).build();
  const std::string input_bytes = fdp.ConsumeRemainingBytesAsString();
  if (std::getenv("DYAD_FUZZ_PRINT_GRAPH") != nullptr) std::fprintf(stderr, "%s\n", json_text.c_str());
  dyad::fuzz::RunOptions options;
  options.num_threads = threads;
  options.input_bytes = input_bytes;
  dyad::fuzz::load_and_run(json_text, "", options);
  return 0;
}
