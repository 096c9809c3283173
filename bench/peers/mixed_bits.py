"""A mixed INT4/INT8 bit configuration for a torchvision CNN, for the exporter's
`--bits mixed:CONFIG.json`: 4-bit weights and activations for every conv whose
weight holds at least 2^16 values (ResNet-18's layer2-4 3x3 convs, MobileNetV2's
wide 1x1 convs), 8 bits for the rest (the stem, depthwise and small convs, the
classifier), the usual hand-made recipe (HAWQ-V3 keeps the first and last layer
at 8 bits). Prints the JSON to stdout or --out.

    /usr/bin/python3 -m bench.peers.mixed_bits torchvision:resnet18 --out cfg.json
"""
import argparse
import json
import sys

import torch.nn as nn
import torchvision.models as tvm

FOUR_BIT_MIN_WEIGHTS = 1 << 16


def mixed_config(model):
    return {name: 4 if m.weight.numel() >= FOUR_BIT_MIN_WEIGHTS and m.groups == 1 else 8
            for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="torchvision:NAME")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if not args.model.startswith("torchvision:"):
        ap.error("expected torchvision:NAME")
    cfg = mixed_config(getattr(tvm, args.model.split(":", 1)[1])())
    text = json.dumps(cfg, indent=1, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
