"""The slurm dispatcher against a real Slurm cluster (2 nodes, 2 fake GPUs each; conftest.py).

Every trial goes through the real sbatch, squeue, sacct and scancel. Trials are tiny: the built-in
trainer for a few thousand steps, or slurm_trial.py (a two-node rendezvous stub).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
import tomli_w

from hwscale_tui.errors import StoreError
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store

pytestmark = pytest.mark.slow

STUB = Path(__file__).with_name("slurm_trial.py")
WAIT_S = 120.0


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}  # the private HOME/HWSCALE_HOME and SLURM_CONF of this test


def hwscale_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "hwscale_tui", *args]


def stub_command() -> list[str]:
    return [sys.executable, str(STUB), "{run_id}", "{metrics_file}", "{torchrun}", "--", "{params}"]


def write_experiment(path: Path, name: str, *, trial_command: bool, **sections: Any) -> Path:
    data: dict[str, dict[str, Any]] = {
        "experiment": {"name": name, "dispatcher": "slurm"},
        "grid": {"gpu_counts": [1, 2], "node_counts": [1, 2], "max_gpus_per_node": 2},
        "sweep": {
            "max_trials": 1,
            "batch_size": 1,
            "max_parallel_jobs": 1,
            "total_timesteps": 4096,
            "max_suggestion_cost": 60.0,
        },
        "slurm": {"cpus_per_task": 1, "poll_s": 0.2},
        "launch": {"delay_s": 0.0},
    }
    if trial_command:
        data["sweep"]["trial_command"] = stub_command()
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    path.write_text(tomli_w.dumps(data))
    return path


def sweep(exp: Path, gpus: int, nodes: int, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        hwscale_cmd("sweep", "-e", str(exp), "--gpus", str(gpus), "--nodes", str(nodes)),
        capture_output=True,
        text=True,
        env=cli_env(**env),
        timeout=300,
    )


def start_sweep(exp: Path, gpus: int, nodes: int, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        hwscale_cmd("sweep", "-e", str(exp), "--gpus", str(gpus), "--nodes", str(nodes)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(**env),
        start_new_session=True,
    )


def rows(sweep_name: str) -> list[dict[str, Any]]:
    path = app_paths().store
    if not path.exists():
        return []
    try:
        with Store(path, readonly=True) as store:
            return store.trial_rows([sweep_name])
    except (sqlite3.Error, StoreError):  # the sweep is creating the store right now
        return []


def events(sweep_name: str) -> list[tuple[str, str | None, str]]:
    with Store(app_paths().store, readonly=True) as store:
        return [(e["kind"], e["run_id"], e["message"]) for e in store.events(sweep=sweep_name)]


def wait_for(predicate, what: str, timeout: float = WAIT_S) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def job_fields(cluster, job_id: str) -> dict[str, str]:
    out = cluster.run(["scontrol", "-o", "show", "job", job_id])
    assert out.returncode == 0, out.stderr
    return dict(tok.split("=", 1) for tok in out.stdout.split() if "=" in tok)


def processes_of(run_id: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(run_id in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


# -- trials that run to the end ---------------------------------------------------------------


def test_builtin_sweep_on_slurm_finishes_trials_with_scores(slurm, tmp_path):
    exp = write_experiment(
        tmp_path / "exp.toml", "sb", trial_command=False, sweep={"max_trials": 2}
    )
    r = sweep(exp, 2, 1)
    assert r.returncode == 0, r.stdout + r.stderr
    trials = rows("sb.g2n1")
    assert [t["state"] for t in trials] == ["finished", "finished"], trials
    for t in trials:
        assert t["score"] is not None and t["agent_steps"] >= 4096 and t["cost_usd"] > 0
        assert re.fullmatch(r"\d+", t["job_name"]), t["job_name"]  # the Slurm job id
        job = job_fields(slurm, t["job_name"])
        # one job per trial, named by its run id, asking for what the pair says
        assert job["JobName"] == t["run_id"] and job["JobState"] == "COMPLETED"
        assert job["NumNodes"] == "1" and job["NumTasks"] == "1" and job["CPUs/Task"] == "1"
        assert job["TresPerNode"] == "gres:gpu:2"
        assert job["TimeLimit"] == "00:02:00"  # 2 x max_suggestion_cost 60 s
        # the learning curve came back through the shared state dir into the store
        with Store(app_paths().store, readonly=True) as store:
            assert len(store.history(t["run_id"])) >= 1
    started = [m for k, _, m in events("sb.g2n1") if k == "started"]
    assert started == [f"slurm_job={t['job_name']}" for t in trials]


def test_two_node_trial_spans_both_nodes_with_a_rendezvous_and_typed_gres(slurm, tmp_path):
    exp = write_experiment(
        tmp_path / "exp.toml", "st", trial_command=True, slurm={"gpu_type": "fake"}
    )
    r = sweep(exp, 2, 2, WANDB_API_KEY="k-secret-value")
    assert r.returncode == 0, r.stdout + r.stderr
    (trial,) = rows("st.g2n2")
    assert trial["state"] == "finished" and trial["score"] is not None, trial
    seen = json.loads((app_paths().runs / trial["run_id"] / "ranks.json").read_text())
    ranks = sorted(seen["ranks"], key=lambda x: x["node_id"])
    # one task per node, on both nodes, each with its own 2 GPUs, met through {torchrun}'s address
    assert [(x["node"], x["node_id"]) for x in ranks] == [("node1", "0"), ("node2", "1")]
    assert all(x["cuda_visible_devices"] == "0,1" for x in ranks)
    launcher = seen["launcher"]
    assert (
        launcher[0] == "torchrun" and "--nnodes=2" in launcher and "--nproc_per_node=2" in launcher
    )
    assert "--master_addr=127.0.0.1" in launcher  # node1's NodeAddr (node names do not resolve)
    job = job_fields(slurm, trial["job_name"])
    assert job["NumNodes"] == "2" and job["NodeList"] == "node[1-2]"
    assert job["TresPerNode"] == "gres:gpu:fake:2"
    # the secret reached both nodes through the environment, and is in no file or argument
    assert all(x["wandb_key_seen"] == "k-secret-value" for x in ranks)
    script = (app_paths().runs / trial["run_id"] / "job.sh").read_text()
    assert "k-secret-value" not in script
    assert "k-secret-value" not in slurm.run(["scontrol", "show", "job", trial["job_name"]]).stdout


def test_builtin_multinode_pair_is_refused_with_the_reason_and_nothing_submitted(slurm, tmp_path):
    exp = write_experiment(tmp_path / "exp.toml", "sr", trial_command=False)
    before = slurm.job_ids(active_only=False)
    r = sweep(exp, 1, 2)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "one machine" in r.stderr and "would use one node while reporting 2" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert slurm.job_ids(active_only=False) == before and rows("sr.g1n2") == []


def test_plan_on_the_cluster_sees_its_nodes_share_the_state_dir(slurm, tmp_path):
    exp = write_experiment(
        tmp_path / "exp.toml", "pp", trial_command=False, grid={"node_counts": [1]}
    )
    r = subprocess.run(
        hwscale_cmd("plan", "-e", str(exp), "--json"), capture_output=True, text=True, env=cli_env()
    )
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert not any("may not share" in w for w in plan["warnings"]), plan["warnings"]
    assert [p["sbatch"].split()[6] for p in plan["pairs"]] == ["--gres=gpu:1", "--gres=gpu:2"]


def test_bad_slurm_settings_exit_2_with_one_sentence_and_submit_nothing(slurm, tmp_path):
    exp = write_experiment(
        tmp_path / "exp.toml", "bad", trial_command=True, slurm={"partition": "nope"}
    )
    before = slurm.job_ids(active_only=False)
    r = sweep(exp, 1, 1)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Slurm would refuse the g1n1 trials" in r.stderr and "partition" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert slurm.job_ids(active_only=False) == before and rows("bad.g1n1") == []
    # more GPUs per node than the nodes have: refused the same way
    exp = write_experiment(
        tmp_path / "exp2.toml",
        "bad2",
        trial_command=True,
        grid={"max_gpus_per_node": 4, "gpu_counts": [4]},
    )
    r = sweep(exp, 4, 1)
    assert r.returncode == 2 and "Slurm would refuse the g4n1 trials" in r.stderr, r.stderr
    # Slurm only says "Requested node configuration is not available": the sentence adds what
    # was asked and what the nodes have, so the user sees it is 4 GPUs against 2
    assert "asked per job: --nodes=1 --cpus-per-task=1 --gres=gpu:4;" in r.stderr, r.stderr
    assert "the nodes have: 2 nodes with 4 CPUs, 4000 MB, gres gpu:fake:2)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert slurm.job_ids(active_only=False) == before
    # launch refuses the same way before starting anything
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp)),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert r.returncode == 2 and "Slurm would refuse the g4n1 trials" in r.stderr, r.stderr
    with Store(app_paths().store, readonly=True) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM launches").fetchone()[0] == 0
    assert slurm.job_ids(active_only=False) == before


# -- trials that end badly --------------------------------------------------------------------


def test_failing_trial_is_failed_with_slurms_exit_code(slurm, tmp_path):
    exp = write_experiment(tmp_path / "exp.toml", "sf", trial_command=True)
    r = sweep(exp, 1, 1, HWSTUB_EXIT="3")
    # its one trial failed, so the sweep did too
    assert r.returncode == 1 and "every trial failed: 1 failed" in r.stdout, r.stdout + r.stderr
    (trial,) = rows("sf.g1n1")
    assert trial["state"] == "failed", trial
    assert trial["error"].startswith(f"exit code 3: Slurm job {trial['job_name']} FAILED on node")
    assert job_fields(slurm, trial["job_name"])["ExitCode"] == "3:0"


def launch(exp: Path, *extra: str, **env: str) -> None:
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp), *extra),
        capture_output=True,
        text=True,
        env=cli_env(**env),
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def cancel(pair: str, experiment: str) -> str:
    r = subprocess.run(
        hwscale_cmd("cancel", pair, "--experiment-name", experiment),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def running_trial(sweep_name: str) -> dict[str, Any]:
    return wait_for(
        lambda: next(
            (t for t in rows(sweep_name) if t["job_name"] and t["state"] == "running"), None
        ),
        "a running trial",
    )


def test_cancel_mid_trial_leaves_no_job_and_no_trainer_process(slurm, tmp_path):
    exp = write_experiment(
        tmp_path / "exp.toml",
        "sc",
        trial_command=False,
        grid={"gpu_counts": [1], "node_counts": [1]},
        sweep={"total_timesteps": 50_000_000},
    )
    launch(exp)
    trial = running_trial("sc.g1n1")
    job_id, run_id = trial["job_name"], trial["run_id"]
    wait_for(lambda: (app_paths().runs / run_id / "metrics.jsonl").exists(), "training")
    assert processes_of(run_id), "the trainer runs"
    out = cancel("g1n1", "sc")
    assert out.startswith("cancelled g1n1 (was running)"), out
    (trial,) = rows("sc.g1n1")
    assert trial["state"] == "killed" and trial["error"] == "cancelled by the sweep runner"
    # bounded waits, not timing assertions (benchmarks/slurm_cancel.py measures the latency)
    wait_for(lambda: job_id not in slurm.job_ids(), f"job {job_id} to leave the queue", 30)
    wait_for(lambda: not processes_of(run_id), "the trainer processes to end", 30)
    assert job_fields(slurm, job_id)["JobState"] == "CANCELLED"


def test_cancel_after_the_runner_died_scancels_its_jobs(slurm, tmp_path):
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(
        tmp_path / "exp.toml",
        "sd",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
    )
    launch(exp, HWSTUB_HOLD_DIR=str(hold))
    trial = running_trial("sd.g1n1")
    kill_supervisor_and_runner("sd")
    assert trial["job_name"] in slurm.job_ids(), "the job outlives its runner"
    out = cancel("g1n1", "sd")
    job_id = trial["job_name"]
    assert f"scancel {job_id}: ok" in out or f"scancelled Slurm job {job_id}" in out, out
    wait_for(lambda: job_id not in slurm.job_ids(), "the job to leave the queue", 30)
    wait_for(lambda: not processes_of(trial["run_id"]), "the trial's processes to end", 30)
    # the pair ends cancelled and its trial killed: before, the row stayed 'running' and the
    # pair 'exited', so 'launch --resume' started the cancelled pair again
    assert out.startswith("cancelled g1n1 (was exited): its sweep runner had died"), out
    (row,) = rows("sd.g1n1")
    assert row["state"] == "killed" and row["ended_at"], row
    launch(exp, "--resume")
    (pair,) = sup.pair_status("sd").pairs
    assert pair.status == "cancelled" and not pair.alive, pair
    assert [r["state"] for r in rows("sd.g1n1")] == ["killed"]  # no new trial started


def test_pending_trial_shows_why_then_runs(slurm, tmp_path):
    blocker_id = slurm.occupy_every_node()
    wait_for(
        lambda: blocker_id in slurm.run(["squeue", "-h", "-t", "R", "-o", "%i"]).stdout,
        "the blocker to run",
    )
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(tmp_path / "exp.toml", "sp", trial_command=True)
    proc = start_sweep(exp, 1, 1, HWSTUB_HOLD_DIR=str(hold))
    try:
        trial = wait_for(
            lambda: next((t for t in rows("sp.g1n1") if t["error"] == "waiting: Resources"), None),
            "the trial to wait for resources",
        )
        assert trial["state"] == "queued"
        squeue = slurm.run(["squeue", "-h", "-j", trial["job_name"], "-o", "%T %r"]).stdout.split()
        assert squeue == ["PENDING", "Resources"]
        slurm.run(["scancel", blocker_id])
        wait_for(
            lambda: rows("sp.g1n1")[0]["state"] == "running" and not rows("sp.g1n1")[0]["error"],
            "the trial to run once the resources are free",
        )
        (hold / "all").write_text("")
        out, _ = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    (trial,) = rows("sp.g1n1")
    assert trial["state"] == "finished" and trial["error"] is None
    kinds = [k for k, run, _ in events("sp.g1n1") if run == trial["run_id"]]
    assert kinds.index("waiting") < kinds.index("running") < kinds.index("finished")


# -- a supervisor that dies -------------------------------------------------------------------


def test_cancel_scancels_jobs_of_a_dead_runner_even_with_the_store_wrecked(slurm, tmp_path):
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(
        tmp_path / "exp.toml",
        "sw",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
    )
    launch(exp, HWSTUB_HOLD_DIR=str(hold))
    trial = running_trial("sw.g1n1")
    kill_supervisor_and_runner("sw")
    store = app_paths().store
    store.write_bytes(os.urandom(8192))  # cancel must work from the per-launch file alone
    for suffix in ("-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    out = cancel("g1n1", "sw")
    assert "per-launch file" in out and f"scancel {trial['job_name']}: ok" in out, out
    wait_for(lambda: trial["job_name"] not in slurm.job_ids(), "the job to leave the queue", 30)
    wait_for(lambda: not processes_of(trial["run_id"]), "the trial's processes to end", 30)


def kill_supervisor_and_runner(experiment: str) -> None:
    with Store(app_paths().store, readonly=True) as store:
        runner_pid = store.get_sweep(f"{experiment}.g1n1")["pid"]
        supervisor_pid = store.conn.execute(
            "SELECT supervisor_pid FROM launches WHERE experiment = ? ORDER BY id DESC",
            (experiment,),
        ).fetchone()[0]
    for pid in (supervisor_pid, runner_pid):
        os.kill(pid, signal.SIGKILL)
    wait_for(
        lambda: (
            not psutil.pid_exists(runner_pid)
            or psutil.Process(runner_pid).status() == psutil.STATUS_ZOMBIE
        ),
        "the runner to die",
    )


def test_supervisor_and_runner_sigkill_then_resume_reattaches_by_job_id(slurm, tmp_path):
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(
        tmp_path / "exp.toml",
        "sk",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
    )
    launch(exp, HWSTUB_HOLD_DIR=str(hold))
    trial = running_trial("sk.g1n1")
    job_id = trial["job_name"]
    kill_supervisor_and_runner("sk")
    assert job_id in slurm.job_ids(), "the job outlives its runner"
    launch(exp, "--resume", HWSTUB_HOLD_DIR=str(hold))
    wait_for(
        lambda: ("reattached", trial["run_id"], f"slurm_job={job_id}") in events("sk.g1n1"),
        "the re-attach",
    )
    # status names the job by its Slurm id
    r = subprocess.run(
        hwscale_cmd("status", "--experiment-name", "sk", "--json"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    jobs = json.loads(r.stdout)["slurm_jobs"]["sk.g1n1"]
    assert [(j["job_id"], j["state"]) for j in jobs] == [(job_id, "running")]
    text = subprocess.run(
        hwscale_cmd("status", "--experiment-name", "sk"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    ).stdout
    assert f"g1n1 Slurm jobs: {job_id} running" in text
    (hold / "all").write_text("")
    done = wait_for(
        lambda: next((t for t in rows("sk.g1n1") if t["state"] == "finished"), None),
        "the trial to finish",
    )
    assert done["run_id"] == trial["run_id"] and done["job_name"] == job_id
    assert len(rows("sk.g1n1")) == 1  # re-attached, not submitted again


def test_the_shared_launch_check_refuses_what_slurm_would_not_take(slurm, tmp_path):
    """The check `launch` and the app's launch keys both make (sweep/preflight.check_slurm)."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.errors import UsageError
    from hwscale_tui.launch.commands import plan_experiment
    from hwscale_tui.paths import app_paths, snapshot_path
    from hwscale_tui.sweep.preflight import check_slurm

    good = cfgmod.load(write_experiment(tmp_path / "ok.toml", "ok", trial_command=False))
    bad = cfgmod.load(
        write_experiment(
            tmp_path / "bad.toml", "nopart", trial_command=False, slurm={"partition": "nope"}
        )
    )
    before = slurm.job_ids(active_only=False)
    check_slurm(good, plan_experiment(good, snapshot_path("ok")).pairs, app_paths().runs)
    with pytest.raises(UsageError, match="Slurm would refuse the g1n1 trials"):
        check_slurm(bad, plan_experiment(bad, snapshot_path("nopart")).pairs, app_paths().runs)
    assert slurm.job_ids(active_only=False) == before


