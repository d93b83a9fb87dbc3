#!/usr/bin/env bash
# Set up (a .venv with the product, pinned by requirements/lock.txt; only when missing or
# changed) and open the app on the current experiment (the embedded local default: built-in
# runner, local dispatcher, local store).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv .
exec .venv/bin/hwscale-tui "$@"
