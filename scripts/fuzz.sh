#!/usr/bin/env bash
# Fuzzes one of the parsers of untrusted input with cargo fuzz (libFuzzer) for the given number
# of seconds (default 600), starting from fuzz/seeds/<target>:
#   idx          the IDX / gzip reader (crates/data/src/idx.rs)
#   config       the training-config parser and its validation (crates/learner/src/config.rs)
#   safetensors  the PyTorch weights importer (crates/model/src/pytorch.rs)
# Installs cargo-fuzz once (crates.io) and needs the nightly toolchain. Not part of CI; the docs
# record the last runs.
#   scripts/fuzz.sh [TARGET] [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target="${1:-idx}"
seconds="${2:-600}"
case "$target" in
  idx|config|safetensors) ;;
  *) echo "fuzz.sh: unknown target '$target' (idx, config or safetensors)" >&2; exit 2 ;;
esac
command -v cargo-fuzz >/dev/null || cargo +nightly install cargo-fuzz --locked
corpus="${FUZZ_CORPUS:-$HOME/.cache/logreg/fuzz-corpus}/$target"
mkdir -p "$corpus"
# Safe Rust (unsafe is forbidden in the workspace): no sanitizer needed; libFuzzer still catches
# panics, aborts, timeouts and memory use above the RSS limit.
cargo +nightly fuzz run --fuzz-dir fuzz --sanitizer none "$target" "$corpus" "fuzz/seeds/$target" -- \
  -max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=1024 -max_len=65536 -timeout=10
