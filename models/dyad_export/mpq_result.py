"""Per-layer bits from a `dyad mpq solve` result (schema dyad-mpq-result/1, docs/mpq.md).

    table = mpq_result.read("result.json")          # {layer: {"w": b, "a": b}}
    config = qgraph.BitConfig({"w": 8, "a": 8}, table)
    ... lower / capture the model with config ...
    mpq_result.check_layers(table, "result.json", gemm_layers)   # before writing

Only an `optimal` result is exported. Layer names are the exported model's
conv2d / fully_connected node names (what models/mpq_sensitivity writes into the
candidates file); layers the result does not list (the candidates file's
`fixed` layers) keep 8 bits. Every problem raises MpqResultError naming the file,
the field and the layer, before anything is written.
"""
import json

SCHEMA = "dyad-mpq-result/1"
BITS = (4, 8)


class MpqResultError(ValueError):
    """A result file that cannot be exported: "FILE: layers[i] 'NAME': field 'F': ..."."""

    def __init__(self, path, where, message):
        super().__init__(f"{path}: {where}{message}")


def _load(path):
    def no_constants(name):
        raise ValueError(f"{name} is not a JSON number")
    try:
        with open(path) as f:
            return json.load(f, parse_constant=no_constants)
    except (OSError, UnicodeDecodeError) as e:
        raise MpqResultError(path, "", f"cannot read: {e}") from e
    except ValueError as e:
        raise MpqResultError(path, "", f"not valid JSON: {e}") from e


def _bits(path, where, entry, field):
    v = entry.get(field)
    if isinstance(v, bool) or not isinstance(v, int) or v not in BITS:
        raise MpqResultError(path, where, f"field '{field}': {v!r} is not 4 or 8 (the "
                                          "exporter's INT4 / INT8)")
    return v


def read(path):
    """{layer name: {"w": w_bits, "a": a_bits}} of an optimal dyad-mpq-result/1 file."""
    doc = _load(path)
    if not isinstance(doc, dict):
        raise MpqResultError(path, "", "expected a JSON object")
    if doc.get("schema") != SCHEMA:
        raise MpqResultError(path, "", f"field 'schema': {doc.get('schema')!r}, expected "
                                       f"'{SCHEMA}' (the output of dyad mpq solve --out)")
    if doc.get("status") != "optimal":
        extra = f" ({doc['message']})" if isinstance(doc.get("message"), str) else ""
        raise MpqResultError(path, "", f"field 'status': {doc.get('status')!r}{extra}; only an "
                                       "'optimal' result holds a configuration to export")
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers:
        raise MpqResultError(path, "", "field 'layers': expected a non-empty list (a "
                                       "--frontier result has no single configuration)")
    table = {}
    for i, entry in enumerate(layers):
        if not isinstance(entry, dict):
            raise MpqResultError(path, f"layers[{i}]: ", "expected an object")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise MpqResultError(path, f"layers[{i}]: ", f"field 'name': {name!r} is not a "
                                                        "layer name")
        where = f"layers[{i}] '{name}': "
        if name in table:
            raise MpqResultError(path, where, "field 'name': the layer is listed twice")
        table[name] = {"w": _bits(path, where, entry, "w_bits"),
                       "a": _bits(path, where, entry, "a_bits")}
    return table


def check_layers(table, path, layers, fixed_a_bits=None):
    """Every layer of `table` must be one of `layers` (the model's conv2d /
    fully_connected names, in order); fixed_a_bits {name: bits} lists layers whose
    input width cannot change (the layer reading the 8-bit image, a ViT's int8
    activations)."""
    layers = list(layers)
    index = {name: i for i, name in enumerate(table)}
    for name, bits in table.items():
        where = f"layers[{index[name]}] '{name}': "
        if name not in layers:
            raise MpqResultError(path, where, "field 'name': the model has no conv2d / "
                                              "fully_connected layer of that name (its layers: "
                                              f"{', '.join(layers)})")
        want = (fixed_a_bits or {}).get(name)
        if want is not None and bits["a"] != want:
            raise MpqResultError(path, where, f"field 'a_bits': {bits['a']}, but this layer's "
                                              f"input is {want}-bit in the exported model")


def describe(path):
    """The result's summary for the exported model's metadata."""
    doc = _load(path)
    keep = ("status", "solver", "objective", "totals", "limits", "input_sha256")
    return {"file": path, **{k: doc[k] for k in keep if k in doc}}


def model_layers(graph):
    """(names, fixed_a_bits) of a lowered graph's conv2d / fully_connected layers: a
    qgraph.QGraph (the layer reading the image has a fixed 8-bit input) or a
    vit.ViTGraph (every input is int8)."""
    from . import qgraph
    if hasattr(graph, "describe_bits"):
        names = list(graph.describe_bits())
        return names, {n: 8 for n in names}
    names, fixed = [], {}
    for node in graph.nodes:
        if isinstance(node, qgraph.GemmNode):
            names.append(node.path)
            if node.inputs[0].root().kind == "input":
                fixed[node.path] = 8
    return names, fixed
