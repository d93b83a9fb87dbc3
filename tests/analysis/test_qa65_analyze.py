"""QA pass 65 over `hwscale-tui analyze`: what a user saw, fixed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from hwscale_tui import cli

# no cost logged: every cost is priced
TRIALS = "run_id,gpus,nodes,score,sps\na,1,1,100,50\nb,2,1,90,100\n"
HISTORY = "run_id,agent_step,wall_s,score\na,100,1,10\na,200,3600,100\nb,100,1,90\n"


@pytest.fixture
def argv(tmp_path):
    (tmp_path / "t.csv").write_text(TRIALS)
    (tmp_path / "h.csv").write_text(HISTORY)
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[experiment]\nname = "priced"\n\n[cost]\ngpu_type = "H100"\nprice_per_gpu_hour = 2.0\n'
    )
    return [
        "analyze",
        "-e",
        str(exp),
        "--trials",
        str(tmp_path / "t.csv"),
        "--history",
        str(tmp_path / "h.csv"),
        "--bootstrap",
        "0",
        "--json",
    ]


def _price(capsys) -> dict:
    return json.loads(capsys.readouterr().out)["price"]


@pytest.mark.parametrize(
    "flags,gpu_type,spot",
    [(["--gpu-type", "A100"], "A100", False), (["--spot"], "H100", True)],
)
def test_gpu_type_or_spot_prices_from_the_table_not_the_files_own_price(
    argv, capsys, flags, gpu_type, spot
):
    """The experiment's price_per_gpu_hour ($2, its H100's) was kept for `--gpu-type A100` and
    `--spot`, and the summary called it "A100 on-demand $2/GPU-hour" / "H100 spot $2"."""
    from hwscale_tui.prices import price_per_gpu_hour

    assert cli.main(argv) == 0
    assert _price(capsys)["usd_per_gpu_hour"] == 2.0  # the file's own price, for its own GPU
    assert cli.main([*argv, *flags]) == 0
    price = _price(capsys)
    table = price_per_gpu_hour(gpu_type, spot=spot).price
    assert table != 2.0
    assert (price["gpu_type"], price["spot"], price["usd_per_gpu_hour"]) == (gpu_type, spot, table)
    assert price["source"].startswith("price table")
    # a price given with them is the one in force; the file's GPU named again changes nothing
    assert cli.main([*argv, *flags, "--price-per-gpu-hour", "3"]) == 0
    assert _price(capsys)["usd_per_gpu_hour"] == 3.0
    assert cli.main([*argv, "--gpu-type", "H100"]) == 0
    assert _price(capsys)["usd_per_gpu_hour"] == 2.0


def test_critical_batch_says_no_trial_reached_the_target_when_none_did():
    """With no trial at the target, the critical-batch law said "no trial that reached the
    target records trainer.batch_size", which read as if the trainer did not record it."""
    from hwscale_tui.analysis import AnalysisSettings, analyze
    from tests.analysis.analysis_helpers import linear_history, trial

    trials = [
        trial(f"r{i}", g, 1, 100.0, params={"trainer.batch_size": 512 * g}, sps=100.0 * g)
        for i, g in enumerate((1, 2, 4))
    ]
    histories = {t.run_id: linear_history(0.1) for t in trials}  # scores 0 to 100

    def reason(target: float, batch: bool = True) -> str:
        kept = trials if batch else [dataclasses.replace(t, params={}) for t in trials]
        settings = AnalysisSettings(target=target, target_kind="absolute", n_boot=0)
        return analyze(kept, histories, settings).laws["critical_batch"].reason

    assert reason(500.0) == "no trial reached the target"
    assert reason(50.0, batch=False) == (
        "none of the 3 trials that reached the target records trainer.batch_size"
    )


