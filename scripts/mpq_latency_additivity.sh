#!/usr/bin/env bash
# The additivity check of `dyad mpq latency` (docs/mpq.md, "Latency") on the
# Fashion-MNIST ResNet and ViT: exports each net (post-training quantization
# of the shipped float checkpoints, models/fmnist/export_bits.py) at all-INT8,
# all-INT4 and two mixed configurations, builds the latency table from the
# all-INT8 and all-INT4 models, and checks the mixed ones (and the shipped
# mixed model) against fixed + the sum of the table, at each thread count,
# ROUNDS times.
#
# Usage: scripts/mpq_latency_additivity.sh [--threads 1,2] [--rounds 3] [--runs 1001] [--out DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THREADS="1,2"; ROUNDS=3; RUNS=1001; OUT="$ROOT/build/mpq-latency"
while (($#)); do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "mpq_latency_additivity.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
DYAD="$ROOT/build/dyad"
mkdir -p "$OUT"
export_bits() {  # NET BITS NAME
  [[ -f "$OUT/$3.json" ]] || (cd "$ROOT" && /usr/bin/python3 -m models.fmnist.export_bits "$1" \
      --bits "$2" --out "$OUT/$3.json")
}
export_bits resnet 8 resnet_w8
export_bits resnet 4 resnet_w4
export_bits resnet '{"blocks.0.": 4, "blocks.1.conv1": 4}' resnet_mixA
export_bits resnet '{"blocks.0.conv2": 4, "blocks.1.conv2": 4, "blocks.2.": 4, "fc": 4}' resnet_mixB
export_bits vit 8 vit_w8
export_bits vit 4 vit_w4
export_bits vit '{"layers.0.": 4}' vit_mixA
export_bits vit '{"layers.0.q": 4, "layers.0.fc2": 4, "layers.1.fc1": 4, "layers.1.proj": 4, "head": 4}' vit_mixB
cp "$ROOT"/models/fmnist/{resnet,vit}_mixed.{json,bin} "$OUT/"

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
for net in resnet vit; do
  for t in ${THREADS//,/ }; do
    for r in $(seq "$ROUNDS"); do
      echo "== $net, threads $t, round $r, load: $(cut -d' ' -f1-3 /proc/loadavg)"
      (cd "$OUT" && "$DYAD" mpq latency "${net}_w8.json" "${net}_w4.json" --check "${net}_mixA.json" \
          --check "${net}_mixB.json" --check "${net}_mixed.json" --threads "$t" --warmup 200 \
          --runs "$RUNS" --out "${net}_t${t}_r${r}.json" | sed -n '/^additivity/,$p')
    done
  done
done
