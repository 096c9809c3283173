"""Tests of the exporter's `dyad mpq solve` result reader (models/dyad_export/mpq_result.py)
and of `--bits mpq:RESULT.json` on the command line and in the Fashion-MNIST pipeline.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s models/dyad_export/tests -t .
"""
import contextlib
import io
import json
import os
import tempfile
import unittest

import numpy as np
import torch

from models.dyad_export import cli, mpq_result, simulator
from models.dyad_export.mpq_result import MpqResultError
from models.fmnist import nets, pipeline


def result_doc(layers, status="optimal"):
    return {"schema": "dyad-mpq-result/1", "status": status, "solver": "pareto-dp",
            "objective": 0.25, "totals": {"size": 100}, "limits": {"size": 120},
            "layers": [{"name": n, "choice": f"w{w}a{a}", "w_bits": w, "a_bits": a}
                       for n, w, a in layers],
            "input_sha256": "00" * 32}


class ReadTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "result.json")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, doc):
        with open(self.path, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        return self.path

    def refused(self, doc, *parts):
        with self.assertRaises(MpqResultError) as cm:
            mpq_result.read(self.write(doc))
        msg = str(cm.exception)
        self.assertTrue(msg.startswith(self.path + ": "), msg)
        for p in parts:
            self.assertIn(p, msg)

    def test_reads_the_layers(self):
        table = mpq_result.read(self.write(result_doc([("a", 4, 4), ("b", 8, 8), ("c", 4, 8)])))
        self.assertEqual(table, {"a": {"w": 4, "a": 4}, "b": {"w": 8, "a": 8},
                                 "c": {"w": 4, "a": 8}})

    def test_refuses_bad_files(self):
        good = result_doc([("a", 4, 4), ("b", 8, 8)])
        self.refused("{", "not valid JSON")
        self.refused("[]", "expected a JSON object")
        self.refused(dict(good, schema="dyad-mpq-candidates/1"), "field 'schema'",
                     "dyad-mpq-result/1")
        self.refused(dict(good, status="infeasible", message="size below 7"), "field 'status'",
                     "'infeasible'", "size below 7")
        self.refused(dict(good, status="not_proven"), "field 'status'")
        frontier = dict(good)
        del frontier["layers"]
        self.refused(frontier, "field 'layers'")
        self.refused(result_doc([("a", 4, 4), ("a", 8, 8)]), "layers[1] 'a'", "listed twice")
        self.refused(result_doc([("a", 4, 4), ("b", 2, 2)]), "layers[1] 'b'", "field 'w_bits'",
                     "2 is not 4 or 8")
        self.refused(result_doc([("a", 4, 16)]), "layers[0] 'a'", "field 'a_bits'")
        bad = result_doc([("a", 4, 4)])
        bad["layers"][0]["w_bits"] = True
        self.refused(bad, "field 'w_bits'")
        bad["layers"][0]["w_bits"] = 4.0
        self.refused(bad, "field 'w_bits'")
        del bad["layers"][0]["name"]
        self.refused(bad, "layers[0]: field 'name'")
        self.refused(json.dumps(good).replace("0.25", "NaN"), "NaN is not a JSON number")
        self.refused(result_doc([("a", 4, 4)]) | {"layers": ["a"]}, "layers[0]: expected an object")

    def test_unreadable_file(self):
        with self.assertRaises(MpqResultError) as cm:
            mpq_result.read(os.path.join(self.tmp.name, "missing.json"))
        self.assertIn("cannot read", str(cm.exception))

    def test_check_layers(self):
        table = {"stem": {"w": 4, "a": 8}, "fc": {"w": 4, "a": 4}}
        mpq_result.check_layers(table, "r.json", ["stem", "blocks.0.conv1", "fc"], {"stem": 8})
        with self.assertRaises(MpqResultError) as cm:
            mpq_result.check_layers(table | {"blocks.9.conv1": {"w": 4, "a": 4}}, "r.json",
                                    ["stem", "fc"])
        self.assertIn("r.json: layers[2] 'blocks.9.conv1': field 'name'", str(cm.exception))
        self.assertIn("its layers: stem, fc", str(cm.exception))
        with self.assertRaises(MpqResultError) as cm:
            mpq_result.check_layers({"stem": {"w": 4, "a": 4}}, "r.json", ["stem"], {"stem": 8})
        self.assertIn("layers[0] 'stem': field 'a_bits': 4", str(cm.exception))


class CommandLineTest(unittest.TestCase):
    net = "models.dyad_export.tests.test_fx_capture:SmallNet"
    args = ["--input-shape", "1,3,16,16", "--calib", "2"]

    def run_cli(self, tmp, layers):
        res = os.path.join(tmp, "result.json")
        with open(res, "w") as f:
            json.dump(result_doc(layers), f)
        out = os.path.join(tmp, "net.json")
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = cli.main([self.net, *self.args, "--bits", f"mpq:{res}", "--out", out])
        return rc, out, err.getvalue()

    def test_exports_the_chosen_bits(self):
        with tempfile.TemporaryDirectory() as tmp:
            rc, out, err = self.run_cli(tmp, [("pw", 4, 4), ("fc1", 4, 8), ("stem.0", 4, 8)])
            self.assertEqual(rc, 0, err)
            m = simulator.Model(out)
            dtypes = {t["name"]: t["dtype"] for t in m.doc["tensors"]}
            self.assertEqual((dtypes["pw.w"], dtypes["fc1.w"], dtypes["stem.0.w"], dtypes["a.w"]),
                             ("int4", "int4", "int4", "int8"))
            meta = m.doc["metadata"]["mpq_result"]
            self.assertEqual((meta["status"], meta["objective"]), ("optimal", 0.25))

    def test_errors_write_nothing(self):
        for layers, parts in (
                ([("pw", 4, 4), ("fc3", 4, 4)], ("layers[1] 'fc3': field 'name'", "fc1")),
                ([("stem.0", 4, 4)], ("layers[0] 'stem.0': field 'a_bits'",)),
                ([("pw", 5, 4)], ("layers[0] 'pw': field 'w_bits'",))):
            with tempfile.TemporaryDirectory() as tmp:
                rc, out, err = self.run_cli(tmp, layers)
                self.assertEqual(rc, 2)
                for p in parts:
                    self.assertIn(p, err)
                self.assertEqual(os.listdir(tmp), ["result.json"])


class FashionMnistPipelineTest(unittest.TestCase):
    """build_graph(bits=...) gives exactly the chosen widths to the ResNet and ViT lowerings."""

    def test_resnet(self):
        torch.manual_seed(0)
        model = nets.ResNet(widths=(4, 8, 8)).eval()
        bits = {"blocks.0.conv1": {"w": 4, "a": 4}, "blocks.2.conv2": {"w": 4, "a": 4},
                "stem": {"w": 4, "a": 8}}
        probe = pipeline.build_graph(model, None, {})
        names, fixed = mpq_result.model_layers(probe)
        self.assertEqual(names[0], "stem")
        self.assertEqual(fixed, {"stem": 8})
        mpq_result.check_layers(bits, "r.json", names, fixed)
        g = pipeline.build_graph(model, None, bits)
        got = {n.path: (n.w_bits, n.a_bits) for n in g.nodes if hasattr(n, "w_bits")}
        for name in names:
            want = bits.get(name, {"w": 8, "a": 8})
            self.assertEqual(got[name], (want["w"], want["a"]), name)
        self.assertEqual(pipeline.bit_config(g, "resnet_mpq")["layers"]["stem"],
                         {"w": 4, "a": 8})

    def test_vit(self):
        torch.manual_seed(0)
        model = nets.ViT(patch=7, dim=16, depth=1, heads=2, mlp=32).eval()
        names, fixed = mpq_result.model_layers(pipeline.build_graph(model, None, {}))
        self.assertEqual(names, ["patch_embed", "layers.0.q", "layers.0.k", "layers.0.v",
                                 "layers.0.proj", "layers.0.fc1", "layers.0.fc2", "head"])
        self.assertEqual(set(fixed.values()), {8})
        with self.assertRaises(MpqResultError):
            mpq_result.check_layers({"layers.0.q": {"w": 4, "a": 4}}, "r.json", names, fixed)
        g = pipeline.build_graph(model, None, {"layers.0.fc1": {"w": 4, "a": 8}})
        bits = g.describe_bits()
        self.assertEqual(bits["layers.0.fc1"], 4)
        self.assertEqual(sum(b == 4 for b in bits.values()), 1)


class ExportBitsTest(unittest.TestCase):
    """python3 -m models.fmnist.export_bits resnet --bits mpq:RESULT.json (the shipped
    float checkpoint)."""

    def run_export(self, tmp, layers):
        from models.fmnist import export_bits
        res = os.path.join(tmp, "result.json")
        with open(res, "w") as f:
            json.dump(result_doc(layers), f)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = export_bits.main(["resnet", "--bits", f"mpq:{res}", "--calib", "16",
                                   "--out", os.path.join(tmp, "m.json")])
        return rc, err.getvalue()

    def test_exports_and_refuses(self):
        with tempfile.TemporaryDirectory() as tmp:
            rc, err = self.run_export(tmp, [("stem", 4, 8), ("blocks.2.conv2", 4, 4)])
            self.assertEqual(rc, 0, err)
            m = simulator.Model(os.path.join(tmp, "m.json"))
            dtypes = {t["name"]: t["dtype"] for t in m.doc["tensors"]}
            self.assertEqual((dtypes["stem.w"], dtypes["blocks.2.conv2.w"],
                              dtypes["blocks.2.conv1.w"]), ("int4", "int4", "int8"))
        with tempfile.TemporaryDirectory() as tmp:
            rc, err = self.run_export(tmp, [("stem.conv", 4, 8)])
            self.assertEqual(rc, 2)
            self.assertIn("layers[0] 'stem.conv': field 'name'", err)
            self.assertEqual(os.listdir(tmp), ["result.json"])


if __name__ == "__main__":
    unittest.main()
