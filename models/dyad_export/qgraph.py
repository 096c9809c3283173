"""The quantized graph: lowering of a torch model, float / fake-quant execution, export.

A QGraph is a list of nodes over QAct tensors. It references the torch model's
parameters (BatchNorm is folded on the fly), so the same object serves for

- float execution ("float"): must equal the torch model; checked after lowering;
- calibration ("observe"): float execution that records activation ranges;
- quantization-aware training and PTQ evaluation ("fake"): fake quantization with
  straight-through estimators, mirroring the integer arithmetic of dyad's ops;
- export to a dyad model (weights, int32 biases, dyadic constants).

Quantization conventions (HAWQ-V3, numerics.md 3 and 9):
- weights: symmetric, per output channel, s_c = max|W_c| / (2^(b-1) - 1), ints
  clamp(rne(W / s_c), -2^(b-1), 2^(b-1) - 1); BatchNorm folded first;
- bias: int32 at scale f32(S_x * s_c);
- activations: per tensor, zero point 0. Signed: S = max|x| / (2^(b-1) - 1).
  Unsigned (ReLU outputs, always for 4 bit, for 8 bit unless act8_signed):
  S = max(x) / (2^b - 1). All scales are float32 values.
- dyadic constants: conv / fc r = f64(f32(S_x*S_w[c])) / f64(f32(S_y)); add and
  requantize r = S_in / f64(f32(S_y)); (m, e) = frexp_dyadic(r).
"""
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import blocks, dyadic
from .activation import Activation
from .errors import ExportError

ACC_DTYPE = "int32"


# ----------------------------------------------------------------------------- helpers

def round_ste(x):
    """Round half to even with a straight-through gradient."""
    return x + (torch.round(x) - x).detach()


def weight_scale(w, bits):
    """Per-output-channel symmetric scale (float32), detached."""
    w = w.detach()
    amax = w.reshape(w.shape[0], -1).abs().amax(1).clamp_min(1e-8)
    return (amax / float((1 << (bits - 1)) - 1)).to(torch.float32)


def quantize_weight(w, bits, ste=True):
    """(integer-valued float tensor, per-channel scale). ints in [-2^(b-1), 2^(b-1)-1]."""
    s = weight_scale(w, bits)
    shape = (-1,) + (1,) * (w.ndim - 1)
    q = (round_ste if ste else torch.round)(w / s.view(shape))
    return q.clamp(-(1 << (bits - 1)), (1 << (bits - 1)) - 1), s


def quantize_bias(b, bias_scale, ste=True):
    """int32 bias ints (as float) at scale bias_scale (float32, per channel)."""
    q = (round_ste if ste else torch.round)(b / bias_scale)
    return q.clamp(-(1 << 31), (1 << 31) - 1)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class Observer:
    """Range of a float activation: per-batch maxima of |x| (or x), averaged.

    The average of batch maxima is what HAWQ's EMA of min/max approaches; it is
    less sensitive to a single outlier than the overall maximum. In QAT an EMA
    with `momentum` keeps following the training distribution.
    """

    def __init__(self):
        self.batch_max = []
        self.value = None
        self.momentum = None

    def observe(self, x, signed):
        m = float((x.detach().abs() if signed else x.detach().clamp_min(0)).max())
        if self.momentum is not None and self.value is not None:
            self.value = self.momentum * self.value + (1 - self.momentum) * m
        else:
            self.batch_max.append(m)

    def freeze(self):
        if not self.batch_max and self.value is None:
            raise RuntimeError("observer never saw data")
        if self.value is None:
            self.value = float(np.mean(self.batch_max))
        self.batch_max = []


