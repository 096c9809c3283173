"""Sensitivity producers for `dyad mpq solve` (docs/mpq.md).

- hutchinson_traces: Tr(H_ii) / n_i per layer, with Rademacher vectors over all
  weights at once: one Hessian-vector product gives every layer's estimate
  v_i . (Hv)_i (cross terms vanish in expectation). Stops when the total's
  running mean moves by less than `tol` (relative), or after `max_iter`.
  Records the standard error of each layer's mean.
- weight_quant_error: ||Q_b(W) - W||^2 (a sum) with the exporter's quantizer
  (models/dyad_export/qgraph.py: symmetric, per output channel).
- delta_loss: the forward-only alternative: the loss change when only one
  layer's weights are quantized to b bits.
- candidates_document: the dyad-mpq-candidates/1 file, with size = ceil(n b/8)
  bytes and bops = MACs * w_bits * a_bits (a_bits = w_bits unless the layer's
  input width is fixed).
"""
import math

import torch
from torch import nn

from models.dyad_export.qgraph import quantize_weight

SCHEMA = "dyad-mpq-candidates/1"


def _convbn_parents(model):
    """{id(conv): (parent path, bn)} for every ConvBN-like module (.conv Conv2d, .bn
    BatchNorm2d; models/dyad_export/blocks.py), which the exporter lowers as one layer."""
    out = {}
    for pname, pm in model.named_modules():
        conv, bn = getattr(pm, "conv", None), getattr(pm, "bn", None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            out[id(conv)] = (pname, bn)
    return out


def weighted_layers(model):
    """[(name, module)] of the Conv2d and Linear layers, in module order.

    The name is the layer's name in the exported dyad model (models/dyad_export
    qgraph.lower / vit.ViTGraph): the module path, except that a ConvBN's conv is
    named by the ConvBN ("blocks.0.conv1", not "blocks.0.conv1.conv"), since the
    exporter folds the pair into one conv2d node of that name. `dyad mpq solve`
    passes the names through, and the exporter's `--bits mpq:RESULT.json` reads them.
    """
    parents = _convbn_parents(model)
    return [((parents[id(m)][0] or n) if id(m) in parents else n, m) for n, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))]


def hutchinson_traces(model, loss_fn, batches, layers, max_iter=100, tol=1e-3, seed=0,
                      min_iter=5):
    """{name: (average trace, standard error, iterations)} for `layers` [(name, module)].

    loss_fn(model, batch) -> scalar loss; the Hessian is that of the summed loss
    over `batches` (a list), divided by the number of batches.
    """
    params = [m.weight for _, m in layers]
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    grads_per_batch = []
    for batch in batches:
        loss = loss_fn(model, batch)
        grads_per_batch.append(torch.autograd.grad(loss, params, create_graph=True))
    samples = [[] for _ in layers]
    prev_total = None
    it = 0
    for it in range(1, max_iter + 1):
        vs = [torch.randint(0, 2, p.shape, generator=gen, dtype=torch.int64).to(p.dtype) * 2 - 1
              for p in params]
        hv = [torch.zeros_like(p) for p in params]
        for grads in grads_per_batch:
            parts = torch.autograd.grad(grads, params, grad_outputs=vs, retain_graph=True)
            for acc, part in zip(hv, parts):
                acc += part.detach()
        for i, (v, h, p) in enumerate(zip(vs, hv, params)):
            samples[i].append(float((v * h).sum()) / len(grads_per_batch) / p.numel())
        total = sum(sum(s) / len(s) for s in samples)
        if prev_total is not None and it >= min_iter and \
                abs(total - prev_total) / (abs(prev_total) + 1e-6) < tol:
            break
        prev_total = total
    model.train(was_training)
    out = {}
    for (name, _), s in zip(layers, samples):
        mean = sum(s) / len(s)
        var = sum((x - mean) ** 2 for x in s) / max(1, len(s) - 1)
        out[name] = (mean, math.sqrt(var / len(s)), it)
    return out


def weight_quant_error(weight, bits):
    """||Q_b(W) - W||^2 with the exporter's per-output-channel symmetric quantizer."""
    w = weight.detach().to(torch.float32)
    q, s = quantize_weight(w, bits, ste=False)
    deq = q * s.view((-1,) + (1,) * (w.ndim - 1))
    return float(((deq - w) ** 2).sum())