def test_plan_check_asks_slurm_and_submits_nothing(slurm, tmp_path):
    """``plan --check``: the launch's sbatch --test-only check before launching; a partition the
    cluster does not have is Slurm's sentence and exit 2 (``plan`` alone only prints it)."""
    grid = {"gpu_counts": [1, 2], "node_counts": [1]}
    good = write_experiment(tmp_path / "ok.toml", "ok", trial_command=False, grid=grid)
    bad = write_experiment(
        tmp_path / "bad.toml", "nopart", trial_command=False, slurm={"partition": "nope"}, grid=grid
    )
    before = slurm.job_ids(active_only=False)

    def plan(exp: Path, *more: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            hwscale_cmd("plan", "-e", str(exp), *more),
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=120,
        )

    r = plan(good, "--check")
    assert r.returncode == 0, r.stderr
    assert "checked with sbatch --test-only: Slurm would take the jobs of 2 pairs" in r.stderr
    plain = plan(bad)
    assert plain.returncode == 0 and "--partition=nope" in plain.stdout, plain.stderr
    r = plan(bad, "--check")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("hwscale-tui: error: Slurm would refuse the g1n1 trials ("), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert slurm.job_ids(active_only=False) == before


# -- a controller that does not answer --------------------------------------------------------


@pytest.fixture
def silent_controller(slurm, tmp_path):
    """Client settings whose controller port accepts connections and never answers (a stopped
    or overloaded slurmctld): every Slurm client command hangs until its timeout."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    conf = tmp_path / "silent-etc" / "slurm.conf"
    conf.parent.mkdir()
    text = slurm.conf.read_text()
    port = listener.getsockname()[1]
    conf.write_text(re.sub(r"(?m)^SlurmctldPort=.*$", f"SlurmctldPort={port}", text))
    try:
        yield {**os.environ, "SLURM_CONF": str(conf)}
    finally:
        listener.close()


def test_a_launch_check_slurm_does_not_answer_is_one_sentence_and_submits_nothing(
    slurm, silent_controller, tmp_path
):
    """sbatch --test-only that times out: a UsageError sentence (exit 2), not a traceback."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.errors import UsageError
    from hwscale_tui.hardware import HardwarePair
    from hwscale_tui.sweep.slurm import SlurmCLI, SlurmDispatcher

    cfg = cfgmod.load(write_experiment(tmp_path / "q.toml", "quiet", trial_command=False))
    before = slurm.job_ids(active_only=False)
    dispatcher = SlurmDispatcher(cfg, "quiet.g1n1", cli=SlurmCLI(silent_controller, timeout_s=1.0))
    with pytest.raises(UsageError) as refused:
        dispatcher.preflight(HardwarePair(1, 1), app_paths().runs)
    text = str(refused.value)
    assert "sbatch did not answer within 1 s" in text and "nothing was submitted" in text
    assert text.count(". ") == 0 and text.endswith(".")  # one sentence
    assert slurm.job_ids(active_only=False) == before


