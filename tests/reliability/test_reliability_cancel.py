"""``cancel`` works when the store is damaged or gone: the per-launch file beside the store
lists every running pair's process group and identity, and trials whose runner died."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from hwscale_tui.cli import main
from hwscale_tui.launch import registry
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.paths import app_paths
from hwscale_tui.processes import process_start_time
from hwscale_tui.store import Store
from tests.launch.launch_testkit import (
    fake_command,
    live,
    wait_for,
    write_experiment,
)
from tests.support.launches import recorded_launch


def _wreck_store() -> None:
    store = app_paths().store
    store.write_bytes(os.urandom(8192))
    for suffix in ("-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)


def _kill_all_from_registry(experiment: str) -> None:
    """Clean-up that needs no store: every process the per-launch file knows, and its tree."""
    data = registry.read(experiment)
    entries = [*data["pairs"].values(), *data["trials"].values(), data.get("supervisor") or {}]
    for entry in entries:
        try:
            proc = psutil.Process(entry["pid"])
            for p in [*proc.children(recursive=True), proc]:
                p.kill()
        except (KeyError, psutil.Error):
            continue


@pytest.fixture
def kill_registered():
    yield
    _kill_all_from_registry("exp")


def test_cancel_all_stops_running_pairs_from_the_per_launch_file(tmp_path, capsys, kill_registered):
    exp = tmp_path / "exp.toml"
    cfg = write_experiment(exp, fake_command("--sleep", "120", "--tree"), gpus=(1, 2), delay_s=0)
    sup.launch(cfg)
    running = wait_for(
        lambda: (d := registry.read("exp"))["pairs"].keys() == {"exp.g1n1", "exp.g2n1"} and d,
        "both pairs in the per-launch file",
    )
    pids = [p["pid"] for p in running["pairs"].values()]
    tree = [c.pid for pid in pids for c in psutil.Process(pid).children(recursive=True)] + pids
    assert all(live(pid) for pid in pids)
    mode = registry.registry_path("exp").stat().st_mode & 0o777
    assert mode == 0o600
    _wreck_store()
    assert main(["status"]) == 1  # the store itself is unreadable: one sentence
    capsys.readouterr()
    assert main(["cancel", "--all"]) == 0  # the experiment's name comes from the file too
    out = capsys.readouterr().out
    assert "per-launch file" in out and "cancelled g1n1" in out and "cancelled g2n1" in out, out
    wait_for(lambda: not any(live(pid) for pid in tree), "every process of both pairs to end")
    sup_pid = running["supervisor"]["pid"]
    # the file lists started pairs only: the line says the supervisor (the rest) was stopped
    assert f"its supervisor (pid {sup_pid}) was stopped, so no pair not started yet" in out, out
    wait_for(lambda: not live(sup_pid), "the supervisor to stop")


def test_cancel_stops_trials_whose_sweep_runner_died(tmp_path, capsys):
    """A trial outliving its runner (SIGKILLed) is found through the per-launch file."""
    trial = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    runner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        registry.record_pair(
            "exp",
            "exp.g1n1",
            pid=runner.pid,
            pgid=runner.pid,
            proc_start=process_start_time(runner.pid),
        )
        registry.record_trial(
            "exp",
            "exp.g1n1",
            "exp.g1n1_trial_0001_abcdef",
            runner_pid=runner.pid,
            runner_start=process_start_time(runner.pid),
            fields={
                "pid": trial.pid,
                "pgid": trial.pid,
                "proc_start": process_start_time(trial.pid),
            },
            dispatcher="local",
        )
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        app_paths().store.parent.mkdir(parents=True, exist_ok=True)
        _wreck_store()
        assert main(["cancel", "g1n1", "--experiment-name", "exp"]) == 0
        out = capsys.readouterr().out
        assert "cancelled g1n1" in out, out
        assert trial.wait(timeout=30) == -signal.SIGTERM
        data = json.loads(registry.registry_path("exp").read_text())
        assert "exp.g1n1_trial_0001_abcdef" in data["trials"]  # a record, not a guess
    finally:
        for p in (trial, runner):
            if p.poll() is None:
                p.kill()
                p.wait()


def _write_builtin(path: Path, name: str = "exp") -> None:
    path.write_text(
        f'[experiment]\nname = "{name}"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n'
        "[sweep]\nmax_trials = 2\nbatch_size = 1\ntotal_timesteps = 50000000\n"
        "[launch]\ndelay_s = 0\n"
    )


def _launch_one_trial(tmp_path: Path, capsys) -> tuple[dict, dict, int]:
    """A launched 1-pair experiment once its trial runs: the per-launch file, the trial's entry
    in it and the sweep runner's pid."""
    exp = tmp_path / "exp.toml"
    _write_builtin(exp)
    assert main(["launch", "-e", str(exp)]) == 0
    capsys.readouterr()
    data = wait_for(
        lambda: (d := registry.read("exp"))["trials"] and d, "a trial in the per-launch file"
    )
    ((_run_id, trial),) = data["trials"].items()
    return data, trial, data["pairs"]["exp.g1n1"]["pid"]


