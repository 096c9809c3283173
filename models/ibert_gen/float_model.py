"""The float encoder the integer model approximates: random parameters (fixed
seed), weight quantization, and a float64 forward pass that records the ranges
the QuantActs are calibrated on (HF I-BERT calibrates them on real activations).

The forward pass uses the dequantized 8-bit weights and tables, exact GELU and
softmax, LayerNorm without epsilon, and an additive -10000 mask (HF).
"""
import math

import numpy as np
import torch

W_BITS = 8


def quantize_per_channel(w, bits=W_BITS):
    """I-BERT weights (numerics.md 3): per output row, s = max|w_c| / 127 in float32,
    q = clamp(rne(w * f32(1/s)), -127, 126) (4 bits: / 7, [-7, 6]). Returns (q int64,
    s float32[rows])."""
    w = np.asarray(w, dtype=np.float32)
    flat = w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(1, -1)
    top = np.float32(2 ** (bits - 1) - 1)
    s = np.maximum(np.abs(flat).max(axis=1), np.float32(1e-8)) / top
    q = np.rint(flat * (np.float32(1) / s)[:, None])
    q = np.clip(q, -top, top - 1).astype(np.int64).reshape(w.shape)
    return q, s.astype(np.float32)


def quantize_per_tensor(w):
    q, s = quantize_per_channel(np.asarray(w, dtype=np.float32).reshape(1, -1))
    return q.reshape(np.shape(w)), np.float32(s[0])


class Params:
    """Random float32 parameters of an encoder, quantized weights and their scales."""

    def __init__(self, cfg):
        rng = np.random.default_rng(cfg.seed)
        D, F = cfg.hidden, cfg.ffn

        def normal(shape, std):
            return rng.normal(0.0, std, size=shape).astype(np.float32)

        def gamma(n):
            g = rng.uniform(0.6, 1.4, size=n).astype(np.float32)
            g[rng.random(n) < 1 / 16] *= -1  # a few negative gammas: negative LN scales
            return g

        def linear(key, out_f, in_f, gain=1.0):
            bits = 4 if key in cfg.w4 else W_BITS
            w, s = quantize_per_channel(normal((out_f, in_f), gain / math.sqrt(in_f)), bits)
            return {"w": w, "s": s, "b": normal(out_f, 0.1), "bits": bits}

        self.word = quantize_per_tensor(normal((cfg.vocab, D), 0.6))
        self.pos = quantize_per_tensor(normal((cfg.seq_len, D), 0.3))
        self.type = quantize_per_tensor(normal((cfg.type_vocab, D), 0.3))
        self.emb_ln = (gamma(D), normal(D, 0.2))
        self.layers = []
        for _ in range(cfg.layers):
            self.layers.append({
                "q": linear("q", D, D, 1.6), "k": linear("k", D, D, 1.6), "v": linear("v", D, D),
                "o": linear("o", D, D), "ffn1": linear("ffn1", F, D, 1.3), "ffn2": linear("ffn2", D, F),
                "ln1": (gamma(D), normal(D, 0.2)), "ln2": (gamma(D), normal(D, 0.2)),
            })


def _deq(lin):
    return lin["w"].astype(np.float64) * lin["s"].astype(np.float64)[:, None]


def _linear(x, lin):
    return x @ _deq(lin).T + lin["b"].astype(np.float64)


def _layernorm(x, gamma, beta):
    y = x - x.mean(axis=-1, keepdims=True)
    return y / np.sqrt((y * y).mean(axis=-1, keepdims=True)) * gamma + beta


def _gelu(x):
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    return (0.5 * t * (1.0 + torch.erf(t / math.sqrt(2.0)))).numpy()


def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Ranges:
    """max |value| per calibration point; for LayerNorm inputs also the largest
    row sum of squared deviations (real units), which sets the LN shift."""

    def __init__(self):
        self.absmax = {}
        self.ln_var = {}

    def record(self, name, v):
        self.absmax[name] = max(self.absmax.get(name, 0.0), float(np.abs(v).max()))

    def record_ln(self, name, x):
        y = x - x.mean(axis=-1, keepdims=True)
        self.ln_var[name] = max(self.ln_var.get(name, 0.0), float((y * y).sum(axis=-1).max()))


def forward(cfg, p, ids, mask=None, ranges=None, taps=None):
    """Float forward of ids [B, L] (mask [B, L], nonzero = attend). Records into
    `ranges` and, when `taps` is a dict, stores the named intermediate values."""
    rec = ranges.record if ranges is not None else (lambda name, v: None)
    rec_ln = ranges.record_ln if ranges is not None else (lambda name, v: None)
    tap = (lambda name, v: taps.__setitem__(name, v)) if taps is not None else (lambda n, v: None)
    B, L = ids.shape
    H, dh = cfg.heads, cfg.head_dim
    word = p.word[0].astype(np.float64) * float(p.word[1])
    pos = p.pos[0].astype(np.float64) * float(p.pos[1])
    typ = p.type[0].astype(np.float64) * float(p.type[1])
    s1 = word[ids] + typ[np.zeros_like(ids)]
    rec("emb.act1", s1)
    s2 = s1 + pos[np.arange(L)][None]
    rec("emb.act1", s2)
    rec_ln("emb.ln", s2)
    h = _layernorm(s2, *p.emb_ln)
    rec("emb.out", h)
    tap("emb.out", h)
    neg = 0.0 if mask is None else (1.0 - (np.asarray(mask) != 0)) * -10000.0
    for i, lp in enumerate(p.layers):
        pre = f"l{i}."
        heads = {}
        for k in "qkv":
            v = _linear(h, lp[k])
            rec(pre + k, v)
            heads[k] = v.reshape(B, L, H, dh).transpose(0, 2, 1, 3)
        scores = heads["q"] @ heads["k"].transpose(0, 1, 3, 2) / math.sqrt(dh)
        probs = _softmax(scores + (neg[:, None, None, :] if mask is not None else 0.0))
        tap(pre + "attn.probs", probs)
        ctx = (probs @ heads["v"]).transpose(0, 2, 1, 3).reshape(B, L, cfg.hidden)
        rec(pre + "attn.ctx", ctx)
        r1 = _linear(ctx, lp["o"]) + h
        rec(pre + "attn.res", r1)
        rec_ln(pre + "attn.ln", r1)
        a1 = _layernorm(r1, *lp["ln1"])
        rec(pre + "attn.out", a1)
        rec(pre + "ffn.in", a1)            # pre_intermediate_act sees the same values
        g = _gelu(_linear(a1, lp["ffn1"]))
        rec(pre + "ffn.gelu", g)
        tap(pre + "ffn.gelu", g)
        rec(pre + "ffn.mid", g)            # pre_output_act
        r2 = _linear(g, lp["ffn2"]) + a1
        rec(pre + "ffn.res", r2)
        rec_ln(pre + "ffn.ln", r2)
        h = _layernorm(r2, *lp["ln2"])
        rec(pre + "out", h)
        tap(pre + "out", h)
    return h


def calibration_inputs(cfg, rng):
    """Random ids; every other sequence padded at the end (mask 0)."""
    ids = rng.integers(0, cfg.vocab, size=(cfg.calib_sequences, cfg.seq_len))
    mask = np.ones_like(ids)
    for b in range(1, cfg.calib_sequences, 2):
        mask[b, cfg.seq_len - max(1, cfg.seq_len // 4):] = 0
    return ids, mask
