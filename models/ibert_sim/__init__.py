"""ibert_sim: an independent integer simulator of the I-BERT operators.

Written from /work/shared/numerics.md (the project's exact arithmetic contract),
not from the C++ kernels. Run-time arithmetic uses Python ints (unbounded), so
nothing can overflow; the load-time constants emulate the float operations of
HF `transformers` (I-BERT quant_modules.py) in float64 or float32 with numpy
scalars, and the fused softmax 16-bit step is derived with exact fractions.

Modules:
  floatops   model-dtype float emulation (reciprocal-then-multiply, floor_divide)
  dyadic     frexp_dyadic, rne of a rational, requant, QuantAct scale
  gelu       i-GELU constants and run time        (numerics.md 4)
  softmax    i-softmax constants and run time     (numerics.md 5)
  layernorm  i-LayerNorm constants and run time   (numerics.md 6)
  matmul     matmul of two activations, embedding gather, transpose
"""

from .dyadic import act_scale, frexp_dyadic, requant, rne_div_pow2  # noqa: F401
from .gelu import gelu_constants, int_gelu  # noqa: F401
from .layernorm import int_layernorm, isqrt_newton, layernorm_constants  # noqa: F401
from .softmax import int_softmax, softmax_constants  # noqa: F401
