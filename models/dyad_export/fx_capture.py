"""torch.fx front end: any module built from the supported layers and functions -> QGraph.

    g = fx_capture.capture(torchvision.models.resnet18(), qgraph.BitConfig({"w": 8, "a": 8}),
                           input_shape=(1, 3, 224, 224))
    fx_capture.calibrate(g, batches)
    export.export(g, "resnet18.json", "resnet18")

The model is traced symbolically (torch.fx), so its forward may be any Python
that calls supported modules and functions in a fixed order (no data-dependent
control flow). Each fx node becomes QGraph nodes (qgraph.py), the same ones the
nn.Sequential lowering builds, so quantization, calibration, fake quantization
and export are shared:

- Conv2d [+ BatchNorm2d folded] [+ ReLU / ReLU6 / Hardtanh / clamp fused]; Linear
  [+ activation]. A BatchNorm2d after anything else: a depthwise 1x1 conv2d. A conv or linear whose only reader is a residual add writes its
  int32 accumulator, and the add rescales it (HAWQ-V3, as BasicBlock).
- add (`+`, `+=`, torch.add, Tensor.add) of two tensors [+ activation fused].
- torch.cat: a requantize to the concat's scale before each input.
- MaxPool2d, AvgPool2d (modules or F.max_pool2d / F.avg_pool2d);
  AdaptiveAvgPool2d / F.adaptive_avg_pool2d / mean over (H, W) -> global average
  pool when the output is 1x1, an average pool when the map divides evenly.
- flatten / reshape / view to [N, features]: a reshape, after a transpose to NCHW
  when the map is larger than 1x1; Dropout, Identity, contiguous: nothing.
- an activation that cannot be fused (its input has other readers, or comes
  from a pool) becomes a requantize with that activation.
- token tensors [N, T, D] (fx_transformer.py): Linear, LayerNorm, GELU after a
  Linear, matmul, softmax of matmul scores (times a constant), transpose /
  permute, reshape / view, add: I-BERT's integer ops.

Anything else raises ExportError naming the module path and the layer or
function, e.g. `module 'lstm': torch.nn.modules.rnn.LSTM has no dyad lowering`.
"""
import operator

import torch
from torch import fx, nn
from torch.fx.node import _get_qualified_name
from torch.fx.passes.shape_prop import ShapeProp
from torch.nn import functional as F

from . import qgraph
from .activation import RELU, RELU6, Activation
from .errors import ExportError
from .fx_transformer import TransformerOps, torch_order

SUPPORTED = ("Conv2d, BatchNorm2d, Linear, ReLU, ReLU6, Hardtanh, clamp, add, cat, "
             "MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, mean over (H, W), flatten/reshape/view, "
             "Dropout, Identity, LayerNorm, GELU, matmul, softmax, transpose/permute")


# ----------------------------------------------------------------------------- tracing

class _PathTracer(fx.Tracer):
    """fx.Tracer that stamps every node with the path of the module whose forward
    created it (node.meta["dyad_path"]), so errors can name it."""

    def __init__(self):
        super().__init__()
        self._stack = [""]

    def call_module(self, m, forward, args, kwargs):
        self._stack.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self._stack.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["dyad_path"] = self._stack[-1]
        return node


def trace(model):
    """fx.GraphModule of model (eval mode), with module paths; ExportError if it cannot
    be traced."""
    model.eval()
    tracer = _PathTracer()
    try:
        graph = tracer.trace(model)
    except Exception as e:     # fx raises TraceError, TypeError, NotImplementedError, ...
        raise ExportError("", f"torch.fx cannot trace {type(model).__name__}: "
                          f"{type(e).__name__}: {e}") from e
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


# ----------------------------------------------------------------------------- classification

def _activation_of_module(m):
    if type(m) is nn.ReLU:
        return RELU
    if type(m) is nn.ReLU6:
        return RELU6
    if type(m) is nn.Hardtanh:
        return Activation.clamp(m.min_val, m.max_val)
    return None


def _arg(node, i, name, default=None):
    """Argument i (or keyword `name`) of an fx node."""
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


