"""Float operations in the model dtype, as torch performs them (numerics.md 0).

Every value is a numpy scalar of the model dtype T (np.float64 or np.float32);
each helper performs exactly one IEEE operation per torch operation, in torch's
order. Python scalars are converted to T before use ("Python scalars become the
tensor's dtype before the operation").
"""

import numpy as np

DTYPES = {"float64": np.float64, "float32": np.float32}


def dtype_of(name):
    return DTYPES[name]


def rdiv(scalar, t):
    """`python_scalar / tensor` in torch 1.13: tensor.reciprocal() * scalar."""
    T = type(t)
    return T(T(1) / t) * T(scalar)


def floor_divide(a, b):
    """torch.floor_divide / Python float `//` (div_floor_floating), in dtype of a and b."""
    T = type(a)
    assert type(b) is T
    if b == 0:
        return a / b
    mod = T(np.fmod(a, b))
    div = T((a - mod) / b)
    if mod != 0 and ((b < 0) != (mod < 0)):
        div = T(div - T(1))
    if div != 0:
        floordiv = T(np.floor(div))
        if T(div - floordiv) > T(0.5):
            floordiv = T(floordiv + T(1))
    else:
        floordiv = T(np.copysign(T(0), a / b))
    return floordiv


def floor_int(v):
    """floor of a model-dtype float, as a Python int."""
    f = np.floor(v)
    assert np.isfinite(f), v
    return int(f)