def test_a_sigkilled_runners_trial_is_stopped_by_its_supervisor_and_cancel_has_nothing_left(
    tmp_path, capsys, kill_registered
):
    """The runner SIGKILLed while its supervisor lives: the supervisor stops the trial it left
    (launch/run_loop.py reap; it ran on beside the next pair before) and records it killed; a
    later cancel finds the pair ended and nothing left to stop (tests/launch/
    test_dead_runner_reaped.py covers cancel stopping a trial no supervisor stopped)."""
    _data, trial, runner = _launch_one_trial(tmp_path, capsys)
    os.kill(runner, signal.SIGKILL)
    wait_for(lambda: not live(runner), "the runner to die")
    wait_for(lambda: not live(trial["pid"]), "the supervisor to stop the trial its runner left")
    wait_for(lambda: sup.pair_status("exp").pairs[0].status == "exited", "the pair's exit recorded")
    with Store.open_default(readonly=True) as st:
        wait_for(
            lambda: [r["state"] for r in st.trial_rows(["exp.g1n1"])] == ["killed"],
            "the trial recorded killed",
        )
    capsys.readouterr()
    assert main(["cancel", "g1n1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("g1n1: not cancelled: already exited"), out
    assert "left running" not in out, out


def _assert_trial_ended(sweep: str) -> None:
    """The stopped trial is recorded killed (the built-in trainer records its own SIGTERM;
    cancel records a trial that could not, tests/slurm) and its sweep no longer runs."""
    with Store.open_default(readonly=True) as st:
        ((state, ended),) = [(r["state"], r["ended_at"]) for r in st.trial_rows([sweep])]
        assert state == "killed" and ended, (state, ended)
        assert st.get_sweep(sweep)["status"] == "cancelled"


def test_cancelling_a_pair_whose_runner_died_unwatched_ends_it_for_good(
    tmp_path, capsys, kill_registered
):
    """Supervisor and runner both SIGKILLed: the pair shows as exited (exit unknown), which
    ``launch --resume`` starts again. Cancelling it stops its trial and makes it cancelled, so
    a resume leaves it alone (before, cancel said 'already exited' and the resume restarted
    the pair the user had cancelled)."""
    data, trial, runner = _launch_one_trial(tmp_path, capsys)
    os.kill(data["supervisor"]["pid"], signal.SIGKILL)
    os.kill(runner, signal.SIGKILL)
    wait_for(lambda: not live(runner), "the runner to die")
    (pair,) = wait_for(
        lambda: (ps := sup.pair_status("exp").pairs)[0].status != "running" and ps,
        "the pair to show as exited (a zombie until reaped)",
    )
    assert (pair.status, pair.exit_code, pair.ended_at) == ("exited", None, None), pair
    assert main(["cancel", "g1n1"]) == 0
    out = capsys.readouterr().out
    wait_for(lambda: not live(trial["pid"]), "the orphaned trial to stop")
    assert out.startswith(
        "cancelled g1n1 (was exited): its sweep runner had died; launch --resume no longer "
        "starts it; stopped "
    ), out
    (pair,) = sup.pair_status("exp").pairs
    assert pair.status == "cancelled" and pair.ended_at is not None, pair
    _assert_trial_ended("exp.g1n1")
    assert main(["launch", "--resume", "--experiment-name", "exp"]) == 0
    capsys.readouterr()
    assert sup.pair_status("exp").pairs[0].status == "cancelled"
    assert not sup.pair_status("exp").pairs[0].alive


def test_launch_foreground_ctrl_c_cancels_its_sweeps_and_exits_130(tmp_path):
    exp = tmp_path / "exp.toml"
    write_experiment(exp, fake_command("--sleep", "120", "--tree"), gpus=(1, 2), delay_s=0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hwscale_tui", "launch", "--foreground", "-e", str(exp)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        data = wait_for(
            lambda: len((d := registry.read("exp"))["pairs"]) == 2 and d, "both pairs running"
        )
        pids = [p["pid"] for p in data["pairs"].values()]
        tree = [c.pid for pid in pids for c in psutil.Process(pid).children(recursive=True)]
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "SIGINT: cancelling the 2 pairs" in err, err
        wait_for(lambda: not any(live(p) for p in pids + tree), "every process of the launch")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_all_from_registry("exp")


def test_cancel_cancels_cluster_jobs_whose_runner_died(tmp_path, capsys, monkeypatch):
    """Slurm / SkyPilot trials of a dead runner are cancelled with the cluster's own command
    (fake `scancel` and `sky` on PATH record what they were asked), even with no store."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    for tool in ("scancel", "sky"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n')
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for run_id, kind, job in (
        ("exp.g1n1_trial_0001_aaaaaa", "slurm", "4242"),
        ("exp.g1n1_trial_0002_bbbbbb", "skypilot", "exp.g1n1_trial_0002_bbbbbb"),
        ("exp.g2n1_trial_0001_cccccc", "slurm", "4343"),
    ):
        registry.record_trial(
            "exp",
            run_id.split("_trial")[0],
            run_id,
            runner_pid=dead.pid,
            runner_start=1.0,
            fields={"job_name": job},
            dispatcher=kind,
        )
    app_paths().store.parent.mkdir(parents=True, exist_ok=True)
    _wreck_store()
    assert main(["cancel", "g1n1", "--experiment-name", "exp"]) == 0
    out = capsys.readouterr().out
    assert "orphaned cluster jobs" in out, out
    lines = calls.read_text().splitlines()
    assert "scancel 4242" in lines and "sky jobs cancel -y -n exp.g1n1_trial_0002_bbbbbb" in lines
    assert not any("4343" in line for line in lines), "only the pair named is cancelled"
    # cancelled: they left the per-launch file (g2n1's job, not cancelled, stays)
    left = registry.read("exp")["trials"]
    assert sorted(left) == ["exp.g2n1_trial_0001_cccccc"], left


def _fake_scancel(tmp_path: Path, monkeypatch) -> Path:
    """An ``scancel`` on PATH that only writes its arguments to the returned file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    (bin_dir / "scancel").write_text(f'#!/bin/sh\necho "scancel $*" >> {calls}\n')
    (bin_dir / "scancel").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return calls


def _record_dead_runners_slurm_trial() -> int:
    """Trial exp.g1n1_trial_0001_aaaaaa in the per-launch file as Slurm job 4242 of a sweep
    runner that has exited; returns that runner's pid."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    registry.record_trial(
        "exp",
        "exp.g1n1",
        "exp.g1n1_trial_0001_aaaaaa",
        runner_pid=dead.pid,
        runner_start=1.0,
        fields={"slurm_job_id": "4242"},
        dispatcher="slurm",
    )
    return dead.pid


def test_a_scancel_that_fails_keeps_the_job_and_fails_the_cancel_in_one_line(
    tmp_path, capsys, monkeypatch
):
    """scancel failing (its cluster unreachable) printed its whole multi-line stderr cut at
    120 characters inside 'cancelled g1n1': the pair reads not cancelled, scancel's last
    line says why, the job stays recorded for a later cancel, and cancel exits 1."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scancel").write_text(
        "#!/bin/sh\necho 'scancel: error: fetch_config: DNS SRV lookup failed' >&2\n"
        "echo 'scancel: fatal: Could not establish a configuration source' >&2\nexit 1\n"
    )
    (bin_dir / "scancel").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    with Store.open_default() as store:
        store.touch_experiment("exp")
    _record_dead_runners_slurm_trial()
    assert main(["cancel", "g1n1", "--experiment-name", "exp"]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    assert out.startswith("g1n1: not cancelled: orphaned cluster jobs: scancel 4242 failed "), out
    assert "(scancel: fatal: Could not establish a configuration source); still recorded" in out
    assert "DNS SRV" not in out, out
    assert "exp.g1n1_trial_0001_aaaaaa" in registry.read("exp")["trials"]
    assert main(["cancel", "g1n1", "--experiment-name", "exp", "--json"]) == 1
    (pair,) = json.loads(capsys.readouterr().out)["pairs"]
    assert pair["cancelled"] is False and pair["failed"] is True, pair


def test_a_dead_runners_slurm_jobs_are_named_by_status_and_doctor_and_scancelled_once(
    tmp_path, capsys, monkeypatch
):
    """A SIGKILLed runner's Slurm jobs: status and doctor name them (doctor said 'no trial
    runs without its sweep runner'). After `cancel` scancelled them (and recorded their trials
    killed), the per-launch file still listed them: the next cancel of the pair, e.g. of a
    runner relaunched with --only, said 'orphaned cluster jobs: scancel 9: ok' again."""

    calls = _fake_scancel(tmp_path, monkeypatch)
    dead = _record_dead_runners_slurm_trial()
    with Store.open_default() as store:
        recorded_launch(store, "exp", ["exp.g1n1"], tmp_path / "exp.toml", running_pid=dead)
    # before: status and doctor name the job no runner watches (doctor said 'no trial runs
    # without its sweep runner', status nothing of it)
    assert main(["status", "--experiment-name", "exp"]) == 0
    out = capsys.readouterr().out
    assert "1 trial left in flight as cluster jobs by their dead sweep runner" in out, out
    assert "(Slurm job 4242); hwscale-tui launch --experiment-name exp --resume" in out, out
    # beside a live supervisor `launch --resume` finds nothing to resume: --only PAIR starts a
    # runner that re-attaches them (status named --resume there too)
    from hwscale_tui.launch.state import LaunchRecords

    with Store.open_default() as store:
        lid = store.conn.execute("SELECT MAX(id) FROM launches").fetchone()[0]
        LaunchRecords(store).set_supervisor(lid, os.getpid(), process_start_time(os.getpid()))
    assert main(["status", "--experiment-name", "exp"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "(Slurm job 4242); hwscale-tui launch --experiment-name exp --only g1n1 re-attaches" in out
    )
    with Store.open_default() as store:
        LaunchRecords(store).set_supervisor(lid, dead, None)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "1 trial of exp.g1n1 left in flight as cluster jobs" in out, out
    assert main(["cancel", "g1n1", "--experiment-name", "exp"]) == 0
    assert "orphaned cluster jobs: scancel 4242: ok" in capsys.readouterr().out
    main(["doctor"])
    assert "no trial runs without its sweep runner" in capsys.readouterr().out
    assert "exp.g1n1_trial_0001_aaaaaa" not in registry.read("exp")["trials"]
    assert main(["cancel", "g1n1", "--experiment-name", "exp"]) == 0
    assert "scancel" not in capsys.readouterr().out
    assert calls.read_text().splitlines() == ["scancel 4242"]


def _sigterm_deaf_runner() -> subprocess.Popen:
    """A stand-in sweep runner that ignores SIGTERM (cancel must SIGKILL it), in its own
    session, returned once it has set that up."""
    runner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert runner.stdout is not None and runner.stdout.readline() == "ready\n"
    return runner


def test_a_runner_killed_by_cancel_leaves_no_slurm_job_in_the_per_launch_file(
    tmp_path, capsys, monkeypatch
):
    """A Slurm runner that ignores SIGTERM is SIGKILLed by cancel, which then scancels the jobs
    the store still has in flight: the per-launch file kept them under the dead runner, so
    status and doctor went on naming them as left in flight."""

    _fake_scancel(tmp_path, monkeypatch)
    runner = _sigterm_deaf_runner()
    try:
        start = process_start_time(runner.pid)
        run_id = "exp.g1n1_trial_0001_aaaaaa"
        with Store.open_default() as store:
            store.upsert_sweep("exp.g1n1", experiment="exp", gpus=1, nodes=1, dispatcher="slurm")
            store.insert_trial(run_id, "exp.g1n1", experiment="exp", idx=1, gpus=1, nodes=1)
            store.update_trial(run_id, job_name="4242")
            recorded_launch(
                store,
                "exp",
                ["exp.g1n1"],
                tmp_path / "exp.toml",
                running_pid=runner.pid,
                proc_start=start,
            )
        registry.record_trial(
            "exp",
            "exp.g1n1",
            run_id,
            runner_pid=runner.pid,
            runner_start=start,
            fields={"job_name": "4242"},
            dispatcher="slurm",
        )
        assert main(["cancel", "g1n1", "--experiment-name", "exp", "--grace", "0.2"]) == 0
        out = capsys.readouterr().out
        assert "SIGKILL needed" in out and "scancel 4242: ok" in out, out
        assert run_id not in registry.read("exp")["trials"]
        main(["doctor"])
        assert "no trial runs without its sweep runner" in capsys.readouterr().out
    finally:
        if runner.poll() is None:
            runner.kill()
        runner.wait()


def test_a_runner_that_finished_while_no_supervisor_watched_did_not_die(tmp_path, capsys):
    """The supervisor is SIGKILLed, the pair's sweep then runs to its end and records it
    (sweep 'finished'). Its pair row still says running and the exit code is unknown, and it
    was taken for a runner that died: `launch --resume` started it again and `cancel` said
    'its sweep runner had died' and recorded a finished pair cancelled."""

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store.open_default() as store:
        recorded_launch(
            store,
            "exp",
            ["exp.g1n1", "exp.g2n1"],
            tmp_path / "exp.toml",
            running_pid=dead.pid,
            started_at=10.0,
        )
        # g1n1's runner recorded its end; g2n1's was SIGKILLed (its sweep still says running)
        store.upsert_sweep("exp.g1n1", experiment="exp", status="finished", updated_at=20.0)
        store.upsert_sweep("exp.g2n1", experiment="exp", status="running", updated_at=20.0)
    g1, g2 = sup.pair_status("exp").pairs
    assert g1.status == g2.status == "exited" and g1.exit_code is None
    assert "its sweep recorded its own end (finished)" in (g1.note or ""), g1.note
    assert g1.ended_at == 20.0 and g2.ended_at is None
    assert not sup._died_unwatched(g1) and sup._died_unwatched(g2)  # what --resume starts
    assert main(["cancel", "--all", "--experiment-name", "exp"]) == 0
    out = capsys.readouterr().out
    assert "g1n1: not cancelled: already exited" in out, out
    assert "cancelled g2n1 (was exited): its sweep runner had died" in out, out
    assert [p.status for p in sup.pair_status("exp").pairs] == ["exited", "cancelled"]


@pytest.mark.parametrize("listed", [True, False], ids=["in-the-per-launch-file", "store-only"])
def test_a_failed_scancel_of_a_killed_runners_jobs_fails_the_cancel_and_keeps_them(
    tmp_path, capsys, monkeypatch, listed
):
    """A Slurm runner that ignores SIGTERM (its own scancel hangs: the controller is down) is
    SIGKILLed by cancel, which scancels the jobs the store still has in flight. That scancel
    failing read 'scancel 4242: scancel: fatal: ...' inside 'cancelled g1n1', exited 0 and
    recorded the trial killed: a job the per-launch file did not list was forgotten (status:
    'Slurm jobs: none in flight'), and no later cancel retried it. Now it fails the cancel in
    the words of the per-launch file's jobs, and the job stays recorded for a later cancel."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    (bin_dir / "scancel").write_text(
        f'#!/bin/sh\necho "scancel $*" >> {calls}\n'
        "echo 'scancel: error: Kill job error on job id 4242: Unable to contact slurm "
        "controller (connect failure)' >&2\nexit 8\n"
    )
    (bin_dir / "scancel").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    runner = _sigterm_deaf_runner()
    try:
        start = process_start_time(runner.pid)
        run_id = "exp.g1n1_trial_0001_aaaaaa"
        with Store.open_default() as store:
            store.upsert_sweep(
                "exp.g1n1",
                experiment="exp",
                gpus=1,
                nodes=1,
                dispatcher="slurm",
                pid=runner.pid,
                proc_start=start,
            )
            store.insert_trial(run_id, "exp.g1n1", experiment="exp", idx=1, gpus=1, nodes=1)
            store.update_trial(run_id, job_name="4242", state="running")
            recorded_launch(
                store,
                "exp",
                ["exp.g1n1"],
                tmp_path / "exp.toml",
                running_pid=runner.pid,
                proc_start=start,
            )
        if listed:
            registry.record_trial(
                "exp",
                "exp.g1n1",
                run_id,
                runner_pid=runner.pid,
                runner_start=start,
                fields={"slurm_job_id": "4242"},
                dispatcher="slurm",
            )
        assert main(["cancel", "g1n1", "--experiment-name", "exp", "--grace", "0.2"]) == 1
        out = capsys.readouterr().out
        assert out.count("\n") == 1, out
        assert "SIGKILL needed" in out, out
        assert (
            "scancel 4242 failed (scancel: error: Kill job error on job id 4242: Unable to "
            "contact slurm controller (connect failure)); still recorded"
        ) in out, out
        assert registry.read("exp")["trials"][run_id]["slurm_job_id"] == "4242"
        assert main(["status", "--experiment-name", "exp"]) == 0
        out = capsys.readouterr().out
        assert "g1n1 Slurm jobs: 4242 left by its dead sweep runner" in out, out
        assert "1 trial left in flight as cluster jobs by their dead sweep runner" in out, out
        # the next cancel retries the job (from the per-launch file) and fails again, saying so
        assert main(["cancel", "g1n1", "--experiment-name", "exp"]) == 1
        assert "scancel 4242 failed" in capsys.readouterr().out
        assert calls.read_text().splitlines() == ["scancel 4242", "scancel 4242"]
    finally:
        if runner.poll() is None:
            runner.kill()
        runner.wait()


def test_status_lists_a_slurm_job_a_runner_kept_after_its_own_scancel_failed():
    """A sweep runner whose scancel failed keeps the trial in the per-launch file under the key
    it records Slurm jobs by (job_name), its row killed; status read only `cancel`'s key
    (slurm_job_id), so the job that may still run was listed nowhere."""
    from hwscale_tui.commands.status import ORPHANED_JOB, slurm_jobs

    run_id = "exp.g1n1_trial_0001_aaaaaa"
    with Store.open_default() as store:
        store.upsert_sweep("exp.g1n1", experiment="exp", gpus=1, nodes=1, dispatcher="slurm")
        store.insert_trial(run_id, "exp.g1n1", experiment="exp", idx=1, gpus=1, nodes=1)
        store.update_trial(run_id, job_name="4242", state="killed")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    registry.record_trial(
        "exp",
        "exp.g1n1",
        run_id,
        runner_pid=dead.pid,
        runner_start=None,
        fields={"job_name": "4242"},
        dispatcher="slurm",
    )
    jobs = slurm_jobs(["exp.g1n1"], "exp")["exp.g1n1"]
    assert [(j["job_id"], j["state"]) for j in jobs] == [("4242", ORPHANED_JOB)]


def test_cancel_after_the_runner_died_keeps_the_results_of_trials_that_finished_meanwhile(
    tmp_path, capsys
):
    """Supervisor and sweep runner gone, two trials in the store as running: one's job ran to
    its end meanwhile (its metrics file has its final line), the other's left none. Cancel
    recorded both killed ("cancelled after its sweep runner died"), throwing the finished
    result away; it records that one finished, from its metrics file, as a runner that
    re-attaches would."""
    from tests.support.launches import dead_pid

    dead, start = dead_pid()
    runs = app_paths().runs
    with Store.open_default() as store:
        recorded_launch(store, "exp", ["exp.g1n1"], tmp_path / "exp.toml", running_pid=dead)
        store.upsert_sweep(
            "exp.g1n1", experiment="exp", gpus=1, nodes=1, pid=dead, proc_start=start,
            status="running",
        )  # fmt: skip
        for i, final in ((1, True), (2, False)):
            run_id = f"exp.g1n1_trial_000{i}_abcdef"
            metrics = runs / run_id / "metrics.jsonl"
            metrics.parent.mkdir(parents=True)
            lines = [{"metric/agent_step": 1024, "score": 20.0}]
            if final:
                lines.append(
                    {"final": True, "state": "finished", "sweep/score": 500.0,
                     "metric/agent_step": 200704, "metric/total_time": 11.5, "sweep/cost": 0.04}
                )  # fmt: skip
            metrics.write_text("".join(json.dumps(x) + "\n" for x in lines))
            store.insert_trial(
                run_id, "exp.g1n1", experiment="exp", idx=i, state="running",
                metrics_path=str(metrics),
            )  # fmt: skip
    assert main(["cancel", "g1n1", "--experiment-name", "exp"]) == 0
    out = capsys.readouterr().out
    assert "1 trial recorded killed; 1 trial recorded finished (from their metrics files)" in out
    with Store.open_default() as store:
        rows = {r["run_id"]: r for r in store.trial_rows(["exp.g1n1"])}
    done, killed = rows["exp.g1n1_trial_0001_abcdef"], rows["exp.g1n1_trial_0002_abcdef"]
    assert (done["state"], done["score"], done["agent_steps"], done["runtime_s"]) == (
        "finished", 500.0, 200704, 11.5
    ), done  # fmt: skip
    assert done["cost_usd"] == 0.04 and done["error"] is None
    assert (killed["state"], killed["error"]) == ("killed", "cancelled after its sweep runner died")
