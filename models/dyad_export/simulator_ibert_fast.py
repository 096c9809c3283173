"""Vectorized int64 versions of the I-BERT ops for the simulator (numerics.md 4-6).

models/ibert_sim runs one element or one row at a time on Python ints, which is
exact but takes minutes on a 10,000-image test set. These functions compute the
same integers with numpy int64 arrays. Each starts with a bound check on the
actual operands that proves no intermediate can leave int64; when the check
fails it returns None and the caller falls back to models/ibert_sim. The only
products that never fit int64 (the softmax's z * M, M ~ 2^62) are done on
Python ints in object arrays. tests/test_simulator_fast.py checks every function
against models/ibert_sim.
"""
import numpy as np

LIMIT = 1 << 62      # every int64 intermediate stays below this magnitude


def _maxabs(a):
    a = np.asarray(a)
    return max(abs(int(a.max())), abs(int(a.min()))) if a.size else 0


def int_gelu(x, b, c, s):
    """x int64 [..., C]; b, c, s per-channel int sequences (length C). None if unsafe."""
    b, c, s = (np.asarray([int(v) for v in a], dtype=object) for a in (b, c, s))
    bmax = _maxabs(b)
    if bmax * bmax + _maxabs(c) >= LIMIT:
        return None
    # |erf| <= (b^2 + |c|) / 2^14; the final product must fit as well.
    erf_bound = ((bmax * bmax + _maxabs(c)) >> 14) + 1
    if _maxabs(x) * (erf_bound + _maxabs(s)) >= LIMIT:
        return None
    b, c, s = (a.astype(np.int64) for a in (b, c, s))
    x = np.asarray(x, dtype=np.int64)
    sign = np.sign(x)
    t = np.minimum(np.abs(x), -b) + b
    erf = (sign * (t * t + c)) >> 14          # arithmetic shift = floor
    return x * (erf + s)


def _rne_shift_object(p, k):
    """rne(p / 2^k) for object arrays of Python ints p >= 0 and int64 k >= 1."""
    k = k.astype(object)
    t = p + (np.ones_like(p) << (k - 1))
    q = t >> k
    tie = (t & ((np.ones_like(p) << k) - 1)) == 0
    odd = (q & 1) == 1
    return q - (tie & odd).astype(np.int64).astype(object)


def int_softmax(x, keep, consts):
    """x int64 [..., L], keep bool (same shape, True = attend), consts as in
    models/ibert_sim/softmax.py (x0_int, b_int, c_int, M, E). None if unsafe."""
    x0, b, c = int(consts["x0_int"]), int(consts["b_int"]), int(consts["c_int"])
    M, E = int(consts["M"]), int(consts["E"])
    x = np.asarray(x, dtype=np.int64)
    if _maxabs(x) >= 1 << 32 or (abs(x0) + abs(b)) * abs(x0) + abs(c) >= LIMIT \
            or 30 * abs(x0) >= LIMIT:
        return None
    any_kept = keep.any(axis=-1, keepdims=True)
    big_neg = np.iinfo(np.int64).min
    xmax = np.where(keep, x, big_neg).max(axis=-1, keepdims=True)
    xmax = np.where(any_kept, xmax, 0)
    floor_d = 30 * x0
    d = np.where(keep, np.maximum(x - xmax, floor_d), floor_d)
    q = d // x0                                    # numpy // is floor division
    r = d - x0 * q
    z = np.maximum((r + b) * r + c, 0)
    k = E + q
    if k.size and k.min() < 1:
        return None
    e16 = _rne_shift_object(z.astype(object) * M, k)
    e16 = np.clip(e16, -32768, 32767).astype(np.int64)
    total = e16.sum(axis=-1, keepdims=True)
    factor = np.where(total > 0, (1 << 32) // np.maximum(total, 1), 0)
    y = (e16 * factor) >> 24
    return np.where(any_kept & (total > 0), y, 0)


def _isqrt(v):
    """floor(sqrt(v)) for int64 v in [0, 2^62), exact."""
    r = np.floor(np.sqrt(v.astype(np.float64))).astype(np.int64)
    for _ in range(4):                     # float sqrt is off by at most 1 here
        r = np.where(r * r > v, r - 1, r)
        r = np.where((r + 1) * (r + 1) <= v, r + 1, r)
    return r


def int_layernorm(x, shift, bias):
    """x int64 [..., n]; shift int; bias per-channel ints (length n). None if unsafe."""
    x = np.asarray(x, dtype=np.int64)
    n = x.shape[-1]
    bias = [int(v) for v in bias]
    if _maxabs(x) >= 1 << 40 or max(abs(v) for v in bias) >= LIMIT >> 1:
        return None
    total = x.sum(axis=-1, keepdims=True)
    mean = total // n                                  # floor, then ties to even
    rem2 = 2 * (total - mean * n)
    mean = mean + ((rem2 > n) | ((rem2 == n) & ((mean & 1) == 1))).astype(np.int64)
    y = x - mean
    ys = y >> shift
    if _maxabs(ys) ** 2 * n >= LIMIT:
        return None
    var = (ys * ys).sum(axis=-1, keepdims=True)
    std = _isqrt(var) << shift
    factor = (1 << 31) // np.maximum(std, 1)
    ymax = np.abs(y).max(axis=-1, keepdims=True).astype(np.float64)
    if y.size and float((ymax * factor.astype(np.float64)).max()) >= 2.0 ** 61:
        return None
    bias = np.asarray(bias, dtype=np.int64)
    out = ((y * factor) >> 1) + bias
    return np.where(std == 0, np.broadcast_to(bias, out.shape), out)
