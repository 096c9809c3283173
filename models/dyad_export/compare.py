"""Per-layer comparison: float activations vs the simulated integer model's.

For each activation tensor of the exported model (the names are shared with the
QGraph), the integer values from the simulator are dequantized with the model's
scales and compared with the float graph's values (relative L2 error, cosine).
`fake=` also gives the fraction of integers the fake-quant torch graph predicts
exactly (it differs from the exact integers only by float rounding near ties).
"""
import numpy as np
import torch


def _nhwc(v):
    v = v.detach().numpy().astype(np.float64)
    return v.transpose(0, 2, 3, 1) if v.ndim == 4 else v


def layer_report(graph, sim_model, images, batch=500):
    """images: uint8 [N, 28, 28]. Returns a list of dict rows, in model tensor order."""
    names = [t["name"] for t in sim_model.doc["tensors"]
             if "data" not in t and "values" not in t]
    acc = {n: {"dot": 0.0, "ff": 0.0, "qq": 0.0, "dd": 0.0, "same": 0, "count": 0}
           for n in names}
    for i in range(0, len(images), batch):
        x = images[i:i + batch]
        xt = torch.from_numpy(np.ascontiguousarray(x)).float().div(255.0).unsqueeze(1)
        fl, fk = {}, {}
        with torch.no_grad():
            graph.forward(xt, "float", fl)
            graph.forward(xt, "fake", fk)
        ints = sim_model.run({sim_model.inputs[0]: x[:, :, :, None]}, keep_all=True)
        for n in names:
            q = ints[n]
            deq = sim_model.dequantize(n, q)
            f = _nhwc(fl[n]).reshape(deq.shape)
            a = acc[n]
            a["dot"] += float((deq * f).sum())
            a["ff"] += float((f * f).sum())
            a["qq"] += float((deq * deq).sum())
            a["dd"] += float(((deq - f) ** 2).sum())
            t = graph.tensors[n]
            if t.root().kind == "acc":
                scale = t.root().acc_scale.numpy().astype(np.float64)
            else:
                scale = t.scale
            fake_int = np.round(_nhwc(fk[n]).reshape(deq.shape) / scale)
            a["same"] += int((fake_int == q).sum())
            a["count"] += q.size
    rows = []
    for n in names:
        a = acc[n]
        t = sim_model.tensors[n]
        rows.append({
            "tensor": n, "dtype": t["dtype"],
            "rel_err": np.sqrt(a["dd"] / max(a["ff"], 1e-30)),
            "cosine": a["dot"] / max(np.sqrt(a["ff"] * a["qq"]), 1e-30),
            "fake_quant_agree": a["same"] / max(a["count"], 1),
        })
    return rows


def format_report(rows, title):
    out = [title, f"{'tensor':34s} {'dtype':6s} {'rel.err':>8s} {'cosine':>8s} "
           f"{'fakeq=int':>9s}"]
    for r in rows:
        out.append(f"{r['tensor']:34s} {r['dtype']:6s} {r['rel_err']:8.4f} {r['cosine']:8.5f} "
                   f"{100 * r['fake_quant_agree']:8.2f}%")
    return "\n".join(out)
