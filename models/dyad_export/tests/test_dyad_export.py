"""Unit tests of the exporter and the simulator, with hand-computed goldens.

Run from the repository root:
    /usr/bin/python3 -m unittest models.dyad_export.tests.test_dyad_export
"""
import json
import os
import tempfile
import unittest

import numpy as np
import torch
from torch import nn

from models.dyad_export import blocks, dyadic, export, qgraph, simulator, writer
from models.dyad_export.errors import ExportError


def write_model(tmp, doc, blob=None):
    path = os.path.join(tmp, "m.json")
    if blob is not None:
        with open(os.path.join(tmp, "m.bin"), "wb") as f:
            f.write(blob)
        doc["weights"] = {"file": "m.bin", "bytes": len(blob),
                          "fnv1a64": f"{writer.fnv1a64(blob):016x}"}
    with open(path, "w") as f:
        json.dump(doc, f)
    return simulator.Model(path)


def model_doc(tensors, nodes, inputs, outputs):
    return {"format": "dyad", "version": "1.0", "inputs": inputs, "outputs": outputs,
            "tensors": tensors, "nodes": nodes}


class DyadicTest(unittest.TestCase):
    def test_frexp_dyadic(self):
        self.assertEqual(dyadic.frexp_dyadic(0.0), (0, 31))
        self.assertEqual(dyadic.frexp_dyadic(0.5), (1 << 30, 31))
        self.assertEqual(dyadic.frexp_dyadic(1.0), (1 << 30, 30))
        self.assertEqual(dyadic.frexp_dyadic(0.75), (1610612736, 31))
        # frac * 2^31 = 2^30 + 0.5 exactly: half away from zero, both signs.
        r = ((1 << 31) + 1) / 2.0 ** 32
        self.assertEqual(dyadic.frexp_dyadic(r), ((1 << 30) + 1, 31))
        self.assertEqual(dyadic.frexp_dyadic(-r), (-((1 << 30) + 1), 31))
        # rounds up to 2^31: stored as (2^30, e - 1)
        self.assertEqual(dyadic.frexp_dyadic(1 - 2.0 ** -40), (1 << 30, 30))
        self.assertEqual(dyadic.frexp_dyadic(3 * 2.0 ** -40), (3 << 29, 69))   # 0.75 * 2^-38

    def test_frexp_agrees_with_simulator(self):
        rng = np.random.default_rng(0)
        for r in np.exp(rng.uniform(-20, 3, 500)):
            self.assertEqual(dyadic.frexp_dyadic(r), simulator._frexp_dyadic(r))

    def test_rne_pow2(self):
        cases = [(3, 1, 2), (5, 1, 2), (-3, 1, -2), (-5, 1, -2), (1, 1, 0), (-1, 1, 0),
                 (7, 2, 2), (6, 2, 2), (10, 2, 2), (-6, 2, -2), (9, 0, 9), (3, -2, 12)]
        for t, e, want in cases:
            self.assertEqual(dyadic.rne_pow2(t, e), want, (t, e))

    def test_simulator_rne_scale(self):
        x = np.array([3, 5, -3, -5, 1, -1, 7])
        np.testing.assert_array_equal(simulator.rne_scale(x, 1, 1), [2, 2, -2, -2, 0, 0, 4])
        # products beyond int64: 1.5 * 2^72 and 2.5 * 2^72 / 2^72
        big = np.array([(1 << 41) + (1 << 40), (1 << 42) + (1 << 40)], dtype=object)
        np.testing.assert_array_equal(simulator.rne_scale(big, 1 << 31, 72), [2, 2])
        np.testing.assert_array_equal(simulator.rne_scale(np.array([5]), 3, -2), [60])
        self.assertEqual(int(simulator.rne_scale(np.array([1]), 1, 200)[0]), 0)

    def test_simulator_rne_fast_path_equals_python_ints(self):
        rng = np.random.default_rng(0)
        x = rng.integers(-2 ** 30, 2 ** 30, 20000)
        m = rng.integers(-2 ** 31, 2 ** 31, 20000)
        e = rng.integers(1, 33, 20000)
        x[:5000] = rng.integers(-2 ** 20, 2 ** 20, 5000) * 2 + 1   # ties
        m[:5000], e[:5000] = 1, 1
        got = simulator.rne_scale(x, m, e)
        want = [dyadic.rne_pow2(int(a) * int(b), int(c)) for a, b, c in zip(x, m, e)]
        np.testing.assert_array_equal(got, want)


