"""The app against what docs/tui.md and docs/launch.md promise (QA pass 42)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hwscale_tui.config import default_config
from hwscale_tui.store import Store
from hwscale_tui.tui.app import create_app
from hwscale_tui.tui.services import LazyModule, Services
from hwscale_tui.tui.session import ExperimentSession
from tests.tui.test_tui_pilot import SIZE
from tests.tui.tui_fakes import fake_world
from tests.tui.tui_helpers import wait_for


async def test_a_launched_pair_no_longer_in_the_grid_counts_its_trials(tmp_path):
    """docs/launch.md: the launch screen counts trials as `hwscale-tui status` does, and shows
    "any recorded pair no longer in" the plan. After `launch --gpu-counts 1 2 4` with a file of
    gpu_counts 1 2 (or g4n1 removed from the grid while it ran), the app showed g4n1 at 0/8 with
    $0.00 and left it out of the experiment's progress, where `status` showed its 3 trials."""
    cfg = default_config()
    cfg.grid.gpu_counts, cfg.grid.node_counts = [1, 2], [1]
    launched = replace(cfg, grid=replace(cfg.grid, gpu_counts=[1, 2, 4]))
    world = fake_world(cfg, tmp_path, trials=False)
    world.supervisor.launch(launched)
    with Store.open_default() as store:
        for i in range(3):
            run_id = f"hardware_scaling.g4n1_trial_{i + 1:04d}_aaaaaa"
            store.insert_trial(
                run_id,
                "hardware_scaling.g4n1",
                experiment="hardware_scaling",
                gpus=4,
                nodes=1,
                state="finished",
                score=float(i),
                cost_usd=0.5,
            )
    services = Services(
        world.supervisor,
        LazyModule("hwscale_tui.sources"),  # the real local source, on the store above
        world.analysis,
        world.clock,
    )
    session = ExperimentSession(cfg, tmp_path / "experiment.toml")
    app = create_app(services, session=session, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.progress is not None, what="progress")
        row = screen.rows["hardware_scaling.g4n1"]
        assert "3/8" in row.trials, row.trials
        assert row.cost == "$1.50"
        pp = next(p for p in screen.progress.pairs if p.sweep == "hardware_scaling.g4n1")
        assert pp.done == 3


def test_docs_name_every_binding_id_keymap_toml_can_remap():
    """docs/tui.md says every key binding has an id to remap in keymap.toml: each of the app's
    ids (its screens, dialogs and widgets) is named there."""
    from hwscale_tui.tui.app import binding_ids

    doc = (Path(__file__).resolve().parents[2] / "docs" / "tui.md").read_text()
    ids = binding_ids()
    assert len(ids) > 40
    assert sorted(i for i in ids if f"`{i}`" not in doc) == []
