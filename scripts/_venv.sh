# Sourced by scripts/run.sh and scripts/test.sh: make .venv and install the project from the
# lock file, but only when the venv is missing or pyproject.toml / requirements/lock.txt changed
# since the last install of this kind (a stamp in .venv). Otherwise it does nothing, so a second
# start is fast and works with the package index unreachable.
# usage: ensure_venv SPEC   (SPEC is what pip installs, e.g. "." or ".[test]")
#
# The install goes through uv (pinned below) when it can be had: it installs the test extras in
# about 10 s where pip takes over 2 minutes (docs/dependencies.md). When uv cannot be had (no index
# to fetch it from) or fails, pip installs the same pins. uv compiles the installed modules to
# bytecode (as pip does): unlike pip it does not by default, and where PYTHONDONTWRITEBYTECODE is set
# every Python process then compiled scipy and scikit-learn again (importing the optimizer took
# 5.5 s instead of 1.6 s).
HWSCALE_UV_VERSION=0.13.9

_hwscale_uv() {  # prints the venv's uv, installing it first if needed; nothing if it cannot
  if [ ! -x .venv/bin/uv ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check "uv==$HWSCALE_UV_VERSION" >/dev/null 2>&1 || true
  fi
  if [ -x .venv/bin/uv ]; then echo .venv/bin/uv; fi
}

ensure_venv() {
  local spec=$1 py=${PYTHON:-python3} stamp want uv
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
  fi
  want=$(cat pyproject.toml requirements/lock.txt | sha256sum | cut -c1-16)
  stamp=".venv/.hwscale-installed-$(printf '%s' "$spec" | tr -c 'a-z' '_')"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    uv=$(_hwscale_uv)
    if [ -z "$uv" ] || ! "$uv" pip install -q --compile-bytecode --python .venv/bin/python -c requirements/lock.txt -e "$spec"; then
      [ -n "$uv" ] && echo "uv could not install $spec; installing with pip instead" >&2
      .venv/bin/python -m pip install -q --disable-pip-version-check -c requirements/lock.txt -e "$spec"
    fi
    printf '%s\n' "$want" > "$stamp"
  fi
}
