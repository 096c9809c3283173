"""Tests of the per-layer float vs integer report (compare.py, vit_activations.py).

Run from the repository root:
    /usr/bin/python3 -m unittest models.dyad_export.tests.test_compare
"""
import json
import os
import tempfile
import unittest

import numpy as np
import torch

from models.dyad_export import compare, export, qgraph, simulator, vit_activations, vit_export
from models.dyad_export.tests.test_dyad_export import tiny_resnet
from models.dyad_export.tests.test_vit import calibrated, tiny_vit


def images(count=48, seed=5):
    return np.random.default_rng(seed).integers(0, 256, (count, 28, 28)).astype(np.uint8)


def by_name(rows):
    return {r["tensor"]: r for r in rows}


class ViTLayerReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.graph = calibrated(tiny_vit())
        cls.path = os.path.join(cls.tmp.name, "v.json")
        vit_export.export(cls.graph, cls.path, "v")
        cls.x = images()
        cls.rows = compare.layer_report(cls.graph, simulator.Model(cls.path), cls.x, batch=20)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_rows_are_the_non_layout_activations_in_graph_order(self):
        m = simulator.Model(self.path)
        layout = {o for n in m.doc["nodes"] if n["op"] in ("reshape", "transpose")
                  for o in n["outputs"]}
        want = [t["name"] for t in m.doc["tensors"] if t["name"] not in m.consts
                and t["name"] not in layout]
        self.assertEqual([r["tensor"] for r in self.rows], want)
        names = set(want)
        for i in range(2):
            for k in ("q", "k", "v", "scores", "probs", "ctx.heads", "proj.acc", "res1",
                      "ln1.int", "ln1", "fc1.acc", "gelu.int", "gelu", "fc2.acc", "res2",
                      "ln2.int", "out"):
                self.assertIn(f"layers.{i}.{k}", names)
            self.assertNotIn(f"layers.{i}.q.heads", names)
        self.assertEqual(want[0], "image")
        self.assertEqual(want[-1], "logits")

    def test_values(self):
        rows = by_name(self.rows)
        # the uint8 image is exact: pixel * f32(1/255) vs pixel / 255
        self.assertLess(rows["image"]["rel_err"], 1e-6)
        self.assertGreater(rows["image"]["cosine"], 1 - 1e-9)
        for r in self.rows:
            self.assertIsNone(r["fake_quant_agree"])
            self.assertTrue(np.isfinite(r["rel_err"]) and np.isfinite(r["added_err"]))
            self.assertLessEqual(abs(r["cosine"]), 1 + 1e-9)
            self.assertGreaterEqual(r["max_abs_err"], 0.0)
            # INT8 everywhere: every tensor tracks its float value; a tensor compared
            # with the wrong float value (layout, name) would be off by ~100 %
            self.assertLess(r["rel_err"], 0.2, r["tensor"])
            self.assertGreater(r["cosine"], 0.98, r["tensor"])
        self.assertEqual(rows["layers.0.q"]["inputs"], ["tokens"])
        self.assertEqual(rows["layers.0.scores"]["inputs"], ["layers.0.k", "layers.0.q"])
        self.assertEqual(rows["logits"]["inputs"], ["layers.1.out"])
        self.assertAlmostEqual(rows["layers.0.q"]["added_err"],
                               rows["layers.0.q"]["rel_err"] - rows["tokens"]["rel_err"])
        text = compare.format_report(self.rows, "tiny")
        for r in self.rows:
            self.assertIn(r["tensor"], text)
        worst = compare.worst_layers(self.rows)
        self.assertIn(f"adds the most relative error: {worst[0]['tensor']}", text)
        self.assertEqual(worst[0]["added_err"], max(r["added_err"] for r in self.rows))

    def test_perturbed_scale_raises_only_that_layer(self):
        with open(self.path) as f:
            doc = json.load(f)
        for t in doc["tensors"]:
            if t["name"] == "layers.0.ln1":
                t["scale"] *= 1.25        # the integers stay (requantize keeps its constants)
        bad = os.path.join(self.tmp.name, "bad.json")
        with open(bad, "w") as f:
            json.dump(doc, f)
        rows = by_name(compare.layer_report(self.graph, simulator.Model(bad), self.x,
                                            batch=20))
        for r in self.rows:
            if r["tensor"] == "layers.0.ln1":
                self.assertGreater(rows["layers.0.ln1"]["rel_err"], r["rel_err"] + 0.15)
                self.assertGreater(rows["layers.0.ln1"]["added_err"], 0.15)
            else:
                self.assertAlmostEqual(rows[r["tensor"]]["rel_err"], r["rel_err"], places=12)

    def test_float_values_match_the_model_and_leave_the_graph_as_it_was(self):
        g = self.graph
        scales = {n: p.scale for n, p in g.points.items()}
        x = torch.from_numpy(self.x[:8]).float().div(255).unsqueeze(1)
        vals = vit_activations.float_activations(g, x)
        with torch.no_grad():
            np.testing.assert_allclose(vals["logits"], g.model(x).double().numpy(),
                                       rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(vals["layers.1.probs"].sum(-1), 1.0,
                                   atol=1e-5)
        self.assertEqual({n: p.scale for n, p in g.points.items()}, scales)
        self.assertNotIn("acc", vars(g.patch))
        self.assertEqual(vals["tokens.patches"].shape, (8, 4, 4, 16))
        np.testing.assert_array_equal(vals["tokens.patches"].reshape(8, 16, 16),
                                      vals["tokens"][:, 1:])


class ResNetLayerReportTest(unittest.TestCase):
    def test_report(self):
        g = qgraph.lower(tiny_resnet(), qgraph.BitConfig({"w": 8, "a": 8}, act8_signed=True))
        g.calibrate([torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1))])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "r.json")
            export.export(g, path, "r")
            rows = compare.layer_report(g, simulator.Model(path), images(32))
        names = [r["tensor"] for r in rows]
        self.assertEqual(names[0], "image")
        self.assertEqual(names[-1], "logits")
        self.assertLess(rows[0]["rel_err"], 1e-6)
        for r in rows:
            self.assertGreater(r["fake_quant_agree"], 0.9, r["tensor"])
            self.assertLess(r["rel_err"], 0.2, r["tensor"])


if __name__ == "__main__":
    unittest.main()
