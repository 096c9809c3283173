"""Generates models/examples/tiny_cnn.{json,bin}: a small CNN with random weights
(fixed seed) that uses every CNN op and dtype path of the engine once:

  conv2d (bias, padding, ReLU)          int8 weights, int8 activations with zero point
  depthwise conv2d, stride 2            -> uint4 activations (4-bit, after ReLU)
  1x1 conv2d on 4-bit input             int4 weights, int32 accumulator output
  strided 1x1 shortcut conv2d           int32 accumulator output
  add (two dyadic branches) + ReLU      int8
  grouped, dilated conv2d
  max_pool, average_pool (padding), global_average_pool
  reshape, concat, requantize, fully_connected + ReLU6

The integer simulator (models/dyad_export/simulator.py, written from the spec
independently of the C++ engine) computes the expected outputs of a few seeded
inputs; they are stored in metadata.samples and checked by tests/e2e.

Run from the repository root:  /usr/bin/python3 -m models.tools.gen_tiny_cnn
"""
import os

import numpy as np

from models.dyad_export.simulator import Model
from models.dyad_export.writer import ModelWriter

SEED = 20261122
OUT = os.path.join(os.path.dirname(__file__), "..", "examples", "tiny_cnn.json")


def weights(rng, shape, bits):
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    w = rng.integers(lo, hi + 1, size=shape)
    scale = rng.uniform(0.5, 1.5, size=shape[0]) * (0.02 if bits == 8 else 0.3)
    return w, scale


def acc_std(fan_in, x_std, w_std):
    """Typical spread of an integer accumulator of independent terms."""
    return float(np.sqrt(fan_in) * x_std * w_std)


def out_scale(s_x, s_w, fan_in, x_std, w_std, target_std=30.0):
    """An output scale that puts the accumulator's typical spread near target_std."""
    return float(s_x * np.mean(s_w) * acc_std(fan_in, x_std, w_std) / target_std)


