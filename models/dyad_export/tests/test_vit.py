"""Tests of the ViT lowering (vit.py, vit_export.py) and of the simulator's
vectorized I-BERT ops (simulator_ibert_fast.py).

Run from the repository root:
    /usr/bin/python3 -m unittest models.dyad_export.tests.test_vit
"""
import os
import tempfile
import unittest

import numpy as np
import torch
from torch import nn

from models.dyad_export import simulator, simulator_ibert_fast as fast, vit, vit_export
from models.dyad_export.errors import ExportError
from models.fmnist import nets
from models.ibert_sim import gelu, layernorm, softmax


def tiny_vit(**overrides):
    torch.manual_seed(0)
    kwargs = {"patch": 7, "dim": 16, "depth": 2, "heads": 2, "mlp": 32, "num_classes": 10}
    kwargs.update(overrides)
    m = nets.ViT(**kwargs)
    with torch.no_grad():        # non-trivial LayerNorm affine parameters and tokens
        for name, p in m.named_parameters():
            if "ln" in name or "token" in name:
                p.add_(torch.randn_like(p) * 0.3)
    return m.eval()


def calibrated(model, w_bits=lambda path: 8):
    g = vit.ViTGraph(model, w_bits)
    gen = torch.Generator().manual_seed(1)
    g.calibrate([torch.rand(32, 1, 28, 28, generator=gen) for _ in range(2)])
    return g


class FastIbertOpsTest(unittest.TestCase):
    """The int64 paths equal models/ibert_sim's Python-int reference exactly."""

    def test_int_gelu(self):
        rng = np.random.default_rng(0)
        for scale in (3e-4, 1e-5, 0.02):
            consts = [gelu.gelu_constants(scale * f, np.float32) for f in (0.5, 1.0, 3.0)]
            lim = int(4.0 / scale)
            x = rng.integers(-lim, lim, (40, 3))
            x[0] = [0, -1, 1]
            b, c, s = ([k[key] for k in consts] for key in ("b_int", "c_int", "shift_int"))
            got = fast.int_gelu(x, b, c, s)
            self.assertIsNotNone(got)
            want = [[gelu.int_gelu_element(int(v), b[j], c[j], s[j]) for j, v in enumerate(r)]
                    for r in x.tolist()]
            np.testing.assert_array_equal(got, want)

    def test_int_softmax_with_mask_and_edge_rows(self):
        rng = np.random.default_rng(1)
        for scale in (2e-3, 4e-4):
            c_int = softmax.softmax_constants(scale, 0.0, 1.0, np.float32)["c_int"]
            k = softmax.softmax_constants(scale, 0.0, float(c_int) * 2.0 ** 30, np.float32)
            x = rng.integers(-int(12 / scale), int(12 / scale), (30, 9))
            x[1] = x[1, 0]                            # all equal
            x[2, 3] = x[2].max() + int(40 / scale)    # one dominant entry (others underflow)
            keep = rng.random((30, 9)) < 0.8
            keep[3] = False                           # fully masked row -> zeros
            got = fast.int_softmax(x, keep, k)
            want = [softmax.int_softmax_row(r, k, kr)[0]
                    for r, kr in zip(x.tolist(), keep.tolist())]
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got[3], 0)

    def test_int_layernorm(self):
        rng = np.random.default_rng(2)
        bias = list(rng.integers(-2 ** 30, 2 ** 30, 8))
        for shift, lim in ((0, 1 << 15), (3, 1 << 21)):
            x = rng.integers(-lim, lim, (50, 8))
            x[0] = 7                                  # std 0 -> bias
            x[1] = [1, 2] * 4                         # mean 1.5: tie to even
            x[2] = [2, 3, 2, 3, 2, 3, 2, 4]
            got = fast.int_layernorm(x, shift, bias)
            want = [layernorm.int_layernorm_row(r, shift, [int(b) for b in bias])
                    for r in x.tolist()]
            np.testing.assert_array_equal(got, want)

    def test_unsafe_operands_fall_back(self):
        self.assertIsNone(fast.int_layernorm(np.array([[1 << 45, 0]]), 0, [0, 0]))
        self.assertIsNone(fast.int_gelu(np.array([[1 << 40]]), [-(1 << 30)], [-(1 << 61)],
                                        [-(1 << 40)]))


