"""ibert_gen: generates I-BERT-style integer encoders in the dyad format.

    /usr/bin/python3 -m models.ibert_gen --preset toy          # models/examples/ibert_toy.{json,bin}
    /usr/bin/python3 -m models.ibert_gen --preset bert-base --out /tmp/bert_base.json

Random float weights (fixed seed) are quantized as I-BERT does; the QuantAct
scales come from a float calibration pass (float_model.py); every integer
constant is computed with models/ibert_sim and models/dyad_export and stored
(build.py). Expected outputs come from the independent integer simulator
(models/dyad_export/simulator.py). See docs/ops.md "I-BERT encoders".
"""
