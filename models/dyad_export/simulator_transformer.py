"""Transformer ops of the integer simulator (docs/format.md "int_gelu" ... "transpose").

A mixin of simulator.Model. The I-BERT algorithms are models/ibert_sim's (written
from numerics.md, Python ints, no overflow possible); the plain integer ops
(matmul, embedding, transpose) are numpy, exact in int64 when a bound check
allows it and Python ints otherwise. Nothing here is shared with the C++ engine.
"""
import numpy as np

from ..ibert_sim import gelu, layernorm, softmax
from . import simulator_ibert_fast as fast

TRANSFORMER_OP_ATTRS = {
    "int_gelu": {"b_int", "c_int", "shift_int"},
    "int_softmax": {"x0_int", "b_int", "c_int", "act_multiplier", "act_shift", "act16_scale"},
    "int_layernorm": {"shift", "bias_int"},
    "matmul": {"transpose_b", "activation", "clamp", "multiplier", "shift"},
    "embedding": set(),
    "transpose": {"perm"},
}
SOFTMAX_CONSTANTS = ("x0_int", "b_int", "c_int", "act_multiplier", "act_shift")
SAFE = 1 << 62

_gelu_elements = np.frompyfunc(gelu.int_gelu_element, 4, 1)


def _sim():
    from . import simulator  # circular at import time; resolved at call time
    return simulator


def _per_channel(value, channels, where):
    v = np.atleast_1d(np.asarray(value, dtype=object))
    if v.size == 1:
        return np.full(channels, v[0], dtype=object)
    if v.size != channels:
        raise _sim().SimError(f"{where}: {v.size} entries for {channels} channels")
    return v


def _check_range(values, lo, hi, where):
    for v in np.atleast_1d(values):
        if not lo <= int(v) <= hi:
            raise _sim().SimError(f"{where}: {int(v)} outside [{lo}, {hi}]")


