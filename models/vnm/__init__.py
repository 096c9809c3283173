"""V:N:M structured sparsity for dyad: pruning (prune.py) and packing into the
engine's blob layout (pack.py, byte-identical to kernels/vnm_gemm/vnm_format.cc).
See docs/vnm.md."""
