"""QA 60: ``launch --resume`` with nothing to resume writes nothing and warns of nothing.

Refused on a never-launched experiment (exit 2), it had created the store, its folders and the
launch lock first; with every pair ended it printed the plan's warnings ("local mode: pairs
started 60 s apart run at once ...") above "nothing to resume": of a launch that never came."""

from __future__ import annotations

import os

from hwscale_tui.cli import main


def _files(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
    )


def test_a_refused_resume_of_a_never_launched_experiment_writes_nothing(private_home, capsys):
    before = _files(private_home) if private_home.exists() else []
    assert main(["launch", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has never been launched, so there is nothing to resume" in err
    after = _files(private_home) if private_home.exists() else []
    assert after == before, after  # it had created data/hwscale.sqlite and the launch lock


def test_nothing_to_resume_prints_no_warning_of_the_plan(monkeypatch, capsys, tmp_path):
    from hwscale_tui import config as cfgmod
    from hwscale_tui.launch.state import LaunchRecords
    from hwscale_tui.paths import ensure_private_dir, snapshot_path
    from hwscale_tui.store import Store

    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")  # default grid g1n1, g2n1: they share 2 cores
    exp = tmp_path / "exp.toml"  # staggered 60 s apart: the plan warns they run at once
    cfgmod.save(cfgmod.from_dict({"launch": {"delay_s": 60}}, source=str(exp)), exp)
    assert main(["plan", "-e", str(exp)]) == 0
    planned = capsys.readouterr().out
    assert "warning: local mode: pairs started" in planned  # what the plan warns of
    cfg = cfgmod.load(exp)
    ensure_private_dir(snapshot_path(cfg.name).parent)
    cfgmod.save(cfg, snapshot_path(cfg.name))
    with Store.open_default() as st:  # a launch whose pairs were both cancelled
        rec = LaunchRecords(st)
        lid = rec.create_launch(cfg.name, snapshot_path(cfg.name), None, 1.0)
        for pos, g in enumerate((1, 2)):
            sweep = f"{cfg.name}.g{g}n1"
            rec.schedule_pair(
                cfg.name, sweep, gpus=g, nodes=1, launch_id=lid, position=pos,
                planned_start=1.0, argv=["true"], log_path=None,
            )  # fmt: skip
            rec.mark_cancelled(cfg.name, sweep, "test", 2.0)
        rec.end_launch(lid, "finished", 2.0)
    assert main(["launch", "--resume"]) == 0
    out = capsys.readouterr().out
    assert "nothing to resume for hardware_scaling" in out, out
    assert "warning" not in out, out
