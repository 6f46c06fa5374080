#!/usr/bin/env bash
# The project's test command: installs the Debian packages it lacks (tests/prerequisites.sh says which and why),
# generates the tiny random-weight checkpoints (with their torch reference scores), installs the npm client libraries
# the HTTP tests drive, then runs every test. Arguments go to `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")/.."

./tests/prerequisites.sh
python=${FUNCRERANK_PYTHON:-/usr/bin/python3}
"$python" tests/fixtures/models/make_checkpoints.py
# Real client libraries for the end-to-end tests (the official Cohere SDK), pinned by the lock file.
npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error
dotnet test FuncRerank.sln "$@"
