#!/usr/bin/env bash
# Installs LibTorch 2.9.0 (CPU) for burn's `tch` backend without pytorch.org, from PyPI's wheels.
# Cached and idempotent: a second run finds the finished install and does nothing.
#
#   scripts/install-libtorch.sh              install (about 1.4 GB on disk; downloads ~0.9 GB once)
#   scripts/install-libtorch.sh --print-env  install if needed, then print the `export` lines a
#                                            shell needs to build with `--features tch`:
#                                            eval "$(scripts/install-libtorch.sh --print-env)"
#   scripts/install-libtorch.sh --path       print the LibTorch folder only
#
# Where: $LOGREG_CACHE/libtorch-2.9.0-cpu (LOGREG_CACHE defaults to ~/.cache/logreg).
#
# How (see ../shared/notes/libtorch.md): PyPI's torch==2.9.0 wheel holds a complete LibTorch under
# torch/. It is a CUDA build, so its CUDA libraries are deleted (torch-sys then links the CPU
# libraries only), and the two small NVIDIA wheels that libtorch_cpu.so still loads
# (libcudart.so.12, libcupti.so.12) are unpacked beside it, where its RUNPATH finds them.
set -euo pipefail

version=2.9.0
cache="${LOGREG_CACHE:-$HOME/.cache/logreg}"
target="$cache/libtorch-$version-cpu"
libtorch="$target/torch"

mode="install"
case "${1:-}" in
  "") ;;
  --print-env) mode="env" ;;
  --path) mode="path" ;;
  -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
  *) echo "install-libtorch.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

say() { if [ "$mode" = "install" ]; then echo "$@"; else echo "$@" >&2; fi; }

if [ ! -f "$target/.complete" ]; then
  command -v python3 >/dev/null || { echo "install-libtorch.sh: python3 is needed (for pip)" >&2; exit 1; }
  command -v unzip >/dev/null || {
    say "install-libtorch.sh: installing unzip"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get install -y -qq unzip >/dev/null
  }
  mkdir -p "$cache"
  work="$(mktemp -d "$cache/.libtorch-XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  say "install-libtorch.sh: downloading torch==$version and two NVIDIA runtime wheels from PyPI"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --python-version 3.11 --implementation cp \
    -d "$work/wheels" \
    "torch==$version" nvidia-cuda-runtime-cu12==12.8.90 nvidia-cuda-cupti-cu12==12.8.90 >&2
  say "install-libtorch.sh: unpacking"
  mkdir -p "$work/out"
  for wheel in "$work"/wheels/*.whl; do
    unzip -q -o "$wheel" 'torch/include/*' 'torch/lib/*' 'torch/share/*' 'nvidia/*' -d "$work/out" 2>/dev/null \
      || [ -d "$work/out/torch/lib" ] || [ -d "$work/out/nvidia" ]
  done
  [ -f "$work/out/torch/lib/libtorch_cpu.so" ] || { echo "install-libtorch.sh: the wheel held no torch/lib/libtorch_cpu.so" >&2; exit 1; }
  # CPU only: without these, torch-sys links libtorch_cpu and libc10 and nothing that needs a GPU.
  rm -f "$work"/out/torch/lib/libtorch_cuda*.so "$work/out/torch/lib/libc10_cuda.so" \
        "$work/out/torch/lib/libcaffe2_nvrtc.so" "$work/out/torch/lib/libtorch_nvshmem.so"
  echo "$version" > "$work/out/VERSION"
  touch "$work/out/.complete"
  rm -rf "$target"
  mv "$work/out" "$target"
  say "install-libtorch.sh: installed LibTorch $version (CPU) in $libtorch"
else
  say "install-libtorch.sh: LibTorch $version (CPU) already installed in $libtorch"
fi

case "$mode" in
  env)
    echo "export LIBTORCH=$libtorch"
    echo "export LD_LIBRARY_PATH=$libtorch/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
    ;;
  path) echo "$libtorch" ;;
esac