class WriterTest(unittest.TestCase):
    def test_fnv1a64_vectors(self):
        self.assertEqual(writer.fnv1a64(b""), 0xcbf29ce484222325)
        self.assertEqual(writer.fnv1a64(b"a"), 0xaf63dc4c8601ec8c)
        self.assertEqual(writer.fnv1a64(b"foobar"), 0x85944171f73967e8)

    def test_int4_packing(self):
        self.assertEqual(writer.pack_elements("int4", [1, -2, 3]), bytes([0xE1, 0x03]))
        self.assertEqual(writer.pack_elements("uint4", [15, 0, 7, 9]), bytes([0x0F, 0x97]))
        with self.assertRaises(ValueError):
            writer.pack_elements("int4", [8])

    def test_alignment_and_roundtrip(self):
        w = writer.ModelWriter("t")
        w.inputs, w.outputs = ["x"], ["y"]
        w.add_activation("x", "int8", [1, 3], 0.5)
        w.add_constant("w", "int4", np.array([[1, -8, 7], [0, 2, -1]]), scale=[0.1, 0.2], axis=0)
        w.add_constant("b", "int32", np.array([5, -5]))
        w.add_activation("y", "int32", [1, 2], [0.05, 0.1], axis=1)
        w.add_node("fc", "fully_connected", ["x", "w", "b"], ["y"])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.json")
            doc = w.write(path)
            offs = [t["data"]["offset"] for t in doc["tensors"] if "data" in t]
            self.assertEqual(offs, [0, 64])
            m = simulator.Model(path)
            np.testing.assert_array_equal(m.consts["w"], [[1, -8, 7], [0, 2, -1]])
            y = m.run({"x": np.array([[1, 2, 3]])})["y"]
            np.testing.assert_array_equal(y, [[1 - 16 + 21 + 5, 0 + 4 - 3 - 5]])


