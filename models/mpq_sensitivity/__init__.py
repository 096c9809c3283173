"""Per-layer sensitivities for dyad's bit allocation (docs/mpq.md).

`sensitivity.py` estimates each layer's average Hessian trace by Hutchinson's
method and multiplies it by ||Q_b(W) - W||^2 from the exporter's own weight
quantizer (HAWQ-V3's Omega), or measures the loss change of quantizing one
layer at a time; `candidates_document` writes a dyad-mpq-candidates/1 file.
"""
