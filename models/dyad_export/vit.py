"""Lowering of a ViT (models/fmnist/nets.py: ViT) to dyad's integer ops.

The ViT is not a Sequential, so it does not go through qgraph.lower(): its
structure is checked module by module (an unsupported module raises ExportError
naming it), and ViTGraph reimplements its forward pass with a quantization point
at every tensor the integer model stores. As qgraph.QGraph, one object serves
for float execution (checked against the torch model after lowering),
calibration ("observe"), fake quantization with straight-through estimators
("fake", "qat") and export (vit_export.py). docs/models.md describes the graph.

Quantization (I-BERT / HAWQ-V3 conventions, as qgraph):
- weights symmetric per output channel (INT8 or INT4 per layer), int32 biases at
  f32(S_x * S_w[c]); the position embedding is an int16 constant;
- activations int8, per tensor, symmetric: S = max|x| / 127, max|x| the mean of
  per-batch maxima over the calibration images (EMA during QAT);
- residual sums (the LayerNorm inputs) int16, S = max|x| / 32767;
- softmax output int16 in [0, 256] at scale 2^-8 (int_softmax's contract);
- GELU and LayerNorm run as I-BERT's int_gelu / int_layernorm in the exported
  model; the fake-quant emulation uses the float functions there.
"""
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import dyadic
from .errors import ExportError
from .qgraph import Observer, quantize_bias, quantize_weight, round_ste

LINEARS = ("q", "k", "v", "proj", "fc1", "fc2")   # per encoder layer, in execution order
RES_BITS = 16          # residual sums: int16 (LayerNorm inputs)
POS_BITS = 16          # position embedding constant: int16
PROB_SCALE = 1.0 / 256  # int_softmax output scale
ACTIVATIONS = ("uint8 image; int8 tokens, Q/K/V, attention context, LayerNorm and GELU "
               "outputs, logits; int16 residual sums and position embedding; int32 "
               "scores and accumulators; int16 softmax output in [0, 256] (scale 2^-8); "
               "int64 int_gelu / int_layernorm outputs")


def floor_ste(x):
    """floor with a straight-through gradient."""
    return x + (torch.floor(x) - x).detach()


def linear(x, w, b):
    """x @ w.T + b computed as a 1x1 convolution (Debian's torch links the reference
    BLAS, whose matmul is several times slower; see nets.Linear)."""
    shape = x.shape
    y = F.conv2d(x.reshape(-1, shape[-1], 1, 1), w[:, :, None, None], b)
    return y.view(*shape[:-1], w.shape[0])


class QPoint:
    """A per-tensor symmetric quantized activation (zero point 0) of `bits` bits."""

    def __init__(self, name, bits):
        self.name, self.bits = name, bits
        self.observer = Observer()

    @property
    def qmax(self):
        return (1 << (self.bits - 1)) - 1

    @property
    def dtype(self):
        return {8: "int8", 16: "int16"}[self.bits]

    @property
    def scale(self):
        v = self.observer.value
        if v is None:
            raise RuntimeError(f"activation {self.name!r} is not calibrated")
        return dyadic.f32(max(v, 1e-8) / self.qmax)

    def __call__(self, v, mode):
        """A value quantized to this tensor's grid (fake, qat) or observed (observe)."""
        if mode in ("observe", "qat"):
            self.observer.observe(v, signed=True)
        if mode in ("float", "observe"):
            return v
        s = self.scale
        return round_ste(v / s).clamp(-self.qmax - 1, self.qmax) * s

    def add(self, a, b, mode):
        """dyad `add` into this tensor: each branch rounded on its own, one clamp."""
        if mode in ("observe", "qat"):
            self.observer.observe(a + b, signed=True)
        if mode in ("float", "observe"):
            return a + b
        s = self.scale
        return (round_ste(a / s) + round_ste(b / s)).clamp(-self.qmax - 1, self.qmax) * s


class QLinear:
    """A Linear or Conv2d with quantized weights and int32 bias; its output is the
    raw accumulator (in real units) or goes through a QPoint."""

    def __init__(self, path, module, w_bits):
        self.path, self.module, self.w_bits = path, module, w_bits

    def quantized(self, s_x, ste=True):
        """(w_int, s_w, b_int, bias_scale) as float tensors holding the exported integers."""
        w = self.module.weight
        b = self.module.bias if self.module.bias is not None else torch.zeros(w.shape[0])
        w_int, s_w = quantize_weight(w, self.w_bits, ste)
        bias_scale = torch.tensor(s_x, dtype=torch.float32) * s_w
        return w_int, s_w, quantize_bias(b, bias_scale, ste), bias_scale

    def acc(self, x, s_x, mode):
        m = self.module
        if mode in ("float", "observe"):
            w, b = m.weight, m.bias
        else:
            w_int, s_w, b_int, bias_scale = self.quantized(s_x)
            w = w_int * s_w.view((-1,) + (1,) * (w_int.ndim - 1))
            b = b_int * bias_scale
        if isinstance(m, nn.Conv2d):
            return F.conv2d(x, w, b, m.stride)
        return linear(x, w, b)


