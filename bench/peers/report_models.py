"""Markdown table of a scripts/bench_models.sh run (its results.jsonl), plus a
JSON summary and a plot of the ratios.

Each line of results.jsonl is one measurement: {"round", "model", "threads",
"runtime" (dyad | dyad-<variant> | ort-int8 | ort-fp32), "median_ms"}. For every
model and thread count the table gives the median over rounds of each
runtime's median, and the median over rounds of the same-round ratios
ONNX Runtime / dyad runtime (above 1: dyad is faster), so a slow round on the
shared machine moves both sides together.
"""
import argparse
import json
import statistics
import sys
from collections import defaultdict

PEERS = ("ort-int8", "ort-fp32")


def summarize(lines):
    """[{model, threads, rounds, ms: {runtime: median}, ratios: {"peer/dyad-runtime": [median, lo, hi]}}]"""
    runs = defaultdict(dict)  # (model, threads) -> {round: {runtime: ms}}
    for rec in lines:
        runs[(rec["model"], rec["threads"])].setdefault(rec["round"], {})[rec["runtime"]] = rec["median_ms"]
    out = []
    for (model, threads), rounds in sorted(runs.items()):
        runtimes = sorted({rt for r in rounds.values() for rt in r})
        ms = {rt: statistics.median([r[rt] for r in rounds.values() if rt in r]) for rt in runtimes}
        ratios = {}
        for peer in PEERS:
            for mine in (rt for rt in runtimes if rt.startswith("dyad")):
                values = [r[peer] / r[mine] for r in rounds.values() if peer in r and mine in r]
                if values:
                    ratios[f"{peer}/{mine}"] = [statistics.median(values), min(values), max(values)]
        out.append({"model": model, "threads": threads, "rounds": len(rounds), "ms": ms, "ratios": ratios})
    return out


def table(summary):
    mine = sorted({rt for s in summary for rt in s["ms"] if rt.startswith("dyad")})
    head = ["model", "threads"] + [f"{rt} ms" for rt in mine] + ["ORT int8 ms", "ORT fp32 ms"]
    head += [f"ORT int8 / {rt}" for rt in mine] + ["ORT fp32 / dyad", "rounds"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summary:
        def ms(rt):
            return f"{s['ms'][rt]:.2f}" if rt in s["ms"] else "-"

        def ratio(key):
            r = s["ratios"].get(key)
            return f"{r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f})" if r else "-"
        row = [s["model"], str(s["threads"])] + [ms(rt) for rt in mine] + [ms("ort-int8"), ms("ort-fp32")]
        row += [ratio(f"ort-int8/{rt}") for rt in mine] + [ratio("ort-fp32/dyad"), str(s["rounds"])]
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def plot(summary, path, cpu):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = [f"{s['model']}\n{s['threads']} thread{'s' if s['threads'] > 1 else ''}" for s in summary]
    keys = sorted({k for s in summary for k in s["ratios"] if k.startswith("ort-int8/")})
    width = 0.8 / max(1, len(keys))
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(summary)), 4))
    for i, key in enumerate(keys):
        xs = [j + (i - (len(keys) - 1) / 2) * width for j in range(len(summary))]
        ys = [s["ratios"].get(key, [0])[0] for s in summary]
        ax.bar(xs, ys, width, label=key.replace("ort-int8/", "ONNX Runtime int8 / "))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(summary)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("ONNX Runtime int8 time / dyad time\n(above 1: dyad faster)")
    ax.set_title(f"Whole models, batch 1 ({cpu})" if cpu else "Whole models, batch 1", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--json", help="write the summary here")
    ap.add_argument("--plot", help="write a PNG of the ORT int8 / dyad ratios here")
    ap.add_argument("--cpu", default="", help="CPU name for the plot title")
    args = ap.parse_args(argv)
    with open(args.results) as f:
        summary = summarize([json.loads(line) for line in f if line.strip()])
    print(table(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": args.cpu, "results": summary}, f, indent=1)
    if args.plot:
        plot(summary, args.plot, args.cpu)
    return 0


if __name__ == "__main__":
    sys.exit(main())
