"""Per-node times from an ONNX Runtime profile (`ort_run.mjs --profile PREFIX`
writes PREFIX_<date>.json, Chrome trace format): the median kernel time of
each node over the profiled runs, in run order, to set beside the per-step
table of `dyad bench`.

    /usr/bin/python3 -m bench.peers.ort_profile PROFILE.json [--skip N]

--skip drops each node's first N runs (the warm-up ones; ort_run.mjs profiles
warm-up and timed runs alike)."""
import argparse
import json
import statistics


def node_medians(events, skip=0):
    """[(node, op type, median us)] over the kernel-time events of each node."""
    times, ops = {}, {}
    for e in events:
        name = e.get("name", "")
        if e.get("cat") != "Node" or not name.endswith("_kernel_time"):
            continue
        node = name[: -len("_kernel_time")]
        times.setdefault(node, []).append(e["dur"])
        ops[node] = e.get("args", {}).get("op_name", "?")
    rows = []
    for node, durs in times.items():
        kept = durs[skip:] if len(durs) > skip else durs
        rows.append((node, ops[node], statistics.median(kept)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile")
    ap.add_argument("--skip", type=int, default=0)
    args = ap.parse_args()
    with open(args.profile) as f:
        rows = node_medians(json.load(f), args.skip)
    width = max((len(n) for n, _, _ in rows), default=4)
    for node, op, us in rows:
        print(f"{node:{width}s}  {op:24s} {us:9.1f}")
    print(f"{'total':{width}s}  {'':24s} {sum(us for _, _, us in rows):9.1f}")


if __name__ == "__main__":
    main()
