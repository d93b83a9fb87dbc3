"""The supervisor with real processes: stagger, sequential order, cancel (scheduled, running,
SIGTERM-ignoring trees), no orphans, supervisor death and resume, start failures, refusal of a
second launch, and the store staying whole under concurrent readers and writers."""

from __future__ import annotations

import os
import signal
import threading

import psutil
import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.errors import UsageError
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.files import pair_log_path
from hwscale_tui.paths import app_paths, snapshot_path
from hwscale_tui.store import Store
from tests.launch.launch_testkit import (
    all_ended,
    clean_processes,
    fake_command,
    live,
    live_in_group,
    records,
    statuses,
    wait_for,
    write_experiment,
)

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def test_staggered_pairs_start_in_order_never_early_in_their_own_sessions(tmp_path):
    rec = tmp_path / "starts.jsonl"
    cfg = write_experiment(
        tmp_path / "e.toml",
        fake_command("--trials", "2", "--say", "hello", record=rec),
        delay_s=0.4,
    )
    info = sup.launch(cfg)
    assert info.supervisor_pid != os.getpid() and info.sweeps == [
        "exp.g1n1",
        "exp.g2n1",
        "exp.g4n1",
    ]
    wait_for(all_ended, "every pair to end")

    st = sup.pair_status("exp")
    pairs = {p.tag: p for p in st.pairs}
    planned = [pairs[t].planned_start for t in ("g1n1", "g2n1", "g4n1")]
    assert planned[1] - planned[0] == pytest.approx(0.4) and planned[2] - planned[
        1
    ] == pytest.approx(0.4)
    starts = {r["sweep"]: r for r in records(rec)}
    for p in st.pairs:
        assert p.status == "exited" and p.exit_code == 0
        assert p.started_at >= p.planned_start  # never early, by the supervisor's clock
        assert starts[p.sweep_name]["started"] >= p.planned_start  # nor by the sweep's own
        child = starts[p.sweep_name]
        assert (
            child["pid"] == p.pid == child["pgid"] == child["sid"]
        )  # its own session and process group
        assert p.trials_done == 2 and p.max_trials == 4 and p.best_score == 2.0
        log = pair_log_path("exp", p.sweep_name).read_text()
        assert "hello" in log and p.sweep_name in log
    ordered = sorted(st.pairs, key=lambda p: p.started_at)
    assert [p.tag for p in ordered] == ["g1n1", "g2n1", "g4n1"]
    launch_row = (
        Store.open_default().conn.execute("SELECT status, ended_at FROM launches").fetchone()
    )
    assert launch_row["status"] == "finished" and launch_row["ended_at"] is not None


def test_sequential_pairs_wait_for_the_previous_to_exit(tmp_path):
    cfg = write_experiment(
        tmp_path / "e.toml", fake_command("--sleep", "0.3"), sequential=True, delay_s=30
    )
    info = sup.launch(cfg)
    assert list(info.planned_start.values())[1:] == [None, None]
    wait_for(all_ended, "every pair to end")
    pairs = sorted(sup.pair_status("exp").pairs, key=lambda p: p.position)
    for before, after in zip(pairs, pairs[1:]):
        assert after.started_at >= before.ended_at
        assert after.planned_start >= before.ended_at  # filled in when its turn came
    assert all(p.exit_code == 0 for p in pairs)


