"""Command line of the torch.fx exporter (python3 -m models.dyad_export).

    /usr/bin/python3 -m models.dyad_export torchvision:resnet18 --bits 8 --out /tmp/resnet18.json
    /usr/bin/python3 -m models.dyad_export mypkg.mymod:MyNet --input-shape 1,3,32,32 \\
        --state-dict net.pt --bits mixed:bits.json --out /tmp/mynet.json
    /usr/bin/python3 -m models.dyad_export mypkg.mymod:MyNet ... --bits mpq:result.json

--bits mpq:RESULT.json takes the per-layer bits of `dyad mpq solve --out RESULT.json`
(docs/mpq.md); its layer names are the exported model's conv / linear names.

MODEL is `torchvision:NAME` (a torchvision.models builder, random weights) or
`package.module:ATTR` (a class or function returning an nn.Module, called with
--kwargs). See docs/models.md "Exporting torchvision and your own modules".
"""
import argparse
import importlib
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

from . import export, fx_capture, mpq_result, qgraph, simulator
from .errors import ExportError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class UsageError(Exception):
    pass


def load_model(spec, kwargs=None, state_dict=None):
    """The nn.Module named by spec ('torchvision:NAME' or 'pkg.mod:ATTR'), eval mode."""
    if ":" not in spec:
        raise UsageError(f"model {spec!r}: expected torchvision:NAME or package.module:ATTR")
    where, attr = spec.rsplit(":", 1)
    kwargs = dict(kwargs or {})
    if where == "torchvision":
        import torchvision
        builder = getattr(torchvision.models, attr, None)
        if builder is None or not callable(builder):
            raise UsageError(f"torchvision.models has no model {attr!r}")
        kwargs.setdefault("weights", None)
    else:
        try:
            mod = importlib.import_module(where)
        except ImportError as e:
            raise UsageError(f"cannot import {where!r}: {e}") from e
        builder = getattr(mod, attr, None)
        if builder is None:
            raise UsageError(f"module {where!r} has no attribute {attr!r}")
    model = builder(**kwargs) if callable(builder) and not isinstance(builder, nn.Module) \
        else builder
    if not isinstance(model, nn.Module):
        raise UsageError(f"{spec} gave a {type(model).__name__}, not a torch nn.Module")
    if state_dict:
        try:
            sd = torch.load(state_dict, map_location="cpu")
            if isinstance(sd, dict) and isinstance(sd.get("state_dict"), dict):
                sd = sd["state_dict"]
            model.load_state_dict(sd)
        except (OSError, RuntimeError, TypeError, AttributeError) as e:
            raise UsageError(f"--state-dict {state_dict}: {e}") from e
    return model.eval()


def bit_config(bits):
    """--bits 8 | 4 | mixed:CONFIG.json (module path -> 4 or 8, or {"w": b, "a": b});
    a path ending in '.' covers every module below it | mpq:RESULT.json (a dyad mpq
    solve result; mpq_result.py). Unlisted layers get 8 bits."""
    if bits in ("8", "4"):
        return qgraph.BitConfig({"w": int(bits), "a": int(bits)})
    if bits.startswith("mpq:"):
        return qgraph.BitConfig({"w": 8, "a": 8}, mpq_result.read(bits[len("mpq:"):]))
    if bits.startswith("mixed:"):
        path = bits[len("mixed:"):]
        try:
            with open(path) as f:
                table = json.load(f)
        except (OSError, ValueError) as e:
            raise UsageError(f"--bits {bits}: {e}") from e
        if not isinstance(table, dict):
            raise UsageError(f"--bits {bits}: expected a JSON object module path -> 4 or 8")
        layers = {}
        for k, v in table.items():
            layers[k] = {"w": v, "a": v} if isinstance(v, int) else v
            if not isinstance(layers[k], dict):
                raise UsageError(f"--bits {bits}: {k!r}: {v!r} is not 4, 8 or {{\"w\", \"a\"}}")
        return qgraph.BitConfig({"w": 8, "a": 8}, layers)
    raise UsageError(f"--bits {bits!r}: expected 8, 4, mixed:CONFIG.json or mpq:RESULT.json")


def random_images(n, shape, input_dtype, seed):
    """n float inputs: uniform in [0, 1] for a uint8 input; for int8, NCHW images with
    3 channels are ImageNet-normalized (torchvision's preprocessing), anything else
    (other images, token tensors [N, T, D]) is uniform in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((n,) + tuple(shape[1:]), generator=gen)
    if input_dtype == "uint8":
        return x
    if len(shape) == 4 and shape[1] == 3:
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (x - mean) / std
    return x * 2 - 1


def recalibrate_batchnorm(model, batches):
    """Replaces the BatchNorm statistics by those of `batches` (train-mode passes, plain
    average). For random weights: torchvision's initial statistics (mean 0, var 1) do
    not normalize anything, and in mobilenet_v2 the activations vanish (1e-8 at the
    logits); with the statistics of real-looking images they stay normalized."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for x in batches:
            model(x)
    return model.eval()


def calibration_batches(args, shape):
    if args.calib_data:
        x = torch.from_numpy(np.load(args.calib_data).astype(np.float32))
        if tuple(x.shape[1:]) != tuple(shape[1:]):
            raise UsageError(f"--calib-data {args.calib_data}: shape {list(x.shape)}, expected "
                             f"[N, {', '.join(map(str, shape[1:]))}]")
        x = x[:args.calib] if args.calib else x
    else:
        x = random_images(args.calib, shape, args.input, args.seed)
    return list(torch.split(x, 8))


