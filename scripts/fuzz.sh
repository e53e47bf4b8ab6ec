#!/usr/bin/env bash
# Fuzzes the IDX / gzip reader (crates/data/src/idx.rs) with cargo fuzz (libFuzzer) for the given
# number of seconds (default 600), starting from fuzz/seeds. Installs cargo-fuzz once (crates.io)
# and needs the nightly toolchain. Not part of CI; the README records the last run.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-600}"
command -v cargo-fuzz >/dev/null || cargo +nightly install cargo-fuzz --locked
corpus="${FUZZ_CORPUS:-$HOME/.cache/logreg/fuzz-corpus}"
mkdir -p "$corpus"
# Safe Rust (unsafe is forbidden in the workspace): no sanitizer needed; libFuzzer still catches
# panics, aborts, timeouts and memory use above the RSS limit.
cargo +nightly fuzz run --fuzz-dir fuzz --sanitizer none idx "$corpus" fuzz/seeds -- \
  -max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=1024 -max_len=65536 -timeout=10
