"""Per-layer comparison: float activations vs the simulated integer model's.

For each activation tensor of the exported model, the integer values from the
simulator are dequantized with the model's scales and zero points and compared
with the float model's values at the same place:
- rel.err: relative RMS error, sqrt(sum (deq - f)^2 / sum f^2);
- added: rel.err minus the largest rel.err of the layer's inputs, i.e. roughly
  the error this layer adds (the report names the layers that add the most);
- cosine: cosine similarity of deq and f;
- max|err|: the largest |deq - f|, in real units.
For a QGraph (ResNets) the fake-quant graph also predicts the integers, and
`fakeq=int` is the fraction it gets exactly (it differs from the exact integers
only by float rounding near ties); the ViT has no such column.

The float values come from qgraph.QGraph.forward(record=) for the ResNets and
from vit_activations.py for a ViTGraph. Outputs of reshape / transpose repeat
their input's values and are left out.
"""
import numpy as np
import torch

from . import vit, vit_activations

LAYOUT_OPS = ("reshape", "transpose")


def _nhwc(v):
    v = v.detach().numpy().astype(np.float64)
    return v.transpose(0, 2, 3, 1) if v.ndim == 4 else v


def _to_tensor(x):
    return torch.from_numpy(np.ascontiguousarray(x)).float().div(255.0).unsqueeze(1)


def _qgraph_source(graph):
    """For a QGraph: batch -> (float values, fake-quant integers) by tensor name."""
    def source(x):
        fl, fk = {}, {}
        with torch.no_grad():
            graph.forward(_to_tensor(x), "float", fl)
            graph.forward(_to_tensor(x), "fake", fk)
        fakes = {}
        for n, t in graph.tensors.items():
            if n not in fk:
                continue
            r = t.root()
            scale = r.acc_scale.numpy().astype(np.float64) if r.kind == "acc" else t.scale
            fakes[n] = np.round(_nhwc(fk[n]) / scale)
        return {n: _nhwc(v) for n, v in fl.items()}, fakes
    return source


def _vit_source(graph):
    def source(x):
        return vit_activations.float_activations(graph, _to_tensor(x)), {}
    return source


def reported_tensors(sim_model):
    """Activation tensors of the model that are not layout copies, in model order."""
    layout = {o for n in sim_model.doc["nodes"] if n["op"] in LAYOUT_OPS for o in n["outputs"]}
    return [t["name"] for t in sim_model.doc["tensors"]
            if "data" not in t and "values" not in t and t["name"] not in layout]


def _reported_inputs(sim_model, names):
    """{tensor: the reported tensors it is computed from}, looking through layout
    copies and unreported tensors; constants are not inputs."""
    producer = {o: n for n in sim_model.doc["nodes"] for o in n["outputs"]}
    wanted = set(names)
    result = {}
    for name in names:
        found, stack = set(), list(producer[name]["inputs"]) if name in producer else []
        while stack:
            t = stack.pop()
            if not t or t in sim_model.consts:
                continue
            if t in wanted:
                found.add(t)
            elif t in producer:
                stack.extend(producer[t]["inputs"])
        result[name] = sorted(found)
    return result


class _Stats:
    """Running sums of one tensor's comparison over the batches."""

    def __init__(self):
        self.dot = self.ff = self.qq = self.dd = self.max_abs = 0.0
        self.same = self.count = 0

    def add(self, deq, f):
        self.dot += float((deq * f).sum())
        self.ff += float((f * f).sum())
        self.qq += float((deq * deq).sum())
        self.dd += float(((deq - f) ** 2).sum())
        if deq.size:
            self.max_abs = max(self.max_abs, float(np.abs(deq - f).max()))

    def agree(self, q, fake_int):
        self.same += int((fake_int == q).sum())
        self.count += q.size

    def row(self):
        return {"rel_err": np.sqrt(self.dd / max(self.ff, 1e-30)),
                "cosine": self.dot / max(np.sqrt(self.ff * self.qq), 1e-30),
                "max_abs_err": self.max_abs,
                "fake_quant_agree": self.same / self.count if self.count else None}


def layer_report(graph, sim_model, images, batch=500):
    """graph: the model's QGraph or ViTGraph (float weights); sim_model: its exported
    simulator.Model; images: uint8 [N, 28, 28]. Returns a list of dict rows in model
    tensor order: tensor, dtype, rel_err, added_err, cosine, max_abs_err,
    fake_quant_agree (None for a ViT), inputs."""
    source = _vit_source(graph) if isinstance(graph, vit.ViTGraph) else _qgraph_source(graph)
    names = reported_tensors(sim_model)
    stats = {n: _Stats() for n in names}
    for i in range(0, len(images), batch):
        x = images[i:i + batch]
        floats, fakes = source(x)
        ints = sim_model.run({sim_model.inputs[0]: x[:, :, :, None]}, keep_all=True)
        for n in names:
            if n not in floats:
                raise KeyError(f"tensor {n!r} of {sim_model.path} has no float counterpart")
            deq = sim_model.dequantize(n, ints[n])
            stats[n].add(deq, floats[n].reshape(deq.shape))
            if n in fakes:
                stats[n].agree(ints[n], fakes[n].reshape(deq.shape))
    rows = {n: {"tensor": n, "dtype": sim_model.tensors[n]["dtype"], **stats[n].row()}
            for n in names}
    for n, inputs in _reported_inputs(sim_model, names).items():
        rows[n]["inputs"] = inputs
        rows[n]["added_err"] = rows[n]["rel_err"] - max(
            [rows[i]["rel_err"] for i in inputs], default=0.0)
    return [rows[n] for n in names]


def worst_layers(rows, count=3):
    """The `count` rows that add the most relative error, largest first."""
    return sorted(rows, key=lambda r: -r["added_err"])[:count]


def format_report(rows, title):
    out = [title, f"{'tensor':30s} {'dtype':6s} {'rel.err':>8s} {'added':>8s} {'cosine':>8s} "
           f"{'max|err|':>9s} {'fakeq=int':>9s}"]
    for r in rows:
        agree = r["fake_quant_agree"]
        agree = "-" if agree is None else f"{100 * agree:.2f}%"
        out.append(f"{r['tensor']:30s} {r['dtype']:6s} {r['rel_err']:8.4f} "
                   f"{r['added_err']:+8.4f} {r['cosine']:8.5f} {r['max_abs_err']:9.4g} "
                   f"{agree:>9s}")
    worst = ", ".join(f"{r['tensor']} ({r['added_err']:+.4f})" for r in worst_layers(rows))
    out.append(f"adds the most relative error: {worst}")
    return "\n".join(out)