class SimulatorGoldenTest(unittest.TestCase):
    """Hand-computed results, including exact ties of the requantization."""

    def test_tiny_fc_from_format_md(self):
        doc = model_doc([
            {"name": "x", "dtype": "int8", "shape": [1, 4], "scale": 0.05, "zero_point": 0},
            {"name": "w", "dtype": "int8", "shape": [2, 4], "scale": [0.01, 0.02], "axis": 0,
             "values": [1, -2, 3, -4, 5, 6, -7, 8]},
            {"name": "b", "dtype": "int32", "shape": [2], "values": [100, -50]},
            {"name": "y", "dtype": "int8", "scale": 0.1, "zero_point": -3}],
            [{"name": "fc", "op": "fully_connected", "inputs": ["x", "w", "b"],
              "outputs": ["y"], "attrs": {"multiplier": [1073741824, 1073741824],
                                          "shift": [40, 39]}}], ["x"], ["y"])
        with tempfile.TemporaryDirectory() as tmp:
            m = write_model(tmp, doc)
            # acc0 = -302, -512 (tie -0.5 -> 0), -658; acc1 = 768 (1.5 -> 2), 1278, 1792 (3.5 -> 4)
            x = np.array([[2, 0, 0, 101], [0, 52, 0, 127], [10, 127, -2, 127]])
            y = m.run({"x": x})["y"]
            np.testing.assert_array_equal(y, [[-3, -1], [-3, -1], [-4, 1]])

    def test_conv_padding_is_zero_point(self):
        doc = model_doc([
            {"name": "x", "dtype": "uint8", "shape": [1, 2, 2, 1], "scale": 1.0,
             "zero_point": 10},
            {"name": "w", "dtype": "int8", "shape": [1, 3, 3, 1], "scale": 1.0,
             "values": [1] * 9},
            {"name": "y", "dtype": "int32", "shape": [1, 2, 2, 1], "scale": 1.0}],
            [{"name": "c", "op": "conv2d", "inputs": ["x", "w", ""], "outputs": ["y"],
              "attrs": {"padding": 1}}], ["x"], ["y"])
        with tempfile.TemporaryDirectory() as tmp:
            m = write_model(tmp, doc)
            y = m.run({"x": np.array([10, 20, 30, 40]).reshape(1, 2, 2, 1)})["y"]
            np.testing.assert_array_equal(y.reshape(-1), [60, 60, 60, 60])

    def test_pools(self):
        doc = model_doc([
            {"name": "x", "dtype": "int8", "shape": [1, 2, 2, 1], "scale": 1.0},
            {"name": "mp", "dtype": "int8", "scale": 1.0},
            {"name": "ap", "dtype": "int8", "scale": 1.0},
            {"name": "gp", "dtype": "int8", "scale": 1.0}],
            [{"name": "m", "op": "max_pool", "inputs": ["x"], "outputs": ["mp"],
              "attrs": {"kernel": 2, "stride": 2, "padding": 1}},
             {"name": "a", "op": "average_pool", "inputs": ["x"], "outputs": ["ap"],
              "attrs": {"kernel": [1, 2], "stride": 1}},
             {"name": "g", "op": "global_average_pool", "inputs": ["x"], "outputs": ["gp"],
              "attrs": {"keepdims": False}}], ["x"], ["mp", "ap", "gp"])
        with tempfile.TemporaryDirectory() as tmp:
            m = write_model(tmp, doc)
            out = m.run({"x": np.array([-5, -6, -7, 0]).reshape(1, 2, 2, 1)})
            # padded positions ignored: each 2x2 window holds one valid pixel
            np.testing.assert_array_equal(out["mp"].reshape(-1), [-5, -6, -7, 0])
            # floor((-5-6)/2) = -6, floor((-7+0)/2) = -4
            np.testing.assert_array_equal(out["ap"].reshape(-1), [-6, -4])
            # floor(-18 / 4) = -5
            np.testing.assert_array_equal(out["gp"], [[-5]])

    def test_add_rounds_each_branch(self):
        doc = model_doc([
            {"name": "a", "dtype": "int32", "shape": [1, 1, 1, 2], "scale": [1.0, 1.0],
             "axis": 3},
            {"name": "b", "dtype": "int8", "shape": [1, 1, 1, 2], "scale": 1.0,
             "zero_point": 1},
            {"name": "y", "dtype": "int8", "scale": 1.0}],
            [{"name": "add", "op": "add", "inputs": ["a", "b"], "outputs": ["y"],
              "attrs": {"a_multiplier": [1 << 30, 1 << 30], "a_shift": [31, 31],
                        "b_multiplier": 3 << 28, "b_shift": 31, "activation": "relu"}}],
            ["a", "b"], ["y"])
        with tempfile.TemporaryDirectory() as tmp:
            m = write_model(tmp, doc)
            # a: 3/2 -> 2, -3/2 -> -2 ; b: (4-1)*3/8 = 1.125 -> 1, (-1-1)*3/8 = -0.75 -> -1
            # one rounding of the sum would give rne(2.625) = 3 and rne(-2.25) = -2
            y = m.run({"a": np.array([3, -3]).reshape(1, 1, 1, 2),
                       "b": np.array([4, -1]).reshape(1, 1, 1, 2)})["y"]
            np.testing.assert_array_equal(y.reshape(-1), [3, 0])

    def test_accumulator_bound_is_enforced(self):
        def doc(bias):
            return model_doc([
                {"name": "x", "dtype": "int8", "shape": [1, 2], "scale": 1.0},
                {"name": "w", "dtype": "int8", "shape": [1, 2], "scale": 1.0,
                 "values": [127, -128]},
                {"name": "b", "dtype": "int32", "shape": [1], "values": [bias]},
                {"name": "y", "dtype": "int32", "scale": 1.0}],
                [{"name": "fc", "op": "fully_connected", "inputs": ["x", "w", "b"],
                  "outputs": ["y"]}], ["x"], ["y"])
        limit = (1 << 31) - 1 - 128 * 255          # max|x| = 128, sum|w| = 255
        with tempfile.TemporaryDirectory() as tmp:
            write_model(tmp, doc(-limit))
            with self.assertRaises(simulator.SimError):
                write_model(tmp, doc(-limit - 1))

    def test_bad_checksum_is_refused(self):
        doc = model_doc([{"name": "x", "dtype": "int8", "shape": [1], "scale": 1.0}], [],
                        ["x"], ["x"])
        with tempfile.TemporaryDirectory() as tmp:
            write_model(tmp, doc, b"\0" * 8)
            with open(os.path.join(tmp, "m.bin"), "wb") as f:
                f.write(b"\1" * 8)
            with self.assertRaises(simulator.SimError):
                simulator.Model(os.path.join(tmp, "m.json"))


