#!/usr/bin/env bash
# The project's test command: every crate's unit, integration and doc tests, on real MNIST.
#
#   scripts/test.sh            # MNIST from $MNIST_DIR, else ../shared/datasets/mnist
#   scripts/test.sh -p data    # extra arguments go to `cargo test`
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ -z "${MNIST_DIR:-}" ] && [ -d "$root/../shared/datasets/mnist" ]; then
  export MNIST_DIR="$root/../shared/datasets/mnist"
fi
if [ -z "${MNIST_DIR:-}" ]; then
  echo "warning: MNIST_DIR is not set: the tests that train on real MNIST will be skipped" >&2
fi

cargo test --workspace "$@"
