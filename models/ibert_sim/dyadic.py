"""Dyadic requantization (numerics.md 2)."""

import decimal
from fractions import Fraction

import numpy as np


def frexp_dyadic(r):
    """HF/HAWQ batch_frexp: r = frac * 2^E, 0.5 <= |frac| < 1,
    m = round_half_away(frac * 2^31), e = 31 - E. Returns Python ints (m, e).
    r = 0 gives (0, 31). m = +-2^31 is kept, as HF does."""
    r = float(r)
    frac, exp = np.frexp(np.float64(r))
    scaled = float(frac) * float(2**31)  # exact: a power-of-two scaling of a double
    m = int(decimal.Decimal(scaled).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))
    return m, 31 - int(exp)


def rne(v):
    """Round a Fraction (or int) half to even. Python's round() on Fraction does exactly that."""
    return round(Fraction(v))


def rne_div_pow2(t, e):
    """rne(t / 2^e) for any integer t and any integer e (e <= 0 multiplies)."""
    if e <= 0:
        return t * 2 ** (-e)
    return rne(Fraction(t, 2**e))


def requant(x, m, e, bits=None, identity=None):
    """numerics.md 2.2: y = rne(x*m/2^e) [+ rne(x_id*m_id/2^e_id)], clamp once to `bits`.
    `identity` is (x_id, m_id, e_id) or None."""
    y = rne_div_pow2(x * m, e)
    if identity is not None:
        x_id, m_id, e_id = identity
        y += rne_div_pow2(x_id * m_id, e_id)
    if bits is not None:
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        y = min(max(y, lo), hi)
    return y


def act_scale(x_min, x_max, bits, T):
    """QuantAct output scale (symmetric_linear_quantization_params), model dtype T:
    max(|x_min|, |x_max|), clamped below at 1e-8, divided by 2^(b-1) - 1."""
    s = max(abs(T(x_min)), abs(T(x_max)))
    s = max(s, T(1e-8))
    return T(s / T(2 ** (bits - 1) - 1))


def requant_ratio(s_in, s_out):
    """r = f64(S_in) / f64(f32(S_out)) (numerics.md 2.1)."""
    return float(np.float64(s_in)) / float(np.float64(np.float32(s_out)))
