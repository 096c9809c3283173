"""Float activations of a ViTGraph, named and laid out as the exported model's tensors.

The per-layer report (compare.py) needs, for each integer tensor of an exported
ViT, the float value the same place of the float forward computes. ViTGraph does
not keep its intermediates, so one "observe" pass (float arithmetic, identical to
"float") runs with two temporary, instance-level hooks:
- every QPoint's Observer is swapped for a recorder: a QPoint observes exactly the
  float value it would quantize (q, k, v, ctx, residual sums, LayerNorm and GELU
  outputs, tokens, logits);
- every QLinear's `acc` is wrapped to keep its output (the int32 accumulators
  patch_embed.acc, proj.acc, fc1.acc, fc2.acc).
Both are undone afterwards, so the graph (and its calibrated scales) is untouched.

The rest follows from vit_export.py's names: int_layernorm / int_gelu outputs
(*.int) carry the float LayerNorm / GELU value the next QPoint quantizes;
tokens.patches holds the patch rows of tokens; the attention scores and
probabilities are recomputed from the recorded q and k as in
ViTGraph.encoder_layer, and checked against the recorded context (probs @ v) so
that a change of the forward cannot go unnoticed.
"""
import torch

# exported tensor suffix -> the QPoint whose float value it holds
SAME_VALUE = {"ln1.int": "ln1", "gelu.int": "gelu", "ln2.int": "out", "ctx.heads": "ctx"}


class _Recorder:
    """Stands in for a QPoint's Observer: keeps the last observed value."""

    def __init__(self, store, name):
        self.store, self.name = store, name

    def observe(self, x, signed):
        self.store[self.name] = x.detach()


def _record(graph, x):
    """{point name or QLinear path + '.acc': float torch tensor} of one float pass."""
    store = {}
    points = list(graph.points.values())
    gemms = [graph.patch, graph.head] + [q for _, lin, _ in graph.layers for q in lin.values()]
    saved = [p.observer for p in points]

    def keep(ql):
        inner = ql.acc

        def acc(*args):
            y = inner(*args)
            store[ql.path + ".acc"] = y.detach()
            return y
        return acc

    try:
        for p in points:
            p.observer = _Recorder(store, p.name)
        for ql in gemms:
            ql.acc = keep(ql)                   # an instance attribute shadows the method
        with torch.no_grad():
            graph.forward(x, "observe")
    finally:
        for p, o in zip(points, saved):
            p.observer = o
        for ql in gemms:
            ql.__dict__.pop("acc", None)
    return store


def _heads(v, h):
    n, t, d = v.shape
    return v.view(n, t, h, d // h).transpose(1, 2)


def float_activations(graph, x):
    """x: float NCHW batch (pixel / 255). Returns {exported tensor name: float64 array}
    in the exported layout (NHWC maps, [N, heads, T, head dim] attention tensors)."""
    rec = _record(graph, x)
    out = {"image": x.permute(0, 2, 3, 1), "tokens": rec["tokens"],
           "logits": rec["logits"], "patch_embed.acc": rec["patch_embed.acc"].permute(0, 2, 3, 1)}
    n, gh, gw, d = out["patch_embed.acc"].shape
    out["tokens.patches"] = rec["tokens"][:, 1:].reshape(n, gh, gw, d)
    for i, (layer, _, _) in enumerate(graph.layers):
        pre = f"layers.{i}."
        for k in ("q", "k", "v", "res1", "ln1", "gelu", "res2", "out"):
            out[pre + k] = rec[pre + k]
        for k in ("proj", "fc1", "fc2"):
            out[pre + k + ".acc"] = rec[pre + k + ".acc"]
        for suffix, point in SAME_VALUE.items():
            out[pre + suffix] = rec[pre + point]
        h = layer.heads
        q, k, v = (_heads(rec[pre + c], h) for c in "qkv")
        scores = q @ k.transpose(-1, -2) / (d // h) ** 0.5
        probs = torch.softmax(scores, dim=-1)
        if not torch.allclose(probs @ v, rec[pre + "ctx"], rtol=1e-4, atol=1e-5):
            raise RuntimeError(f"{pre}probs: softmax(q k^T / sqrt(head dim)) @ v differs "
                               "from the recorded context; ViTGraph's attention changed")
        out[pre + "scores"], out[pre + "probs"] = scores, probs
    return {name: v.double().numpy() for name, v in out.items()}
