#!/usr/bin/env bash
# The project's test command: every crate's unit, integration and doc tests, on real MNIST, with
# every backend this machine can run compiled into one build (see scripts/env.sh).
#
#   scripts/test.sh                    # all backends; installs Vulkan's CPU driver and LibTorch once
#   FEATURES=ndarray scripts/test.sh   # the CPU backend only, nothing to install but Fashion-MNIST
#   scripts/test.sh -p data            # extra arguments go to `cargo test`
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/env.sh

cargo test --workspace --features "$CARGO_FEATURES" "$@"
