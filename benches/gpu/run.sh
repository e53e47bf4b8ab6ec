#!/usr/bin/env bash
# The GPU route, step 2 (there, on the GPU machine, from the bundle benches/gpu/prepare.sh made):
# `trainer bench` on LibTorch CUDA and the PyTorch CUDA reference, for each zoo model, back to
# back; the JSON results go to $OUT (the device tool brings them back).
#
#   bash gpu-bundle/run.sh [REPEATS]      (default 2: ours, theirs, ours, theirs)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$here/results}"
repeats="${1:-2}"
mkdir -p "$out"
cd "$here"
[ -x trainer ] || xz -dc trainer.xz > trainer && chmod +x trainer
LD_LIBRARY_PATH="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__) + "/lib")')"
export LD_LIBRARY_PATH
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a "$out/gpu.txt"

for model in logistic mlp cnn; do
  for repeat in $(seq 1 "$repeats"); do
    ./trainer bench --model "$model" --backend tch-cuda --data-dir mnist \
      --json "$out/burn-$model-$repeat.json" 2>&1 | tail -4
    python3 benches/pytorch_reference.py --model "$model" --data-dir mnist --style preloaded \
      --device cuda --threads 2 --json "$out/pytorch-$model-$repeat.json" > /dev/null
    python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))[0]
print(f"{r[\"name\"]:<24} {r[\"train_seconds\"] / r[\"epochs\"]:.3f} s/epoch  {r[\"test_accuracy\"]:.4f}")' \
      "$out/pytorch-$model-$repeat.json"
  done
done