def _activation_of_call(node):
    """The Activation of a call_function / call_method node, or None if it is not one."""
    t = node.target
    if t in (F.relu, torch.relu, "relu"):
        return RELU
    if t is F.relu6:
        return RELU6
    if t is F.hardtanh:
        return Activation.clamp(_arg(node, 1, "min_val", -1.0), _arg(node, 2, "max_val", 1.0))
    if t in (torch.clamp, "clamp"):
        lo, hi = _arg(node, 1, "min"), _arg(node, 2, "max")
        if any(isinstance(v, (fx.Node, torch.Tensor)) for v in (lo, hi)):
            return None
        return Activation.clamp(lo, hi)
    return None


ADD = (operator.add, operator.iadd, torch.add, "add")
CAT = (torch.cat, torch.concat) if hasattr(torch, "concat") else (torch.cat,)
FLATTEN = (torch.flatten, "flatten", "view", "reshape", torch.reshape)
IDENTITY_CALLS = ("contiguous", F.dropout)
SHAPE_CALLS = ("size", "dim")


def _describe(gm, node):
    """'torch.nn.modules.rnn.LSTM' / 'function torch.sigmoid' / 'method Tensor.sigmoid'."""
    if node.op == "call_module":
        m = gm.get_submodule(node.target)
        return f"{type(m).__module__}.{type(m).__name__}"
    if node.op == "call_function":
        return f"function {_get_qualified_name(node.target)}"
    if node.op == "call_method":
        return f"method Tensor.{node.target}"
    return f"{node.op} {node.target}"


# ----------------------------------------------------------------------------- lowering

