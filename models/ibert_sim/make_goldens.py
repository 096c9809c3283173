#!/usr/bin/python3
"""Writes the golden vectors of the integer transformer kernels to tests/data/ibert/.

    /usr/bin/python3 models/ibert_sim/make_goldens.py [--out DIR]

Deterministic (fixed seeds). Every value comes from this simulator, which is
written from numerics.md, independently of the C++ kernels; the C++ tests
(tests/kernels/*_test.cc) compare the kernels with these files bit for bit.
Each file: {"generator", "spec", "cases": [...]}, arrays flattened row-major.
"""

import argparse
import json
import math
import os
import sys
from fractions import Fraction

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from ibert_sim import dyadic, gelu, layernorm, matmul, softmax  # noqa: E402
else:
    from . import dyadic, gelu, layernorm, matmul, softmax

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
DTYPE_NAMES = {np.float64: "float64", np.float32: "float32"}


def flat(rows):
    return [int(v) for r in rows for v in r]


def log_uniform(rng, lo, hi, n):
    return [float(v) for v in np.exp(rng.uniform(math.log(lo), math.log(hi), n))]


# ---------------------------------------------------------------- GELU -------
def gelu_case(name, rng, scales, rows, T, x_real_max=12.0, extremes=False, input_dtype="int32"):
    C = len(scales)
    consts = [gelu.gelu_constants(s, T) for s in scales]
    lo, hi = (INT32_MIN, INT32_MAX) if input_dtype == "int32" else (-(2**40), 2**40)
    x = []
    for _ in range(rows):
        row = []
        for c in range(C):
            span = min(int(x_real_max / scales[c]), hi)
            row.append(int(rng.integers(-span, span + 1)))
        x.append(row)
    if extremes:
        # Per channel: 0, +-1, the clip point -b_int and its neighbours, the dtype limits.
        picks = lambda b: [0, 1, -1, -b, b, -b - 1, b + 1, -b + 1, b - 1, lo, hi]  # noqa: E731
        for k in range(11):
            x.append([picks(consts[c]["b_int"])[k] for c in range(C)])
    y = gelu.int_gelu(x, consts)
    for v in flat(y):
        assert -(2**63) <= v < 2**63, (name, v)  # the kernel saturates; goldens stay inside
    return {"name": name, "dtype": DTYPE_NAMES[T], "input_dtype": input_dtype, "scales": scales,
            "rows": len(x), "channels": C,
            "b_int": [c["b_int"] for c in consts], "c_int": [c["c_int"] for c in consts],
            "shift_int": [c["shift_int"] for c in consts],
            "out_scale": [float(c["out_scale"]) for c in consts],
            "x": flat(x), "y": flat(y)}


def make_gelu(rng):
    cases = [
        gelu_case("per_channel_1e-4_1e-2_f64", rng, log_uniform(rng, 1e-4, 1e-2, 8), 6, np.float64),
        gelu_case("per_channel_1e-4_1e-2_f32", rng, log_uniform(rng, 1e-4, 1e-2, 8), 6, np.float32),
        gelu_case("numerics_examples", rng, [1e-3, 1e-4], 4, np.float64, extremes=True),
        gelu_case("c_int_beyond_int32_1e-5", rng, log_uniform(rng, 8e-6, 2e-5, 5), 6, np.float32,
                  extremes=True),
        gelu_case("tiny_1e-6_f64", rng, [1e-6, 1.7e-6, 3e-6], 4, np.float64, extremes=True),
        gelu_case("large_scale_0.1", rng, [0.1, 0.05, 0.25], 5, np.float64, extremes=True),
        gelu_case("int64_input", rng, log_uniform(rng, 1e-3, 1e-1, 4), 4, np.float64,
                  x_real_max=1e9, extremes=True, input_dtype="int64"),
    ]
    return {"spec": "numerics.md 4 (i-GELU run time; y not negated, out_scale < 0)", "cases": cases}


# ------------------------------------------------------------- softmax -------
def softmax_case(name, rng, S, T, rows, L, widen=1.0, masked=False, special_rows=(), act_x_max=None):
    base = softmax.softmax_constants(S, 0.0, 1.0, T)
    if act_x_max is None:
        # A calibrated act tracks the row maximum exp = c_int * 2^30 (numerics.md 5.3).
        act_x_max = base["c_int"] * 2**30 * widen * (1 + float(rng.uniform(0, 1e-3)))
    c = softmax.softmax_constants(S, -1e-5, act_x_max, T)
    span = int(12 / S)
    x = [[int(v) for v in rng.integers(-span, span + 1, L)] for _ in range(rows)]
    x += [list(r) for r in special_rows]
    keep = None
    if masked:
        keep = [[bool(v) for v in rng.integers(0, 4, L) > 0] for _ in x]
        keep[0] = [False] * L                      # fully masked row
        keep[1] = [j == L - 1 for j in range(L)]   # one unmasked entry
    y = softmax.int_softmax(x, c, keep)
    case = {"name": name, "dtype": DTYPE_NAMES[T], "scale": float(T(S)), "act_x_max": act_x_max,
            "rows": len(x), "length": L, "x0_int": c["x0_int"], "b_int": c["b_int"],
            "c_int": c["c_int"], "M": c["M"], "E": c["E"], "x": flat(x), "y": flat(y)}
    if keep is not None:
        case["mask"] = [int(k) for r in keep for k in r]
    return case


