"""INT8 ONNX models for the ONNX Runtime peer, written the way ONNX Runtime's own
quantization tool writes them (that tool is a pip package this machine cannot
reach, so this is our own small version of its two standard recipes):

* dynamic (transformers; ORT's `quantize_dynamic`): every MatMul with a constant
  weight becomes DynamicQuantizeLinear(A) -> MatMulInteger(A_u8, W_s8) -> Cast ->
  Mul(scale_a * scale_w); weights int8 symmetric per tensor. ONNX Runtime fuses
  this into its MatMulIntegerToFloat kernel.
* qdq (CNNs; ORT's `quantize_static`, QDQ format, U8S8): every float activation
  gets QuantizeLinear -> DequantizeLinear with its calibrated range (uint8,
  asymmetric); Conv and Gemm weights are int8 symmetric per output channel,
  biases int32 at scale_x * scale_w. A Relu or Clip right after a Conv, Gemm or
  Add is removed and its range (which starts at 0) quantizes the producer's
  output instead, as ORT's tool does. ONNX Runtime turns the groups into
  QLinearConv, QLinearAdd, QGemm and friends.

    python3 -m bench.peers.quantize_onnx dynamic IN.onnx --out OUT.onnx
    python3 -m bench.peers.quantize_onnx calib-model IN.onnx --out CALIB.onnx
    node bench/peers/ort_run.mjs --model CALIB.onnx --ranges RANGES.json ...
    python3 -m bench.peers.quantize_onnx qdq IN.onnx --ranges RANGES.json --out OUT.onnx
"""
import argparse
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REMOVABLE_ACTIVATIONS = {"Relu", "Clip"}
ACTIVATION_PRODUCERS = {"Conv", "Gemm", "Add"}


def initializers(graph):
    return {t.name: t for t in graph.initializer}


def inline_identities(graph):
    """Drop Identity nodes (torch's constant folding emits them for shared
    initializers): their consumers read the source tensor directly."""
    rename = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
    keep = [n for n in graph.node if n.op_type != "Identity"]
    for node in keep:
        for i, name in enumerate(node.input):
            while name in rename:
                name = rename[name]
            node.input[i] = name
    for out in graph.output:
        while out.name in rename:
            out.name = rename[out.name]
    del graph.node[:]
    graph.node.extend(keep)


def consumers(graph):
    users = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    return users


def add_initializer(graph, name, array):
    graph.initializer.append(numpy_helper.from_array(array, name))
    return name


