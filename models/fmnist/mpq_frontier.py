"""Bit allocation end to end on Fashion-MNIST: sensitivities, `dyad mpq solve` at a
sweep of budgets, export, top-1 and latency through the engine (docs/mpq.md).

Run from the repository root after building (build/dyad):

    /usr/bin/python3 -m models.fmnist.mpq_frontier                 # frontier (~10 min)
    /usr/bin/python3 -m models.fmnist.mpq_frontier --ship           # + the shipped models

For the ResNet and the ViT (float checkpoints resnet_float.pt, vit_float.pt):
1. the candidates file (python3 -m models.mpq_sensitivity: Hutchinson traces x
   ||Q_b(W) - W||^2; every conv / linear searched, w4 or w8 weights);
2. the latency fields: `dyad mpq latency` on the all-INT8 and all-INT4 exports,
   checked for additivity on the hand-made configuration (--no-latency: none);
3. `dyad mpq solve` for every budget: --frac-size, --frac-bops and
   --frac-latency at each --fracs value, and the hand-made mixed model's own
   size, BOPS and latency (--max-size, --max-bops, --max-latency);
4. each distinct configuration exported by post-training quantization from the
   float checkpoint (the calibration of train_and_export: 2048 training images),
   with `--bits mpq:RESULT.json`'s reader (models/dyad_export/mpq_result.py);
   the hand-made configuration is exported the same way ("hand-made, PTQ");
5. top-1 on the 10,000 test images with `dyad classify`, and the median latency
   (`dyad bench`, one thread, --rounds rounds alternating all models);
6. the table (docs/mpq_frontier.json, .csv) and the plot (docs/mpq_frontier.png).

The frontier compares configurations without fine-tuning (all PTQ). The shipped
hand-made mixed models were QAT-finetuned (train_and_export: 3 epochs, SGD lr
0.002 for the ResNet, AdamW lr 1e-4 for the ViT); --ship applies exactly that
recipe (pipeline.qat, same seeds) to the configurations chosen for the --ship
budgets and writes them to models/fmnist/{arch}_mpq_{budget}.{json,bin}, with the
simulator's accuracy and sample logits in their metadata (as the other shipped
models); the shipped models themselves are measured in the same table.
"""
import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

from ..dyad_export import mpq_result
from ..mpq_sensitivity import __main__ as sensitivity_cli
from . import data, pipeline, train, train_and_export

ARCHS = {
    "resnet": {"float": "resnet_float.pt", "hand_made": "resnet_mixed", "int8": "resnet_int8",
               "hand_bits": lambda n: pipeline.BIT_CONFIGS["resnet_mixed"].for_layer(n)},
    "vit": {"float": "vit_float.pt", "hand_made": "vit_mixed", "int8": "vit_int8",
            "hand_bits": lambda n: {"w": pipeline.VIT_WEIGHT_BITS["vit_mixed"](n), "a": 8}},
}
FRACS = (1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0)
DATA = "/usr/share/datasets/fashion-mnist"


def log(msg):
    print(msg, flush=True)


def run(cmd, ok=(0,)):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in ok:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def totals(cands, table):
    """Size / BOPS / latency of a configuration {layer: {"w", "a"}} from the candidates."""
    out = {k: v for k, v in cands.get("fixed", {}).items()}
    for layer in cands["layers"]:
        want = table[layer["name"]]
        c = [c for c in layer["candidates"] if (c["w_bits"], c["a_bits"]) == (want["w"], want["a"])]
        if not c:
            raise ValueError(f"{layer['name']}: no candidate w{want['w']}a{want['a']}")
        for k in ("size", "bops", "latency"):
            if k in c[0]:
                out[k] = out.get(k, 0) + c[0][k]
    return out


def solve(dyad, cand_path, flags, out):
    p = run([dyad, "mpq", "solve", cand_path, *flags, "--out", out], ok=(0, 1))
    with open(out) as f:
        doc = json.load(f)
    return doc if doc["status"] == "optimal" else None


def config_key(table):
    return tuple(sorted((n, b["w"], b["a"]) for n, b in table.items()))


def short_config(table, hand):
    """The layers that differ from the hand-made configuration, e.g. '+8: blocks.2.conv2'."""
    up = [n for n, b in table.items() if b["w"] > hand[n]["w"]]
    down = [n for n, b in table.items() if b["w"] < hand[n]["w"]]
    if not up and not down:
        return "= hand-made"
    return "; ".join(p for p in (f"w8: {', '.join(up)}" if up else "",
                                 f"w4: {', '.join(down)}" if down else "") if p)


