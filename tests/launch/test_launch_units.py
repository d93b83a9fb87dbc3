"""Pure parts of the launcher: the stagger schedule, log reading, pair names, status texts,
the records' status transitions, and process identity (no supervisor started here)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest

from hwscale_tui.errors import UsageError
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.files import first_lines, log_tail
from hwscale_tui.launch.schedule import stagger_schedule
from hwscale_tui.launch.state import (
    CANCELLED,
    EXITED,
    SCHEDULED,
    STARTING,
    ExperimentStatus,
    LaunchRecords,
    PairStatus,
)
from hwscale_tui.launch.status_view import (
    attention_lines,
    format_duration,
    next_start_text,
    render,
    status_text,
)
from hwscale_tui.processes import (
    ProcessGroupTarget,
    is_running,
    process_start_time,
    stop_process_trees,
)
from hwscale_tui.store import Store


def test_stagger_schedule_spaces_starts_by_the_delay():
    assert stagger_schedule(100.0, 4, 2.5, sequential=False) == [100.0, 102.5, 105.0, 107.5]
    assert stagger_schedule(100.0, 3, 60, sequential=True) == [100.0, None, None]
    assert stagger_schedule(100.0, 0, 1, sequential=True) == []


def test_log_tail_and_first_lines(tmp_path):
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(5000)) + "x" * 900 + "\n")
    tail = log_tail(log, 3)
    assert tail[:2] == ["line 4998", "line 4999"]
    assert tail[2].endswith("...") and len(tail[2]) == 503  # clipped long line
    assert log_tail(log, 10_000)[0] == "line 0"
    assert log_tail(tmp_path / "missing.log", 5) == []
    # a log that ends in one huge line (progress bars redrawn with \r) is read 1 MiB back, not
    # whole into memory on every status refresh
    bars = tmp_path / "bars.log"
    bars.write_bytes(b"first\n" + b"\r[####      ] 40%" * 200_000)  # 3.4 MB
    assert log_tail(bars, 2) == ["[####      ] 40%"] * 2
    assert "first" not in log_tail(bars, 10**9)  # it stopped 1 MiB back
    offset = len("".join(f"line {i}\n" for i in range(10)))
    assert first_lines(log, offset, n=2) == ["line 10", "line 11"]


def test_pair_names_resolve_to_sweeps_or_fail_in_one_sentence():
    known = ["exp.g1n1", "exp.g4n2"]
    assert sup._resolve_sweeps("exp", ["g4n2", "exp.g1n1", "4x2"], known) == [
        "exp.g4n2",
        "exp.g1n1",
    ]
    with pytest.raises(
        UsageError, match=r"'g8n1' is not a pair of experiment exp; its pairs are: g1n1, g4n2\."
    ):
        sup._resolve_sweeps("exp", ["g8n1"], known)
    with pytest.raises(UsageError, match="not a pair of experiment exp"):
        sup._resolve_sweeps("exp", ["other.g1n1"], known)
    with pytest.raises(UsageError, match="is not a pair; write pairs like g4n1"):
        sup._resolve_sweeps("exp", ["gpu4"], known)
    # on generation 2 a pair's generation-1 sweep name (what `cancel --help` shows) is named as
    # that, with the names that work, not "not a pair of experiment exp"
    gen2 = ["exp.g1n1.gen2", "exp.g4n2.gen2"]
    assert sup._resolve_sweeps("exp", ["exp.g1n1.gen2", "g4n2"], gen2) == gen2
    for old in ("exp.g1n1", "exp.g1n1.gen3"):
        with pytest.raises(UsageError) as err:
            sup._resolve_sweeps("exp", [old], gen2)
        gen = 3 if old.endswith("gen3") else 1
        assert str(err.value) == (
            f"{old!r} is generation {gen}'s sweep of g1n1, and experiment exp's pairs are "
            "generation 2's; accepted: g1n1 or exp.g1n1.gen2."
        )
    with pytest.raises(UsageError, match=r"'other\.g1n1' is not a pair of experiment exp"):
        sup._resolve_sweeps("exp", ["other.g1n1"], gen2)
    # a pair tag with its generation, as trials --sweep takes it (it was 'not a pair of exp')
    assert sup._resolve_sweeps("exp", ["g1n1.gen2"], gen2) == ["exp.g1n1.gen2"]
    with pytest.raises(UsageError) as err:
        sup._resolve_sweeps("exp", ["g1n1.gen3"], gen2)
    assert str(err.value) == (
        "'g1n1.gen3' is generation 3's sweep of g1n1, and experiment exp's pairs are "
        "generation 2's; accepted: g1n1 or exp.g1n1.gen2."
    )


def _pair(**kw) -> PairStatus:
    base = dict(
        sweep_name="exp.g2n1",
        gpus=2,
        nodes=1,
        status=SCHEDULED,
        pid=None,
        pgid=None,
        proc_start=None,
        planned_start=None,
        started_at=None,
        ended_at=None,
        exit_code=None,
        log_path="/l/exp.g2n1.log",
        cancelled_by=None,
        cancelled_at=None,
        first_log_lines=[],
        argv=["x"],
        launch_id=1,
        position=0,
        alive=False,
        never_started=False,
    )
    base.update(kw)
    return PairStatus(**base)


def test_status_texts():
    assert (
        format_duration(59.4) == "59s"
        and format_duration(185) == "3m05s"
        and format_duration(7620) == "2h07m"
    )
    assert status_text(_pair(status=EXITED, exit_code=-signal.SIGTERM)) == "exited -15 (SIGTERM)"
    assert status_text(_pair(status=EXITED, exit_code=None)) == "exited (code unknown)"
    assert next_start_text(_pair(planned_start=130.0), now=100.0) == "in 30s"
    assert next_start_text(_pair(planned_start=None, position=1), now=100.0) == "after previous"
    # the first of its launch (a relaunch, a resume): it waits for the other launches' pairs
    assert next_start_text(_pair(planned_start=None), now=100.0) == "after the others"
    gone = _pair(never_started=True, planned_start=50.0)
    assert (
        status_text(gone) == "never started"
        and next_start_text(gone, 100.0) == "never (supervisor gone)"
    )
    # it runs only after launch --resume: no ETA in its row (it read '~32s', counting down to
    # a start that never comes), nor in the estimate (the progress line said "est. 25s left")
    from hwscale_tui.launch.progress import PairPlan, ProgressSettings, experiment_progress
    from hwscale_tui.launch.status_view import eta_text, row_cells

    settings = ProgressSettings(1000.0, 2, 1, 1.0, 60.0)
    progress = experiment_progress([PairPlan.of(gone)], [], settings, 100.0)
    assert eta_text(progress.pairs[0]) == "-" and progress.eta_s is None
    assert row_cells(gone, 100.0, progress)["ETA"] == "-"
    waiting = _pair(planned_start=130.0)
    progress = experiment_progress([PairPlan.of(waiting)], [], settings, 100.0)
    assert row_cells(waiting, 100.0, progress)["ETA"] != "-"
    failed = _pair(status=EXITED, exit_code=3, first_log_lines=["boom"])
    st = ExperimentStatus("exp", 1, False, 123, None, [gone, failed], 100.0)
    lines = attention_lines(st)
    assert any("never started: g2n1" in line and "--resume" in line for line in lines)
    assert "    boom" in lines


def test_a_failed_sweep_shows_where_its_log_ends_not_where_it_began(tmp_path):
    """A sweep that exited 1 after its trials showed its first log lines: its first trials'
    suggestions, not why it failed (its last line says). Status reads the log's end now; a
    pair whose log is gone keeps the first lines its supervisor recorded."""
    log = tmp_path / "exp.g2n1.log"
    log.write_text(
        "".join(f"08:00:{i:02d} suggested  trial {i}\n" for i in range(30))
        + "\n08:01:00 failed     exp.g2n1 every trial failed: 30 failed\n\n"
    )
    failed = _pair(
        status=EXITED, exit_code=1, log_path=str(log), first_log_lines=["08:00:00 suggested"]
    )
    lines = attention_lines(ExperimentStatus("exp", 1, False, 123, None, [failed], 100.0))
    at = lines.index(f"g2n1 exited 1; its log ends ({log}):")
    assert lines[at + 1 :] == [
        *(f"    08:00:{i:02d} suggested  trial {i}" for i in range(26, 30)),
        "    08:01:00 failed     exp.g2n1 every trial failed: 30 failed",
    ]
    log.unlink()
    lines = attention_lines(ExperimentStatus("exp", 1, False, 123, None, [failed], 100.0))
    assert lines[-2:] == [f"g2n1 exited 1; first log lines ({log}):", "    08:00:00 suggested"]


def _schedule(recs: LaunchRecords, sweep: str, launch_id: int) -> None:
    recs.schedule_pair(
        "exp",
        sweep,
        gpus=1,
        nodes=1,
        launch_id=launch_id,
        position=0,
        planned_start=1.0,
        argv=["true"],
        log_path=sweep + ".log",
    )


def test_records_transitions_never_lose_a_cancel(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        recs = LaunchRecords(store)
        lid = recs.create_launch("exp", tmp_path / "e.toml", None, 1.0)
        for s in ("exp.g1n1", "exp.g2n1", "exp.g4n1"):
            _schedule(recs, s, lid)
        # cancelled while scheduled: the supervisor can no longer claim it
        assert recs.mark_cancelled("exp", "exp.g1n1", "me", 2.0).status == SCHEDULED
        assert not recs.claim_for_start("exp", "exp.g1n1", lid)
        # cancelled while starting: recording the process reports it, the status stays cancelled
        assert recs.claim_for_start("exp", "exp.g2n1", lid)
        assert recs.mark_cancelled("exp", "exp.g2n1", "me", 3.0).status == STARTING
        assert not recs.mark_running(
            "exp", "exp.g2n1", pid=10, pgid=10, proc_start=1.0, started_at=3.1
        )
        # normal start and exit
        assert recs.claim_for_start("exp", "exp.g4n1", lid)
        assert recs.mark_running("exp", "exp.g4n1", pid=11, pgid=11, proc_start=1.0, started_at=4.0)
        recs.mark_ended("exp", "exp.g4n1", 0, None, 5.0)
        assert recs.mark_cancelled("exp", "exp.g4n1", "me", 6.0) is None  # already ended
        rows = {r.sweep: r for r in recs.pair_rows("exp")}
        assert [rows[s].status for s in ("exp.g1n1", "exp.g2n1", "exp.g4n1")] == [
            CANCELLED,
            CANCELLED,
            EXITED,
        ]
        assert rows["exp.g2n1"].pid == 10 and rows["exp.g1n1"].cancelled_by == "me"
        assert rows["exp.g4n1"].exit_code == 0 and rows["exp.g4n1"].ended_at == 5.0


def test_trial_progress_counts_ended_trials_and_best_by_goal(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.upsert_sweep("exp.g1n1", max_trials=8)
        for i, (state, score) in enumerate(
            [("finished", 0.5), ("finished", 0.9), ("failed", None), ("running", None)]
        ):
            store.insert_trial(f"r{i}", "exp.g1n1", idx=i + 1, state=state, score=score)
        recs = LaunchRecords(store)
        assert recs.trial_progress(["exp.g1n1", "exp.g2n1"], "maximize") == {
            "exp.g1n1": (3, 8, 0.9)
        }
        assert recs.trial_progress(["exp.g1n1"], "minimize")["exp.g1n1"][2] == 0.5


def test_a_pair_not_started_yet_shows_the_max_trials_its_launch_runs_to(tmp_path):
    """A pair scheduled by a new launch whose sweep ran before (to 2 trials) shows the max trials
    the launch froze (5), not the earlier run's; a started pair shows what its sweep recorded."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.paths import ensure_private_dir, snapshot_path

    cfg = cfgmod.from_dict(
        {"experiment": {"name": "exp"}, "sweep": {"max_trials": 5, "batch_size": 1}}, env={}
    )
    snap = snapshot_path("exp")
    ensure_private_dir(snap.parent)
    cfgmod.save(cfg, snap)
    with Store(tmp_path / "s.sqlite") as store:
        for sweep in ("exp.g1n1", "exp.g2n1"):
            store.upsert_sweep(sweep, max_trials=2)
            store.insert_trial(sweep + "_r1", sweep, idx=1, state="finished", score=1.0)
        recs = LaunchRecords(store)
        lid = recs.create_launch("exp", snap, None, 1.0)
        for sweep in ("exp.g1n1", "exp.g2n1"):
            _schedule(recs, sweep, lid)
        assert recs.claim_for_start("exp", "exp.g2n1", lid)
        assert recs.mark_running("exp", "exp.g2n1", pid=1, pgid=1, proc_start=1.0, started_at=2.0)
        recs.mark_ended("exp", "exp.g2n1", 0, None, 3.0)
        pairs = {p.sweep_name: p for p in sup.pair_status("exp", store).pairs}
    assert (pairs["exp.g1n1"].trials_done, pairs["exp.g1n1"].max_trials) == (1, 5)
    assert (pairs["exp.g2n1"].trials_done, pairs["exp.g2n1"].max_trials) == (1, 2)


