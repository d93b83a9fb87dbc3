"""A first-time user's path through README.md (QA pass 92).

The README's "same core without the app" block is what a new user pastes first; each test reads
the README itself, so it fails when the README and the code drift apart, whichever one moved.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
README = REPO / "README.md"


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _command_lines() -> list[str]:
    """The README's indented example lines that run ``hwscale-tui``."""
    return [
        line.strip()
        for line in _readme().splitlines()
        if line.startswith("    hwscale-tui ") or line.startswith("    bash ")
    ]


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """Each command's parser by its name (``metta install-tool`` for Metta's subcommands)."""
    from hwscale_tui.cli import build_parser

    def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        action = next(
            (a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None
        )
        return dict(action.choices) if action else {}

    found = {}
    for name, parser in subparsers(build_parser()).items():
        found[name] = parser
        for inner, inner_parser in subparsers(parser).items():
            found[f"{name} {inner}"] = inner_parser
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


def test_every_flag_of_the_readmes_command_block_is_one_the_command_takes():
    """Each flag a README example line gives a command -- on the line itself (`plan --json
    --save exp.toml`) or in its comment (`analyze --trials t.csv --history h.csv reads both`)
    -- is one that command's parser takes, so a user pasting it never meets "unrecognized
    arguments"."""
    parsers = _parsers()
    names = sorted(parsers, key=len, reverse=True)  # "metta install-tool" before "metta"
    in_comment = re.compile(
        r"(?<![\w-])(" + "|".join(names) + r")((?: --?[a-zA-Z][\w-]*(?: [^\s#-][^\s#]*)*)+)"
    )
    unknown = []
    checked = 0
    for line in _command_lines():
        if not line.startswith("hwscale-tui "):
            continue
        code, _, comment = line.partition("#")
        rest = code[len("hwscale-tui ") :]
        command = next((n for n in names if rest == n or rest.startswith(n + " ")), None)
        if command is None:  # not a command: the test below names it
            continue
        uses = [(command, rest[len(command) :])]
        uses += [(m.group(1), m.group(2)) for m in in_comment.finditer(comment)]
        for name, args in uses:
            for flag in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", args):
                checked += 1
                if flag not in _options(parsers[name]):
                    unknown.append((line, name, flag))
    assert checked >= 15 and not unknown, unknown


def test_every_command_of_the_readmes_block_is_a_command():
    """Each `hwscale-tui X` line of the README names a command the CLI has (a renamed command
    shows up here rather than as "invalid choice" for a reader who pasted it)."""
    parsers = _parsers()
    lines = [line for line in _command_lines() if line.startswith("hwscale-tui ")]
    commands = {line.split()[1] for line in lines}
    assert len(commands) >= 10
    assert not {c for c in commands if c not in parsers}, commands


def test_every_script_and_file_the_readme_points_to_exists():
    """The README's `bash scripts/...` and `.venv/bin/python X` lines and its links
    (`[docs/launch.md](docs/launch.md)`, `BENCHMARKS.md`, the screenshots) point to files the
    repository has."""
    text = _readme()
    paths = set(re.findall(r"\]\(((?!https?:)[^)#\s]+)\)", text))
    paths |= set(re.findall(r"^    bash (scripts/\S+)", text, re.M))
    paths |= set(re.findall(r"^    \.venv/bin/python (\S+\.py)", text, re.M))
    paths |= set(re.findall(r"\((docs/[\w.-]+\.md)", text))
    assert len(paths) >= 20
    assert not sorted(p for p in paths if not (REPO / p).exists())


def test_the_readme_says_as_many_test_workers_as_test_sh_starts():
    """README's Development line gives the worker count scripts/test.sh starts by default (it
    said 2; test.sh starts 3)."""
    said = re.search(r"scripts/test\.sh tests/\S+ -q\s+# one area \((\d+) worker", _readme())
    default = re.search(r"HWSCALE_TEST_WORKERS:-(\d+)", (REPO / "scripts/test.sh").read_text())
    assert said and default and said.group(1) == default.group(1)


def test_the_readmes_documentation_table_links_every_doc():
    """Every docs/*.md is in the README's Documentation table (docs/dependencies.md was not)."""
    text = _readme()
    missing = [p.name for p in (REPO / "docs").glob("*.md") if f"(docs/{p.name})" not in text]
    assert not missing, missing


def test_the_readme_says_where_the_command_is():
    """`bash scripts/run.sh` installs `hwscale-tui` into .venv/bin, which is not on PATH: the
    README's command block, pasted, said 'hwscale-tui: command not found' until the README
    said so."""
    assert ". .venv/bin/activate" in _readme() and ".venv/bin/hwscale-tui" in _readme()
