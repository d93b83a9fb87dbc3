"""Every bad input is refused before anything runs: one sentence, exit 2, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.commands.common import check_output_path
from hwscale_tui.errors import ConfigError, UsageError
from tests.reliability.reliability_helpers import nothing_starts  # noqa: F401 (autouse fixture)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*")) if root.exists() else []


def _refused(capsys, args: list[str], fragment: str, hw: Path) -> str:
    before = _files(hw)
    assert main(args) == 2, args
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hwscale-tui: error: "), err
    assert fragment in err, (fragment, err)
    assert _files(hw) == before, "a refused command wrote something"
    return err


def _toml(tmp_path: Path, text: str) -> str:
    p = tmp_path / "exp.toml"
    p.write_text(text)
    return str(p)


FILE_CASES = [
    ("[launch]\ndelay_s = 1e308\n", "launch.delay_s: got 1e+308"),
    ("[launch]\ndelay_s = 604801\n", "launch.delay_s"),
    ("[sweep]\nmax_trials = 100000000000000000000000000\n", "sweep.max_trials"),
    (f'[experiment]\nname = "{"a" * 300}"\n', "300 characters"),
    ('[launch]\ncommand = ["echo", "{"]\n', "launch.command[1]"),
    ('[launch]\ncommand = ["echo", "{0}"]\n', "unknown placeholder {0}"),
    ('[launch]\ncommand = ["echo", "{gpus.real}"]\n', "unknown placeholder {gpus.real}"),
    ('[sweep]\ntrial_command = ["python", "{", "{params}"]\n', "sweep.trial_command[1]"),
    ("[sweep]\nx = " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply"),
    ("[grid]\ngpu_counts = [1, 100000]\n", "grid.gpu_counts"),
    ("[sweep]\nseed = 99999999999999999999\n", "sweep.seed"),
]


@pytest.mark.parametrize("text,fragment", FILE_CASES)
def test_bad_experiment_file_is_refused_by_plan_and_launch(
    tmp_path, capsys, private_home, text, fragment
):
    exp = _toml(tmp_path, text)
    for cmd in ("plan", "launch"):
        _refused(capsys, [cmd, "-e", exp], fragment, private_home)


def test_experiment_file_must_be_a_small_regular_file(tmp_path, capsys, private_home):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    big = tmp_path / "big.toml"
    big.write_text("#" * (cfgmod.MAX_FILE_BYTES + 1))
    for path, fragment in (
        (fifo, "not a regular file"),  # would hang on read
        (Path("/dev/zero"), "not a regular file"),  # would read until out of memory
        (tmp_path, "is a directory"),
        (big, f"{cfgmod.MAX_FILE_BYTES + 1} bytes long"),
    ):
        for cmd in ("plan", "status", "trials", "analyze"):
            _refused(capsys, [cmd, "-e", str(path)], fragment, private_home)


def test_config_module_refuses_the_same_values_directly():
    with pytest.raises(ConfigError, match="at most 100"):
        cfgmod.from_dict({"experiment": {"name": "a" * 101}}, env={})
    ok = cfgmod.from_dict({"experiment": {"name": "a" * 100}}, env={})
    assert ok.name == "a" * 100
    with pytest.raises(ConfigError, match="delay_s"):
        cfgmod.from_dict({"launch": {"delay_s": 10**400}}, env={})  # int too large for a float
    # literal braces stay possible
    cfg = cfgmod.from_dict({"launch": {"command": ["echo", "{{x}}", "{gpus:02d}"]}}, env={})
    assert cfg.launch.command == ["echo", "{{x}}", "{gpus:02d}"]


CLI_CASES = [
    (["plan", "--max-trials", "1e26"], "--max-trials"),
    (["plan", "--max-trials", "100000000000000000000000000"], "--max-trials (sweep.max_trials)"),
    (["plan", "--delay", "1e308"], "--delay (launch.delay_s)"),
    (["plan", "--delay", "nan"], "--delay (launch.delay_s)"),
    (["plan", "--experiment-name", "a" * 300], "300 characters"),
    (["launch", "--only", ""], "--only names no pair"),
    (["launch", "--only", ",", "--delay", "0"], "--only names no pair"),
    (["launch", "--only", "g9n9"], "'g9n9' is not a pair of experiment hardware_scaling"),
    (["launch", "--only", "g1n1,bogus.x"], "'bogus.x' is not a pair"),
    (["launch", "--only", "hardware_scaling.g9n9.gen2"], "'g9n9' is not a pair of experiment"),
    # a pair of another experiment, named in full: refused before the store is created
    (
        ["launch", "--only", "other.g1n1"],
        "'other.g1n1' is not a pair of experiment hardware_scaling",
    ),
    (["plan", "run=abc"], "sets run"),
    (["launch", "trainer.batch_size=5"], "swept hyperparameter trainer.batch_size"),
    (["plan", "trainer.nope=1"], "every trial would reject"),
    # the keys offered are those an extra argument may set: not the runner's, not the swept ones
    (["plan", "foo=bar"], "accepted as extra arguments: env, seed, trainer.total_timesteps,"),
    (["launch", "seed=x"], "every trial would reject"),
    (["plan", "--dispatcher", "skypilot"], "wandb.mode is 'disabled'"),
    (["launch", "--gpu-counts", "256", "--max-gpus-per-node", "256"], "more than the built-in"),
    (["status", "--watch", "inf"], "--watch inf"),
    (["status", "--watch", "1e-9"], "--watch 1e-09"),
    (["status", "--experiment-name", "a" * 300], "is not an experiment name"),
    (["cancel", "--all", "--experiment-name", "../../etc"], "is not an experiment name"),
    (["cancel", "--all", "--grace", "1e308"], "--grace"),
    # nothing launched on this machine: refused without creating the store or its folders
    (["cancel", "g1n1"], "has no launched pairs, so there is nothing to cancel"),
    (["cancel", "--all", "--remote"], "has no launched pairs, so there is nothing to cancel"),
    (["analyze", "--seed", "-1"], "--seed -1"),
    (["analyze", "--bootstrap", "-5"], "--bootstrap -5"),
    (["analyze", "--target", "nan"], "--target nan is not a number; accepted: a number >= 0"),
    (["cancel", "--all", "--grace", "nan"], "--grace nan is not a number; accepted: a number"),
    (["analyze", "--levels", "0.5", "2"], "--levels 2"),
    (["sweep", "--gpus", "1", "--nodes", "100000000000000000000"], "--nodes"),
]


@pytest.mark.parametrize("args,fragment", CLI_CASES, ids=lambda a: " ".join(a)[:40])
def test_bad_flags_are_refused_before_anything_runs(capsys, private_home, args, fragment):
    _refused(capsys, args, fragment, private_home)


def test_output_paths_must_exist_and_not_be_directories(tmp_path, capsys, private_home):
    missing = tmp_path / "missing" / "out"
    cases = [
        (["plan", "--save", str(tmp_path)], "is a directory"),
        (["plan", "--save", f"{missing}.toml"], "its folder does not exist"),
        (["analyze", "--report", f"{missing}.md"], "its folder does not exist"),
        (["analyze", "--csv", str(tmp_path)], "is a directory"),
        (["analyze", "--trials", str(tmp_path)], f"trials file {tmp_path} is a directory"),
        (["analyze", "--trials", "/dev/null"], "/dev/null is not a regular file"),
        (["analyze", "--trials", str(missing)], f"{missing} does not exist"),
        (["analyze", "--report", str(tmp_path / "r.md"), "--plots", f"{missing}/p"], "folder"),
    ]
    for args, fragment in cases:
        _refused(capsys, args, fragment, private_home)
    assert not missing.parent.exists()
    # the good path still works
    assert main(["plan", "--save", str(tmp_path / "ok.toml")]) == 0
    assert (tmp_path / "ok.toml").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "args,command",
    [
        (["plan", "--bogus"], "plan"),
        (["launch", "--generation", "2"], "launch"),  # a flag of other commands, not of launch
        (["status", "--jsn"], "status"),
        (["--bogus"], "tui"),  # no command: the app's
    ],
)
def test_an_unknown_flag_points_at_its_own_commands_help(capsys, private_home, args, command):
    before = _files(private_home)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"hwscale-tui {command}: error: unrecognized arguments: "), err
    assert err.endswith(f"; see hwscale-tui {command} --help.\n"), err
    assert _files(private_home) == before


@pytest.mark.parametrize(
    "args",
    [
        ["status", "-e", ""],
        ["plan", "--experiment", " "],
        ["analyze", "--experiment-name", ""],
        ["cancel", "--all", "--experiment-name", ""],
        ["launch", "-e", ""],
        ["tui", "-e", ""],
        ["-e", ""],  # the app, the default command
    ],
    ids=lambda a: " ".join(repr(x) for x in a),
)
def test_an_empty_experiment_flag_is_refused_not_read_as_the_current_one(
    capsys, private_home, args
):
    before = _files(private_home)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ": error: argument --experiment" in err, err
    assert "accepted: " in err, err
    assert _files(private_home) == before


def test_a_full_disk_writing_an_output_names_that_output(tmp_path, capsys, monkeypatch):
    """A full disk's write error carries no file name: the sentence said 'a file: the disk is
    full'. It names the output now (plan --save, analyze --csv), and leaves nothing half-written."""
    import errno

    from tests.support.seed import finished_trials

    finished_trials(2)

    def full(fd: int) -> None:  # what os.fsync raises on a full disk (no file name)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    saved, table = tmp_path / "exp.toml", tmp_path / "per_config.csv"
    for argv, out in (
        (["plan", "--save", str(saved)], saved),
        (["analyze", "--bootstrap", "0", "--csv", str(table)], table),
    ):
        assert main(argv) == 1, argv
        last = capsys.readouterr().err.splitlines()[-1]
        assert last == f"hwscale-tui: error: {out}: the disk is full; free space, then retry.", last
        assert not out.exists() and list(tmp_path.iterdir()) == []


