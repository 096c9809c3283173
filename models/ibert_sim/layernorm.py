"""i-LayerNorm (numerics.md 6)."""

import math
from fractions import Fraction

import numpy as np

from .dyadic import rne
from .floatops import floor_int


def layernorm_constants(gamma, beta, T=np.float64):
    """Load-time constants: bias_int (Python ints) and out_scale (T) per channel.
    n = len(gamma); dim_sqrt is float32 even in a float64 model."""
    n = len(gamma)
    dim_sqrt = np.float32(np.sqrt(np.float32(n)))
    base = np.float32(dim_sqrt / np.float32(2**30))      # exact (power of two)
    base_t = T(base)                                      # promoted exactly in float64 models
    bias_int, out_scale = [], []
    for g, bt in zip(gamma, beta):
        ratio = T(T(bt) / T(g))                          # beta (/) gamma
        bias_int.append(floor_int(T(ratio / base_t)))    # floor(ratio (/) base)
        out_scale.append(T(base_t * T(g)))
    return {"bias_int": bias_int, "out_scale": out_scale, "base": base}


def isqrt_newton(n):
    """The Newton iteration of numerics.md 6.2: x0 = 2^ceil(bits(n)/2),
    x' = (x + n//x) >> 1, stop when x' >= x. Returns (root, steps)."""
    if n == 0:
        return 0, 0
    x = 1 << ((n.bit_length() + 1) // 2)
    steps = 0
    while True:
        nxt = (x + n // x) >> 1
        steps += 1
        if nxt >= x:
            return x, steps
        x = nxt


def int_layernorm_row(x, shift, bias_int):
    n = len(x)
    mean = rne(Fraction(sum(x), n))          # exact ties-to-even
    y = [v - mean for v in x]
    ys = [v >> shift for v in y]             # Python >> is floor
    var = sum(v * v for v in ys)
    root = math.isqrt(var)                   # floor(sqrt): any exact isqrt is the contract
    std = root << shift
    if std == 0:
        return list(bias_int)                # HF: inf/NaN; defined as bias_int
    factor = 2**31 // std
    return [((v * factor) >> 1) + bi for v, bi in zip(y, bias_int)]


def int_layernorm(rows, shift, bias_int):
    return [int_layernorm_row(r, shift, bias_int) for r in rows]
