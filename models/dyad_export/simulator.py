"""Integer simulator of dyad models, written from docs/format.md alone.

It shares no code with the exporter or the C++ engine, so it is an independent
reading of the spec. The I-BERT ops (int_gelu, int_softmax, int_layernorm) run
the integer algorithms of models/ibert_sim, written from numerics.md
(simulator_transformer.py). Integers are numpy int64 when a bound check proves that no
intermediate can overflow, and Python ints (object arrays) otherwise; rounding
is the exact round-half-to-even of x * m / 2^e.

Extension for speed (not in the spec): a graph input may be fed with a larger
batch (first dimension) than its declared shape; every op is batch-agnostic.

    m = Model("models/fmnist/resnet_int8.json")
    out = m.run({"image": images_uint8_nhwc})["logits"]
"""
import json
import os

import numpy as np

from ..ibert_sim import dyadic as ibert_dyadic
from .simulator_transformer import TRANSFORMER_OP_ATTRS, TransformerOps

try:
    import torch
except ImportError:      # the numpy path is complete on its own
    torch = None

RANGES = {
    "int4": (-8, 7), "uint4": (0, 15), "int8": (-128, 127), "uint8": (0, 255),
    "int16": (-(1 << 15), (1 << 15) - 1), "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}
STORAGE = {"int8": "<i1", "uint8": "<u1", "int16": "<i2", "int32": "<i4", "int64": "<i8"}
ACT_ATTRS = {"activation", "clamp", "multiplier", "shift"}
CONV_ATTRS = ACT_ATTRS | {"stride", "dilation", "padding", "groups"}
OP_ATTRS = {
    "conv2d": CONV_ATTRS,
    "fully_connected": ACT_ATTRS,
    "add": {"activation", "clamp", "a_multiplier", "a_shift", "b_multiplier", "b_shift"},
    "max_pool": {"kernel", "stride", "padding"},
    "average_pool": {"kernel", "stride", "padding"},
    "global_average_pool": {"keepdims"},
    "concat": {"axis"},
    "reshape": {"shape"},
    "requantize": ACT_ATTRS,
    **TRANSFORMER_OP_ATTRS,
}
SAFE = 1 << 62            # int64 fast paths require magnitudes below this
F32_EXACT = 1 << 24       # float32 holds every integer of magnitude <= 2^24


class SimError(Exception):
    pass


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


# --------------------------------------------------------------------------- arithmetic

def _f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32).astype(np.float64)


def _frexp_dyadic(r):
    """numerics.md 2.1 (models/ibert_sim's batch_frexp); m = 2^31 is kept, as HF does:
    (2^31, e) is the same value as the stored form (2^30, e - 1)."""
    return ibert_dyadic.frexp_dyadic(float(r))


def _maxabs(a):
    a = np.asarray(a)
    if a.size == 0:
        return 0
    return max(abs(int(a.max())), abs(int(a.min())))


def _rne_py(t, e):
    t, e = int(t), int(e)
    if e <= 0:
        return t << -e
    q = t >> e
    rem = t - (q << e)
    half = 1 << (e - 1)
    return q + (1 if rem > half or (rem == half and q & 1) else 0)


_rne_obj = np.frompyfunc(_rne_py, 2, 1)


def rne_scale(x, m, e):
    """Exact rne(x * m / 2^e), elementwise with broadcasting; returns int64 if it fits."""
    x = np.asarray(x)
    m = np.asarray(m, dtype=np.int64)
    e = np.asarray(e, dtype=np.int64)
    if (x.dtype != object and e.size and 1 <= e.min() and e.max() <= 62
            and _maxabs(x) * max(_maxabs(m), 1) < SAFE):
        # t = p + 2^(e-1); floor(t / 2^e) rounds half up; on an exact tie (t divisible
        # by 2^e) step back to the even neighbour.
        t = x.astype(np.int64) * m + (np.int64(1) << (e - 1))
        q = t >> e
        tie = (t & ((np.int64(1) << e) - 1)) == 0
        return q - (tie & ((q & 1) == 1))
    prod = x.astype(object) * m.astype(object)
    out = _rne_obj(prod, e.astype(object))
    return _narrow(out)


def _narrow(a):
    """object array of Python ints -> int64 when every value fits."""
    a = np.asarray(a)
    if a.dtype != object:
        return a
    if a.size == 0 or (_maxabs(a) < (1 << 63)):
        return a.astype(np.int64)
    return a