def test_cancel_a_scheduled_pair_it_never_starts(tmp_path):
    rec = tmp_path / "starts.jsonl"
    cfg = write_experiment(
        tmp_path / "e.toml", fake_command("--sleep", "600", record=rec), delay_s=30
    )
    sup.launch(cfg)
    wait_for(lambda: records(rec), "g1n1 to run")
    scheduled = sup.pair_status("exp").pair("exp.g2n1")
    # no sweep recorded yet: 0 of the launch's max trials, as the app shows it (status said -)
    assert (scheduled.trials_done, scheduled.max_trials) == (0, cfg.sweep.max_trials)
    assert sup.cancel("exp", ["g2n1"], by="tester") == ["exp.g2n1"]
    # the analysis's progress note no longer waits for g2n1's trials (it read "no trials yet
    # from g2n1" after the generation had ended)
    assert sup.ended_pair_tags("exp") == {"g2n1"}
    pair = sup.pair_status("exp").pair("exp.g2n1")
    assert (
        pair.status == "cancelled"
        and pair.cancelled_by == "tester"
        and pair.cancelled_at is not None
    )
    with pytest.raises(UsageError, match="g1n1 still scheduled or running"):
        sup.relaunch("exp", ["g1n1"])
    assert sorted(sup.cancel("exp", None, by="tester", grace_s=2)) == ["exp.g1n1", "exp.g4n1"]
    wait_for(lambda: not sup.pair_status("exp").supervisor_alive, "the supervisor to finish")
    st = sup.pair_status("exp")
    assert [p.status for p in st.pairs] == ["cancelled"] * 3
    assert sup.ended_pair_tags("exp") == {"g1n1", "g2n1", "g4n1"}
    assert sup.ended_pair_tags("never_launched") == set()
    assert [r["sweep"] for r in records(rec)] == ["exp.g1n1"]  # the others never ran
    assert not pair_log_path("exp", "exp.g2n1").exists()


def _running_tree(tmp_path, *extra: str):
    rec = tmp_path / "tree.jsonl"
    cfg = write_experiment(
        tmp_path / "e.toml",
        fake_command("--sleep", "600", "--tree", *extra, record=rec),
        gpus=(1, 2),
        delay_s=0.3,
    )
    sup.launch(cfg)
    wait_for(lambda: len(records(rec)) == 2, "both sweeps to hold their trees")
    return {r["sweep"]: r for r in records(rec)}


def _tree_pids(entry) -> list[int]:
    leader = psutil.Process(entry["pid"])
    return [entry["pid"], *entry["children"], *(c.pid for c in leader.children(recursive=True))]


def test_cancel_a_running_pair_stops_its_whole_tree_and_leaves_the_other(tmp_path):
    trees = _running_tree(tmp_path)
    victim, other = trees["exp.g1n1"], trees["exp.g2n1"]
    pids = _tree_pids(victim)
    assert len(set(pids)) >= 5  # leader, 2 children, grandchild, one child in its own session
    outcome = sup.cancel_pairs("exp", ["g1n1"], by="tester", grace_s=5)
    assert [o.cancelled for o in outcome] == [True] and outcome[0].stopped.survivors == []
    assert outcome[0].stopped.per_group == {
        victim["pgid"]: len(set(pids))
    }  # the other pair's tree untouched
    assert not [p for p in pids if live(p)], "orphans left behind"
    assert live_in_group(victim["pgid"]) == []
    assert live(other["pid"]) and all(live(p) for p in other["children"])
    wait_for(
        lambda: sup.pair_status("exp").pair("exp.g1n1").exit_code is not None,
        "the supervisor to reap it",
    )
    pair = sup.pair_status("exp").pair("exp.g1n1")
    assert (
        pair.status == "cancelled"
        and pair.exit_code == -signal.SIGTERM
        and pair.ended_at >= pair.cancelled_at
    )


