"""The CLI against what README.md and docs/ promise (QA pass 42)."""

from __future__ import annotations

import pytest
from rich.console import Console

from hwscale_tui.launch.state import ExperimentStatus, PairStatus
from hwscale_tui.launch.status_view import render


def _pair(tag: str, status: str, *, alive: bool = False, position: int = 0) -> PairStatus:
    gpus, nodes = (int(x) for x in tag[1:].split("n"))
    ended = status in ("exited", "cancelled")
    return PairStatus(
        sweep_name=f"demo.{tag}",
        gpus=gpus,
        nodes=nodes,
        status=status,
        pid=100 + position if status != "scheduled" else None,
        pgid=100 + position if status != "scheduled" else None,
        proc_start=1.0,
        planned_start=1.0,
        started_at=2.0 if status != "scheduled" else None,
        ended_at=9.0 if ended else None,
        exit_code=None,
        log_path=None,
        cancelled_by="root@host (cli)" if status == "cancelled" else None,
        cancelled_at=9.0 if status == "cancelled" else None,
        first_log_lines=[],
        argv=["x"],
        launch_id=1,
        position=position,
        alive=alive,
        never_started=False,
    )


def _status_text(pairs: list[PairStatus]) -> str:
    status = ExperimentStatus(
        experiment="demo",
        launch_id=1,
        supervisor_alive=False,
        supervisor_pid=99,
        supervisor_log=None,
        pairs=pairs,
        checked_at=10.0,
        launch_status="stopped",
    )
    console = Console(width=120, record=True, file=open("/dev/null", "w"))
    console.print(render(status, 10.0))
    return console.export_text()


def test_a_stopped_supervisor_points_to_resume_only_when_something_is_left():
    """docs/launch.md: `launch --foreground` stopped by ctrl+c or SIGTERM cancels the pairs it
    owns; `status` then said "supervisor stopped (started sweeps keep running; hwscale-tui
    launch --experiment-name demo --resume starts the rest)", although nothing ran and
    `launch --resume` answered "nothing to resume". The hint stays while a pair still runs or
    waits to start (docs/tui.md: the app's summary says it "while any pair is active")."""
    ended = _status_text([_pair("g1n1", "cancelled"), _pair("g2n1", "exited", position=1)])
    head = ended.split("pair ")[0]
    assert "supervisor stopped" in head, ended
    assert "--resume" not in head and "keep running" not in head, head

    left = _status_text(
        [_pair("g1n1", "running", alive=True), _pair("g2n1", "scheduled", position=1)]
    )
    head = " ".join(left.split("pair ")[0].split())
    assert "supervisor stopped" in head and "--resume starts the rest" in head, left


