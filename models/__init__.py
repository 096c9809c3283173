"""dyad Python tooling: the exporter (dyad_export) and model generators (fmnist)."""