def tiny_resnet():
    torch.manual_seed(0)
    m = nn.Sequential(blocks.ConvBN(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                      blocks.BasicBlock(8, 8), blocks.BasicBlock(8, 16, 2),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    m.train()
    with torch.no_grad():
        for _ in range(3):
            m(torch.rand(32, 1, 28, 28))
    return m.eval()


class ExporterTest(unittest.TestCase):
    def test_unsupported_module_is_named(self):
        m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(),
                          nn.Sequential(nn.Conv2d(4, 4, 3), nn.Sigmoid()))
        with self.assertRaises(ExportError) as cm:
            qgraph.lower(m, qgraph.BitConfig({"w": 8, "a": 8}))
        self.assertIn("'2.1'", str(cm.exception))
        self.assertIn("Sigmoid", str(cm.exception))
        self.assertEqual(cm.exception.path, "2.1")

    def test_standalone_relu_is_refused(self):
        m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), nn.ReLU())
        with self.assertRaises(ExportError) as cm:
            qgraph.lower(m, qgraph.BitConfig({"w": 8, "a": 8}))
        self.assertEqual(cm.exception.path, "2")

    def test_linear_on_a_map_is_refused(self):
        m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Linear(26, 10))
        with self.assertRaises(ExportError) as cm:
            qgraph.lower(m, qgraph.BitConfig({"w": 8, "a": 8}))
        self.assertEqual(cm.exception.path, "2")

    def test_flatten_of_a_map_is_refused(self):
        m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2704, 10))
        with self.assertRaises(ExportError) as cm:
            qgraph.lower(m, qgraph.BitConfig({"w": 8, "a": 8}))
        self.assertEqual(cm.exception.path, "2")

    def test_export_matches_fake_quant(self):
        for cfg in (qgraph.BitConfig({"w": 8, "a": 8}, act8_signed=True),
                    qgraph.BitConfig({"w": 4, "a": 4}, {"0": {"w": 8, "a": 8},
                                                        "7": {"w": 8, "a": 8}})):
            g = qgraph.lower(tiny_resnet(), cfg)
            gen = torch.Generator().manual_seed(1)
            g.calibrate([torch.rand(64, 1, 28, 28, generator=gen) for _ in range(2)])
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "r.json")
                export.export(g, path, "r")
                m = simulator.Model(path)
                x = (torch.rand(64, 1, 28, 28, generator=gen) * 255).round()
                q = m.run({"image": x.permute(0, 2, 3, 1).numpy().astype(np.int64)},
                          keep_all=True)
                with torch.no_grad():
                    ref = g.forward(x / 255.0, "fake")
                want = torch.round(ref / g.output.scale).numpy()
                agree = (q["logits"] == want).mean()
                # the float32 convolution shortcut equals the pure int64 path
                saved, simulator.torch = simulator.torch, None
                try:
                    q64 = m.run({"image": x.permute(0, 2, 3, 1).numpy().astype(np.int64)},
                                keep_all=True)
                finally:
                    simulator.torch = saved
                for k in q:
                    np.testing.assert_array_equal(q[k], q64[k], k)
                self.assertGreater(agree, 0.97)
                self.assertLessEqual(np.abs(q["logits"] - want).max(), 2)
                dtypes = {t["name"]: t["dtype"] for t in m.doc["tensors"]}
                if cfg.default["w"] == 4:
                    self.assertEqual(dtypes["3.conv1.w"], "int4")
                    self.assertEqual(dtypes["3.conv1.out"], "uint4")
                    self.assertEqual(dtypes["0.w"], "int8")


if __name__ == "__main__":
    unittest.main()