def test_a_reattach_while_slurm_does_not_answer_keeps_the_job(slurm, silent_controller):
    """A runner resuming while the controller is unreachable must not treat a recorded job as
    gone (it would start the trial again while the job may still run)."""
    from hwscale_tui.config import from_dict
    from hwscale_tui.sweep.slurm import SlurmCLI, SlurmDispatcher

    dispatcher = SlurmDispatcher(
        from_dict({"experiment": {"dispatcher": "slurm"}}, env={}),
        "quiet.g1n1",
        cli=SlurmCLI(silent_controller, timeout_s=1.0),
    )
    job = dispatcher.attach({"job_name": "4242"})
    assert job is not None and job.job_id == "4242" and job.state == "UNKNOWN"


def test_an_sbatch_that_times_out_leaves_no_job_behind(slurm, tmp_path):
    """sbatch submitted the job but its answer never came back (a slow controller): the submit
    fails as NotSubmitted (the runner records the trial killed, not counted: tests/sweep/
    test_sweep_scheduler.py) and the job is scancelled by its unique name, instead of running
    with no trial watching it."""
    import shutil

    from hwscale_tui.sweep.dispatch import NotSubmitted
    from hwscale_tui.sweep.slurm import SlurmCLI

    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    real = shutil.which("sbatch")
    shim = shim_dir / "sbatch"
    shim.write_text(f'#!/bin/bash\n"{real}" "$@" > "{shim_dir}/out"\nexec sleep 600\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim_dir}:{os.environ['PATH']}"}
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\nsleep 300\n")
    name = "late.g1n1_trial_0001_abcdef"
    cli = SlurmCLI(env, timeout_s=5.0)
    with pytest.raises(NotSubmitted, match=f"scancel --name={name}"):
        cli.submit(
            [f"--job-name={name}", "--gres=gpu:1", f"--output={tmp_path / 'log'}"], script, env
        )
    job_id = (shim_dir / "out").read_text().strip()
    assert job_id.isdigit()  # the job was submitted, and nobody tracks it
    wait_for(
        lambda: job_id not in slurm.job_ids(),  # active jobs only
        f"job {job_id} to be cancelled",
    )
    state = slurm.run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"]).stdout.strip()
    assert state == "CANCELLED"


def test_a_stop_while_scancel_hangs_ends_within_the_grace(slurm, tmp_path):
    """The runner's stop calls cancel(grace_s): with scancel hanging (a controller that does
    not answer), it must return after grace_s, so the runner records its trials killed before
    the supervisor's SIGKILL. Here scancel blocks until the test releases it, so without the
    bound cancel() cannot return at all (the join only keeps a failure from hanging)."""
    import threading

    from hwscale_tui.config import from_dict
    from hwscale_tui.sweep.slurm import SlurmCLI, SlurmDispatcher, SlurmJob

    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    release = tmp_path / "release"
    shim = shim_dir / "scancel"
    shim.write_text(
        f'#!/bin/bash\ntouch "{shim_dir}/entered"\n'
        f'while [ ! -e "{release}" ]; do sleep 0.05; done\n'
    )
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim_dir}:{os.environ['PATH']}"}
    dispatcher = SlurmDispatcher(
        from_dict({"experiment": {"dispatcher": "slurm"}}, env={}),
        "quiet.g1n1",
        cli=SlurmCLI(env, timeout_s=3600.0),
    )

    class Trial:
        run_id = "quiet.g1n1_trial_0001_abcdef"
        handle = SlurmJob("4242")

    returned: list[set[str]] = []
    stopper = threading.Thread(
        target=lambda: returned.append(dispatcher.cancel([Trial()], 0.5)), daemon=True
    )
    try:
        stopper.start()
        stopper.join(120)
        wait_for((shim_dir / "entered").exists, "scancel to run")
        assert not stopper.is_alive(), "cancel() waited for scancel instead of its grace"
        assert not release.exists()  # ... and returned while scancel still hung
        assert returned == [{Trial.run_id}]  # unconfirmed: the runner keeps it for `cancel`
    finally:
        release.write_text("")