# --------------------------------------------------------------------------- the model

class Model(TransformerOps):
    """A dyad model loaded from JSON (+ .bin), validated enough to catch exporter bugs."""

    def __init__(self, json_path):
        self.path = json_path
        with open(json_path) as f:
            doc = json.load(f)
        self.doc = doc
        self._check_fields(doc, {"format", "version", "name", "metadata", "weights", "inputs",
                                 "outputs", "tensors", "nodes"}, "top level")
        if doc.get("format") != "dyad":
            raise SimError(f"{json_path}: format is {doc.get('format')!r}, not 'dyad'")
        major = int(str(doc.get("version", "")).split(".")[0])
        if major != 1:
            raise SimError(f"{json_path}: version {doc.get('version')} not supported (1.x)")
        self.metadata = doc.get("metadata", {})
        blob = b""
        if "weights" in doc:
            wdesc = doc["weights"]
            self._check_fields(wdesc, {"file", "bytes", "fnv1a64"}, "weights")
            wpath = os.path.join(os.path.dirname(json_path) or ".", wdesc["file"])
            with open(wpath, "rb") as f:
                blob = f.read()
            if len(blob) != wdesc["bytes"]:
                raise SimError(f"{wpath}: {len(blob)} bytes, weights.bytes says {wdesc['bytes']}")
            got = f"{fnv1a64(blob):016x}"
            if got != wdesc["fnv1a64"]:
                raise SimError(f"{wpath}: fnv1a64 {got} != weights.fnv1a64 {wdesc['fnv1a64']}")
        self.tensors, self.consts = {}, {}
        for t in doc["tensors"]:
            self._add_tensor(t, blob)
        self.inputs, self.outputs = list(doc["inputs"]), list(doc["outputs"])
        self.nodes = self._toposort(doc["nodes"])
        for n in self.nodes:
            if n["op"] in ("conv2d", "fully_connected"):
                self._check_acc_bound(n)

    @staticmethod
    def _check_fields(obj, allowed, where):
        extra = set(obj) - allowed
        if extra:
            raise SimError(f"{where}: unknown field(s) {sorted(extra)}")

    def _add_tensor(self, t, blob):
        self._check_fields(t, {"name", "dtype", "shape", "scale", "zero_point", "axis", "data",
                               "values"}, f"tensor {t.get('name')!r}")
        name = t["name"]
        if name in self.tensors:
            raise SimError(f"tensor {name!r}: duplicate name")
        dt = t["dtype"]
        if dt not in RANGES:
            raise SimError(f"tensor {name!r}: unknown dtype {dt!r}")
        for key in ("scale", "zero_point"):
            v = t.get(key)
            if isinstance(v, list) and len(v) > 1:
                if "axis" not in t:
                    raise SimError(f"tensor {name!r}: per-channel {key} without axis")
                if "shape" in t and len(v) != t["shape"][t["axis"]]:
                    raise SimError(f"tensor {name!r}: {key} has {len(v)} entries, "
                                   f"shape[axis] = {t['shape'][t['axis']]}")
        s = t.get("scale")
        if s is not None and not all(np.isfinite(np.atleast_1d(s))) or \
                (s is not None and any(v == 0 for v in np.atleast_1d(s))):
            raise SimError(f"tensor {name!r}: scale must be finite and nonzero")
        zp = np.atleast_1d(t.get("zero_point", 0))
        lo, hi = RANGES[dt]
        if zp.min() < lo or zp.max() > hi:
            raise SimError(f"tensor {name!r}: zero_point outside {dt} range")
        self.tensors[name] = t
        if "data" in t or "values" in t:
            shape = t["shape"]
            count = int(np.prod(shape)) if shape else 1
            if "data" in t:
                off, nbytes = t["data"]["offset"], t["data"]["bytes"]
                if off % 64:
                    raise SimError(f"tensor {name!r}: data.offset {off} not a multiple of 64")
                packed = (count + 1) // 2 if dt in ("int4", "uint4") else \
                    count * np.dtype(STORAGE[dt]).itemsize
                if nbytes != packed:
                    raise SimError(f"tensor {name!r}: data.bytes {nbytes}, expected {packed}")
                if off + nbytes > len(blob):
                    raise SimError(f"tensor {name!r}: data runs past the weights file")
                raw = blob[off:off + nbytes]
                if dt in ("int4", "uint4"):
                    b = np.frombuffer(raw, dtype=np.uint8)
                    nib = np.empty(2 * len(b), dtype=np.int64)
                    nib[0::2] = b & 0xF
                    nib[1::2] = b >> 4
                    vals = nib[:count]
                    if dt == "int4":
                        vals = np.where(vals >= 8, vals - 16, vals)
                else:
                    vals = np.frombuffer(raw, dtype=STORAGE[dt]).astype(np.int64)
            else:
                vals = np.asarray(t["values"], dtype=np.int64)
                if vals.size != count:
                    raise SimError(f"tensor {name!r}: {vals.size} values for shape {shape}")
                if vals.size and (vals.min() < lo or vals.max() > hi):
                    raise SimError(f"tensor {name!r}: values outside {dt} range")
            self.consts[name] = vals.reshape(shape)

    def _toposort(self, nodes):
        produced = {}
        for n in nodes:
            self._check_fields(n, {"name", "op", "inputs", "outputs", "attrs"},
                               f"node {n.get('name')!r}")
            if n["op"] not in OP_ATTRS:
                raise SimError(f"node {n['name']!r}: unknown op {n['op']!r}")
            bad = set(n.get("attrs", {})) - OP_ATTRS[n["op"]]
            if bad:
                raise SimError(f"node {n['name']!r}: unknown attrs {sorted(bad)}")
            for o in n["outputs"]:
                if o in produced:
                    raise SimError(f"tensor {o!r} produced twice")
                produced[o] = n
        order, done, visiting = [], set(), set()

        def visit(n):
            if n["name"] in done:
                return
            if n["name"] in visiting:
                raise SimError(f"node {n['name']!r}: cycle")
            visiting.add(n["name"])
            for i in n["inputs"]:
                if i and i in produced:
                    visit(produced[i])
            visiting.discard(n["name"])
            done.add(n["name"])
            order.append(n)

        for n in nodes:
            visit(n)
        return order

    def _check_acc_bound(self, n):
        """docs/format.md conv2d: |b[o]| + max|x - z_x| * sum|w[o]| <= 2^31 - 1."""
        xt = self.tensors[n["inputs"][0]]
        lo, hi = RANGES[xt["dtype"]]
        zp = np.atleast_1d(np.asarray(xt.get("zero_point", 0), dtype=np.int64))
        xmax = max(hi - int(zp.min()), int(zp.max()) - lo)
        w = self._const(n["inputs"][1], n["name"])
        wsum = np.abs(w.reshape(w.shape[0], -1)).sum(1)
        bn = n["inputs"][2] if len(n["inputs"]) > 2 else ""
        b = np.abs(self._const(bn, n["name"])) if bn else np.zeros_like(wsum)
        worst = int((b + xmax * wsum).max())
        if worst > (1 << 31) - 1:
            raise SimError(f"node {n['name']!r}: accumulator can reach {worst} > 2^31 - 1")

    # ------------------------------------------------------------------ helpers

    def scale(self, name):
        return np.asarray(self.tensors[name]["scale"], dtype=np.float64)

    def zp_last(self, name, ndim):
        """Zero point of an activation, broadcastable along the last axis."""
        zp = np.asarray(self.tensors[name].get("zero_point", 0), dtype=np.int64)
        return zp.reshape((1,) * (ndim - 1) + (-1,)) if zp.ndim else zp

    def _const(self, name, op_name):
        if name not in self.consts:
            raise SimError(f"node {op_name!r}: {name!r} must be a constant")
        return self.consts[name]

    def _activation_bounds(self, attrs, yname):
        t = self.tensors[yname]
        lo, hi = RANGES[t["dtype"]]
        zy = np.asarray(t.get("zero_point", 0), dtype=np.int64)
        act = attrs.get("activation", "none")
        lo_a, hi_a = np.int64(lo), np.int64(hi)
        if act == "relu":
            lo_a = np.maximum(lo_a, zy)
        elif act == "relu6":
            six = np.asarray([round(6.0 / s) for s in np.atleast_1d(self.scale(yname))],
                             dtype=np.int64)        # round() is half-to-even
            lo_a = np.maximum(lo_a, zy)
            hi_a = np.minimum(hi_a, zy + (six if six.size > 1 else six[0]))
        elif act == "clamp":
            c = attrs["clamp"]
            lo_a, hi_a = np.maximum(lo_a, c[0]), np.minimum(hi_a, c[1])
        elif act != "none":
            raise SimError(f"unknown activation {act!r}")
        return lo_a, hi_a

    def _requant_out(self, acc, attrs, yname, ratios, op_name, mkey="multiplier", skey="shift"):
        """clamp(z_y + rne(acc * m / 2^e)), constants per channel along the last axis."""
        m, e = self._constants(attrs, ratios, mkey, skey, op_name)
        y = rne_scale(acc, m, e)
        zy = self.zp_last(yname, acc.ndim)
        lo, hi = self._activation_bounds(attrs, yname)
        return _narrow(np.clip(_narrow(y + zy), lo, hi))

    @staticmethod
    def _constants(attrs, ratios, mkey, skey, op_name):
        if mkey in attrs:
            m = np.atleast_1d(np.asarray(attrs[mkey], dtype=np.int64))
            e = np.atleast_1d(np.asarray(attrs[skey], dtype=np.int64))
        else:
            pairs = [_frexp_dyadic(r) for r in np.atleast_1d(ratios)]
            m = np.asarray([p[0] for p in pairs], dtype=np.int64)
            e = np.asarray([p[1] for p in pairs], dtype=np.int64)
        if m.min() < -(1 << 31) or m.max() > (1 << 31) or e.min() < -62 or e.max() > 255:
            raise SimError(f"node {op_name!r}: {mkey}/{skey} out of range")
        return m, e

    # ------------------------------------------------------------------ ops

    def _gemm_out(self, n, acc, x, w, y):
        attrs = n.get("attrs", {})
        if self.tensors[y]["dtype"] == "int32" and "multiplier" not in attrs:
            if attrs.get("activation", "none") != "none":
                raise SimError(f"node {n['name']!r}: int32 output cannot have an activation")
            lo, hi = RANGES["int32"]
            if _maxabs(acc) > hi:
                raise SimError(f"node {n['name']!r}: accumulator exceeds int32")
            return _narrow(acc)
        ratios = None
        if "multiplier" not in attrs:
            ratios = _f32(self.scale(x) * np.atleast_1d(self.scale(w))) / _f32(self.scale(y))
        return self._requant_out(acc, attrs, y, ratios, n["name"])

    def op_conv2d(self, n, env):
        xn, wn = n["inputs"][0], n["inputs"][1]
        bn = n["inputs"][2] if len(n["inputs"]) > 2 else ""
        a = n.get("attrs", {})
        x = env[xn]
        w = self._const(wn, n["name"])
        N, H, W, C = x.shape
        O, KH, KW, CG = w.shape
        g = a.get("groups", 1)
        if C % g or O % g or C // g != CG:
            raise SimError(f"node {n['name']!r}: channels {C}/{O} do not fit groups {g}")
        sh, sw = _two(a.get("stride", 1))
        dh, dw = _two(a.get("dilation", 1))
        p = a.get("padding", 0)
        pt, pl, pb, pr = (p, p, p, p) if isinstance(p, int) else p
        xs = x.astype(np.int64) - self.zp_last(xn, 4)   # padded value z_x contributes 0
        xs = np.pad(xs, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        OH = (H + pt + pb - dh * (KH - 1) - 1) // sh + 1
        OW = (W + pl + pr - dw * (KW - 1) - 1) // sw + 1
        b = self._const(bn, n["name"]) if bn else np.zeros(O, np.int64)
        prod_bound = _maxabs(xs) * _maxabs(w) * KH * KW * CG
        if torch is not None and prod_bound < F32_EXACT:
            acc = _conv_f32_exact(xs, w, (sh, sw), (dh, dw), g) + b
            return self._gemm_out(n, acc, xn, wn, n["outputs"][0])
        bound = prod_bound + _maxabs(b)
        dt = np.int64 if bound < SAFE else object
        # im2col: columns ordered (kh, kw, c) like the OHWI weight rows.
        cols = [xs[:, kh * dh: kh * dh + sh * (OH - 1) + 1: sh,
                   kw * dw: kw * dw + sw * (OW - 1) + 1: sw, :].reshape(N, OH, OW, g, 1, CG)
                for kh in range(KH) for kw in range(KW)]
        patches = np.concatenate(cols, axis=4).reshape(N * OH * OW, g, KH * KW * CG).astype(dt)
        wg = w.reshape(g, O // g, KH * KW * CG).astype(dt)
        if g == 1:
            acc = patches[:, 0, :] @ wg[0].T
        else:
            acc = np.einsum("pgk,gok->pgo", patches, wg)
        acc = acc.reshape(N, OH, OW, O) + b.astype(dt)
        return self._gemm_out(n, acc, xn, wn, n["outputs"][0])

    def op_fully_connected(self, n, env):
        xn, wn = n["inputs"][0], n["inputs"][1]
        bn = n["inputs"][2] if len(n["inputs"]) > 2 else ""
        x = env[xn]
        w = self._const(wn, n["name"])
        b = self._const(bn, n["name"]) if bn else np.zeros(w.shape[0], np.int64)
        xs = x.astype(np.int64) - self.zp_last(xn, x.ndim)
        bound = _maxabs(xs) * _maxabs(w) * w.shape[1] + _maxabs(b)
        dt = np.int64 if bound < SAFE else object
        acc = xs.astype(dt) @ w.T.astype(dt) + b.astype(dt)
        return self._gemm_out(n, acc, xn, wn, n["outputs"][0])

    def op_add(self, n, env):
        an, bn = n["inputs"]
        y = n["outputs"][0]
        a = n.get("attrs", {})
        va, vb = self._value(an, env), self._value(bn, env)    # constants allowed
        if va.shape[1:] == vb.shape[1:] and 1 in (va.shape[0], vb.shape[0]):
            va, vb = np.broadcast_arrays(va, vb)   # a batch-1 constant joins a fed batch
        if va.shape != vb.shape:
            raise SimError(f"node {n['name']!r}: shapes {va.shape} and {vb.shape} differ")
        s_y = _f32(self.scale(y))
        parts = []
        for key, name, v in (("a", an, va), ("b", bn, vb)):
            ratios = None if f"{key}_multiplier" in a else np.atleast_1d(self.scale(name)) / s_y
            m, e = self._constants(a, ratios, f"{key}_multiplier", f"{key}_shift", n["name"])
            parts.append(rne_scale(_narrow(v - self.zp_last(name, v.ndim)), m, e))
        total = _narrow(parts[0] + parts[1] + self.zp_last(y, va.ndim))
        lo, hi = self._activation_bounds(a, y)
        return _narrow(np.clip(total, lo, hi))

    def op_requantize(self, n, env):
        xn, y = n["inputs"][0], n["outputs"][0]
        x = env[xn]
        a = n.get("attrs", {})
        ratios = None
        if "multiplier" not in a:
            ratios = np.atleast_1d(self.scale(xn)) / _f32(self.scale(y))
        return self._requant_out(_narrow(x - self.zp_last(xn, x.ndim)), a, y, ratios, n["name"])

    def _windows(self, n, x):
        a = n["attrs"]
        kh, kw = _two(a["kernel"])
        sh, sw = _two(a.get("stride", [kh, kw]))
        p = a.get("padding", 0)
        pt, pl, pb, pr = (p, p, p, p) if isinstance(p, int) else p
        N, H, W, C = x.shape
        OH = (H + pt + pb - kh) // sh + 1
        OW = (W + pl + pr - kw) // sw + 1
        valid = np.pad(np.ones((H, W), bool), ((pt, pb), (pl, pr)))
        xp = np.pad(x.astype(np.int64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        for i in range(kh):
            for j in range(kw):
                yield (xp[:, i: i + sh * (OH - 1) + 1: sh, j: j + sw * (OW - 1) + 1: sw, :],
                       valid[i: i + sh * (OH - 1) + 1: sh, j: j + sw * (OW - 1) + 1: sw])

    def op_max_pool(self, n, env):
        best = None
        for v, ok in self._windows(n, env[n["inputs"][0]]):
            v = np.where(ok[None, :, :, None], v, np.iinfo(np.int64).min)
            best = v if best is None else np.maximum(best, v)
        if best.size and best.min() == np.iinfo(np.int64).min:
            raise SimError(f"node {n['name']!r}: a window has no valid position")
        return best

    def op_average_pool(self, n, env):
        total, count = None, None
        for v, ok in self._windows(n, env[n["inputs"][0]]):
            v = np.where(ok[None, :, :, None], v, 0)
            c = ok.astype(np.int64)[None, :, :, None]
            total = v if total is None else total + v
            count = c if count is None else count + c
        if count.min() == 0:
            raise SimError(f"node {n['name']!r}: a window has no valid position")
        return total // count                           # floor

    def op_global_average_pool(self, n, env):
        x = env[n["inputs"][0]].astype(np.int64)
        hw = x.shape[1] * x.shape[2]
        y = x.sum(axis=(1, 2), keepdims=True) // hw     # floor
        if not n.get("attrs", {}).get("keepdims", True):
            y = y.reshape(x.shape[0], x.shape[3])
        return y

    def op_concat(self, n, env):
        axis = n["attrs"]["axis"]
        first = self.tensors[n["inputs"][0]]
        for i in n["inputs"][1:]:
            t = self.tensors[i]
            if (t["dtype"], t.get("scale"), t.get("zero_point", 0)) != \
                    (first["dtype"], first.get("scale"), first.get("zero_point", 0)):
                raise SimError(f"node {n['name']!r}: input {i!r} quantization differs")
        parts = [self._value(i, env) for i in n["inputs"]]          # constants allowed
        batch = max(p.shape[0] for p in parts)     # a constant joins a larger fed batch
        parts = [np.broadcast_to(p, (batch,) + p.shape[1:]) if p.shape[0] != batch else p
                 for p in parts]
        return np.concatenate(parts, axis=axis)

    def op_reshape(self, n, env):
        x = env[n["inputs"][0]]
        return x.reshape(n["attrs"]["shape"])

    # ------------------------------------------------------------------ run

    def run(self, feeds, keep_all=False):
        """feeds: {input name: integer array}. Returns {output name: int64 array}
        (every tensor when keep_all)."""
        env = {}
        for name in self.inputs:
            if name not in feeds:
                raise SimError(f"missing input {name!r}")
            t = self.tensors[name]
            x = np.asarray(feeds[name])
            lo, hi = RANGES[t["dtype"]]
            if x.size and (x.min() < lo or x.max() > hi):
                raise SimError(f"input {name!r}: values outside {t['dtype']}")
            if list(x.shape[1:]) != list(t["shape"][1:]) or x.ndim != len(t["shape"]):
                raise SimError(f"input {name!r}: shape {x.shape}, declared {t['shape']}")
            env[name] = x.astype(np.int64)
        batch = next(iter(env.values())).shape[0] if env else None
        for n in self.nodes:
            fn = getattr(self, "op_" + n["op"])
            y = fn(n, env)
            out = n["outputs"][0]
            t = self.tensors[out]
            lo, hi = RANGES[t["dtype"]]
            if y.size and (_maxabs(y) > max(-lo, hi) or y.min() < lo or y.max() > hi):
                raise SimError(f"node {n['name']!r}: output {out!r} outside {t['dtype']}")
            if "shape" in t:
                decl = list(t["shape"])
                got = list(y.shape)
                if decl[1:] != got[1:] or (got[0] != decl[0] and got[0] != batch):
                    raise SimError(f"node {n['name']!r}: output {out!r} shape {got}, "
                                   f"declared {decl}")
            env[out] = y
        if keep_all:
            return env
        return {o: env[o] for o in self.outputs}

    def dequantize(self, name, q):
        """Real values of an integer tensor (per-channel scale along `axis`)."""
        t = self.tensors[name]
        s = np.asarray(t["scale"], dtype=np.float64)
        zp = np.asarray(t.get("zero_point", 0), dtype=np.float64)
        if s.ndim and s.size > 1:
            shape = [1] * q.ndim
            shape[t["axis"]] = -1
            s = s.reshape(shape)
            if zp.ndim and zp.size > 1:
                zp = zp.reshape(shape)
        return (q.astype(np.float64) - zp) * s


def _conv_f32_exact(xs, w, stride, dilation, groups):
    """Convolution of integer tensors with float32 arithmetic (oneDNN via torch), used
    only when sum |x| * |w| over a window < 2^24: then every product and partial sum is
    an integer float32 represents exactly, in any summation order. xs is padded NHWC,
    w is OHWI; returns the int64 accumulator NHWC."""
    x = torch.from_numpy(np.ascontiguousarray(xs.transpose(0, 3, 1, 2), dtype=np.float32))
    wt = torch.from_numpy(np.ascontiguousarray(w.transpose(0, 3, 1, 2), dtype=np.float32))
    with torch.no_grad():
        y = torch.nn.functional.conv2d(x, wt, None, stride, 0, dilation, groups)
    return y.numpy().transpose(0, 2, 3, 1).astype(np.int64)


def _two(v):
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))