class QAct:
    """An activation tensor of the graph (or the graph input, or an int32 accumulator)."""

    def __init__(self, name, kind, nonneg=False, source=None):
        self.name = name
        self.kind = kind            # "input", "act", "acc", "alias"
        self.nonneg = nonneg        # produced by a ReLU (or the uint8 image)
        self.source = source        # alias: the tensor whose quantization this one shares
        self.bits = 8
        self.signed = not nonneg
        self.observer = None if kind in ("alias", "acc") else Observer()
        self.fixed_scale = None     # graph input: given, not calibrated
        self.acc_scale = None       # acc: per-channel float32 scale (torch), set in fake mode
        self.shape = None           # NHWC (or [N, C])
        self.nchw = False           # a 4-d tensor dyad stores NCHW (a transpose output)
        self.producer = None
        self.consumers = []

    def root(self):
        return self.source.root() if self.kind == "alias" else self

    @property
    def dtype(self):
        r = self.root()
        if r.kind == "acc":
            return ACC_DTYPE
        return {(8, True): "int8", (8, False): "uint8", (16, True): "int16",
                (4, True): "int4", (4, False): "uint4"}[(r.bits, r.signed)]

    def qrange(self):
        r = self.root()
        if r.signed:
            return -(1 << (r.bits - 1)), (1 << (r.bits - 1)) - 1
        return 0, (1 << r.bits) - 1

    @property
    def scale(self):
        """Float32 scale (Python float) of an act / input / alias tensor."""
        r = self.root()
        if r.fixed_scale is not None:
            return r.fixed_scale
        if r.observer is None or r.observer.value is None:
            raise RuntimeError(f"tensor {self.name!r} is not calibrated")
        qmax = (1 << (r.bits - 1)) - 1 if r.signed else (1 << r.bits) - 1
        return dyadic.f32(max(r.observer.value, 1e-8) / qmax)


def dyad_shape(t, torch_shape):
    """dyad's shape of tensor t whose torch (NCHW) shape is torch_shape."""
    s = list(torch_shape)
    return [s[0], s[2], s[3], s[1]] if len(s) == 4 and not t.nchw else s


# ----------------------------------------------------------------------------- nodes

class Node:
    op = None

    def __init__(self, path, inputs, output):
        self.path = path
        self.name = path
        self.inputs = inputs
        self.output = output
        output.producer = self
        for t in inputs:
            t.consumers.append(self)

    def run(self, env, mode):
        raise NotImplementedError


def act_bounds(t, act):
    """Integer bounds of tensor t written with the fused activation act (or None)."""
    lo, hi = t.qrange()
    return (lo, hi) if act is None else act.int_bounds(t.scale, lo, hi)


def fake_quant(v, t, act, mode, ste=True):
    """Quantizes float v to tensor t's grid (fake mode) or observes it (observe mode).

    act: the fused activation (an Activation, or True for ReLU, or None)."""
    act = Activation.of(act)
    if act is not None:
        v = act.apply(v)
    if mode in ("observe", "qat"):
        t.root().observer.observe(v, signed=t.root().signed)
    if mode in ("float", "observe"):
        return v
    s = t.scale
    q = (round_ste if ste else torch.round)(v / s).clamp(*act_bounds(t, act))
    return q * s


class GemmNode(Node):
    """conv2d or fully_connected with folded BatchNorm, bias and fused activation."""

    def __init__(self, path, module, bn, x, y, act, w_bits, a_bits):
        super().__init__(path, [x], y)
        self.module, self.bn, self.act = module, bn, Activation.of(act)
        self.w_bits, self.a_bits = w_bits, a_bits
        self.op = "conv2d" if isinstance(module, nn.Conv2d) else "fully_connected"

    def folded(self):
        """(W, b) with BatchNorm folded in (float32, differentiable)."""
        w = self.module.weight
        b = self.module.bias if self.module.bias is not None else torch.zeros(w.shape[0])
        if self.bn is not None:
            bn = self.bn
            s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            w = w * s.view(-1, *([1] * (w.ndim - 1)))
            b = (b - bn.running_mean) * s + bn.bias
        return w, b

    def _apply(self, x, w, b):
        m = self.module
        if self.op == "conv2d":
            return F.conv2d(x, w, b, m.stride, m.padding, m.dilation, m.groups)
        return F.linear(x, w, b)

    def quantized(self, ste=True):
        """(w_int, s_w, b_int, bias_scale): float tensors holding the exported integers."""
        w, b = self.folded()
        w_int, s_w = quantize_weight(w, self.w_bits, ste)
        bias_scale = (torch.tensor(self.inputs[0].scale, dtype=torch.float32) * s_w)
        b_int = quantize_bias(b, bias_scale, ste)
        return w_int, s_w, b_int, bias_scale

    def run(self, env, mode):
        x = env[self.inputs[0].name]
        if mode in ("float", "observe"):
            v = self._apply(x, *self.folded())
        else:
            w_int, s_w, b_int, bias_scale = self.quantized()
            shape = (-1,) + (1,) * (w_int.ndim - 1)
            v = self._apply(x, w_int * s_w.view(shape), b_int * bias_scale)
            self.output.acc_scale = bias_scale.detach()
        if self.output.kind == "acc":
            return v
        return fake_quant(v, self.output, self.act, mode)


