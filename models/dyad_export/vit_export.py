"""ViTGraph -> dyad model (JSON + .bin): the node sequence of docs/models.md "ViT".

Every integer constant is computed here and stored (requant pairs with
dyadic.py, I-BERT constants with models/ibert_sim in float32, the checkpoint
dtype, as models/ibert_gen does), so the engine derives nothing from floats.
"""
import numpy as np
import torch

from ..ibert_sim import gelu, layernorm, softmax
from . import dyadic
from .errors import ExportError
from .vit import PROB_SCALE
from .writer import ModelWriter

F32 = np.float32


def _pairs(ratios, where, prefix=""):
    ms, es = dyadic.dyadic_lists(ratios, where)
    one = len(ms) == 1
    return {prefix + "multiplier": ms[0] if one else ms, prefix + "shift": es[0] if one else es}


class _Emitter:
    def __init__(self, graph, name, metadata):
        self.g = graph
        self.w = ModelWriter(name, metadata)

    def act(self, name, dtype, shape, scale):
        axis = len(shape) - 1 if np.ndim(scale) else None
        self.w.add_activation(name, dtype, shape, scale=scale, zero_point=0, axis=axis)
        return name

    def gemm(self, ql, x, s_x, shape, out=None, op="fully_connected", pad_to=None, x_max=128):
        """conv2d / fully_connected of QLinear `ql` on x (scale s_x). out: a QPoint
        (fused requant) or None (raw int32 accumulator). Returns (name, scale)."""
        with torch.no_grad():
            w_int, s_w, b_int, bias_scale = ql.quantized(s_x, ste=False)
        w_int = w_int.to(torch.int64).numpy()
        if op == "conv2d":
            w_int = w_int.transpose(0, 2, 3, 1)                      # OIHW -> OHWI
        if pad_to is not None:      # the head reads token 0 of the flattened sequence
            w_int = np.concatenate([w_int, np.zeros((w_int.shape[0], pad_to - w_int.shape[1]),
                                                    np.int64)], 1)
        b_int = b_int.to(torch.int64).numpy()
        worst = int((np.abs(b_int) + x_max * np.abs(w_int).reshape(len(w_int), -1).sum(1)).max())
        if worst > (1 << 31) - 1:
            raise ExportError(ql.path, f"the int32 accumulator can reach {worst} > 2^31 - 1")
        s_w = s_w.numpy().astype(np.float64)
        acc_scale = bias_scale.numpy().astype(np.float64)
        wdt = {8: "int8", 4: "int4"}[ql.w_bits]
        self.w.add_constant(ql.path + ".w", wdt, w_int, scale=list(s_w), zero_point=0, axis=0)
        self.w.add_constant(ql.path + ".b", "int32", b_int, scale=list(acc_scale), axis=0)
        attrs = {}
        if op == "conv2d":
            m = ql.module
            attrs = {"stride": list(m.stride), "padding": [0, 0, 0, 0]}
        if out is None:
            y, s_y = self.act(ql.path + ".acc", "int32", shape, list(acc_scale)), acc_scale
        else:
            y, s_y = self.act(out.name, out.dtype, shape, out.scale), out.scale
            attrs.update(_pairs(dyadic.hawq_gemm_ratio(s_x, s_w, s_y), ql.path))
        self.w.add_node(ql.path, op, [x, ql.path + ".w", ql.path + ".b"], [y], attrs)
        return y, s_y

    def requantize(self, name, x, s_in, point, shape):
        y = self.act(name, point.dtype, shape, point.scale)
        self.w.add_node(name, "requantize", [x], [y],
                        _pairs(dyadic.requant_ratio(s_in, point.scale), name))
        return y

    def add(self, point, a, s_a, b, s_b, shape, name=None):
        """add into `point`'s quantization; the output tensor is `name` (default the point's)."""
        y = self.act(name or point.name, point.dtype, shape, point.scale)
        attrs = {**_pairs(dyadic.requant_ratio(s_a, point.scale), point.name + " (a)", "a_"),
                 **_pairs(dyadic.requant_ratio(s_b, point.scale), point.name + " (b)", "b_")}
        self.w.add_node(y, "add", [a, b], [y], attrs)
        return y

    def reshape(self, name, x, dtype, shape, scale):
        y = self.act(name, dtype, shape, scale)
        # -1 for the batch: the simulator may run a batch larger than the declared 1
        self.w.add_node(name, "reshape", [x], [y], {"shape": [-1] + list(shape[1:])})
        return y

    def transpose(self, name, x, dtype, shape, scale):
        y = self.act(name, dtype, shape, scale)
        self.w.add_node(name, "transpose", [x], [y], {"perm": [0, 2, 1, 3]})
        return y

    def layernorm(self, ln_module, name, x, point, shape):
        """int_layernorm (int64, per-channel scale base * gamma) + requantize to `point`."""
        gamma = ln_module.weight.detach().numpy().astype(F32)
        beta = ln_module.bias.detach().numpy().astype(F32)
        k = layernorm.layernorm_constants(gamma, beta, F32)
        out_scale = [float(v) for v in k["out_scale"]]
        # shift 0: dyad computes var exactly at any size (docs/format.md), and the
        # int16 residual keeps var below 2^38, so no precision is given away.
        ln = self.act(name, "int64", shape, out_scale)
        self.w.add_node(name, "int_layernorm", [x], [ln], {"shift": 0, "bias_int": k["bias_int"]})
        return self.requantize(point.name, ln, out_scale, point, shape)

    # ------------------------------------------------------------ graph
    def embeddings(self):
        g, m = self.g, self.g.model
        n, c, hgt, wid = g.input_shape
        self.w.inputs = ["image"]
        self.act("image", "uint8", [n, hgt, wid, c], g.input_scale)
        pe = m.patch_embed
        gh, gw = hgt // pe.stride[0], wid // pe.stride[1]
        d = g.dim
        acc, s_acc = self.gemm(g.patch, "image", g.input_scale, [1, gh, gw, d], op="conv2d",
                                x_max=255)
        s_pos = g.pos_scale()
        pos = m.pos_embed.detach()[0, 1:].numpy().astype(np.float64)
        pos_int = np.clip(np.round(pos / s_pos), -32768, 32767).astype(np.int64)
        self.w.add_constant("pos_embed.patches", "int16", pos_int.reshape(1, gh, gw, d),
                            scale=s_pos, zero_point=0)
        s_tok = g.tokens.scale
        # the patch tokens take the quantization of the whole sequence (concat needs one)
        patches = self.add(g.tokens, acc, s_acc, "pos_embed.patches", s_pos, [1, gh, gw, d],
                           name="tokens.patches")
        seq = self.reshape("tokens.patches.seq", patches, "int8", [1, gh * gw, d], s_tok)
        cls = (m.cls_token + m.pos_embed[:, :1]).detach().numpy().astype(np.float64)
        cls_int = np.clip(np.round(cls / s_tok), -128, 127).astype(np.int64)
        self.w.add_constant("cls_token", "int8", cls_int, scale=s_tok, zero_point=0)
        self.act("tokens", "int8", [1, gh * gw + 1, d], s_tok)
        self.w.add_node("tokens", "concat", ["cls_token", seq], ["tokens"], {"axis": 1})
        return "tokens", s_tok, gh * gw + 1

    def encoder_layer(self, i, x, s_x, t):
        layer, lin, p = self.g.layers[i]
        pre = f"layers.{i}."
        d, h = self.g.dim, layer.heads
        dh = d // h
        heads = {}
        for k in "qkv":
            y, s = self.gemm(lin[k], x, s_x, [1, t, d], out=p[k])
            r = self.reshape(pre + k + ".split", y, "int8", [1, t, h, dh], s)
            heads[k] = self.transpose(pre + k + ".heads", r, "int8", [1, h, t, dh], s)
        s_q, s_k, s_v = p["q"].scale, p["k"].scale, p["v"].scale
        s_scores = float(F32(F32(F32(s_q) * F32(s_k)) / F32(np.sqrt(dh))))
        scores = self.act(pre + "scores", "int32", [1, h, t, t], s_scores)
        self.w.add_node(pre + "scores", "matmul", [heads["q"], heads["k"]], [scores],
                        {"transpose_b": True})
        # I-BERT's internal QuantAct(16) tracks the row maximum exp_int = c_int * 2^30
        # (as models/ibert_gen: HF feeds it the integers).
        c_int = softmax.softmax_constants(s_scores, 0.0, 1.0, F32)["c_int"]
        sm = softmax.softmax_constants(s_scores, 0.0, float(c_int) * 2.0 ** 30, F32)
        probs = self.act(pre + "probs", "int16", [1, h, t, t], PROB_SCALE)
        self.w.add_node(pre + "probs", "int_softmax", [scores], [probs],
                        {"x0_int": sm["x0_int"], "b_int": sm["b_int"], "c_int": sm["c_int"],
                         "act_multiplier": sm["M"], "act_shift": sm["E"]})
        s_ctx = p["ctx"].scale
        ctx = self.act(pre + "ctx.heads", "int8", [1, h, t, dh], s_ctx)
        self.w.add_node(pre + "ctx.heads", "matmul", [probs, heads["v"]], [ctx],
                        _pairs(dyadic.hawq_gemm_ratio(PROB_SCALE, s_v, s_ctx), pre + "ctx"))
        m = self.transpose(pre + "ctx.merge", ctx, "int8", [1, t, h, dh], s_ctx)
        ctx = self.reshape(p["ctx"].name, m, "int8", [1, t, d], s_ctx)
        acc, s_acc = self.gemm(lin["proj"], ctx, s_ctx, [1, t, d])
        r1 = self.add(p["res1"], acc, s_acc, x, s_x, [1, t, d])
        a = self.layernorm(layer.ln1, pre + "ln1.int", r1, p["ln1"], [1, t, d])
        s_a = p["ln1"].scale
        mlp = lin["fc1"].module.out_features
        acc, s_acc = self.gemm(lin["fc1"], a, s_a, [1, t, mlp])
        consts = [gelu.gelu_constants(s, F32) for s in s_acc]
        g_scale = [float(c["out_scale"]) for c in consts]
        gi = self.act(pre + "gelu.int", "int64", [1, t, mlp], g_scale)
        self.w.add_node(pre + "gelu.int", "int_gelu", [acc], [gi],
                        {k: [c[k] for c in consts] for k in ("b_int", "c_int", "shift_int")})
        gq = self.requantize(p["gelu"].name, gi, g_scale, p["gelu"], [1, t, mlp])
        acc, s_acc = self.gemm(lin["fc2"], gq, p["gelu"].scale, [1, t, d])
        r2 = self.add(p["res2"], acc, s_acc, a, s_a, [1, t, d])
        return self.layernorm(layer.ln2, pre + "ln2.int", r2, p["out"], [1, t, d]), \
            p["out"].scale

    def build(self):
        x, s_x, t = self.embeddings()
        for i in range(len(self.g.layers)):
            x, s_x = self.encoder_layer(i, x, s_x, t)
        d = self.g.dim
        flat = self.reshape("head.in", x, "int8", [1, t * d], s_x)
        classes = self.g.head.module.out_features
        y, _ = self.gemm(self.g.head, flat, s_x, [1, classes], out=self.g.logits, pad_to=t * d)
        self.w.outputs = [y]
        return self.w


def export(graph, json_path, name, metadata=None):
    """Writes the calibrated ViTGraph as <json_path> and its .bin; returns the document.

    The graph output is `logits` (int8 [1, classes]); the head is a fully_connected
    over the flattened [1, tokens * dim] sequence whose weights are zero outside the
    class token's columns (the format has no slice op; this reads token 0 exactly).
    """
    return _Emitter(graph, name, metadata).build().write(json_path)