def test_cancel_escalates_to_sigkill_when_the_tree_ignores_sigterm(tmp_path):
    trees = _running_tree(tmp_path, "--ignore-term")
    pids = [p for entry in trees.values() for p in _tree_pids(entry)]
    outcomes = sup.cancel_pairs("exp", None, by="tester", grace_s=0.5)
    assert all(o.cancelled for o in outcomes)
    assert outcomes[0].stopped.killed >= 1 and outcomes[0].stopped.survivors == []
    # SIGKILLed: gone once the kernel has torn them down (a final pre-check CI under load saw
    # some still listed right after the cancel returned)
    wait_for(lambda: not [p for p in pids if live(p)], "the killed trees to be gone", 15)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_supervisor_gone_sweeps_continue_and_resume_starts_only_the_rest(tmp_path, sig, capsys):
    rec = tmp_path / "starts.jsonl"
    cfg = write_experiment(
        tmp_path / "e.toml", fake_command("--sleep", "600", record=rec), delay_s=60
    )
    info = sup.launch(cfg)
    wait_for(lambda: records(rec), "g1n1 to run")
    os.kill(info.supervisor_pid, sig)
    wait_for(lambda: not sup.pair_status("exp").supervisor_alive, "the supervisor to be gone")
    with (
        Store.open_default() as store
    ):  # SIGTERM is a clean stop; SIGKILL leaves the launch row open
        assert store.conn.execute("SELECT status FROM launches").fetchone()[0] == (
            "stopped" if sig == signal.SIGTERM else "running"
        )

    st = sup.pair_status("exp")
    first = st.pair("exp.g1n1")
    assert first.status == "running" and first.alive  # the sweep did not notice
    assert [p.tag for p in st.never_started] == ["g2n1", "g4n1"]
    # doctor says so too (it said every check was ok: those pairs would never start)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert (
        f"PROBLEM launch: experiment exp: its supervisor (pid {info.supervisor_pid}, launch 1) "
        "is gone and g2n1, g4n1 never started; hwscale-tui launch --experiment-name exp --resume "
        "starts them"
    ) in out, out
    with pytest.raises(UsageError, match="g1n1 of experiment exp still scheduled or running"):
        sup.launch(cfg)  # a plain launch would duplicate g1n1

    resumed = sup.launch(cfgmod.apply_overrides(cfg, {"launch.delay_s": 0.2}), resume=True)
    assert resumed.sweeps == ["exp.g2n1", "exp.g4n1"] and resumed.left_running == ["exp.g1n1"]
    wait_for(lambda: len(records(rec)) == 3, "the resumed pairs to start")
    st = sup.pair_status("exp")
    assert st.supervisor_alive and st.never_started == []
    main(["doctor"])
    assert "ok      launch: no launch left pairs unstarted" in capsys.readouterr().out
    assert st.pair("exp.g1n1").pid == first.pid
    assert sorted(r["sweep"] for r in records(rec)) == [
        "exp.g1n1",
        "exp.g2n1",
        "exp.g4n1",
    ]  # no duplicate


def test_start_failures_are_recorded_and_the_other_pairs_continue(tmp_path):
    (tmp_path / "run-1").write_text("#!/bin/sh\necho boom: bad config\nexit 3\n")
    (tmp_path / "run-4").write_text("#!/bin/sh\necho fine\n")
    for name in ("run-1", "run-4"):
        os.chmod(tmp_path / name, 0o755)
    cfg = write_experiment(tmp_path / "e.toml", [str(tmp_path / "run-{gpus}")], delay_s=0.2)
    sup.launch(cfg)
    wait_for(all_ended, "every pair to end")
    pairs = {p.tag: p for p in sup.pair_status("exp").pairs}
    assert pairs["g1n1"].status == "exited" and pairs["g1n1"].exit_code == 3
    assert pairs["g1n1"].first_log_lines == ["boom: bad config"]
    assert pairs["g2n1"].status == "failed_to_start" and pairs["g2n1"].pid is None
    assert "No such file or directory" in pairs["g2n1"].first_log_lines[0]
    assert pairs["g4n1"].status == "exited" and pairs["g4n1"].exit_code == 0

    os.symlink(tmp_path / "run-4", tmp_path / "run-2")  # fix it, then relaunch just that pair
    info = sup.relaunch("exp", ["g2n1"])
    assert info.sweeps == ["exp.g2n1"]
    wait_for(
        lambda: statuses()["g2n1"] == "exited" and not sup.pair_status("exp").supervisor_alive,
        "the relaunch",
    )
    assert sup.pair_status("exp").pair("exp.g2n1").exit_code == 0


