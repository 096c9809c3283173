"""python3 -m models.mpq_sensitivity CHECKPOINT --out candidates.json [options]

Writes a dyad-mpq-candidates/1 file (docs/mpq.md) for a Fashion-MNIST
checkpoint of models/fmnist (ResNet or ViT): per Conv2d / Linear layer (named
as in the exported dyad model), a 4-bit and an 8-bit weight candidate with size
(bytes), bops (MACs * w_bits * a_bits) and a sensitivity. The input activation
width follows the weights (w4a4, w8a8, HAWQ-V3's tie) except where it is fixed
at 8 bits: the layer reading the uint8 image, and every ViT layer (the ViT
lowering keeps int8 activations): w4a8, w8a8. The sensitivity is HAWQ-V3's Omega (--method hutchinson, the default: average
Hessian trace by Hutchinson's method on --images training images, times
||Q_b(W) - W||^2 of the BatchNorm-folded weights) or the loss change of
quantizing that layer alone (--method delta-loss). Layers named in --fixed
(default: none; HAWQ-V3 fixes the ResNet's stem and fc with --fixed stem,fc) are
not searched: their 8-bit costs go to "fixed". ResNet blocks with a shortcut conv
tie it to conv1 (same input) by a_bits. No latency is written here.
"""
import argparse
import json
import sys

import numpy as np
import torch
from torch import nn

from models.fmnist import data, pipeline, train
from models.mpq_sensitivity import sensitivity as S


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m models.mpq_sensitivity", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--out", required=True)
    ap.add_argument("--method", choices=["hutchinson", "delta-loss"], default="hutchinson")
    ap.add_argument("--images", type=int, default=256, help="training images (default 256)")
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--fixed", default="", help="comma-separated layer names kept at 8 bits")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    model, ck = pipeline.load_checkpoint(args.checkpoint)
    images, labels = data.load("train")
    idx = np.random.default_rng(args.seed).choice(len(images), args.images, replace=False)
    x, y = train.to_tensor(images[idx]), torch.from_numpy(labels[idx].astype(np.int64))
    batches = [(x, y)]

    def loss_fn(m, b):
        return nn.functional.cross_entropy(m(b[0]), b[1])

    layers = S.weighted_layers(model)
    names = [n for n, _ in layers]
    fixed_names = [n for n in args.fixed.split(",") if n]
    for n in fixed_names:
        if n not in names:
            sys.exit(f"--fixed: no Conv2d/Linear layer named '{n}' (layers: {', '.join(names)})")
    reads_input = set()
    macs = S.layer_macs(model, layers, x[0], reads_input)
    fixed = {"size": 0, "bops": 0}
    for n, m in layers:
        if n in fixed_names:
            fixed["size"] += m.weight.numel()
            fixed["bops"] += macs[n] * 64
    vit = ck.get("arch") == "ViT"

    def a_bits(name):
        return 8 if vit or name in reads_input else None
    searched = [(n, m) for n, m in layers if n not in fixed_names]
    if args.method == "hutchinson":
        traces = S.hutchinson_traces(model, loss_fn, batches, searched, max_iter=args.max_iter,
                                     tol=args.tol, seed=args.seed)
        sens = S.hawq_omega(traces, S.folded_weights(model, layers))
        how = (f"hawq-v3: Hutchinson average Hessian trace (Rademacher, M<={args.max_iter}, "
               f"tol={args.tol}, N={args.images}) x ||Q_b(W)-W||^2 (BN folded)")
    else:
        modules = dict(layers)
        cache = {}

        def sens(name, b):
            if (name, b) not in cache:
                cache[(name, b)] = S.delta_loss(model, loss_fn, batches, modules[name], b)
            return cache[(name, b)]
        how = f"delta-loss: loss change with only this layer's weights quantized, N={args.images}"
    ties = []
    for n, _ in searched:
        if n.endswith(".shortcut"):
            conv1 = n[: -len("shortcut")] + "conv1"
            if conv1 in dict(searched):
                ties.append((conv1, n))
    doc = S.candidates_document(searched, macs, sens, model=ck.get("arch", ""), fixed=fixed,
                                ties=ties, a_bits=a_bits, provenance={"sensitivity": how,
                                                       "checkpoint": args.checkpoint})
    if args.method == "hutchinson":
        for layer in doc["layers"]:
            mean, stderr, iters = traces[layer["name"]]
            layer["hessian_trace"] = {"mean": mean, "stderr": stderr, "iterations": iters}
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
    print(f"wrote {args.out}: {len(searched)} searched layers, fixed {fixed_names}")


if __name__ == "__main__":
    main()