def test_plan_save_never_replaces_a_file_that_is_not_an_experiment_file(
    tmp_path, capsys, private_home
):
    """`plan --save` replaced whatever was at the path: the store itself (its trials gone, every
    command then 'the file is damaged'), a log, a file of the user's."""
    from hwscale_tui.paths import app_paths
    from hwscale_tui.store import Store

    with Store(app_paths().store) as st:
        st.insert_trial("e.g1n1_trial_0001_abcdef", "e.g1n1", experiment="e", state="finished")
        st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n')
    copy = tmp_path / "store-copy.sqlite"  # the store itself is refused as hwscale-tui's own
    copy.write_bytes(app_paths().store.read_bytes())
    for target, fragment in (
        (copy, "it is not TOML"),
        (notes, "it is not TOML"),
        (pyproject, "its top-level 'project' is no experiment section"),
        (tmp_path, "is a directory"),
    ):
        before = target.read_bytes() if target.is_file() else None
        err = _refused(capsys, ["plan", "--save", str(target)], fragment, private_home)
        assert "not replaced" in err or "directory" in err, err
        assert before is None or target.read_bytes() == before
    with Store(app_paths().store, readonly=True) as st:
        assert len(st.trials()) == 1
    mine = tmp_path / "exp.toml"
    mine.write_text('[experiment]\nname = "mine"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n')
    assert main(["plan", "--save", str(mine), "--max-trials", "3"]) == 0
    assert f"saved {mine} (replaced the experiment file that was there)" in capsys.readouterr().err
    assert "max_trials = 3" in mine.read_text()


