"""Activations fused into the op that writes a tensor (docs/format.md "Fused activation").

An Activation is a clamp in real units: ReLU is [0, inf), ReLU6 (and Hardtanh(0, 6))
is [0, 6], Hardtanh(a, b) / torch.clamp(min=a, max=b) is [a, b]. It runs in float
for calibration, gives the integer bounds for fake quantization, and writes the
node's `activation` (and `clamp`) attrs, all three from the same numbers.
"""
import torch


class Activation:
    def __init__(self, kind, lo=None, hi=None):
        if kind not in ("relu", "relu6", "clamp"):
            raise ValueError(f"unknown activation {kind!r}")
        self.kind, self.lo, self.hi = kind, lo, hi

    @staticmethod
    def of(v):
        """None / False -> None, True -> RELU (the qgraph `relu=` flag), else v."""
        if v is None or v is False:
            return None
        if v is True:
            return RELU
        return v

    @staticmethod
    def clamp(lo, hi):
        """The activation of torch.clamp / Hardtanh(lo, hi); None when it clamps nothing."""
        lo = None if lo is None else float(lo)
        hi = None if hi is None else float(hi)
        if lo is None and hi is None:
            return None
        if lo == 0.0 and hi is None:
            return RELU
        if lo == 0.0 and hi == 6.0:
            return RELU6
        return Activation("clamp", lo, hi)

    @property
    def nonneg(self):
        return self.lo is not None and self.lo >= 0

    def apply(self, v):
        return torch.clamp(v, self.lo, self.hi)

    def int_bounds(self, scale, lo, hi):
        """Integer output bounds for output scale `scale` (zero point 0) inside the
        dtype range [lo, hi], as dyad computes them (relu6: rne(6 / S_y))."""
        if self.kind == "clamp":
            c = self._clamp_ints(scale)
            return max(lo, c[0]), min(hi, c[1])
        lo = max(lo, 0)
        if self.kind == "relu6":
            hi = min(hi, round(6.0 / scale))    # Python's round: half to even
        return lo, hi

    def _clamp_ints(self, scale):
        big = 1 << 40
        lo = -big if self.lo is None else round(self.lo / scale)
        hi = big if self.hi is None else round(self.hi / scale)
        return lo, hi

    def attrs(self, scale, lo, hi):
        """The node attrs; `lo`, `hi` are the output dtype's range."""
        if self.kind != "clamp":
            return {"activation": self.kind}
        c_lo, c_hi = self.int_bounds(scale, lo, hi)
        return {"activation": "clamp", "clamp": [int(c_lo), int(c_hi)]}

    def __repr__(self):
        return f"Activation({self.kind!r}, {self.lo}, {self.hi})"


RELU = Activation("relu", 0.0, None)
RELU6 = Activation("relu6", 0.0, 6.0)


def attrs_of(act, t):
    """`activation` attrs of a node writing tensor t with activation act (or None)."""
    if act is None:
        return {"activation": "none"}
    return act.attrs(t.scale, *t.qrange())
