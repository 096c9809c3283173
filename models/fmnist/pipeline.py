"""Shared pieces of the Fashion-MNIST pipeline: bit configs, checkpoints, graphs, evaluation."""
import copy
import json
import os

import numpy as np
import torch

from ..dyad_export import export, qgraph, simulator, vit, vit_export
from . import data, nets, train

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
INPUT_SCALE = 1.0 / 255           # the uint8 image: real = pixel / 255

# HAWQ-V3 style bit configs. "a" is the width of a layer's input activation.
BIT_CONFIGS = {
    # INT8 everywhere; 8-bit activations are signed int8 as in HAWQ-V3.
    "resnet_int8": qgraph.BitConfig({"w": 8, "a": 8}, act8_signed=True),
    # INT8 stem and FC, INT4 weights and uint4 activations in every residual block.
    # 8-bit activations (stem output, the last block's output) are uint8.
    "resnet_mixed": qgraph.BitConfig({"w": 4, "a": 4}, {"stem": {"w": 8, "a": 8},
                                                        "fc": {"w": 8, "a": 8}}),
}
ARCHS = {"ResNet": nets.ResNet, "ViT": nets.ViT}
# ViT weight widths per Linear / Conv2d path (activations: vit.py's fixed scheme).
VIT_WEIGHT_BITS = {
    "vit_int8": lambda path: 8,
    # INT4 weights in the encoder's Linear layers; patch embedding and head INT8.
    "vit_mixed": lambda path: 4 if path.startswith("layers.") else 8,
}


def is_vit(name):
    return name in VIT_WEIGHT_BITS


def save_checkpoint(path, model, arch, kwargs, **extra):
    torch.save({"arch": arch, "kwargs": kwargs, "state_dict": model.state_dict(), **extra}, path)


def load_checkpoint(path):
    ck = torch.load(path)
    model = ARCHS[ck["arch"]](**ck["kwargs"])
    model.load_state_dict(ck["state_dict"])
    return model.eval(), ck


def calibration_batches(count=2048, batch=256, seed=0):
    """A fixed random subset of the training images, as float NCHW batches."""
    images, _ = data.load("train")
    idx = np.random.default_rng(seed).choice(len(images), count, replace=False)
    return [train.to_tensor(images[idx[i:i + batch]]) for i in range(0, count, batch)]


def build_graph(model, name, bits=None):
    """The QGraph (ResNet) or ViTGraph (ViT) of `model` with the bit config `name`
    of BIT_CONFIGS / VIT_WEIGHT_BITS, or with per-layer bits {layer: {"w", "a"}}
    (mpq_result.read; unlisted layers 8 bits)."""
    if bits is not None:
        if isinstance(model, nets.ViT):
            return vit.ViTGraph(model, lambda p: bits.get(p, {"w": 8})["w"],
                                input_scale=INPUT_SCALE)
        return qgraph.lower(model, qgraph.BitConfig({"w": 8, "a": 8}, bits),
                            input_scale=INPUT_SCALE)
    if is_vit(name):
        return vit.ViTGraph(model, VIT_WEIGHT_BITS[name], input_scale=INPUT_SCALE)
    return qgraph.lower(model, BIT_CONFIGS[name], input_scale=INPUT_SCALE)


def bit_config(graph, name):
    """The bit configuration recorded in a model's metadata."""
    if isinstance(graph, vit.ViTGraph):
        return {"weights": graph.describe_bits(), "activations": vit.ACTIVATIONS}
    if name in BIT_CONFIGS:
        return BIT_CONFIGS[name].describe()
    return {"layers": {n.path: {"w": n.w_bits, "a": n.a_bits} for n in graph.nodes
                       if isinstance(n, qgraph.GemmNode)}, "act8_signed": False}


def export_graph(graph, json_path, name, metadata):
    if isinstance(graph, vit.ViTGraph):
        return vit_export.export(graph, json_path, name, metadata)
    return export.export(graph, json_path, name, metadata)


def graph_with_model_scales(model, name, json_path):
    """The QGraph of `model` with every activation scale taken from an exported model."""
    g = build_graph(model, name)
    with open(json_path) as f:
        doc = json.load(f)
    scales = {t["name"]: t["scale"] for t in doc["tensors"] if "scale" in t}
    for t in g.tensors.values():
        if t.kind in ("act", "input"):
            t.fixed_scale = float(scales[t.name])
    return g


@torch.no_grad()
def fake_quant_logits(graph, images, batch=1000):
    out = []
    for i in range(0, len(images), batch):
        out.append(graph.forward(train.to_tensor(images[i:i + batch]), "fake"))
    return torch.cat(out).numpy()


def simulate(json_path, images, batch=500, keep_all=False):
    """Integer logits of the exported model (simulator) for uint8 images [N, 28, 28]."""
    m = simulator.Model(json_path)
    out = []
    for i in range(0, len(images), batch):
        out.append(m.run({m.inputs[0]: images[i:i + batch, :, :, None]})[m.outputs[0]])
    return np.concatenate(out), m


def qat(model, name, calib, epochs, lr, log=print, momentum=0.99, optimizer="sgd",
        weight_decay=5e-4, bits=None):
    """Quantization-aware fine-tuning of a copy of `model` (fake quant + STE).

    BatchNorm stays folded with frozen running statistics (HAWQ-V3 fix_BN); the
    activation ranges follow the training batches with an EMA. Returns
    (fine-tuned model, its calibrated QGraph).
    """
    model = copy.deepcopy(model)
    g = build_graph(model, name, bits)
    g.calibrate(calib)
    g.set_qat_momentum(momentum)
    train.train_classifier(model, epochs=epochs, lr=lr, weight_decay=weight_decay,
                           optimizer=optimizer, seed=1, log=log,
                           train_fn=lambda m, x: g.forward(x, "qat"))
    g.set_qat_momentum(None)
    return model.eval(), g
