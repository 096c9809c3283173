"""Unit tests of the V:N:M pruner and packer, with hand-computed goldens.

Run from the repository root:
    /usr/bin/python3 -m unittest models.vnm.tests.test_vnm
(The C++ test VnmFormat.PythonPackerWritesTheSameBytes checks that the blob is
byte-identical to kernels/vnm_gemm's vnm_pack.)
"""
import os
import tempfile
import unittest

import numpy as np

from models.vnm import pack, prune


def random_vnm(rng, n, k, v, m, lo=-128, hi=127):
    w = np.zeros((n, k), np.int8)
    groups = -(-k // m)
    for b in range(-(-n // v)):
        for g in range(groups):
            cols = rng.permutation(m)[:4]
            for r in range(b * v, min(n, b * v + v)):
                for c in rng.permutation(cols)[:2]:
                    if g * m + c < k:
                        w[r, g * m + c] = rng.integers(lo, hi + 1)
    return w


class PackTest(unittest.TestCase):
    def test_layout(self):
        lay = pack.layout(20, 21, 16, 5, 8)
        self.assertEqual((lay["n_pad"], lay["k_pad"], lay["groups"], lay["group_pairs"]), (32, 30, 6, 3))
        self.assertEqual((lay["positions_offset"], lay["columns_offset"], lay["total_bytes"]), (384, 512, 560))
        self.assertEqual(pack.layout(20, 21, 16, 5, 4)["total_bytes"], 368)
        with self.assertRaisesRegex(pack.VnmError, "V = 12"):
            pack.layout(8, 8, 12, 4)
        with self.assertRaisesRegex(pack.VnmError, "M = 3"):
            pack.layout(8, 8, 8, 3)

    def test_golden_2of4(self):
        w = np.zeros((8, 8), np.int8)
        w[0] = [1, 0, -2, 0, 0, 3, 0, 4]
        blob = pack.pack_vnm(w, 8, 4)
        want = bytearray(136)
        want[0:4] = bytes([1, 0xFE, 3, 4])
        want[64] = 8 + 208                      # positions (0, 2) and (1, 3)
        for r in range(1, 8):
            want[64 + r] = 4 | 4 << 4           # (0, 1) in both groups
        want[128:136] = bytes([0, 1, 2, 3, 0, 1, 2, 3])
        self.assertEqual(blob, bytes(want))

    def test_golden_column_choice(self):
        w = np.zeros((8, 16), np.int8)
        w[0, 1], w[0, 6] = 5, -7
        w[3, 2], w[3, 6] = 9, 10
        w[5, 9], w[5, 15] = -1, 127
        blob = pack.pack_vnm(w, 8, 8)
        self.assertEqual(blob[128:136], bytes([0, 1, 2, 6, 0, 1, 2, 7]))
        self.assertEqual(blob[64 + 0], (1 | 3 << 2) | (0 | 1 << 2) << 4)
        self.assertEqual(blob[64 + 3], (2 | 3 << 2) | 4 << 4)
        self.assertEqual(blob[64 + 5], 4 | (1 | 3 << 2) << 4)
        self.assertEqual(blob[20:24], bytes([0, 0, 0xFF, 127]))

    def test_golden_int4(self):
        w = np.zeros((8, 8), np.int8)
        w[0] = [1, 0, -2, 0, 0, 3, 0, -8]
        w[4, :2] = [7, -1]
        blob = pack.pack_vnm(w, 8, 4, 4)
        self.assertEqual(blob[:4], bytes([1 | 7 << 4, 14 | 15 << 4, 3, 8]))

    def test_refusals(self):
        w = np.zeros((16, 16), np.int8)
        for c in (0, 1, 2, 3, 5):
            w[c % 3, c] = 1
        with self.assertRaisesRegex(pack.VnmError, r"rows 0\.\.7, group 0 \(columns 0\.\.7\): nonzeros in 5 columns"):
            pack.pack_vnm(w, 8, 8)
        w[:] = 0
        w[9, [8, 9, 12]] = 1
        with self.assertRaisesRegex(pack.VnmError, r"row 9, group 1: 3 nonzeros \(columns 8, 9, 12\)"):
            pack.pack_vnm(w, 8, 8)
        w[:] = 0
        w[0, 3] = 8
        with self.assertRaisesRegex(pack.VnmError, r"w\[0, 3\] = 8 is outside the int4 range"):
            pack.pack_vnm(w, 8, 8, 4)

    def test_round_trip(self):
        rng = np.random.default_rng(1)
        for v in (8, 16, 64):
            for m in (4, 5, 8, 16, 40):
                for bits in (8, 4):
                    n, k = int(rng.integers(1, 100)), int(rng.integers(1, 150))
                    lo, hi = (-8, 7) if bits == 4 else (-128, 127)
                    w = random_vnm(rng, n, k, v, m, lo, hi)
                    blob = pack.pack_vnm(w, v, m, bits)
                    self.assertEqual(pack.validate_vnm(blob, n, k, v, m, bits), "")
                    np.testing.assert_array_equal(pack.unpack_vnm(blob, n, k, v, m, bits), w)

    def test_validate_corruptions(self):
        rng = np.random.default_rng(2)
        n, k, v, m = 20, 21, 16, 5
        blob = pack.pack_vnm(random_vnm(rng, n, k, v, m), v, m)
        lay = pack.layout(n, k, v, m)
        co, po = lay["columns_offset"], lay["positions_offset"]

        def check(offset, value, expect):
            bad = bytearray(blob)
            bad[offset] = value
            self.assertIn(expect, pack.validate_vnm(bytes(bad), n, k, v, m))

        check(co + 3, 5, "kept column offset 5 is not below M = 5")
        bad = bytearray(blob)
        bad[co:co + 4] = bytes([0, 2, 2, 4])
        self.assertIn("(0, 2, 2, 4) are not 4 distinct ascending", pack.validate_vnm(bytes(bad), n, k, v, m))
        p10 = po + (1 * lay["group_pairs"] + 1) * 8 + 2
        check(p10, (blob[p10] & 0xF0) | 1 | 1 << 2, "row 10, group 2: positions (1, 1)")
        check(p10, (blob[p10] & 0x0F) | (2 | 2 << 2) << 4, "row 10, group 3: positions (2, 2)")
        check((3 * lay["group_pairs"]) * 32 + 4, 9, "row 25, column")
        check((0 * lay["group_pairs"] + 2) * 32 + 2, 1, "value 1 in padding (N = 20, K = 21) must be 0")
        check(lay["positions_offset"] + lay["positions_bytes"], 7, "padding byte 480 after the positions section is 7")
        small = bytearray(pack.pack_vnm(np.zeros((8, 10), np.int8), 8, 5))  # values 32 bytes, positions at 64
        small[40] = 1
        self.assertIn("padding byte 40 after the values section is 1", pack.validate_vnm(bytes(small), 8, 10, 8, 5))
        self.assertIn("has 559 bytes", pack.validate_vnm(blob[:-1], n, k, v, m))


class PruneTest(unittest.TestCase):
    def test_exact_hand_example(self):
        # Every row [1 1 1 1 10]: subsets with column 4 score 11 per row, the
        # first of them in lexicographic order is (0, 1, 2, 4); each row keeps
        # 10 and the first of the tied 1s (column 0).
        w = np.tile(np.array([1.0, 1, 1, 1, 10]), (8, 1))
        pruned, mask = prune.prune_vnm(w, 8, 5)
        want = np.zeros((8, 5), bool)
        want[:, [0, 4]] = True
        np.testing.assert_array_equal(mask, want)
        np.testing.assert_array_equal(pruned, np.where(want, w, 0))

    def test_exact_beats_greedy(self):
        # Column sums favour columns 0..3 (24 each, 4 and 5 only 20), but
        # rows 0..3 want 4 and 5: rows 0-3 = [3 3 3 3 5 5 0 0], rows 4-7 =
        # [3 3 3 3 0 0 0 0]. Greedy keeps (0, 1, 2, 3): 8 * 6 = 48. Exact
        # keeps (0, 1, 4, 5): 4 * 10 + 4 * 6 = 64.
        w = np.zeros((8, 8))
        w[:, :4] = 3
        w[:4, 4:6] = 5
        g, _ = prune.prune_vnm(w, 8, 8, method="greedy")
        e, mask = prune.prune_vnm(w, 8, 8, method="exact")
        self.assertEqual(np.abs(g).sum(), 48)
        self.assertEqual(np.abs(e).sum(), 64)
        np.testing.assert_array_equal(np.flatnonzero(mask.any(axis=0)), [0, 1, 4, 5])

    def test_pattern_density_and_scores(self):
        rng = np.random.default_rng(3)
        for v, m in ((16, 4), (64, 5), (32, 8), (16, 16)):
            w = rng.normal(size=(100, 130)).astype(np.float32)
            pruned, mask = prune.prune_vnm(w, v, m)
            self.assertTrue(prune.is_vnm(pruned, v, m))
            self.assertEqual(pruned.dtype, np.float32)
            # Every full group of every row keeps exactly 2 weights.
            full = (130 // m) * m
            np.testing.assert_array_equal(mask[:, :full].reshape(100, -1, m).sum(-1), 2)
        # Scores decide, not magnitudes: prefer the last columns.
        w = np.ones((8, 8))
        s = np.tile(np.arange(8.0), (8, 1))
        _, mask = prune.prune_vnm(w, 8, 8, scores=s)
        np.testing.assert_array_equal(np.flatnonzero(mask[0]), [6, 7])

    def test_conv_weight_and_pack_pipeline(self):
        rng = np.random.default_rng(4)
        w = rng.normal(size=(24, 3, 3, 8))                 # OHWI, K = 72
        pruned, mask = prune.prune_vnm(w, 8, 6)
        self.assertEqual(pruned.shape, w.shape)
        q = np.clip(np.round(pruned * 50), -127, 127).astype(np.int8)
        blob = pack.pack_vnm(q.reshape(24, -1), 8, 6)
        np.testing.assert_array_equal(pack.unpack_vnm(blob, 24, 72, 8, 6), q.reshape(24, -1))

    def test_command_line(self):
        rng = np.random.default_rng(5)
        with tempfile.TemporaryDirectory() as tmp:
            w = rng.integers(-127, 128, size=(32, 40)).astype(np.int8)
            np.save(os.path.join(tmp, "w.npy"), w)
            rc = prune.main(["--in", os.path.join(tmp, "w.npy"), "--v", "16", "--m", "5",
                             "--out", os.path.join(tmp, "p.npy"), "--packed", os.path.join(tmp, "p.vnm")])
            self.assertEqual(rc, 0)
            p = np.load(os.path.join(tmp, "p.npy"))
            self.assertTrue(prune.is_vnm(p, 16, 5))
            with open(os.path.join(tmp, "p.vnm"), "rb") as f:
                blob = f.read()
            np.testing.assert_array_equal(pack.unpack_vnm(blob, 32, 40, 16, 5), p)
            self.assertEqual(prune.main(["--in", os.path.join(tmp, "w.npy"), "--v", "12", "--m", "5",
                                         "--out", os.path.join(tmp, "x.npy")]), 1)


if __name__ == "__main__":
    unittest.main()


class WriterHookTest(unittest.TestCase):
    """models/dyad_export/writer.py stores a pruned weight sparse (format 1.1)."""

    def test_sparse_constant(self):
        from models.dyad_export.writer import ModelWriter
        rng = np.random.default_rng(5)
        w = rng.integers(-127, 128, size=(24, 3, 3, 8)).astype(np.int8)  # conv OHWI
        pruned, _ = prune.prune_vnm(w, 8, 6)
        mw = ModelWriter("sparse")
        mw.add_constant("w", "int8", pruned, scale=0.01, sparsity=(8, 6))
        mw.add_constant("b", "int32", np.zeros(24, np.int32))
        doc = mw.document("sparse.bin")
        self.assertEqual(doc["version"], "1.1")
        t = doc["tensors"][0]
        self.assertEqual(t["sparsity"], {"pattern": "vnm", "v": 8, "n": 2, "m": 6})
        self.assertEqual(t["shape"], [24, 3, 3, 8])
        blob = bytes(mw._blob[t["data"]["offset"]:t["data"]["offset"] + t["data"]["bytes"]])
        self.assertEqual(blob, pack.pack_vnm(pruned.reshape(24, -1), 8, 6, 8))
        np.testing.assert_array_equal(pack.unpack_vnm(blob, 24, 72, 8, 6, 8), pruned.reshape(24, -1))
        # A dense-only model stays 1.0; an unpruned weight is refused.
        dense = ModelWriter("dense")
        dense.add_constant("w", "int8", w)
        self.assertEqual(dense.document("dense.bin")["version"], "1.0")
        with self.assertRaises(pack.VnmError):
            ModelWriter("bad").add_constant("w", "int8", w, sparsity=(8, 6))
