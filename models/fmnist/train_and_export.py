"""Retrains (fixed seeds) and re-exports every Fashion-MNIST model, and records accuracy.

Run from the repository root:

    /usr/bin/python3 -m models.fmnist.train_and_export            # everything (~30 min)
    /usr/bin/python3 -m models.fmnist.train_and_export --skip-train   # re-export only

Writes into models/fmnist/:
  resnet_float.pt          float ResNet checkpoint
  resnet_int8.{json,bin}   INT8 model (post-training quantization, or QAT if PTQ loses > 1.5 pt)
  resnet_mixed_qat.pt      float weights after quantization-aware training (if QAT ran)
  resnet_mixed.{json,bin}  INT8 stem/FC + INT4 blocks with uint4 activations
  vit_float.pt             float ViT checkpoint
  vit_int8.{json,bin}      INT8 ViT (post-training quantization, or QAT if PTQ loses > 1.5 pt)
  vit_mixed_qat.pt         float ViT weights after quantization-aware training
  vit_mixed.{json,bin}     INT4 encoder Linears, INT8 patch embedding and head
and the accuracy table into docs/models.md and each model's JSON metadata.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

from ..dyad_export import compare, writer
from . import data, nets, pipeline, train

QAT_THRESHOLD = 0.015     # "auto": fine-tune when PTQ loses more than 1.5 points
# The mixed model always gets QAT: its PTQ loss sits right at the threshold (about 1.4
# points with these seeds) and QAT recovers most of it.
QAT_POLICY = {"resnet_int8": "auto", "resnet_mixed": "always",
              "vit_int8": "auto", "vit_mixed": "always"}
# Fine-tuning settings: the ResNet as it was trained (SGD), the ViT with AdamW.
QAT_SETTINGS = {"resnet": {"optimizer": "sgd", "weight_decay": 5e-4},
                "vit": {"optimizer": "adamw", "weight_decay": 0.05}}
DESCRIPTIONS = {
    "resnet": "Fashion-MNIST ResNet (stem conv, max pool, 3 basic blocks, global average "
              "pool, FC), HAWQ-V3 style integer-only quantization",
    "vit": "Fashion-MNIST ViT (7x7 patch embedding, class token, positions, 2 post-LN "
           "encoder layers, head on the class token), I-BERT style integer-only "
           "quantization (int_softmax, int_gelu, int_layernorm)",
}
RESNET_KWARGS = {"widths": [16, 32, 64], "num_classes": 10}
VIT_KWARGS = {"patch": 7, "dim": 64, "depth": 2, "heads": 4, "mlp": 128, "num_classes": 10}
SAMPLE_INDICES = (0, 1, 2)   # test images stored with expected outputs in the metadata


def log(msg):
    print(msg, flush=True)


def train_resnet(args, path):
    train.seed_everything(0)
    model = nets.ResNet(**RESNET_KWARGS)
    log(f"training ResNet ({sum(p.numel() for p in model.parameters())} parameters), "
        f"{args.epochs} epochs")
    train.train_classifier(model, epochs=args.epochs, lr=0.1, weight_decay=5e-4, seed=0, log=log)
    return model


def train_vit(args, path):
    train.seed_everything(0)
    model = nets.ViT(**VIT_KWARGS)
    log(f"training ViT ({sum(p.numel() for p in model.parameters())} parameters), "
        f"{args.vit_epochs} epochs")
    train.train_classifier(model, epochs=args.vit_epochs, lr=2e-3, weight_decay=0.05,
                           optimizer="adamw", warmup_epochs=1, seed=0, log=log)
    return model


def quantize(name, model, base_float_acc, calib, test_x, test_y, args):
    """PTQ, then QAT if PTQ loses too much. Returns (graph, model, info dict)."""
    g = pipeline.build_graph(model, name)
    g.calibrate(calib)
    ptq = float((pipeline.fake_quant_logits(g, test_x).argmax(1) == test_y).mean())
    log(f"{name}: float {base_float_acc:.4f}, PTQ (fake quant) {ptq:.4f}")
    info = {"method": "PTQ", "ptq_fake_quant_top1": round(ptq, 4)}
    policy = args.qat or QAT_POLICY[name]
    if args.qat_epochs > 0 and (policy == "always" or (
            policy == "auto" and base_float_acc - ptq > QAT_THRESHOLD)):
        log(f"{name}: PTQ loses {100 * (base_float_acc - ptq):.2f} points (QAT policy "
            f"{policy}) -> quantization-aware training, {args.qat_epochs} epochs")
        family = "vit" if pipeline.is_vit(name) else "resnet"
        lr = args.vit_qat_lr if family == "vit" else args.qat_lr
        model, g = pipeline.qat(model, name, calib, args.qat_epochs, lr, log=log,
                                **QAT_SETTINGS[family])
        qat_fake = float((pipeline.fake_quant_logits(g, test_x).argmax(1) == test_y).mean())
        info.update({"method": "QAT", "qat_epochs": args.qat_epochs,
                     "qat_float_top1": round(float(train.evaluate(model, test_x, test_y)), 4),
                     "qat_fake_quant_top1": round(qat_fake, 4)})
        log(f"{name}: after QAT fake quant {qat_fake:.4f}")
    return g, model, info


def export_and_measure(name, g, info, float_acc, checkpoint, test_x, test_y, out_dir,
                       extra_meta=None):
    json_path = os.path.join(out_dir, name + ".json")
    meta = {
        "description": DESCRIPTIONS["vit" if isinstance(g, pipeline.vit.ViTGraph) else "resnet"],
        "generator": "/usr/bin/python3 -m models.fmnist.train_and_export",
        "float_checkpoint": checkpoint,
        "input": "uint8 pixels, NHWC [1, 28, 28, 1], scale 1/255, zero point 0 "
                 "(the float input is pixel / 255)",
        "output": "int8 logits [1, 10]; the class is the argmax",
        "classes": list(data.CLASSES),
        "bit_config": pipeline.bit_config(g, name),
        **(extra_meta or {}),
    }
    pipeline.export_graph(g, json_path, name, meta)
    t0 = time.time()
    logits, sim = pipeline.simulate(json_path, test_x)
    fake = pipeline.fake_quant_logits(g, test_x)
    fake_int = np.round(fake / g.output.scale).astype(np.int64)
    pred = logits.argmax(1)
    top = np.sort(logits, axis=1)
    acc = {
        "test_images": int(len(test_x)),
        "float_top1": round(float_acc, 4),
        **info,
        "int_top1": round(float((pred == test_y).mean()), 4),
        "int_vs_fake_quant_logits_equal": round(float((fake_int == logits).mean()), 4),
        "int_vs_fake_quant_argmax_equal": round(float((fake.argmax(1) == pred).mean()), 4),
        "int_top1_tied_logits": int((top[:, -1] == top[:, -2]).sum()),
    }
    log(f"{name}: integer (simulated) top-1 {acc['int_top1']:.4f} "
        f"[{time.time() - t0:.0f} s], logits equal to fake quant "
        f"{100 * acc['int_vs_fake_quant_logits_equal']:.2f}%")
    samples = []
    for i in SAMPLE_INDICES:
        samples.append({"index": i, "label": int(test_y[i]),
                        "input": test_x[i].reshape(-1).astype(int).tolist(),
                        "expected": logits[i].astype(int).tolist()})
    with open(json_path) as f:
        doc = json.load(f)
    doc["metadata"].update({"accuracy": acc, "samples_note":
                            "inputs: test images by index, flattened NHWC; expected: the "
                            "simulator's int8 logits (models/dyad_export/simulator.py)",
                            "samples": samples})
    with open(json_path, "w") as f:
        f.write(writer.format_json(doc) + "\n")
    # The rewritten file must still load and reproduce its samples.
    m2 = pipeline.simulator.Model(json_path)
    for s in samples:
        got = m2.run({"image": np.array(s["input"]).reshape(1, 28, 28, 1)})["logits"]
        assert got.reshape(-1).tolist() == s["expected"], name
    return acc


def write_docs(out_dir, path):
    """The accuracy table in docs/models.md, from the models' metadata and checkpoints."""
    begin, end = "<!-- fmnist-begin -->", "<!-- fmnist-end -->"
    results = {}
    for name in ("resnet_int8", "resnet_mixed", "vit_int8", "vit_mixed"):
        with open(os.path.join(out_dir, name + ".json")) as f:
            results[name] = json.load(f)["metadata"]["accuracy"]
    r8, rm = results["resnet_int8"], results["resnet_mixed"]
    v8, vm = results["vit_int8"], results["vit_mixed"]

    def pct(v):
        return "n/a" if v is None else f"{100 * v:.2f} %"

    lines = [begin, "## Fashion-MNIST models (models/fmnist)", "",
             "Generated by `/usr/bin/python3 -m models.fmnist.train_and_export` (run from the "
             "repository root; fixed seeds, one CPU thread). Accuracy is top-1 on the 10,000 "
             "Fashion-MNIST test images. \"Integer\" is the exported model executed by the "
             "independent integer simulator `models/dyad_export/simulator.py`, which follows "
             "docs/format.md exactly (the C++ engine must give the same integers).", "",
             "| model | weights / activations | float top-1 | method | fake-quant top-1 | "
             "integer top-1 | files |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, r, bits in (("resnet_int8", r8, "INT8 / int8 (HAWQ-V3 signed), uint8 input"),
                          ("resnet_mixed", rm, "INT8 stem+FC, INT4 blocks / uint4 in blocks, "
                                               "uint8 elsewhere"),
                          ("vit_int8", v8, "INT8 / int8, int16 residuals (I-BERT ops)"),
                          ("vit_mixed", vm, "INT4 encoder Linears, INT8 patch embedding and "
                                            "head / int8, int16 residuals")):
        fq = r.get("qat_fake_quant_top1", r["ptq_fake_quant_top1"])
        method = r["method"] + (f" ({r['qat_epochs']} epochs)" if r["method"] == "QAT" else "")
        lines.append(f"| {name} | {bits} | {pct(r['float_top1'])} | {method} | {pct(fq)} | "
                     f"{pct(r['int_top1'])} | `{name}.json`, `{name}.bin` |")
    lines += ["",
              "Notes:", "",
              f"- resnet_mixed: post-training quantization alone reaches "
              f"{pct(rm['ptq_fake_quant_top1'])} (fake quant)"
              + (f"; after QAT the float weights give {pct(rm['qat_float_top1'])}."
                 if rm["method"] == "QAT" else "."),
              f"- vit_mixed: post-training quantization alone reaches "
              f"{pct(vm['ptq_fake_quant_top1'])} (fake quant)"
              + (f"; after QAT the float weights give {pct(vm['qat_float_top1'])}."
                 if vm["method"] == "QAT" else "."),
              f"- ResNets: the integer logits equal the fake-quant (float) emulation's for "
              f"{pct(r8['int_vs_fake_quant_logits_equal'])} (int8) and "
              f"{pct(rm['int_vs_fake_quant_logits_equal'])} (mixed) of the logits; the rest "
              "differ by float rounding next to a rounding tie.",
              f"- ViTs: the emulation computes GELU, softmax and LayerNorm in float where the "
              "integer model runs I-BERT's polynomial approximations, so fewer logits match "
              f"exactly ({pct(v8['int_vs_fake_quant_logits_equal'])} int8, "
              f"{pct(vm['int_vs_fake_quant_logits_equal'])} mixed); the predicted class "
              f"agrees on {pct(v8['int_vs_fake_quant_argmax_equal'])} and "
              f"{pct(vm['int_vs_fake_quant_argmax_equal'])} of the test images.",
              f"- The int8 logits of the top two classes tie on "
              f"{r8['int_top1_tied_logits']} (resnet_int8), {rm['int_top1_tied_logits']} "
              f"(resnet_mixed), {v8['int_top1_tied_logits']} (vit_int8) and "
              f"{vm['int_top1_tied_logits']} (vit_mixed) test images; the accuracy takes the "
              "first maximum (numpy argmax), as `dyad classify` does.",
              "- Quantization (HAWQ-V3): BatchNorm folded; weights symmetric per output "
              "channel, INT8 in [-128, 127], INT4 in [-8, 7]; int32 bias at scale "
              "f32(S_x * S_w[c]); activations per tensor, zero point 0, scale from the "
              "mean of per-batch maxima over 2048 training images (EMA during QAT); dyadic "
              "constants stored as integers (`frexp_dyadic`, ratio "
              "f64(f32(S_x * S_w[c])) / f64(f32(S_y)) for conv/FC, S_in / f64(f32(S_y)) for "
              "add and requantize). In resnet_mixed a `requantize` turns the uint8 max-pool "
              "output into uint4 for the first block (the identity branch keeps uint8); the "
              "adds feeding a 4-bit block write uint4 directly.",
              "- Each model's JSON `metadata` holds these figures, the bit config, and three "
              "test images (`samples`: `input` uint8 NHWC, `expected` int8 logits) for a "
              "bit-exact engine test.",
              "- Per-layer float vs integer comparison of all four models: "
              "`/usr/bin/python3 -m models.fmnist.report_layers` (see \"Per-layer report\" "
              "below; for resnet_mixed and vit_mixed the float reference is the QAT "
              "checkpoint).",
              "- ViT quantization: see \"ViT lowering\" below; vit_mixed's float reference "
              "after QAT is `vit_mixed_qat.pt`.",
              "- ResNet: stem 3x3 conv (16) + BN + ReLU, 2x2 max pool, basic blocks 16 "
              "(identity), 32 and 64 (stride 2, 1x1 strided conv shortcut), global average "
              "pool, FC 10. BatchNorm is folded into the convs; each residual add takes the "
              "second conv's int32 accumulator and the identity (or the shortcut conv's "
              "accumulator) with its own dyadic constants, ReLU fused.",
              "- ViT (`models/fmnist/nets.py: ViT`, checkpoint keys `arch`, `kwargs`, "
              f"`state_dict`): {VIT_KWARGS['patch']}x{VIT_KWARGS['patch']} patches, class "
              f"token, learned positions, {VIT_KWARGS['depth']} post-LN encoder layers, hidden "
              f"{VIT_KWARGS['dim']}, {VIT_KWARGS['heads']} heads, MLP {VIT_KWARGS['mlp']}, GELU; "
              "input pixel / 255. Patch embedding is a Conv2d with stride = patch; tokens "
              "are [cls, patches in row-major order] + pos_embed; attention scores are "
              "scaled by 1/sqrt(head dim); each layer is x = LN1(x + proj(attn(x))), "
              "x = LN2(x + fc2(GELU(fc1(x)))) (erf GELU, LayerNorm eps 1e-5); the head reads "
              "the class token. Its Linear layers keep nn.Linear's parameters (they are only "
              "computed as 1x1 convolutions for training speed).",
              end]
    block = "\n".join(lines)
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = (text.rstrip() + "\n\n" if text else "# Models\n\n") + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def quantize_and_export(names, model, arch, kwargs, float_acc, test_x, test_y, args):
    """PTQ / QAT, export, simulated accuracy of each model in `names` (one float model)."""
    calib = pipeline.calibration_batches()
    family = "vit" if arch == "ViT" else "resnet"
    for name in names:
        g, qmodel, info = quantize(name, model, float_acc, calib, test_x, test_y, args)
        ckpt = f"{family}_float.pt"
        if info["method"] == "QAT":
            ckpt = f"{name}_qat.pt"
            pipeline.save_checkpoint(os.path.join(args.out_dir, ckpt), qmodel, arch, kwargs,
                                     float_top1=info["qat_float_top1"])
        export_and_measure(name, g, info, float_acc, ckpt, test_x, test_y, args.out_dir)
        # Where the accuracy goes, per layer (QGraph for the ResNets, ViTGraph for the ViTs).
        rows = compare.layer_report(g, pipeline.simulator.Model(
            os.path.join(args.out_dir, name + ".json")), test_x[:1000])
        log(compare.format_report(rows, f"\n{name}: per-layer float vs integer "
                                        "(1000 test images)"))


