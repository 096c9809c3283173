"""The torch.fx front end (fx_capture.py) and its command line (cli.py).

Small inputs keep these fast: torchvision's resnet18 and mobilenet_v2 at 32x32.
The C++ engine check runs when a built `dyad` binary is found ($DYAD_BIN, else
build/dyad in the repository) and is skipped with a message otherwise.

    /usr/bin/python3 -m unittest models.dyad_export.tests.test_fx_capture
"""
import json
import math
import operator
import os
import subprocess
import tempfile
import unittest
from unittest import mock

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models.dyad_export import cli, export, fx_capture, qgraph, simulator, writer
from models.dyad_export.errors import ExportError

try:
    import torchvision
except ImportError:           # scripts/install_deps.sh installs python3-torchvision
    torchvision = None

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
HW = 32


def dyad_binary():
    path = os.environ.get("DYAD_BIN") or os.path.join(REPO, "build", "dyad")
    return path if os.access(path, os.X_OK) else None


def warm_batchnorm(model, shape, seed=0):
    """A random-weight model normalized as a trained one: the BatchNorm statistics of
    random images."""
    return cli.recalibrate_batchnorm(
        model, [cli.random_images(8, shape, "int8", seed + i) for i in range(3)])


def quantize_input(g, x):
    lo, hi = g.input.qrange()
    xq = torch.clamp(torch.round(x / g.input.scale), lo, hi)
    return xq.permute(0, 2, 3, 1).numpy().astype(np.int64)


def cosines(a, b):
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def export_to(tmp, model, shape, bits=None, input_dtype="int8", name="m"):
    g = fx_capture.capture(model, bits or qgraph.BitConfig({"w": 8, "a": 8}), shape,
                           input_dtype)
    fx_capture.calibrate(g, [cli.random_images(2, shape, input_dtype, 1)])
    path = os.path.join(tmp, name + ".json")
    export.export_file(g, path, name)
    return g, path


