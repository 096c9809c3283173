#include "engine/mpq_latency/layer_attribution.h"

#include <cstdio>
#include <map>

namespace dyad::mpq_latency {

namespace {

int activation_bits(DType t) {
  switch (t) {
    case DType::kInt4:
    case DType::kUint4: return 4;
    case DType::kInt8:
    case DType::kUint8: return 8;
    case DType::kInt16: return 16;
    case DType::kInt32: return 32;
    case DType::kInt64: return 64;
  }
  return 0;
}

bool is_quantizable(const Graph& g, const Step& s) {
  if (s.op != OpType::kConv2d && s.op != OpType::kFullyConnected) return false;
  if (s.inputs.size() < 2 || s.inputs[0] < 0 || s.inputs[1] < 0) return false;
  return g.tensors[static_cast<size_t>(s.inputs[1])].is_constant;
}

}  // namespace

std::string choice_id(int w_bits, int a_bits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "w%da%d", w_bits, a_bits);
  return buf;
}

int Attribution::find(const std::string& name) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == name) return static_cast<int>(i);
  return -1;
}

Attribution attribute_steps(const Graph& graph, const Plan& plan) {
  Attribution a;
  a.step_owners.resize(plan.steps.size());
  std::map<int, std::vector<size_t>> readers;  // tensor -> layers reading it as their input
  for (size_t k = 0; k < plan.steps.size(); ++k) {
    const Step& s = plan.steps[k];
    if (!is_quantizable(graph, s)) continue;
    const TensorDesc& x = graph.tensors[static_cast<size_t>(s.inputs[0])];
    const TensorDesc& w = graph.tensors[static_cast<size_t>(s.inputs[1])];
    LayerPrecision l;
    l.name = s.node_name;
    l.w_bits = dtype_is_4bit(w.dtype) ? 4 : 8;
    l.a_bits = activation_bits(x.dtype);
    l.step = k;
    l.macs = s.macs;
    readers[s.inputs[0]].push_back(a.layers.size());
    a.step_owners[k].push_back(a.layers.size());
    a.layers.push_back(std::move(l));
  }
  for (size_t k = 0; k < plan.steps.size(); ++k) {
    const Step& s = plan.steps[k];
    if (s.op != OpType::kRequantize || s.inputs.empty() || s.inputs[0] < 0 || s.outputs.empty()) continue;
    const DType in = graph.tensors[static_cast<size_t>(s.inputs[0])].dtype;
    const DType out = graph.tensors[static_cast<size_t>(s.outputs[0])].dtype;
    // Only a change of width between narrow activations: the quantization of a
    // wide intermediate (int32, int64) is there at every precision.
    if (!dtype_is_narrow(in) || !dtype_is_narrow(out)) continue;
    const auto it = readers.find(s.outputs[0]);
    if (it != readers.end()) a.step_owners[k] = it->second;
  }
  return a;
}

}  // namespace dyad::mpq_latency