def test_unwritable_log_locations_fail_only_the_pairs_concerned(tmp_path):
    cfg = write_experiment(tmp_path / "e.toml", fake_command(), delay_s=0.2)
    pair_log_path("exp", "exp.g2n1").mkdir(parents=True)  # a directory where g2n1's log file goes
    other = write_experiment(
        tmp_path / "o.toml", fake_command(), name="other", gpus=(1,), delay_s=0.2
    )
    app_paths().logs.mkdir(parents=True, exist_ok=True)
    (app_paths().logs / "other").write_text("a file where the log directory goes")
    sup.launch(cfg)
    sup.launch(other)
    wait_for(lambda: all_ended("exp") and all_ended("other"), "every pair to end")
    assert statuses() == {"g1n1": "exited", "g2n1": "failed_to_start", "g4n1": "exited"}
    assert "cannot open the log file" in sup.pair_status("exp").pair("exp.g2n1").first_log_lines[0]
    assert statuses("other") == {"g1n1": "failed_to_start"}


def test_a_second_launch_is_refused_while_the_supervisor_runs(tmp_path):
    cfg = write_experiment(tmp_path / "e.toml", fake_command("--sleep", "600"), delay_s=60)
    first = sup.launch(cfg)
    snapshot = snapshot_path("exp").read_text()
    changed = cfgmod.apply_overrides(cfg, {"sweep.max_trials": 3})
    with pytest.raises(
        UsageError, match=rf"already running \(supervisor pid {first.supervisor_pid}, launch 1\)"
    ):
        sup.launch(changed)
    with pytest.raises(UsageError, match="already running"):
        sup.launch(changed, resume=True)
    with Store.open_default() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM launches").fetchone()[0] == 1
    assert snapshot_path("exp").read_text() == snapshot  # nothing written


def test_the_store_stays_whole_under_concurrent_readers_and_writers(tmp_path):
    cfg = write_experiment(
        tmp_path / "e.toml",
        fake_command("--trials", "20", "--sleep", "600"),
        gpus=(1, 2, 4, 8),
        delay_s=0.05,
    )
    sup.launch(cfg)
    stop, seen, errors = threading.Event(), [], []

    def reader():
        while not stop.is_set():
            try:
                seen.append(len(sup.pair_status("exp").pairs))
            except Exception as e:  # any error here is the failure we look for
                errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        wait_for(
            lambda: sum(p.trials_done or 0 for p in sup.pair_status("exp").pairs) == 80,
            "all trials written",
        )
        sup.cancel("exp", ["g1n1", "g8n1"], by="a", grace_s=2)
        sup.cancel("exp", None, by="b", grace_s=2)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert errors == [] and seen and set(seen) == {4}
    with Store.open_default() as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    st = sup.pair_status("exp")
    assert {p.tag: p.cancelled_by for p in st.pairs} == {
        "g1n1": "a",
        "g2n1": "b",
        "g4n1": "b",
        "g8n1": "a",
    }


def test_an_unwritable_supervisor_log_refuses_the_launch_and_writes_nothing(tmp_path):
    cfg = write_experiment(tmp_path / "e.toml", fake_command(), delay_s=0.2)
    app_paths().logs.mkdir(parents=True)
    (app_paths().logs / "supervisor").write_text("a file where the supervisor's log directory goes")
    with pytest.raises(UsageError, match=r"cannot write the supervisor log .*exp\.log"):
        sup.launch(cfg)
    assert not snapshot_path("exp").exists()
    assert sup.pair_status("exp").pairs == [] and sup.pair_status("exp").launch_id is None


def _builtin(path, gpus: tuple[int, ...]) -> cfgmod.ExperimentConfig:
    """A real built-in sweep (our runner and trainer), one tiny trial per pair."""
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "done"},
            "grid": {"gpu_counts": list(gpus), "node_counts": [1]},
            "sweep": {"max_trials": 1, "total_timesteps": 2048},
            "launch": {"delay_s": 30.0},
        },
        source=str(path),
        env={},
    )
    cfgmod.save(cfg, path)
    return cfgmod.load(path)


