"""V:N:M pruning (N = 2): for every V x M block of a weight matrix choose the
4 kept columns and, per row, the 2 kept values (docs/vnm.md "Pruning").

Library (numpy only):

    from models.vnm import prune
    pruned, mask = prune.prune_vnm(w, v=64, m=8)                 # |w| scores, exact search
    pruned, mask = prune.prune_vnm(w, 64, 8, scores=s)           # e.g. Wanda / RIA scores
    prune.is_vnm(pruned, 64, 8)                                   # True

Command line:

    /usr/bin/python3 -m models.vnm.prune --in w.npy --v 64 --m 8 --out pruned.npy \\
        [--scores s.npy] [--method exact|greedy] [--packed w.vnm --bits 8]

`w` is [N, K] (PyTorch Linear layout) or a conv weight [O, KH, KW, C] (OHWI,
flattened to [O, KH*KW*C], the order dyad's im2col uses). The pruned array has
the input's shape and dtype. --packed writes the blob of pack.py (the input
must then hold integers in the int8 / int4 range, i.e. be already quantized).

Exact search (the VENOM pruner's rule): per block all C(M, 4) column subsets;
a subset's score is, summed over the block's rows, the sum of each row's 2
largest scores among the 4 columns; the best subset wins (ties: the first in
lexicographic order). Then each row keeps its 2 largest scores among the 4
(ties: the lower column). Greedy (the seed paper's description): the 4
columns with the largest score sums over the block, then the same per row.
Exact costs C(M, 4) passes: 70 at M = 8, 1820 at M = 16.

Not implemented: input/output channel permutations (docs/vnm.md explains how
they would be folded into neighbouring layers).
"""
import argparse
import itertools
import sys

import numpy as np

from models.vnm import pack


def _as_matrix(w):
    w = np.asarray(w)
    if w.ndim < 2:
        raise pack.VnmError(f"prune: the weight must have at least 2 dimensions, got shape {w.shape}")
    return w.reshape(w.shape[0], -1)


def _padded_blocks(x, v, m):
    """[N, K] -> [blocks, V, groups, M] zero padded (N to V, K to 2M)."""
    n, k = x.shape
    n_pad = -(-n // v) * v
    k_pad = -(-k // (2 * m)) * (2 * m)
    xp = np.zeros((n_pad, k_pad), np.float64)
    xp[:n, :k] = x
    return xp.reshape(n_pad // v, v, k_pad // m, m)


def _top2_sum(s):
    """Sum of the 2 largest entries along the last axis (of 4)."""
    s = np.sort(s, axis=-1)
    return s[..., -1] + s[..., -2]


def select_columns(scores_blocks, m, method="exact"):
    """Kept columns [blocks, groups, 4] for block scores [blocks, V, groups, M]."""
    if method == "greedy":
        col = scores_blocks.sum(axis=1)                          # [b, g, M]
        order = np.argsort(-col, axis=-1, kind="stable")[..., :4]
        return np.sort(order, axis=-1)
    if method != "exact":
        raise ValueError(f"prune: unknown method '{method}' (exact or greedy)")
    best = None
    best_score = None
    for subset in itertools.combinations(range(m), 4):
        score = _top2_sum(scores_blocks[..., list(subset)]).sum(axis=1)  # [b, g]
        if best is None:
            best = np.zeros(score.shape + (4,), np.int64) + np.array(subset)
            best_score = score
            continue
        better = score > best_score
        best[better] = subset
        best_score = np.where(better, score, best_score)
    return best


def prune_vnm(w, v, m, scores=None, method="exact"):
    """Prunes w to V:2:M. Returns (pruned, mask): w's shape and dtype, and a
    boolean mask of the kept entries. scores (same shape as w, >= 0) default
    to |w|; entries with equal scores are broken as the module doc says."""
    pack.layout(1, 1, v, m)  # checks V and M
    shape = np.shape(w)
    wm = _as_matrix(w)
    n, k = wm.shape
    s = np.abs(wm.astype(np.float64)) if scores is None else _as_matrix(scores).astype(np.float64)
    if s.shape != wm.shape:
        raise pack.VnmError(f"prune: scores have shape {np.shape(scores)}, the weight {shape}")
    if np.any(s < 0) or not np.all(np.isfinite(s)):
        raise pack.VnmError("prune: scores must be finite and >= 0")
    sb = _padded_blocks(s, v, m)                                 # [b, V, g, M]
    blocks, _, groups, _ = sb.shape
    kept = select_columns(sb, m, method)                         # [b, g, 4]
    idx = np.broadcast_to(kept[:, None], (blocks, v, groups, 4))
    sk = np.take_along_axis(sb, idx, axis=3)                     # [b, V, g, 4]
    top = np.sort(np.argsort(-sk, axis=-1, kind="stable")[..., :2], axis=-1)
    cols = np.take_along_axis(idx, top, axis=3)                  # [b, V, g, 2] offsets in the group
    mask_b = np.zeros(sb.shape, bool)
    np.put_along_axis(mask_b, cols, True, axis=3)
    mask = mask_b.reshape(blocks * v, groups * m)[:n, :k]
    pruned = np.where(mask, wm, np.zeros_like(wm)).astype(wm.dtype, copy=False)
    return pruned.reshape(shape), mask.reshape(shape)


def is_vnm(w, v, m):
    """True if w (2-D, or a conv weight flattened as prune_vnm does) satisfies V:2:M."""
    nz = _padded_blocks(_as_matrix(w) != 0, v, m) != 0
    return bool((nz.any(axis=1).sum(-1) <= 4).all() and (nz.sum(-1) <= 2).all())


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m models.vnm.prune", description=__doc__.split("\n\n")[0])
    ap.add_argument("--in", dest="inp", required=True, help="weight .npy ([N, K] or [O, KH, KW, C])")
    ap.add_argument("--v", type=int, required=True, help="rows per block (multiple of 8)")
    ap.add_argument("--m", type=int, required=True, help="columns per group (4..128)")
    ap.add_argument("--out", required=True, help="pruned weight .npy (same shape and dtype)")
    ap.add_argument("--scores", help="importance scores .npy (default |w|)")
    ap.add_argument("--method", default="exact", choices=("exact", "greedy"))
    ap.add_argument("--packed", help="also write the packed blob (integer weights only)")
    ap.add_argument("--bits", type=int, default=8, choices=(8, 4), help="value width of --packed")
    args = ap.parse_args(argv)
    try:
        w = np.load(args.inp)
        scores = np.load(args.scores) if args.scores else None
        pruned, mask = prune_vnm(w, args.v, args.m, scores, args.method)
        np.save(args.out, pruned)
        s = np.abs(_as_matrix(w).astype(np.float64)) if scores is None else _as_matrix(scores).astype(np.float64)
        kept = s[_as_matrix(mask)].sum() / max(s.sum(), 1e-300)
        print(f"{args.v}:2:{args.m}: kept {mask.sum()} of {mask.size} weights "
              f"({100.0 * mask.sum() / mask.size:.2f} %), {100.0 * kept:.2f} % of the total score")
        if args.packed:
            if not np.issubdtype(pruned.dtype, np.integer):
                raise pack.VnmError("--packed needs integer (quantized) weights; quantize after pruning")
            blob = pack.pack_vnm(_as_matrix(pruned), args.v, args.m, args.bits)
            with open(args.packed, "wb") as f:
                f.write(blob)
            n, k = _as_matrix(pruned).shape
            print(f"packed {n} x {k} int{args.bits}: {len(blob)} bytes (dense {n * k * args.bits // 8})")
    except (pack.VnmError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
