"""Emits an I-BERT-style integer encoder in the dyad format (numerics.md 8,
docs/ops.md "I-BERT encoders").

Every scale is the float32 value HF I-BERT would hold (QuantAct scales from the
calibrated ranges, `S_x * S_w` products in float32), and every integer constant
is computed here and stored: requant pairs (models/dyad_export/dyadic.py) and the
GELU, softmax and LayerNorm constants in float32 (models/ibert_sim).
"""
import math

import numpy as np

from ..dyad_export import dyadic
from ..dyad_export.writer import ModelWriter
from ..ibert_sim import gelu, layernorm, softmax
from ..ibert_sim.dyadic import act_scale
from . import float_model

F32 = np.float32
RESIDUAL_BITS = 22
EMBED_BITS = 16


def f32(v):
    return np.asarray(v, dtype=np.float64).astype(np.float32)


def layernorm_shift(var_max_int):
    """HF IntLayerNorm.set_shift: ceil(log2(sqrt(var / 2^32))), at least 0, for the
    largest unshifted sum of squared deviations seen in calibration."""
    if var_max_int <= 2**32:
        return 0
    return max(0, math.ceil(math.log2(math.sqrt(var_max_int / 2**32))))


class EncoderBuilder:
    def __init__(self, cfg, params, ranges, metadata):
        self.cfg, self.p, self.ranges = cfg, params, ranges
        self.w = ModelWriter(cfg.name, metadata)
        self.L, self.D = cfg.seq_len, cfg.hidden

    # ------------------------------------------------------------ helpers
    def act_scale(self, point, bits):
        """QuantAct scale of a calibration point: max|x| / (2^(b-1) - 1) in float32."""
        m = self.ranges.absmax[point]
        return F32(act_scale(-m, m, bits, F32))

    def activation(self, name, dtype, shape, scale=None, axis=None):
        if scale is not None and np.ndim(scale) and axis is None:
            axis = len(shape) - 1
        self.w.add_activation(name, dtype, shape, scale=scale, zero_point=0, axis=axis)
        return name

    @staticmethod
    def requant_attrs(ratios, prefix=""):
        ms, es = dyadic.dyadic_lists(ratios, prefix or "requant")
        one = len(ms) == 1
        return {prefix + "multiplier": ms[0] if one else ms, prefix + "shift": es[0] if one else es}

    def linear(self, name, x, s_x, lin, out_dtype, s_y=None):
        """fully_connected with 32-bit bias at f32(S_x * S_w[c]); int8 output with the
        fused QuantAct(8) requant, or the raw int32 accumulator. Returns (y, scale)."""
        w, s_w, b = lin["w"], lin["s"], lin["b"]
        acc_scale = f32(F32(s_x) * s_w)                      # float32 product, per channel
        top = 2**31 - 1
        b_int = np.clip(np.rint(b * (F32(1) / acc_scale)), -top, top - 1).astype(np.int64)
        self.w.add_constant(name + ".w", "int4" if lin.get("bits") == 4 else "int8", w, scale=s_w,
                            zero_point=0, axis=0)
        self.w.add_constant(name + ".b", "int32", b_int)
        shape = [1, self.L, w.shape[0]]
        if out_dtype == "int32":
            y = self.activation(name + ".acc", "int32", shape, acc_scale)
            self.w.add_node(name, "fully_connected", [x, name + ".w", name + ".b"], [y])
            return y, acc_scale
        y = self.activation(name + ".out", out_dtype, shape, s_y)
        ratios = dyadic.hawq_gemm_ratio(s_x, s_w, s_y)
        self.w.add_node(name, "fully_connected", [x, name + ".w", name + ".b"], [y],
                        self.requant_attrs(ratios))
        return y, s_y

    def requantize(self, name, x, s_in, s_y, shape, dtype="int8"):
        """QuantAct(8) with a known input scale (per channel or one)."""
        y = self.activation(name, dtype, shape, s_y)
        self.w.add_node(name, "requantize", [x], [y],
                        self.requant_attrs(dyadic.requant_ratio(s_in, s_y)))
        return y

    def residual(self, name, acc, s_acc, identity, s_id, s_y):
        """QuantAct(22) with identity: add -> int32 clamped to 22 bits."""
        y = self.activation(name, "int32", [1, self.L, self.D], s_y)
        lo, hi = -(1 << (RESIDUAL_BITS - 1)), (1 << (RESIDUAL_BITS - 1)) - 1
        attrs = {**self.requant_attrs(dyadic.requant_ratio(s_acc, s_y), "a_"),
                 **self.requant_attrs(dyadic.requant_ratio(s_id, s_y), "b_"),
                 "activation": "clamp", "clamp": [lo, hi]}
        self.w.add_node(name, "add", [acc, identity], [y], attrs)
        return y

    def layernorm(self, ln_name, out_name, x, s_x, gamma_beta):
        """IntLayerNorm `ln_name` (int64, per-channel scale base * gamma) and its
        QuantAct(8) `out_name`. The calibration points have the same names.
        Returns (y, S_y)."""
        gamma, beta = gamma_beta
        k = layernorm.layernorm_constants(gamma, beta, F32)
        shift = layernorm_shift(self.ranges.ln_var[ln_name] / float(s_x) ** 2)
        out_scale = f32(k["out_scale"])
        ln = self.activation(ln_name, "int64", [1, self.L, self.D], out_scale)
        self.w.add_node(ln_name, "int_layernorm", [x], [ln],
                        {"shift": shift, "bias_int": k["bias_int"]})
        s_y = self.act_scale(out_name, 8)
        return self.requantize(out_name, ln, out_scale, s_y, [1, self.L, self.D]), s_y

    def heads(self, name, x, s, to_heads):
        """[1, L, D] <-> [1, H, L, dh] with reshape + transpose {0, 2, 1, 3}."""
        H, dh, L = self.cfg.heads, self.cfg.head_dim, self.L
        if to_heads:
            r = self.activation(name + ".split", "int8", [1, L, H, dh], s)
            self.w.add_node(name + ".split", "reshape", [x], [r], {"shape": [1, L, H, dh]})
            t = self.activation(name + ".heads", "int8", [1, H, L, dh], s)
            self.w.add_node(name + ".heads", "transpose", [r], [t], {"perm": [0, 2, 1, 3]})
            return t
        t = self.activation(name + ".merge", "int8", [1, L, H, dh], s)
        self.w.add_node(name + ".merge", "transpose", [x], [t], {"perm": [0, 2, 1, 3]})
        r = self.activation(name + ".out", "int8", [1, L, self.D], s)
        self.w.add_node(name + ".out", "reshape", [t], [r], {"shape": [1, L, self.D]})
        return r

    # ------------------------------------------------------------ graph
    def embeddings(self):
        cfg, w, L = self.cfg, self.w, self.L
        w.add_activation("input_ids", "int32", [1, L])
        w.inputs.append("input_ids")
        w.add_constant("position_ids", "int32", np.arange(L, dtype=np.int64).reshape(1, L))
        w.add_constant("token_type_ids", "int32", np.zeros((1, L), dtype=np.int64))
        gathered = {}
        for key, ids in (("word", "input_ids"), ("type", "token_type_ids"),
                         ("pos", "position_ids")):
            table, s = getattr(self.p, key)
            w.add_constant(f"emb.{key}.table", "int8", table, scale=s, zero_point=0)
            out = self.activation(f"emb.{key}", "int8", [1, L, self.D], s)
            w.add_node(f"emb.{key}", "embedding", [ids, f"emb.{key}.table"], [out])
            gathered[key] = (out, s)
        # embeddings_act1 (QuantAct(16)) used twice, one scale: word + type, then + position.
        s_act1 = self.act_scale("emb.act1", EMBED_BITS)
        sum1 = self.activation("emb.sum1", "int16", [1, L, self.D], s_act1)
        (wd, s_wd), (ty, s_ty), (po, s_po) = gathered["word"], gathered["type"], gathered["pos"]
        w.add_node("emb.sum1", "add", [wd, ty], [sum1],
                   {**self.requant_attrs(dyadic.requant_ratio(s_wd, s_act1), "a_"),
                    **self.requant_attrs(dyadic.requant_ratio(s_ty, s_act1), "b_")})
        sum2 = self.activation("emb.sum2", "int16", [1, L, self.D], s_act1)
        w.add_node("emb.sum2", "add", [sum1, po], [sum2],
                   {**self.requant_attrs(dyadic.requant_ratio(s_act1, s_act1), "a_"),
                    **self.requant_attrs(dyadic.requant_ratio(s_po, s_act1), "b_")})
        return self.layernorm("emb.ln", "emb.out", sum2, s_act1, self.p.emb_ln)

    def mask(self):
        if not self.cfg.attention_mask:
            return ""
        L = self.L
        self.w.add_activation("attention_mask", "int32", [1, L])
        self.w.inputs.append("attention_mask")
        m4 = self.activation("attention_mask.4d", "int32", [1, 1, 1, L])
        self.w.add_node("attention_mask.4d", "reshape", ["attention_mask"], [m4],
                        {"shape": [1, 1, 1, L]})
        return m4

    def layer(self, i, x, s_x, mask):
        pre = f"l{i}."
        lp, cfg, L, H = self.p.layers[i], self.cfg, self.L, self.cfg.heads
        qkv = {}
        for k in "qkv":
            s = self.act_scale(pre + k, 8)
            y, _ = self.linear(pre + k, x, s_x, lp[k], "int8", s)
            qkv[k] = (self.heads(pre + k, y, s, True), s)
        (q, s_q), (k, s_k), (v, s_v) = qkv["q"], qkv["k"], qkv["v"]
        # Scores q_int . k_int with HF's scale S_q S_k / sqrt(dh) (float32 ops).
        s_scores = F32(F32(s_q * s_k) / F32(math.sqrt(cfg.head_dim)))
        scores = self.activation(pre + "attn.scores", "int32", [1, H, L, L], s_scores)
        self.w.add_node(pre + "attn.scores", "matmul", [q, k], [scores], {"transpose_b": True})
        # IntSoftmax; its QuantAct(16) tracks the row maximum exp_int = c_int * 2^30.
        c_int = softmax.softmax_constants(s_scores, 0.0, 1.0, F32)["c_int"]
        sm = softmax.softmax_constants(s_scores, 0.0, float(c_int) * 2.0**30, F32)
        probs = self.activation(pre + "attn.probs", "int16", [1, H, L, L], 1.0 / 256)
        self.w.add_node(pre + "attn.probs", "int_softmax", [scores] + ([mask] if mask else []),
                        [probs], {"x0_int": sm["x0_int"], "b_int": sm["b_int"],
                                  "c_int": sm["c_int"], "act_multiplier": sm["M"],
                                  "act_shift": sm["E"]})
        s_ctx = self.act_scale(pre + "attn.ctx", 8)
        ctx = self.activation(pre + "attn.ctx", "int8", [1, H, L, cfg.head_dim], s_ctx)
        self.w.add_node(pre + "attn.ctx", "matmul", [probs, v], [ctx],
                        self.requant_attrs(dyadic.hawq_gemm_ratio(1.0 / 256, s_v, s_ctx)))
        ctx = self.heads(pre + "attn.ctx", ctx, s_ctx, False)
        dense, s_dense = self.linear(pre + "attn.dense", ctx, s_ctx, lp["o"], "int32")
        s_res = self.act_scale(pre + "attn.res", RESIDUAL_BITS)
        res = self.residual(pre + "attn.res", dense, s_dense, x, s_x, s_res)
        a1, s_a1 = self.layernorm(pre + "attn.ln", pre + "attn.out", res, s_res, lp["ln1"])
        # FFN: pre_intermediate_act, dense + IntGELU + QuantAct(8), pre_output_act.
        s_in = self.act_scale(pre + "ffn.in", 8)
        f_in = self.requantize(pre + "ffn.in", a1, s_a1, s_in, [1, L, self.D])
        inter, s_inter = self.linear(pre + "ffn.inter", f_in, s_in, lp["ffn1"], "int32")
        consts = [gelu.gelu_constants(s, F32) for s in s_inter]
        out_scale = f32([c["out_scale"] for c in consts])
        g = self.activation(pre + "ffn.gelu", "int64", [1, L, cfg.ffn], out_scale)
        self.w.add_node(pre + "ffn.gelu", "int_gelu", [inter], [g],
                        {key: [c[key] for c in consts] for key in ("b_int", "c_int", "shift_int")})
        s_g = self.act_scale(pre + "ffn.gelu", 8)
        g8 = self.requantize(pre + "ffn.gelu.q", g, out_scale, s_g, [1, L, cfg.ffn])
        s_mid = self.act_scale(pre + "ffn.mid", 8)
        mid = self.requantize(pre + "ffn.mid", g8, s_g, s_mid, [1, L, cfg.ffn])
        dense2, s_dense2 = self.linear(pre + "ffn.dense", mid, s_mid, lp["ffn2"], "int32")
        s_res2 = self.act_scale(pre + "ffn.res", RESIDUAL_BITS)
        res2 = self.residual(pre + "ffn.res", dense2, s_dense2, f_in, s_in, s_res2)
        return self.layernorm(pre + "ffn.ln", pre + "out", res2, s_res2, lp["ln2"])

    def build(self, extra_outputs=False):
        """Adds every node. The graph output is the last layer's int8 output; with
        extra_outputs, also the embeddings, every layer, and layer 0's softmax,
        GELU and its requantized output (for layer-by-layer comparison)."""
        x, s = self.embeddings()
        mask = self.mask()
        outs = [x]
        for i in range(self.cfg.layers):
            x, s = self.layer(i, x, s, mask)
            outs.append(x)
        self.w.outputs = [x]
        if extra_outputs:
            self.w.outputs += outs[:-1] + ["l0.attn.probs", "l0.ffn.gelu", "l0.ffn.gelu.q"]
        return self.w


def build_model(cfg, extra_outputs=False):
    """Float params -> calibration -> integer graph. Returns (writer, params)."""
    params = float_model.Params(cfg)
    ranges = float_model.Ranges()
    ids, mask = float_model.calibration_inputs(cfg, np.random.default_rng(cfg.seed + 1))
    float_model.forward(cfg, params, ids, mask if cfg.attention_mask else None, ranges)
    meta = {"generator": "models/ibert_gen", "seed": cfg.seed,
            "config": {"layers": cfg.layers, "hidden": cfg.hidden, "heads": cfg.heads,
                       "ffn": cfg.ffn, "seq_len": cfg.seq_len, "vocab": cfg.vocab}}
    if cfg.w4:
        meta["config"]["w4"] = list(cfg.w4)
    writer = EncoderBuilder(cfg, params, ranges, meta).build(extra_outputs)
    return writer, params