def test_no_output_goes_into_hwscale_tuis_own_data_or_state_folders(tmp_path, capsys, private_home):
    """analyze --csv onto the store replaced it with a CSV; plan --save onto a launch snapshot
    changed what a running sweep reads."""
    from hwscale_tui.paths import app_paths

    paths = app_paths()
    for argv in (
        ["analyze", "--csv", str(paths.store)],
        ["analyze", "--report", str(paths.data / "report.md")],
        ["analyze", "--report", str(tmp_path / "r.md"), "--plots", str(paths.state / "plots")],
        ["plan", "--save", str(paths.state / "experiments" / "hardware_scaling.toml")],
    ):
        (paths.state / "experiments").mkdir(parents=True, exist_ok=True)
        paths.data.mkdir(parents=True, exist_ok=True)
        err = _refused(capsys, argv, "is inside hwscale-tui's own folder", private_home)
        assert "accepted: a path outside it." in err
    paths.config.mkdir(parents=True, exist_ok=True)
    assert main(["plan", "--save", str(paths.config / "exp.toml")]) == 0  # config/ is yours
    # state/reports/ is where the app writes its reports and exports: the CLI may write there
    reports = paths.state / "reports" / "hardware_scaling"
    reports.mkdir(parents=True)
    check_output_path(str(reports / "report.md"), "--report")
    check_output_path(str(reports / "plots"), "--plots", directory=True)
    with pytest.raises(UsageError, match="own folder"):
        check_output_path(str(paths.state / "reports.md"), "--report")  # beside it: refused


def test_a_full_disk_offers_resume_only_where_a_launch_can_have_been_cut_short():
    import errno

    from hwscale_tui.cli import _failure_sentence

    full = OSError(errno.ENOSPC, "No space left on device", "/x/state/run.json")
    assert _failure_sentence(full, "launch").endswith(
        "free space, then retry (hwscale-tui launch --resume resumes a launch)."
    )
    for command in ("plan", "analyze", "trials", "doctor"):
        assert _failure_sentence(full, command) == (
            "/x/state/run.json: the disk is full; free space, then retry."
        )