class ViTExportTest(unittest.TestCase):
    def test_unsupported_modules_are_named(self):
        m = tiny_vit()
        m.layers[1].act = nn.ReLU()
        with self.assertRaises(ExportError) as cm:
            vit.ViTGraph(m, lambda p: 8)
        self.assertEqual(cm.exception.path, "layers.1.act")
        self.assertIn("ReLU", str(cm.exception))
        m = tiny_vit()
        m.layers[0].act = nn.GELU(approximate="tanh")
        with self.assertRaises(ExportError) as cm:
            vit.ViTGraph(m, lambda p: 8)
        self.assertEqual(cm.exception.path, "layers.0.act")
        m = tiny_vit()
        m.layers[0].drop = nn.Dropout(0.1)
        with self.assertRaises(ExportError) as cm:
            vit.ViTGraph(m, lambda p: 8)
        self.assertEqual(cm.exception.path, "layers.0.drop")
        m = tiny_vit()
        m.layers[0].ln2 = nn.BatchNorm1d(16)
        with self.assertRaises(ExportError) as cm:
            vit.ViTGraph(m, lambda p: 8)
        self.assertEqual(cm.exception.path, "layers.0.ln2")
        self.assertIn("BatchNorm1d", str(cm.exception))
        with self.assertRaises(ExportError) as cm:
            vit.ViTGraph(tiny_vit(), lambda p: 2)
        self.assertEqual(cm.exception.path, "patch_embed")

    def test_float_graph_equals_model(self):
        m = tiny_vit()
        g = vit.ViTGraph(m, lambda p: 8)
        x = torch.rand(3, 1, 28, 28)
        with torch.no_grad():
            torch.testing.assert_close(g.forward(x, "float"), m(x), atol=1e-5, rtol=1e-5)

    def test_export_runs_and_follows_fake_quant(self):
        for bits in (lambda p: 8, lambda p: 4 if p.startswith("layers.") else 8):
            g = calibrated(tiny_vit(), bits)
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "v.json")
                doc = vit_export.export(g, path, "v")
                m = simulator.Model(path)
                x = (torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(3))
                     * 255).round()
                q = m.run({"image": x.permute(0, 2, 3, 1).numpy().astype(np.int64)})["logits"]
                with torch.no_grad():
                    ref = g.forward(x / 255.0, "fake") / g.logits.scale
                # the integer GELU / softmax / LayerNorm approximate the float ones the
                # emulation uses: close, not equal
                diff = np.abs(q - ref.numpy())
                self.assertLess(float(diff.mean()), 1.5)
                self.assertGreater(float(np.corrcoef(q.ravel(), ref.numpy().ravel())[0, 1]),
                                   0.99)
                # a batch run equals single-image runs (the engine's batch is 1)
                one = m.run({"image": x[:1].permute(0, 2, 3, 1).numpy().astype(np.int64)})
                np.testing.assert_array_equal(one["logits"], q[:1])
                dtypes = {t["name"]: t["dtype"] for t in doc["tensors"]}
                ops = [n["op"] for n in doc["nodes"]]
                self.assertEqual(ops.count("int_softmax"), 2)
                self.assertEqual(ops.count("int_gelu"), 2)
                self.assertEqual(ops.count("int_layernorm"), 4)
                self.assertEqual(dtypes["patch_embed.w"], "int8")
                self.assertEqual(dtypes["head.w"], "int8")
                self.assertEqual(dtypes["layers.0.fc1.w"], "int4" if bits("layers.") == 4
                                 else "int8")

    def test_head_reads_only_the_class_token(self):
        g = calibrated(tiny_vit())
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "v.json")
            vit_export.export(g, path, "v")
            m = simulator.Model(path)
            w = m.consts["head.w"]
            self.assertEqual(w.shape, (10, 17 * 16))
            self.assertTrue((w[:, 16:] == 0).all())
            self.assertTrue((w[:, :16] != 0).any())


if __name__ == "__main__":
    unittest.main()
