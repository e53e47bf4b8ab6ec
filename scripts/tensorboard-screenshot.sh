#!/usr/bin/env bash
# Serves a folder of runs with TensorBoard on 127.0.0.1 and takes screenshots of its Scalars
# and HParams views in headless Chromium (docs/tensorboard.png, docs/tensorboard-hparams.png).
#
#   scripts/tensorboard-screenshot.sh RUNS_FOLDER OUT_DIR
#
# Uses the environments of scripts/setup-tensorboard.sh and scripts/setup-browser.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="$(cd "${1:?give the folder that holds the runs}" && pwd)"
out="$(mkdir -p "${2:?give the folder for the screenshots}" && cd "$2" && pwd)"
python="$("$root/scripts/setup-tensorboard.sh")"
node_path="$("$root/scripts/setup-browser.sh")"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$(mktemp)"
"$(dirname "$python")/tensorboard" --logdir "$runs" --host 127.0.0.1 --port "$port" \
  --samples_per_plugin scalars=5000 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 150); do
  curl -fs "http://127.0.0.1:$port/data/runs" >/dev/null 2>&1 && break
  sleep 0.2
done
NODE_PATH="$node_path" node "$root/scripts/tensorboard-screenshot.cjs" "http://127.0.0.1:$port" "$out"