class AddNode(Node):
    op = "add"

    def __init__(self, path, a, b, y, act):
        super().__init__(path, [a, b], y)
        self.act = Activation.of(act)

    def run(self, env, mode):
        a, b = env[self.inputs[0].name], env[self.inputs[1].name]
        if mode in ("float", "observe"):
            return fake_quant(a + b, self.output, self.act, mode)
        # Each branch is rounded on its own, then one clamp (docs/format.md add).
        s = self.output.scale
        if mode == "qat":
            fake_quant(a + b, self.output, self.act, "observe")
        return (round_ste(a / s) + round_ste(b / s)).clamp(*act_bounds(self.output, self.act)) * s


class RequantNode(Node):
    """requantize: to other bits at the same range (act None; the output shares the
    source's observer), or a standalone activation (the output has its own)."""
    op = "requantize"

    def __init__(self, path, inputs, output, act=None):
        super().__init__(path, inputs, output)
        self.act = act

    def run(self, env, mode):
        x = env[self.inputs[0].name]
        if self.act is not None:
            return fake_quant(x, self.output, self.act, mode)
        if mode in ("float", "observe"):
            return x     # the source tensor's observer already holds the range
        return fake_quant(x, self.output, None, "fake")


class ConcatNode(Node):
    """concat along torch dim `dim`; every input already has the output's quantization
    (the lowering puts a requantize before each)."""
    op = "concat"

    def __init__(self, path, inputs, output, dim):
        super().__init__(path, inputs, output)
        self.dim = dim

    def run(self, env, mode):
        return torch.cat([env[t.name] for t in self.inputs], self.dim)


class PoolNode(Node):
    """max_pool / average_pool (floor of the mean over valid positions).

    ceil_mode: torch's last, partial windows; exported as extra bottom / right
    padding (padded positions are ignored by both pools, as torch ignores the
    positions past the input)."""

    def __init__(self, path, op, x, y, kernel, stride, padding, ceil_mode=False):
        super().__init__(path, [x], y)
        self.op, self.kernel, self.stride, self.padding = op, kernel, stride, padding
        self.ceil_mode = ceil_mode

    def run(self, env, mode):
        x = env[self.inputs[0].name]
        win = (self.kernel, self.stride, self.padding)
        if self.op == "max_pool":
            return F.max_pool2d(x, *win, ceil_mode=self.ceil_mode)
        if mode in ("float", "observe"):
            return F.avg_pool2d(x, *win, ceil_mode=self.ceil_mode, count_include_pad=False)
        s = self.inputs[0].scale
        q = round_ste(x / s)
        total = F.avg_pool2d(q, *win, ceil_mode=self.ceil_mode, divisor_override=1)
        count = F.avg_pool2d(torch.ones_like(q[:1, :1]), *win, ceil_mode=self.ceil_mode,
                             divisor_override=1)
        mean = total / count
        return (mean + (torch.floor(total.detach() / count) - mean).detach()) * s


class GlobalAvgPoolNode(Node):
    op = "global_average_pool"

    def run(self, env, mode):
        x = env[self.inputs[0].name]
        if mode in ("float", "observe"):
            return x.mean((2, 3), keepdim=True)
        s = self.inputs[0].scale
        q = round_ste(x / s)
        count = x.shape[2] * x.shape[3]
        mean = q.mean((2, 3), keepdim=True)
        floor = torch.div(q.detach().sum((2, 3), keepdim=True), count, rounding_mode="floor")
        return (mean + (floor - mean).detach()) * s


class ToNCHWNode(Node):
    """transpose of an NHWC map to NCHW; torch's tensor already is NCHW (flattening a
    map larger than 1x1 must follow torch's C, H, W order)."""
    op = "transpose"
    perm = [0, 3, 1, 2]

    def run(self, env, mode):
        return env[self.inputs[0].name]


class ReshapeNode(Node):
    op = "reshape"

    def run(self, env, mode):
        return env[self.inputs[0].name].flatten(1)


# ----------------------------------------------------------------------------- graph

