#!/usr/bin/env bash
# Installs the Debian 12 packages dyad needs, only those that are missing.
# Safe to run again: with everything present it does nothing and takes a second.
set -euo pipefail

PACKAGES=(
  cmake g++ make pkg-config
  # clang + libFuzzer's runtime: the fuzz targets in tests/fuzz (scripts/fuzz.sh).
  clang libfuzzer-14-dev
  # ocl-icd-opencl-dev: only recommended by libdnnl-dev, but oneDNN's CMake
  # config calls find_package(OpenCL) and fails without it.
  zlib1g-dev libdnnl-dev ocl-icd-opencl-dev libbenchmark-dev libgtest-dev nlohmann-json3-dev
  python3 python3-numpy python3-torch python3-torchvision python3-matplotlib
  # python3-onnx: bench/peers/quantize_onnx.py (the ONNX Runtime peer's INT8 models).
  python3-onnx
  dataset-fashion-mnist
  # coinor-cbc: the MIP program `dyad mpq solve` runs (a separate process, never
  # linked) when its exact DP exceeds the state cap; tests cross-check against it.
  coinor-cbc
  # dyad serve: the HTTP server library; wrk only for the serving benchmark (bench/serve).
  libcpp-httplib-dev wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "dyad: installing missing packages: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
