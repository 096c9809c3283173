"""i-exp and i-softmax (numerics.md 5)."""

from fractions import Fraction

import numpy as np

from .dyadic import act_scale as quant_act_scale
from .dyadic import frexp_dyadic, rne
from .floatops import floor_int, rdiv

X0 = -0.6931
N = 30
A = 0.35815147
B_OVER_A = 0.96963238 / 0.35815147  # 2.7073248645328745
C_OVER_A = 1.0 / 0.35815147         # 2.792114744077415
MAX_BIT = 32
OUTPUT_BIT = 8
ACT_BITS = 16


def fused_act16(R):
    """(M, E) with M/2^E = rne of R*2^30 to 63 bits: 2^62 <= M < 2^63 (numerics.md 5.3).
    R is an exact positive Fraction. M = 2^63 after rounding becomes (2^62, E - 1)."""
    target = Fraction(R) * 2**30
    assert target > 0
    E = 0
    while target * Fraction(2) ** E >= 2**63:
        E -= 1
    while target * Fraction(2) ** E < 2**62:
        E += 1
    M = rne(target * Fraction(2) ** E)
    if M == 2**63:
        M, E = 2**62, E - 1
    return M, E


def softmax_constants(scale, act_x_min, act_x_max, T=np.float64):
    """Load-time constants for input scale S (scalar) and the internal QuantAct(16)
    whose calibrated range is [act_x_min, act_x_max], in model dtype T."""
    S = T(scale)
    x0_int = floor_int(rdiv(X0, S))                      # floor(fl(1 (/) S) (x) -0.6931)
    b_int = floor_int(rdiv(B_OVER_A, S))
    SS = T(S * S)
    c_int = floor_int(rdiv(C_OVER_A, SS))
    exp_scale = T(T(SS * T(A)) / T(2**N))
    act = quant_act_scale(act_x_min, act_x_max, ACT_BITS, T)
    consts = {"x0_int": x0_int, "b_int": b_int, "c_int": c_int, "exp_scale": exp_scale,
              "act_scale": act}
    consts.update(fused_act16_constants(exp_scale, act))
    return consts


def fused_act16_constants(exp_scale, act_scale):
    """The internal QuantAct(16) fused with the exp shift, for a given act scale:
    FixedPointMul ratio f64(exp_scale) / f64(f32(act_scale)), batch_frexp, then
    (M, E) of the exact R = (m / 2^e) / exp_scale (numerics.md 5.3)."""
    ratio = float(np.float64(exp_scale)) / float(np.float64(np.float32(act_scale)))
    m, e = frexp_dyadic(ratio)
    R = Fraction(m, 2**e) / Fraction(float(exp_scale))   # exact rational
    M, E = fused_act16(R)
    return {"act_m": m, "act_e": e, "R": R, "M": M, "E": E}


def softmax_constants_from_act_scale(scale, act_scale, T=np.float64):
    """softmax_constants when the internal act's scale is given instead of its range."""
    consts = softmax_constants(scale, 0.0, 1.0, T)
    consts["act_scale"] = act_scale
    consts.update(fused_act16_constants(consts["exp_scale"], act_scale))
    return consts


def _clamp16(v):
    return min(max(v, -(2 ** (ACT_BITS - 1))), 2 ** (ACT_BITS - 1) - 1)


def int_softmax_row(x, consts, keep=None, mode="fused"):
    """One row. x: list of ints; keep: list of bools (True = attend) or None.
    mode "fused": e16 = clamp(rne(max(z,0)*M / 2^(E+q))) (the contract);
    mode "exact": e16 = clamp(rne(exp * R)), R the exact rational (5.3).
    Returns (y, e16)."""
    L = len(x)
    if keep is None:
        keep = [True] * L
    kept = [v for v, k in zip(x, keep) if k]
    if not kept:
        return [0] * L, [0] * L              # fully masked row: defined as zeros
    x0, b, c = consts["x0_int"], consts["b_int"], consts["c_int"]
    xmax = max(kept)
    floor_d = N * x0
    e16 = []
    for v, k in zip(x, keep):
        d = max(v - xmax, floor_d) if k else floor_d
        q = d // x0                          # both <= 0: floor of a quotient in [0, 30]
        r = d - x0 * q
        z = (r + b) * r + c
        if mode == "fused":
            val = rne(Fraction(max(z, 0) * consts["M"], 2 ** (consts["E"] + q)))
        else:
            exp = max(z * 2 ** (N - q), 0)
            val = rne(exp * consts["R"])
        e16.append(_clamp16(val))
    total = sum(e16)
    if total == 0:
        return [0] * L, e16                  # HF: NaN; defined as zeros
    factor = 2**MAX_BIT // total
    y = [(v * factor) >> (MAX_BIT - OUTPUT_BIT) for v in e16]
    return y, e16


def int_softmax(rows, consts, keep_rows=None, mode="fused"):
    out = []
    for i, row in enumerate(rows):
        keep = None if keep_rows is None else keep_rows[i]
        out.append(int_softmax_row(row, consts, keep, mode)[0])
    return out
