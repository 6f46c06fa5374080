#!/usr/bin/env bash
# Makes sure the machine has what ./tests/run-tests.sh needs, installing the Debian packages it lacks itself.
#   python3-torch, python3-numpy, libopenblas0-pthread: Debian's Python makes the tiny test checkpoints and their torch
#     reference scores (tests/fixtures/models/make_checkpoints.py); OpenBLAS is torch's fast BLAS there.
#   binutils: readelf, for the container image test that reads ONNX Runtime's library links.
#   libicu72: ICU, the NFC normalisation .NET uses; the tokenizer refuses to load without it.
# Installs with apt-get as root, else through sudo (password-less, or asking at a terminal); where neither works (no root, no sudo, not Debian or Ubuntu) it
# says exactly what to install and exits non-zero. The .NET 10 SDK and Node.js with npm are checked, not installed.
# FUNCRERANK_PYTHON names the Python that must import torch and numpy (default /usr/bin/python3, Debian's own).
set -euo pipefail

python=${FUNCRERANK_PYTHON:-/usr/bin/python3}
packages=(python3-torch python3-numpy libopenblas0-pthread binutils libicu72)
why="Debian's torch/numpy make the test checkpoints, binutils reads ONNX Runtime's links, ICU gives .NET its NFC"

say() { echo "prerequisites: $*" >&2; }

missing_tools=()
command -v dotnet > /dev/null || missing_tools+=("the .NET 10 SDK (dotnet): https://dot.net")
command -v npm > /dev/null || missing_tools+=("Node.js 20 with npm: apt-get install nodejs npm, or https://nodejs.org")
if [ ${#missing_tools[@]} -gt 0 ]; then
  for tool in "${missing_tools[@]}"; do say "missing $tool"; done
  exit 1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2> /dev/null | grep -q "install ok installed"; }

if ! command -v dpkg-query > /dev/null || ! command -v apt-get > /dev/null; then
  # Not Debian or Ubuntu: nothing to install with; check what the tests use directly.
  "$python" -c 'import torch, numpy' 2> /dev/null && command -v readelf > /dev/null && exit 0
  say "this is not a Debian/Ubuntu machine (no apt-get); install by hand: $python with torch and numpy, and readelf" \
    "(binutils) and ICU; the Debian names are: ${packages[*]}"
  exit 1
fi

needed=()
for package in "${packages[@]}"; do installed "$package" || needed+=("$package"); done
if [ ${#needed[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt=(apt-get)
  elif command -v sudo > /dev/null && { [ -t 0 ] || sudo -n true 2> /dev/null; }; then
    apt=(sudo apt-get) # at a terminal sudo may ask for the password; elsewhere only password-less sudo gets here
  else
    say "missing ${needed[*]} ($why), and installing needs root or password-less sudo; run:"
    say "  sudo apt-get install -y --no-install-recommends ${needed[*]}"
    exit 1
  fi
  say "installing ${needed[*]} with apt-get ($why)"
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" update -qq > /dev/null
  "${apt[@]}" install -y -qq --no-install-recommends "${needed[@]}" > /dev/null
fi

if ! "$python" -c 'import torch, numpy' 2> /dev/null; then
  say "$python still cannot import torch and numpy after installing ${packages[*]}"
  exit 1
fi