def export_ptq(model, table, calib, json_path, name, meta):
    probe = pipeline.build_graph(model, name, {})
    mpq_result.check_layers(table, json_path, *mpq_result.model_layers(probe))
    g = pipeline.build_graph(model, name, table)
    g.calibrate(calib)
    pipeline.export_graph(g, json_path, name, meta)
    return g


def classify(dyad, json_path):
    p = run([dyad, "classify", json_path, "--images", f"{DATA}/t10k-images-idx3-ubyte.gz",
             "--labels", f"{DATA}/t10k-labels-idx1-ubyte.gz", "--threads", "1"])
    m = re.search(r"\((\d+) correct\)", p.stdout)
    return int(m.group(1)) / 10000


def bench_all(dyad, paths, rounds, iters):
    """{path: median over rounds of the p50 latency (ms)}; each round runs every model."""
    got = {p: [] for p in paths}
    for _ in range(rounds):
        for p in paths:
            out = run([dyad, "bench", p, "--threads", "1", "--warmup", str(iters // 10),
                       "--iters", str(iters), "--json"]).stdout
            got[p].append(json.loads(out)["runs"][0]["latency_ms"]["p50"])
    return {p: statistics.median(v) for p, v in got.items()}


def latency_table(arch, args, model, cands, hand, calib, work):
    """`dyad mpq latency` on the all-INT8 and all-INT4 exports (PTQ) fills the
    candidates' latency fields; the hand-made configuration is the additivity check."""
    models = []
    for tag, table in (("w8", {l["name"]: max(l["candidates"], key=lambda c: c["w_bits"])
                               for l in cands["layers"]}),
                       ("w4", {l["name"]: min(l["candidates"], key=lambda c: c["w_bits"])
                               for l in cands["layers"]}),
                       ("hand", None)):
        bits = hand if table is None else {n: {"w": c["w_bits"], "a": c["a_bits"]}
                                           for n, c in table.items()}
        path = os.path.join(work, f"latency_{tag}.json")
        export_ptq(model, bits, calib, path, f"{arch}_latency_{tag}",
                   {"description": "precision model for dyad mpq latency (PTQ)"})
        models.append(path)
    out = os.path.join(work, "candidates_latency.json")
    p = run([args.dyad, "mpq", "latency", models[0], models[1], "--candidates",
             os.path.join(work, "candidates.json"), "--check", models[2], "--out", out,
             "--runs", str(args.latency_runs)])
    log(f"{arch}: dyad mpq latency\n{p.stdout}")
    return out


def frontier_for(arch, args, calib, rows, ship_jobs):
    spec = ARCHS[arch]
    work = os.path.join(args.work, arch)
    os.makedirs(work, exist_ok=True)
    ckpt = os.path.join(pipeline.HERE, spec["float"])
    cand_path = os.path.join(work, "candidates.json")
    if not (args.reuse and os.path.exists(cand_path)):
        t0 = time.time()
        sensitivity_cli.main([ckpt, "--out", cand_path])
        log(f"{arch}: sensitivities in {time.time() - t0:.0f} s")
    with open(cand_path) as f:
        cands = json.load(f)
    hand = {layer["name"]: dict(spec["hand_bits"](layer["name"])) for layer in cands["layers"]}
    model, _ = pipeline.load_checkpoint(ckpt)
    dims = ["size", "bops"]
    if not args.no_latency:
        cand_path = latency_table(arch, args, model, cands, hand, calib, work)
        with open(cand_path) as f:
            cands = json.load(f)
        dims.append("latency")
    hand_totals = totals(cands, hand)

    budgets = [(f"{d} r={r:g}", [f"--frac-{d}", f"{r:g}"]) for d in dims for r in args.fracs]
    budgets += [(f"{d} = hand-made", [f"--max-{d}", str(hand_totals[d])]) for d in dims]
    configs = {}                     # key -> {"table", "budgets", "result"}
    for label, flags in budgets:
        res_path = os.path.join(work, "result_" + re.sub(r"[^a-z0-9.]+", "_", label) + ".json")
        doc = solve(args.dyad, cand_path, flags, res_path)
        if doc is None:
            log(f"{arch}: {label}: not optimal (infeasible)")
            continue
        table = {layer["name"]: {"w": layer["w_bits"], "a": layer["a_bits"]}
                 for layer in doc["layers"]}
        entry = configs.setdefault(config_key(table), {"table": table, "budgets": [],
                                                        "result": res_path, "doc": doc})
        entry["budgets"].append(label)
    hand_entry = configs.setdefault(config_key(hand), {"table": hand, "budgets": [],
                                                       "result": None, "doc": None})
    hand_entry["hand_made"] = True
    log(f"{arch}: {len(budgets)} solves, {len(configs)} distinct configurations")

    points = []
    for i, entry in enumerate(configs.values()):
        name = f"{arch}_mpq_{i}"
        path = os.path.join(work, name + ".json")
        meta = {"description": f"{arch} bit allocation sweep point (PTQ)",
                "generator": "/usr/bin/python3 -m models.fmnist.mpq_frontier"}
        if entry["result"]:
            meta["mpq_result"] = mpq_result.describe(entry["result"])
        export_ptq(model, entry["table"], calib, path, name, meta)
        t = totals(cands, entry["table"])
        w4 = sum(b["w"] == 4 for b in entry["table"].values())
        kind = ("all-INT8" if w4 == 0 else "all-INT4" if w4 == len(entry["table"]) else "mixed")
        points.append({"arch": arch, "model": name, "method": "PTQ", "kind": kind,
                       "hand_made": entry.get("hand_made", False),
                       "budgets": entry["budgets"], "w4_layers": w4, "layers": len(entry["table"]),
                       "weight_bytes": t["size"], "bops": t["bops"], "latency_table_ns": t.get("latency"),
                       "objective": sum(c["sensitivity"] for layer in cands["layers"]
                                        for c in layer["candidates"]
                                        if (c["w_bits"], c["a_bits"]) ==
                                        (entry["table"][layer["name"]]["w"],
                                         entry["table"][layer["name"]]["a"])),
                       "vs_hand_made": short_config(entry["table"], hand),
                       "bin_bytes": os.path.getsize(path[:-5] + ".bin"),
                       "top1": classify(args.dyad, path), "path": path})
        log(f"{arch}: {name} {kind} {points[-1]['budgets']}: top-1 {points[-1]['top1']:.4f}, "
            f"{t['size']} weight bytes, {points[-1]['vs_hand_made']}")
    # The shipped models, measured in the same way.
    for shipped in (spec["int8"], spec["hand_made"]):
        path = os.path.join(pipeline.HERE, shipped + ".json")
        with open(path) as f:
            acc = json.load(f)["metadata"]["accuracy"]
        t = hand_totals if shipped == spec["hand_made"] else \
            totals(cands, {n: {"w": 8, "a": 8} for n in hand})
        points.append({"arch": arch, "model": shipped, "method": acc["method"],
                       "kind": "shipped", "hand_made": shipped == spec["hand_made"],
                       "budgets": [], "w4_layers": None, "layers": len(hand),
                       "weight_bytes": t["size"], "bops": t["bops"], "latency_table_ns": t.get("latency"), "objective": None,
                       "vs_hand_made": "", "bin_bytes": os.path.getsize(path[:-5] + ".bin"),
                       "top1": classify(args.dyad, path), "path": path})
    for budget in args.ship:
        label = budget.replace("=", " r=") if "=" in budget else budget
        match = [e for e in configs.values() if label in e["budgets"]]
        if not match:
            sys.exit(f"--ship {budget}: no optimal solve with budget '{label}' for {arch}")
        ship_jobs.append((arch, budget, match[0], cands, hand))
    rows.extend(points)
    return cands.get("latency_check")


def ship(arch, budget, entry, cands, args, calib, test_x, test_y, rows):
    """QAT with the hand-made models' recipe, export to models/fmnist, simulator accuracy."""
    dim, r = budget.split("=")
    name = f"{arch}_mpq_{dim}{int(round(float(r) * 100)):02d}"
    ckpt = ARCHS[arch]["float"]
    model, _ = pipeline.load_checkpoint(os.path.join(pipeline.HERE, ckpt))
    float_acc = float(train.evaluate(model, test_x, test_y))
    family = "vit" if arch == "vit" else "resnet"
    lr = args.vit_qat_lr if family == "vit" else args.qat_lr
    log(f"{name}: QAT {args.qat_epochs} epochs ({train_and_export.QAT_SETTINGS[family]}, "
        f"lr {lr}) of the configuration for {entry['budgets']}")
    t0 = time.time()
    g0 = pipeline.build_graph(model, name, entry["table"])
    g0.calibrate(calib)
    ptq = float((pipeline.fake_quant_logits(g0, test_x).argmax(1) == test_y).mean())
    qmodel, g = pipeline.qat(model, name, calib, args.qat_epochs, lr, log=log,
                             bits=entry["table"], **train_and_export.QAT_SETTINGS[family])
    qat_fake = float((pipeline.fake_quant_logits(g, test_x).argmax(1) == test_y).mean())
    info = {"method": "QAT", "ptq_fake_quant_top1": round(ptq, 4),
            "qat_epochs": args.qat_epochs,
            "qat_float_top1": round(float(train.evaluate(qmodel, test_x, test_y)), 4),
            "qat_fake_quant_top1": round(qat_fake, 4)}
    log(f"{name}: QAT done in {time.time() - t0:.0f} s, fake quant {qat_fake:.4f}")
    extra = {"generator": "/usr/bin/python3 -m models.fmnist.mpq_frontier --ship",
             "mpq_budget": f"--frac-{dim} {r}",
             "mpq_result": dict(mpq_result.describe(entry["result"]),
                                file=os.path.basename(entry["result"])),
             "qat_checkpoint": "not shipped: regenerate with the command above (fixed seeds)"}
    acc = train_and_export.export_and_measure(name, g, info, float_acc, ckpt, test_x, test_y,
                                              pipeline.HERE, extra_meta=extra)
    path = os.path.join(pipeline.HERE, name + ".json")
    t = totals(cands, entry["table"])
    rows.append({"arch": arch, "model": name, "method": "QAT", "kind": "shipped",
                 "hand_made": False, "budgets": entry["budgets"],
                 "w4_layers": sum(b["w"] == 4 for b in entry["table"].values()),
                 "layers": len(entry["table"]), "weight_bytes": t["size"], "bops": t["bops"], "latency_table_ns": t.get("latency"),
                 "objective": None, "vs_hand_made": "", "bin_bytes": os.path.getsize(
                     path[:-5] + ".bin"), "top1": classify(args.dyad, path), "path": path})
    if abs(rows[-1]["top1"] - acc["int_top1"]) > 1e-9:
        sys.exit(f"{name}: engine top-1 {rows[-1]['top1']} != simulator {acc['int_top1']}")


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    archs = [a for a in ARCHS if any(r["arch"] == a for r in rows)]
    fig, axes = plt.subplots(len(archs), 2, figsize=(11, 4.2 * len(archs)), squeeze=False)
    for row_axes, arch in zip(axes, archs):
        pts = [r for r in rows if r["arch"] == arch]
        for ax, x_key, x_label, scale in (
                (row_axes[0], "weight_bytes", "weight bytes (sum of n * b / 8)", 1),
                (row_axes[1], "latency_ms", "measured latency, dyad bench p50 (us)", 1000)):
            sweep = sorted((r for r in pts if r["method"] == "PTQ" and r["budgets"]),
                           key=lambda r: r[x_key])
            # Lines join the size sweep; in latency the same points are not ordered.
            ax.plot([r[x_key] * scale for r in sweep], [100 * r["top1"] for r in sweep],
                    "o-" if x_key == "weight_bytes" else "o", color="tab:blue",
                    label="dyad mpq solve (PTQ)", zorder=2)
            for r in pts:
                x, y = r[x_key] * scale, 100 * r["top1"]
                if r["kind"] in ("all-INT8", "all-INT4"):
                    ax.annotate(r["kind"], (x, y), textcoords="offset points", xytext=(4, -12),
                                fontsize=8)
                if r["hand_made"] and r["method"] == "PTQ":
                    ax.plot(x, y, "s", color="tab:orange", ms=8, label="hand-made (PTQ)",
                            zorder=3)
                elif r["hand_made"]:
                    ax.plot(x, y, "D", color="tab:red", ms=8, label="hand-made (QAT, shipped)",
                            zorder=3)
                elif r["kind"] == "shipped" and r["method"] == "QAT":
                    ax.plot(x, y, "*", color="tab:green", ms=12, label="chosen (QAT, shipped)",
                            zorder=3)
                    ax.annotate(r["model"].split("_mpq_")[1], (x, y), textcoords="offset points",
                                xytext=(5, 4), fontsize=8)
                elif r["kind"] == "shipped":
                    ax.plot(x, y, "^", color="gray", ms=7, label=f"{r['model']} (shipped)",
                            zorder=3)
            ax.set_xlabel(x_label)
            ax.set_ylabel("top-1 % (10,000 test images, dyad classify)")
            ax.set_title(f"Fashion-MNIST {arch}")
            ax.grid(alpha=0.3)
            handles, labels = ax.get_legend_handles_labels()
            seen = dict(zip(labels, handles))
            ax.legend(seen.values(), seen.keys(), fontsize=8, loc="lower right")
    fig.suptitle("Bit allocation with dyad mpq solve (AMD EPYC, Zen 5 class, 1 thread)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dyad", default=os.path.join(pipeline.REPO, "build", "dyad"))
    p.add_argument("--arch", default="resnet,vit")
    p.add_argument("--fracs", default=",".join(f"{r:g}" for r in FRACS))
    p.add_argument("--work", default="/tmp/dyad_mpq_frontier", help="candidates, results, "
                                                                     "sweep models")
    p.add_argument("--reuse", action="store_true", help="reuse the work folder's candidates")
    p.add_argument("--no-latency", action="store_true",
                   help="no dyad mpq latency table (size and BOPS budgets only)")
    p.add_argument("--latency-runs", type=int, default=301,
                   help="dyad mpq latency --runs (default 301)")
    p.add_argument("--ship", nargs="?", const="bops=0.5,size=0.25", default="",
                   help="budgets to QAT and ship (default when given: bops=0.5,size=0.25)")
    p.add_argument("--qat-epochs", type=int, default=3)
    p.add_argument("--qat-lr", type=float, default=0.002)
    p.add_argument("--vit-qat-lr", type=float, default=1e-4)
    p.add_argument("--rounds", type=int, default=5, help="latency rounds (alternating models)")
    p.add_argument("--iters", type=int, default=2000, help="dyad bench iterations per round")
    p.add_argument("--out", default=os.path.join(pipeline.REPO, "docs", "mpq_frontier"),
                   help="table and plot prefix (.json, .csv, .png)")
    args = p.parse_args(argv)
    args.fracs = [float(v) for v in args.fracs.split(",")]
    args.ship = [b for b in args.ship.split(",") if b]
    if not os.access(args.dyad, os.X_OK):
        sys.exit(f"{args.dyad}: not found; build first (scripts/build.sh) or pass --dyad")
    torch.set_num_threads(1)
    t_start = time.time()
    calib = pipeline.calibration_batches()
    rows, ship_jobs, checks = [], [], {}
    for arch in args.arch.split(","):
        checks[arch] = frontier_for(arch, args, calib, rows, ship_jobs)
    if ship_jobs:
        test_x, test_y = data.load("test")
        for arch, budget, entry, cands, hand in ship_jobs:
            ship(arch, budget, entry, cands, args, calib, test_x, test_y, rows)
    log(f"latency: {args.rounds} rounds x {len(rows)} models")
    lat = bench_all(args.dyad, [r["path"] for r in rows], args.rounds, args.iters)
    load = os.getloadavg()
    for r in rows:
        r["latency_ms"] = lat[r["path"]]
        r["path"] = os.path.relpath(r["path"], pipeline.REPO) if r["path"].startswith(
            pipeline.REPO) else os.path.basename(r["path"])
    doc = {"generator": "/usr/bin/python3 -m models.fmnist.mpq_frontier "
                        + " ".join(argv if argv is not None else sys.argv[1:]),
           "cpu": "AMD EPYC (Zen 5 class), 2 vCPUs shared; dyad bench --threads 1",
           "load_average": [round(v, 2) for v in load],
           "latency": f"median of {args.rounds} rounds of dyad bench p50, {args.iters} iters",
           "latency_additivity": checks,
           "rows": rows}
    with open(args.out + ".json", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    keys = ["arch", "model", "method", "kind", "hand_made", "w4_layers", "layers",
            "weight_bytes", "bin_bytes", "bops", "objective", "top1", "latency_ms",
            "latency_table_ns", "budgets",
            "vs_hand_made"]
    with open(args.out + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for r in rows:
            w.writerow([" | ".join(r[k]) if k == "budgets" else r[k] for k in keys])
    plot(rows, args.out + ".png")
    log(f"wrote {args.out}.json, .csv, .png in {time.time() - t_start:.0f} s "
        f"(load average {load[0]:.2f})")


if __name__ == "__main__":
    sys.exit(main())