class QGraph:
    """Nodes in execution order over QAct tensors; see the module docstring."""

    def __init__(self, model, input_name, input_scale, input_shape):
        self.model = model
        self.nodes = []
        self.tensors = {}
        self.input = self.new_tensor(input_name, "input", nonneg=True)
        self.input.fixed_scale = dyadic.f32(input_scale)
        self.input.signed = False
        self.input_shape = tuple(input_shape)       # NCHW, torch's
        self.output = None

    def new_tensor(self, name, kind, nonneg=False, source=None):
        if name in self.tensors:
            raise ValueError(f"duplicate tensor name {name!r}")
        t = QAct(name, kind, nonneg, source)
        self.tensors[name] = t
        return t

    def forward(self, x, mode="fake", record=None):
        """Runs the graph on a float NCHW batch. mode: float, observe, fake, qat."""
        if mode not in ("float", "observe", "fake", "qat"):
            raise ValueError(f"unknown mode {mode!r}")
        env = {}
        if mode in ("fake", "qat"):
            x = torch.clamp(torch.round(x / self.input.scale), *self.input.qrange()) \
                * self.input.scale
        env[self.input.name] = x
        for node in self.nodes:
            env[node.output.name] = node.run(env, mode)
        if record is not None:
            record.update(env)
        return env[self.output.name]

    def calibrate(self, batches):
        """Float passes recording activation ranges, then freezes the scales."""
        with torch.no_grad():
            for x in batches:
                self.forward(x, "observe")
        for t in self.tensors.values():
            if t.observer is not None and t.kind != "input":
                t.observer.freeze()

    def set_qat_momentum(self, momentum):
        for t in self.tensors.values():
            if t.observer is not None:
                t.observer.momentum = momentum

    def infer_shapes(self):
        record = {}
        with torch.no_grad():
            self.forward(torch.zeros((1,) + self.input_shape[1:]), "float", record)
        for name, v in record.items():
            s = tuple(v.shape)
            self.tensors[name].shape = dyad_shape(self.tensors[name], s)


# ----------------------------------------------------------------------------- lowering

class BitConfig:
    """Per-layer bits. `layers` maps a module path (or a prefix ending in '.') to
    {"w": weight bits, "a": input activation bits}; `default` applies otherwise.
    `act8_signed`: 8-bit activations are int8 even after a ReLU (HAWQ-V3)."""

    def __init__(self, default, layers=None, act8_signed=False):
        self.default = dict(default)
        self.layers = dict(layers or {})
        self.act8_signed = act8_signed

    def for_layer(self, path):
        best = None
        for key, v in self.layers.items():
            if key == path or (key.endswith(".") and path.startswith(key)):
                if best is None or len(key) > len(best[0]):
                    best = (key, v)
        cfg = dict(self.default)
        if best:
            cfg.update(best[1])
        for k in ("w", "a"):
            if cfg.get(k) not in (4, 8):
                raise ExportError(path, f"bit width {k}={cfg.get(k)!r} is not 4 or 8")
        return cfg

    def describe(self):
        return {"default": self.default, "layers": self.layers, "act8_signed": self.act8_signed}


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


