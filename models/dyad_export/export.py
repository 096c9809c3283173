"""QGraph -> dyad model (JSON + .bin), with integer weights, biases and dyadic constants."""
import os
import shutil
import tempfile

import numpy as np
import torch

from . import dyadic, qgraph
from .activation import attrs_of
from .errors import ExportError
from .writer import ModelWriter


def _int_or_list(values):
    values = list(values)
    return values[0] if len(values) == 1 else values


def _scale_of(t):
    """Scale of a tensor as written in the model: a float, or a per-channel list."""
    r = t.root()
    if r.kind == "acc":
        return [float(v) for v in r.acc_scale.numpy().astype(np.float64)]
    return t.scale


def _activation_desc(w, t):
    r = t.root()
    if r.kind == "acc":
        s = _scale_of(t)
        if len(s) == 1:         # a matmul accumulator: one scale
            w.add_activation(t.name, "int32", t.shape, scale=s[0], zero_point=0)
            return
        w.add_activation(t.name, "int32", t.shape, scale=s, zero_point=0,
                         axis=len(t.shape) - 1)
    else:
        w.add_activation(t.name, t.dtype, t.shape, scale=t.scale, zero_point=0)


def _pad4(p):
    return [int(p[0]), int(p[1]), int(p[0]), int(p[1])]


def _gemm(w, node):
    x, y = node.inputs[0], node.output
    with torch.no_grad():
        w_int, s_w, b_int, bias_scale = node.quantized(ste=False)
    y.acc_scale = bias_scale
    w_int = w_int.to(torch.int64)
    if node.op == "conv2d":
        w_int = w_int.permute(0, 2, 3, 1)            # OIHW -> OHWI
    lo, hi = x.qrange()
    worst = int((b_int.abs() + max(hi, -lo) * w_int.abs().reshape(w_int.shape[0], -1).sum(1))
                .max())
    if worst > (1 << 31) - 1:       # docs/format.md: the loader proves acc fits int32
        raise ExportError(node.path, f"the int32 accumulator can reach {worst} > 2^31 - 1 "
                          "(bias too large for its scale, or too many inputs)")
    wdt = {8: "int8", 4: "int4"}[node.w_bits]
    s_w = s_w.numpy().astype(np.float64)
    w.add_constant(node.path + ".w", wdt, w_int.numpy(), scale=[float(v) for v in s_w], axis=0)
    w.add_constant(node.path + ".b", "int32", b_int.to(torch.int64).numpy(),
                   scale=[float(v) for v in bias_scale.numpy().astype(np.float64)], axis=0)
    attrs = {}
    if node.op == "conv2d":
        m = node.module
        attrs["stride"] = list(m.stride)
        attrs["padding"] = _pad4(m.padding)
        if tuple(m.dilation) != (1, 1):
            attrs["dilation"] = list(m.dilation)
        if m.groups != 1:
            attrs["groups"] = m.groups
    _activation_desc(w, y)
    if y.kind != "acc":
        attrs.update(attrs_of(node.act, y))
        ratios = dyadic.hawq_gemm_ratio(x.scale, s_w, y.scale)
        ms, es = dyadic.dyadic_lists(ratios, node.path)
        attrs["multiplier"], attrs["shift"] = ms, es
    elif node.act is not None:
        raise ExportError(node.path, "an activation cannot be fused into an int32 "
                          "accumulator output")
    w.add_node(node.name, node.op, [x.name, node.path + ".w", node.path + ".b"], [y.name], attrs)


def _nhwc_axis(dim, rank):
    """The dyad axis of torch dim `dim`: 4-d maps are NCHW in torch, NHWC in dyad."""
    dim %= rank
    return [0, 3, 1, 2][dim] if rank == 4 else dim


def _pool_padding(node):
    """[top, left, bottom, right]: with ceil_mode, the bottom / right padding grows to
    cover torch's last partial window (the output shape says how many windows)."""
    pad = _pad4(node.padding)
    _, h, w, _ = node.inputs[0].shape
    _, oh, ow, _ = node.output.shape
    for i, (size, out) in enumerate(((h, oh), (w, ow))):
        need = (out - 1) * node.stride[i] + node.kernel[i] - size - pad[i]
        pad[2 + i] = max(pad[2 + i], need)
    return pad


def _branch(t, s_y, where):
    s_in = _scale_of(t)
    ms, es = dyadic.dyadic_lists(dyadic.requant_ratio(s_in, s_y), where)
    return _int_or_list(ms), _int_or_list(es)


def export(graph, json_path, name, metadata=None):
    """Writes the calibrated QGraph as <json_path> and its .bin. Returns the JSON document."""
    w = ModelWriter(name, metadata)
    w.inputs = [graph.input.name]
    w.outputs = [graph.output.name]
    _activation_desc(w, graph.input)
    for node in graph.nodes:
        y = node.output
        if isinstance(node, qgraph.GemmNode):
            _gemm(w, node)
            continue
        if hasattr(node, "export"):        # qgraph_transformer's nodes write themselves
            node.export(w, lambda t: _activation_desc(w, t))
            continue
        _activation_desc(w, y)
        if isinstance(node, qgraph.AddNode):
            a, b = node.inputs
            am, ae = _branch(a, y.scale, node.path + " (a)")
            bm, be = _branch(b, y.scale, node.path + " (b)")
            attrs = {"a_multiplier": am, "a_shift": ae, "b_multiplier": bm, "b_shift": be,
                     **attrs_of(node.act, y)}
        elif isinstance(node, qgraph.RequantNode):
            m, e = _branch(node.inputs[0], y.scale, node.path)
            attrs = {"multiplier": m, "shift": e, **attrs_of(node.act, y)}
        elif isinstance(node, qgraph.ConcatNode):
            attrs = {"axis": _nhwc_axis(node.dim, len(y.shape))}
        elif isinstance(node, qgraph.PoolNode):
            attrs = {"kernel": list(node.kernel), "stride": list(node.stride),
                     "padding": _pool_padding(node)}
        elif isinstance(node, qgraph.GlobalAvgPoolNode):
            attrs = {}
        elif isinstance(node, qgraph.ToNCHWNode):
            attrs = {"perm": node.perm}
        elif isinstance(node, qgraph.ReshapeNode):
            attrs = {"shape": [-1] + list(y.shape[1:])}
        else:
            raise ExportError(node.path, f"internal error: no export for {type(node).__name__}")
        w.add_node(node.name, node.op, [t.name for t in node.inputs], [y.name], attrs)
    return w.write(json_path)


def export_file(graph, json_path, name, metadata=None):
    """export() into a temporary folder beside json_path, then renames the .bin and the
    JSON into place: an error while writing leaves no new or partial file behind."""
    out_dir = os.path.dirname(os.path.abspath(json_path))
    tmp = tempfile.mkdtemp(prefix=".dyad-export-", dir=out_dir)
    try:
        tmp_json = os.path.join(tmp, os.path.basename(json_path))
        doc = export(graph, tmp_json, name, metadata)
        if "weights" in doc:
            bin_name = doc["weights"]["file"]
            os.replace(os.path.join(tmp, bin_name), os.path.join(out_dir, bin_name))
        os.replace(tmp_json, json_path)
        return doc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
