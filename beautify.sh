#!/usr/bin/env bash
# Format and lint (ruff also sorts imports). Uses the project's .venv when present.
set -euo pipefail
cd "$(dirname "$0")"
RUFF=ruff
[ -x .venv/bin/ruff ] && RUFF=.venv/bin/ruff
"$RUFF" format .
"$RUFF" check --fix .
