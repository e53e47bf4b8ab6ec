#!/usr/bin/env bash
# Creates (once) the Python virtual environment of the PyTorch reference benchmark and prints its
# python's path. Cached and idempotent: a finished environment is reused as it is.
#
#   benches/setup-venv.sh            -> /root/.cache/logreg/venv-torch-2.9.0/bin/python
#
# Installs from PyPI: torch 2.9.0 and torchvision 0.24.0 (the pair of the article's PyTorch 2.9;
# PyPI's Linux wheels are CUDA builds and pull in NVIDIA's runtime wheels, several GB, once).
set -euo pipefail

cache="${LOGREG_CACHE:-$HOME/.cache/logreg}"
venv="$cache/venv-torch-2.9.0"

if [ ! -f "$venv/.complete" ]; then
  command -v python3 >/dev/null || { echo "setup-venv.sh: python3 is needed" >&2; exit 1; }
  echo "setup-venv.sh: creating $venv (torch 2.9.0, torchvision 0.24.0 from PyPI)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet torch==2.9.0 torchvision==0.24.0 >&2
  "$venv/bin/python" -c "import torch, torchvision; print('setup-venv.sh: torch', torch.__version__, 'torchvision', torchvision.__version__)" >&2
  touch "$venv/.complete"
fi
# safetensors, for the PyTorch interop check (benches/pytorch_interop.py); added later, so
# installed on its own into an existing venv.
if [ ! -f "$venv/.safetensors" ]; then
  "$venv/bin/python" -m pip install --quiet safetensors==0.6.2 packaging >&2
  touch "$venv/.safetensors"
fi
echo "$venv/bin/python"
