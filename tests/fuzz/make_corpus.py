#!/usr/bin/python3
"""Writes the committed seed corpora in tests/fuzz/corpus/ (run from the repo root).

fuzz_model_load: flag byte + minified model JSON + NUL + weights (layout in
fuzz_model_load.cc), from the shipped example and small Fashion-MNIST models.
fuzz_npy: a few small .npy files, one per dtype and header version, and
the inputs that once crashed it.
fuzz_graph: a few fixed pseudo-random byte strings (the bytes only steer the
graph builder, so any bytes are valid seeds).
"""
import io
import json
import pathlib
import random

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"


def model_seed(json_path, flags):
    model = json.loads((ROOT / json_path).read_text())
    model.pop("metadata", None)  # samples and provenance: large, not read by the loader
    text = json.dumps(model, separators=(",", ":")).encode()
    weights = b""
    if "weights" in model:
        weights = (ROOT / json_path).with_name(model["weights"]["file"]).read_bytes()
    return bytes([flags]) + text + (b"\0" + weights if weights else b"")


def main():
    seeds = {
        "tiny_fc": ("models/examples/tiny_fc.json", 0),
        "tiny_fc_fuzz_inputs": ("models/examples/tiny_fc.json", 2 | 4),
        "tiny_cnn": ("models/examples/tiny_cnn.json", 1),
        "tiny_cnn_fuzz_inputs_2_threads": ("models/examples/tiny_cnn.json", 1 | 2 | 4),
        "resnet_mixed": ("models/fmnist/resnet_mixed.json", 1 | 2),
    }
    out = CORPUS / "fuzz_model_load"
    out.mkdir(parents=True, exist_ok=True)
    for name, (path, flags) in seeds.items():
        (out / name).write_bytes(model_seed(path, flags))

    out = CORPUS / "fuzz_npy"
    out.mkdir(parents=True, exist_ok=True)
    arrays = {
        "i1_2x3": np.arange(-3, 3, dtype=np.int8).reshape(2, 3),
        "u1_4": np.arange(4, dtype=np.uint8),
        "i2_2x2": np.array([[-32768, 1], [2, 32767]], dtype="<i2"),
        "i4_1x2x2": np.arange(4, dtype="<i4").reshape(1, 2, 2),
        "i8_0d": np.array(7, dtype="<i8"),
        "f4_3": np.array([0.5, -1.0, 3.25], dtype="<f4"),
        "f8_empty": np.zeros((0, 3), dtype="<f8"),
    }
    for name, array in arrays.items():
        buf = io.BytesIO()
        np.save(buf, array)
        (out / name).write_bytes(buf.getvalue())
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arrays["i1_2x3"], version=(2, 0))
    (out / "i1_2x3_v2").write_bytes(buf.getvalue())
    # A crash fuzz_npy found (CI, 2026-12-07): a zero dimension after
    # dimensions whose product overflows int64. Kept so every run retries it.
    header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 200057591150, 20005759, 0, 2), }"
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    (out / "zero_dim_after_overflow").write_bytes(
        b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header)

    out = CORPUS / "fuzz_graph"
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261206)
    for size in (16, 64, 256, 1024):
        (out / f"random_{size}").write_bytes(bytes(rng.randrange(256) for _ in range(size)))


if __name__ == "__main__":
    main()
