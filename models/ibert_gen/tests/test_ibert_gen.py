"""Tests of the encoder generator and of the simulator's transformer ops.

    /usr/bin/python3 -m unittest models.ibert_gen.tests.test_ibert_gen
"""
import json
import os
import tempfile
import unittest

import numpy as np

from models.dyad_export.simulator import Model, SimError
from models.ibert_gen.__main__ import TOY_PATH, main
from models.ibert_gen.build import layernorm_shift


class GeneratorTest(unittest.TestCase):
    def test_committed_toy_is_reproducible(self):
        """Regenerating the toy gives the committed JSON and weights byte for byte."""
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "ibert_toy.json")
            main(["--preset", "toy", "--out", out])
            for ext in (".json", ".bin"):
                with open(out[:-5] + ext, "rb") as a, open(TOY_PATH[:-5] + ext, "rb") as b:
                    self.assertEqual(a.read(), b.read(), ext)

    def test_toy_samples_cover_every_layer(self):
        with open(TOY_PATH) as f:
            doc = json.load(f)
        outputs = set(doc["outputs"])
        self.assertTrue({"emb.out", "l0.out", "l1.out", "l0.attn.probs", "l0.ffn.gelu"} <= outputs)
        ops = {n["op"] for n in doc["nodes"]}
        self.assertTrue({"embedding", "matmul", "int_softmax", "int_gelu", "int_layernorm",
                         "transpose", "reshape", "add", "requantize", "fully_connected"} <= ops)
        probs = np.array(doc["metadata"]["samples"][1]["expected"]["l0.attn.probs"])
        mask = np.array(doc["metadata"]["samples"][1]["inputs"]["attention_mask"])
        # Masked key positions get probability 0 in every row of every head.
        L = mask.size
        self.assertTrue(np.all(probs.reshape(-1, L)[:, mask == 0] == 0))
        self.assertTrue(np.all(probs.reshape(-1, L)[:, mask != 0].sum(axis=1) > 240))

    def test_w4_linears_get_four_bit_weights(self):
        from models.ibert_gen.config import preset
        from models.ibert_gen.float_model import Params
        cfg = preset("toy", w4=("ffn1", "ffn2"))
        layer = Params(cfg).layers[0]
        for key in ("ffn1", "ffn2"):
            self.assertEqual(layer[key]["bits"], 4)
            self.assertGreaterEqual(layer[key]["w"].min(), -7)
            self.assertLessEqual(layer[key]["w"].max(), 6)
        self.assertEqual(layer["q"]["bits"], 8)
        self.assertGreater(np.abs(layer["q"]["w"]).max(), 7)
        with self.assertRaises(ValueError):
            preset("toy", w4=("ffn3",))
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "w4.json")
            main(["--preset", "toy", "--w4", "ffn1,ffn2", "--out", out, "--samples", "0"])
            with open(out) as f:
                dtypes = {t["name"]: t["dtype"] for t in json.load(f)["tensors"]}
            self.assertEqual(dtypes["l0.ffn.inter.w"], "int4")
            self.assertEqual(dtypes["l0.ffn.dense.w"], "int4")
            self.assertEqual(dtypes["l0.q.w"], "int8")

    def test_simulator_rejects_bad_ids(self):
        sim = Model(TOY_PATH)
        ids = np.zeros((1, 8), dtype=np.int64)
        ids[0, 3] = 96
        with self.assertRaisesRegex(SimError, "emb.word.*id 96 at position 3"):
            sim.run({"input_ids": ids, "attention_mask": np.ones((1, 8), dtype=np.int64)})

    def test_layernorm_shift(self):
        # HF set_shift: ceil(log2(sqrt(var / 2^32))), at least 0.
        self.assertEqual(layernorm_shift(2**32), 0)
        self.assertEqual(layernorm_shift(2**32 + 1), 1)
        self.assertEqual(layernorm_shift(2**34), 1)
        self.assertEqual(layernorm_shift(2**34 + 1), 2)
        self.assertEqual(layernorm_shift(10), 0)


if __name__ == "__main__":
    unittest.main()