class TransformerOps:
    """op_* methods for simulator.Model; `self` provides tensors, consts, scale()."""

    def _value(self, name, env):
        return env[name] if name in env else self.consts[name]

    def op_int_gelu(self, n, env):
        xn = n["inputs"][0]
        x = env[xn]
        a = n.get("attrs", {})
        C = x.shape[-1]
        where = f"node {n['name']!r}"
        if any(k in a for k in ("b_int", "c_int", "shift_int")):
            b = _per_channel(a["b_int"], C, where + " b_int")
            c = _per_channel(a["c_int"], C, where + " c_int")
            s = _per_channel(a["shift_int"], C, where + " shift_int")
        else:
            scales = np.atleast_1d(self.scale(xn))
            consts = [gelu.gelu_constants(scales[0] if scales.size == 1 else scales[ch])
                      for ch in range(C)]
            b = np.array([k["b_int"] for k in consts], dtype=object)
            c = np.array([k["c_int"] for k in consts], dtype=object)
            s = np.array([k["shift_int"] for k in consts], dtype=object)
        _check_range(b, -(1 << 31), 0, where + " b_int")
        _check_range(c, -(1 << 62), 0, where + " c_int")
        _check_range(s, -(1 << 62), 0, where + " shift_int")
        y = fast.int_gelu(x, b, c, s) if x.dtype != object else None
        if y is None:       # operands too large for the int64 path: Python ints
            y = _gelu_elements(x.astype(object), b, c, s)
        return _sim()._narrow(y)

    def _softmax_constants(self, n):
        a = n.get("attrs", {})
        where = f"node {n['name']!r}"
        if any(k in a for k in SOFTMAX_CONSTANTS):
            k = {"x0_int": a["x0_int"], "b_int": a["b_int"], "c_int": a["c_int"],
                 "M": a["act_multiplier"], "E": a["act_shift"]}
        else:
            scale = np.atleast_1d(self.scale(n["inputs"][0]))
            if scale.size != 1:
                raise _sim().SimError(f"{where}: deriving the constants needs one scale")
            k = softmax.softmax_constants_from_act_scale(float(scale[0]), a["act16_scale"])
        _check_range([k["x0_int"]], -(1 << 31), -1, where + " x0_int")
        _check_range([k["b_int"]], -(1 << 31), 1 << 31, where + " b_int")
        _check_range([k["c_int"]], -(1 << 62), 1 << 62, where + " c_int")
        _check_range([k["M"]], 0, (1 << 63) - 1, where + " act_multiplier")
        _check_range([k["E"]], 0, 255, where + " act_shift")
        return k

    def op_int_softmax(self, n, env):
        x = env[n["inputs"][0]]
        L = x.shape[-1]
        consts = self._softmax_constants(n)
        keep = np.ones(x.shape, dtype=bool)
        if len(n["inputs"]) > 1 and n["inputs"][1]:
            mask = np.asarray(self._value(n["inputs"][1], env))
            ok = mask.ndim == x.ndim and mask.shape[-1] == L and all(
                m in (1, d) for m, d in zip(mask.shape[:-1], x.shape[:-1]))
            if not ok:
                raise _sim().SimError(f"node {n['name']!r}: mask shape {mask.shape} does not "
                                      f"fit scores {x.shape}")
            keep = np.broadcast_to(mask != 0, x.shape)
        y = fast.int_softmax(x, keep, consts) if x.dtype != object else None
        if y is not None:
            return y
        rows = x.reshape(-1, L).tolist()
        keeps = keep.reshape(-1, L).tolist()
        y = [softmax.int_softmax_row(r, consts, k)[0] for r, k in zip(rows, keeps)]
        return np.asarray(y, dtype=np.int64).reshape(x.shape)

    def op_int_layernorm(self, n, env):
        x = env[n["inputs"][0]]
        # The input's zero point is taken off first (docs/format.md int_layernorm).
        zx = int(np.atleast_1d(self.tensors[n["inputs"][0]].get("zero_point", 0))[0])
        if zx != 0:
            x = x.astype(np.int64) - zx
        a = n["attrs"]
        C = x.shape[-1]
        where = f"node {n['name']!r}"
        bias = [int(v) for v in _per_channel(a["bias_int"], C, where + " bias_int")]
        _check_range(bias, -(1 << 62), 1 << 62, where + " bias_int")
        _check_range([a["shift"]], 0, 62, where + " shift")
        y = fast.int_layernorm(x, a["shift"], bias) if x.dtype != object else None
        if y is not None:
            return y
        rows = [[int(v) for v in r] for r in x.reshape(-1, C).tolist()]
        y = [layernorm.int_layernorm_row(r, a["shift"], bias) for r in rows]
        return _sim()._narrow(np.asarray(y, dtype=object).reshape(x.shape))

    def op_matmul(self, n, env):
        sim = _sim()
        an, bn = n["inputs"]
        yn = n["outputs"][0]
        attrs = n.get("attrs", {})
        va, vb = self._value(an, env), self._value(bn, env)
        if va.ndim < 2 or va.ndim != vb.ndim or va.shape[:-2] != vb.shape[:-2]:
            raise sim.SimError(f"node {n['name']!r}: shapes {va.shape} and {vb.shape}")
        da = va - self.zp_last(an, va.ndim)
        db = vb - self.zp_last(bn, vb.ndim)
        if attrs.get("transpose_b", False):
            db = np.swapaxes(db, -1, -2)
        K = da.shape[-1]
        if db.shape[-2] != K:
            raise sim.SimError(f"node {n['name']!r}: inner dimensions {K} and {db.shape[-2]}")
        dt = np.int64 if sim._maxabs(da) * sim._maxabs(db) * K < SAFE else object
        acc = np.matmul(da.astype(dt), db.astype(dt))
        if self.tensors[yn]["dtype"] == "int32" and "multiplier" not in attrs:
            if attrs.get("activation", "none") != "none":
                raise sim.SimError(f"node {n['name']!r}: int32 output cannot have an activation")
            if sim._maxabs(acc) > (1 << 31) - 1:
                raise sim.SimError(f"node {n['name']!r}: accumulator exceeds int32")
            return sim._narrow(acc)
        ratios = None
        if "multiplier" not in attrs:
            ratios = sim._f32(self.scale(an) * self.scale(bn)) / sim._f32(self.scale(yn))
        return self._requant_out(sim._narrow(acc), attrs, yn, ratios, n["name"])

    def op_embedding(self, n, env):
        idn, tn = n["inputs"]
        ids = np.asarray(self._value(idn, env), dtype=np.int64)
        table = self._const(tn, n["name"])
        bad = np.flatnonzero((ids < 0) | (ids >= table.shape[0]))
        if bad.size:
            p = int(bad[0])
            raise _sim().SimError(f"node {n['name']!r}: id {int(ids.reshape(-1)[p])} at position "
                                  f"{p} is outside [0, {table.shape[0]})")
        return table[ids]

    def op_transpose(self, n, env):
        perm = [int(p) for p in n["attrs"]["perm"]]
        x = env[n["inputs"][0]]
        if sorted(perm) != list(range(x.ndim)):
            raise _sim().SimError(f"node {n['name']!r}: perm {perm} for rank {x.ndim}")
        return np.transpose(x, perm)
