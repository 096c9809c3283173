"""Unit tests of report_models.py (ratios per round, JSON, plot),
mixed_bits.py (which convs get 4 bits) and ort_profile.py (per-node medians)."""
import json
import os
import tempfile
import unittest

import torch.nn as nn

from . import mixed_bits, ort_profile, report_models


def rec(rnd, runtime, ms, model="m", threads=1):
    return {"round": rnd, "model": model, "threads": threads, "runtime": runtime, "median_ms": ms}


class ReportTest(unittest.TestCase):
    def test_ratios_are_same_round_medians(self):
        lines = [rec(1, "dyad", 10), rec(1, "ort-int8", 20), rec(1, "ort-fp32", 40), rec(1, "dyad-64:2:8", 5),
                 rec(2, "dyad", 20), rec(2, "ort-int8", 30), rec(2, "ort-fp32", 50), rec(2, "dyad-64:2:8", 10),
                 rec(3, "dyad", 30), rec(3, "ort-int8", 30), rec(3, "ort-fp32", 90), rec(3, "dyad-64:2:8", 10)]
        (s,) = report_models.summarize(lines)
        self.assertEqual(s["rounds"], 3)
        self.assertEqual(s["ms"]["dyad"], 20)
        # Same-round ratios 2.0, 1.5, 1.0 -> median 1.5 (the ratio of medians would be 1.5 too,
        # but a different example shows the difference below).
        self.assertEqual(s["ratios"]["ort-int8/dyad"], [1.5, 1.0, 2.0])
        self.assertEqual(s["ratios"]["ort-int8/dyad-64:2:8"], [3.0, 3.0, 4.0])
        self.assertEqual(s["ratios"]["ort-fp32/dyad"], [3.0, 2.5, 4.0])  # 4, 2.5, 3
        table = report_models.table([s])
        self.assertIn("dyad-64:2:8 ms", table)
        self.assertIn("1.50x (1.00-2.00)", table)

    def test_a_slow_round_moves_both_sides(self):
        # Round 2 is slow for everyone: the same-round ratios stay 2.0.
        lines = [rec(1, "dyad", 1), rec(1, "ort-int8", 2), rec(2, "dyad", 10), rec(2, "ort-int8", 20),
                 rec(3, "dyad", 1.1), rec(3, "ort-int8", 2.2)]
        (s,) = report_models.summarize(lines)
        self.assertAlmostEqual(s["ratios"]["ort-int8/dyad"][0], 2.0)

    def test_json_and_plot_files(self):
        lines = [rec(1, "dyad", 10), rec(1, "ort-int8", 20), rec(1, "dyad", 4, threads=2),
                 rec(1, "ort-int8", 12, threads=2)]
        with tempfile.TemporaryDirectory() as d:
            results = os.path.join(d, "results.jsonl")
            with open(results, "w") as f:
                f.write("\n".join(json.dumps(x) for x in lines) + "\n")
            js, png = os.path.join(d, "s.json"), os.path.join(d, "r.png")
            self.assertEqual(report_models.main([results, "--json", js, "--plot", png, "--cpu", "test"]), 0)
            with open(js) as f:
                data = json.load(f)
            self.assertEqual(data["cpu"], "test")
            self.assertEqual([r["threads"] for r in data["results"]], [1, 2])
            self.assertEqual(data["results"][1]["ratios"]["ort-int8/dyad"][0], 3.0)
            self.assertGreater(os.path.getsize(png), 1000)


class MixedBitsTest(unittest.TestCase):
    def test_big_dense_convs_get_four_bits(self):
        net = nn.Sequential(nn.Conv2d(3, 64, 7), nn.Conv2d(64, 128, 3), nn.Conv2d(128, 128, 3, groups=128),
                            nn.Conv2d(128, 8, 1))
        # 64*3*49 = 9408 < 2^16; 128*64*9 = 73728 >= 2^16; depthwise and small 1x1 stay 8.
        self.assertEqual(mixed_bits.mixed_config(net), {"0": 8, "1": 4, "2": 8, "3": 8})


if __name__ == "__main__":
    unittest.main()


class OrtProfileTest(unittest.TestCase):
    def test_medians_per_node_after_skipping_warmup(self):
        def ev(node, dur, op="QLinearConv"):
            return {"cat": "Node", "name": node + "_kernel_time", "dur": dur, "args": {"op_name": op}}
        events = [ev("conv1", 100), ev("add", 9, "QLinearAdd"), ev("conv1", 10), ev("add", 3, "QLinearAdd"),
                  ev("conv1", 30), ev("add", 5, "QLinearAdd"), ev("conv1", 20),
                  {"cat": "Session", "name": "model_run", "dur": 999},
                  {"cat": "Node", "name": "conv1_fence_before", "dur": 1}]
        self.assertEqual(ort_profile.node_medians(events, skip=1),
                         [("conv1", "QLinearConv", 20), ("add", "QLinearAdd", 4)])
        self.assertEqual(ort_profile.node_medians(events)[0], ("conv1", "QLinearConv", 25))