def engine_run(dyad, json_path, x, tmp):
    """The engine's outputs {name: array} for one input image (dyad run)."""
    npy = os.path.join(tmp, "x.npy")
    np.save(npy, x)
    out = os.path.join(tmp, "out")
    os.makedirs(out, exist_ok=True)
    res = subprocess.run([dyad, "run", json_path, "--input", f"image={npy}", "--output-dir",
                          out], capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        raise AssertionError(f"dyad run {json_path} failed: {res.stderr[-2000:]}")
    return np.load(os.path.join(out, "logits.npy"))


@unittest.skipIf(torchvision is None, "python3-torchvision is not installed "
                                      "(scripts/install_deps.sh installs it)")
class TorchvisionTest(unittest.TestCase):
    """resnet18 and mobilenet_v2 as torchvision builds them, exported unchanged."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.models = {}
        shape = (1, 3, HW, HW)
        for name in ("resnet18", "mobilenet_v2"):
            torch.manual_seed(0)
            model = warm_batchnorm(getattr(torchvision.models, name)(weights=None), shape)
            g, path = export_to(cls.tmp.name, model, shape, name=name)
            cls.models[name] = (model, g, path)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def images(self, n=3):
        return cli.random_images(n, (1, 3, HW, HW), "int8", 7)

    # Integer vs float logits, cosine over the 1000 classes. With random weights (and
    # BatchNorm statistics of random images) a deep network is chaotic: the error
    # each 8-bit layer adds (1 to 5 %) grows layer after layer, to about 2 % in
    # resnet18 and 30 % in mobilenet_v2's 52 layers (per-tensor activations).
    # Trained networks are far less sensitive; this bounds gross errors.
    FLOAT_COSINE = {"resnet18": 0.95, "mobilenet_v2": 0.5}

    def test_simulator_agrees_with_float_model(self):
        for name, (model, g, path) in self.models.items():
            with self.subTest(name):
                sim = simulator.Model(path)
                x = self.images()
                q = sim.run({"image": quantize_input(g, x)})["logits"]
                deq = sim.dequantize("logits", q)
                with torch.no_grad():
                    ref = model(x).numpy()
                    fake = torch.round(g.forward(x, "fake") / g.output.scale).numpy()
                self.assertEqual(q.shape, (3, 1000))
                # The fake-quant emulation predicts the integers up to float ties; in
                # a chaotic net one tie may move later layers too, so only closeness.
                self.assertGreater(cosines(q, fake).min(), 0.95)
                # float vs 8-bit: close, not equal; the image-dependent part too
                limit = self.FLOAT_COSINE[name]
                self.assertGreater(cosines(deq, ref).min(), limit)
                self.assertGreater(cosines(deq - deq.mean(0), ref - ref.mean(0)).min(),
                                   limit - 0.1)
                # argmax: random-weight logits have near ties at the top, so the float
                # model's class need not win; it must score within a fraction of the
                # logits' spread of the integer model's best
                rows = np.arange(len(x))
                gap = (deq.max(1) - deq[rows, ref.argmax(1)]) / deq.std(1)
                self.assertLess(gap.max(), 0.5 if name == "resnet18" else 2.0)

    def test_structure(self):
        docs = {n: simulator.Model(p).doc for n, (_, _, p) in self.models.items()}
        r = docs["resnet18"]
        ops = [n["op"] for n in r["nodes"]]
        self.assertEqual(ops.count("conv2d"), 20)        # 17 convs + 3 downsample
        self.assertEqual(ops.count("add"), 8)
        self.assertNotIn("batch_norm", ops)
        dtypes = {t["name"]: t["dtype"] for t in r["tensors"]}
        self.assertEqual(dtypes["layer1.0.conv2.acc"], "int32")     # handed to the add
        self.assertEqual(dtypes["layer2.0.downsample.0.acc"], "int32")
        add = next(n for n in r["nodes"] if n["op"] == "add")
        self.assertEqual(add["attrs"]["activation"], "relu")          # the block's ReLU
        m = docs["mobilenet_v2"]
        convs = [n for n in m["nodes"] if n["op"] == "conv2d"]
        self.assertEqual(len(convs), 52)
        depthwise = [n for n in convs if n["attrs"].get("groups", 1) > 1]
        self.assertEqual(len(depthwise), 17)
        self.assertEqual(sum(n["attrs"].get("activation") == "relu6" for n in convs), 35)
        self.assertEqual([n["op"] for n in m["nodes"]].count("add"), 10)
        self.assertEqual(m["nodes"][-1]["op"], "fully_connected")

    def test_engine_equals_simulator(self):
        dyad = dyad_binary()
        if dyad is None:
            self.skipTest("no dyad binary (build/dyad or $DYAD_BIN): engine check skipped")
        for name, (_, g, path) in self.models.items():
            with self.subTest(name), tempfile.TemporaryDirectory() as tmp:
                x = quantize_input(g, self.images(1))
                want = simulator.Model(path).run({"image": x})["logits"]
                got = engine_run(dyad, path, x.astype(np.int8), tmp)
                np.testing.assert_array_equal(got.astype(np.int64), want)


# ----------------------------------------------------------------------------- custom modules

class SmallNet(nn.Module):
    """The supported functions and layers, written as people write forwards."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 1)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
        self.dw_bn = nn.BatchNorm2d(16)
        self.act6 = nn.ReLU6()
        self.pw = nn.Conv2d(16, 16, 1)
        self.clip = nn.Hardtanh(-1.0, 2.0)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.5)
        self.fc1 = nn.Linear(16, 12)
        self.fc2 = nn.Linear(12, 5)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = torch.cat([self.a(x).relu(), torch.relu(self.b(x))], dim=1)
        y = self.pool(y)
        z = self.pw(self.act6(self.dw_bn(self.dw(y))))
        z = torch.add(z, y)
        z = F.relu(F.avg_pool2d(z, 2))               # a standalone activation
        z = self.clip(operator.add(z, F.max_pool2d(y, 2)))     # Hardtanh(-1, 2): a clamp
        z = z.mean((2, 3))
        z = self.drop(z.view(z.size(0), -1))
        return self.fc2(F.relu(self.fc1(z)))


class SigmoidNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        x = torch.sigmoid(self.body(x))
        return self.head(x.mean((2, 3)))


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.lstm = nn.LSTM(4, 4)

    def forward(self, x):
        y = self.conv(x).flatten(2).permute(2, 0, 1)
        return self.lstm(y)[0]


class BigFlattenNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 16 * 16, 2)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x), 1))


