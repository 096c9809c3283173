"""i-GELU (numerics.md 4)."""

import numpy as np

from .floatops import floor_divide, floor_int, rdiv

K = 1.4142
A = -0.2888
B = -1.769
C = 1.0 / A  # -3.4626038781163433, a Python double (f32 of it in float32 models)
N = 14


def gelu_constants(scale, T=np.float64):
    """Load-time constants for one input scale S (one channel) in model dtype T.
    Returns dict(b_int, c_int, shift_int: Python ints; out_scale, erf_scale: T)."""
    S = T(scale)
    Sp = T(S / T(K))                                  # S (/) 1.4142 (tensor / scalar: true division)
    b_int = floor_int(rdiv(B, Sp))                    # floor(fl(1 (/) S') (x) b)
    S2 = T(Sp * Sp)
    c_int = floor_int(rdiv(C, S2))                    # floor(fl(1 (/) S2) (x) c)
    erf_scale = T(T(S2 * T(A)) * T(2**N))             # negative
    shift_int = floor_int(floor_divide(T(1.0), erf_scale))
    out_scale = T(T(S * erf_scale) / T(2))            # negative
    return {"b_int": b_int, "c_int": c_int, "shift_int": shift_int,
            "erf_scale": erf_scale, "out_scale": out_scale}


def int_gelu_element(x, b_int, c_int, shift_int):
    """Run time for one integer x (Python ints throughout)."""
    s = (x > 0) - (x < 0)
    t = min(abs(x), -b_int) + b_int
    poly = t * t + c_int
    erf_i = (s * poly) // 2**N   # floor of the signed value
    return x * (erf_i + shift_int)


def int_gelu(x_rows, consts):
    """x_rows: list of rows (lists of ints), channel c uses consts[c]."""
    return [[int_gelu_element(v, consts[c]["b_int"], consts[c]["c_int"], consts[c]["shift_int"])
             for c, v in enumerate(row)] for row in x_rows]