@torch.no_grad()
def delta_loss(model, loss_fn, batches, module, bits):
    """Mean loss with only `module`'s weights quantized to `bits`, minus the float loss."""
    def mean_loss():
        return sum(float(loss_fn(model, b)) for b in batches) / len(batches)
    was_training = model.training
    model.eval()
    base = mean_loss()
    saved = module.weight.detach().clone()
    q, s = quantize_weight(saved, bits, ste=False)
    module.weight.copy_(q * s.view((-1,) + (1,) * (saved.ndim - 1)))
    try:
        changed = mean_loss()
    finally:
        module.weight.copy_(saved)
        model.train(was_training)
    return changed - base


@torch.no_grad()
def layer_macs(model, layers, example, reads_input=None):
    """{name: MACs for one example} by forward hooks: C_out H_out W_out C_in k_h k_w / groups.

    reads_input: if a set is given, the names of the layers whose input is the
    model's input itself (their activation width is the input's) are added to it.
    """
    macs = {}
    hooks = []
    example = example.unsqueeze(0)
    for name, m in layers:
        def hook(mod, inp, out, name=name):
            if reads_input is not None and inp[0] is example:
                reads_input.add(name)
            if isinstance(mod, nn.Conv2d):
                kh, kw = mod.kernel_size
                per_out = mod.in_channels // mod.groups * kh * kw
                macs[name] = out[0].numel() * per_out
            else:
                macs[name] = out[0].numel() * mod.in_features
        hooks.append(m.register_forward_hook(hook))
    try:
        model.eval()
        model(example)
    finally:
        for h in hooks:
            h.remove()
    return macs


def candidates_document(layers, macs, sensitivity, bits=(4, 8), model="", fixed=None,
                        ties=(), provenance=None, a_bits=None):
    """The dyad-mpq-candidates/1 dict.

    sensitivity(name, w_bits) -> float >= 0; layers [(name, module)]; macs {name: int}.
    Each layer gets one candidate per weight width b in `bits`, id "w{b}a{a}": the
    input activation width a is b (HAWQ-V3's tie), or a_bits(name) when that gives
    a fixed width (a layer reading the 8-bit image, a ViT's int8 activations).
    """
    out_layers = []
    for name, m in layers:
        n = m.weight.numel()
        cands = []
        for b in bits:
            a = (a_bits(name) if a_bits else None) or b
            s = float(sensitivity(name, b))
            if not math.isfinite(s):
                raise ValueError(f"layer {name}: sensitivity at {b} bits is {s}")
            cands.append({"id": f"w{b}a{a}", "w_bits": b, "a_bits": a,
                          "sensitivity": max(0.0, s),
                          "size": (n * b + 7) // 8, "bops": int(macs[name]) * b * a})
        out_layers.append({"name": name, "macs": int(macs[name]), "params": n,
                           "candidates": cands})
    doc = {"schema": SCHEMA, "model": model,
           "cost_units": {"size": "bytes", "bops": "MAC*w_bits*a_bits"},
           "fixed": fixed or {"size": 0, "bops": 0},
           "layers": out_layers,
           "ties": [{"attr": "a_bits", "layers": list(t)} for t in ties],
           "pins": {}}
    if provenance:
        doc["provenance"] = provenance
    return doc


@torch.no_grad()
def folded_weights(model, layers):
    """{name: weight} with BatchNorm folded as the exporter does for a ConvBN
    (models/dyad_export/blocks.py: a module with .conv and .bn): the weights
    that are actually quantized. Other layers keep their weight."""
    parents = _convbn_parents(model)
    out = {}
    for name, m in layers:
        w = m.weight.detach().to(torch.float32)
        if id(m) in parents:
            bn = parents[id(m)][1]
            g = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
            w = w * g.view((-1,) + (1,) * (w.ndim - 1))
        out[name] = w
    return out


def hawq_omega(traces, weights, floor=1e-12):
    """sensitivity(name, b) = max(trace, floor) * ||Q_b(W) - W||^2 (HAWQ-V3's Omega).

    weights: {name: tensor} (folded_weights). Finite-batch Hessians are
    indefinite: a negative trace estimate is clamped to `floor`.
    """
    cache = {}

    def sens(name, b):
        if (name, b) not in cache:
            cache[(name, b)] = max(traces[name][0], floor) * weight_quant_error(weights[name], b)
        return cache[(name, b)]
    return sens
