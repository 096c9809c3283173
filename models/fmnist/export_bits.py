"""Exports a Fashion-MNIST checkpoint at any per-layer bit configuration, by
post-training quantization only (no training), with the node names of the shipped
models (models/fmnist/pipeline.py). Used to make the per-precision and mixed models
that `dyad mpq latency` times (docs/mpq.md); the accuracy of these exports is not
measured here.

    /usr/bin/python3 -m models.fmnist.export_bits resnet --bits 4 --out /tmp/resnet_w4.json
    /usr/bin/python3 -m models.fmnist.export_bits resnet \\
        --bits '{"blocks.0.": 4, "blocks.2.conv2": 4}' --out /tmp/resnet_mix.json
    /usr/bin/python3 -m models.fmnist.export_bits vit --bits 4 --out /tmp/vit_w4.json

--bits: 8, 4, or a JSON object {module path or prefix ending in '.': 4 or 8 or
{"w": b, "a": b}}, or mpq:RESULT.json (a `dyad mpq solve` result, read and
checked against the model's layers by models/dyad_export/mpq_result.py; exit 2
and nothing written if it does not fit); unlisted layers get 8 bits. The ResNet's stem always reads
the 8-bit image (its activation bits stay 8). The ViT takes weight bits only
(its activations are 8-bit everywhere).
"""
import argparse
import json
import os
import sys

from ..dyad_export import mpq_result, qgraph, vit
from . import pipeline

CHECKPOINTS = {"resnet": "resnet_float.pt", "vit": "vit_float.pt"}


def parse_bits(text):
    if text in ("4", "8"):
        return int(text), {}
    layers = json.loads(text)
    if not isinstance(layers, dict):
        raise ValueError("--bits: expected 4, 8 or a JSON object")
    return 8, layers


def resnet_graph(model, default, layers):
    def wa(v):
        return dict(v) if isinstance(v, dict) else {"w": v, "a": v}
    cfg = {k: wa(v) for k, v in layers.items()}
    stem = cfg.get("stem", wa(default))
    cfg["stem"] = {"w": stem["w"], "a": 8}
    return qgraph.lower(model, qgraph.BitConfig(wa(default), cfg), input_scale=pipeline.INPUT_SCALE)


def vit_graph(model, default, layers):
    def bits(path):
        best = None
        for k, v in layers.items():
            if k == path or (k.endswith(".") and path.startswith(k)):
                if best is None or len(k) > len(best[0]):
                    best = (k, v)
        v = best[1] if best else default
        return v["w"] if isinstance(v, dict) else v
    return vit.ViTGraph(model, bits, input_scale=pipeline.INPUT_SCALE)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m models.fmnist.export_bits")
    p.add_argument("net", choices=sorted(CHECKPOINTS))
    p.add_argument("--bits", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoint", help="default: models/fmnist/<net>_float.pt")
    p.add_argument("--calib", type=int, default=512, help="calibration images (default 512)")
    args = p.parse_args(argv)
    result = args.bits[len("mpq:"):] if args.bits.startswith("mpq:") else None
    ckpt = args.checkpoint or os.path.join(pipeline.HERE, CHECKPOINTS[args.net])
    try:
        if result:
            default, layers = 8, mpq_result.read(result)
            model, _ = pipeline.load_checkpoint(ckpt)
            mpq_result.check_layers(layers, result, *mpq_result.model_layers(
                pipeline.build_graph(model, None, {})))
        else:
            default, layers = parse_bits(args.bits)
            model, _ = pipeline.load_checkpoint(ckpt)
    except ValueError as e:
        print(f"export_bits: {e}", file=sys.stderr)
        return 2
    if result:
        g = pipeline.build_graph(model, None, layers)
    else:
        make = vit_graph if args.net == "vit" else resnet_graph
        g = make(model, default, layers)
    g.calibrate(pipeline.calibration_batches(count=args.calib))
    name = os.path.splitext(os.path.basename(args.out))[0]
    meta = {"generator": "/usr/bin/python3 -m models.fmnist.export_bits " + " ".join(
                argv if argv is not None else sys.argv[1:]),
            "float_checkpoint": os.path.basename(ckpt), "quantization": "PTQ only",
            "bit_config": g.describe_bits() if args.net == "vit" else {"default": default,
                                                                        "layers": layers}}
    if result:
        meta["mpq_result"] = mpq_result.describe(result)
    if args.net == "vit":
        from ..dyad_export import vit_export
        vit_export.export(g, args.out, name, meta)
    else:
        from ..dyad_export import export
        export.export(g, args.out, name, meta)
    print(f"{args.out}: exported ({args.net}, bits {args.bits})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
