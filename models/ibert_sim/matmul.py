"""Matmul of two activations, embedding gather, transpose (plain integer semantics)."""

import numpy as np

from .dyadic import rne_div_pow2


def matmul(a, b, a_zero_point=0, b_zero_point=0, transpose_b=False):
    """a [batch, m, k], b [batch, k, n] (or [batch, n, k]); exact Python-int sums."""
    a = np.asarray(a, dtype=object) - a_zero_point
    b = np.asarray(b, dtype=object) - b_zero_point
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    batch, m, k = a.shape
    n = b.shape[-1]
    out = np.zeros((batch, m, n), dtype=object)
    for t in range(batch):
        for i in range(m):
            for j in range(n):
                out[t, i, j] = sum(int(a[t, i, kk]) * int(b[t, kk, j]) for kk in range(k))
    return out


def requant_tensor(acc, m, e, y_zero_point, lo, hi):
    f = np.vectorize(lambda v: min(max(y_zero_point + rne_div_pow2(int(v) * m, e), lo), hi),
                     otypes=[object])
    return f(acc)
