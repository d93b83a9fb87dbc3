"""The slurm dispatcher's pieces without a cluster: options, config checks, plan, state mapping.

The state mapping is fed the JobInfo records that squeue/sacct/scontrol lines parse into (the
real cluster's output is exercised in test_slurm_dispatch.py; TIMEOUT, OUT_OF_MEMORY, NODE_FAIL
and PREEMPTED cannot be produced quickly on a local cluster, so they are tested here).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from hwscale_tui.config import ConfigError, from_dict
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.launch.slurm_options import (
    gres_spec,
    mount_fstype,
    sbatch_line,
    sbatch_options,
    shared_state_warning,
    time_limit_minutes,
)
from hwscale_tui.sweep.dispatch import InFlightTrial
from hwscale_tui.sweep.outcome import decide_outcome
from hwscale_tui.sweep.slurm import JobInfo, SlurmCLI, SlurmDispatcher, SlurmJob, parse_exit_code
from tests.support.cli import cli_env, hwscale_cmd


def slurm_cfg(**slurm: Any):
    return from_dict({"experiment": {"dispatcher": "slurm"}, "slurm": slurm}, env={})


def test_sbatch_options_follow_the_pair_and_the_slurm_section():
    cfg = slurm_cfg(partition="gpu", account="acct", qos="high", extra_sbatch_args=["--mem=8G"])
    opts = sbatch_options(cfg, HardwarePair(4, 2), "e.g4n2_trial_0001_abcdef", "/s/trial.log")
    assert opts[:9] == [
        "--job-name=e.g4n2_trial_0001_abcdef",
        "--nodes=2",
        "--ntasks-per-node=1",
        "--cpus-per-task=8",  # [grid] cpus_per_node
        "--gres=gpu:4",
        "--time=20",  # 2 x 600 s
        "--output=/s/trial.log",
        "--open-mode=append",
        "--export=ALL",
    ]
    assert opts[9:] == ["--partition=gpu", "--account=acct", "--qos=high", "--mem=8G"]
    typed = slurm_cfg(gpu_type="h100", cpus_per_task=3, time_limit_factor=0.01)
    assert gres_spec(typed, HardwarePair(2, 1)) == "gpu:h100:2"
    assert time_limit_minutes(typed) == 1  # at least a minute
    assert "--cpus-per-task=3" in sbatch_options(typed, HardwarePair(2, 1), "r", "l")


@pytest.mark.parametrize(
    ("slurm", "needle"),
    [
        ({"nope": 1}, "slurm.nope: unknown key"),
        ({"partition": "a b"}, "slurm.partition: got 'a b'"),
        ({"extra_sbatch_args": ["--gres=gpu:1"]}, "sets --gres, which the slurm dispatcher sets"),
        ({"extra_sbatch_args": ["-pdebug"]}, "sets --partition"),
        ({"extra_sbatch_args": ["--mem", "8G"]}, "'8G' is not an sbatch option"),
        ({"time_limit_factor": 0}, "gives every trial no time"),
    ],
)
def test_bad_slurm_settings_are_one_sentence(slurm, needle):
    with pytest.raises(ConfigError) as e:
        slurm_cfg(**slurm)
    assert needle in str(e.value) and str(e.value).count("accepted:") == 1


def test_metta_runner_has_no_slurm_dispatcher():
    with pytest.raises(ConfigError) as e:
        from_dict({"experiment": {"runner": "metta", "dispatcher": "slurm"}}, env={})
    assert "has no slurm dispatcher" in str(e.value)


def test_unknown_slurm_key_exits_2_from_the_cli(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        tomli_w.dumps({"experiment": {"dispatcher": "slurm"}, "slurm": {"parition": "x"}})
    )
    r = subprocess.run(
        hwscale_cmd("plan", "-e", str(exp)), capture_output=True, text=True, env=cli_env()
    )
    assert r.returncode == 2 and "slurm.parition: unknown key" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_plan_shows_the_sbatch_line_per_pair_and_refuses_builtin_multinode(tmp_path):
    def plan(node_counts: list[int], *flags: str) -> subprocess.CompletedProcess:
        exp = tmp_path / "exp.toml"
        exp.write_text(
            tomli_w.dumps(
                {
                    "experiment": {"name": "pl", "dispatcher": "slurm"},
                    "grid": {"gpu_counts": [1, 2], "node_counts": node_counts},
                    "slurm": {"partition": "gpu", "gpu_type": "a100"},
                }
            )
        )
        return subprocess.run(
            hwscale_cmd("plan", "-e", str(exp), *flags),
            capture_output=True,
            text=True,
            env=cli_env(),
        )

    r = plan([1], "--json")
    assert r.returncode == 0, r.stderr
    one, two = json.loads(r.stdout)["pairs"]
    assert one["sbatch"].startswith("sbatch --parsable --job-name=pl.g1n1_trial_NNNN_XXXXXX ")
    for part in ("--nodes=1", "--gres=gpu:a100:1", "--time=20", "--partition=gpu", "/job.sh"):
        assert part in one["sbatch"]
    assert "--gres=gpu:a100:2" in two["sbatch"]
    text = plan([1]).stdout
    assert "each trial on Slurm" in text and "g2n1: sbatch --parsable" in text
    refused = plan([1, 2])
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "g1n2 on the slurm dispatcher would use one node while reporting 2" in refused.stderr


def test_shared_state_check(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\nsrv:/home /home nfs4 rw 0 0\n")
    assert mount_fstype(Path("/home/me/x"), mounts) == "nfs4"
    assert mount_fstype(Path("/var/x"), mounts) == "ext4"
    import socket

    assert shared_state_warning(tmp_path, {socket.gethostname()}) is None  # the cluster is here
    warning = shared_state_warning(Path("/"), {"gpu-node-17"})
    assert warning is None or "may not share" in warning  # / is local on most machines
    # a local filesystem is named as one; when sinfo could not be asked (hosts None) the
    # warning says whether the nodes are this machine is unknown, not that they are elsewhere
    unknown = shared_state_warning(Path("/var/x"), None, mounts)
    assert unknown is not None and "is on a local ext4 filesystem" in unknown
    assert "sinfo did not answer" in unknown
    known = shared_state_warning(Path("/var/x"), {"gpu-node-17"}, mounts)
    assert known is not None and "sinfo did not answer" not in known
    assert shared_state_warning(Path("/home/me"), None, mounts) is None  # nfs4 is shared


# -- the state mapping -------------------------------------------------------------------------


class RecordingCLI(SlurmCLI):
    """The client commands answered from records (what squeue/sacct lines parse into)."""

    def __init__(self, queue: dict[str, JobInfo], done: dict[str, JobInfo]):
        super().__init__(env={})
        self.q, self.d = queue, done
        self.calls: list[tuple[str, list[str]]] = []

    def queue(self, job_ids):
        self.calls.append(("squeue", list(job_ids)))
        return {i: self.q[i] for i in job_ids if i in self.q}

    def finished(self, job_ids):
        self.calls.append(("sacct", list(job_ids)))
        return {i: self.d[i] for i in job_ids if i in self.d}


def trial(tmp_path: Path, job_id: str, final: bool = False) -> InFlightTrial:
    run_dir = tmp_path / job_id
    run_dir.mkdir()
    metrics = run_dir / "metrics.jsonl"
    if final:
        metrics.write_text(
            json.dumps({"final": True, "state": "finished", "sweep/score": 7.0}) + "\n"
        )
    (run_dir / "trial.log").write_text("boom: bad things\n")
    return InFlightTrial(
        f"r{job_id}", {}, 0.0, run_dir / "trial.log", metrics, False, SlurmJob(job_id)
    )


def settle(dispatcher: SlurmDispatcher, trials: list[InFlightTrial]) -> dict[str, Any]:
    """poll() until it used the answer of one query (queries run in a background thread)."""
    seen = dispatcher.snapshots_seen
    deadline = time.monotonic() + 30
    while True:
        exits = dispatcher.poll(trials)
        if dispatcher.snapshots_seen > seen:
            return exits
        assert time.monotonic() < deadline, "no query answered"
        time.sleep(0.005)


def outcome_of(exit, cancelled: bool = False):
    return decide_outcome(
        exit,
        cancelled=cancelled,
        row=None,
        wall_s=1.0,
        price_per_gpu_hour=1.0,
        pair=HardwarePair(1, 1),
    )


def test_one_squeue_per_poll_then_one_sacct_for_the_ended_jobs_and_every_state_mapped(tmp_path):
    ended = {
        "1": JobInfo("1", "COMPLETED", nodes="node1", exit_code=0, signal=0),
        "2": JobInfo("2", "FAILED", nodes="node2", exit_code=3, signal=0),
        "3": JobInfo("3", "TIMEOUT", nodes="node1", exit_code=0, signal=15),
        "4": JobInfo("4", "OUT_OF_MEMORY", nodes="node1", exit_code=0, signal=9),
        "5": JobInfo("5", "NODE_FAIL", nodes="node2"),
        "6": JobInfo("6", "PREEMPTED", nodes="node2"),
        "7": JobInfo("7", "CANCELLED", nodes="node1", exit_code=0, signal=15),
    }
    queue = {
        **{k: JobInfo(k, v.state) for k, v in ended.items()},
        "8": JobInfo("8", "PENDING", reason="Resources"),
        "9": JobInfo("9", "RUNNING", nodes="node[1-2]"),
    }
    cli = RecordingCLI(queue, ended)
    dispatcher = SlurmDispatcher(slurm_cfg(), "s", cli=cli, poll_interval_s=3600)
    trials = [trial(tmp_path, i, final=i == "1") for i in map(str, range(1, 10))]
    exits = settle(dispatcher, trials)
    assert cli.calls == [("squeue", [str(i) for i in range(1, 10)]), ("sacct", list(ended))]
    outcomes = {run: outcome_of(e) for run, e in exits.items()}
    assert set(outcomes) == {f"r{i}" for i in ended}
    assert (outcomes["r1"].state, outcomes["r1"].score) == ("finished", 7.0)
    assert outcomes["r2"].state == "failed"
    assert outcomes["r2"].error == "exit code 3: Slurm job 2 FAILED on node2; boom: bad things"
    assert outcomes["r3"].state == "failed" and "Slurm job 3 TIMEOUT" in outcomes["r3"].error
    assert outcomes["r4"].state == "failed" and "OUT_OF_MEMORY" in outcomes["r4"].error
    for run, state in (("r5", "NODE_FAIL"), ("r6", "PREEMPTED"), ("r7", "CANCELLED")):
        assert outcomes[run].state == "killed" and state in outcomes[run].error
        assert not outcomes[run].counts_toward_max_trials
    # the ones still in flight say why / where
    assert trials[7].waiting == "waiting: Resources" and trials[8].waiting is None
    assert trials[8].where == "running on node[1-2]"
    # our own cancel wins over Slurm's CANCELLED
    assert outcome_of(exits["r7"], cancelled=True).error == "cancelled by the sweep runner"


def test_a_job_slurm_forgot_is_settled_after_a_few_polls(tmp_path):
    cli = RecordingCLI({}, {})
    dispatcher = SlurmDispatcher(slurm_cfg(), "s", cli=cli, poll_interval_s=0)
    trials = [trial(tmp_path, "5", final=True), trial(tmp_path, "6")]
    for _ in range(3):
        assert settle(dispatcher, trials) == {}
    exits = settle(dispatcher, trials)
    assert all(e.code is None and "in neither squeue nor sacct" in e.reason for e in exits.values())
    # what it left decides: a final metrics line makes it finished, else it failed
    assert (outcome_of(exits["r5"]).state, outcome_of(exits["r5"]).score) == ("finished", 7.0)
    assert outcome_of(exits["r6"]).state == "failed"


def test_polls_are_rate_limited(tmp_path):
    cli = RecordingCLI({"1": JobInfo("1", "RUNNING")}, {})
    dispatcher = SlurmDispatcher(slurm_cfg(), "s", cli=cli, poll_interval_s=3600)
    trials = [trial(tmp_path, "1")]
    settle(dispatcher, trials)
    for _ in range(3):
        dispatcher.poll(trials)
    assert len(cli.calls) == 1


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("3:0", (3, 0)), ("0:15", (0, 15)), ("", (None, None)), ("x", (None, None))],
)
def test_exit_codes(text, parsed):
    assert parse_exit_code(text) == parsed


@pytest.mark.parametrize("required", ["", "1"])
def test_without_root_the_cluster_tests_skip_with_the_reason_unless_required(required):
    """The fixture's policy, in a child pytest whose os.geteuid says "not root"."""
    from tests.support.cli import REPO

    code = (
        "import os, sys; os.geteuid = lambda: 1000; import pytest; "
        "sys.exit(pytest.main(['-q', '-rs', '-p', 'no:cacheprovider', "
        "'tests/slurm/test_slurm_dispatch.py', '-k', 'bad_slurm_settings']))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=cli_env(HWSCALE_REQUIRE_SLURM=required),
        timeout=120,
    )
    if required:
        assert r.returncode == 1, r.stdout
        assert "HWSCALE_REQUIRE_SLURM=1 but a local Slurm cluster needs root" in r.stdout
    else:
        assert r.returncode == 0 and "1 skipped" in r.stdout, r.stdout
        assert "SKIPPED" in r.stdout and "a local Slurm cluster needs root" in r.stdout