# ----------------------------------------------------------------------------- checks

def _module(parent, name, kinds, what, prefix=""):
    """parent.<name>, which must be an instance of `kinds`; errors name prefix.name."""
    path = f"{prefix}.{name}" if prefix else name
    m = getattr(parent, name, None)
    if m is None:
        raise ExportError(path, f"missing: the ViT lowering needs {what}")
    if not isinstance(m, kinds):
        names = " or ".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))
        raise ExportError(path, f"{type(m).__module__}.{type(m).__name__} is not supported "
                          f"here (expected {names}: {what})")
    return m


def _check_children(module, path, allowed):
    for name, _ in module.named_children():
        if name not in allowed:
            child = getattr(module, name)
            raise ExportError(f"{path}.{name}" if path else name,
                              f"{type(child).__module__}.{type(child).__name__} has no place "
                              f"in the ViT lowering (children allowed: {', '.join(allowed)})")


def check_vit(model):
    """Raises ExportError naming the first module the ViT lowering cannot export."""
    _check_children(model, "", ("patch_embed", "layers", "head"))
    pe = _module(model, "patch_embed", nn.Conv2d, "the patch embedding, a Conv2d with "
                 "stride = kernel")
    if (tuple(pe.stride) != tuple(pe.kernel_size) or tuple(pe.padding) != (0, 0)
            or tuple(pe.dilation) != (1, 1) or pe.groups != 1 or pe.padding_mode != "zeros"):
        raise ExportError("patch_embed", "the patch embedding must have stride = kernel, "
                          "no padding, dilation 1, groups 1")
    dim = pe.out_channels
    for p, shape in (("cls_token", (1, 1, dim)), ("pos_embed", None)):
        t = getattr(model, p, None)
        if not isinstance(t, torch.Tensor) or t.ndim != 3 or t.shape[0] != 1 or \
                t.shape[2] != dim or (shape and tuple(t.shape) != shape):
            raise ExportError(p, f"needs a parameter of shape {shape or '[1, tokens, dim]'}")
    layers = _module(model, "layers", nn.Sequential, "the encoder layers")
    for i, layer in enumerate(layers):
        path = f"layers.{i}"
        _check_children(layer, path, LINEARS + ("ln1", "ln2", "act"))
        heads = getattr(layer, "heads", None)
        if not isinstance(heads, int) or heads < 1 or dim % heads:
            raise ExportError(path, f"heads = {heads!r} does not divide the width {dim}")
        for name in LINEARS:
            lin = _module(layer, name, nn.Linear, "a Linear of the encoder layer", path)
            if lin.bias is None:
                raise ExportError(f"{path}.{name}", "Linear layers need a bias")
        for name in ("ln1", "ln2"):
            ln = _module(layer, name, nn.LayerNorm, "a LayerNorm over the width", path)
            if not ln.elementwise_affine or tuple(ln.normalized_shape) != (dim,):
                raise ExportError(f"{path}.{name}", "LayerNorm needs elementwise_affine and "
                                  f"normalized_shape ({dim},)")
        act = getattr(layer, "act")
        if type(act) is not nn.GELU or act.approximate != "none":
            raise ExportError(f"{path}.act", f"{type(act).__name__} is not supported: only "
                              "nn.GELU(approximate='none') has an integer lowering (int_gelu)")
    _module(model, "head", nn.Linear, "the classifier on the class token")


# ----------------------------------------------------------------------------- graph