class _Lowerer:
    def __init__(self, graph, config):
        self.g, self.cfg = graph, config
        # Shapes are needed while lowering (Flatten): each node runs in float on a
        # zero image as it is added.
        self.probe = {graph.input.name: torch.zeros(graph.input_shape)}
        graph.input.shape = dyad_shape(graph.input, graph.input_shape)

    def emit(self, node):
        self.g.nodes.append(node)
        with torch.no_grad():
            v = node.run(self.probe, "float")
        self.probe[node.output.name] = v
        s = tuple(v.shape)
        node.output.shape = dyad_shape(node.output, s)

    def sequence(self, module, prefix, x):
        items = list(module.named_children())
        i = 0
        while i < len(items):
            name, m = items[i]
            path = _join(prefix, name)
            nxt = items[i + 1][1] if i + 1 < len(items) else None
            used = 1
            if isinstance(m, (nn.Identity, nn.Dropout)):
                pass
            elif isinstance(m, blocks.ConvBN) or isinstance(m, nn.Conv2d):
                conv, bn = (m.conv, m.bn) if isinstance(m, blocks.ConvBN) else (m, None)
                if bn is None and isinstance(nxt, nn.BatchNorm2d):
                    bn, used = nxt, used + 1
                    nxt = items[i + used][1] if i + used < len(items) else None
                relu = isinstance(nxt, nn.ReLU)
                used += relu
                x = self.gemm(path, conv, bn, x, relu)
            elif isinstance(m, nn.Linear):
                relu = isinstance(nxt, nn.ReLU)
                used += relu
                x = self.gemm(path, m, None, x, relu)
            elif isinstance(m, blocks.BasicBlock):
                x = self.basic_block(path, m, x)
            elif type(m) is nn.Sequential:
                x = self.sequence(m, path, x)
            elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
                x = self.pool(path, m, x)
            elif isinstance(m, nn.AdaptiveAvgPool2d):
                if _pair(m.output_size) != (1, 1):
                    raise ExportError(path, f"AdaptiveAvgPool2d output_size {m.output_size} "
                                      "is not supported (only 1: global average pool)")
                x = self.simple(GlobalAvgPoolNode, path, x)
            elif isinstance(m, nn.Flatten):
                x = self.flatten(path, m, x)
            elif isinstance(m, nn.ReLU):
                raise ExportError(path, "a ReLU must directly follow a conv, linear or "
                                  "residual block (it is fused into that op)")
            elif isinstance(m, nn.BatchNorm2d):
                raise ExportError(path, "a BatchNorm2d must directly follow a Conv2d "
                                  "(it is folded into the conv)")
            else:
                raise ExportError(path, f"{type(m).__module__}.{type(m).__name__} has no dyad "
                                  "lowering (supported: Conv2d[+BatchNorm2d][+ReLU], ConvBN, "
                                  "BasicBlock, Linear[+ReLU], MaxPool2d, AvgPool2d, "
                                  "AdaptiveAvgPool2d(1), Flatten, Dropout, Identity, Sequential)")
            i += used
        return x

    def gemm(self, path, module, bn, x, relu, acc_out=False):
        """relu: the fused activation (an Activation, True for ReLU, or None / False)."""
        act = Activation.of(relu)
        cfg = self.cfg.for_layer(path)
        if isinstance(module, nn.Conv2d):
            if module.padding_mode != "zeros":
                raise ExportError(path, f"padding_mode {module.padding_mode!r} is not "
                                  "supported (only 'zeros')")
            if isinstance(module.padding, str):
                raise ExportError(path, f"padding {module.padding!r} is not supported; "
                                  "give explicit padding")
            if x.shape is not None and len(x.shape) != 4:
                raise ExportError(path, "Conv2d needs a 4-d input")
        elif x.shape is not None and len(x.shape) not in (2, 3):
            raise ExportError(path, f"Linear needs a 2-d [N, features] or 3-d [N, T, "
                              f"features] input, got {x.shape}; add a Flatten after a "
                              "global average pool")
        if bn is not None and (not bn.affine or not bn.track_running_stats):
            raise ExportError(path, "BatchNorm2d needs affine=True and running statistics")
        if x.kind == "input" and cfg["a"] != 8:
            raise ExportError(path, "the first layer reads the 8-bit input; its a-bits must be 8")
        if acc_out:
            y = self.g.new_tensor(path + ".acc", "acc")
        else:
            nonneg = act is not None and act.nonneg
            y = self.g.new_tensor(path + ".out", "act", nonneg=nonneg)
            y.signed = not nonneg or self.cfg.act8_signed
        node = GemmNode(path, module, bn, x, y, act, cfg["w"], cfg["a"])
        self.emit(node)
        return y

    def basic_block(self, path, m, x):
        if type(m.relu) is not nn.ReLU:
            raise ExportError(_join(path, "relu"), f"{type(m.relu).__name__} is not supported "
                              "in a BasicBlock (only ReLU)")
        h = self.gemm(_join(path, "conv1"), m.conv1.conv, m.conv1.bn, x, relu=True)
        y = self.gemm(_join(path, "conv2"), m.conv2.conv, m.conv2.bn, h, relu=False,
                      acc_out=True)
        if m.shortcut is not None:
            s = self.gemm(_join(path, "shortcut"), m.shortcut.conv, m.shortcut.bn, x,
                          relu=False, acc_out=True)
        else:
            s = x
        out = self.g.new_tensor(path + ".out", "act", nonneg=True)
        out.signed = self.cfg.act8_signed
        self.emit(AddNode(path + ".add", y, s, out, act=True))
        return out

    def pool(self, path, m, x):
        kernel, stride, padding = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), \
            _pair(m.padding)
        if isinstance(m, nn.MaxPool2d):
            if _pair(m.dilation) != (1, 1) or m.return_indices:
                raise ExportError(path, "MaxPool2d with dilation or return_indices is not "
                                  "supported")
            op = "max_pool"
        else:
            if padding != (0, 0) and m.count_include_pad:
                raise ExportError(path, "AvgPool2d with padding needs count_include_pad=False "
                                  "(dyad averages over valid positions)")
            if m.divisor_override is not None:
                raise ExportError(path, "AvgPool2d divisor_override is not supported")
            op = "average_pool"
        y = self.g.new_tensor(path + ".out", "alias", source=x)
        self.emit(PoolNode(path, op, x, y, kernel, stride, padding, m.ceil_mode))
        return y

    def simple(self, cls, path, x):
        y = self.g.new_tensor(path + ".out", "alias", source=x)
        self.emit(cls(path, [x], y))
        return y

    def flatten(self, path, m, x):
        if m.start_dim != 1 or m.end_dim != -1:
            raise ExportError(path, "only Flatten(1, -1) is supported")
        if x.shape is None or len(x.shape) != 4 or x.shape[1] * x.shape[2] != 1:
            raise ExportError(path, f"Flatten of a map of shape {x.shape} (NHWC): only 1x1 "
                              "maps can be flattened, the NCHW and NHWC orders differ otherwise")
        return self.simple(ReshapeNode, path, x)