# -- a controller that is down (nothing listens on its port) ----------------------------------


@pytest.fixture
def dead_controller(slurm, tmp_path):
    """Client settings whose controller port has nobody listening (slurmctld stopped, being
    restarted or failed over): the clients fail with "Unable to contact slurm controller
    (connect failure)" after MessageTimeout (2 s here instead of the default 10 s)."""
    from tests.support.slurm_cluster import free_ports

    conf = tmp_path / "dead-etc" / "slurm.conf"
    conf.parent.mkdir()
    text = re.sub(
        r"(?m)^SlurmctldPort=.*$", f"SlurmctldPort={free_ports(1)[0]}", slurm.conf.read_text()
    )
    conf.write_text(text + "MessageTimeout=2\n")
    return {**os.environ, "SLURM_CONF": str(conf)}


def test_a_launch_check_with_the_controller_down_does_not_blame_the_settings(
    slurm, dead_controller, tmp_path
):
    """sbatch --test-only failing with "Unable to contact slurm controller" says nothing about
    the options: the check says it could not ask (it said "Slurm would refuse the g1n1
    trials (...); accepted: [slurm] partition, account, ..." as if the settings were wrong)."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.errors import UsageError
    from hwscale_tui.hardware import HardwarePair
    from hwscale_tui.sweep.slurm import SlurmCLI, SlurmDispatcher

    cfg = cfgmod.load(write_experiment(tmp_path / "d.toml", "down", trial_command=False))
    dispatcher = SlurmDispatcher(cfg, "down.g1n1", cli=SlurmCLI(dead_controller))
    with pytest.raises(UsageError) as refused:
        dispatcher.preflight(HardwarePair(1, 1), app_paths().runs)
    text = str(refused.value)
    assert text.startswith("cannot check the g1n1 trials with sbatch --test-only: "), text
    assert "Unable to contact slurm controller" in text and "scontrol ping" in text
    assert "would refuse" not in text and "partition" not in text


def test_an_sbatch_that_cannot_reach_the_controller_is_not_a_failed_trial(
    slurm, dead_controller, tmp_path
):
    """A submit while the controller is down raises NotSubmitted (the runner records the trial
    killed, not counted toward max_trials and never shown to the optimizer as a failure of its
    hyperparameters; after 3 in a row the sweep stops), not a plain OSError (recorded "failed:
    could not start: sbatch refused the job: ..." and counted)."""
    from hwscale_tui.sweep.dispatch import NotSubmitted
    from hwscale_tui.sweep.slurm import SlurmCLI

    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\ntrue\n")
    name = "down.g1n1_trial_0001_abcdef"
    with pytest.raises(
        NotSubmitted, match=r"could not reach the Slurm controller: .*Unable to contact"
    ):
        SlurmCLI(dead_controller).submit(
            [f"--job-name={name}", f"--output={tmp_path / 'log'}"], script, dead_controller
        )
    assert name not in slurm.run(["squeue", "-h", "-t", "all", "-o", "%j"]).stdout


# -- the partition's time limit ---------------------------------------------------------------


def test_a_time_limit_above_the_partitions_max_time_is_refused_before_anything_pends(
    slurm, tmp_path
):
    """With the default EnforcePartLimits=NO, sbatch --test-only takes a job whose --time is
    above its partition's MaxTime, and the job then pends for ever (PartitionTimeLimit): the
    launch check passed, plan --check said "Slurm would take the jobs" and every trial sat in
    "waiting: PartitionTimeLimit". Now the check compares the limit with MaxTime."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.errors import UsageError
    from hwscale_tui.hardware import HardwarePair
    from hwscale_tui.sweep.slurm import SlurmDispatcher

    exp = write_experiment(
        tmp_path / "t.toml",
        "tl",
        trial_command=False,
        sweep={"max_suggestion_cost": 600.0},
        grid={"gpu_counts": [1], "node_counts": [1]},
    )
    before = slurm.job_ids(active_only=False)
    update = ["scontrol", "update", "PartitionName=debug"]
    assert slurm.run([*update, "MaxTime=10"]).returncode == 0
    try:
        cfg = cfgmod.load(exp)  # 2 x 600 s: --time=20
        with pytest.raises(UsageError) as refused:
            SlurmDispatcher(cfg, "tl.g1n1").preflight(HardwarePair(1, 1), app_paths().runs)
        text = str(refused.value)
        assert "time limit of 20 min" in text and "MaxTime of partition debug (10 min)" in text, (
            text
        )
        assert "PartitionTimeLimit" in text and "at most 10 min" in text
        assert text.count(". ") == 0 and text.endswith(".")  # one sentence
        r = subprocess.run(
            hwscale_cmd("plan", "-e", str(exp), "--check"),
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=120,
        )
        assert r.returncode == 2 and "PartitionTimeLimit" in r.stderr, r.stdout + r.stderr
        # a limit the partition takes passes: 0.5 x 600 s = 5 min
        ok = cfgmod.load(
            write_experiment(
                tmp_path / "ok.toml", "tl", trial_command=False, slurm={"time_limit_factor": 0.5}
            )
        )
        SlurmDispatcher(ok, "tl.g1n1").preflight(HardwarePair(1, 1), app_paths().runs)
    finally:
        slurm.run([*update, "MaxTime=UNLIMITED"])
    assert slurm.job_ids(active_only=False) == before


# -- extra sbatch options that would break every trial ----------------------------------------


def test_an_extra_sbatch_option_that_hides_the_job_id_is_refused_by_the_launch_check(
    slurm, tmp_path
):
    """``extra_sbatch_args = ["--quiet"]`` passed plan --check (sbatch --test-only takes it),
    then every sbatch --parsable printed nothing: the trial was recorded failed ("could not
    start: sbatch printed no job id: ''") while its job ran, unwatched. Now the launch check
    (plan --check, launch, sweep) refuses it, exit 2, nothing submitted."""
    grid = {"gpu_counts": [1], "node_counts": [1]}
    before = slurm.job_ids(active_only=False)
    for args in (["--quiet"], ["--part=debug"]):
        exp = write_experiment(
            tmp_path / "q.toml",
            "quiet",
            trial_command=False,
            grid=grid,
            slurm={"extra_sbatch_args": args},
        )
        for cmd in (
            ["plan", "-e", str(exp), "--check"],
            ["sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1"],
        ):
            r = subprocess.run(
                hwscale_cmd(*cmd), capture_output=True, text=True, env=cli_env(), timeout=120
            )
            assert r.returncode == 2, r.stdout + r.stderr
            assert r.stderr.startswith(
                f"hwscale-tui: error: slurm.extra_sbatch_args[0] {args[0]!r} "
            ), r.stderr
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert slurm.job_ids(active_only=False) == before
    assert not rows("quiet.g1n1")


def test_an_sbatch_that_prints_no_job_id_leaves_no_job_behind(slurm, tmp_path):
    """sbatch exited 0 without printing a job id (here -Q, which hides --parsable's output):
    the submit fails and the job it may have created is scancelled by its unique name, rather
    than left to run with no trial watching it."""
    from hwscale_tui.sweep.slurm import SlurmCLI

    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\nsleep 300\n")
    name = "mute.g1n1_trial_0001_abcdef"
    with pytest.raises(OSError, match="sbatch printed no job id"):
        SlurmCLI().submit(
            [f"--job-name={name}", f"--output={tmp_path / 'log'}", "-Q"], script, {**os.environ}
        )
    out = slurm.run(["squeue", "-h", "-t", "all", "-o", "%j|%T"]).stdout.splitlines()
    states = [line.split("|")[1] for line in out if line.startswith(name + "|")]
    assert len(states) == 1, out  # sbatch did create the job
    wait_for(
        lambda: (
            slurm.run(["squeue", "-h", "-t", "all", "--name", name, "-o", "%T"]).stdout.strip()
            == "CANCELLED"
        ),
        f"job {name} to be cancelled",
    )


def test_a_completed_job_that_left_no_metrics_file_points_at_the_shared_state_dir(slurm, tmp_path):
    """A job that COMPLETED with no metrics file where the runner reads it -- on a real cluster
    the nodes wrote it to a disk of their own -- said only "exited 0 without a final metrics
    line with sweep/score". Now the trial's error names the file and the shared state dir."""
    exp = write_experiment(
        tmp_path / "exp.toml",
        "nomet",
        trial_command=False,
        grid={"gpu_counts": [1], "node_counts": [1]},
        sweep={"trial_command": ["/bin/true", "{run_id}"]},
    )
    r = sweep(exp, 1, 1)
    assert r.returncode == 1, r.stdout + r.stderr
    (trial,) = rows("nomet.g1n1")
    assert trial["state"] == "failed", trial
    assert trial["error"].startswith(
        f"Slurm job {trial['job_name']} COMPLETED but left no metrics file at "
        f"{trial['metrics_path']}: "
    ), trial["error"]
    assert "HWSCALE_HOME must be on a filesystem every node mounts" in trial["error"]


def test_a_state_dir_with_a_percent_sign_keeps_the_trials_log_where_it_belongs(
    slurm, tmp_path, monkeypatch
):
    """sbatch expands %x, %j, ... in --output: with HWSCALE_HOME under a directory named
    "50%x" the log path pointed into a directory that does not exist, and every job FAILED
    (JobLaunchFailure) before the trial ran. The option now turns the expansion off."""
    home = tmp_path / "50%x" / "hw"
    home.mkdir(parents=True)
    monkeypatch.setenv("HWSCALE_HOME", str(home))
    exp = write_experiment(
        tmp_path / "exp.toml",
        "pct",
        trial_command=False,
        grid={"gpu_counts": [1], "node_counts": [1]},
    )
    r = sweep(exp, 1, 1)
    assert r.returncode == 0, r.stdout + r.stderr
    (trial,) = rows("pct.g1n1")
    assert trial["state"] == "finished", trial
    log = Path(trial["log_path"])
    assert str(log).startswith(str(home)) and "training CartPole-v1" in log.read_text()


def test_a_partition_or_constraint_typo_names_what_the_cluster_has(slurm, tmp_path):
    """sbatch only says "invalid partition specified: gpu" or "Invalid feature specification":
    the refusal now lists the cluster's partitions or its nodes' features, so the typo shows
    without another command."""
    grid = {"gpu_counts": [1], "node_counts": [1]}
    before = slurm.job_ids(active_only=False)
    for name, slurm_keys, needle in (
        ("typo1", {"partition": "gpu"}, "the cluster's partitions: debug (default))"),
        ("typo2", {"constraint": "a100"}, "the nodes' features: none)"),
    ):
        exp = write_experiment(
            tmp_path / f"{name}.toml", name, trial_command=False, grid=grid, slurm=slurm_keys
        )
        r = subprocess.run(
            hwscale_cmd("plan", "-e", str(exp), "--check"),
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=120,
        )
        assert r.returncode == 2 and needle in r.stderr, r.stdout + r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert slurm.job_ids(active_only=False) == before


def test_an_sbatch_wait_in_the_users_environment_does_not_hold_up_the_submit(
    slurm, tmp_path, monkeypatch
):
    """SBATCH_WAIT (sbatch's input variable for --wait) in the runner's environment made every
    sbatch wait for its job to end: read as a controller that does not answer, each trial was
    recorded killed and the sweep stopped after 3. sbatch's environment now leaves it out."""
    from hwscale_tui.sweep.slurm import SlurmCLI, submit_env

    monkeypatch.setenv("SBATCH_WAIT", "1")
    monkeypatch.setenv("SBATCH_ARRAY_INX", "0-1")
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\nsleep 300\n")
    name = "waits.g1n1_trial_0001_abcdef"
    env = submit_env({})
    assert "SBATCH_WAIT" not in env and "SBATCH_ARRAY_INX" not in env
    job_id = SlurmCLI(timeout_s=10.0).submit(
        [f"--job-name={name}", f"--output={tmp_path / 'log'}"], script, env
    )
    assert job_id.isdigit()
    jobs = slurm.run(["squeue", "-h", "-t", "all", "--name", name, "-o", "%i"]).stdout.split()
    assert jobs == [job_id]  # one job, not an array


def test_a_reattach_never_takes_someone_elses_job_with_the_recorded_id(slurm, tmp_path):
    """Job ids start again when a controller loses its state (a rebuilt cluster): a runner
    resuming a trial whose recorded job id now belongs to another job re-attached to that job
    and settled the trial from it. The job's name (the trial's run id) must match."""
    from hwscale_tui.config import from_dict
    from hwscale_tui.sweep.slurm import SlurmDispatcher

    script = tmp_path / "other.sh"
    script.write_text("#!/bin/bash\nsleep 300\n")
    out = slurm.run(
        [
            "sbatch",
            "--parsable",
            "--job-name=someone-else",
            f"--output={tmp_path / 'o'}",
            str(script),
        ]
    )
    assert out.returncode == 0, out.stderr
    other = out.stdout.strip()
    dispatcher = SlurmDispatcher(
        from_dict({"experiment": {"dispatcher": "slurm"}}, env={}), "re.g1n1"
    )
    mine = "re.g1n1_trial_0001_abcdef"
    assert dispatcher.attach({"job_name": other, "run_id": mine}) is None
    # its own job is re-attached as before
    out = slurm.run(
        ["sbatch", "--parsable", f"--job-name={mine}", f"--output={tmp_path / 'm'}", str(script)]
    )
    own = out.stdout.strip()
    job = dispatcher.attach({"job_name": own, "run_id": mine})
    assert job is not None and job.job_id == own
