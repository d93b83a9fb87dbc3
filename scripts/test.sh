#!/usr/bin/env bash
# Set up (a .venv with the test extras) and run the whole test suite. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
if ! command -v tmux >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq tmux) >/dev/null 2>&1 || echo "warning: could not install tmux; the real-terminal test needs it" >&2
  else
    echo "warning: tmux is missing; the real-terminal test needs it (apt-get install tmux)" >&2
  fi
fi
# Tests never reach the network and never touch your real state dir (tests/conftest.py too).
export SKYPILOT_DISABLE_LOCAL_API_SERVER=1 SKYPILOT_DISABLE_USAGE_COLLECTION=1 WANDB_MODE=disabled
exec .venv/bin/python -m pytest "$@"
