"""Every document a file in the repository names exists in the repository.

A *document reference* is a path ending in ``.md`` (``docs/sweep.md``, ``README.md``), or an
ALL-CAPS name used as a document without the extension: followed by a section number
(``REFERENCE 4``, ``DESIGN 1.2``), by ``section``, or in the possessive (``DESIGN's``). Each
must resolve to a file of the repository: relative to the repository root, to the naming
file's directory or to ``docs/``; a bare ALL-CAPS name must be the stem of a Markdown file
here. Skipped: URLs; paths whose top folder is not in this repository (citations of upstream
files, ``experiments/adaptive/hardware_scaling/README.md:84``); and a ``.md`` name after
``--report`` or joined onto a path (``out / "report.md"``), a file the program writes.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.cli import REPO

URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.I)
MD_PATH = re.compile(r"(?<![\w/.*-])((?:[\w.-]+/)*[\w-][\w.-]*\.md)\b")
BARE_NAME = re.compile(
    r"\b([A-Z][A-Z_]{3,})(?:\.md)?(?:'s)?(?=(?:\s+section)?\s+\d+(?:\.\d+)*\b|\s+section\b|'s\b)"
)
SKIP_SUFFIXES = {".png", ".svg", ".csv", ".sqlite", ".gz", ".ico", ".jpg", ".lock"}
# ALL-CAPS words followed by a number that name no document (``HTTP 429``, SQL's ``SELECT 1``),
# or in the possessive (``the JSON's notes``).
NOT_DOCUMENTS = {
    "HTTP",
    "JSON",
    "LIMIT",
    "SELECT",
    "THEN",
    "STEP",
    "SIGTERM",
}  # SQL, protocol, format, Slurm log and signal words
THIS_FILE = Path(__file__).resolve()
# Before a ``.md`` name: it is a file the program writes, not a document (``--report out.md``,
# ``out_dir / "report.md"``).
WRITTEN_FILE = re.compile(r"--report\b.*$|/\s*[\"']$")


def repo_files(root: Path) -> list[Path]:
    """Tracked and new (not ignored) files; a tree walk when this is not a git checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "__pycache__", "node_modules"}
        names = [
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not skip.intersection(p.relative_to(root).parts)
        ]
    return [root / n for n in sorted(names) if (root / n).is_file()]


def document_references(text: str) -> list[tuple[int, str]]:
    """(line number, reference) for every document reference in ``text``."""
    found: list[tuple[int, str]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = URL.sub(" ", line)
        found += [
            (lineno, m.group(1))
            for m in MD_PATH.finditer(line)
            if not WRITTEN_FILE.search(line[: m.start()])
        ]
        found += [(lineno, m.group(1)) for m in BARE_NAME.finditer(line)]
    return found


def resolves(ref: str, naming_file: Path, root: Path, md_stems: set[str]) -> bool:
    if not ref.endswith(".md"):
        return ref in md_stems
    top = ref.split("/")[0]
    if "/" in ref and top not in (".", "..") and not (root / top).is_dir():
        return True  # a path in another repository (an upstream file:line citation)
    return any((base / ref).is_file() for base in (root, naming_file.parent, root / "docs"))


def missing_documents(root: Path) -> list[str]:
    files = repo_files(root)
    md_stems = {p.stem for p in files if p.suffix == ".md"}
    missing: list[str] = []
    for path in files:
        if path.suffix.lower() in SKIP_SUFFIXES or path.resolve() == THIS_FILE:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for lineno, ref in document_references(text):
            if ref not in NOT_DOCUMENTS and not resolves(ref, path, root, md_stems):
                missing.append(f"{path.relative_to(root)}:{lineno}: {ref}")
    return missing


def test_every_named_document_exists_in_the_repository():
    assert missing_documents(REPO) == []


def test_the_check_finds_missing_documents_with_and_without_md(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "See docs/guide.md and CHANGELOG section 2.\n    hwscale-tui analyze --report out.md\n"
        "Upstream: experiments/x/README.md:84 and docs/upstream-only.md.\n"
    )
    (tmp_path / "docs" / "guide.md").write_text("Back to README.md; HTTP 429 is a status.\n")
    (tmp_path / "CHANGELOG.md").write_text("# Changes\n")
    (tmp_path / "out.py").write_text('OUT = Path("x") / "report.md"\n')
    (tmp_path / "pkg.py").write_text(
        '"""Prices (REFERENCE 4); the SPEC.md contract; SPEC\'s record; docs/gone.md;\n'
        'https://example.com/NOTES.md is a URL."""\n'
    )
    assert missing_documents(tmp_path) == [
        "README.md:3: docs/upstream-only.md",
        "pkg.py:1: SPEC.md",
        "pkg.py:1: docs/gone.md",
        "pkg.py:1: REFERENCE",
        "pkg.py:1: SPEC",
    ]
