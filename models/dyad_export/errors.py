"""Exceptions raised by the exporter."""


class ExportError(Exception):
    """A module, tensor or setting the exporter cannot turn into a dyad model.

    `path` is the dotted module path inside the exported torch model (e.g.
    "blocks.1.shortcut.conv"), "" for the root.
    """

    def __init__(self, path, message):
        self.path = path
        where = f"module '{path}'" if path else "the root module"
        super().__init__(f"{where}: {message}")
