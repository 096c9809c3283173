"""Prints the per-layer comparison of the shipped Fashion-MNIST models: float
activations vs the simulated integer model's (dequantized), per layer in graph
order, and the layers that add the most error (models/dyad_export/compare.py).

    /usr/bin/python3 -m models.fmnist.report_layers [--models vit_int8 ...] [--images 500]

The float reference is each model's `float_checkpoint` (metadata): the float
model, or the weights after quantization-aware training (resnet_mixed_qat.pt,
vit_mixed_qat.pt).
"""
import argparse
import json
import os
import time

import torch

from ..dyad_export import compare, simulator
from . import data, pipeline

MODELS = ("resnet_int8", "resnet_mixed", "vit_int8", "vit_mixed")


def float_graph(name, json_path, model_dir):
    """(graph, metadata): the float model's graph at the model's float reference."""
    with open(json_path) as f:
        meta = json.load(f)["metadata"]
    model, _ = pipeline.load_checkpoint(os.path.join(model_dir, meta["float_checkpoint"]))
    if pipeline.is_vit(name):       # its float forward needs no scales
        return pipeline.build_graph(model, name), meta
    return pipeline.graph_with_model_scales(model, name, json_path), meta


def report(name, images, model_dir=pipeline.HERE):
    """(rows, title) of one shipped model on uint8 images [N, 28, 28]."""
    json_path = os.path.join(model_dir, name + ".json")
    g, meta = float_graph(name, json_path, model_dir)
    rows = compare.layer_report(g, simulator.Model(json_path), images)
    acc = meta.get("accuracy", {})
    title = (f"{name}: float = {meta['float_checkpoint']} (top-1 "
             f"{acc.get('qat_float_top1', acc.get('float_top1'))}), integer top-1 "
             f"{acc.get('int_top1')}; {len(images)} test images")
    return rows, title


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=500, help="test images to compare on")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--dir", default=pipeline.HERE, help="folder of the models")
    args = p.parse_args(argv)
    if args.images < 1:
        p.error("--images must be at least 1")
    torch.set_num_threads(1)
    test_x, _ = data.load("test")
    for name in args.models:
        t0 = time.time()
        rows, title = report(name, test_x[:args.images], args.dir)
        print(compare.format_report(rows, title))
        print(f"({time.time() - t0:.1f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