def find_row_of_256(S, T):
    """A widen factor near 2 whose act maps the row maximum to e16 = 16384 = 2^14,
    so a row [0, far below, ...] gives y = 256 exactly (numerics.md 5.4)."""
    base = softmax.softmax_constants(S, 0.0, 1.0, T)
    for k in range(0, 4000):
        x_max = base["c_int"] * 2**30 * (2.0 + (k // 2) * 1e-8 * (1 if k % 2 else -1))
        c = softmax.softmax_constants(S, -1e-5, x_max, T)
        _, e16 = softmax.int_softmax_row([0, -(2**30)], c)
        if e16 == [16384, 0]:
            return x_max
    raise RuntimeError("no act giving e16 = 16384")


def make_softmax(rng):
    big = [INT32_MAX, INT32_MIN, 0, INT32_MAX - 1, -5, 7, INT32_MIN + 1, 1 << 20]
    cases = []
    for S, T in ((0.05, np.float64), (0.01, np.float32), (1e-3, np.float64), (1e-4, np.float32),
                 (3e-4, np.float64)):
        L = 16
        equal_row = [12345] * L
        spread_row = [0] + [-(j * 7 * int(0.6931 / S)) for j in range(1, L)]  # crosses the clamp
        cases.append(softmax_case(f"S{S:g}_{DTYPE_NAMES[T]}", rng, S, T, 4, L,
                                  special_rows=[equal_row, spread_row]))
    cases.append(softmax_case("extreme_int32", rng, 0.01, np.float64, 1, 8, special_rows=[big]))
    cases.append(softmax_case("length_1", rng, 0.02, np.float64, 3, 1))
    cases.append(softmax_case("odd_length_33", rng, 2e-3, np.float64, 3, 33))
    cases.append(softmax_case("masked_S0.01", rng, 0.01, np.float64, 5, 12, masked=True))
    cases.append(softmax_case("masked_S1e-3_f32", rng, 1e-3, np.float32, 5, 9, masked=True))
    cases.append(softmax_case("act_1.3x_wide", rng, 5e-3, np.float64, 4, 10, widen=1.3))
    for S in (0.01, 1e-3):
        x_max = find_row_of_256(S, np.float64)
        far = -int(40 * 0.6931 / S)
        case = softmax_case(f"output_256_S{S:g}", rng, S, np.float64, 2, 6, act_x_max=x_max,
                            special_rows=[[0, far, far, far, far, far], [far, far, 3, far, far, far]])
        assert 256 in case["y"], case["name"]
        cases.append(case)
    # sum == 0: an act so wide that every e16 rounds to 0
    cases.append(softmax_case("sum_zero", rng, 0.01, np.float64, 2, 5,
                              act_x_max=softmax.softmax_constants(0.01, 0, 1)["c_int"] * 2.0**30 * 1e6))
    assert all(v == 0 for v in cases[-1]["y"])
    return {"spec": "numerics.md 5.2-5.5 (fused act16: int128 mode, 63-bit M); mask: 1 = keep",
            "cases": cases}


# ----------------------------------------------------------- LayerNorm -------
def layernorm_case(name, rng, n, rows, shift, T, span=2**21, gamma_scale=1.0, input_dtype="int32",
                   special_rows=()):
    # Short decimals keep the file small; they are still inexact binary floats.
    gamma = [round(float(v), 4) * gamma_scale for v in rng.uniform(0.2, 2.0, n) * rng.choice([-1, 1], n)]
    beta = [round(float(v), 4) for v in rng.normal(0, 1, n)]
    consts = layernorm.layernorm_constants(gamma, beta, T)
    x = [[int(v) for v in rng.integers(-span, span, n)] for _ in range(rows)]
    x += [list(r) for r in special_rows]
    out = layernorm.int_layernorm(x, shift, consts["bias_int"])
    return {"name": name, "dtype": DTYPE_NAMES[T], "input_dtype": input_dtype, "rows": len(x),
            "channels": n, "shift": shift, "gamma": gamma, "beta": beta,
            "bias_int": consts["bias_int"], "out_scale": [float(v) for v in consts["out_scale"]],
            "x": flat(x), "y": flat(out)}


def make_layernorm(rng):
    cases = [
        layernorm_case("n8_shift0", rng, 8, 4, 0, np.float64),
        layernorm_case("n16_shift1_f32", rng, 16, 4, 1, np.float32),
        layernorm_case("n64_var_beyond_2^32", rng, 64, 2, 0, np.float64),
        layernorm_case("n40_shift3", rng, 40, 2, 3, np.float32),
        layernorm_case("n48_shift2", rng, 48, 1, 2, np.float64),
        layernorm_case("small_gamma_bias_beyond_int32", rng, 24, 2, 1, np.float64, gamma_scale=1e-3),
        layernorm_case("int16_input", rng, 32, 2, 0, np.float64, span=2**15, input_dtype="int16"),
        layernorm_case("std_zero", rng, 4, 0, 1, np.float64,
                       special_rows=[[7, 7, 7, 7], [5, 5, 5, 6], [-3, -3, -3, -3]]),
        layernorm_case("mean_ties", rng, 4, 0, 0, np.float64,
                       special_rows=[[1, 2, 0, 3], [1, 1, 2, 2], [-1, -2, 0, -3], [-3, -1, 0, 0],
                                     [INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN]]),
    ]
    # Sanity: the var-beyond-2^32 case really has var >= 2^32.
    c = cases[2]
    row = c["x"][:64]
    mean = dyadic.rne(Fraction(sum(row), 64))
    assert sum((v - mean) ** 2 for v in row) >= 2**32
    return {"spec": "numerics.md 6.2 (i-LayerNorm run time; std == 0 -> bias_int)", "cases": cases}


# -------------------------------------------------------------- matmul -------
def matmul_case(name, rng, batch, m, k, n, a_kind, b_kind, transpose_b, za, zb, requant=None):
    ranges = {"int8": (-128, 127), "uint8": (0, 255), "int16": (0, 256)}
    a = rng.integers(ranges[a_kind][0], ranges[a_kind][1] + 1, (batch, m, k))
    bshape = (batch, n, k) if transpose_b else (batch, k, n)
    b = rng.integers(ranges[b_kind][0], ranges[b_kind][1] + 1, bshape)
    acc = matmul.matmul(a, b, za, zb, transpose_b)
    case = {"name": name, "a_dtype": a_kind, "b_dtype": b_kind, "batch": batch, "m": m, "k": k,
            "n": n, "transpose_b": transpose_b, "a_zero_point": za, "b_zero_point": zb,
            "a": [int(v) for v in a.flatten()], "b": [int(v) for v in b.flatten()]}
    if requant is None:
        case["y_dtype"] = "int32"
        case["y"] = [int(v) for v in acc.flatten()]
    else:
        y_kind, ratio, zy = requant
        mult, e = dyadic.frexp_dyadic(ratio)
        if mult == 2**31:
            mult, e = 2**30, e - 1
        lo, hi = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}[y_kind]
        y = matmul.requant_tensor(acc, mult, e, zy, lo, hi)
        case.update({"y_dtype": y_kind, "multiplier": mult, "shift": e, "y_zero_point": zy,
                     "y_min": lo, "y_max": hi, "y": [int(v) for v in y.flatten()]})
    return case


def make_matmul(rng):
    cases = [
        matmul_case("s8s8_raw", rng, 2, 3, 5, 4, "int8", "int8", False, 0, 0),
        matmul_case("s8s8_raw_transposed_qkT", rng, 3, 4, 8, 4, "int8", "int8", True, 0, 0),
        matmul_case("u8s8_zero_points", rng, 2, 3, 7, 5, "uint8", "int8", False, 128, -3),
        matmul_case("u8u8_zp_transposed", rng, 1, 4, 6, 3, "uint8", "uint8", True, 100, 27),
        matmul_case("probs_s16_times_v_requant", rng, 2, 4, 6, 5, "int16", "int8", False, 0, 0,
                    requant=("int8", 0.0123, 0)),
        matmul_case("s8s8_requant_u8", rng, 2, 3, 9, 4, "int8", "int8", True, 0, 0,
                    requant=("uint8", 0.0031, 131)),
        matmul_case("s8s8_requant_saturating", rng, 1, 3, 16, 3, "int8", "int8", False, 0, 0,
                    requant=("int8", 0.05, -7)),
        matmul_case("s8s8_requant_s16", rng, 1, 2, 4, 3, "int8", "int8", False, 5, 0,
                    requant=("int16", 0.7, 0)),
    ]
    return {"spec": "matmul of two activations: exact sums, raw int32 or rne requant", "cases": cases}


def write(path, doc):
    doc = {"generator": "models/ibert_sim/make_goldens.py", **doc}
    cases = doc.pop("cases")
    with open(path, "w") as f:
        head = json.dumps(doc, separators=(", ", ": "))[:-1]
        f.write(head + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
        f.write("\n]}\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "data", "ibert"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, fn, seed in (("int_gelu", make_gelu, 101), ("int_softmax", make_softmax, 202),
                           ("int_layernorm", make_layernorm, 303), ("matmul", make_matmul, 404)):
        path = os.path.join(args.out, name + ".json")
        write(path, fn(np.random.default_rng(seed)))
        print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