def test_process_identity_detects_a_reused_pid():
    me = os.getpid()
    start = process_start_time(me)
    assert is_running(me, start)
    assert not is_running(me, start - 100.0)  # same pid, different process start: not ours
    assert not is_running(None, start)


def test_stop_never_signals_a_process_whose_pid_was_reused():
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        wrong = ProcessGroupTarget(proc.pid, proc.pid, process_start_time(proc.pid) - 100.0)
        result = stop_process_trees([wrong], grace_s=0.2)
        assert result.signalled == 0 and proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_stop_escalates_to_sigkill_for_a_tree_ignoring_sigterm():
    code = (
        "import signal, subprocess, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "subprocess.Popen(['sleep', '60']); subprocess.Popen(['sleep', '60'], start_new_session=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    import psutil

    leader = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    while len(leader.children()) < 2:
        assert time.monotonic() < deadline, "children never appeared"
        time.sleep(0.05)
    tree = [leader] + leader.children(recursive=True)
    result = stop_process_trees(
        [ProcessGroupTarget(proc.pid, proc.pid, leader.create_time())], grace_s=0.3
    )
    proc.wait()
    assert result.killed >= 1 and result.survivors == []
    assert result.signalled == 3 and result.per_group == {proc.pid: 3}
    for p in tree:
        assert not p.is_running() or p.status() == psutil.STATUS_ZOMBIE


def test_status_table_never_cuts_the_status_at_80_columns():
    from rich.console import Console

    running = _pair(
        sweep_name="exp.g1n1", gpus=1, status="running", pid=4123456, started_at=40.0, alive=True
    )
    waiting = _pair(sweep_name="exp.g16n128", gpus=16, nodes=128, planned_start=160.0)
    st = ExperimentStatus("exp", 1, True, 4000001, None, [running, waiting], 100.0)
    for width in (80, 56):  # a narrow terminal squeezes the other columns, not these
        console = Console(width=width, record=True, file=io.StringIO())
        console.print(render(st, 100.0, None, width))
        text = console.export_text()
        assert "scheduled" in text and "schedul…" not in text and "g16n128" in text
        assert all(len(line) <= width for line in text.splitlines())


def test_a_pair_of_three_ranks_is_planned_without_a_warning_that_its_trials_fail():
    # the built-in trainer deals an uneven batch out over the ranks (tests/train), so plan no
    # longer warns that a rank count that is not a power of two fails every trial
    from hwscale_tui import config as cfgmod
    from hwscale_tui.hardware import HardwarePair
    from hwscale_tui.launch.commands import pair_warnings

    cfg = cfgmod.apply_overrides(cfgmod.default_config(env={}), {"grid.gpu_counts": [1, 3]})
    warnings = pair_warnings(cfg, HardwarePair(3, 1), cpu_count=8)
    assert not any("fail" in w or "power of two" in w for w in warnings), warnings


@pytest.mark.parametrize(
    ("dispatcher", "said", "how"),
    [
        ("slurm", "runs as Slurm job 34;", "`scancel 34`"),
        ("skypilot", "runs as SkyPilot job 34;", "`sky jobs cancel -y -n 34`"),
    ],
)
def test_stopping_a_cluster_trial_names_its_clusters_own_command(dispatcher, said, how):
    """The app's stop on a Slurm trial said 'runs as SkyPilot job 34 ... (stop this one with
    `sky jobs cancel -y -n 34`)': a Slurm trial's job_name is its job id."""
    from hwscale_tui.launch.trial_control import stop_trial
    from hwscale_tui.store import Store

    run_id = "exp.g1n1_trial_0001_aaaaaa"
    with Store.open_default() as store:
        store.upsert_sweep("exp.g1n1", experiment="exp", gpus=1, nodes=1, dispatcher=dispatcher)
        store.insert_trial(run_id, "exp.g1n1", experiment="exp", idx=1, gpus=1, nodes=1)
        store.update_trial(run_id, job_name="34", state="running")
        with pytest.raises(UsageError) as e:
            stop_trial(run_id, store=store)
    assert said in str(e.value) and how in str(e.value), e.value


def test_a_pair_spelled_with_a_gen1_suffix_is_refused_without_contradicting_itself():
    """'g1n1.gen1' was refused as "generation 1's sweep of g1n1, and experiment exp's pairs
    are generation 1's": no sweep has that name (generation 1's have no suffix)."""
    with pytest.raises(UsageError) as e:
        sup._resolve_sweeps("exp", ["g1n1.gen1"], ["exp.g1n1"])
    assert str(e.value) == (
        "'g1n1.gen1' names no sweep of experiment exp (generation 1's sweeps have no .gen "
        "suffix); accepted: g1n1 or exp.g1n1."
    )
    with pytest.raises(UsageError, match="is generation 1's sweep of g1n1"):
        sup._resolve_sweeps("exp", ["exp.g1n1"], ["exp.g1n1.gen2"])
