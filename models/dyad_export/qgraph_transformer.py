"""QGraph nodes of the transformer ops (I-BERT): LayerNorm, GELU, matmul, softmax,
transpose, as the fx front end (fx_capture.py) lowers them.

Same conventions as vit.py / vit_export.py (docs/models.md "ViT lowering"), for
any graph: activations int8 per tensor; a residual sum read only by a LayerNorm
is int16; the scores of a matmul read only by a softmax (after an optional
scalar multiply or divide, folded into their scale) stay the raw int32
accumulator; softmax writes int16 in [0, 256] at 2^-8; a GELU reads the int32
accumulator of the Linear before it. LayerNorm and GELU run as int_layernorm /
int_gelu (int64 out) + requantize. The fake-quant emulation rounds every stored
tensor and floors the softmax to 2^-8 but evaluates GELU, softmax and LayerNorm
in float (the exported model runs I-BERT's integer versions: close, not equal).

Each node exports itself: export(w, desc) writes its dyad nodes with the
ModelWriter w; desc(t) writes tensor t's descriptor.
"""
import numpy as np
import torch
from torch.nn import functional as F

from ..ibert_sim import gelu, layernorm, softmax
from . import dyadic
from .qgraph import Node, fake_quant

F32 = np.float32
PROB_SCALE = 1.0 / 256     # int_softmax's output scale


def _floor_ste(x):
    return x + (torch.floor(x) - x).detach()


def _pairs(ratios, where, one=False):
    ms, es = dyadic.dyadic_lists(ratios, where)
    if one or len(ms) == 1:
        return {"multiplier": ms[0], "shift": es[0]}
    return {"multiplier": ms, "shift": es}


def _wide(w, name, shape, scales):
    """An int64 intermediate with a per-channel (last axis) scale."""
    w.add_activation(name, "int64", shape, scale=[float(s) for s in scales], zero_point=0,
                     axis=len(shape) - 1)


class LayerNormNode(Node):
    """nn.LayerNorm over the last axis -> int_layernorm (int64) + requantize."""
    op = "int_layernorm"

    def __init__(self, path, x, y, module):
        super().__init__(path, [x], y)
        self.module = module

    def run(self, env, mode):
        m = self.module
        v = F.layer_norm(env[self.inputs[0].name], m.normalized_shape, m.weight, m.bias, m.eps)
        return fake_quant(v, self.output, None, mode)

    def export(self, w, desc):
        x, y = self.inputs[0], self.output
        gamma = self.module.weight.detach().numpy().astype(F32)
        beta = self.module.bias.detach().numpy().astype(F32)
        k = layernorm.layernorm_constants(gamma, beta, F32)
        mid = self.path + ".int"
        _wide(w, mid, y.shape, k["out_scale"])
        # shift 0: dyad computes the variance exactly at any size (docs/format.md)
        w.add_node(self.path, "int_layernorm", [x.name], [mid],
                   {"shift": 0, "bias_int": k["bias_int"]})
        desc(y)
        ratios = dyadic.requant_ratio(np.asarray(k["out_scale"], np.float64), y.scale)
        w.add_node(self.path + ".requant", "requantize", [mid], [y.name],
                   _pairs(ratios, self.path))


class GeluNode(Node):
    """GELU (erf) of a Linear's int32 accumulator -> int_gelu (int64) + requantize."""
    op = "int_gelu"

    def run(self, env, mode):
        return fake_quant(F.gelu(env[self.inputs[0].name]), self.output, None, mode)

    def export(self, w, desc):
        x, y = self.inputs[0], self.output
        consts = [gelu.gelu_constants(float(s), F32) for s in x.acc_scale.numpy()]
        scales = [float(c["out_scale"]) for c in consts]       # negative
        mid = self.path + ".int"
        _wide(w, mid, y.shape, scales)
        w.add_node(self.path, "int_gelu", [x.name], [mid],
                   {k: [int(c[k]) for c in consts] for k in ("b_int", "c_int", "shift_int")})
        desc(y)
        ratios = dyadic.requant_ratio(np.asarray(scales, np.float64), y.scale)
        w.add_node(self.path + ".requant", "requantize", [mid], [y.name],
                   _pairs(ratios, self.path))