def test_a_completed_job_without_a_metrics_line_takes_its_result_from_w_and_b(tmp_path):
    class Results:
        def __init__(self) -> None:
            self.asked: list[str] = []

        def final(self, run_id: str) -> dict[str, Any] | None:
            self.asked.append(run_id)
            return {"sweep/score": 42.0, "metric/agent_step": 1000} if run_id == "r1" else None

    done = {
        "1": JobInfo("1", "COMPLETED", exit_code=0, signal=0),
        "2": JobInfo("2", "COMPLETED", exit_code=0, signal=0),
    }
    results = Results()
    dispatcher = SlurmDispatcher(
        slurm_cfg(), "s", cli=RecordingCLI({}, done), results=results, poll_interval_s=3600
    )
    trials = [trial(tmp_path, "1"), trial(tmp_path, "2")]
    exits = settle(dispatcher, trials)
    assert sorted(results.asked) == ["r1", "r2"]
    assert (outcome_of(exits["r1"]).state, outcome_of(exits["r1"]).score) == ("finished", 42.0)
    assert outcome_of(exits["r2"]).state == "failed"
    assert "without a final metrics line with sweep/score" in outcome_of(exits["r2"]).error


def test_a_hung_squeue_never_holds_up_the_runner(tmp_path):
    """Queries run in a background thread: poll() keeps answering while squeue hangs."""
    import threading

    entered, release = threading.Event(), threading.Event()

    class HungCLI(RecordingCLI):
        def queue(self, job_ids):
            entered.set()
            release.wait()
            return super().queue(job_ids)

    dispatcher = SlurmDispatcher(
        slurm_cfg(),
        "s",
        cli=HungCLI({"1": JobInfo("1", "RUNNING", nodes="node1")}, {}),
        poll_interval_s=0,
    )
    trials = [trial(tmp_path, "1")]
    assert dispatcher.poll(trials) == {}
    assert entered.wait(30), "the query started"
    for _ in range(3):
        assert dispatcher.poll(trials) == {}  # returns while squeue is still hung
    release.set()
    assert settle(dispatcher, trials) == {} and trials[0].where == "running on node1"


