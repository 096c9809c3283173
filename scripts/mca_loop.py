#!/usr/bin/python3
"""Cuts one inner loop out of an AArch64 assembly file, for llvm-mca
(scripts/mca_arm64.sh, scripts/mca_arm64_elementwise.sh).

The function is the first whose label line matches FUNCTION (a regex searched
in mangled names); the loop is the smallest block between a label and a
backward branch to it that holds COUNT instructions matching INSN (--count), or
any instruction MARKER (--marker). Instructions named by --drop are left out.

Usage: mca_loop.py ASM OUT FUNCTION (--count INSN COUNT | --marker MARKER) [--drop A,B]
"""
import argparse
import re
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("asm")
    ap.add_argument("out")
    ap.add_argument("function")
    ap.add_argument("--count", nargs=2, metavar=("INSN", "COUNT"))
    ap.add_argument("--marker")
    ap.add_argument("--drop", default="")
    args = ap.parse_args()

    lines = open(args.asm).read().split("\n")
    start = next(i for i, l in enumerate(lines) if re.match(r"^_Z\S*:$", l) and re.search(args.function, l))
    end = next(i for i in range(start, len(lines)) if lines[i].strip().startswith(".cfi_endproc"))
    body = lines[start:end]
    labels = {m.group(1): i for i, l in enumerate(body) if (m := re.match(r"^(\.L\w+):", l))}

    def wanted(loop):
        if args.count:
            insn, count = args.count[0], int(args.count[1])
            return sum(bool(re.fullmatch(insn, x.split()[0])) for x in loop) == count
        return any(x.split()[0] == args.marker for x in loop)

    best = None
    for i, l in enumerate(body):
        m = re.match(r"\s+(b\.?[a-z]{2}|b|cbnz|cbz)\s+.*?(\.L\w+)\s*$", l)
        if m and m.group(2) in labels and labels[m.group(2)] < i:
            loop = [x for x in body[labels[m.group(2)] + 1 : i + 1] if x.startswith("\t") and not x.startswith("\t.")]
            if wanted(loop) and (best is None or len(loop) < len(best)):
                best = loop
    if best is None:
        what = f"{args.count[1]} {args.count[0]}" if args.count else args.marker
        sys.exit(f"no loop with {what} in {args.function} ({args.asm})")
    dropped = set(filter(None, args.drop.split(",")))
    best = [x for x in best if x.split()[0] not in dropped]
    open(args.out, "w").write("\n".join(best) + "\n")
    if args.count:
        loads = sum(x.split()[0].startswith("ld") for x in best)
        print(f"inner loop: {len(best)} instructions, {args.count[1]} {args.count[0]}, {loads} load instructions")


if __name__ == "__main__":
    main()