class CeilNet(nn.Module):
    """SqueezeNet's shape: ceil_mode pools, a conv head, ends with pool + flatten."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.head = nn.Conv2d(8, 6, 1)

    def forward(self, x):
        y = self.pool(F.relu(self.conv(x)))                       # 14x14 -> 7x7
        y = F.avg_pool2d(F.relu(self.head(y)), 2, ceil_mode=True)  # 7x7 -> 4x4
        return torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)


class PreActNet(nn.Module):
    """densenet's order: BatchNorm and ReLU before the conv."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 6, 3, padding=1)
        self.norm = nn.BatchNorm2d(6)
        self.conv1 = nn.Conv2d(6, 6, 3, padding=1)
        self.fc = nn.Linear(12, 4)

    def forward(self, x):
        x = self.conv0(x)
        y = self.conv1(F.relu(self.norm(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(torch.cat([x, y], 1), 1), 1))


def small_net():
    torch.manual_seed(0)
    return warm_batchnorm(SmallNet(), (1, 3, 16, 16))


class CustomModuleTest(unittest.TestCase):
    shape = (1, 3, 16, 16)

    def test_small_net_exports_and_simulates(self):
        for bits in (qgraph.BitConfig({"w": 8, "a": 8}),
                     qgraph.BitConfig({"w": 8, "a": 8}, {"pw": {"w": 4, "a": 4}})):
            with self.subTest(bits=bits.layers), tempfile.TemporaryDirectory() as tmp:
                model = small_net()
                g, path = export_to(tmp, model, self.shape, bits)
                doc = simulator.Model(path).doc
                ops = [n["op"] for n in doc["nodes"]]
                for op in ("concat", "requantize", "max_pool", "average_pool",
                           "global_average_pool", "add", "reshape", "fully_connected"):
                    self.assertIn(op, ops)
                acts = {n["name"]: n.get("attrs", {}).get("activation") for n in doc["nodes"]}
                self.assertEqual(acts["dw"], "relu6")
                self.assertEqual(acts["fc1"], "relu")
                clamp = [n for n in doc["nodes"] if acts[n["name"]] == "clamp"]
                self.assertEqual(len(clamp), 1)          # Hardtanh(-1, 2) fused into the add
                self.assertEqual(clamp[0]["op"], "add")
                sim = simulator.Model(path)
                x = cli.random_images(16, self.shape, "int8", 3)
                q = sim.run({"image": quantize_input(g, x)})["logits"]
                with torch.no_grad():
                    fake = torch.round(g.forward(x, "fake") / g.output.scale).numpy()
                    ref = model(x).numpy()
                # the fake-quant emulation predicts the integers up to float ties
                self.assertGreater((q == fake).mean(), 0.9)
                self.assertLessEqual(np.abs(q - fake).max(), 2)
                self.assertGreater(cosines(sim.dequantize("logits", q), ref).min(), 0.95)
                if bits.layers:
                    dtypes = {t["name"]: t["dtype"] for t in doc["tensors"]}
                    self.assertEqual(dtypes["pw.w"], "int4")
                    self.assertEqual(dtypes["dw.out"], "uint4")

    def test_bit_config_must_name_layers(self):
        for key in ("pw", "stem.", "nope", "stem"):
            with self.subTest(key):
                bits = qgraph.BitConfig({"w": 8, "a": 8}, {key: {"w": 4, "a": 4}})
                if key in ("nope", "stem"):        # "stem" is a Sequential: "stem." covers it
                    with self.assertRaises(ExportError) as cm:
                        fx_capture.capture(small_net(), bits, self.shape)
                    self.assertEqual(cm.exception.path, key)
                else:
                    fx_capture.capture(small_net(), bits, self.shape)

    def test_unsupported_function_is_named(self):
        with self.assertRaises(ExportError) as cm:
            fx_capture.capture(SigmoidNet(), qgraph.BitConfig({"w": 8, "a": 8}), self.shape)
        self.assertIn("torch.sigmoid", str(cm.exception))
        self.assertIn("fx node 'sigmoid'", str(cm.exception))
        self.assertEqual(cm.exception.path, "")          # called in the root's forward

    def test_unsupported_module_is_named(self):
        with self.assertRaises(ExportError) as cm:
            fx_capture.capture(LSTMNet(), qgraph.BitConfig({"w": 8, "a": 8}), self.shape)
        # checked before anything runs: the LSTM, not the flatten(2) of a map before it
        self.assertEqual(cm.exception.path, "lstm")
        self.assertIn("torch.nn.modules.rnn.LSTM has no dyad lowering", str(cm.exception))

        class Wrapped(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = nn.Sequential(nn.Conv2d(3, 4, 3), nn.LSTM(4, 4))

            def forward(self, x):
                return self.enc(x)

        with self.assertRaises(ExportError) as cm:
            fx_capture.capture(Wrapped(), qgraph.BitConfig({"w": 8, "a": 8}), (1, 3, 6, 6))
        self.assertEqual(cm.exception.path, "enc.1")
        self.assertIn("torch.nn.modules.rnn.LSTM", str(cm.exception))

    def test_flatten_of_a_map_follows_torch_order(self):
        torch.manual_seed(0)
        model = BigFlattenNet().eval()
        with tempfile.TemporaryDirectory() as tmp:
            g, path = export_to(tmp, model, self.shape)
            sim = simulator.Model(path)
            ops = [(n["op"], n.get("attrs")) for n in sim.doc["nodes"]]
            self.assertIn(("transpose", {"perm": [0, 3, 1, 2]}), ops)
            x = cli.random_images(8, self.shape, "int8", 3)
            q = sim.run({"image": quantize_input(g, x)})["logits"]
            with torch.no_grad():
                fake = torch.round(g.forward(x, "fake") / g.output.scale).numpy()
            self.assertGreater((q == fake).mean(), 0.9)
            self.assertLessEqual(np.abs(q - fake).max(), 1)
            if dyad_binary():
                got = engine_run(dyad_binary(), path, quantize_input(g, x[:1]).astype(np.int8),
                                 tmp)
                np.testing.assert_array_equal(got.astype(np.int64), q[:1])

    def test_ceil_mode_pools_and_a_pool_output(self):
        torch.manual_seed(0)
        model = CeilNet().eval()
        with tempfile.TemporaryDirectory() as tmp:
            g, path = export_to(tmp, model, self.shape)
            sim = simulator.Model(path)
            pads = {n["op"]: n["attrs"]["padding"] for n in sim.doc["nodes"]
                    if n["op"] in ("max_pool", "average_pool")}
            self.assertEqual(pads, {"max_pool": [0, 0, 1, 1], "average_pool": [0, 0, 1, 1]})
            x = cli.random_images(8, self.shape, "int8", 3)
            q = sim.run({"image": quantize_input(g, x)})["logits"]
            self.assertEqual(q.shape, (8, 6))
            with torch.no_grad():
                fake = torch.round(g.forward(x, "fake") / g.output.scale).numpy()
            np.testing.assert_array_equal(q, fake)
            if dyad_binary():
                got = engine_run(dyad_binary(), path, quantize_input(g, x[:1]).astype(np.int8),
                                 tmp)
                np.testing.assert_array_equal(got.reshape(q[:1].shape).astype(np.int64), q[:1])

    def test_batchnorm_after_no_conv_is_a_depthwise_conv(self):
        torch.manual_seed(0)
        model = warm_batchnorm(PreActNet(), self.shape)
        with torch.no_grad():
            model.norm.weight.uniform_(0.5, 2.0)
            model.norm.bias.uniform_(-1.0, 1.0)
        with tempfile.TemporaryDirectory() as tmp:
            g, path = export_to(tmp, model, self.shape)
            sim = simulator.Model(path)
            norm = next(n for n in sim.doc["nodes"] if n["name"] == "norm")
            self.assertEqual((norm["op"], norm["attrs"]["groups"], norm["attrs"]["activation"]),
                             ("conv2d", 6, "relu"))
            self.assertEqual(sim.tensors["norm.w"]["shape"], [6, 1, 1, 1])
            x = cli.random_images(8, self.shape, "int8", 3)
            q = sim.run({"image": quantize_input(g, x)})["logits"]
            with torch.no_grad():
                fake = torch.round(g.forward(x, "fake") / g.output.scale).numpy()
                ref = model(x).numpy()
            self.assertGreater((q == fake).mean(), 0.9)
            self.assertLessEqual(np.abs(q - fake).max(), 1)
            self.assertGreater(cosines(sim.dequantize("logits", q), ref).min(), 0.98)
            if dyad_binary():
                got = engine_run(dyad_binary(), path, quantize_input(g, x[:1]).astype(np.int8),
                                 tmp)
                np.testing.assert_array_equal(got.astype(np.int64), q[:1])

    def test_other_reshapes_are_refused(self):
        class Reshape3d(BigFlattenNet):
            def forward(self, x):
                y = self.conv(x)
                return y.view(y.shape[0], 4, -1)

        with self.assertRaises(ExportError) as cm:
            fx_capture.capture(Reshape3d(), qgraph.BitConfig({"w": 8, "a": 8}), self.shape)
        self.assertIn("reshapes [1, 4, 16, 16] to [1, 4, 256]", str(cm.exception))
        self.assertIn("method Tensor.view", str(cm.exception))


class EncoderBlock(nn.Module):
    """A post-LN transformer encoder layer written as people write one."""

    def __init__(self, d=32, heads=4, mlp=64, gelu=None):
        super().__init__()
        self.d, self.heads = d, heads
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.proj = nn.Linear(d, d)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, mlp), nn.Linear(mlp, d)
        self.act = gelu or nn.GELU()

    def split(self, y):
        return y.view(y.size(0), -1, self.heads, self.d // self.heads).transpose(1, 2)

    def forward(self, x):
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        att = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.d // self.heads), dim=-1)
        ctx = torch.matmul(att, v).permute(0, 2, 1, 3).reshape(x.size(0), -1, self.d)
        x = self.ln1(x + self.proj(ctx))
        return self.ln2(x + self.fc2(self.act(self.fc1(x))))


class TokenNet(nn.Module):
    def __init__(self, gelu=None):
        super().__init__()
        self.blocks = nn.Sequential(EncoderBlock(), EncoderBlock(gelu=gelu))
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        return self.head(self.blocks(x))


class TransformerTest(unittest.TestCase):
    """Token input [N, T, D] (int8), two encoder layers with I-BERT ops."""
    shape = (1, 9, 32)

    def test_encoder_exports_and_runs(self):
        torch.manual_seed(0)
        model = TokenNet().eval()
        gen = torch.Generator().manual_seed(1)
        g = fx_capture.capture(model, qgraph.BitConfig({"w": 8, "a": 8}), self.shape)
        fx_capture.calibrate(g, [torch.randn(16, 9, 32, generator=gen)])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.json")
            export.export_file(g, path, "t")
            sim = simulator.Model(path)
            ops = [n["op"] for n in sim.doc["nodes"]]
            for op, count in (("int_layernorm", 4), ("int_gelu", 2), ("int_softmax", 2),
                              ("matmul", 4), ("fully_connected", 13)):
                self.assertEqual(ops.count(op), count, op)
            t = sim.tensors
            self.assertEqual(t["blocks.0.add.out"]["dtype"], "int16")   # LayerNorm input
            self.assertEqual(t["blocks.0.fc1.acc"]["dtype"], "int32")   # int_gelu input
            scores = t["blocks.0.matmul.scores"]
            self.assertEqual((scores["dtype"], scores["shape"]), ("int32", [1, 4, 9, 9]))
            s_q, s_k = t["blocks.0.q.out"]["scale"], t["blocks.0.k.out"]["scale"]
            self.assertAlmostEqual(scores["scale"] / (s_q * s_k), 1 / math.sqrt(8), places=5)
            x = torch.randn(8, 9, 32, generator=gen)
            xq = torch.clamp(torch.round(x / g.input.scale), -128, 127).numpy()
            q = sim.run({"image": xq.astype(np.int64)})["logits"]
            with torch.no_grad():
                ref = model(x).numpy()
            self.assertEqual(q.shape, (8, 9, 5))
            self.assertGreater(cosines(sim.dequantize("logits", q), ref).min(), 0.99)
            if dyad_binary():
                got = engine_run(dyad_binary(), path, xq[:1].astype(np.int8), tmp)
                np.testing.assert_array_equal(got.astype(np.int64), q[:1])

    def test_unsupported_transformer_pieces_are_named(self):
        bits = qgraph.BitConfig({"w": 8, "a": 8})
        with self.assertRaises(ExportError) as cm:
            fx_capture.capture(TokenNet(gelu=nn.GELU(approximate="tanh")), bits, self.shape)
        self.assertEqual(cm.exception.path, "blocks.1.act")

        class GeluAfterNorm(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc, self.ln = nn.Linear(32, 32), nn.LayerNorm(32)

            def forward(self, x):
                return self.fc(F.gelu(self.ln(x)))

        with self.assertRaises(ExportError) as cm:
            fx_capture.capture(GeluAfterNorm(), bits, self.shape)
        self.assertIn("must directly follow a Linear", str(cm.exception))

        class Scaled(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(32, 32)

            def forward(self, x):
                return self.fc(x) * 0.5

        with self.assertRaises(ExportError) as cm:
            fx_capture.capture(Scaled(), bits, self.shape)
        self.assertIn("only between a matmul and its softmax", str(cm.exception))


class CommandLineTest(unittest.TestCase):
    net = "models.dyad_export.tests.test_fx_capture:SmallNet"

    def test_export_with_mixed_bits(self):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "bits.json")
            with open(cfg, "w") as f:
                json.dump({"pw": 4, "fc1": {"w": 4, "a": 8}}, f)
            out = os.path.join(tmp, "net.json")
            rc = cli.main([self.net, "--input-shape", "1,3,16,16", "--calib", "2",
                           "--bits", f"mixed:{cfg}", "--out", out])
            self.assertEqual(rc, 0)
            self.assertEqual(sorted(os.listdir(tmp)), ["bits.json", "net.bin", "net.json"])
            m = simulator.Model(out)
            dtypes = {t["name"]: t["dtype"] for t in m.doc["tensors"]}
            self.assertEqual((dtypes["pw.w"], dtypes["fc1.w"], dtypes["a.w"]),
                             ("int4", "int4", "int8"))
            self.assertEqual(m.doc["metadata"]["source"], self.net)
            x = np.zeros((1, 16, 16, 3), np.int64)
            self.assertEqual(m.run({"image": x})["logits"].shape, (1, 5))

    def test_state_dict_gives_the_weights(self):
        torch.manual_seed(5)
        trained = SmallNet()
        with tempfile.TemporaryDirectory() as tmp:
            sd = os.path.join(tmp, "net.pt")
            torch.save({"state_dict": trained.state_dict()}, sd)
            out = os.path.join(tmp, "net.json")
            self.assertEqual(cli.main([self.net, "--input-shape", "1,3,16,16", "--calib", "2",
                                       "--state-dict", sd, "--out", out]), 0)
            m = simulator.Model(out)
            want, _ = qgraph.quantize_weight(trained.fc2.weight, 8, ste=False)
            np.testing.assert_array_equal(m.consts["fc2.w"], want.detach().numpy())
            self.assertEqual(m.doc["metadata"]["state_dict"], sd)
            bad = os.path.join(tmp, "bad.json")
            torch.save({"fc2.weight": torch.zeros(1)}, sd)
            self.assertEqual(cli.main([self.net, "--input-shape", "1,3,16,16", "--state-dict",
                                       sd, "--out", bad]), 2)
            self.assertFalse(os.path.exists(bad))

    def test_token_model(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "tok.json")
            self.assertEqual(cli.main(["models.dyad_export.tests.test_fx_capture:TokenNet",
                                       "--input-shape", "1,9,32", "--calib", "4", "--check",
                                       "--out", out]), 0)
            m = simulator.Model(out)
            self.assertEqual(m.tensors["image"]["shape"], [1, 9, 32])

    def test_errors_write_nothing(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "bad.json")
            for spec, rc in (("models.dyad_export.tests.test_fx_capture:SigmoidNet", 1),
                             ("models.dyad_export.tests.test_fx_capture:NoSuchNet", 2)):
                with self.subTest(spec):
                    self.assertEqual(cli.main([spec, "--input-shape", "1,3,16,16",
                                               "--calib", "1", "--out", out]), rc)
                    self.assertEqual(os.listdir(tmp), [])

    def test_failure_while_writing_leaves_nothing(self):
        g = fx_capture.capture(small_net(), qgraph.BitConfig({"w": 8, "a": 8}), (1, 3, 16, 16))
        fx_capture.calibrate(g, [cli.random_images(2, (1, 3, 16, 16), "int8", 1)])
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch.object(writer, "format_json", side_effect=OSError("disk full")):
            with self.assertRaises(OSError):          # the .bin is written, the JSON fails
                export.export_file(g, os.path.join(tmp, "m.json"), "m")
            self.assertEqual(os.listdir(tmp), [])


if __name__ == "__main__":
    unittest.main()
