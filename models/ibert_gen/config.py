"""Encoder geometries of the generator."""
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Config:
    name: str
    layers: int
    hidden: int
    heads: int
    ffn: int
    seq_len: int
    vocab: int
    type_vocab: int = 2
    attention_mask: bool = True   # an `attention_mask` graph input
    seed: int = 20260415
    calib_sequences: int = 4      # random sequences the float model is calibrated on
    # Linears of every layer ("q", "k", "v", "o", "ffn1", "ffn2") with 4-bit
    # weights (per-channel int4, W4A8); the others keep 8 bits.
    w4: tuple = ()

    @property
    def head_dim(self):
        return self.hidden // self.heads

    def check(self):
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} is not a multiple of heads {self.heads}")
        unknown = set(self.w4) - {"q", "k", "v", "o", "ffn1", "ffn2"}
        if unknown:
            raise ValueError(f"w4: unknown linears {sorted(unknown)} (q, k, v, o, ffn1, ffn2)")
        for field in ("layers", "hidden", "heads", "ffn", "seq_len", "vocab", "type_vocab"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be positive")


PRESETS = {
    # The committed test model (models/examples/ibert_toy.json): small enough for
    # the Python simulator and for a JSON with every layer's outputs as samples.
    "toy": Config("ibert_toy", layers=2, hidden=32, heads=4, ffn=128, seq_len=8, vocab=96),
    # BERT-base geometry, generated on demand (about 110 MB of weights).
    "bert-base": Config("ibert_bert_base", layers=12, hidden=768, heads=12, ffn=3072, seq_len=128,
                        vocab=30522, calib_sequences=2),
}


def preset(name, **overrides):
    cfg = replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
    cfg.check()
    return cfg
