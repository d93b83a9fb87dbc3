"""QA 85: steady W&B polls of many runs, with the real wandb client against the loopback server.

Every poll parsed and normalized every run again (its summary's JSON, the Metta rules), though
W&B sent the very same data: ~1 s of CPU per poll at 16,000 runs, in the app's process, every
2 s on the trials screen. A run whose data W&B sent unchanged now keeps its record (the same
object, as the local source's), and only the time-dependent stale rule is applied again."""

from __future__ import annotations

from hwscale_tui import config as cfgmod
from hwscale_tui.sources import SourceSettings, make_source
from tests.support.wandb_loopback import DEFAULT_ENTITY, EPOCH0, WandbLoopback, experiment_runs


def test_unchanged_runs_keep_their_records_and_only_staleness_is_recomputed(tmp_path, monkeypatch):
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 4, running_every=2)
    clock = [EPOCH0 + 1e6]
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta"),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [1, 2], "grid.node_counts": [1]},
    )
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        running = [r.name for r in runs if r.state == "running"]
        for name in running:  # heartbeats at the clock: fresh
            server.update_run(name, heartbeat_at=clock[0])
        src = make_source(
            cfg, "wandb", clock=lambda: clock[0], settings=SourceSettings(stale_after_s=600)
        )
        parsed = []
        import hwscale_tui.sources.wandb_source as ws

        real = ws.normalize_wandb_run

        def counting(data, **kw):
            parsed.append(data.run_id)
            return real(data, **kw)

        monkeypatch.setattr(ws, "normalize_wandb_run", counting)
        first = src.poll()
        assert len(parsed) == 8 and {t.state for t in first.trials} == {"finished", "running"}
        parsed.clear()
        clock[0] += 10
        second = src.poll()
        assert parsed == [] and second.changed == set()
        assert all(a is b for a, b in zip(first.trials, second.trials))
        # time passes with no heartbeat: the running runs go stale, nothing is parsed again
        clock[0] += 601
        third = src.poll()
        assert parsed == [] and third.changed == set(running)
        assert {t.run_id for t in third.trials if t.state == "stale"} == set(running)
        # a run W&B sends changed is read again, alone
        server.advance(running[0])
        server.update_run(running[0], heartbeat_at=clock[0])
        fourth = src.poll()
        assert parsed == [running[0]] and fourth.changed == {running[0]}
        by_id = {t.run_id: t for t in fourth.trials}
        assert by_id[running[0]].state == "running"
        assert (
            by_id[running[0]].agent_steps
            == runs[[r.name for r in runs].index(running[0])].summary["metric/agent_step"]
        )