def parse_shape(text):
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) not in (2, 3, 4) or min(shape) < 1:
        raise UsageError(f"--input-shape {text!r}: expected N,C,H,W (e.g. 1,3,224,224), "
                         "or N,T,D for tokens")
    return shape


def check(g, json_path, batches):
    """Runs the integer simulator on the calibration images: agreement with the float
    model (cosine of the logits, top-1)."""
    sim = simulator.Model(json_path)
    x = torch.cat(batches)
    lo, hi = g.input.qrange()
    xq = torch.clamp(torch.round(x / g.input.scale), lo, hi)
    if xq.ndim == 4:
        xq = xq.permute(0, 2, 3, 1)         # NHWC
    q = sim.run({g.input.name: xq.numpy().astype(np.int64)})
    deq = sim.dequantize(g.output.name, q[g.output.name]).reshape(len(x), -1)
    with torch.no_grad():
        f = g.model(x).reshape(len(x), -1).numpy()
    cos = (deq * f).sum(1) / (np.linalg.norm(deq, axis=1) * np.linalg.norm(f, axis=1) + 1e-30)
    top1 = float((deq.argmax(1) == f.argmax(1)).mean())
    return {"images": len(x), "min_cosine": float(cos.min()), "top1_agreement": top1}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m models.dyad_export",
                                description="Export a torch module to a dyad integer model "
                                            "(torch.fx capture, HAWQ-V3 quantization).")
    p.add_argument("model", help="torchvision:NAME or package.module:ATTR")
    p.add_argument("--out", required=True, help="output JSON (the .bin goes beside it)")
    p.add_argument("--bits", default="8", help="8, 4 or mixed:CONFIG.json (default 8)")
    p.add_argument("--input-shape", default="1,3,224,224", help="N,C,H,W (default 1,3,224,224)")
    p.add_argument("--input", choices=("int8", "uint8"), default="int8",
                   help="input dtype: int8 for normalized images (scale calibrated), uint8 "
                        "for images in [0, 1] (scale 1/255); default int8")
    p.add_argument("--input-scale", type=float, help="fixed input scale")
    p.add_argument("--state-dict", help="torch.load()-able state dict (default: random init)")
    p.add_argument("--kwargs", default="{}", help="JSON keyword arguments for the builder")
    p.add_argument("--calib", type=int, default=4, help="calibration images (default 4)")
    p.add_argument("--calib-data", help=".npy float32 NCHW calibration images (default: "
                                        "random images)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and random images")
    p.add_argument("--bn-recalibrate", action="store_true",
                   help="first set the BatchNorm statistics from the calibration images "
                        "(for random weights)")
    p.add_argument("--act8-signed", action="store_true",
                   help="int8 activations after ReLUs too (default uint8)")
    p.add_argument("--check", action="store_true",
                   help="run the integer simulator on the calibration images afterwards")
    p.add_argument("--name", help="model name (default: the JSON file's base name)")
    args = p.parse_args(argv)
    t0 = time.time()
    try:
        shape = parse_shape(args.input_shape)
        config = bit_config(args.bits)
        config.act8_signed = args.act8_signed
        if args.calib < 1:
            raise UsageError("--calib must be at least 1")
        torch.manual_seed(args.seed)
        model = load_model(args.model, json.loads(args.kwargs), args.state_dict)
        batches = calibration_batches(args, shape)
        if args.bn_recalibrate:
            recalibrate_batchnorm(model, batches)
        if args.bits.startswith("mpq:"):
            # The result's layer names and input widths against the model's layers
            # (an all-8-bit capture), before anything is lowered with them.
            probe = fx_capture.capture(model, qgraph.BitConfig({"w": 8, "a": 8}), shape,
                                       args.input, args.input_scale)
            mpq_result.check_layers(config.layers, args.bits[len("mpq:"):],
                                    *mpq_result.model_layers(probe))
        g = fx_capture.capture(model, config, shape, args.input, args.input_scale)
        fx_capture.calibrate(g, batches)
        name = args.name or os.path.splitext(os.path.basename(args.out))[0]
        meta = {"source": args.model, "exporter": "models.dyad_export (torch.fx)",
                "bits": config.describe(), "state_dict": args.state_dict or "random init",
                "batchnorm_recalibrated": args.bn_recalibrate,
                "input": {"name": g.input.name, "layout": "NHWC", "dtype": g.input.dtype,
                          "scale": g.input.scale,
                          "float_input": "the model's float input, quantized as "
                                         "clamp(rne(x / scale)); images transposed to NHWC"},
                "calibration": {"images": sum(len(b) for b in batches),
                                "data": args.calib_data or f"random (seed {args.seed})"}}
        if args.bits.startswith("mpq:"):
            meta["mpq_result"] = mpq_result.describe(args.bits[len("mpq:"):])
        if args.input == "int8" and len(shape) == 4 and shape[1] == 3:
            meta["input"]["random_calibration_preprocessing"] = {
                "mean": IMAGENET_MEAN, "std": IMAGENET_STD}
        doc = export.export_file(g, args.out, name, meta)
    except (ExportError, UsageError, mpq_result.MpqResultError) as e:
        print(f"dyad_export: error: {e}", file=sys.stderr)
        return 1 if isinstance(e, ExportError) else 2
    size = os.path.getsize(args.out)
    if "weights" in doc:
        size += doc["weights"]["bytes"]
    print(f"{args.out}: {len(doc['nodes'])} nodes, {len(doc['tensors'])} tensors, "
          f"{size / 1e6:.1f} MB, input {g.input.name} {g.input.dtype} "
          f"{g.input.shape} scale {g.input.scale:.6g}, exported in {time.time() - t0:.1f} s")
    if args.check:
        print("check (integer simulator vs float model):", json.dumps(check(g, args.out, batches)))
    return 0
