#!/usr/bin/env bash
# Set up (a .venv with the product) and open the app on the current experiment
# (the embedded local default: built-in runner, local dispatcher, local store).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/hwscale-tui "$@"
