"""dyad exporter: torch CNN -> dyad integer model (JSON + weights .bin), plus an
independent integer simulator of the format (simulator.py).

    from models.dyad_export import qgraph, export, simulator
    g = qgraph.lower(model, qgraph.BitConfig({"w": 8, "a": 8}))
    g.calibrate(batches)
    export.export(g, "out.json", "name")
    simulator.Model("out.json").run({"image": x_uint8_nhwc})
"""
from .errors import ExportError  # noqa: F401
