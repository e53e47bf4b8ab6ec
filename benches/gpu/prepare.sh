#!/usr/bin/env bash
# The GPU route, step 1 (here, on a development machine): builds a trainer for LibTorch CUDA and
# gathers what the GPU machine needs into one folder to carry there (docs/benchmarks.md, "The
# GPU route"; ../shared/notes/gpu-machine.md says why this way).
#
#   benches/gpu/prepare.sh [MNIST_DIR] [BUNDLE]     (defaults: ../shared/datasets/mnist, gpu-bundle)
#
# 1. downloads, once, PyTorch 2.11.0+cu130's wheel from PyPI (530 MB, the version of the GPU
#    machine's PyTorch) and unpacks its LibTorch (include/, lib/, share/) into the cache;
# 2. builds `trainer` with the tch feature against it, in a target folder of its own (the CUDA
#    libraries libtorch_cuda.so needs are on the GPU machine, not here: linked with
#    --allow-shlib-undefined);
# 3. writes BUNDLE (inside the repository, git-ignored): trainer.xz, MNIST's four .gz files, the
#    PyTorch reference and the configs it reads, and run.sh, the script to run there.
#
# Then: the device tool runs `bash BUNDLE/run.sh` with BUNDLE in its carry list.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
mnist="$(cd "${1:-$root/../shared/datasets/mnist}" && pwd)"
bundle="$root/${2:-gpu-bundle}"
cache="${LOGREG_CACHE:-$HOME/.cache/logreg}"
libtorch="$cache/libtorch-2.11.0-cu130"

for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -f "$mnist/$name.gz" ] || { echo "prepare.sh: $mnist/$name.gz is missing: give the MNIST folder" >&2; exit 1; }
done

if [ ! -f "$libtorch/.complete" ]; then
  wheels="$cache/wheels"
  mkdir -p "$wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 -d "$wheels" torch==2.11.0 >&2
  wheel="$(ls "$wheels"/torch-2.11.0-*.whl | head -1)"
  rm -rf "$libtorch" && mkdir -p "$libtorch"
  python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith(("torch/include/", "torch/lib/", "torch/share/"))])' \
    "$wheel" "$libtorch"
  touch "$libtorch/.complete"
fi

target="$cache/target-gpu"
CARGO_TARGET_DIR="$target" LIBTORCH="$libtorch/torch" LIBTORCH_BYPASS_VERSION_CHECK=1 \
  RUSTFLAGS="-C link-arg=-Wl,--allow-shlib-undefined" \
  cargo build --release --locked -p trainer --no-default-features --features tch --manifest-path "$root/Cargo.toml" >&2

rm -rf "$bundle"
mkdir -p "$bundle/mnist" "$bundle/benches" "$bundle/configs"
strip -o "$bundle/trainer" "$target/release/trainer"
xz -T0 -6 "$bundle/trainer"
cp "$mnist"/*-ubyte.gz "$bundle/mnist/"
cp "$root/benches/pytorch_reference.py" "$bundle/benches/"
cp "$root"/configs/{default,mlp,cnn}.json "$bundle/configs/"
cp "$root/benches/gpu/run.sh" "$bundle/run.sh"
grep -qx "/${2:-gpu-bundle}" "$root/.git/info/exclude" 2>/dev/null || echo "/${2:-gpu-bundle}" >> "$root/.git/info/exclude"
du -sh "$bundle" >&2
echo "$bundle"
