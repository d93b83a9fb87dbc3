# Sourced by scripts/run.sh and scripts/test.sh: make .venv and install the project from the
# lock file, but only when the venv is missing or pyproject.toml / requirements/lock.txt changed
# since the last install of this kind (a stamp in .venv). Otherwise it does nothing, so a second
# start is fast and works with the package index unreachable.
# usage: ensure_venv SPEC   (SPEC is what pip installs, e.g. "." or ".[test]")
ensure_venv() {
  local spec=$1 py=${PYTHON:-python3} stamp want
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
  fi
  want=$(cat pyproject.toml requirements/lock.txt | sha256sum | cut -c1-16)
  stamp=".venv/.hwscale-installed-$(printf '%s' "$spec" | tr -c 'a-z' '_')"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -c requirements/lock.txt -e "$spec"
    printf '%s\n' "$want" > "$stamp"
  fi
}
