"""Load-time dyadic constants (numerics.md 2.1, 9) and exact integer rounding helpers.

Everything here is exact: floats are converted with Decimal / Python ints, never
rounded twice.
"""
import math

import numpy as np

from ..ibert_sim.dyadic import frexp_dyadic as batch_frexp

M_MAX = 1 << 31
SHIFT_MIN, SHIFT_MAX = -62, 255


def f32(x):
    """Rounds a double (or array) to float32 and back to a Python float (or float64 array)."""
    if np.ndim(x) == 0:
        return float(np.float32(x))
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def frexp_dyadic(r):
    """HF/HAWQ batch_frexp (models/ibert_sim/dyadic.py, the one implementation):
    r = frac * 2^E, m = round_half_away(frac * 2^31), e = 31 - E.

    Returns Python ints (m, e) with r ~= m / 2^e. r = 0 gives (0, 31). m = 2^31 is
    stored as (2^30, e - 1), the same value, so m fits int32 (docs/format.md).
    """
    r = float(r)
    if not math.isfinite(r):
        raise ValueError(f"dyadic ratio {r} is not finite")
    m, e = batch_frexp(r)
    if m == M_MAX:
        m, e = M_MAX >> 1, e - 1
    return m, e


def hawq_gemm_ratio(s_x, s_w, s_y):
    """conv2d / fully_connected ratio: f64(f32(S_x * S_w[c])) / f64(f32(S_y)), per channel."""
    s_w = np.atleast_1d(np.asarray(s_w, dtype=np.float64))
    return f32(np.float64(s_x) * s_w) / f32(s_y)


def requant_ratio(s_in, s_y):
    """add / requantize ratio: S_in[c] / f64(f32(S_y))."""
    return np.atleast_1d(np.asarray(s_in, dtype=np.float64)) / f32(s_y)


def dyadic_lists(ratios, where):
    """frexp_dyadic of each ratio -> (multipliers, shifts) as lists of Python ints."""
    ms, es = [], []
    for r in np.atleast_1d(ratios):
        m, e = frexp_dyadic(r)
        if not SHIFT_MIN <= e <= SHIFT_MAX:
            raise ValueError(f"{where}: ratio {r!r} needs shift {e}, outside "
                             f"[{SHIFT_MIN}, {SHIFT_MAX}]")
        ms.append(m)
        es.append(e)
    return ms, es


def rne_pow2(t, e):
    """Exact round-half-to-even of the Python int t / 2^e (e may be <= 0)."""
    if e <= 0:
        return t << -e
    q = t >> e
    rem = t - (q << e)
    half = 1 << (e - 1)
    return q + (1 if rem > half or (rem == half and q & 1) else 0)