class _Capture(TransformerOps):
    def __init__(self, gm, g, config):
        self.gm, self.g, self.cfg = gm, g, config
        self.lw = qgraph._Lowerer(g, config)
        self.values = {}          # fx node -> QAct (tensors) or None (shape helpers)
        self.fused = set()        # fx nodes folded into an earlier op
        self.used_gemms = set()
        self.shape_helpers = set()
        self.names = {}

    # -- helpers

    def path(self, node):
        """Module path of node: its target for a module call, else the enclosing module."""
        return node.target if node.op == "call_module" else node.meta.get("dyad_path", "")

    def unique(self, node):
        """A graph-unique name for the op of node: the module path, or for a function
        the enclosing module's path + the fx name; '_k' when a module is called again."""
        if node.op == "call_module":
            base = node.target
        else:
            p = node.meta.get("dyad_path", "")
            base = f"{p}.{node.name}" if p else node.name
        k = self.names.get(base, 0)
        self.names[base] = k + 1
        return base if k == 0 else f"{base}_{k}"

    def fail(self, node, why=None):
        desc = _describe(self.gm, node)
        if node.op != "call_module":
            desc += f" (fx node '{node.name}')"
        raise ExportError(self.path(node), f"{desc} {why or 'has no dyad lowering'}"
                          + ("" if why else f" (supported: {SUPPORTED})"))

    def module(self, node):
        return self.gm.get_submodule(node.target) if node.op == "call_module" else None

    def tensor(self, node, arg):
        if not isinstance(arg, fx.Node) or self.values.get(arg) is None:
            self.fail(node, f"reads {arg!r}, which is not a tensor of the graph (constants, "
                            "parameters and scalars are not supported as operands)")
        return self.values[arg]

    def activation(self, node):
        """The Activation node computes, or None if it is no activation."""
        m = self.module(node)
        if m is not None:
            return _activation_of_module(m)
        if node.op in ("call_function", "call_method"):
            return _activation_of_call(node)
        return None

    def fusable_activation(self, node):
        """(activation node, Activation) when node's only reader is an activation."""
        if len(node.users) != 1:
            return None, None
        u = next(iter(node.users))
        act = self.activation(u)
        return (u, act) if act is not None else (None, None)

    def torch_shape(self, node):
        meta = node.meta.get("tensor_meta")
        return tuple(meta.shape) if meta is not None else None

    # -- the walk

    def run(self):
        out = None
        for node in self.gm.graph.nodes:
            if node in self.fused:
                continue
            if node.op == "placeholder":
                if self.values:
                    self.fail(node, "is a second input; only one image input is supported")
                self.values[node] = self.g.input
            elif node.op == "output":
                res = node.args[0]
                if not isinstance(res, fx.Node):
                    raise ExportError("", f"the model returns {type(res).__name__}; only one "
                                      "output tensor is supported")
                out = self.tensor(node, res)
            else:
                self.values[node] = self.lower(node)
        return out

    def kind(self, node):
        """How node is lowered (a method name of this class), or None if it cannot be."""
        m = self.module(node)
        t = None if m is not None else node.target      # a function or method
        if type(m) in (nn.Conv2d, nn.Linear):
            return "gemm"
        if isinstance(m, (nn.Dropout, nn.Identity)) or t in IDENTITY_CALLS:
            return "identity"
        if self._is_shape_helper(node):
            return "shape_helper"
        if self.activation(node) is not None:
            return "standalone_activation"
        if t in ADD:
            return "add"
        if t in CAT:
            return "cat"
        if type(m) in (nn.MaxPool2d, nn.AvgPool2d) or t in (F.max_pool2d, F.avg_pool2d):
            return "pool"
        if type(m) is nn.AdaptiveAvgPool2d or t is F.adaptive_avg_pool2d:
            return "adaptive_pool"
        if t in (torch.mean, "mean"):
            return "mean"
        if type(m) is nn.Flatten or t in FLATTEN:
            return "flatten"
        if type(m) is nn.BatchNorm2d:
            return "batch_norm"
        return self.transformer_kind(node)

    def check_supported(self):
        """Names the first unsupported node before anything runs."""
        for node in self.gm.graph.nodes:
            if node.op == "get_attr":
                self.fail(node, "reads a parameter or buffer directly; only supported layers "
                                "may hold weights")
            if node.op in ("call_module", "call_function", "call_method"):
                k = self.kind(node)
                if k is None:
                    self.fail(node)
                if k == "shape_helper":
                    self.shape_helpers.add(node)

    def lower(self, node):
        return getattr(self, self.kind(node))(node)

    def identity(self, node):
        return self.tensor(node, node.args[0])

    def shape_helper(self, node):
        return None            # ints for a reshape; flatten() uses the traced shapes

    def batch_norm(self, node):
        """A BatchNorm2d after no conv (pre-activation nets: densenet) becomes a depthwise
        1x1 conv2d of weight 1 with the BatchNorm folded in: a per-channel affine map."""
        bn = self.module(node)
        c = bn.num_features
        conv = nn.Conv2d(c, c, 1, groups=c, bias=False)
        with torch.no_grad():
            conv.weight.fill_(1.0)
        return self.gemm(node, conv, bn)

    def _is_shape_helper(self, node):
        """x.size(0), x.dim(), x.shape, x.shape[0]: ints, not tensors."""
        if node.op == "call_method" and node.target in SHAPE_CALLS:
            return True
        if node.op == "call_function" and node.target is getattr:
            return node.args[1] == "shape"
        if node.op == "call_function" and node.target is operator.getitem:
            return node.args[0] in self.shape_helpers
        return False

    def gemm(self, node, m=None, bn=None):
        """conv2d / fully_connected of module m (default: node's) with BatchNorm bn, or
        the BatchNorm2d that is the conv's only reader, and the activation after it."""
        m = m or self.module(node)
        path = node.target
        if path in self.used_gemms:
            self.fail(node, "is called more than once; shared weights are not supported")
        self.used_gemms.add(path)
        x = self.tensor(node, node.args[0])
        if len(node.args) != 1 or node.kwargs:
            self.fail(node, "is called with extra arguments")
        if x is self.g.input and path not in self.cfg.layers:
            # The image is 8 bit: a layer reading it keeps 8-bit input (weights as set).
            self.cfg.layers[path] = {"w": self.cfg.for_layer(path)["w"], "a": 8}
        last = node
        if bn is None and isinstance(m, nn.Conv2d) and len(node.users) == 1:
            u = next(iter(node.users))
            if type(self.module(u)) is nn.BatchNorm2d:
                bn, last = self.module(u), u
                self.fused.add(u)
        act_node, act = self.fusable_activation(last)
        if act_node is not None:
            self.fused.add(act_node)
            last = act_node
        # A conv / linear whose only reader is an add (or a GELU: int_gelu) hands it the
        # int32 accumulator.
        user = next(iter(last.users)) if len(last.users) == 1 else None
        acc = act is None and user is not None and (
            self._is_add_of_two(user) or (type(m) is nn.Linear and self.is_gelu(user)))
        y = self.lw.gemm(path, m, bn, x, act, acc_out=acc)
        self.values[last] = y
        return y

    def _is_add_of_two(self, node):
        if node.target not in ADD or node.op == "call_module":
            return False
        a, b = _arg(node, 0, "input"), _arg(node, 1, "other")
        return isinstance(a, fx.Node) and isinstance(b, fx.Node) and a is not b \
            and "alpha" not in node.kwargs

    def add(self, node):
        if not self._is_add_of_two(node):
            self.fail(node, "is supported only as the sum of two different tensors (no "
                            "scalar operand, no alpha)")
        a = self.tensor(node, _arg(node, 0, "input"))
        b = self.tensor(node, _arg(node, 1, "other"))
        if list(a.shape) != list(b.shape):
            self.fail(node, f"adds shapes {a.shape} and {b.shape} (NHWC); broadcasting is "
                            "not supported")
        name = self.unique(node)
        act_node, act = self.fusable_activation(node)
        if act_node is not None:
            self.fused.add(act_node)
        y = self._new_act(name + ".out", act)
        y.nchw = a.nchw
        user = next(iter(node.users)) if len(node.users) == 1 else None
        if act is None and user is not None and type(self.module(user)) is nn.LayerNorm:
            y.bits, y.signed = 16, True    # a residual sum for int_layernorm: int16 (I-BERT)
        self.lw.emit(qgraph.AddNode(name, a, b, y, act))
        if act_node is not None:
            self.values[act_node] = y
        return y

    def _new_act(self, name, act):
        nonneg = act is not None and act.nonneg
        y = self.g.new_tensor(name, "act", nonneg=nonneg)
        y.signed = not nonneg or self.cfg.act8_signed
        return y

    def standalone_activation(self, node):
        act = self.activation(node)
        x = self.tensor(node, node.args[0])
        name = self.unique(node)
        y = self._new_act(name + ".out", act)
        self.lw.emit(qgraph.RequantNode(name, [x], y, act))
        return y

    def cat(self, node):
        parts = _arg(node, 0, "tensors")
        dim = _arg(node, 1, "dim", 0)
        if not isinstance(parts, (list, tuple)) or not isinstance(dim, int):
            self.fail(node, "needs a list of tensors and a constant dim")
        xs = [self.tensor(node, p) for p in parts]
        if dim % len(xs[0].shape) == 0:
            self.fail(node, "concatenates along the batch dimension")
        name = self.unique(node)
        nonneg = all(x.root().nonneg for x in xs)
        y = self.g.new_tensor(name + ".out", "act", nonneg=nonneg)
        y.signed = not nonneg or self.cfg.act8_signed
        ins = []
        for i, x in enumerate(xs):
            r = self.g.new_tensor(f"{name}.in{i}", "alias", source=y)
            self.lw.emit(qgraph.RequantNode(f"{name}.requant{i}", [x], r))
            ins.append(r)
        # The requantizes read the concat's scale, which observes the concatenation.
        self.lw.emit(_ObservedConcat(name, ins, y, dim))
        return y

    def pool(self, node):
        m = self.module(node)
        if m is None:       # F.max_pool2d / F.avg_pool2d: the module of the same arguments
            cls = nn.MaxPool2d if node.target is F.max_pool2d else nn.AvgPool2d
            try:
                m = cls(*node.args[1:], **node.kwargs)
            except TypeError as e:
                self.fail(node, f"has arguments the exporter cannot read: {e}")
        return self.lw.pool(self.unique(node), m, self.tensor(node, node.args[0]))

    def adaptive_pool(self, node):
        m = self.module(node)
        size = m.output_size if m is not None else _arg(node, 1, "output_size")
        x = self.tensor(node, node.args[0])
        oh, ow = qgraph._pair(size)
        _, h, w, _ = x.shape
        oh, ow = oh or h, ow or w           # None keeps the input size
        if (oh, ow) == (1, 1):
            return self.lw.simple(qgraph.GlobalAvgPoolNode, self.unique(node), x)
        if h % oh or w % ow:
            self.fail(node, f"pools a {h}x{w} map to {oh}x{ow}; only 1x1 or an even division "
                            "is supported")
        if (oh, ow) == (h, w):
            return x
        return self.lw.pool(self.unique(node), nn.AvgPool2d((h // oh, w // ow)), x)

    def mean(self, node):
        x = self.tensor(node, node.args[0])
        dims = _arg(node, 1, "dim")
        keep = _arg(node, 2, "keepdim", False)
        dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
        if len(x.shape) != 4 or sorted(d % 4 for d in dims) != [2, 3]:
            self.fail(node, "is supported only over the spatial dims (2, 3) of a 4-d map")
        name = self.unique(node)
        y = self.lw.simple(qgraph.GlobalAvgPoolNode, name, x)
        if keep:
            return y
        flat = self.g.new_tensor(name + ".flat", "alias", source=y)
        self.lw.emit(qgraph.ReshapeNode(name + ".flatten", [y], flat))
        return flat

    def flatten(self, node):
        x = self.tensor(node, node.args[0])
        in_shape = self.torch_shape(node.args[0])
        out_shape = self.torch_shape(node)
        if out_shape == in_shape:
            return x
        if torch_order(x) and len(in_shape) != 2:
            self._ordered(node, x)
            return self.reshape_tokens(node, x, out_shape)
        if len(out_shape) == 2 and out_shape[0] == in_shape[0] and len(in_shape) == 4:
            name = self.unique(node)
            if in_shape[2] * in_shape[3] != 1:
                # dyad's map is NHWC: torch's flatten order (C, H, W) needs a transpose
                nchw = self.g.new_tensor(name + ".nchw", "alias", source=x)
                nchw.nchw = True
                self.lw.emit(qgraph.ToNCHWNode(name + ".to_nchw", [x], nchw))
                x = nchw
            return self.lw.simple(qgraph.ReshapeNode, name, x)
        self.fail(node, f"reshapes {list(in_shape)} to {list(out_shape)}; only flattening to "
                        "[N, features] is supported")


class _ObservedConcat(qgraph.ConcatNode):
    """The concat that also calibrates its output (the requantizes before it read that
    scale but observe nothing)."""

    def run(self, env, mode):
        v = super().run(env, "float")
        if mode in ("observe", "qat"):
            self.output.root().observer.observe(v, signed=self.output.root().signed)
        return v


# ----------------------------------------------------------------------------- API

def capture(model, config, input_shape, input_dtype="int8", input_scale=None,
            input_name="image", output_name="logits"):
    """Lowers any traceable module made of supported layers into a QGraph.

    input_shape: NCHW (batch 1 for the exported model), or [N, T, D] for a token
    input. The input is the model's float input quantized per tensor, zero point 0: `uint8` for nonnegative
    images (input_scale defaults to 1/255, as the Fashion-MNIST models), `int8`
    for normalized images (input_scale from calibration() when None).
    Raises ExportError naming the first unsupported module or function.
    """
    if input_dtype not in ("int8", "uint8"):
        raise ValueError(f"input dtype {input_dtype!r}: int8 or uint8")
    gm = trace(model)
    wanted = list(config.layers)
    config = qgraph.BitConfig(config.default, config.layers, config.act8_signed)  # own copy
    if input_scale is None and input_dtype == "uint8":
        input_scale = 1.0 / 255
    g = qgraph.QGraph(model, input_name, input_scale or 1.0, input_shape)
    if input_dtype == "int8":
        g.input.signed, g.input.nonneg = True, False
        if input_scale is None:
            g.input.fixed_scale = None     # set by calibrate()
    cap = _Capture(gm, g, config)
    cap.check_supported()
    try:
        ShapeProp(gm).propagate(torch.zeros(tuple(input_shape)))
    except Exception as e:
        raise ExportError("", f"the traced model does not run on an input of shape "
                          f"{list(input_shape)}: {type(e).__name__}: {e}") from e
    out = cap.run()
    for key in wanted:          # a misspelt layer must not pass silently
        if not any(p == key or (key.endswith(".") and p.startswith(key))
                   for p in cap.used_gemms):
            raise ExportError(key, "is named in the bit config but is no Conv2d or Linear "
                              "of the model")
    return qgraph.finish(g, out, config, model, output_name)


def calibrate(g, batches):
    """Calibrates the activation scales on float NCHW batches (the model's input
    domain); an int8 input without a given scale gets max|x| / 127 (mean of the
    per-batch maxima, as every activation)."""
    batches = list(batches)
    if g.input.fixed_scale is None:
        obs = qgraph.Observer()
        for x in batches:
            obs.observe(x, signed=True)
        obs.freeze()
        g.input.fixed_scale = qgraph.dyadic.f32(max(obs.value, 1e-8) / 127)
    elif not g.input.signed and min(float(x.min()) for x in batches) < 0:
        raise ExportError("", "the calibration images have negative values but the input "
                          "is uint8; use an int8 input")
    g.calibrate(batches)
