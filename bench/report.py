"""Runs dyad_bench and turns its medians into the tables and plot of docs/performance.md.

    /usr/bin/python3 bench/report.py --bench build/bench/dyad_bench --out-dir docs/perf
    /usr/bin/python3 bench/report.py --from-json docs/perf/bench.json --out-dir docs/perf

Benchmark names are "<family>/<impl>/<shape>[/threads:<n>]" (gemm/, conv/, depthwise/,
add/, max_pool/, average_pool/, global_average_pool/) or "vnm/<shape>/<config>/<pattern>". Every ratio compares two entries of
the same run: dense families against oneDNN u8s8s32 (at its native ISA, or the cap in
DYAD_BENCH_ONEDNN_ISA, e.g. avx2: bench/common/onednn_setup.h; the kernels line under
each table names oneDNN's implementation) or, where oneDNN has no counterpart, against dyad's
reference kernel; V:N:M patterns against the dense kernel; 2 threads against 1 thread.
Writes <out-dir>/bench.json (the raw Google Benchmark output), tables.md and ratios.png.
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import OrderedDict

PEER = "onednn_u8s8s32"
DEFAULT_FILTER = r"^(gemm|conv|depthwise|add|max_pool|average_pool|global_average_pool|vnm)/"
REFERENCE = "dyad_ref"   # the peer of families oneDNN has no counterpart for


def run_bench(binary, pattern, repetitions, min_time, out_json):
    cmd = [binary, f"--benchmark_filter={pattern}", f"--benchmark_repetitions={repetitions}",
           "--benchmark_report_aggregates_only=true", f"--benchmark_min_time={min_time}",
           "--benchmark_format=json", f"--benchmark_out={out_json}", "--benchmark_out_format=json"]
    print("running:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def load_medians(path):
    """{run_name: (time in ms, GOP/s or None, label)} for the median aggregates."""
    with open(path) as f:
        doc = json.load(f)
    medians = OrderedDict()
    for b in doc["benchmarks"]:
        if b.get("aggregate_name") != "median" or b.get("error_occurred"):
            continue
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        # Multi-threaded runs are timed in real time, single-thread ones in CPU time
        # (the benchmark files say why); the name tells which.
        key = "real_time" if "/real_time" in b["run_name"] or "threads:1" not in b["run_name"] else "cpu_time"
        name = b["run_name"].replace("/real_time", "")
        medians[name] = (b[key] * scale, b.get("GOP/s"), b.get("label", ""))
    return doc.get("context", {}), medians


def split_dense(name):
    m = re.match(r"^([a-z_]+)/([^/]+)/(.+?)(?:/threads:(\d+))?$", name)
    if not m or m.group(1) == "vnm":
        return None
    return m.group(1), m.group(2), m.group(3), int(m.group(4) or 1)


def fmt_gops(g):
    """The benchmarks' GOP/s counter is already in GOP/s."""
    return "-" if g is None else (f"{g:.0f} GOP/s" if g >= 10 else f"{g:.1f} GOP/s")


def dense_tables(medians):
    """One markdown table per family: rows = (shape, threads), columns = impls."""
    families = OrderedDict()
    for name, value in medians.items():
        parts = split_dense(name)
        if not parts:
            continue
        family, impl, shape, threads = parts
        fam = families.setdefault(family, OrderedDict())
        fam.setdefault((shape, threads), OrderedDict())[impl] = value
    out, ratios = [], {}
    for family, rows in families.items():
        impls = []
        for row in rows.values():
            for impl in row:
                if impl not in impls:
                    impls.append(impl)
        peer = PEER if PEER in impls else (REFERENCE if REFERENCE in impls else None)
        out.append(f"### {family}\n")
        out.append("Median time (ms), GOP/s" + (f", and ratio to {peer} in the same run" if peer else "")
                   + "; for 2 threads also the speedup over 1 thread.\n")
        out.append("| shape | threads | " + " | ".join(impls) + " |")
        out.append("| --- | --- |" + " --- |" * len(impls))
        for (shape, threads), row in rows.items():
            cells = []
            for impl in impls:
                if impl not in row:
                    cells.append("-")
                    continue
                ms, gops, _ = row[impl]
                cell = f"{ms:.3g} ms, {fmt_gops(gops)}"
                if peer and peer in row and impl != peer:
                    r = row[peer][0] / ms
                    ratios[(family, impl, shape, threads)] = r
                    cell += f", **{r:.2f}x**"
                if threads > 1 and (shape, 1) in rows and impl in rows[(shape, 1)]:
                    cell += f" ({rows[(shape, 1)][impl][0] / ms:.2f}x 1T)"
                cells.append(cell)
            out.append(f"| {shape} | {threads} | " + " | ".join(cells) + " |")
        labels = OrderedDict()
        for row in rows.values():
            for impl, (_, _, label) in row.items():
                if label:
                    labels.setdefault(impl, label)
        out.append("\nKernels: " + "; ".join(f"{k} = `{v}`" for k, v in labels.items()) + "\n")
    return "\n".join(out), ratios


