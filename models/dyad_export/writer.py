"""Writes a dyad model: the JSON graph plus the weights .bin (docs/format.md)."""
import json
import os

import numpy as np

ALIGN = 64
DTYPE_RANGE = {
    "int4": (-8, 7), "uint4": (0, 15), "int8": (-128, 127), "uint8": (0, 255),
    "int16": (-(1 << 15), (1 << 15) - 1), "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}
_NUMPY = {"int8": "<i1", "uint8": "<u1", "int16": "<i2", "int32": "<i4", "int64": "<i8"}


def fnv1a64(data):
    """FNV-1a 64-bit hash of a bytes object."""
    h = 0xcbf29ce484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def pack_elements(dtype, values):
    """Packs integer values (any shape, row-major) into the file's storage bytes.

    int4/uint4 go two per byte, low nibble first; an odd count leaves the last
    high nibble 0. Values outside the dtype's range raise ValueError.
    """
    flat = np.asarray(values).reshape(-1).astype(np.int64)
    lo, hi = DTYPE_RANGE[dtype]
    if flat.size and (flat.min() < lo or flat.max() > hi):
        raise ValueError(f"{dtype} values out of range [{lo}, {hi}]: "
                         f"min {flat.min()}, max {flat.max()}")
    if dtype in ("int4", "uint4"):
        nib = (flat & 0xF).astype(np.uint8)
        if nib.size % 2:
            nib = np.concatenate([nib, np.zeros(1, np.uint8)])
        return (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8).tobytes()
    return flat.astype(_NUMPY[dtype]).tobytes()


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


class ModelWriter:
    """Collects tensors and nodes, then writes `<name>.json` and `<name>.bin`."""

    def __init__(self, name, metadata=None):
        self.name = name
        self.metadata = dict(metadata or {})
        self.inputs, self.outputs = [], []
        self.tensors, self.nodes = [], []
        self._names = set()
        self._blob = bytearray()

    def _check_new(self, name):
        if name in self._names:
            raise ValueError(f"tensor {name!r} defined twice")
        self._names.add(name)

    @staticmethod
    def _quant(desc, scale, zero_point, axis):
        if scale is not None:
            s = np.atleast_1d(np.asarray(scale, dtype=np.float64))
            desc["scale"] = float(s[0]) if np.ndim(scale) == 0 else [float(x) for x in s]
        if zero_point is not None:
            desc["zero_point"] = (int(zero_point) if np.ndim(zero_point) == 0
                                  else [int(z) for z in np.asarray(zero_point).reshape(-1)])
        if axis is not None:
            desc["axis"] = int(axis)

    def add_activation(self, name, dtype, shape=None, scale=None, zero_point=0, axis=None):
        self._check_new(name)
        desc = {"name": name, "dtype": dtype}
        if shape is not None:
            desc["shape"] = [int(d) for d in shape]
        self._quant(desc, scale, zero_point, axis)
        self.tensors.append(desc)

    def add_constant(self, name, dtype, values, scale=None, zero_point=None, axis=None,
                     sparsity=None):
        """A constant stored in the weights file at the next 64-byte aligned offset.

        sparsity=(v, m): store a fully_connected / conv2d weight V:2:M sparse
        (docs/format.md "Sparse weights"); `values` (int8 / int4, shape [O, ...])
        must already satisfy the pattern (models.vnm.prune.prune_vnm)."""
        self._check_new(name)
        values = np.asarray(values)
        if sparsity is None:
            packed = pack_elements(dtype, values)
        else:
            from models.vnm import pack as vnm_pack
            v, m = sparsity
            packed = vnm_pack.pack_vnm(values.reshape(values.shape[0], -1), v, m,
                                       4 if dtype == "int4" else 8)
        pad = (-len(self._blob)) % ALIGN
        self._blob.extend(b"\0" * pad)
        offset = len(self._blob)
        self._blob.extend(packed)
        desc = {"name": name, "dtype": dtype, "shape": [int(d) for d in values.shape]}
        self._quant(desc, scale, zero_point, axis)
        if sparsity is not None:
            desc["sparsity"] = {"pattern": "vnm", "v": int(sparsity[0]), "n": 2,
                                "m": int(sparsity[1])}
        desc["data"] = {"offset": offset, "bytes": len(packed)}
        self.tensors.append(desc)

    def add_node(self, name, op, inputs, outputs, attrs=None):
        node = {"name": name, "op": op, "inputs": list(inputs), "outputs": list(outputs)}
        if attrs:
            node["attrs"] = _jsonable(attrs)
        self.nodes.append(node)

    def document(self, weights_file):
        sparse = any("sparsity" in t for t in self.tensors)  # a 1.1 field
        doc = {"format": "dyad", "version": "1.1" if sparse else "1.0", "name": self.name,
               "metadata": _jsonable(self.metadata)}
        if self._blob:
            doc["weights"] = {"file": weights_file, "bytes": len(self._blob),
                              "fnv1a64": f"{fnv1a64(bytes(self._blob)):016x}"}
        doc.update({"inputs": self.inputs, "outputs": self.outputs,
                    "tensors": self.tensors, "nodes": self.nodes})
        return doc

    def write(self, json_path):
        """Writes the JSON file and, if any constant uses it, the .bin beside it."""
        base = os.path.splitext(os.path.basename(json_path))[0]
        weights_file = base + ".bin"
        doc = self.document(weights_file)
        if self._blob:
            with open(os.path.join(os.path.dirname(json_path) or ".", weights_file), "wb") as f:
                f.write(bytes(self._blob))
        with open(json_path, "w") as f:
            f.write(format_json(doc))
            f.write("\n")
        return doc


def format_json(doc):
    """JSON with one tensor / node per line: readable and diff-friendly."""
    lines = ["{"]
    keys = list(doc.keys())
    for i, k in enumerate(keys):
        comma = "," if i + 1 < len(keys) else ""
        v = doc[k]
        if k in ("tensors", "nodes"):
            lines.append(f"  {json.dumps(k)}: [")
            for j, item in enumerate(v):
                c = "," if j + 1 < len(v) else ""
                lines.append("    " + json.dumps(item, separators=(", ", ": ")) + c)
            lines.append("  ]" + comma)
        elif k == "metadata":
            lines.append(f"  {json.dumps(k)}: " + _format_metadata(v) + comma)
        else:
            lines.append(f"  {json.dumps(k)}: {json.dumps(v)}{comma}")
    lines.append("}")
    return "\n".join(lines)


def _format_metadata(meta):
    parts = []
    for k, v in meta.items():
        if k == "samples":
            items = [json.dumps(s, separators=(",", ":")) for s in v]
            parts.append(f'    "samples": [\n      ' + ",\n      ".join(items) + "\n    ]")
        else:
            parts.append(f"    {json.dumps(k)}: {json.dumps(v)}")
    return "{\n" + ",\n".join(parts) + "\n  }" if parts else "{}"
