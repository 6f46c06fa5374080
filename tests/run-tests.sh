#!/usr/bin/env bash
# The project's test command: installs the Debian packages it lacks (tests/prerequisites.sh says which and why),
# generates the tiny random-weight checkpoints (with their torch reference scores), installs the npm client libraries
# the HTTP tests drive, checks that the committed tokenizer fixtures are what their generator makes, then runs every
# test. Arguments go to `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")/.."

./tests/prerequisites.sh
python=${FUNCRERANK_PYTHON:-/usr/bin/python3}
"$python" tests/fixtures/models/make_checkpoints.py
# Real client libraries for the end-to-end tests (the official Cohere SDK), pinned by the lock file.
npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error

# The tokenizer fixtures and the scoring pairs are committed, made by Hugging Face's tokenizer (npm tokenizers, pinned
# by its lock file) from models/tokenizer.json. Make them again and fail on any difference, so that they cannot go
# stale beside a changed tokenizer, generator or case list.
fixtures() {
  find tests/fixtures/tokenizer tests/fixtures/scoring -maxdepth 1 -type f \
    ! -name '*.mjs' ! -name '*.md' ! -name 'package*.json' -print0 | sort -z | xargs -0 sha256sum
}
before=$(fixtures)
npm ci --prefix tests/fixtures/tokenizer --no-audit --no-fund --loglevel=error
generator_log=$(mktemp)
if ! node tests/fixtures/tokenizer/generate.mjs > "$generator_log" 2>&1; then
  cat "$generator_log" >&2
  echo "run-tests: tests/fixtures/tokenizer/generate.mjs failed (its output is above)" >&2
  exit 1
fi
rm -f "$generator_log"
if [ "$before" != "$(fixtures)" ]; then
  echo "run-tests: the tokenizer fixtures or scoring pairs differ from what tests/fixtures/tokenizer/generate.mjs makes" >&2
  echo "from models/tokenizer.json (files that changed or appeared: < before, > after):" >&2
  diff <(echo "$before") <(fixtures) >&2 || true
  echo "If the change is meant (a new tokenizer, case or generator), commit the regenerated files (see git diff) and" >&2
  echo "rerun tests/fixtures/models/make_checkpoints.py; if not, the generator is no longer deterministic." >&2
  exit 1
fi

dotnet test FuncRerank.sln "$@"
