"""The SkyPilot dispatcher: a real sky.Task built and YAML-validated offline; only the SDK's
launch / queue / cancel calls and the W&B result read are faked."""

from __future__ import annotations

import io
import signal
import threading

import pytest
import sky  # the [skypilot] extra, which the test extras install
import yaml

from hwscale_tui.config import apply_overrides, default_config, from_dict
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep
from hwscale_tui.sweep.skypilot import SkyPilotDispatcher, WandbTrialResults, build_task
from tests.sweep.sweep_helpers import wait_for

SECRET = "wandb-secret-value-0123456789"


def sky_cfg(**overrides):
    base = {
        "experiment.name": "skx",
        "experiment.dispatcher": "skypilot",
        "wandb.mode": "online",
        "wandb.entity": "team",
        "cost.gpu_type": "A100",
        "sweep.max_trials": 2,
        "sweep.batch_size": 1,
        "sweep.max_parallel_jobs": 2,
    }
    return apply_overrides(default_config(env={}), {**base, **overrides})


def spec_for(cfg, pair):
    setup = prepare_sweep(cfg, pair, ["trainer.update_epochs=2"], app_paths().runs)
    return setup.builder.build(f"{setup.sweep}_trial_0001_abcdef", 1, setup.preset.space.center())


def test_the_trial_is_a_real_task_with_resources_nodes_envs_and_no_secret(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    cfg = sky_cfg()
    spec = spec_for(cfg, HardwarePair(4, 1))
    task = build_task(spec, cfg)
    config = task.to_yaml_config()
    dumped = yaml.safe_dump(config)
    assert SECRET not in dumped and "WANDB_API_KEY" not in dumped
    assert config["name"] == "skx.g4n1_trial_0001_abcdef" and config.get("num_nodes", 1) == 1
    assert config["resources"]["accelerators"] == {"A100": 4}
    assert (
        config["envs"]["WANDB_PROJECT"] == "hardware-scaling"
        and config["envs"]["WANDB_ENTITY"] == "team"
    )
    assert (
        config["envs"]["HWSCALE_RUN_ID"] == spec.run_id and config["envs"]["WANDB_MODE"] == "online"
    )
    assert "trainer.update_epochs=2" in config["run"] and "hardware.gpus=4" in config["run"]
    # YAML-valid: SkyPilot's own schema check accepts it and it round-trips
    again = sky.Task.from_yaml_config(yaml.safe_load(dumped))
    assert (again.name, again.num_nodes, again.run) == (task.name, 1, task.run)
    assert list(again.resources)[0].accelerators == {"A100": 4}


def test_custom_trainer_template_gets_the_multi_node_torchrun_pattern_and_setup():
    cfg = from_dict(
        {
            "experiment": {"name": "tr", "dispatcher": "skypilot"},
            "wandb": {"mode": "online"},
            "sweep": {
                "trial_command": ["{torchrun}", "train.py", "{params}"],
                "skypilot_setup": "pip install -e .",
            },
        },
        env={},
    )
    task = build_task(spec_for(cfg, HardwarePair(8, 2)), cfg)
    config = yaml.safe_load(yaml.safe_dump(task.to_yaml_config()))
    run = config["run"]
    for part in (
        "--nnodes=$SKYPILOT_NUM_NODES",
        "--nproc_per_node=$SKYPILOT_NUM_GPUS_PER_NODE",
        "--node_rank=$SKYPILOT_NODE_RANK",
        '--master_addr=$(echo "$SKYPILOT_NODE_IPS" | head -n1)',
        "--master_port=8008",
        "train.py trainer.batch_size=",
    ):
        assert part in run, part
    assert config["setup"] == "pip install -e ."
    sky.Task.from_yaml_config(config)


class FakeSky:
    """The SDK boundary: remembers launches (with the task), serves scripted statuses, records cancels."""

    def __init__(self, script):
        self.script = script  # run id -> list of statuses, one per poll (last one sticks)
        self.launched: dict[str, object] = {}
        self.cancelled: list[str] = []
        self.polls: dict[str, int] = {}
        self.lock = threading.Lock()

    def launch(self, task, name):
        with self.lock:
            self.launched[name] = task

    def statuses(self, name_prefix):
        out = {}
        with self.lock:
            for name in self.launched:
                assert name.startswith(name_prefix)
                seq = self.script(name)
                i = self.polls.get(name, 0)
                self.polls[name] = i + 1
                out[name] = (
                    seq[min(i, len(seq) - 1)],
                    "no capacity" if "FAILED" in seq[-1] else None,
                )
        return out

    def cancel(self, name):
        with self.lock:
            self.cancelled.append(name)


class FakeResults:
    def final(self, run_id):
        return {
            "sweep/score": 100.0 + int(run_id.split("_trial_")[1][:4]),
            "sweep/cost": 1.5,
            "metric/total_time": 600.0,
            "metric/agent_step": 1e6,
            "overview/sps": 1666.0,
        }


def run_sky_sweep(cfg, fake, results=None, stop_when=None):
    setup = prepare_sweep(cfg, HardwarePair(2, 1), [], app_paths().runs)
    d = SkyPilotDispatcher(
        cfg, setup.sweep, sdk=fake, results=results or FakeResults(), query_interval_s=0.0
    )
    store = Store.open_default()
    out = io.StringIO()
    runner = SweepRunner(
        setup,
        store=store,
        dispatcher=d,
        out=out,
        timings=RunnerTimings(poll_s=0.01, cancel_grace_s=2.0),
    )
    if stop_when is not None:
        threading.Thread(
            target=lambda: (
                wait_for(stop_when, what="stop condition"),
                runner.request_stop(signal.SIGTERM),
            ),
            daemon=True,
        ).start()
    code = runner.run()
    return code, store.trial_rows([setup.sweep]), out.getvalue(), store


def test_sweep_over_managed_jobs_maps_states_and_reads_results(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    fake = FakeSky(
        lambda name: (
            ["PENDING", "RUNNING", "SUCCEEDED"]
            if "_0001_" in name
            else ["STARTING", "FAILED_NO_RESOURCE"]
        )
    )
    code, rows, out, store = run_sky_sweep(sky_cfg(), fake)
    assert code == 0
    assert [(r["state"], r["job_name"] == r["run_id"]) for r in rows] == [
        ("finished", True),
        ("failed", True),
    ]
    assert (
        rows[0]["score"] == 101.0 and rows[0]["runtime_s"] == 600.0 and rows[0]["cost_usd"] == 1.5
    )
    assert rows[0]["agent_steps"] == 1e6 and rows[0]["sps"] == 1666.0
    assert rows[1]["error"] == "exit code 1: SkyPilot job FAILED_NO_RESOURCE: no capacity"
    # the secret travels as a SkyPilot secret on the launched task, never in its YAML or our store
    task = fake.launched[rows[0]["run_id"]]
    assert {
        k: v.get_secret_value() if hasattr(v, "get_secret_value") else v
        for k, v in task.secrets.items()
    } == {"WANDB_API_KEY": SECRET}
    assert SECRET not in yaml.safe_dump(task.to_yaml_config(use_user_specified_yaml=True))
    dump = "\n".join(str(dict(r)) for r in rows) + str(store.events("skx.g2n1")) + out
    assert SECRET not in dump
    assert "job_name=skx.g2n1_trial_0001_" in out


def test_sigterm_cancels_every_in_flight_job_by_name():
    fake = FakeSky(lambda name: ["RUNNING"])
    code, rows, _out, _ = run_sky_sweep(
        sky_cfg(), fake, stop_when=lambda: len(fake.launched) == 2 and fake.polls
    )
    assert code == 128 + signal.SIGTERM
    assert sorted(fake.cancelled) == sorted(r["run_id"] for r in rows) and len(rows) == 2
    assert [r["state"] for r in rows] == ["killed", "killed"]


def test_skypilot_needs_wandb_online_to_get_results_back():
    from hwscale_tui.errors import UsageError

    with pytest.raises(UsageError, match="reads trial results from W&B"):
        prepare_sweep(
            sky_cfg(**{"wandb.mode": "disabled"}), HardwarePair(1, 1), [], app_paths().runs
        )


def test_wandb_results_read_the_run_summary_of_the_trial():
    calls = []

    class Run:
        summary = {"sweep/score": 7.0, "sweep/cost": 0.3, "metric/total_time": 12.0, "other": 1}

    class Api:
        default_entity = "me"

        def run(self, path):
            calls.append(path)
            if path.endswith("missing"):
                raise ValueError("Could not find run")
            return Run()

    r = WandbTrialResults(None, "proj", api_factory=Api)
    assert r.final("abc") == {"sweep/score": 7.0, "sweep/cost": 0.3, "metric/total_time": 12.0}
    assert r.final("missing") is None
    assert calls == ["me/proj/abc", "me/proj/missing"]


def test_a_failing_queue_query_is_retried_and_never_ends_the_sweep():
    class Flaky(FakeSky):
        failures = 2

        def statuses(self, name_prefix):
            if self.failures:
                self.failures -= 1
                raise ConnectionError("API server unreachable")
            return super().statuses(name_prefix)

    fake = Flaky(lambda name: ["RUNNING", "SUCCEEDED"])
    code, rows, _out, _store = run_sky_sweep(sky_cfg(), fake)
    assert code == 0 and fake.failures == 0
    assert [r["state"] for r in rows] == ["finished", "finished"]


def test_a_hung_queue_query_does_not_hold_up_a_stop():
    release = threading.Event()

    class Hung(FakeSky):
        def statuses(self, name_prefix):
            release.wait()  # never answers while the test runs
            return super().statuses(name_prefix)

    fake = Hung(lambda name: ["RUNNING"])
    try:
        code, rows, _out, _ = run_sky_sweep(
            sky_cfg(), fake, stop_when=lambda: len(fake.launched) == 2
        )
    finally:
        release.set()
    assert code == 128 + signal.SIGTERM
    assert sorted(fake.cancelled) == sorted(r["run_id"] for r in rows)
    assert {r["state"] for r in rows} == {"killed"}


def test_the_real_sdk_calls_are_well_formed_and_refused_offline():
    from hwscale_tui.sweep.skypilot import SkyJobsSDK

    sdk = SkyJobsSDK()
    for call in (
        lambda: sdk.statuses("skx.g1n1"),
        lambda: sdk.cancel("skx.g1n1_trial_0001_abcdef"),
    ):
        with pytest.raises(
            RuntimeError, match="API server"
        ):  # not a TypeError: the arguments are accepted
            call()


def test_the_queue_asks_for_failure_reason_which_queue_v2_leaves_out_by_default(monkeypatch):
    """skypilot 0.14.1's queue_v2 returns only the requested fields of ManagedJobRecord (its
    default set has no failure_reason): the SDK call must ask for it. Answered here with real
    ManagedJobRecord objects carrying only the requested fields, as the API server does."""
    from sky.jobs import constants as job_constants
    from sky.schemas.api.responses import ManagedJobRecord

    from hwscale_tui.sweep.skypilot import SkyJobsSDK

    assert "failure_reason" not in job_constants.DEFAULT_MANAGED_JOB_FIELDS
    asked: dict = {}
    full = {
        "job_id": 7,
        "job_name": "skx.g1n1_trial_0001_abcdef",
        "status": "FAILED_SETUP",
        "failure_reason": "pip install failed",
        "resources": "1x[A100:1]",
    }

    def queue_v2(refresh, **kwargs):
        asked.update(kwargs, refresh=refresh)
        fields = kwargs.get("fields", job_constants.DEFAULT_MANAGED_JOB_FIELDS)
        return [ManagedJobRecord(**{k: v for k, v in full.items() if k in fields})], 1, {}, 1

    monkeypatch.setattr(sky.jobs, "queue_v2", queue_v2)
    monkeypatch.setattr(sky, "get", lambda result: result)
    statuses = SkyJobsSDK().statuses("skx.g1n1")
    assert asked["name_match"] == "skx.g1n1" and asked["refresh"] is False
    assert statuses == {"skx.g1n1_trial_0001_abcdef": ("FAILED_SETUP", "pip install failed")}
