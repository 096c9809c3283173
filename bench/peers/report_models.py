"""Markdown table of a scripts/bench_models.sh run (its results.jsonl).

Each line of results.jsonl is one measurement: {"round", "model", "threads",
"runtime" (dyad | ort-int8 | ort-fp32), "median_ms"}. For every model and
thread count the table gives the median over rounds of each runtime's median,
and the median over rounds of the same-round ratios peer / dyad (above 1: dyad
is faster), so a slow round on the shared machine moves both sides together.
"""
import argparse
import json
import statistics
import sys
from collections import defaultdict

PEERS = ("ort-int8", "ort-fp32")


def table(lines):
    runs = defaultdict(dict)  # (model, threads) -> {round: {runtime: ms}}
    for rec in lines:
        runs[(rec["model"], rec["threads"])].setdefault(rec["round"], {})[rec["runtime"]] = rec["median_ms"]
    out = ["| model | threads | dyad ms | ORT int8 ms | ORT fp32 ms | ORT int8 / dyad | ORT fp32 / dyad | rounds |",
           "|---|---|---|---|---|---|---|---|"]
    for (model, threads), rounds in sorted(runs.items()):
        def med(runtime):
            values = [r[runtime] for r in rounds.values() if runtime in r]
            return f"{statistics.median(values):.2f}" if values else "-"

        def ratio(peer):
            values = [r[peer] / r["dyad"] for r in rounds.values() if peer in r and "dyad" in r]
            if not values:
                return "-"
            return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"
        out.append(f"| {model} | {threads} | {med('dyad')} | {med('ort-int8')} | {med('ort-fp32')} | "
                   f"{ratio('ort-int8')} | {ratio('ort-fp32')} | {len(rounds)} |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    args = ap.parse_args(argv)
    with open(args.results) as f:
        print(table([json.loads(line) for line in f if line.strip()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
