#!/usr/bin/env bash
# The main job: install what is missing, build, then classify the 10,000
# Fashion-MNIST test images with the shipped integer-only ResNets and ViTs (INT8,
# hand-made mixed INT4/INT8, and the mixed configurations chosen by `dyad mpq solve`
# at a BOPS and a size budget, docs/mpq.md), at 1 and 2 threads, next to the float
# model's accuracy;
# and show `dyad info`, `run` and `bench` on the small bundled CNN.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install_deps.sh"
"$ROOT/scripts/build.sh" > /dev/null
DYAD="$ROOT/build/dyad"
DATA=/usr/share/datasets/fashion-mnist

echo "== Fashion-MNIST test set (10,000 images), integer-only engine"
for model in resnet_int8 resnet_mixed resnet_mpq_bops50 resnet_mpq_size25 \
             vit_int8 vit_mixed vit_mpq_bops50 vit_mpq_size25; do
  json="$ROOT/models/fmnist/$model.json"
  float_top1=$(/usr/bin/python3 -c "import json,sys; print('%.2f %%' % (100*json.load(open(sys.argv[1]))['metadata']['accuracy']['float_top1']))" "$json")
  echo "-- $model (float model: top-1 $float_top1)"
  for threads in 1 2; do
    "$DYAD" classify "$json" --images "$DATA/t10k-images-idx3-ubyte.gz" \
      --labels "$DATA/t10k-labels-idx1-ubyte.gz" --threads "$threads"
  done
done

MODEL="$ROOT/models/examples/tiny_cnn.json"
echo
echo "== dyad info (bundled tiny CNN)"
"$DYAD" info "$MODEL"
echo
echo "== dyad run (deterministic input)"
OUT="$(mktemp -d)"
"$DYAD" run "$MODEL" --output-dir "$OUT"
rm -rf "$OUT"
echo
echo "== dyad bench"
"$DYAD" bench "$MODEL" --threads 1 --warmup 20 --iters 200
