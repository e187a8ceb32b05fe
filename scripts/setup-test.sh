#!/usr/bin/env bash
# npm run setup:test: the system packages the tests need, installed with apt-get when missing
# (Debian; run as root, as CI does). Chromium for test/browser.test.ts; PyTorch and NumPy as
# /usr/bin/python3 sees them for src/io/torch.test.ts (`python3` first on PATH may be another
# interpreter). On x86-64, an ARM64 cross compiler and qemu-user for
# src/backend/native/portable.test.ts (the native backend's portable kernels run as ARM64 code).
# Does nothing when everything is there.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ! /usr/bin/python3 -c "import torch, numpy" >/dev/null 2>&1; then need+=(python3-torch python3-numpy); fi
if [ "$(uname -m)" = "x86_64" ]; then
  command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || need+=(g++-aarch64-linux-gnu)
  command -v qemu-aarch64 >/dev/null 2>&1 || need+=(qemu-user)
fi
if [ ${#need[@]} -eq 0 ]; then
  echo "setup:test: chromium, PyTorch and the ARM64 tools are installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup:test: missing ${need[*]}, and there is no apt-get here: install them by hand (or set RNNKIT_SKIP_TORCH=1 to skip the PyTorch tests)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup:test: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
