"""The transformer part of the fx front end: LayerNorm, GELU, matmul, softmax,
transpose / permute and reshape of token tensors (qgraph_transformer.py's nodes).

A mixin of fx_capture._Capture. Tensors in torch's axis order (token tensors
[N, T, D], heads [N, H, T, d]) are marked `nchw` when they have 4 axes, so their
dyad shape is torch's; transposes and reshapes of NHWC maps other than flattening
are refused.
"""
import operator

import torch
from torch import fx, nn
from torch.nn import functional as F

from . import qgraph_transformer as qt

GELU = (F.gelu, "gelu")
MATMUL = (torch.matmul, operator.matmul, torch.bmm, "matmul", "bmm")
SOFTMAX = (torch.softmax, F.softmax, "softmax")
TRANSPOSE = (torch.transpose, "transpose", torch.permute, "permute")
SCALE = (operator.mul, operator.truediv, torch.mul, torch.div, "mul", "div")


def torch_order(t):
    """t's dyad axes are torch's (not an NHWC map)."""
    return t.nchw or len(t.shape) != 4


class TransformerOps:
    def transformer_kind(self, node):
        m = self.module(node)
        t = None if m is not None else node.target
        if type(m) is nn.LayerNorm:
            return "layer_norm"
        if self.is_gelu(node):
            return "gelu"
        if t in MATMUL:
            return "matmul"
        if type(m) is nn.Softmax or t in SOFTMAX:
            return "softmax"
        if t in TRANSPOSE:
            return "transpose"
        if t in SCALE and self.scalar_factor(node) is not None:
            return "scale"
        return None

    def is_gelu(self, node):
        m = self.module(node)
        if m is not None:
            return type(m) is nn.GELU and m.approximate == "none"
        return node.op != "call_module" and node.target in GELU and \
            node.kwargs.get("approximate", "none") == "none"

    @staticmethod
    def scalar_factor(node):
        """c for x * c, c * x, x / c (c a number), else None."""
        if node.kwargs:
            return None
        a, b = (list(node.args) + [None, None])[:2]
        div = node.target in (operator.truediv, torch.div, "div")
        if isinstance(a, fx.Node) and isinstance(b, (int, float)) and b != 0:
            return 1.0 / b if div else float(b)
        if not div and isinstance(b, fx.Node) and isinstance(a, (int, float)):
            return float(a)
        return None

    def _only_user(self, node):
        return next(iter(node.users)) if len(node.users) == 1 else None

    def _ordered(self, node, x):
        if not torch_order(x):
            self.fail(node, f"is applied to an NHWC feature map {x.shape}; only token "
                            "tensors (after a Linear or flatten) can be")
        if x.root().kind == "acc":
            self.fail(node, "reads an int32 accumulator")

    def _act(self, name, bits=8):
        y = self.g.new_tensor(name, "act")
        y.bits, y.signed, y.nchw = bits, True, True
        return y

    # -- ops

    def layer_norm(self, node):
        m = self.module(node)
        x = self.tensor(node, node.args[0])
        if len(m.normalized_shape) != 1 or x.shape[-1] != m.normalized_shape[0] or \
                not m.elementwise_affine:
            self.fail(node, "is supported over the last axis only, with weight and bias")
        self._ordered(node, x)
        name = self.unique(node)
        y = self._act(name + ".out")
        self.lw.emit(qt.LayerNormNode(name, x, y, m))
        return y

    def gelu(self, node):
        x = self.tensor(node, node.args[0])
        prod = x.producer
        if x.kind != "acc" or type(getattr(prod, "module", None)) is not nn.Linear:
            self.fail(node, "must directly follow a Linear whose output only it reads "
                            "(int_gelu reads its int32 accumulator)")
        name = self.unique(node)
        y = self._act(name + ".out")
        self.lw.emit(qt.GeluNode(name, [x], y))
        return y

    def matmul(self, node):
        a = self.tensor(node, node.args[0])
        b = self.tensor(node, node.args[1])
        for t in (a, b):
            self._ordered(node, t)
        if len(a.shape) != len(b.shape) or a.shape[:-2] != b.shape[:-2]:
            self.fail(node, f"multiplies shapes {a.shape} and {b.shape}; both need the same "
                            "rank and leading axes (no broadcasting)")
        if b.dtype not in ("int8", "uint8"):
            self.fail(node, f"has a {b.dtype} right operand (int8 or uint8 only)")
        name = self.unique(node)
        user, scale_node, post = self._only_user(node), None, 1.0
        if user is not None and self.transformer_kind(user) == "scale" and \
                self._only_user(user) is not None and \
                self.transformer_kind(self._only_user(user)) == "softmax":
            scale_node, post = user, self.scalar_factor(user)
            self.fused.add(scale_node)
            user = self._only_user(user)
        if user is not None and self.transformer_kind(user) == "softmax":
            y = self.g.new_tensor(name + ".scores", "acc")    # int_softmax reads int32
            y.nchw = True
        else:
            y = self._act(name + ".out")
        self.lw.emit(qt.MatmulNode(name, a, b, y, post))
        if scale_node is not None:
            self.values[scale_node] = y
        return y

    def softmax(self, node):
        x = self.tensor(node, node.args[0])
        m = self.module(node)
        dim = m.dim if m is not None else (list(node.args) + [node.kwargs.get("dim")])[1]
        if dim is None or dim % len(x.shape) != len(x.shape) - 1:
            self.fail(node, "is supported over the last axis only")
        if not isinstance(x.producer, qt.MatmulNode) or x.kind != "acc":
            self.fail(node, "must read the scores of a matmul (optionally times a constant)")
        name = self.unique(node)
        y = qt.softmax_output(self.g, name + ".out")
        self.lw.emit(qt.SoftmaxNode(name, [x], y))
        return y

    def scale(self, node):
        self.fail(node, "(a multiply by a constant) is supported only between a matmul and "
                        "its softmax, where it is folded into the scores' scale")

    def transpose(self, node):
        x = self.tensor(node, node.args[0])
        self._ordered(node, x)
        rank = len(x.shape)
        if node.target in (torch.transpose, "transpose"):
            d0, d1 = (d % rank for d in node.args[1:3])
            perm = list(range(rank))
            perm[d0], perm[d1] = perm[d1], perm[d0]
        else:
            dims = node.args[1:] if len(node.args) > 2 else node.args[1]
            perm = [d % rank for d in dims]
        name = self.unique(node)
        if perm == list(range(rank)):
            return x
        y = self.g.new_tensor(name + ".out", "alias", source=x)
        y.nchw = True
        self.lw.emit(qt.TransposeNode(name, x, y, perm))
        return y

    def reshape_tokens(self, node, x, out_shape):
        name = self.unique(node)
        y = self.g.new_tensor(name + ".out", "alias", source=x)
        y.nchw = True
        self.lw.emit(qt.ReshapeToNode(name, x, y, out_shape))
        return y