def test_a_bad_value_in_the_current_experiments_file_is_refused_not_replaced(tmp_path, capsys):
    """docs/experiment.md: a bad key or value in an experiment file is one sentence naming the
    file and the key, exit 2, nothing written; docs/experiments.md: an experiment's settings
    come from its own file. After `plan -e exp.toml`, a typo made in exp.toml by hand was
    skipped without a word: `plan` (and `launch`, `sweep`, the app) acted on the built-in
    defaults under the file's name -- or, once launched, on the launch snapshot, without the
    edit. The experiment list still works, to switch to another one."""
    from hwscale_tui.cli import main
    from hwscale_tui.paths import app_paths

    exp = tmp_path / "exp.toml"
    exp.write_text('[experiment]\nname = "mine"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n')
    assert main(["plan", "-e", str(exp)]) == 0
    capsys.readouterr()
    exp.write_text(
        '[experiment]\nname = "mine"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n'
        "[sweep]\nmax_trails = 3\n"
    )
    before = sorted(app_paths().state.rglob("*"))
    assert main(["plan"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwscale-tui: error: ") and err.count("\n") == 1, err
    assert "exp.toml" in err and "max_trails" in err, err
    assert sorted(app_paths().state.rglob("*")) == before
    assert main(["experiments"]) == 0
    assert "mine" in capsys.readouterr().out
    # status and cancel need only the experiment's name: they still answer
    assert main(["status"]) == 0
    assert main(["status", "--experiment-name", "mine"]) == 0
    assert "mine has not been launched" in capsys.readouterr().out
    exp.write_text('[experiment]\nname = "mine"\n[sweep\n')  # not TOML at all
    assert main(["plan"]) == 2
    assert "exp.toml" in capsys.readouterr().err


def test_doctor_says_a_damaged_store_in_one_line(capsys):
    """docs/launch.md: doctor prints each problem as "one line saying what is wrong and what to
    do". SQLite's integrity check answers with one row holding every problem on lines of its
    own, and the store's line went on for 20 lines ("*** in database main ***", "Page 43:
    btreeInitPage() returns error code 11", ...), its advice at the end of the last."""
    import os

    from hwscale_tui.cli import main
    from hwscale_tui.paths import app_paths
    from hwscale_tui.store import Store

    with Store.open_default() as store:
        for i in range(5):  # the trials fit one page; the curves fill the middle of the file
            run_id = f"demo.g1n1_trial_{i + 1:04d}_aaaaaa"
            store.insert_trial(run_id, "demo.g1n1", experiment="demo", gpus=1, nodes=1)
            store.append_history(
                run_id, [{"agent_step": s, "score": float(s)} for s in range(1, 1000)]
            )
    path = app_paths().store
    size = os.path.getsize(path)
    with open(path, "r+b") as f:  # two pages of curves overwritten: the tables still read
        f.seek(size // 2)
        f.write(b"\xff" * 8192)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    store_lines = [line for line in out if " store: " in line]
    assert len(store_lines) == 1, out
    assert store_lines[0].startswith("PROBLEM") and "doctor --repair" in store_lines[0], out
    assert "integrity check failed" in store_lines[0], out
    assert all(
        line.split()[0] in ("ok", "PROBLEM", "hwscale-tui") for line in out if line.strip()
    ), out


@pytest.mark.parametrize(
    "section",
    [
        '[sweep]\ntrial_command = ["{torchrun}", "train.py", "{params}"]\n',
        '[launch]\ncommand = ["my_sweep", "--gpus", "{total_gpus}"]\n',
    ],
)
def test_own_trainer_on_the_local_dispatcher_counts_gpus_not_cpu_ranks(
    tmp_path, capsys, monkeypatch, section
):
    """README: "With the built-in trainer and the local dispatcher a pair g<G>n<N> is G x N CPU
    processes"; docs/sweep.md gives `{torchrun}` on this machine as `torchrun --standalone
    --nproc_per_node=<total_gpus>`. With your own trainer (`[sweep] trial_command`) or sweep
    tool (`[launch] command`) on a 4-GPU workstation, plan said "not GPUs", priced them as
    HYPOTHETICAL, flagged g4n1 OVERSUBSCRIBED on the machine's CPU cores, and analyze left it
    out of the recommendations."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.cli import main

    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    exp = tmp_path / "own.toml"
    exp.write_text(
        '[experiment]\nname = "own"\n[grid]\ngpu_counts = [1, 2, 4]\nnode_counts = [1]\n' + section
    )
    assert not cfgmod.load(exp).local_ranks
    # and the default grid is not fitted to the CPU cores (experiment.md: the built-in trainer's)
    bare = tmp_path / "bare.toml"
    bare.write_text('[experiment]\nname = "own"\n' + section)
    assert cfgmod.load(bare).grid.gpu_counts == [1, 2, 4, 8]
    assert main(["plan", "-e", str(exp)]) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "local mode" not in text and "OVERSUBSCRIBED" not in text, text
    assert "HYPOTHETICAL" not in text and "GPUs" in text, text


def test_status_and_its_watch_say_local_mode_for_the_built_in_trainer(tmp_path, capsys):
    """docs/launch.md: `status --watch` piped prints its last frame "laid out like plain
    `status` (same width rule, `local mode:` line)". A launch of the built-in runner on the
    local dispatcher whose pairs have ended (their runner's pid is gone)."""

    from hwscale_tui import config as cfgmod
    from hwscale_tui.cli import main
    from hwscale_tui.paths import ensure_private_dir, snapshot_path
    from hwscale_tui.store import Store
    from tests.support.launches import dead_pid, recorded_launch

    cfg = cfgmod.from_dict(
        {"experiment": {"name": "loc"}, "grid": {"gpu_counts": [1], "node_counts": [1]}},
        source="test",
    )
    assert cfg.local_ranks
    snap = snapshot_path("loc")
    ensure_private_dir(snap.parent)
    cfgmod.save(cfg, snap)
    gone, _ = dead_pid()
    with Store.open_default() as store:
        recorded_launch(store, "loc", ["loc.g1n1"], snap, running_pid=gone)
    assert main(["status", "--experiment-name", "loc"]) == 0
    plain = capsys.readouterr().out
    assert main(["status", "--experiment-name", "loc", "--watch", "0.1"]) == 0
    watched = capsys.readouterr().out
    for out in (plain, watched):
        assert any(
            line.startswith("local mode: pairs are CPU ranks") for line in out.splitlines()
        ), out


def test_launch_only_of_a_pair_its_live_supervisor_will_start_says_so(tmp_path, capsys):
    """docs/launch.md: `--only` adds pairs beside a running supervisor "as long as the pairs it
    names are not scheduled or running". Naming a scheduled one was refused with "accepted:
    hwscale-tui launch ... --resume", which the live supervisor then refused too."""
    import contextlib

    from hwscale_tui.cli import main
    from hwscale_tui.errors import UsageError
    from hwscale_tui.launch import supervisor

    exp = tmp_path / "twice.toml"
    exp.write_text(
        '[experiment]\nname = "twice"\n[grid]\ngpu_counts = [1, 2]\nnode_counts = [1]\n'
        '[launch]\ndelay_s = 600\ncommand = ["sleep", "60"]\n'
    )
    try:
        assert main(["launch", "-e", str(exp)]) == 0
        capsys.readouterr()
        assert main(["launch", "-e", str(exp), "--only", "g2n1"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "g2n1" in err and "--resume" not in err, err
        assert "hwscale-tui cancel --experiment-name twice g2n1" in err, err
    finally:
        with contextlib.suppress(UsageError):
            supervisor.cancel("twice", None, by="test cleanup", grace_s=1.0)


def test_a_sequential_pairs_eta_counts_the_pairs_before_it():
    """docs/launch.md: ETA is the "estimated time until the pair ends", and a sequential pair
    starts "when the previous one has exited". Its ETA left out the wait: g2n1 behind a
    running g1n1 read ~4m51s beside g1n1's ~4m50s, while the experiment's line said 9m41s."""
    from hwscale_tui.launch.progress import PairPlan, ProgressSettings, experiment_progress

    settings = ProgressSettings(
        budget_steps=1000.0,
        max_trials=2,
        parallel=1,
        price_per_gpu_hour=1.0,
        max_trial_s=100.0,
        sequential=True,
    )
    pairs = [
        PairPlan("e.g1n1", 1, 1, "running", planned_start=0.0, started_at=0.0),
        PairPlan("e.g2n1", 2, 1, "scheduled"),  # after previous: no planned start yet
        PairPlan("e.g4n1", 4, 1, "scheduled"),
    ]
    prog = experiment_progress(pairs, [], settings, now=1.0)
    first, second, third = (pp.eta_s for pp in prog.pairs)
    assert first == 200.0  # two trials of at most 100 s each, none started yet
    assert second == first + 200.0 and third == second + 200.0
    assert prog.eta_s == third  # the experiment ends with its last pair


def test_sweep_status_says_when_its_runner_is_gone(capsys):
    """docs/sweep.md: after a crash or SIGKILL, "start the same command again". `sweep --status`
    kept printing `status=running` for a sweep whose runner had been SIGKILLed (the row it
    wrote when it started), with nothing in flight and nothing running."""
    from hwscale_tui.cli import main
    from hwscale_tui.store import Store
    from tests.support.launches import dead_pid

    gone, _ = dead_pid()
    with Store.open_default() as store:
        store.upsert_sweep(
            "hardware_scaling.g1n1",
            experiment="hardware_scaling",
            gpus=1,
            nodes=1,
            runner="builtin",
            dispatcher="local",
            max_trials=8,
            status="running",
            pid=gone,
            proc_start=1.0,
        )
    assert main(["sweep", "--gpus", "1", "--nodes", "1", "--status"]) == 0
    head = " ".join(capsys.readouterr().out.split())
    assert "status=interrupted (its runner" in head and "is gone" in head, head
