"""models.fmnist.export_bits: per-layer bits land in the exported model, node names
are the shipped models' names, and bad --bits is a usage error."""
import contextlib
import io
import json
import os
import tempfile
import unittest

from . import export_bits


def dtypes(path):
    with open(path) as f:
        doc = json.load(f)
    t = {x["name"]: x["dtype"] for x in doc["tensors"]}
    return {n["name"]: (t[n["inputs"][0]], t[n["inputs"][1]]) for n in doc["nodes"]
            if n["op"] in ("conv2d", "fully_connected")}


class ExportBitsTest(unittest.TestCase):
    def export(self, net, bits):
        out = os.path.join(self.tmp.name, f"{net}.json")
        with contextlib.redirect_stdout(io.StringIO()):
            rc = export_bits.main([net, "--bits", bits, "--out", out, "--calib", "16"])
        self.assertEqual(rc, 0)
        return dtypes(out)

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_resnet_mixed(self):
        d = self.export("resnet", '{"blocks.0.": 4, "fc": {"w": 4, "a": 8}}')
        self.assertEqual(d["stem"], ("uint8", "int8"))
        self.assertEqual(d["blocks.0.conv1"], ("uint4", "int4"))
        self.assertEqual(d["blocks.0.conv2"], ("uint4", "int4"))
        self.assertEqual(d["blocks.1.conv1"], ("uint8", "int8"))
        self.assertEqual(d["fc"][1], "int4")
        self.assertEqual(d["fc"][0], "uint8")

    def test_resnet_all_int4_keeps_an_8_bit_stem_input(self):
        d = self.export("resnet", "4")
        self.assertEqual(d["stem"], ("uint8", "int4"))
        self.assertEqual(d["blocks.2.shortcut"], ("uint4", "int4"))

    def test_vit_weight_bits(self):
        d = self.export("vit", '{"layers.1.": 4}')
        self.assertEqual(d["layers.1.fc1"][1], "int4")
        self.assertEqual(d["layers.0.fc1"][1], "int8")
        self.assertEqual(d["head"][1], "int8")

    def test_bad_bits(self):
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(export_bits.main(["resnet", "--bits", "[4]", "--out", "x.json"]), 2)


if __name__ == "__main__":
    unittest.main()