def test_the_sbatch_line_names_the_trials_of_the_newest_generation():
    """From generation 2 on a pair's trials are `<name>.g1n1.gen2_trial_...` (the job name, the
    run directory): plan's sbatch line named them `<name>.g1n1_trial_...` as in generation 1."""
    cfg = slurm_cfg()
    cfg.generation = 2
    line = sbatch_line(cfg, HardwarePair(1, 1), Path("/s/runs"))
    assert "--job-name=hardware_scaling.g1n1.gen2_trial_NNNN_XXXXXX " in line, line
    assert " /s/runs/hardware_scaling.g1n1.gen2_trial_NNNN_XXXXXX/job.sh" in line, line


def test_cancel_returns_the_trials_whose_scancel_failed(tmp_path):
    """The runner keeps a trial in the per-launch file when its scancel failed (the controller
    unreachable): the dispatcher says which; a scancel that was taken confirms them all."""

    class FailingScancel(RecordingCLI):
        def cancel(self, job_ids):
            self.calls.append(("scancel", list(job_ids)))
            raise OSError("scancel failed: scancel: error: Unable to contact slurm controller")

    ended = {"1": JobInfo("1", "CANCELLED", exit_code=0, signal=15)}
    trials = [trial(tmp_path, "1")]
    failing = SlurmDispatcher(slurm_cfg(), "s", cli=FailingScancel({}, {}), poll_interval_s=3600)
    assert failing.cancel(trials, grace_s=2.0) == {"r1"}
    taken = RecordingCLI(ended, {})
    taken.cancel = lambda ids: taken.calls.append(("scancel", list(ids)))  # type: ignore[method-assign]
    dispatcher = SlurmDispatcher(slurm_cfg(), "s", cli=taken, poll_interval_s=3600)
    assert dispatcher.cancel(trials, grace_s=2.0) == set()
    assert ("scancel", ["1"]) in taken.calls