def _killed_part_way(tmp_path, exit_code: int | None = -9):
    """Experiment `exp` (g1n1, g2n1; 3 trials a sweep) launched: g1n1 ran its 3 trials and
    exited 0, g2n1 ended (``exit_code``) after 1. Returns the experiment file."""
    import time

    from hwscale_tui.launch.state import LaunchRecords
    from hwscale_tui.store import Store
    from tests.support.launches import dead_pid, recorded_launch

    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[experiment]\nname = "exp"\n\n[grid]\ngpu_counts = [1, 2]\nnode_counts = [1]\n\n'
        "[sweep]\nmax_trials = 3\n"
    )
    pid, start = dead_pid()
    sweeps = ["exp.g1n1", "exp.g2n1"]
    with Store.open_default() as st:
        recorded_launch(st, "exp", sweeps, exp, running_pid=pid, proc_start=start or 1.0)
        for sweep, code, n in (("exp.g1n1", 0, 3), ("exp.g2n1", exit_code, 1)):
            LaunchRecords(st).mark_ended("exp", sweep, code, None, time.time())
            st.upsert_sweep(sweep, experiment="exp", max_trials=3)
            gpus = int(sweep[-3])
            for i in range(n):
                run_id = f"{sweep}_trial_{i + 1:04d}_aaaaaa"
                st.insert_trial(
                    run_id,
                    sweep,
                    experiment="exp",
                    gpus=gpus,
                    nodes=1,
                    state="finished",
                    score=90.0,
                )
                points = [(100, 1.0, 10.0), (200, 2.0, 50.0), (300, 3.0, 90.0)]
                st.append_history(
                    run_id, [{"agent_step": s, "wall_s": w, "score": v} for s, w, v in points]
                )
    return exp


def test_analyze_names_a_pair_killed_part_way_through_its_sweep(tmp_path, capsys):
    """A pair whose sweep was killed after 1 of its 3 trials was ranked beside pairs that ran
    all of theirs, with nothing said (status said "killed by signal 9")."""
    exp = _killed_part_way(tmp_path)
    assert cli.main(["analyze", "-e", str(exp), "--bootstrap", "0", "--json"]) == 0
    out, err = capsys.readouterr()
    said = (
        "Stopped short: g2n1 was killed by signal 9 after 1 of its 3 trials, so the analysis has "
        "fewer trials than planned of it; hwscale-tui launch --experiment-name exp runs the rest."
    )
    assert said in json.loads(out)["notes"]
    assert f"analyze: {said}" in err.splitlines()


def test_a_pair_that_ran_its_trials_or_ended_by_itself_is_not_stopped_short(tmp_path, capsys):
    exp = _killed_part_way(tmp_path, exit_code=0)  # its sweep ended by itself: status says done
    assert cli.main(["analyze", "-e", str(exp), "--bootstrap", "0", "--json"]) == 0
    assert not [n for n in json.loads(capsys.readouterr().out)["notes"] if "Stopped short" in n]


def test_stopped_short_note_of_pairs_with_and_without_trials():
    from hwscale_tui.analysis.selection import stopped_short_note

    assert stopped_short_note("e", []) is None
    assert stopped_short_note(
        "e", [("g1n1", "was killed by signal 9", 2, 8), ("g2n1", "was cancelled", 0, 8)]
    ) == (
        "Stopped short: g1n1 was killed by signal 9 after 2 of its 8 trials; g2n1 was cancelled "
        "before any of its 8 trials, so the analysis has fewer trials than planned of them; "
        "hwscale-tui launch --experiment-name e runs the rest."
    )


