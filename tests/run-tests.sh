#!/usr/bin/env bash
# The project's test command: generates the tiny random-weight checkpoints (with their torch reference scores),
# installs the npm client libraries the HTTP tests drive, then runs every test. Needs the .NET 10 SDK, Node.js 20 with
# npm, and Debian's python3-torch + python3-numpy (see README, Tests).
set -euo pipefail
cd "$(dirname "$0")/.."

python=/usr/bin/python3
if ! "$python" -c 'import torch, numpy' 2>/dev/null; then
  echo "run-tests: $python cannot import torch and numpy; install them with:" >&2
  echo "  sudo apt-get install -y python3-torch python3-numpy libopenblas0-pthread" >&2
  exit 1
fi

"$python" tests/fixtures/models/make_checkpoints.py
# Real client libraries for the end-to-end tests (the official Cohere SDK), pinned by the lock file.
npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error
dotnet test FuncRerank.sln "$@"
