"""Unit tests of quantize_onnx.py on small torch models exported to ONNX."""
import os
import tempfile
import unittest

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from . import quantize_onnx


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.conv1(x))
        y = torch.relu(self.conv2(y) + y)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


class SharedInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k = nn.Linear(16, 16), nn.Linear(16, 16)

    def forward(self, x):
        return torch.matmul(self.q(x), self.k(x).transpose(-1, -2))


def export(module, example):
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        torch.onnx.export(module.eval(), example, path, input_names=["x"], opset_version=13)
        return onnx.load(path)


def arrays(model):
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


class QdqTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.fp32 = export(SmallCnn(), torch.randn(1, 3, 8, 8))
        names = {"x"} | {o for n in self.fp32.graph.node for o in n.output}
        self.ranges = {name: [-1.5, 2.5] for name in names}
        for n in self.fp32.graph.node:  # activations after a Relu start at 0
            if n.op_type == "Relu":
                self.ranges[n.output[0]] = [0.0, 3.0]

    def test_relu_after_conv_and_add_is_removed(self):
        q = quantize_onnx.quantize_qdq(onnx.ModelProto.FromString(self.fp32.SerializeToString()), self.ranges)
        ops = [n.op_type for n in q.graph.node]
        self.assertNotIn("Relu", ops)
        self.assertEqual(ops.count("Conv"), 2)
        onnx.checker.check_model(q)

    def test_weights_per_channel_int8_and_bias_int32(self):
        original = arrays(self.fp32)
        q = quantize_onnx.quantize_qdq(onnx.ModelProto.FromString(self.fp32.SerializeToString()), self.ranges)
        init = arrays(q)
        convs = [n for n in q.graph.node if n.op_type == "Conv"]
        conv1 = next(n for n in self.fp32.graph.node if n.op_type == "Conv")
        w = original[conv1.input[1]]
        base = convs[0].name
        wq, ws = init[base + "_w_s8"], init[base + "_w_scale"]
        self.assertEqual(wq.dtype, np.int8)
        self.assertEqual(ws.shape, (w.shape[0],))
        self.assertLessEqual(np.abs(wq).max(), 127)
        err = np.abs(wq * ws[:, None, None, None] - w).max(axis=(1, 2, 3))
        self.assertTrue(np.all(err <= ws / 2 * 1.0001))
        bq, bs = init[base + "_b_s32"], init[base + "_b_scale"]
        self.assertEqual(bq.dtype, np.int32)
        scale_x, _ = quantize_onnx.activation_qparams(-1.5, 2.5)
        np.testing.assert_array_equal(bs, (scale_x * ws).astype(np.float32))

    def test_activation_qparams_cover_zero(self):
        scale, zp = quantize_onnx.activation_qparams(0.5, 2.0)  # range widened to [0, 2]
        self.assertAlmostEqual(float(scale), 2.0 / 255, places=7)
        self.assertEqual(int(zp), 0)
        scale, zp = quantize_onnx.activation_qparams(-1.0, 1.0)
        self.assertEqual(int(zp), 128)

    def test_missing_range_is_an_error(self):
        ranges = {k: v for k, v in self.ranges.items() if k != "x"}
        with self.assertRaises(SystemExit):
            quantize_onnx.quantize_qdq(onnx.ModelProto.FromString(self.fp32.SerializeToString()), ranges)


class DynamicTest(unittest.TestCase):
    def test_matmuls_become_integer_with_one_shared_input_quantization(self):
        torch.manual_seed(0)
        fp32 = export(SharedInput(), torch.randn(1, 5, 16))
        original = arrays(fp32)
        q = quantize_onnx.quantize_dynamic(fp32)
        ops = [n.op_type for n in q.graph.node]
        self.assertEqual(ops.count("MatMulInteger"), 2)
        self.assertEqual(ops.count("DynamicQuantizeLinear"), 1)  # q and k share x
        self.assertEqual(ops.count("MatMul"), 1)  # activation x activation stays float
        onnx.checker.check_model(q)
        init = arrays(q)
        for node in (n for n in q.graph.node if n.op_type == "MatMulInteger"):
            wq = init[node.input[1]]
            base = node.input[1][:-len("_w_s8")]
            scale = float(init[base + "_w_scale"])
            w = next(v for v in original.values() if v.shape == wq.shape and
                     np.abs(v - wq * scale).max() <= scale / 2 * 1.0001)
            self.assertEqual(wq.dtype, np.int8)
            self.assertAlmostEqual(scale, float(np.abs(w).max()) / 127, places=6)


if __name__ == "__main__":
    unittest.main()
