"""Rough edges a new user trips over (QA pass 43): "(s)" plurals, an unbounded Slurm poll
interval, a `status --generation` hint that listed nothing, and two messages that said
something other than what happened."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import tokenize
from pathlib import Path

import pytest

from hwscale_tui.cli import main
from hwscale_tui.launch import registry, slurm_options
from hwscale_tui.store import Store
from tests.launch.launch_testkit import (
    clean_processes,
    fake_command,
    live,
    wait_for,
    write_experiment,
)
from tests.support.cli import REPO, hwscale_cmd

# -- 1. "1 trial" / "2 trials", never "trial(s)" ------------------------------------------------

# a noun with "(s)" or "(es)" glued on: "trial(s)", "process(es)" (not "http(s)://")
GLUED_PLURAL = re.compile(r"\b(?!https?\b)[a-z]+\((?:s|es)\)")


def _message_strings(path: Path):
    """(line, text) of the file's string literals, docstrings left out (they are not shown)."""
    with path.open("rb") as f:
        before = tokenize.ENCODING
        for tok in tokenize.tokenize(f.readline):
            statement_start = before in (
                tokenize.ENCODING,
                tokenize.NEWLINE,
                tokenize.NL,
                tokenize.INDENT,
                tokenize.DEDENT,
            )
            if tok.type == tokenize.STRING and not statement_start:
                yield tok.start[0], tok.string
            if tok.type != tokenize.COMMENT:
                before = tok.type


def test_no_message_of_the_package_says_s_in_brackets():
    """'deleted old (1 trial(s))', 'stopped 3 process(es)', '2 pair(s) of ... keep running':
    every count says its noun in the right number (records.plural)."""
    found = [
        f"{path.relative_to(REPO)}:{line}: {text}"
        for path in sorted((REPO / "hwscale_tui").rglob("*.py"))
        for line, text in _message_strings(path)
        if GLUED_PLURAL.search(text.replace("http(s)", ""))
    ]
    assert not found, "\n".join(found)


def test_docs_quote_the_messages_without_s_in_brackets():
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        if path.name in ("optimizer.md", "dependencies.md"):
            continue  # not ours to edit; they quote no message with a count
        text = path.read_text().replace("http(s)", "")
        assert not GLUED_PLURAL.search(text), (path.name, GLUED_PLURAL.findall(text))


def _experiment_with_trials(name: str, sweeps: dict[str, int], file: Path | None = None) -> None:
    with Store.open_default() as store:
        store.touch_experiment(name, file=str(file) if file else None)
        for sweep, count in sweeps.items():
            for i in range(count):
                store.insert_trial(
                    f"{sweep}_trial_{i + 1:04d}",
                    sweep,
                    experiment=name,
                    idx=i + 1,
                    state="finished",
                    score=0.5 + i,
                )


def test_experiments_delete_counts_its_trials(capsys):
    _experiment_with_trials("old", {"old.g1n1": 2})
    _experiment_with_trials("older", {"older.g1n1": 1})
    assert main(["experiments", "delete", "old", "--yes"]) == 0
    assert capsys.readouterr().out.strip() == "deleted old (2 trials)"
    assert main(["experiments", "delete", "older", "--yes"]) == 0
    assert capsys.readouterr().out.strip() == "deleted older (1 trial)"


# -- 2. [slurm] poll_s has an upper bound -------------------------------------------------------


# beyond the bound: tests/foundation/test_small_qa44.py, with the other Slurm bounds


def test_a_slurm_poll_interval_of_an_hour_is_accepted(tmp_path, capsys):
    exp = tmp_path / "e.toml"
    exp.write_text("[slurm]\npoll_s = 3600\n")
    assert main(["plan", "-e", str(exp), "--json"]) == 0, capsys.readouterr().err


def test_the_experiment_doc_states_the_poll_bound():
    text = (REPO / "docs" / "experiment.md").read_text()
    assert (
        "| `poll_s` | `5.0` | seconds between squeue calls of a sweep; *range* 0.1 to 3600 |"
        in text
    )


# -- 3. status --generation N: a pair no longer in the grid ------------------------------------


def _two_generations_one_pair_gone(tmp_path: Path) -> Path:
    """Generation 1 ran g1n1 and g2n1; the grid now has g1n1 only (generation 2)."""
    exp = tmp_path / "exp.toml"
    exp.write_text('[experiment]\nname = "exp"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n')
    _experiment_with_trials("exp", {"exp.g1n1": 2, "exp.g2n1": 3}, file=exp)
    with Store.open_default() as store:
        for gen, why in ((1, "first launch"), (2, "grid changed")):
            store.add_generation("exp", gen, f"fp{gen}", {}, why)
    return exp