def build(path):
    rng = np.random.default_rng(SEED)
    w = ModelWriter("tiny_cnn", {"generator": "models/tools/gen_tiny_cnn.py", "seed": SEED})
    s_in = 0.02
    w.inputs, w.outputs = ["image"], ["logits"]
    w.add_activation("image", "int8", [1, 12, 12, 3], scale=s_in, zero_point=-5)

    def conv(name, x, s_x, x_std, shape, bits, out_dtype, out_zp=0, bias=True, attrs=None,
             x_name_std=None):
        wq, sw = weights(rng, shape, bits)
        w.add_constant(name + ".w", "int8" if bits == 8 else "int4", wq, scale=sw, zero_point=0,
                       axis=0)
        inputs = [x, name + ".w"]
        fan_in = shape[1] * shape[2] * shape[3]
        w_std = 73.0 if bits == 8 else 4.6
        if bias:
            spread = acc_std(fan_in, x_std, w_std) / 2
            w.add_constant(name + ".b", "int32",
                           rng.integers(-spread, spread + 1, size=shape[0]))
            inputs.append(name + ".b")
        if out_dtype == "int32":
            w.add_activation(name + ".out", "int32", scale=s_x * sw, axis=3)
            s_y = s_x * sw
        else:
            s_y = out_scale(s_x, sw, fan_in, x_std, w_std)
            w.add_activation(name + ".out", out_dtype, scale=s_y, zero_point=out_zp)
        w.add_node(name, "conv2d", inputs, [name + ".out"], attrs or {})
        return name + ".out", s_y

    c0, s0 = conv("conv0", "image", s_in, 60.0, [8, 3, 3, 3], 8, "int8", out_zp=-20,
                  attrs={"padding": 1, "activation": "relu"})
    d1, s1 = conv("dw1", c0, s0, 30.0, [8, 3, 3, 1], 8, "uint4",
                  attrs={"stride": 2, "padding": [1, 1, 1, 1], "groups": 8, "activation": "relu"})
    # 4-bit output: aim the spread at a few codes, not 30.
    for t in w.tensors:
        if t["name"] == d1:
            t["scale"] = s1 * 30.0 / 5.0
    s1 = s1 * 30.0 / 5.0
    p2, sp2 = conv("pw2", d1, s1, 5.0, [16, 1, 1, 8], 4, "int32")
    sc, ssc = conv("shortcut", c0, s0, 30.0, [16, 1, 1, 8], 8, "int32", attrs={"stride": 2})
    # Both branches are accumulators; the sum's spread comes from both.
    real_std = np.hypot(np.mean(sp2) * acc_std(8, 5.0, 4.6), np.mean(ssc) * acc_std(8, 30.0, 73.0))
    s_add = float(real_std / 30.0)
    w.add_activation("res", "int8", scale=s_add, zero_point=0)
    w.add_node("residual", "add", [p2, sc], ["res"], {"activation": "relu"})
    g3, s3 = conv("grouped3", "res", s_add, 30.0, [16, 3, 3, 8], 8, "int8", out_zp=3,
                  attrs={"padding": 2, "dilation": 2, "groups": 2})
    w.add_activation("maxp", "int8", scale=s3, zero_point=3)
    w.add_node("maxpool", "max_pool", [g3], ["maxp"], {"kernel": 2, "stride": 2})
    w.add_activation("avgp", "int8", scale=s3, zero_point=3)
    w.add_node("avgpool", "average_pool", [g3], ["avgp"], {"kernel": 3, "stride": 1, "padding": 1})
    w.add_activation("gap", "int8", scale=s3, zero_point=3)
    w.add_node("gap", "global_average_pool", ["avgp"], ["gap"], {"keepdims": False})
    w.add_activation("maxp.flat", "int8", scale=s3, zero_point=3)
    w.add_node("flatten", "reshape", ["maxp"], ["maxp.flat"], {"shape": [1, -1]})
    w.add_activation("features", "int8", scale=s3, zero_point=3)
    w.add_node("concat", "concat", ["maxp.flat", "gap"], ["features"], {"axis": -1})
    s_f = s3 * 0.8
    w.add_activation("features.q", "int8", scale=s_f, zero_point=-2)
    w.add_node("requant", "requantize", ["features"], ["features.q"], {})
    wf, sfw = weights(rng, (10, 160), 8)
    # Logits with a real spread near 3 at an output scale of 0.05, so ReLU6
    # clamps at 120 and some outputs reach it.
    s_out = 0.05
    sfw = sfw * 3.0 / (s_f * np.mean(sfw) * acc_std(160, 30.0, 73.0))
    w.add_constant("fc.w", "int8", wf, scale=sfw, zero_point=0, axis=0)
    w.add_constant("fc.b", "int32", rng.integers(-300, 300, size=10))
    w.add_activation("logits", "int8", scale=s_out, zero_point=0)
    w.add_node("fc", "fully_connected", ["features.q", "fc.w", "fc.b"], ["logits"],
               {"activation": "relu6"})
    w.write(path)

    # Expected outputs from the independent simulator, stored in the metadata.
    sim = Model(path)
    samples = []
    for k in range(3):
        x = rng.integers(-128, 128, size=(1, 12, 12, 3))
        out = sim.run({"image": x}, keep_all=True)
        samples.append({"inputs": {"image": x.reshape(-1).tolist()},
                        "expected": {"logits": out["logits"].reshape(-1).tolist()}})
        for name in ("conv0.out", d1, "res", g3, "features.q", "logits"):
            v = out[name]
            print(f"sample {k} {name:12s} min {int(v.min()):6d} max {int(v.max()):6d} "
                  f"distinct {len(np.unique(v))}")
    w.metadata["samples"] = samples
    w.write(path)


if __name__ == "__main__":
    build(os.path.normpath(OUT))
