"""Prints the per-layer comparison of the shipped ResNet models: float activations vs
the simulated integer model's (dequantized), and how often the fake-quant emulation
predicts the exact integers.

    /usr/bin/python3 -m models.fmnist.report_layers [--images 1000]
"""
import argparse
import json
import os

import torch

from ..dyad_export import compare, simulator
from . import data, pipeline


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=1000, help="test images to compare on")
    p.add_argument("--models", nargs="*", default=["resnet_int8", "resnet_mixed"])
    p.add_argument("--dir", default=pipeline.HERE, help="folder of the models")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    test_x, _ = data.load("test")
    for name in args.models:
        json_path = os.path.join(args.dir, name + ".json")
        with open(json_path) as f:
            meta = json.load(f)["metadata"]
        model, _ = pipeline.load_checkpoint(os.path.join(args.dir, meta["float_checkpoint"]))
        g = pipeline.graph_with_model_scales(model, name, json_path)
        rows = compare.layer_report(g, simulator.Model(json_path), test_x[:args.images])
        acc = meta.get("accuracy", {})
        print(compare.format_report(
            rows, f"{name}: float = {meta['float_checkpoint']} (top-1 "
                  f"{acc.get('qat_float_top1', acc.get('float_top1'))}), integer top-1 "
                  f"{acc.get('int_top1')}; {args.images} test images"))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