class ViTGraph:
    """The quantized ViT: QLinears and QPoints over the torch model's parameters."""

    def __init__(self, model, w_bits, input_scale=1.0 / 255, input_shape=(1, 1, 28, 28)):
        """w_bits(path) -> 4 or 8, the weight width of the Linear / Conv2d at `path`."""
        check_vit(model)
        self.model = model.eval()
        self.input_scale = dyadic.f32(input_scale)
        self.input_shape = tuple(input_shape)
        self.points = {}

        def gemm(path, module):
            bits = w_bits(path)
            if bits not in (4, 8):
                raise ExportError(path, f"weight bits {bits!r} are not 4 or 8")
            return QLinear(path, module, bits)

        self.patch = gemm("patch_embed", model.patch_embed)
        self.tokens = self.point("tokens", 8)
        self.layers = []
        for i, layer in enumerate(model.layers):
            pre = f"layers.{i}."
            lin = {k: gemm(pre + k, getattr(layer, k)) for k in LINEARS}
            pts = {k: self.point(pre + k, 8) for k in ("q", "k", "v", "ctx", "ln1", "gelu", "out")}
            pts.update({k: self.point(pre + k, RES_BITS) for k in ("res1", "res2")})
            self.layers.append((layer, lin, pts))
        self.head = gemm("head", model.head)
        self.logits = self.point("logits", 8)
        _check_float(self)

    @property
    def output(self):
        return self.logits

    def point(self, name, bits):
        self.points[name] = QPoint(name, bits)
        return self.points[name]

    @property
    def dim(self):
        return self.model.patch_embed.out_channels

    def pos_scale(self):
        pos = self.model.pos_embed.detach()[0, 1:]
        return dyadic.f32(max(float(pos.abs().max()), 1e-8) / ((1 << (POS_BITS - 1)) - 1))

    def embed(self, x, mode):
        """Patch embedding, class token and positions -> tokens [N, T, D]."""
        m = self.model
        acc = self.patch.acc(x, self.input_scale, mode).flatten(2).transpose(1, 2)
        cls = (m.cls_token + m.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        pos = m.pos_embed[:, 1:]
        if mode in ("float", "observe", "qat"):
            tokens = torch.cat([cls, acc + pos], 1)
            if mode != "float":
                self.tokens.observer.observe(tokens, signed=True)
            if mode != "qat":
                return tokens
        s_pos = self.pos_scale()
        pos_q = round_ste(pos / s_pos) * s_pos
        s = self.tokens.scale
        patches = (round_ste(acc / s) + round_ste(pos_q / s)).clamp(-128, 127) * s
        return torch.cat([round_ste(cls / s).clamp(-128, 127) * s, patches], 1)

    def encoder_layer(self, i, x, s_x, mode):
        layer, lin, p = self.layers[i]
        n, t, d = x.shape
        h = layer.heads

        def split(v):
            return v.view(n, t, h, d // h).transpose(1, 2)

        q = split(p["q"](lin["q"].acc(x, s_x, mode), mode))
        k = split(p["k"](lin["k"].acc(x, s_x, mode), mode))
        v = split(p["v"](lin["v"].acc(x, s_x, mode), mode))
        att = torch.softmax(q @ k.transpose(-1, -2) / (d // h) ** 0.5, dim=-1)
        if mode in ("fake", "qat"):
            att = floor_ste(att * 256) * PROB_SCALE      # int_softmax: floor(p * 2^8) / 2^8
        ctx = p["ctx"](att @ v, mode).transpose(1, 2).reshape(n, t, d)
        s_ctx = p["ctx"].scale if mode in ("fake", "qat") else None
        r1 = p["res1"].add(lin["proj"].acc(ctx, s_ctx, mode), x, mode)
        a = p["ln1"](layer.ln1(r1), mode)
        s_a = p["ln1"].scale if mode in ("fake", "qat") else None
        g = p["gelu"](layer.act(lin["fc1"].acc(a, s_a, mode)), mode)
        s_g = p["gelu"].scale if mode in ("fake", "qat") else None
        r2 = p["res2"].add(lin["fc2"].acc(g, s_g, mode), a, mode)
        return p["out"](layer.ln2(r2), mode)

    def forward(self, x, mode="fake"):
        """Runs the graph on a float NCHW batch. mode: float, observe, fake, qat."""
        if mode not in ("float", "observe", "fake", "qat"):
            raise ValueError(f"unknown mode {mode!r}")
        quant = mode in ("fake", "qat")
        if quant:
            s = self.input_scale
            x = torch.clamp(torch.round(x / s), 0, 255) * s
        x = self.embed(x, mode)
        s_x = self.tokens.scale if quant else None
        for i in range(len(self.layers)):
            x = self.encoder_layer(i, x, s_x, mode)
            s_x = self.layers[i][2]["out"].scale if quant else None
        return self.logits(self.head.acc(x[:, 0], s_x, mode), mode)

    def calibrate(self, batches):
        with torch.no_grad():
            for x in batches:
                self.forward(x, "observe")
        for p in self.points.values():
            p.observer.freeze()

    def set_qat_momentum(self, momentum):
        for p in self.points.values():
            p.observer.momentum = momentum

    def describe_bits(self):
        gemms = [self.patch] + [lin[k] for _, lin, _ in self.layers for k in LINEARS] + \
            [self.head]
        return {g.path: g.w_bits for g in gemms}


def _check_float(g):
    """The float graph must reproduce the torch model; a forward that differs from
    nets.EncoderLayer's (the lowering's assumption) fails here."""
    gen = torch.Generator().manual_seed(1234)
    x = torch.rand((4,) + g.input_shape[1:], generator=gen)
    with torch.no_grad():
        ref = g.model(x)
        got = g.forward(x, "float")
    if got.shape != ref.shape or not torch.allclose(got, ref, atol=1e-4, rtol=1e-4):
        raise ExportError("", "the ViT lowering does not reproduce the model's forward in "
                          f"float (max diff {float((got - ref).abs().max()):.3g}); its "
                          "forward must be nets.ViT's")
