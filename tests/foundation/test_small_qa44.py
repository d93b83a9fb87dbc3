"""Small defects (QA pass 44): `experiments delete` and the per-launch file, bounds of two
[slurm] keys, percentages that read 100% or 0% when they are not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hwscale_tui.analysis.format import fmt_level, fmt_share
from hwscale_tui.cli import main
from hwscale_tui.launch import registry, slurm_options
from hwscale_tui.launch.progress import TrialProgress
from hwscale_tui.processes import process_start_time
from hwscale_tui.store import Store
from tests.support.cli import REPO
from tests.support.launches import dead_pid

# -- 1. experiments delete and data/running/<name>.json -----------------------------------------


def _experiment(name: str) -> None:
    with Store.open_default() as store:
        store.touch_experiment(name)
        store.insert_trial(
            f"{name}.g1n1_trial_0001", f"{name}.g1n1", experiment=name, idx=1, state="finished"
        )


def test_delete_removes_the_per_launch_file_when_nothing_it_names_runs(capsys):
    _experiment("old")
    pid, start = dead_pid()
    registry.record_supervisor("old", 1, pid, start)
    registry.record_pair("old", "old.g1n1", pid=pid, pgid=pid, proc_start=start)
    registry.record_trial(
        "old",
        "old.g1n1",
        "old.g1n1_trial_0001",
        runner_pid=pid,
        runner_start=start,
        fields={"pid": pid, "pgid": pid, "proc_start": start},
        dispatcher="local",
    )
    path = registry.registry_path("old")
    assert path.exists()
    assert main(["experiments", "delete", "old", "--yes"]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip() == "deleted old (1 trial)"
    assert not path.exists()
    assert not path.with_suffix(".lock").exists()


def _record_old_trial(fields: dict, dispatcher: str) -> None:
    """old.g1n1_trial_0001 in the per-launch file, its sweep runner gone."""
    dead, dead_start = dead_pid()
    registry.record_trial(
        "old",
        "old.g1n1",
        "old.g1n1_trial_0001",
        runner_pid=dead,
        runner_start=dead_start,
        fields=fields,
        dispatcher=dispatcher,
    )


def test_delete_is_refused_while_a_trial_of_a_dead_sweep_runner_still_runs(capsys):
    """An orphan trial (its sweep runner died) is known only to the per-launch file: deleting
    the experiment with it would leave nobody able to stop that process."""
    _experiment("old")
    trial = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        fields = {"pid": trial.pid, "pgid": trial.pid, "proc_start": process_start_time(trial.pid)}
        _record_old_trial(fields, "local")
        path = registry.registry_path("old")
        before = path.read_text()
        assert main(["experiments", "delete", "old", "--yes"]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err.count("\n") == 1 and err.count(". ") == 0, err  # one sentence
        assert f"trial old.g1n1_trial_0001, pid {trial.pid}" in err, err
        assert "hwscale-tui cancel --experiment-name old --all first" in err, err
        assert path.read_text() == before
        with Store.open_default() as store:
            assert "old" in store.experiment_names()
            assert len(store.trial_rows(experiment="old")) == 1
        # --forget-jobs is for cluster jobs only: a live process still refuses the delete
        assert main(["experiments", "delete", "old", "--yes", "--forget-jobs"]) == 2
        assert f"pid {trial.pid}" in capsys.readouterr().err
        assert path.read_text() == before
    finally:
        trial.kill()
        trial.wait()
    # once it is gone, the delete goes through and takes the file with it
    assert main(["experiments", "delete", "old", "--yes"]) == 0, capsys.readouterr().err
    assert not registry.registry_path("old").exists()


def test_delete_is_refused_while_a_cluster_job_is_recorded(capsys):
    _experiment("old")
    _record_old_trial({"slurm_job_id": "4242"}, "slurm")
    assert main(["experiments", "delete", "old", "--yes"]) == 2
    err = capsys.readouterr().err
    assert "cluster job 4242" in err, err
    assert err.count("\n") == 1 and err.count(". ") == 0, err  # one sentence
    # cancel may not reach the cluster (scancel failing, or a copy of the state elsewhere):
    # the refusal names the way out, which forgets the job and says so
    assert "experiments delete old --yes --forget-jobs" in err, err
    assert registry.registry_path("old").exists()
    assert main(["experiments", "delete", "old", "--yes", "--forget-jobs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "deleted old (1 trial)",
        "forgot 1 cluster job (4242) without cancelling it: if it still runs, cancel it on the "
        "cluster (scancel, sky jobs cancel)",
    ], out
    assert not registry.registry_path("old").exists()
    with Store.open_default() as store:
        assert "old" not in store.experiment_names()


# -- 2. [slurm] cpus_per_task, time_limit_factor, poll_s and [grid] cpus_per_node have upper bounds -------------------


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


@pytest.mark.parametrize(
    ("key", "value", "accepted"),
    [
        ("slurm.cpus_per_task", "4097", "accepted: an integer from 0 to 4096."),
        ("grid.cpus_per_node", "4097", "accepted: an integer from 1 to 4096."),
        ("slurm.cpus_per_task", "1000000000", "accepted: an integer from 0 to 4096."),
        ("slurm.time_limit_factor", "1000.5", "accepted: a number from 0 to 1000."),
        ("slurm.time_limit_factor", "1e300", "accepted: a number from 0 to 1000."),
        ("slurm.poll_s", "1e9", "accepted: a number from 0.1 to 3600."),  # the sweep never polled
        ("slurm.poll_s", "3600.5", "accepted: a number from 0.1 to 3600."),
        ("slurm.poll_s", "0", "accepted: a number from 0.1 to 3600."),  # squeue in a busy loop
    ],
)
def test_bounded_keys_beyond_their_bound_are_refused(
    tmp_path, capsys, private_home, key, value, accepted
):
    exp = tmp_path / "e.toml"
    section, name = key.split(".")
    exp.write_text(f"[{section}]\n{name} = {value}\n")
    before = sorted(p.name for p in tmp_path.iterdir()), _tree(private_home)
    assert main(["plan", "-e", str(exp), "--save", str(tmp_path / "out.toml")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.count(". ") == 0, err  # one sentence
    assert key in err and accepted in err, err
    assert (sorted(p.name for p in tmp_path.iterdir()), _tree(private_home)) == before


def test_slurm_bounds_themselves_are_accepted_and_fit_a_slurm_time_limit(tmp_path, capsys):
    exp = tmp_path / "e.toml"
    exp.write_text(
        "[sweep]\nmax_suggestion_cost = 2592000\n"
        "[slurm]\ncpus_per_task = 4096\ntime_limit_factor = 1000\n"
    )
    assert main(["plan", "-e", str(exp), "--json"]) == 0, capsys.readouterr().err
    from hwscale_tui import config as cfgmod

    cfg = cfgmod.load(exp)
    # Slurm keeps a time limit as 32-bit minutes, 2**32 - 1 meaning INFINITE
    assert slurm_options.time_limit_minutes(cfg) < 2**32 - 2


def test_the_docs_state_the_slurm_bounds():
    text = (REPO / "docs" / "experiment.md").read_text()
    assert "grid.cpus_per_node; *range* 0 to 4096 |" in text
    assert "in whole minutes; *range* 0 to 1000 |" in text


# -- 3. a share below 100% never reads 100%, one above 0 never 0% -------------------------------


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (0.999, "99.9%"),
        (0.996, "99.6%"),
        (0.99999, ">99.9%"),
        (0.004, "0.4%"),
        (0.00001, "<0.1%"),
        (0.42, "42%"),
        (0.994, "99%"),
        (1.0, "100%"),
        (0.0, "0%"),
        (None, "unknown"),
    ],
)
def test_shares_near_the_ends_show_a_decimal(share, text):
    assert fmt_share(share) == text


@pytest.mark.parametrize(
    ("level", "text"), [(0.95, "95%"), (0.999, "99.9%"), (0.9, "90%"), (0.955, "95.5%")]
)
def test_a_confidence_level_reads_as_given(level, text):
    """Reports and plots printed int(level * 100): a 99.9% interval read '99%'."""
    assert fmt_level(level) == text


def test_a_trial_at_999_permille_of_its_budget_is_not_shown_done():
    """The trials table and screen said 'run 100%' for a trial still running at 99.9%."""
    assert TrialProgress(fraction=0.999, sps=None, eta_s=None).percent_text == "99.9%"
    assert TrialProgress(fraction=0.001, sps=None, eta_s=None).percent_text == "0.1%"