def test_a_launch_leaves_out_pairs_whose_builtin_sweep_has_run_its_trials(tmp_path):
    sup.launch(_builtin(tmp_path / "e.toml", (1,)), foreground=True)
    assert sup.pair_status("done").pair("done.g1n1").trials_done == 1
    # a pair added to the grid: the launch starts only it, at once (no stagger behind g1n1)
    info = sup.launch(_builtin(tmp_path / "e.toml", (1, 2)), foreground=True)
    assert info.sweeps == ["done.g2n1"]
    assert any("g1n1 already ran 1 trial in generation 1" in w for w in info.warnings)
    st = sup.pair_status("done")
    assert {p.tag: p.trials_done for p in st.pairs} == {"g1n1": 1, "g2n1": 1}
    assert st.pair("done.g1n1").launch_id != st.pair("done.g2n1").launch_id
    # nothing left to run: one sentence, nothing started
    with pytest.raises(UsageError, match="every pair of experiment done has already run its 1"):
        sup.launch(_builtin(tmp_path / "e.toml", (1, 2)))
    assert sup.pair_status("done").launch_id == st.launch_id
    # --only of a spent pair is refused too: it was started 'anyway', and its runner resumed
    # the sweep, found its trial done and ended at once
    with pytest.raises(UsageError) as refused:
        sup.launch(_builtin(tmp_path / "e.toml", (1, 2)), only=["g1n1"])
    assert str(refused.value) == (
        "g1n1 of experiment done already ran 1 trial in generation 1, so its sweep would find "
        "its trials done and end at once; accepted: a higher sweep.max_trials (--max-trials), "
        "or --new-generation to run the experiment again."
    )
    assert sup.pair_status("done").launch_id == st.launch_id
    # with a higher max_trials it runs one more
    more = cfgmod.apply_overrides(_builtin(tmp_path / "e.toml", (1, 2)), {"sweep.max_trials": 2})
    again = sup.launch(more, only=["g1n1"], foreground=True)
    assert again.sweeps == ["done.g1n1"]
    assert sup.pair_status("done").pair("done.g1n1").trials_done == 2
    assert sup.pair_status("done").pair("done.g1n1").exit_code == 0
    # the status lists the pairs in the grid's order, also after g1n1 was launched again last
    assert [p.tag for p in sup.pair_status("done").pairs] == ["g1n1", "g2n1"]