def resnet_part(args, test_x, test_y):
    resnet_path = os.path.join(args.out_dir, "resnet_float.pt")
    if args.skip_train:
        model, _ = pipeline.load_checkpoint(resnet_path)
    else:
        model = train_resnet(args, resnet_path)
    float_acc = float(train.evaluate(model, test_x, test_y))
    log(f"ResNet float top-1 {float_acc:.4f}")
    if not args.skip_train:
        pipeline.save_checkpoint(resnet_path, model, "ResNet", RESNET_KWARGS,
                                 float_top1=round(float_acc, 4))
    quantize_and_export(("resnet_int8", "resnet_mixed"), model, "ResNet", RESNET_KWARGS,
                        float_acc, test_x, test_y, args)


def vit_part(args, test_x, test_y):
    vit_path = os.path.join(args.out_dir, "vit_float.pt")
    if args.skip_train:
        vit, _ = pipeline.load_checkpoint(vit_path)
    else:
        vit = train_vit(args, vit_path)
    vit_acc = float(train.evaluate(vit, test_x, test_y))
    log(f"ViT float top-1 {vit_acc:.4f}")
    if not args.skip_train:
        pipeline.save_checkpoint(vit_path, vit, "ViT", VIT_KWARGS, float_top1=round(vit_acc, 4))
    quantize_and_export(("vit_int8", "vit_mixed"), vit, "ViT", VIT_KWARGS, vit_acc,
                        test_x, test_y, args)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=10, help="float ResNet epochs")
    p.add_argument("--qat-epochs", type=int, default=3)
    p.add_argument("--qat-lr", type=float, default=0.002, help="ResNet QAT learning rate (SGD)")
    p.add_argument("--vit-qat-lr", type=float, default=1e-4, help="ViT QAT learning rate (AdamW)")
    p.add_argument("--qat", choices=["auto", "always", "never"],
                   help="override the per-model QAT policy (auto: when PTQ loses > 1.5 pt)")
    p.add_argument("--vit-epochs", type=int, default=12)
    p.add_argument("--skip-train", action="store_true",
                   help="reuse resnet_float.pt / vit_float.pt instead of retraining")
    p.add_argument("--skip-resnet", action="store_true", help="leave the ResNet models untouched")
    p.add_argument("--skip-vit", action="store_true", help="leave the ViT untouched")
    p.add_argument("--out-dir", default=pipeline.HERE)
    p.add_argument("--docs", default=os.path.join(pipeline.REPO, "docs", "models.md"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    test_x, test_y = data.load("test")
    t_start = time.time()
    if not args.skip_resnet:
        resnet_part(args, test_x, test_y)
    if not args.skip_vit:
        vit_part(args, test_x, test_y)
    write_docs(args.out_dir, args.docs)
    log(f"wrote {args.docs}; total {time.time() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
