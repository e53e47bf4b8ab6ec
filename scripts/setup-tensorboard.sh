#!/usr/bin/env bash
# Creates (once) the Python virtual environment with TensorBoard, for the test that reads a run's
# event files with TensorBoard's own EventAccumulator and for `tensorboard --logdir`. Cached and
# idempotent: a finished environment is reused as it is. Prints its python's path.
#
#   scripts/setup-tensorboard.sh     -> /root/.cache/logreg/venv-tensorboard-2.21.0/bin/python
#
# Installs from PyPI: tensorboard 2.21.0 (with its protobuf and numpy), nothing else; no
# TensorFlow (TensorBoard reads event files without it).
set -euo pipefail

version=2.21.0
cache="${LOGREG_CACHE:-$HOME/.cache/logreg}"
venv="$cache/venv-tensorboard-$version"

if [ ! -f "$venv/.complete" ]; then
  command -v python3 >/dev/null || { echo "setup-tensorboard.sh: python3 is needed" >&2; exit 1; }
  echo "setup-tensorboard.sh: creating $venv (tensorboard $version from PyPI)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "tensorboard==$version" >&2
  "$venv/bin/python" -c "import tensorboard; print('setup-tensorboard.sh: tensorboard', tensorboard.__version__)" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
