#!/usr/bin/env bash
# Installs (once) what the draw app's browser test needs and prints the folder to put in
# NODE_PATH: Debian's Chromium (/usr/bin/chromium) and playwright-core from npm, which drives
# it (playwright-core never downloads a browser of its own). Idempotent and cached.
#
#   scripts/setup-browser.sh     -> /root/.cache/logreg/node-playwright-1.64.1/node_modules
set -euo pipefail

version=1.64.1
cache="${LOGREG_CACHE:-$HOME/.cache/logreg}"
dir="$cache/node-playwright-$version"

missing=()
dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" || missing+=(chromium)
# Node.js and npm may come from elsewhere than Debian's packages: only their commands count.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup-browser.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -f "$dir/.complete" ]; then
  echo "setup-browser.sh: installing playwright-core $version into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent "playwright-core@$version" >&2)
  touch "$dir/.complete"
fi
echo "$dir/node_modules"
