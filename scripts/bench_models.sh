#!/usr/bin/env bash
# Whole-model speed of dyad against ONNX Runtime (npm onnxruntime-node) on the
# same CPU, in the same run: ResNet-18, MobileNetV2 (torchvision, random
# weights, INT8) and BERT-base (seq 128; dyad's I-BERT model vs a float BERT
# quantized dynamically for ONNX Runtime). bench/peers/README.md explains how
# each model is made.
#
# Usage: scripts/bench_models.sh [--models resnet18,mobilenet_v2,bert-base]
#          [--threads 1,2] [--rounds 3] [--iters 20] [--out DIR] [--no-variants]
# Models are generated once into DIR (default build/peer-models, about 1 GB);
# measurements are appended to DIR/results.jsonl and summarized as a table,
# DIR/summary.json and DIR/ratios.png. Besides dyad's W8A8 model, each model
# also runs as dyad variants (--no-variants: not): BERT-base V:N:M 64:2:8
# sparse (`dyad prune`) and mixed (4-bit FFN weights, `models.ibert_gen --w4
# ffn1,ffn2`), the CNNs mixed INT4/INT8 (bench/peers/mixed_bits.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODELS="resnet18,mobilenet_v2,bert-base"; THREADS="1,2"; ROUNDS=3; ITERS=20; VARIANTS=1
OUT="$ROOT/build/peer-models"
while (($#)); do
  case "$1" in
    --models) MODELS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --iters) ITERS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --no-variants) VARIANTS=0; shift ;;
    *) echo "bench_models.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
PY=/usr/bin/python3
DYAD="$ROOT/build/dyad"
PEERS="$ROOT/bench/peers"

"$ROOT/scripts/install_deps.sh"
[[ -x "$DYAD" ]] || "$ROOT/scripts/build.sh"
if ! command -v node > /dev/null; then
  echo "dyad: installing nodejs and npm (ONNX Runtime's npm package runs on Node.js)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
if [[ ! -d "$PEERS/node_modules/onnxruntime-node" ]]; then
  # --ignore-scripts: the package's install script only fetches optional GPU
  # binaries (from nuget.org); the CPU library ships inside the npm package.
  (cd "$PEERS" && npm install --ignore-scripts --no-audit --no-fund)
fi
mkdir -p "$OUT"
cd "$ROOT"

make_models() {
  local m="$1"
  if [[ "$m" == bert-base ]]; then
    [[ -f "$OUT/$m.json" ]] || $PY -m models.ibert_gen --preset bert-base --out "$OUT/$m.json" --samples 0
    [[ -f "$OUT/${m}_fp32.onnx" ]] || $PY -m bench.peers.export_onnx bert-base --out "$OUT/${m}_fp32.onnx"
    [[ -f "$OUT/${m}_int8.onnx" ]] || $PY -m bench.peers.quantize_onnx dynamic "$OUT/${m}_fp32.onnx" --out "$OUT/${m}_int8.onnx"
    if ((VARIANTS)) && [[ ! -f "$OUT/${m}_64_2_8.json" ]]; then
      "$DYAD" prune "$OUT/$m.json" --out "$OUT/${m}_64_2_8.json" --v 64 --m 8 > /dev/null
    fi
    if ((VARIANTS)) && [[ ! -f "$OUT/${m}_mixed.json" ]]; then
      $PY -m models.ibert_gen --preset bert-base --w4 ffn1,ffn2 --out "$OUT/${m}_mixed.json" --samples 0
    fi
  else
    if ((VARIANTS)) && [[ ! -f "$OUT/${m}_mixed.json" ]]; then
      $PY -m bench.peers.mixed_bits "torchvision:$m" --out "$OUT/${m}_mixed_bits.json"
      $PY -m models.dyad_export "torchvision:$m" --bits "mixed:$OUT/${m}_mixed_bits.json" --bn-recalibrate \
        --out "$OUT/${m}_mixed.json"
    fi
    [[ -f "$OUT/$m.json" ]] || $PY -m models.dyad_export "torchvision:$m" --bits 8 --bn-recalibrate --out "$OUT/$m.json"
    [[ -f "$OUT/${m}_fp32.onnx" ]] || $PY -m bench.peers.export_onnx "torchvision:$m" --out "$OUT/${m}_fp32.onnx"
    if [[ ! -f "$OUT/${m}_int8.onnx" ]]; then
      $PY -m bench.peers.quantize_onnx calib-model "$OUT/${m}_fp32.onnx" --out "$OUT/${m}_calib.onnx"
      node "$PEERS/ort_run.mjs" --model "$OUT/${m}_calib.onnx" --input "$(ort_inputs "$m")" \
        --ranges "$OUT/${m}_ranges.json" --samples 8
      $PY -m bench.peers.quantize_onnx qdq "$OUT/${m}_fp32.onnx" --ranges "$OUT/${m}_ranges.json" \
        --out "$OUT/${m}_int8.onnx"
      rm -f "$OUT/${m}_calib.onnx"
    fi
  fi
}

ort_inputs() {  # the --input flags of ort_run.mjs (one per line for BERT)
  if [[ "$1" == bert-base ]]; then echo "input_ids:int64:1x128"; else echo "image:float32:1x3x224x224"; fi
}

ort_time() {  # model runtime threads -> median ms
  local m="$1" file="$OUT/$1_$2.onnx" threads="$3" flags=(--input "$(ort_inputs "$1")")
  [[ "$m" == bert-base ]] && flags+=(--input attention_mask:int64:1x128)
  node "$PEERS/ort_run.mjs" --model "$file" "${flags[@]}" --threads "$threads" --warmup 3 \
    --iters "$ITERS" | $PY -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])'
}

dyad_time() {  # model-file-stem threads -> p50 ms
  "$DYAD" bench "$OUT/$1.json" --threads "$2" --warmup 3 --iters "$ITERS" \
    | sed -n 's/.* p50 \([0-9.e+-]*\) .*/\1/p'
}

variants_of() {  # model -> the dyad variant runtime names ("" when none)
  if ((!VARIANTS)); then echo ""; elif [[ "$1" == bert-base ]]; then echo dyad-64:2:8 dyad-mixed; else echo dyad-mixed; fi
}

IFS=, read -ra model_list <<< "$MODELS"
IFS=, read -ra thread_list <<< "$THREADS"
for m in "${model_list[@]}"; do make_models "$m"; done
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
echo "== $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $("$DYAD" info "$OUT/${model_list[0]}.json" | grep '^cpu' || true)"
for ((r = 1; r <= ROUNDS; ++r)); do
  for m in "${model_list[@]}"; do
    for t in "${thread_list[@]}"; do
      # dyad and its peers alternate inside a round: the same load for all.
      for runtime in dyad $(variants_of "$m") ort-int8 ort-fp32; do
        case "$runtime" in
          dyad) ms="$(dyad_time "$m" "$t")" ;;
          dyad-64:2:8) ms="$(dyad_time "${m}_64_2_8" "$t")" ;;
          dyad-mixed) ms="$(dyad_time "${m}_mixed" "$t")" ;;
          ort-int8) ms="$(ort_time "$m" int8 "$t")" ;;
          ort-fp32) ms="$(ort_time "$m" fp32 "$t")" ;;
        esac
        echo "{\"round\": $r, \"model\": \"$m\", \"threads\": $t, \"runtime\": \"$runtime\", \"median_ms\": $ms}" \
          | tee -a "$RESULTS"
      done
    done
  done
done
$PY -m bench.peers.report_models "$RESULTS" --json "$OUT/summary.json" --plot "$OUT/ratios.png" \
  --cpu "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) vCPUs"