def vnm_table(medians):
    rows = OrderedDict()
    for name, value in medians.items():
        m = re.match(r"^vnm/([^/]+)/([^/]+)/([^/]+)$", name)
        if m:
            rows.setdefault((m.group(1), m.group(2)), OrderedDict())[m.group(3)] = value
    if not rows:
        return "", {}
    patterns = []
    for row in rows.values():
        for p in row:
            if p not in patterns:
                patterns.append(p)
    out = ["### vnm\n", "Median time (ms) and speedup over dyad's dense kernel in the same run.\n",
           "| shape | config | " + " | ".join(patterns) + " |", "| --- | --- |" + " --- |" * len(patterns)]
    ratios = {}
    for (shape, config), row in rows.items():
        cells = []
        for p in patterns:
            if p not in row:
                cells.append("-")
                continue
            ms = row[p][0]
            cell = f"{ms:.3g} ms"
            if p != "dense" and "dense" in row:
                r = row["dense"][0] / ms
                ratios[(shape, config, p)] = r
                cell += f", **{r:.2f}x**"
            cells.append(cell)
        out.append(f"| {shape} | {config} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n", ratios


def plot(dense_ratios, vnm_ratios, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for family in ("gemm", "conv", "depthwise"):
        items = {k: v for k, v in dense_ratios.items() if k[0] == family and k[3] == 1}
        if items:
            isa = os.environ.get("DYAD_BENCH_ONEDNN_ISA") or "native"
            panels.append((f"{family}: speed vs oneDNN u8s8s32 ({isa}), 1 thread", items,
                           lambda k: k[1], lambda k: k[2]))
    if vnm_ratios:
        panels.append(("vnm: sparse / dense dyad, 1 thread", vnm_ratios,
                       lambda k: f"{k[1]} {k[2]}", lambda k: k[0]))
    if not panels:
        return
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 3.6 * len(panels)), squeeze=False)
    for ax, (title, items, series_of, group_of) in zip(axes[:, 0], panels):
        groups, series = [], []
        for k in items:
            if group_of(k) not in groups:
                groups.append(group_of(k))
            if series_of(k) not in series:
                series.append(series_of(k))
        width = 0.8 / len(series)
        for i, s in enumerate(series):
            xs = [g + i * width for g in range(len(groups))]
            ys = [next((v for k, v in items.items() if series_of(k) == s and group_of(k) == grp), 0)
                  for grp in groups]
            ax.bar(xs, ys, width, label=s)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))])
        ax.set_xticklabels([g.replace("_", "\n", 1) for g in groups], fontsize=7)
        ax.set_yscale("log", base=2)
        ax.set_ylabel("speed ratio (log scale)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, ncol=min(len(series), 5))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print("wrote", path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", help="path to dyad_bench (runs it)")
    ap.add_argument("--from-json", help="use an earlier Google Benchmark JSON output instead")
    ap.add_argument("--filter", default=DEFAULT_FILTER)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--min-time", default="0.2")
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args(argv)
    if bool(args.bench) == bool(args.from_json):
        ap.error("give exactly one of --bench and --from-json")
    os.makedirs(args.out_dir, exist_ok=True)
    raw = os.path.join(args.out_dir, "bench.json")
    if args.bench:
        run_bench(args.bench, args.filter, args.repetitions, args.min_time, raw)
    else:
        raw = args.from_json
    context, medians = load_medians(raw)
    if not medians:
        sys.exit(f"report.py: no median aggregates in {raw}")
    dense_md, dense_ratios = dense_tables(medians)
    vnm_md, vnm_ratios = vnm_table(medians)
    header = (f"Measured {context.get('date', '?')} on {context.get('host_name', '?')}, "
              f"{context.get('num_cpus', '?')} CPUs; medians of {args.repetitions} repetitions.\n")
    with open(os.path.join(args.out_dir, "tables.md"), "w") as f:
        f.write(header + "\n" + dense_md + "\n" + vnm_md)
    print("wrote", os.path.join(args.out_dir, "tables.md"))
    plot(dense_ratios, vnm_ratios, os.path.join(args.out_dir, "ratios.png"))


if __name__ == "__main__":
    main()
