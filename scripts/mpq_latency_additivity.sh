#!/usr/bin/env bash
# The additivity check of `dyad mpq latency` (docs/mpq.md, "Latency") on the
# Fashion-MNIST ResNet and ViT: exports each net (post-training quantization
# of the shipped float checkpoints, models/fmnist/export_bits.py) at all-INT8,
# all-INT4 and two mixed configurations, builds the latency table from the
# all-INT8 and all-INT4 models, and checks the mixed ones (and the shipped
# mixed model) against fixed + the sum of the table, at each thread count,
# ROUNDS times; then the ResNet with all four precisions (w8a8, w4a8, w8a4,
# w4a4 in the blocks and FC) and a mixture of them, at 1 thread. --resnet18 adds torchvision's ResNet-18 at 224x224 (random
# weights, BatchNorm recalibrated; the torch.fx exporter) with two mixed
# configurations, timed with --runs / 10 runs.
#
# Usage: scripts/mpq_latency_additivity.sh [--threads 1,2] [--rounds 3] [--runs 1001]
#          [--resnet18] [--out DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THREADS="1,2"; ROUNDS=3; RUNS=1001; OUT="$ROOT/build/mpq-latency"; NETS="resnet vit"
while (($#)); do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --resnet18) NETS="resnet vit r18"; shift ;;
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
export_bits resnet '{"blocks.": {"w": 4, "a": 8}, "fc": {"w": 4, "a": 8}}' resnet_w4a8
export_bits resnet '{"blocks.": {"w": 8, "a": 4}, "fc": {"w": 8, "a": 4}}' resnet_w8a4
export_bits resnet '{"blocks.0.": {"w": 8, "a": 4}, "blocks.1.": {"w": 4, "a": 8}, "blocks.2.conv2": 4}' resnet_mixC
export_bits vit 8 vit_w8
export_bits vit 4 vit_w4
export_bits vit '{"layers.0.": 4}' vit_mixA
export_bits vit '{"layers.0.q": 4, "layers.0.fc2": 4, "layers.1.fc1": 4, "layers.1.proj": 4, "head": 4}' vit_mixB
cp "$ROOT"/models/fmnist/{resnet,vit}_mixed.{json,bin} "$OUT/"
if [[ "$NETS" == *r18* ]]; then
  echo '{"layer1.": 4, "layer2.0.conv1": 4, "layer3.1.": 4}' > "$OUT/r18_mixA.bits.json"
  echo '{"layer2.": 4, "layer4.0.conv2": 4, "layer4.1.": 4, "layer3.0.downsample.": 4}' > "$OUT/r18_mixB.bits.json"
  for v in w8:8 w4:4 mixA:mixed:$OUT/r18_mixA.bits.json mixB:mixed:$OUT/r18_mixB.bits.json; do
    [[ -f "$OUT/r18_${v%%:*}.json" ]] || (cd "$ROOT" && /usr/bin/python3 -m models.dyad_export \
        torchvision:resnet18 --bn-recalibrate --bits "${v#*:}" --out "$OUT/r18_${v%%:*}.json")
  done
fi

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
for net in $NETS; do
  checks=(--check "${net}_mixA.json" --check "${net}_mixB.json")
  [[ $net == r18 ]] || checks+=(--check "${net}_mixed.json")
  runs=$RUNS warmup=200
  [[ $net != r18 ]] || { runs=$((RUNS / 10)); warmup=10; }
  for t in ${THREADS//,/ }; do
    for r in $(seq "$ROUNDS"); do
      echo "== $net, threads $t, round $r, load: $(cut -d' ' -f1-3 /proc/loadavg)"
      (cd "$OUT" && "$DYAD" mpq latency "${net}_w8.json" "${net}_w4.json" "${checks[@]}" \
          --threads "$t" --warmup "$warmup" --runs "$runs" --out "${net}_t${t}_r${r}.json" |
          sed -n '/^additivity/,$p')
    done
  done
done
for r in $(seq "$ROUNDS"); do
  echo "== resnet, four precisions, threads 1, round $r, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd "$OUT" && "$DYAD" mpq latency resnet_w8.json resnet_w4.json resnet_w4a8.json resnet_w8a4.json \
      --check resnet_mixA.json --check resnet_mixB.json --check resnet_mixC.json --warmup 200 \
      --runs "$RUNS" --out "resnet4p_r${r}.json" | sed -n '/^additivity/,$p')
done
