"""Float32 ONNX models for the ONNX Runtime peer benchmark (bench/peers/README.md).

    /usr/bin/python3 -m bench.peers.export_onnx torchvision:resnet18 --out resnet18_fp32.onnx
    /usr/bin/python3 -m bench.peers.export_onnx bert-base --out bert_base_fp32.onnx

torchvision models get random weights (as `python3 -m models.dyad_export
torchvision:NAME` does for dyad), input `image` [1, 3, 224, 224]; `bert-base` is
bench/peers/bert_torch.py with inputs `input_ids` and `attention_mask` [1, 128].
"""
import argparse
import sys

import torch

from .bert_torch import BertEncoder


def build(spec):
    """(module, example inputs, input names, output names) for spec."""
    torch.manual_seed(0)
    if spec == "bert-base":
        seq = 128
        ids = torch.randint(0, 30522, (1, seq), dtype=torch.int64)
        mask = torch.ones(1, seq, dtype=torch.int64)
        return BertEncoder(seq_len=seq).eval(), (ids, mask), ["input_ids", "attention_mask"], ["hidden"]
    if spec.startswith("torchvision:"):
        import torchvision
        builder = getattr(torchvision.models, spec.split(":", 1)[1], None)
        if builder is None:
            raise SystemExit(f"export_onnx: torchvision.models has no model {spec!r}")
        image = torch.randn(1, 3, 224, 224)
        return builder(weights=None).eval(), (image,), ["image"], ["logits"]
    raise SystemExit(f"export_onnx: unknown model {spec!r} (torchvision:NAME or bert-base)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    module, inputs, input_names, output_names = build(args.model)
    with torch.no_grad():
        torch.onnx.export(module, inputs, args.out, input_names=input_names,
                          output_names=output_names, opset_version=13, do_constant_folding=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
