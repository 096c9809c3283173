#!/usr/bin/env bash
# The main job: install what is missing, build, and run dyad on the bundled model.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install_deps.sh"
"$ROOT/scripts/build.sh" > /dev/null
DYAD="$ROOT/build/dyad"
MODEL="$ROOT/models/examples/tiny_cnn.json"

echo "== dyad info"
"$DYAD" info "$MODEL"
echo
echo "== dyad run (deterministic input)"
OUT="$(mktemp -d)"
"$DYAD" run "$MODEL" --output-dir "$OUT"
echo
echo "== dyad bench"
"$DYAD" bench "$MODEL" --threads 1 --warmup 20 --iters 200
rm -rf "$OUT"