@pytest.mark.parametrize("columns,widest", [("0", 120), ("5", 20), ("70", 70)])
def test_text_width_from_columns_is_a_width_analyze_takes(argv, columns, widest):
    """Piped, COLUMNS=0 laid the report out for 80 columns (docs: $COLUMNS when set, else 120),
    and COLUMNS=5 for 5, which broke every word ('HARDW' over 'ARE') while --width 5 is refused
    (20 to 1000)."""
    import os
    import subprocess

    from tests.support.cli import hwscale_cmd

    text_argv = [a for a in argv if a != "--json"]
    r = subprocess.run(
        hwscale_cmd(*text_argv),
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": columns},
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["HARDWARE", "SCALING", "ANALYSIS"][: len(lines[0].split())]
    assert "HARDW" not in [w for line in lines[:3] for w in line.split()]
    assert max(len(line) for line in lines) == widest, r.stdout


@pytest.mark.parametrize("running", [True, False])
def test_a_launched_experiment_without_trials_is_not_told_to_launch(tmp_path, capsys, running):
    """Right after `launch` (or with every pair cancelled before its first trial) analyze said
    "has no trials ...; accepted: a launched experiment (--experiment FILE)", as if it had not
    been launched."""
    import os
    import time

    from hwscale_tui.launch.state import LaunchRecords
    from hwscale_tui.processes import process_start_time
    from hwscale_tui.store import Store
    from tests.support.launches import dead_pid, recorded_launch

    exp = tmp_path / "exp.toml"
    exp.write_text('[experiment]\nname = "exp"\n\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n')
    pid, start = (os.getpid(), process_start_time(os.getpid())) if running else dead_pid()
    with Store.open_default() as st:
        recorded_launch(st, "exp", ["exp.g1n1"], exp, running_pid=pid, proc_start=start or 1.0)
        if not running:
            LaunchRecords(st).mark_cancelled("exp", "exp.g1n1", "test", time.time())
    assert cli.main(["analyze", "-e", str(exp), "--bootstrap", "0"]) == 2
    err = capsys.readouterr().err
    assert "accepted: a launched experiment" not in err
    if running:
        assert err == (
            "hwscale-tui: error: the local store has no trials for experiment 'exp' yet: it was "
            "launched and no trial of it is recorded so far (hwscale-tui status "
            "--experiment-name exp says how its pairs stand); accepted: the analysis run again "
            "once its trials have logged their first points, or --trials FILE.csv.\n"
        )
    else:
        assert err == (
            "hwscale-tui: error: the local store has no trials for experiment 'exp': it was "
            "launched, and its pairs ended without recording one (hwscale-tui status "
            "--experiment-name exp says why); accepted: a new launch (hwscale-tui launch "
            "--experiment-name exp), or --trials FILE.csv.\n"
        )


def test_allow_oversubscribed_is_refused_where_no_pair_is_left_out_for_it(tmp_path, capsys):
    """On an experiment whose pairs count GPUs (a cluster dispatcher, your own trial command)
    --allow-oversubscribed was accepted and ignored; with --trials it is refused, not ignored."""
    exp = _killed_part_way(tmp_path)  # local mode: the flag has pairs to keep
    assert cli.main(["analyze", "-e", str(exp), "--bootstrap", "0", "--allow-oversubscribed"]) == 0
    capsys.readouterr()
    text = exp.read_text().replace("[sweep]\n", '[sweep]\ntrial_command = ["true"]\n')
    exp.write_text(text)
    assert cli.main(["analyze", "-e", str(exp), "--bootstrap", "0", "--allow-oversubscribed"]) == 2
    assert capsys.readouterr().err == (
        "hwscale-tui: error: --allow-oversubscribed keeps local mode's pairs with more CPU ranks "
        "than usable cores, and experiment exp's pairs count GPUs, not this machine's CPU ranks "
        '(runner = "builtin", dispatcher = "local", its own trial command); accepted: analyze '
        "without it.\n"
    )


def test_csv_run_ids_that_look_like_numbers_stay_as_written(tmp_path, capsys):
    """pandas read a run_id column of "007" and "1e3" as numbers: the report named the runs
    "7.0" and "1000.0", which match no run of yours."""
    (tmp_path / "t.csv").write_text("run_id,gpus,nodes\n007,1,1\n1e3,2,1\n")
    (tmp_path / "h.csv").write_text(
        "run_id,agent_step,wall_s,score\n007,100,1,5\n007,200,2,10\n1e3,100,1,3\n1e3,200,2,12\n"
    )
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["run_id"] for t in data["per_trial"]] == ["007", "1e3"]
    assert data["reference_run"] == "1e3"
    long = tmp_path / "long.csv"  # a long-format file too
    long.write_text("run_id,config,agent_step,wall_s,score\n007,g1n1,100,1,5\n007,g1n1,200,2,10\n")
    assert cli.main(["analyze", "--trials", str(long), "--bootstrap", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reference_run"] == "007"
