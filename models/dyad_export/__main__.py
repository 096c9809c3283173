"""python3 -m models.dyad_export MODEL --out FILE.json ...: see cli.py."""
import sys

from .cli import main

sys.exit(main())