def test_a_launch_leaves_out_a_pair_whose_sweep_was_run_by_hand_to_its_budget(tmp_path):
    """`hwscale-tui sweep` by hand runs the pair's sweep under the same name a launch uses. Only
    launched pairs were checked, so the launch started it again: it found its trials done,
    logged "1 of 1 trials done" and ended at once (and held back the pairs staggered after it)."""
    import subprocess

    from tests.support.cli import hwscale_cmd

    path = tmp_path / "e.toml"
    _builtin(path, (1,))
    r = subprocess.run(
        hwscale_cmd("sweep", "-e", str(path), "--gpus", "1", "--nodes", "1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    info = sup.launch(_builtin(path, (1, 2)), foreground=True)
    assert info.sweeps == ["done.g2n1"]
    assert any("g1n1 already ran 1 trial in generation 1" in w for w in info.warnings)
    with pytest.raises(UsageError, match="g1n1 of experiment done already ran 1 trial"):
        sup.launch(_builtin(path, (1, 2)), only=["g1n1"])


def test_a_changed_launch_beside_a_live_supervisor_is_refused_for_the_supervisor_first(tmp_path):
    """Settings changed while a supervisor runs: the refusal named --new-generation, whose
    launch was then refused as 'already running'. The running supervisor is said first."""
    cfg = write_experiment(tmp_path / "e.toml", fake_command("--sleep", "600"), delay_s=60)
    info = sup.launch(cfg)
    changed = cfgmod.apply_overrides(cfg, {"sweep.total_timesteps": 12345})
    with pytest.raises(UsageError) as refused:
        sup.launch(changed)
    said = str(refused.value)
    assert said.startswith(
        f"experiment exp is already running (supervisor pid {info.supervisor_pid}, launch 1)"
    ), said
    assert "--new-generation" not in said
    with Store.open_default() as store:  # nothing recorded for the refused launch
        assert [g["generation"] for g in store.generations("exp")] == [1]


def test_a_sequential_resume_waits_for_the_pair_its_dead_supervisor_left_running(tmp_path):
    """Sequential pairs run one after another. The supervisor is SIGKILLed while g1n1 runs;
    `launch --resume` started g2n1 at once, beside g1n1 (both on the machine's cores, so both
    timed each other's contention). Now g2n1 waits until g1n1 has exited."""
    rec = tmp_path / "starts.jsonl"
    cfg = write_experiment(
        tmp_path / "e.toml",
        fake_command("--sleep", "600", record=rec),
        gpus=(1, 2),
        sequential=True,
    )
    info = sup.launch(cfg)
    wait_for(lambda: records(rec), "g1n1 to run")
    os.kill(info.supervisor_pid, signal.SIGKILL)
    wait_for(lambda: not sup.pair_status("exp").supervisor_alive, "the supervisor to be gone")

    resumed = sup.launch(cfg, resume=True)
    assert resumed.sweeps == ["exp.g2n1"] and resumed.left_running == ["exp.g1n1"]
    assert resumed.planned_start == {"exp.g2n1": None}  # after the previous pair, not now
    wait_for(
        lambda: sup.pair_status("exp").supervisor_alive, "the resumed launch's supervisor to run"
    )
    assert [r["sweep"] for r in records(rec)] == ["exp.g1n1"]
    sup.cancel_pairs("exp", ["g1n1"], by="test")
    wait_for(lambda: len(records(rec)) == 2, "g2n1 to start once g1n1 has exited")
    g1 = sup.pair_status("exp").pair("exp.g1n1")
    assert g1 is not None and g1.ended_at is not None
    assert records(rec)[1]["sweep"] == "exp.g2n1" and records(rec)[1]["started"] >= g1.ended_at


def test_a_new_generation_waits_for_the_pairs_a_live_supervisor_is_still_to_start(tmp_path):
    """g1n1 has run, g2n1 is due in a minute under the live supervisor. `launch
    --new-generation --only g1n1` was taken: once due, generation 1's g2n1 ran the new
    snapshot as generation 2's sweep (exp.g2n1.gen2), a pair generation 2 never launched.
    It is refused like a new generation beside a running pair."""
    rec = tmp_path / "starts.jsonl"
    cfg = write_experiment(tmp_path / "e.toml", fake_command(record=rec), gpus=(1, 2), delay_s=60)
    sup.launch(cfg)
    wait_for(lambda: sup.pair_status("exp").pair("exp.g1n1").status == "exited", "g1n1 to end")
    with pytest.raises(UsageError) as refused:
        sup.launch(cfg, new_generation=True, only=["g1n1"])
    assert "g2n1 of experiment exp is still running or due to start in generation 1" in str(
        refused.value
    )
    with Store.open_default() as store:
        assert store.latest_generation("exp") == 1  # nothing recorded
    assert [r["sweep"] for r in records(rec)] == ["exp.g1n1"]


def test_launch_only_never_changes_the_settings_of_pairs_still_to_start(tmp_path):
    """g1n1 runs and g2n1 is due in a minute under a live supervisor. `launch --only g4n1` of
    the edited file rewrote the snapshot every pair's sweep reads when it starts, so g2n1 would
    have started with a budget it was not launched with. Refused, nothing written; a launch that
    only adds a pair to the grid goes ahead and leaves g2n1's settings as launched."""
    cfg = write_experiment(
        tmp_path / "e.toml", fake_command("--sleep", "600"), gpus=(1, 2), delay_s=60
    )
    first = sup.launch(cfg)
    wait_for(lambda: sup.pair_status("exp").pair("exp.g1n1").status == "running", "g1n1 to run")
    before = snapshot_path("exp").read_bytes()
    more = cfgmod.apply_overrides(
        cfg, {"grid.gpu_counts": [1, 2, 4], "sweep.max_trials": cfg.sweep.max_trials + 5}
    )
    with pytest.raises(UsageError) as refused:
        sup.launch(more, only=["g4n1"])
    said = str(refused.value)
    assert said.startswith(
        "launching g4n1 now would change sweep.max_trials for g2n1 of experiment exp, which is "
        "still to start with the settings it was launched with"
    ), said
    assert said.endswith("once g2n1 started or after hwscale-tui cancel g2n1.") and "\n" not in said
    assert snapshot_path("exp").read_bytes() == before
    assert sup.pair_status("exp").pair("exp.g4n1") is None

    added = cfgmod.apply_overrides(cfg, {"grid.gpu_counts": [1, 2, 4]})
    info = sup.launch(added, only=["g4n1"])
    assert info.sweeps == ["exp.g4n1"]
    assert cfgmod.load(snapshot_path("exp")).sweep.max_trials == cfg.sweep.max_trials
    assert sup.pair_status("exp").pair("exp.g2n1").status == "scheduled"
    # launch #1's supervisor killed: only --resume starts g2n1 now, and the refusal says so
    wait_for(lambda: sup.pair_status("exp").pair("exp.g4n1").status == "running", "g4n1 to run")
    os.kill(first.supervisor_pid, signal.SIGKILL)
    wait_for(lambda: sup.pair_status("exp").never_started, "g2n1 to be left unstarted")
    more = cfgmod.apply_overrides(added, {"grid.gpu_counts": [1, 2, 4, 8], "sweep.seed": 7})
    with pytest.raises(UsageError) as refused:
        sup.launch(more, only=["g8n1"])
    assert "would change sweep.seed for g2n1 of experiment exp" in str(refused.value)
    assert str(refused.value).endswith(
        "once g2n1 started (hwscale-tui launch --experiment-name exp --resume starts g2n1: "
        "its supervisor is gone) or after hwscale-tui cancel g2n1."
    )


def test_resume_refuses_a_snapshot_edited_since_its_generation_ran(tmp_path):
    """The supervisor SIGKILLed with g2n1 still to start, then the launch snapshot edited by
    hand (sweep.total_timesteps): `launch --resume` said it launched g2n1, which exited 2 at
    once (its sweep refuses to mix trials). Refused before anything starts; an unreadable
    snapshot too; put back, the resume starts g2n1."""
    rec = tmp_path / "starts.jsonl"
    cfg = write_experiment(
        tmp_path / "e.toml", fake_command("--sleep", "600", record=rec), gpus=(1, 2), delay_s=60
    )
    first = sup.launch(cfg)
    wait_for(lambda: records(rec), "g1n1 to run")
    os.kill(first.supervisor_pid, signal.SIGKILL)
    wait_for(lambda: sup.pair_status("exp").never_started, "g2n1 to be left unstarted")
    snap = snapshot_path("exp")
    launched = snap.read_text()
    cfgmod.save(cfgmod.apply_overrides(cfgmod.load(snap), {"sweep.total_timesteps": 12345}), snap)
    with pytest.raises(UsageError) as refused:
        sup.launch(cfg, resume=True)
    said = str(refused.value)
    assert said.startswith(f"the launch snapshot {snap} of experiment exp was changed since ")
    assert "sweep.total_timesteps" in said and "12345" in said and "\n" not in said
    snap.write_text("[sweep\n")
    with pytest.raises(UsageError, match="no longer reads as an experiment file"):
        sup.launch(cfg, resume=True)
    assert [r["sweep"] for r in records(rec)] == ["exp.g1n1"]  # nothing started
    snap.write_text(launched)
    assert sup.launch(cfg, resume=True).sweeps == ["exp.g2n1"]
