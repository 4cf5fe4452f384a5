#!/usr/bin/env bash
# Installs the Debian packages LayerLab's tests need (see ../shared/ENVIRONMENT.md):
#  - Mesa 25 lavapipe (Vulkan) from bookworm-backports: WebGPU in Node via Dawn
#  - chromium: end-to-end tests (its SwiftShader ICD is the last-resort adapter)
#  - dataset-fashion-mnist: real data for accuracy tests and the shipped sample
#  - python3-torch, python3-onnx: parity checks of exports
# Idempotent: skips what is already there. Needs root (apt-get).
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
mesa_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [[ "$v" == 25* || "$v" == 26* || "$v" == 27* ]]
}
for p in chromium dataset-fashion-mnist python3-torch python3-onnx python3-numpy; do
  have_pkg "$p" || need+=("$p")
done
if mesa_ok && [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "Missing system packages (${need[*]} ${mesa_ok:-mesa-vulkan-drivers>=25}). Run as root: bash .ci/install-system-packages.sh" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q 'bookworm-backports' "$src"; then
  sed -i '0,/^Suites: bookworm bookworm-updates$/s//Suites: bookworm bookworm-updates bookworm-backports/' "$src"
fi
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
fi
apt-get update -q
if ! mesa_ok; then
  apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers libegl-mesa0 libgl1-mesa-dri
fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
echo "system packages: installed"
