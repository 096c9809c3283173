"""Writes a 4x4 grid PNG of 16 Fashion-MNIST test images (the first 16 unless --start)
with their true and predicted labels (wrong predictions in red), the predictions from
the dyad engine.

    /usr/bin/python3 -m models.fmnist.show_predictions [--model vit_int8] [--start 0]
        [--dyad build/dyad | --simulator] [--out docs/fmnist_predictions.png]

Each image goes through `dyad run MODEL --input image.npy --output-dir DIR` (the
engine runs one image at a time) and the class is the argmax of DIR/logits.npy.
The integer simulator (models/dyad_export/simulator.py) runs the same images;
its logits must equal the engine's bit for bit, and a difference is an error.
--simulator draws from the simulator alone (no engine build needed).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

from . import data, pipeline

MODELS = ("resnet_int8", "resnet_mixed", "vit_int8", "vit_mixed")
GRID = 4


def engine_logits(dyad, json_path, images, start=0):
    """int logits [N, classes] from `dyad run`, one process per image."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, img in enumerate(images, start):
            npy = os.path.join(tmp, f"image{i}.npy")
            np.save(npy, img.reshape(1, 28, 28, 1).astype(np.uint8))
            res = subprocess.run([dyad, "run", json_path, "--input", npy, "--output-dir", tmp],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                raise RuntimeError(f"{dyad} run {json_path} failed on test image {i} "
                                   f"(exit {res.returncode}): {res.stderr.strip()}")
            out.append(np.load(os.path.join(tmp, "logits.npy")).reshape(-1).astype(np.int64))
    return np.stack(out)


def draw(images, labels, pred, title, out_path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(GRID, GRID, figsize=(6.4, 7.4), dpi=80)
    for ax, img, y, p in zip(axes.flat, images, labels, pred):
        ax.imshow(img, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        ax.set_axis_off()
        wrong = p != y
        ax.set_title(f"true: {data.CLASSES[y]}\npred: {data.CLASSES[p]}", fontsize=8,
                     color="red" if wrong else "black", fontweight="bold" if wrong else None)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    fig.savefig(out_path, dpi=80)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="vit_int8", choices=MODELS)
    p.add_argument("--start", type=int, default=0, help="index of the first test image")
    p.add_argument("--dyad", default=os.path.join(pipeline.REPO, "build", "dyad"),
                   help="the engine CLI (default build/dyad)")
    p.add_argument("--simulator", action="store_true",
                   help="predict with the integer simulator instead of the engine")
    p.add_argument("--out", default=os.path.join(pipeline.REPO, "docs", "fmnist_predictions.png"))
    args = p.parse_args(argv)
    json_path = os.path.join(pipeline.HERE, args.model + ".json")
    images, labels = data.load("test")
    if not 0 <= args.start <= len(images) - GRID * GRID:
        p.error(f"--start {args.start}: the test set has no {GRID * GRID} images from there")
    images, labels = (a[args.start:args.start + GRID * GRID] for a in (images, labels))
    sim, _ = pipeline.simulate(json_path, images)
    if args.simulator:
        logits, source = sim, "integer simulator"
    else:
        if not os.access(args.dyad, os.X_OK):
            p.error(f"{args.dyad}: no engine binary (build it, pass --dyad, or use --simulator)")
        try:
            logits = engine_logits(args.dyad, json_path, images, args.start)
        except RuntimeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        source = "dyad engine"
        bad = np.flatnonzero((logits != sim).any(1))
        if bad.size:
            print(f"error: the engine's logits differ from the simulator's on test images "
                  f"{(bad + args.start).tolist()}", file=sys.stderr)
            return 1
    pred = logits.argmax(1)        # first maximum on ties, as `dyad classify`
    right = int((pred == labels).sum())
    draw(images, labels, pred, f"{args.model} ({source}): {right}/{len(labels)} correct, "
         f"Fashion-MNIST test images {args.start}-{args.start + len(labels) - 1}", args.out)
    print(f"{args.model}: {right}/{len(labels)} correct ({source}"
          f"{'' if args.simulator else ', logits equal to the simulator'}); wrote {args.out} "
          f"({os.path.getsize(args.out)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