def test_status_of_an_earlier_generation_says_which_pairs_trials_leaves_out(tmp_path, capsys):
    """docs/sources.md: trials and analyze read only the grid's pairs. `status --generation 1`
    counted g2n1's 3 trials and pointed to `trials --generation 1`, which lists none of them."""
    _two_generations_one_pair_gone(tmp_path)
    assert main(["status", "--experiment-name", "exp", "--generation", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^g2n1 +3 +3 ", out, re.M), out  # still counted: they are its trials
    assert "its trials of g1n1: hwscale-tui trials --experiment-name exp --generation 1" in out
    assert "its trials: " not in out, out
    assert (
        "g2n1 is not in experiment exp's grid now: `trials` and `analyze` leave its trials out"
        in out
    ), out
    # and that is true: trials --generation 1 lists g1n1's two trials only
    assert main(["trials", "--experiment-name", "exp", "--generation", "1", "--json"]) == 0

    listed = json.loads(capsys.readouterr().out)["trials"]
    assert sorted({t["sweep"] for t in listed}) == ["exp.g1n1"]

    assert main(["status", "--experiment-name", "exp", "--generation", "1", "--json"]) == 0
    pairs = json.loads(capsys.readouterr().out)["pairs"]
    assert {p["pair"]: p["in_grid"] for p in pairs} == {"g1n1": True, "g2n1": False}


def test_status_of_an_earlier_generation_all_in_the_grid_keeps_its_one_hint(tmp_path, capsys):
    exp = _two_generations_one_pair_gone(tmp_path)
    exp.write_text('[experiment]\nname = "exp"\n[grid]\ngpu_counts = [1, 2]\nnode_counts = [1]\n')
    assert main(["status", "--experiment-name", "exp", "--generation", "1"]) == 0
    out = capsys.readouterr().out
    assert "its trials: hwscale-tui trials --experiment-name exp --generation 1" in out
    assert "not in experiment" not in out, out


# -- 4. what the Slurm warning and an interrupted foreground launch say -------------------------


def _fake_sinfo(tmp_path: Path, monkeypatch, body: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sinfo = bin_dir / "sinfo"
    sinfo.write_text(f"#!/bin/sh\n{body}\n")
    sinfo.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setattr(slurm_options, "_HOSTS_CACHE", {})


def _warning(tmp_path: Path) -> str:
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\n")
    hosts = slurm_options.cluster_hosts()
    assert hosts is None
    warning = slurm_options.shared_state_warning(
        Path("/var/x"), hosts, mounts, why=slurm_options.sinfo_problem()
    )
    assert warning is not None
    return warning


def test_the_shared_state_warning_says_how_sinfo_failed(tmp_path, monkeypatch):
    """sinfo that errored at once was reported as 'sinfo did not answer'."""
    _fake_sinfo(
        tmp_path,
        monkeypatch,
        "echo 'sinfo: error: slurm_load_partitions: Unable to contact slurm controller' >&2\nexit 1",
    )
    warning = _warning(tmp_path)
    assert "did not answer" not in warning, warning
    assert (
        "(sinfo failed with exit code 1: sinfo: error: slurm_load_partitions: Unable to contact "
        "slurm controller, so whether they are this machine is unknown)" in warning
    ), warning


def test_the_shared_state_warning_says_sinfo_timed_out(tmp_path, monkeypatch):
    _fake_sinfo(tmp_path, monkeypatch, "exec sleep 30")
    monkeypatch.setattr(slurm_options, "SINFO_TIMEOUT_S", 0.2)
    assert "(sinfo did not answer within 0.2 s, so whether" in _warning(tmp_path)


@pytest.mark.usefixtures(clean_processes.__name__)
def test_sigterm_to_a_foreground_launch_says_it_cancels_its_pairs(tmp_path):
    """It printed 'supervisor stopped; sweeps already started keep running (...); pairs not
    started yet stay scheduled' and then cancelled every one of them."""
    exp = tmp_path / "exp.toml"
    write_experiment(exp, fake_command("--sleep", "120"), gpus=(1, 2), delay_s=0)
    proc = subprocess.Popen(
        hwscale_cmd("launch", "--foreground", "-e", str(exp)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        data = wait_for(
            lambda: len((d := registry.read("exp"))["pairs"]) == 2 and d, "both pairs running"
        )
        pids = [p["pid"] for p in data["pairs"].values()]
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert "keep running" not in err and "stay scheduled" not in err, err
        assert "supervisor stopped; the foreground launch now cancels its pairs (running: " in err
        assert "SIGTERM: cancelling the 2 pairs this launch owns" in err, err
        wait_for(lambda: not any(live(p) for p in pids), "the launch's sweeps to stop")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
