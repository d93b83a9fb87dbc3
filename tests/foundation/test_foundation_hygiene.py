"""Core modules never pull in textual, wandb or sky; the CLI answers --version and --help."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import hwscale_tui
from tests.support.cli import REPO, hwscale_cmd

HEAVY = ("textual", "wandb", "sky")


def core_modules() -> list[str]:
    names = []
    for m in pkgutil.walk_packages(hwscale_tui.__path__, "hwscale_tui."):
        if m.name.startswith("hwscale_tui.tui") or m.name == "hwscale_tui.__main__":
            continue
        names.append(m.name)
    return sorted(names)


def test_core_module_list_is_not_empty():
    mods = core_modules()
    assert (
        "hwscale_tui.config" in mods and "hwscale_tui.cli" in mods and "hwscale_tui.store" in mods
    )


def test_no_core_module_imports_textual_wandb_or_sky():
    code = (
        "import importlib, sys, json\n"
        f"mods = {core_modules()!r}\n"
        "bad = {}\n"
        "for name in mods:\n"
        "    before = set(sys.modules)\n"
        "    importlib.import_module(name)\n"
        f"    hits = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]\n"
        "    if hits: bad[name] = sorted(hits)[:3]; break\n"
        "print(json.dumps(bad))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "{}", f"heavy import from a core module: {r.stdout}"


def test_version_and_help():
    r = subprocess.run(hwscale_cmd("--version"), capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"hwscale-tui {hwscale_tui.__version__}"
    r = subprocess.run(hwscale_cmd("--help"), capture_output=True, text=True)
    assert r.returncode == 0 and "plan" in r.stdout and "usage: hwscale-tui" in r.stdout


def test_unknown_command_exits_2():
    r = subprocess.run(hwscale_cmd("frobnicate"), capture_output=True, text=True)
    assert r.returncode == 2 and "invalid choice" in r.stderr