def lower(model, config, input_shape=(1, 1, 28, 28), input_scale=1.0 / 255,
          input_name="image", output_name="logits"):
    """Lowers an nn.Sequential of exportable modules into a QGraph.

    The input is a uint8 image (zero point 0, scale input_scale). Raises ExportError
    naming the module that cannot be exported.
    """
    if not isinstance(model, nn.Sequential):
        raise ExportError("", f"{type(model).__name__} is not an nn.Sequential; the exporter "
                          "walks a Sequential in execution order")
    model.eval()
    g = QGraph(model, input_name, input_scale, input_shape)
    lw = _Lowerer(g, config)
    return finish(g, lw.sequence(model, "", g.input), config, model, output_name)


def finish(g, out, config, model, output_name):
    """Common tail of the lowerings: names the output, gives every activation its
    bits, infers the shapes and checks the float graph against the torch model."""
    if out.kind == "input":
        raise ExportError("", "the model returns its input")
    g.output = out
    g.tensors.pop(out.name)
    out.name = output_name
    g.tensors[output_name] = out
    _resolve_bits(g, config)
    g.infer_shapes()
    _check_float(g, model)
    return g


def _gemm_consumers_bits(t, out):
    """Input bits wanted by the conv/fc nodes reading t directly or through aliases."""
    for n in t.consumers:
        if isinstance(n, GemmNode):
            out.add(n.a_bits)
        elif n.output.kind == "alias":
            _gemm_consumers_bits(n.output, out)
        else:
            out.add(None)          # add / requantize: any width


def _resolve_bits(g, config):
    """Gives each activation its width: 4 bit when every GEMM reading it wants 4 bit,
    otherwise 8 bit plus a requantize node before each GEMM that wants 4 bit."""
    for t in g.tensors.values():
        if t.kind != "act":
            continue
        wants = set()
        _gemm_consumers_bits(t, wants)
        if wants == {4} and t is not g.output:
            t.bits = 4
            if not t.nonneg:
                t.signed = True
            else:
                t.signed = False
    new_nodes = []
    made = {}
    for node in g.nodes:
        if isinstance(node, GemmNode):
            x = node.inputs[0]
            if x.root().bits != node.a_bits:
                key = (x.name, node.a_bits)
                if key not in made:
                    r = g.new_tensor(f"{x.name}.q{node.a_bits}", "act", nonneg=x.root().nonneg)
                    r.bits = node.a_bits
                    r.signed = not r.nonneg or (node.a_bits == 8 and config.act8_signed)
                    r.observer = x.root().observer
                    rq = RequantNode(f"{x.name}.requant{node.a_bits}", [x], r)
                    new_nodes.append(rq)
                    made[key] = r
                r = made[key]
                x.consumers.remove(node)
                node.inputs[0] = r
                r.consumers.append(node)
        new_nodes.append(node)
    g.nodes = new_nodes


def _check_float(g, model):
    """The lowered graph in float mode must reproduce the torch model."""
    gen = torch.Generator().manual_seed(1234)
    x = torch.rand((4,) + g.input_shape[1:], generator=gen)
    with torch.no_grad():
        ref = model(x)
        got = g.forward(x, "float")
    # Folding BatchNorm changes float32 rounding: about 1e-6 of the largest output
    # in a 50-layer net, so the bound scales with it.
    if got.shape != ref.shape or \
            float((got - ref).abs().max()) > 1e-4 * max(1.0, float(ref.abs().max())):
        raise ExportError("", "internal error: the lowered graph does not reproduce the "
                          f"model in float (max diff {float((got - ref).abs().max()):.3g}, "
                          f"largest output {float(ref.abs().max()):.3g})")
