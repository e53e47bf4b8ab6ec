#!/usr/bin/env bash
# Predictions per second and latency percentiles of the draw server under a bounded loopback
# load from a second process (wrk, Debian's package), with 1 and 16 concurrent clients, each
# for 10 s, POSTing one 280x280 drawing (a real MNIST test digit, enlarged) to /api/predict.
#
#   examples/draw/bench/load.sh ARTIFACTS_DIR        (a trained run, e.g. artifacts/default)
#
# Builds the release server, installs wrk if missing. No test asserts a timing: this prints.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
artifacts="$(cd "${1:?give the artifacts folder of a trained run}" && pwd)"
cd "$root"

if ! command -v wrk >/dev/null; then
  sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get install -y -qq --no-install-recommends wrk >&2
fi
cargo build --release -p draw >&2
target="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

# The drawing: the first MNIST test digit the draw tests use, as a 280x280 PNG.
"$target/release/draw" --artifacts "$artifacts" --port 0 > "$work/server.log" &
server=$!
for _ in $(seq 100); do grep -q http:// "$work/server.log" 2>/dev/null && break; sleep 0.1; done
url="$(grep -o 'http://[0-9.:]*' "$work/server.log")"
mnist="${MNIST_DIR:-$root/../shared/datasets/mnist}"
python3 - "$work/digit.png" "$mnist" <<'PY'
import gzip, os, struct, sys, zlib
# The first test image of MNIST, enlarged 10x, as a grey PNG (standard library only).
with gzip.open(os.path.join(sys.argv[2], "t10k-images-idx3-ubyte.gz")) as f:
    pixels = f.read(16 + 784)[16:]
rows = b"".join(b"\0" + bytes(pixels[(y // 10) * 28 + x // 10] for x in range(280)) for y in range(280))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 280, 280, 8, 0, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
echo "server: $url ($(nproc) cores), drawing: $(stat -c %s "$work/digit.png") bytes"
for clients in 1 16; do
  threads=$(( clients < 2 ? 1 : 2 ))
  echo "--- $clients concurrent client(s), 10 s"
  PNG="$work/digit.png" wrk -t"$threads" -c"$clients" -d10s --latency \
    -s "$root/examples/draw/bench/predict.lua" "$url/api/predict"
done