def test_a_failing_scancel_raises_and_one_for_ended_jobs_does_not(tmp_path):
    """scancel's exit code was never looked at: a failed scancel counted as done."""
    scancel = tmp_path / "scancel"
    scancel.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = 9 ]; then echo "scancel: error: Unable to contact slurm controller" >&2; '
        "exit 1; fi\nexit 0\n"
    )
    scancel.chmod(0o755)
    cli = SlurmCLI(env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    cli.cancel(["4"])  # exit 0 (Slurm's answer for a job that already ended too)
    with pytest.raises(OSError, match="scancel failed: scancel: error: Unable to contact"):
        cli.cancel(["9"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--test-only"], "makes sbatch submit nothing"),
        (["--quiet"], "hides the job id"),
        (["-Q"], "hides the job id"),
        (["--wait"], "wait until the job ends"),
        (["-W"], "wait until the job ends"),
        (["--array=0-3"], "several jobs"),
        (["-a0-3"], "several jobs"),
        (["--clusters=other"], "another cluster"),
        (["--hold"], "submits every job held"),
        (["-H"], "submits every job held"),
        (["--hold=1"], "submits every job held"),
        (["--mem=1G", "--hol"], "[1] '--hol' is an abbreviation sbatch reads as --hold"),
        (["--help"], "print its help"),
        (
            ["--mem=1G", "--part=gpu"],
            "[1] '--part=gpu' is an abbreviation sbatch reads as --partition",
        ),
        (["--job=x"], "reads as --job-name"),
        (["--out=/tmp/x"], "reads as --output"),
        (["--wai"], "reads as --wait"),
    ],
)
def test_extra_sbatch_args_that_break_the_trials_are_one_sentence(args, needle):
    """Options config.py lets through (it refuses only the ones the dispatcher sets, spelled
    out) that would break every trial: --quiet hid the job id (each job ran unwatched, its trial
    recorded failed), --wait read as a controller that does not answer, --test-only submitted
    nothing, an abbreviation set an owned option a second time."""
    from hwscale_tui.launch.slurm_options import extra_sbatch_args_problem

    problem = extra_sbatch_args_problem(slurm_cfg(extra_sbatch_args=args))
    assert problem is not None and needle in problem, problem
    assert problem.count("accepted:") == 1 and problem.count(". ") == 0 and problem.endswith(".")


@pytest.mark.parametrize(
    "args",
    [
        ["--mem=1G"],
        ["--hint=nomultithread"],
        ["--wait-all-nodes=1"],
        ["--time-min=5"],
        ["--export-file=/tmp/env"],
        ["--gres-flags=enforce-binding"],
        ["--exclusive", "-v"],
        ["--mem-per-gpu=4G", "--nodelist=node1"],
    ],
)
def test_ordinary_extra_sbatch_args_pass(args):
    from hwscale_tui.launch.slurm_options import extra_sbatch_args_problem

    assert extra_sbatch_args_problem(slurm_cfg(extra_sbatch_args=args)) is None


def test_a_failed_sinfo_is_asked_again_later_and_an_answer_is_kept(tmp_path, monkeypatch):
    """plan's shared-state warning asks sinfo once per process: a failure (the controller was
    down for a moment) stayed cached for good, so the app, which plans often and runs for
    days, kept warning "sinfo failed" after the controller was back. A failure is now asked
    again after SINFO_RETRY_S (0 here); an answer is kept."""
    from hwscale_tui.launch import slurm_options

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    flag = tmp_path / "up"
    calls = tmp_path / "calls"
    sinfo = bin_dir / "sinfo"
    sinfo.write_text(
        f'#!/bin/sh\necho x >> "{calls}"\n'
        f'if [ -e "{flag}" ]; then echo node1; exit 0; fi\n'
        "echo 'sinfo: error: Unable to contact slurm controller' >&2\nexit 1\n"
    )
    sinfo.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    (tmp_path / "slurm.conf").write_text("")  # a SLURM_CONF naming no file is refused first
    monkeypatch.setenv("SLURM_CONF", str(tmp_path / "slurm.conf"))
    monkeypatch.setattr(slurm_options, "_HOSTS_CACHE", {})
    monkeypatch.setattr(slurm_options, "SINFO_RETRY_S", 0.0)
    assert slurm_options.cluster_hosts() is None
    assert "Unable to contact slurm controller" in slurm_options.sinfo_problem()
    flag.write_text("")  # the controller is back
    assert slurm_options.cluster_hosts() == {"node1"}
    assert slurm_options.sinfo_problem() == ""
    asked = len(calls.read_text().splitlines())
    slurm_options.cluster_hosts()
    assert len(calls.read_text().splitlines()) == asked  # an answer is not asked again


def test_plan_warns_of_extra_sbatch_args_that_launch_refuses():
    """`launch` refuses extra sbatch options that break every trial; plain `plan` (without
    --check) said nothing of them, so the plan looked ready to launch."""
    from hwscale_tui.launch.commands import slurm_warnings

    warnings = slurm_warnings(slurm_cfg(extra_sbatch_args=["--quiet"]))
    assert warnings and warnings[0].startswith("launch refuses this: "), warnings
    assert "--quiet" in warnings[0]
    assert not any(w.startswith("launch refuses") for w in slurm_warnings(slurm_cfg()))
