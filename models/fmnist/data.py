"""Fashion-MNIST loader for the idx .gz files installed by dataset-fashion-mnist.

No downloads: the files are read from /usr/share/datasets/fashion-mnist (or the
folder in the DYAD_FMNIST_DIR environment variable).
"""
import gzip
import os
import struct

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path):
    """Reads an idx file (optionally gzip'ed) of unsigned bytes into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise ValueError(f"{path}: too short for an idx header")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file (magic {raw[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    count = int(np.prod(dims))
    body = raw[4 + 4 * ndim:]
    if len(body) != count:
        raise ValueError(f"{path}: expected {count} bytes of data, found {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims).copy()   # writable


def load(split, data_dir=None):
    """Returns (images uint8 [N, 28, 28], labels int64 [N]) for split 'train' or 'test'."""
    if split not in _FILES:
        raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")
    data_dir = data_dir or os.environ.get("DYAD_FMNIST_DIR", DEFAULT_DIR)
    img_name, lbl_name = _FILES[split]
    images = read_idx(os.path.join(data_dir, img_name))
    labels = read_idx(os.path.join(data_dir, lbl_name)).astype(np.int64)
    if images.ndim != 3 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{data_dir}: {split} images {images.shape} and labels "
                         f"{labels.shape} do not match")
    return images, labels
