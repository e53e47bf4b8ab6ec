# Sourced by scripts/test.sh and .ci/run: installs what the tests need (idempotent) and exports
# the environment they run in.
#
#   FEATURES      cargo features of the test build (default: every backend this machine can
#                 run: ndarray, flex, wgpu, tch). FEATURES=ndarray skips
#                 the LibTorch install.
#   CI_BACKENDS   the backends the backend tests must find compiled in (derived from FEATURES)
#   MNIST_DIR     default ../shared/datasets/mnist when that folder exists
#   TENSORBOARD_PYTHON  a Python with TensorBoard (scripts/setup-tensorboard.sh), for the test
#                 that reads runs with TensorBoard's own reader
#   DRAW_NODE_PATH      node_modules with playwright-core, Debian's Chromium installed
#                 (scripts/setup-browser.sh), for the draw page's browser test
#   NO_EXTRAS=1   skips those two (their tests then say SKIPPED; under CI they fail)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

FEATURES="${FEATURES-ndarray,flex,wgpu,tch}"
export FEATURES
CI_BACKENDS="$FEATURES"
export CI_BACKENDS
# `cargo --features` takes them per package in a workspace: trainer forwards each to learner.
CARGO_FEATURES="$(echo "$FEATURES" | tr ',' '\n' | sed '/^$/d; s/^/trainer\//' | paste -sd, -)"
export CARGO_FEATURES

"$root/scripts/setup.sh"
if [ -z "${NO_EXTRAS:-}" ]; then
  TENSORBOARD_PYTHON="${TENSORBOARD_PYTHON:-$("$root/scripts/setup-tensorboard.sh")}"
  DRAW_NODE_PATH="${DRAW_NODE_PATH:-$("$root/scripts/setup-browser.sh")}"
  export TENSORBOARD_PYTHON DRAW_NODE_PATH
fi
case ",$FEATURES," in
  *,tch,*) eval "$("$root/scripts/install-libtorch.sh" --print-env)" ;;
esac

if [ -z "${MNIST_DIR:-}" ] && [ -d "$root/../shared/datasets/mnist" ]; then
  MNIST_DIR="$(cd "$root/../shared/datasets/mnist" && pwd)"
  export MNIST_DIR
fi
if [ -z "${MNIST_DIR:-}" ]; then
  echo "warning: MNIST_DIR is not set: the tests that train on real MNIST will be skipped" >&2
fi

# Mesa's Vulkan driver complains on stderr ("XDG_RUNTIME_DIR is invalid") when it is unset, as
# on CI machines without a login session; give it a private one.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d)"
  chmod 700 "$XDG_RUNTIME_DIR"
  export XDG_RUNTIME_DIR
fi
