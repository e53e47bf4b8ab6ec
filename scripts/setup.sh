#!/usr/bin/env bash
# Installs the system packages the tests and CI need. Idempotent: installs only what is missing.
#
#   dataset-fashion-mnist   Fashion-MNIST in /usr/share/datasets/fashion-mnist (tests of the
#                           `dataset` setting)
#   mesa-vulkan-drivers     Mesa's Vulkan drivers, among them lavapipe (llvmpipe), a Vulkan
#   libvulkan1              device on the CPU, and the Vulkan loader: the wgpu backend's tests
#                           run on them on machines without a GPU
#   tmux                    a real terminal for the dashboard test (it drives the trainer's
#                           dashboard through tmux and reads the screen)
set -euo pipefail

packages=(dataset-fashion-mnist mesa-vulkan-drivers libvulkan1 tmux)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: system packages present (${packages[*]})"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
