"""Packs a dense int8/int4 weight matrix that satisfies V:2:M into dyad's
V:N:M blob (docs/vnm.md "Packed layout"), and reads / checks such blobs.

Byte-identical to kernels/vnm_gemm/vnm_format.cc (vnm_pack, vnm_validate,
vnm_unpack): the same canonical choices and the same layout. numpy only.

    from models.vnm import pack
    blob = pack.pack_vnm(w_int8, v=64, m=8, value_bits=8)   # bytes
    pack.validate_vnm(blob, n, k, v, m, value_bits)          # "" or the error
    w = pack.unpack_vnm(blob, n, k, v, m, value_bits)        # np.int8 [n, k]
"""
import numpy as np

MAX_DIM = 1 << 24
MAX_V = 1024
MIN_M, MAX_M = 4, 128


class VnmError(ValueError):
    """A shape that is not a V:N:M shape, or a matrix that is not V:2:M."""


def _align64(x):
    return (x + 63) // 64 * 64


def layout(n, k, v, m, value_bits=8):
    """Sizes and offsets of the blob (vnm_layout). Raises VnmError."""
    if not 1 <= n <= MAX_DIM:
        raise VnmError(f"vnm: N = {n} is outside [1, {MAX_DIM}]")
    if not 1 <= k <= MAX_DIM:
        raise VnmError(f"vnm: K = {k} is outside [1, {MAX_DIM}]")
    if v < 8 or v > MAX_V or v % 8:
        raise VnmError(f"vnm: V = {v} must be a multiple of 8 in [8, {MAX_V}]")
    if not MIN_M <= m <= MAX_M:
        raise VnmError(f"vnm: M = {m} is outside [{MIN_M}, {MAX_M}]")
    if value_bits not in (8, 4):
        raise VnmError(f"vnm: value_bits = {value_bits} (must be 8 or 4)")
    n_pad = -(-n // v) * v
    k_pad = -(-k // (2 * m)) * (2 * m)
    groups = k_pad // m
    gps = groups // 2
    octets = n_pad // 8
    blocks = n_pad // v
    units = octets * gps
    values_bytes = units * (32 if value_bits == 8 else 16)
    positions_offset = _align64(values_bytes)
    positions_bytes = units * 8
    columns_offset = _align64(positions_offset + positions_bytes)
    columns_bytes = blocks * groups * 4
    return {
        "n_pad": n_pad, "k_pad": k_pad, "groups": groups, "group_pairs": gps,
        "octets": octets, "blocks": blocks,
        "values_offset": 0, "values_bytes": values_bytes,
        "positions_offset": positions_offset, "positions_bytes": positions_bytes,
        "columns_offset": columns_offset, "columns_bytes": columns_bytes,
        "total_bytes": columns_offset + columns_bytes,
    }


def _first_k_by_flag(flags, count):
    """Indices of the first `count` True entries along the last axis, then the
    lowest False ones, sorted ascending (the canonical completion)."""
    order = np.argsort(~flags, axis=-1, kind="stable")[..., :count]
    return np.sort(order, axis=-1)


def pack_vnm(w, v, m, value_bits=8):
    """The blob (bytes) of a dense [N, K] integer matrix satisfying V:2:M.

    Canonical where the matrix leaves freedom: a block's kept columns are its
    columns holding a nonzero, completed with the lowest other columns; a
    row's two positions are its nonzeros, completed with the lowest others.
    Raises VnmError naming rows and columns when the pattern is violated.
    """
    w = np.asarray(w)
    if w.ndim != 2:
        raise VnmError(f"vnm_pack: the weight must be 2-D [N, K], got shape {w.shape}")
    n, k = w.shape
    lay = layout(n, k, v, m, value_bits)
    lo, hi = (-8, 7) if value_bits == 4 else (-128, 127)
    wi = w.astype(np.int64)
    bad = np.argwhere((wi < lo) | (wi > hi))
    if bad.size:
        r, c = bad[0]
        raise VnmError(f"vnm_pack: w[{r}, {c}] = {wi[r, c]} is outside the int{value_bits} range")
    n_pad, k_pad, groups = lay["n_pad"], lay["k_pad"], lay["groups"]
    blocks, gps, octets = lay["blocks"], lay["group_pairs"], lay["octets"]
    wp = np.zeros((n_pad, k_pad), np.int64)
    wp[:n, :k] = wi
    wb = wp.reshape(blocks, v, groups, m)                       # [b, row, g, c]
    nz = wb != 0
    col_nz = nz.any(axis=1)                                     # [b, g, c]
    kept = _first_k_by_flag(col_nz, 4)                          # [b, g, 4]
    wk = np.take_along_axis(wb, np.broadcast_to(kept[:, None], (blocks, v, groups, 4)), axis=3)
    nzk = wk != 0                                               # [b, row, g, 4]
    col_bad = col_nz.sum(-1) > 4                                # [b, g]
    row_bad = (nzk.sum(-1) > 2).any(axis=1)                     # [b, g]
    if col_bad.any() or row_bad.any():
        b, g = np.argwhere(col_bad | row_bad)[0]
        if col_bad[b, g]:
            cols = [int(g * m + c) for c in np.flatnonzero(col_nz[b, g])]
            raise VnmError(
                f"vnm_pack: rows {b * v}..{b * v + v - 1}, group {g} (columns {g * m}..{g * m + m - 1}): "
                f"nonzeros in {len(cols)} columns ({', '.join(map(str, cols))}); V:2:M allows 4")
        r = int(np.flatnonzero(nzk[b, :, g].sum(-1) > 2)[0])
        cols = [int(g * m + c) for c in np.flatnonzero(nz[b, r, g])]
        raise VnmError(f"vnm_pack: row {b * v + r}, group {g}: {len(cols)} nonzeros "
                       f"(columns {', '.join(map(str, cols))}); V:2:M allows 2")
    pos = _first_k_by_flag(nzk, 2)                              # [b, row, g, 2]
    vals = np.take_along_axis(wk, pos, axis=3)                  # [b, row, g, 2]
    # Values [octet][gp][8 rows][half][j] and positions [octet][gp][8 rows].
    vals = vals.reshape(octets, 8, gps, 2, 2).transpose(0, 2, 1, 3, 4).reshape(octets * gps, 32)
    pos = pos.reshape(octets, 8, gps, 2, 2).transpose(0, 2, 1, 3, 4)
    shifts = np.array([[0, 2], [4, 6]])
    pos_bytes = (pos << shifts).sum(axis=(-1, -2)).astype(np.uint8).reshape(-1)
    if value_bits == 8:
        val_bytes = vals.astype(np.int8).view(np.uint8).reshape(-1)
    else:
        nib = (vals & 15).astype(np.uint8)
        val_bytes = (nib[:, :16] | (nib[:, 16:] << 4)).reshape(-1)
    blob = np.zeros(lay["total_bytes"], np.uint8)
    blob[:lay["values_bytes"]] = val_bytes
    po = lay["positions_offset"]
    blob[po:po + lay["positions_bytes"]] = pos_bytes
    co = lay["columns_offset"]
    blob[co:co + lay["columns_bytes"]] = kept.astype(np.uint8).reshape(-1)
    return blob.tobytes()


def _sections(blob, lay, value_bits):
    b = np.frombuffer(blob, np.uint8)
    vals = b[:lay["values_bytes"]]
    if value_bits == 8:
        vals = vals.view(np.int8).astype(np.int64).reshape(-1, 32)
    else:
        u = vals.reshape(-1, 16).astype(np.int64)
        nib = np.concatenate([u & 15, u >> 4], axis=1)
        vals = np.where(nib >= 8, nib - 16, nib)
    po, co = lay["positions_offset"], lay["columns_offset"]
    pos = b[po:po + lay["positions_bytes"]].astype(np.int64)
    cols = b[co:co + lay["columns_bytes"]].astype(np.int64)
    return b, vals, pos, cols


def _decode(blob, n, k, v, m, value_bits):
    """Per padded row and group: absolute columns [n_pad, G, 2], values, positions."""
    lay = layout(n, k, v, m, value_bits)
    b, vals, pos, cols = _sections(blob, lay, value_bits)
    octets, gps, groups, n_pad = lay["octets"], lay["group_pairs"], lay["groups"], lay["n_pad"]
    # [unit, 32] -> [octet, gp, row, half, j] -> [row_abs, g, j]
    vals = vals.reshape(octets, gps, 8, 2, 2).transpose(0, 2, 1, 3, 4).reshape(n_pad, groups, 2)
    pb = pos.reshape(octets, gps, 8).transpose(0, 2, 1).reshape(n_pad, gps, 1)
    p = np.stack([(pb >> 0) & 3, (pb >> 2) & 3, (pb >> 4) & 3, (pb >> 6) & 3], axis=-1)  # [row, gp, 1, 4]
    p = p.reshape(n_pad, gps, 2, 2).reshape(n_pad, groups, 2)
    kept = cols.reshape(lay["blocks"], groups, 4)
    kept_rows = np.repeat(kept, v, axis=0)                      # [row, g, 4]
    absc = np.arange(groups)[None, :, None] * m + np.take_along_axis(kept_rows, np.minimum(p, 3), axis=2)
    return lay, b, vals, p, kept, absc


def validate_vnm(blob, n, k, v, m, value_bits=8):
    """"" if the blob is valid for the shape, else what is wrong (the checks
    and messages of vnm_validate)."""
    try:
        lay = layout(n, k, v, m, value_bits)
    except VnmError as e:
        return str(e)
    if len(blob) != lay["total_bytes"]:
        return (f"vnm: the packed data has {len(blob)} bytes; N = {n}, K = {k}, V = {v}, M = {m}, "
                f"int{value_bits} needs {lay['total_bytes']}")
    lay, b, vals, p, kept, absc = _decode(blob, n, k, v, m, value_bits)
    for start, end, name in ((lay["values_bytes"], lay["positions_offset"], "values"),
                             (lay["positions_offset"] + lay["positions_bytes"], lay["columns_offset"], "positions")):
        nzb = np.flatnonzero(b[start:end])
        if nzb.size:
            i = start + int(nzb[0])
            return f"vnm: padding byte {i} after the {name} section is {b[i]}, not 0"
    groups = lay["groups"]
    for blk, g in np.argwhere((kept >= m).any(-1) | ~(np.diff(kept, axis=-1) > 0).all(-1)):
        c = kept[blk, g]
        where = f"rows {blk * v}..{blk * v + v - 1}, group {g} (columns {g * m}..{g * m + m - 1})"
        for x in c:
            if x >= m:
                return f"vnm: {where}: kept column offset {x} is not below M = {m}"
        return (f"vnm: {where}: kept column offsets ({c[0]}, {c[1]}, {c[2]}, {c[3]}) "
                "are not 4 distinct ascending offsets")
    rows = np.arange(lay["n_pad"])[:, None, None]
    pad_value = (vals != 0) & ((rows >= n) | (absc >= k))
    bad_pos = p[..., 0] >= p[..., 1]
    bad = np.argwhere(bad_pos[..., None] | pad_value)
    if bad.size:
        r, g, j = bad[0]
        if bad_pos[r, g]:
            return (f"vnm: row {r}, group {g}: positions ({p[r, g, 0]}, {p[r, g, 1]}) "
                    "are not 2 distinct ascending indices")
        return (f"vnm: row {r}, column {absc[r, g, j]}: value {vals[r, g, j]} in padding "
                f"(N = {n}, K = {k}) must be 0")
    del groups
    return ""


def unpack_vnm(blob, n, k, v, m, value_bits=8):
    """The dense np.int8 [n, k] matrix of a valid blob."""
    error = validate_vnm(blob, n, k, v, m, value_bits)
    if error:
        raise VnmError(error)
    lay, _, vals, _, _, absc = _decode(blob, n, k, v, m, value_bits)
    out = np.zeros((lay["n_pad"], lay["k_pad"]), np.int8)
    rows = np.broadcast_to(np.arange(lay["n_pad"])[:, None, None], absc.shape)
    out[rows, absc] = vals
    return out[:n, :k].copy()
