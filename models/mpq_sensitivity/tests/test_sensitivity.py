"""Tests of the sensitivity producers (models/mpq_sensitivity/sensitivity.py).

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s models/mpq_sensitivity/tests -t .
"""
import json
import math
import unittest

import torch
from torch import nn

from models.mpq_sensitivity import sensitivity as S


class TwoHeads(nn.Module):
    """y = A x1 + B x2 (no bias): the squared loss has a known Hessian."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 1, bias=False)
        self.b = nn.Linear(4, 1, bias=False)

    def forward(self, x):
        return self.a(x[:, :6]) + self.b(x[:, 6:])


def squared_loss(model, batch):
    x, y = batch
    return 0.5 * ((model(x).squeeze(1) - y) ** 2).mean()


class HutchinsonTest(unittest.TestCase):
    def test_matches_exact_block_traces(self):
        torch.manual_seed(0)
        model = TwoHeads()
        x = torch.randn(64, 10)
        y = torch.randn(64)
        layers = S.weighted_layers(model)
        self.assertEqual([n for n, _ in layers], ["a", "b"])
        est = S.hutchinson_traces(model, squared_loss, [(x, y)], layers, max_iter=400, tol=0)
        # H = X^T X / N; the diagonal blocks' traces, averaged per parameter.
        exact = {"a": float((x[:, :6] ** 2).sum()) / 64 / 6,
                 "b": float((x[:, 6:] ** 2).sum()) / 64 / 4}
        for name in exact:
            mean, stderr, iters = est[name]
            self.assertEqual(iters, 400)
            self.assertGreater(stderr, 0)
            self.assertLess(abs(mean - exact[name]), 5 * stderr + 1e-9, (name, mean, exact[name]))

    def test_stops_on_tolerance(self):
        torch.manual_seed(1)
        model = TwoHeads()
        x, y = torch.randn(32, 10), torch.randn(32)
        est = S.hutchinson_traces(model, squared_loss, [(x, y)], S.weighted_layers(model),
                                  max_iter=1000, tol=1e-2)
        self.assertLess(est["a"][2], 1000)


class QuantErrorTest(unittest.TestCase):
    def test_matches_manual_per_channel_quantization(self):
        torch.manual_seed(2)
        w = torch.randn(3, 5)
        for bits in (4, 8):
            qmax = (1 << (bits - 1)) - 1
            s = w.abs().amax(1, keepdim=True) / qmax
            deq = torch.clamp(torch.round(w / s), -qmax - 1, qmax) * s
            self.assertAlmostEqual(S.weight_quant_error(w, bits), float(((deq - w) ** 2).sum()),
                                   places=9)
        ratio = S.weight_quant_error(w, 4) / S.weight_quant_error(w, 8)
        self.assertGreater(ratio, 50)  # (127/7)^2 = 329 for uniform errors

    def test_delta_loss_restores_weights(self):
        torch.manual_seed(3)
        model = TwoHeads()
        before = model.a.weight.detach().clone()
        x, y = torch.randn(16, 10), torch.randn(16)
        d4 = S.delta_loss(model, squared_loss, [(x, y)], model.a, 4)
        d8 = S.delta_loss(model, squared_loss, [(x, y)], model.a, 8)
        self.assertTrue(torch.equal(model.a.weight, before))
        self.assertNotEqual(d4, 0)
        self.assertLess(abs(d8), abs(d4))


class FoldTest(unittest.TestCase):
    def test_folds_convbn_like_the_exporter(self):
        from models.dyad_export.blocks import ConvBN
        torch.manual_seed(5)
        model = nn.Sequential(ConvBN(1, 3, 3), nn.ReLU())
        bn = model[0].bn
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        layers = S.weighted_layers(model)
        self.assertEqual([n for n, _ in layers], ["0"])   # the exporter's name
        w = S.folded_weights(model, layers)["0"]
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        expect = model[0].conv.weight * scale.view(-1, 1, 1, 1)
        self.assertTrue(torch.allclose(w, expect))


class CandidatesTest(unittest.TestCase):
    def test_document(self):
        torch.manual_seed(4)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3, stride=2),
                              nn.Flatten(), nn.Linear(2 * 3 * 3, 5))
        layers = S.weighted_layers(model)
        macs = S.layer_macs(model, layers, torch.zeros(1, 7, 7))
        self.assertEqual(macs["0"], 4 * 7 * 7 * 1 * 9)
        self.assertEqual(macs["2"], 2 * 3 * 3 * 4 * 9)
        self.assertEqual(macs["4"], 5 * 18)
        x, y = torch.randn(8, 1, 7, 7), torch.randint(0, 5, (8,))
        loss = lambda m, b: nn.functional.cross_entropy(m(b[0]), b[1])  # noqa: E731
        traces = S.hutchinson_traces(model, loss, [(x, y)], layers, max_iter=20)
        doc = S.candidates_document(layers, macs, S.hawq_omega(traces, S.folded_weights(model, layers)), model="toy",
                                    ties=[("0", "2")])
        doc = json.loads(json.dumps(doc, allow_nan=False))  # strict JSON
        self.assertEqual(doc["schema"], "dyad-mpq-candidates/1")
        self.assertEqual(len(doc["layers"]), 3)
        c4, c8 = doc["layers"][0]["candidates"]
        self.assertEqual((c4["id"], c8["id"]), ("w4a4", "w8a8"))
        self.assertEqual(c4["size"], (36 * 4 + 7) // 8)
        self.assertEqual(c8["bops"], macs["0"] * 64)
        for layer in doc["layers"]:
            for c in layer["candidates"]:
                self.assertTrue(math.isfinite(c["sensitivity"]) and c["sensitivity"] >= 0)
            self.assertGreater(layer["candidates"][0]["sensitivity"],
                               layer["candidates"][1]["sensitivity"])


    def test_fixed_input_width(self):
        torch.manual_seed(4)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                              nn.Linear(4 * 7 * 7, 5))
        layers = S.weighted_layers(model)
        reads_input = set()
        macs = S.layer_macs(model, layers, torch.zeros(1, 7, 7), reads_input)
        self.assertEqual(reads_input, {"0"})
        doc = S.candidates_document(layers, macs, lambda n, b: 1.0 / b,
                                    a_bits=lambda n: 8 if n in reads_input else None)
        first, last = doc["layers"]
        self.assertEqual([c["id"] for c in first["candidates"]], ["w4a8", "w8a8"])
        self.assertEqual(first["candidates"][0]["bops"], macs["0"] * 4 * 8)
        self.assertEqual([c["id"] for c in last["candidates"]], ["w4a4", "w8a8"])
        self.assertEqual(last["candidates"][0]["bops"], macs["3"] * 16)


if __name__ == "__main__":
    unittest.main()
