#!/usr/bin/env bash
# Set up (a .venv with the test extras, pinned by requirements/lock.txt) and run the checks:
# import-linter (layers), ruff (lint + format), mypy (types), then the whole test suite.
# Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv '.[test]'
# The project is installed editable, so uv's --compile-bytecode leaves its own modules out. Where
# PYTHONDONTWRITEBYTECODE is set (CI's machines), every child process the suite starts (sweep
# runners, supervisors, trainer ranks, CLI calls) then compiled them again: 0.2-0.8 s each
# (BENCHMARKS.md, "Test suite time"). compileall writes the bytecode whatever that variable says.
.venv/bin/python -m compileall -q -j 0 hwscale_tui tests >/dev/null
if ! command -v tmux >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq tmux) >/dev/null 2>&1 || echo "warning: could not install tmux; the real-terminal test needs it" >&2
  else
    echo "warning: tmux is missing; the real-terminal test needs it (apt-get install tmux)" >&2
  fi
fi
echo "== import-linter"; .venv/bin/lint-imports --no-cache | tail -n 3
echo "== ruff"; .venv/bin/ruff check --no-cache -q . && .venv/bin/ruff format --no-cache --check -q .
echo "== mypy"; .venv/bin/mypy  # [tool.mypy] in pyproject.toml: the package, benchmarks/, scripts/, tests/support/
echo "== pytest"
# Tests never reach the network and never touch your real state dir (tests/conftest.py too).
export SKYPILOT_DISABLE_LOCAL_API_SERVER=1 SKYPILOT_DISABLE_USAGE_COLLECTION=1 WANDB_MODE=disabled
# In 3 worker processes (HWSCALE_TEST_WORKERS; pass -n 0 to run in this process) on CI's 2
# cores: the tests mostly wait for the processes they start, and 2 workers left the cores a
# quarter idle (BENCHMARKS.md, "Test suite time"). --dist loadgroup keeps the tests that share
# the local Slurm cluster in one worker (tests/conftest.py).
exec .venv/bin/python -m pytest -n "${HWSCALE_TEST_WORKERS:-3}" --dist loadgroup "$@"