class MatmulNode(Node):
    """a @ b of two activations. Output: int8 (fused requant), or the raw int32
    accumulator (kind "acc", one scale f32(S_a S_b) * post_scale) for a softmax."""
    op = "matmul"

    def __init__(self, path, a, b, y, post_scale=1.0):
        super().__init__(path, [a, b], y)
        self.post_scale = post_scale

    def acc_scale(self):
        a, b = self.inputs
        return dyadic.f32(dyadic.f32(dyadic.f32(a.scale) * dyadic.f32(b.scale))
                          * self.post_scale)

    def run(self, env, mode):
        v = torch.matmul(env[self.inputs[0].name], env[self.inputs[1].name]) * self.post_scale
        if self.output.kind == "acc":
            if mode in ("fake", "qat"):
                self.output.acc_scale = torch.tensor([self.acc_scale()], dtype=torch.float32)
            return v
        return fake_quant(v, self.output, None, mode)

    def export(self, w, desc):
        a, b = self.inputs
        y = self.output
        if y.kind == "acc":
            y.acc_scale = torch.tensor([self.acc_scale()], dtype=torch.float32)
            desc(y)
            attrs = {}
        else:
            desc(y)
            attrs = _pairs(dyadic.hawq_gemm_ratio(a.scale, [b.scale], y.scale), self.path,
                           one=True)
        w.add_node(self.path, "matmul", [a.name, b.name], [y.name], attrs)


class SoftmaxNode(Node):
    """softmax over the last axis of int32 scores -> int_softmax, int16 at 2^-8."""
    op = "int_softmax"

    def run(self, env, mode):
        v = torch.softmax(env[self.inputs[0].name], -1)
        if mode in ("fake", "qat"):
            v = _floor_ste(v * 256) * PROB_SCALE       # int_softmax: floor(p * 2^8) / 2^8
        return v

    def export(self, w, desc):
        x, y = self.inputs[0], self.output
        s = float(x.acc_scale.numpy()[0])
        # I-BERT's internal QuantAct(16) tracks the row maximum exp_int = c_int * 2^30
        # (as vit_export.py and models/ibert_gen)
        c_int = softmax.softmax_constants(s, 0.0, 1.0, F32)["c_int"]
        sm = softmax.softmax_constants(s, 0.0, float(c_int) * 2.0 ** 30, F32)
        desc(y)
        w.add_node(self.path, "int_softmax", [x.name], [y.name],
                   {"x0_int": sm["x0_int"], "b_int": sm["b_int"], "c_int": sm["c_int"],
                    "act_multiplier": sm["M"], "act_shift": sm["E"]})


class TransposeNode(Node):
    """permute / transpose of a tensor in torch's axis order (not an NHWC map)."""
    op = "transpose"

    def __init__(self, path, x, y, perm):
        super().__init__(path, [x], y)
        self.perm = list(perm)

    def run(self, env, mode):
        return env[self.inputs[0].name].permute(self.perm)

    def export(self, w, desc):
        desc(self.output)
        w.add_node(self.path, "transpose", [self.inputs[0].name], [self.output.name],
                   {"perm": self.perm})


class ReshapeToNode(Node):
    """reshape / view of a tensor in torch's axis order to torch shape [-1, ...]."""
    op = "reshape"

    def __init__(self, path, x, y, shape):
        super().__init__(path, [x], y)
        self.shape = list(shape)

    def run(self, env, mode):
        return env[self.inputs[0].name].reshape([-1] + self.shape[1:])

    def export(self, w, desc):
        desc(self.output)
        w.add_node(self.path, "reshape", [self.inputs[0].name], [self.output.name],
                   {"shape": [-1] + self.shape[1:]})


def softmax_output(g, name):
    """The int16 tensor of a softmax: fixed scale 2^-8, nothing to calibrate."""
    t = g.new_tensor(name, "act", nonneg=True)
    t.bits, t.signed = 16, True
    t.fixed_scale = PROB_SCALE
    t.observer = None
    t.nchw = True
    return t