def quantize_dynamic(model):
    graph = model.graph
    inline_identities(graph)
    inits = initializers(graph)
    nodes, quantized_inputs = [], {}
    for node in graph.node:
        weight = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight).astype(np.float32)
        scale_w = max(float(np.abs(w).max()), 1e-8) / 127.0
        base = node.name or node.output[0]
        wq = add_initializer(graph, base + "_w_s8", np.clip(np.rint(w / scale_w), -127, 127).astype(np.int8))
        wzp = add_initializer(graph, base + "_w_zp", np.array(0, dtype=np.int8))
        ws = add_initializer(graph, base + "_w_scale", np.array(scale_w, dtype=np.float32))
        a = node.input[0]
        if a not in quantized_inputs:  # q, k and v share one quantized input
            outs = [a + "_u8", a + "_scale", a + "_zp"]
            nodes.append(helper.make_node("DynamicQuantizeLinear", [a], outs, name=a + "_quant"))
            quantized_inputs[a] = outs
        aq, ascale, azp = quantized_inputs[a]
        nodes += [
            helper.make_node("MatMulInteger", [aq, wq, azp, wzp], [base + "_s32"], name=base + "_int"),
            helper.make_node("Cast", [base + "_s32"], [base + "_f32"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [ascale, ws], [base + "_scale"]),
            helper.make_node("Mul", [base + "_f32", base + "_scale"], [node.output[0]], name=base),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    drop_unused_initializers(graph)
    return model


def calibration_model(model):
    """A copy whose graph outputs are every float node output (ort_run.mjs
    --ranges records their min and max)."""
    inline_identities(model.graph)
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name for v in inferred.graph.output}
    for info in inferred.graph.value_info:
        if info.type.tensor_type.elem_type == TensorProto.FLOAT and info.name not in known:
            inferred.graph.output.append(info)
    return inferred


def remove_activations(graph, ranges):
    """Remove a Relu/Clip whose input comes from a Conv/Gemm/Add used only by
    it; the producer then writes the activation's output tensor."""
    producer = {o: n for n in graph.node for o in n.output}
    users = consumers(graph)
    drop = set()
    for node in graph.node:
        if node.op_type not in REMOVABLE_ACTIVATIONS:
            continue
        src = producer.get(node.input[0])
        if src is None or src.op_type not in ACTIVATION_PRODUCERS or len(users[node.input[0]]) != 1:
            continue
        if node.output[0] not in ranges or ranges[node.output[0]][0] < 0:
            continue
        src.output[0] = node.output[0]
        drop.add(id(node))
    kept = [n for n in graph.node if id(n) not in drop]
    del graph.node[:]
    graph.node.extend(kept)


def activation_qparams(lo, hi):
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = max((hi - lo) / 255.0, 1e-8)
    return np.float32(scale), np.uint8(np.clip(np.rint(-lo / scale), 0, 255))


def quantize_qdq(model, ranges):
    graph = model.graph
    inline_identities(graph)
    remove_activations(graph, ranges)
    inits = initializers(graph)
    users = consumers(graph)
    new_nodes, act_scale = [], {}

    def qdq_activation(name):
        """Insert Q -> DQ after activation `name`; consumers read the DQ output."""
        scale, zp = activation_qparams(*ranges[name])
        act_scale[name] = scale
        s = add_initializer(graph, name + "_scale", np.array(scale))
        z = add_initializer(graph, name + "_zp", np.array(zp))
        new_nodes.append(helper.make_node("QuantizeLinear", [name, s, z], [name + "_q"]))
        new_nodes.append(helper.make_node("DequantizeLinear", [name + "_q", s, z], [name + "_dq"]))
        for user in users.get(name, []):
            for i, inp in enumerate(user.input):
                if inp == name:
                    user.input[i] = name + "_dq"

    activations = [i.name for i in graph.input if i.name not in inits]
    activations += [o for n in graph.node if n.op_type != "Constant" for o in n.output]
    for name in activations:
        if name in ranges and name in users:  # consumed tensors only (a Clip's bounds are gone)
            qdq_activation(name)
    for node in graph.node:
        if node.op_type in ("Conv", "Gemm") and node.input[1] in inits:
            quantize_weights(graph, node, inits, act_scale, new_nodes)
    graph.node.extend(new_nodes)
    model = topological(model)
    onnx.checker.check_model(model)
    return model


def quantize_weights(graph, node, inits, act_scale, new_nodes):
    w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
    trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
    if node.op_type == "Gemm" and not trans_b:
        raise SystemExit(f"quantize_onnx: Gemm {node.name} without transB is not supported")
    flat = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    scale_w = (np.maximum(flat, 1e-8) / 127.0).astype(np.float32)
    shape = (-1,) + (1,) * (w.ndim - 1)
    wq = np.clip(np.rint(w / scale_w.reshape(shape)), -127, 127).astype(np.int8)
    base = node.name or node.output[0]
    names = [add_initializer(graph, base + "_w_s8", wq), add_initializer(graph, base + "_w_scale", scale_w),
             add_initializer(graph, base + "_w_zp", np.zeros(len(scale_w), dtype=np.int8))]
    new_nodes.append(helper.make_node("DequantizeLinear", names, [base + "_w"], axis=0))
    node.input[1] = base + "_w"
    if len(node.input) > 2 and node.input[2] in inits:
        x = node.input[0][:-len("_dq")] if node.input[0].endswith("_dq") else None
        if x not in act_scale:
            raise SystemExit(f"quantize_onnx: input of {base} has no calibrated range")
        b = numpy_helper.to_array(inits[node.input[2]]).astype(np.float64)
        scale_b = (act_scale[x] * scale_w).astype(np.float32)
        bq = np.rint(b / scale_b).astype(np.int32)
        names = [add_initializer(graph, base + "_b_s32", bq), add_initializer(graph, base + "_b_scale", scale_b),
                 add_initializer(graph, base + "_b_zp", np.zeros(len(scale_b), dtype=np.int32))]
        new_nodes.append(helper.make_node("DequantizeLinear", names, [base + "_b"], axis=0))
        node.input[2] = base + "_b"


def drop_unused_initializers(graph):
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def topological(model):
    """Nodes in an order where every input is produced first (ONNX requires it)."""
    graph = model.graph
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        progress = [n for n in pending if all(i in ready for i in n.input)]
        if not progress:
            raise SystemExit("quantize_onnx: the graph has a cycle or a missing tensor")
        for n in progress:
            ready.update(n.output)
        ordered += progress
        done = {id(n) for n in progress}
        pending = [n for n in pending if id(n) not in done]
    del graph.node[:]
    graph.node.extend(ordered)
    drop_unused_initializers(graph)
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["dynamic", "calib-model", "qdq"])
    ap.add_argument("model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--ranges", help="qdq: JSON {tensor: [min, max]} from ort_run.mjs --ranges")
    args = ap.parse_args(argv)
    model = onnx.load(args.model)
    if args.mode == "dynamic":
        model = quantize_dynamic(model)
    elif args.mode == "calib-model":
        model = calibration_model(model)
    else:
        if not args.ranges:
            ap.error("qdq needs --ranges")
        with open(args.ranges) as f:
            model = quantize_qdq(model, json.load(f))
    onnx.save(model, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
