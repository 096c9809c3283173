"""Command line: see models/ibert_gen/__init__.py and docs/ops.md."""
import argparse
import os
import sys
import time

import numpy as np

from ..dyad_export.simulator import Model
from . import float_model
from .build import build_model
from .config import PRESETS, preset

TOY_PATH = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "examples",
                                         "ibert_toy.json"))


def sample_inputs(cfg, count, seed):
    """Deterministic inputs: random ids with a full mask, with end padding, and the
    extreme ids 0 / vocab - 1 with every other position masked."""
    rng = np.random.default_rng(seed)
    L = cfg.seq_len
    out = []
    for k in range(count):
        ids = rng.integers(0, cfg.vocab, size=(1, L))
        mask = np.ones((1, L), dtype=np.int64)
        if k % 3 == 1:
            mask[0, L - max(1, L // 4):] = 0
        elif k % 3 == 2:
            ids[0, :] = np.where(np.arange(L) % 2 == 0, 0, cfg.vocab - 1)
            mask[0, 1::2] = 0
        feeds = {"input_ids": ids}
        if cfg.attention_mask:
            feeds["attention_mask"] = mask
        out.append(feeds)
    return out


def float_agreement(cfg, params, sim, feeds, got):
    """Correlation of the dequantized integer outputs with the float model's."""
    taps = {}
    float_model.forward(cfg, params, feeds["input_ids"], feeds.get("attention_mask"), taps=taps)
    report = {}
    for name in ["emb.out"] + [f"l{i}.out" for i in range(cfg.layers)]:
        if name in got:
            x = sim.dequantize(name, got[name]).reshape(-1)
            report[name] = float(np.corrcoef(x, taps[name].reshape(-1))[0, 1])
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m models.ibert_gen", description=__doc__)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="toy")
    ap.add_argument("--out", help="output JSON path (the .bin goes beside it); default for "
                                  "the toy: models/examples/ibert_toy.json")
    ap.add_argument("--samples", type=int, help="inputs whose expected outputs the simulator "
                    "computes into metadata.samples (default: 3 for toy, 0 otherwise)")
    ap.add_argument("--extra-outputs", action=argparse.BooleanOptionalAction, default=None,
                    help="also expose every layer's output and layer 0's softmax and GELU "
                         "(default: on for toy)")
    for field in ("layers", "hidden", "heads", "ffn", "seq_len", "vocab", "seed"):
        ap.add_argument("--" + field.replace("_", "-"), type=int, dest=field)
    ap.add_argument("--no-mask", dest="attention_mask", action="store_const", const=False,
                    help="no attention_mask input")
    ap.add_argument("--w4", default="", help="comma-separated linears of every layer with 4-bit "
                    "weights (W4A8), from q,k,v,o,ffn1,ffn2; e.g. ffn1,ffn2 (default: none, all W8A8)")
    args = ap.parse_args(argv)
    toy = args.preset == "toy"
    cfg = preset(args.preset, layers=args.layers, hidden=args.hidden, heads=args.heads,
                 ffn=args.ffn, seq_len=args.seq_len, vocab=args.vocab, seed=args.seed,
                 attention_mask=args.attention_mask,
                 w4=tuple(x for x in args.w4.split(",") if x) or None)
    out = args.out or (TOY_PATH if toy else None)
    if out is None:
        ap.error("--out is required for preset " + args.preset)
    samples = args.samples if args.samples is not None else (3 if toy else 0)
    extra = args.extra_outputs if args.extra_outputs is not None else toy

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    t0 = time.time()
    writer, params = build_model(cfg, extra)
    writer.write(out)
    print(f"wrote {out} ({len(writer.nodes)} nodes, {len(writer._blob)} weight bytes) "
          f"in {time.time() - t0:.1f} s")
    if samples:
        sim = Model(out)
        writer.metadata["samples"] = []
        for k, feeds in enumerate(sample_inputs(cfg, samples, cfg.seed + 2)):
            t1 = time.time()
            got = sim.run(feeds, keep_all=True)
            writer.metadata["samples"].append({
                "inputs": {n: v.reshape(-1).tolist() for n, v in feeds.items()},
                "expected": {o: got[o].reshape(-1).tolist() for o in writer.outputs}})
            corr = float_agreement(cfg, params, sim, feeds, got)
            print(f"sample {k}: simulated in {time.time() - t1:.1f} s; correlation with the "
                  "float model: " + ", ".join(f"{n} {c:.3f}" for n, c in corr.items()))
        writer.write(out)
        print(f"wrote {samples} samples into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
