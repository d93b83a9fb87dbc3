"""`train metrics_file=PATH` never replaces what is not a metrics file (docs/train.md).

Opening the metrics file truncates it. `hwscale-tui train metrics_file=<the store>` (a path
pasted from `launch`'s `state (SQLite):` line) replaced the SQLite store with the run's JSON
lines and exited 0: every experiment's trials were gone (`doctor`: "file is not a database",
`--repair` rebuilt it with 0 trials). A folder as the path trained nothing and exited 1. Now
such a path is bad input: one sentence, exit 2, nothing started or written. A refused run
raises before any rank starts, so the refusal tests train nothing.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from hwscale_tui.cli import main
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.train import parse_overrides, run_training
from hwscale_tui.train.sinks import StoreRefused

SHORT = "trainer.total_timesteps=1024"


def run_cli(*tokens: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["train", "-q", *tokens])
    return code, out.getvalue(), err.getvalue()


def test_the_store_as_metrics_file_is_refused_and_left_whole():
    with Store.open_default() as store:
        store.insert_trial(
            "exp.g1n1_trial_0001_abcdef", "exp.g1n1", experiment="exp", gpus=1, nodes=1
        )
    path = app_paths().store
    before = path.read_bytes()
    code, out, err = run_cli("run=r1", f"metrics_file={path}", SHORT)
    assert code == 2, (out, err)
    assert err.startswith("hwscale-tui: error: ") and err.count("\n") == 1, err
    assert f"metrics_file={path} is inside hwscale-tui's own folder" in err, err
    assert "accepted: " in err and out == ""
    assert path.read_bytes() == before
    with Store.open_default() as store:
        assert [r["run_id"] for r in store.trial_rows()] == ["exp.g1n1_trial_0001_abcdef"]
    assert not (app_paths().runs / "r1").exists()


@pytest.mark.parametrize(
    "where",
    [
        lambda p: p.state / "current-experiment.json",  # a JSON line, but hwscale-tui's own
        lambda p: p.state / "experiments" / "exp.toml",
        lambda p: p.logs / "exp" / "exp.g1n1.log",
        lambda p: p.config / "experiment.toml",
        lambda p: p.data / "new.jsonl",  # not there yet: still inside the store's folder
    ],
)
def test_hwscale_tuis_own_files_are_refused(where):
    paths = app_paths()
    target: Path = where(paths)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix != ".jsonl":
        target.write_text('{"name": "exp"}\n')
    before = target.read_bytes() if target.exists() else None
    cfg = parse_overrides(["run=r2", f"metrics_file={target}", SHORT])
    with pytest.raises(StoreRefused, match=r"is inside hwscale-tui's own folder .*; accepted: "):
        run_training(cfg)
    assert (target.read_bytes() if target.exists() else None) == before


def test_a_folder_or_a_file_that_is_not_a_metrics_file_is_refused(tmp_path):
    cfg = parse_overrides(["run=r3", f"metrics_file={tmp_path}", SHORT])
    with pytest.raises(StoreRefused, match=r"is a folder; accepted: a file path"):
        run_training(cfg)
    mine = tmp_path / "exp.toml"
    mine.write_text('[experiment]\nname = "mine"\n')
    cfg = parse_overrides(["run=r3", f"metrics_file={mine}", SHORT])
    with pytest.raises(StoreRefused, match=r"is an existing file that is not a metrics file"):
        run_training(cfg)
    assert mine.read_text() == '[experiment]\nname = "mine"\n'


def test_new_paths_earlier_metrics_files_and_the_run_directories_are_written(tmp_path):
    """What stays allowed: a new path (its folder made, as a remote trial needs), an earlier
    run's metrics file, and the run directories where the sweep runner points its trials."""
    fresh = tmp_path / "new" / "m.jsonl"
    assert (
        run_training(parse_overrides(["run=r4", f"metrics_file={fresh}", SHORT])).state
        == "finished"
    )
    again = run_training(parse_overrides(["run=r5", f"metrics_file={fresh}", SHORT]))
    assert again.state == "finished"
    assert json.loads(fresh.read_text().splitlines()[-1])["final"] is True
    in_runs = app_paths().runs / "some_trial" / "metrics.jsonl"
    assert (
        run_training(parse_overrides(["run=r6", f"metrics_file={in_runs}", SHORT])).state
        == "finished"
    )


@pytest.mark.parametrize("store", [False, True])
def test_a_metrics_file_under_a_file_is_refused_before_the_store_is_touched(tmp_path, store):
    # it failed with exit 1 on "FileExistsError: [Errno 17] File exists", and with store=true
    # after the trial row had been inserted (then marked failed)
    (tmp_path / "afile").write_text("mine\n")
    path = tmp_path / "afile" / "sub" / "m.jsonl"
    tokens = ["run=r_under_file", f"metrics_file={path}", SHORT]
    code, out, err = run_cli(*tokens, *(["store=true"] if store else []))
    assert code == 2, (out, err)
    assert err.startswith("hwscale-tui: error: ") and err.count("\n") == 1, err
    assert f"cannot be made: {tmp_path / 'afile'} is a file, not a folder" in err, err
    assert out == "" and (tmp_path / "afile").read_text() == "mine\n"
    assert not app_paths().store.exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_full_disk_fails_the_run_naming_the_metrics_file():
    # /dev/full: every write is ENOSPC. It said only "OSError: [Errno 28] No space left on
    # device", not which file
    code, out, err = run_cli("run=r_full", "metrics_file=/dev/full", SHORT)
    assert code == 1, (out, err)
    assert (
        "hwscale-tui train: error: writing the metrics file failed (No space left on device): /dev/full"
        in err
    ), err
    assert "Errno" not in err and out.startswith("failed run=r_full "), out


def test_a_relative_metrics_file_is_recorded_and_shown_absolute(tmp_path, monkeypatch):
    # the store's metrics_path was "m.jsonl", which the runner, cancel and status read from
    # their own working folders
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("run=r_rel", "metrics_file=sub/m.jsonl", "store=true", SHORT)
    assert code == 0, (out, err)
    path = tmp_path / "sub" / "m.jsonl"
    assert out.rstrip().endswith(f"metrics={path}"), out
    with Store.open_default() as store:
        assert store.get_trial_row("r_rel")["metrics_path"] == str(path)
    assert json.loads(path.read_text().splitlines()[-1])["state"] == "finished"
