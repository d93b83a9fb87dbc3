"""Regenerate screenshots/*.png: the app on a finished built-in demo experiment.

The demo's store is synthesized deterministically (``hwscale_tui.tui.demo``: every pair of the
default grid, 8 trials each, learning curves shaped by a USL throughput law) together with the
supervisor's records of a finished launch, in a throw-away HWSCALE_HOME. The app then runs on
the real services (local source, real analysis, real supervisor status) with a frozen clock,
driven by Pilot; each screen is saved as SVG and converted to PNG.

Needs ``rsvg-convert`` (Debian: ``apt-get install librsvg2-bin fonts-firacode``, the font the SVGs
name); falls back to the
``cairosvg`` module if it is installed (``pip install cairosvg``).

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--size 150x42]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOW = 1_767_261_600.0  # 2026-01-01 10:00:00 UTC: the frozen clock of every screenshot


def prepare_home(home: Path) -> Path:
    """The demo experiment file, its trials and histories, and a finished launch, under ``home``."""
    os.environ["HWSCALE_HOME"] = str(home)
    from hwscale_tui import config as cfgmod
    from hwscale_tui.commands.common import snapshot_path
    from hwscale_tui.launch.commands import plan_experiment
    from hwscale_tui.launch.state import LaunchRecords
    from hwscale_tui.paths import app_paths
    from hwscale_tui.store import Store
    from hwscale_tui.tui.demo import demo_data, write_demo_store

    paths = app_paths().ensure()
    cfg = cfgmod.apply_overrides(cfgmod.default_config(env={}), {"launch.delay_s": 30.0})
    experiment = cfgmod.save(cfg, paths.default_experiment)
    cfgmod.save(cfg.copy(), snapshot_path(cfg.name))
    data = demo_data(cfg, NOW)
    plan = plan_experiment(cfg, snapshot_path(cfg.name))
    logs = paths.logs / cfg.name
    logs.mkdir(parents=True, exist_ok=True)
    with Store.open_default() as store:
        write_demo_store(store, cfg, data)
        records = LaunchRecords(store)
        t0 = NOW - 3600.0
        launch_id = records.create_launch(cfg.name, experiment, None, t0)
        for i, pp in enumerate(plan.pairs):
            log = logs / f"{pp.sweep_name}.log"
            trials = [t for t in data.trials if t.sweep == pp.sweep_name]
            log.write_text("".join(
                f"[sweep {pp.sweep_name}] trial {t.run_id.rsplit('_', 2)[-2]} {t.state}: score {t.score:.1f} "
                f"after {t.agent_steps:,.0f} steps ({t.runtime_s:.1f} s)\n" for t in trials
            ) + f"[sweep {pp.sweep_name}] done: {len(trials)} trials\n")
            start = t0 + i * cfg.launch.delay_s
            records.schedule_pair(cfg.name, pp.sweep_name, gpus=pp.pair.gpus, nodes=pp.pair.nodes, launch_id=launch_id,
                                  position=i, planned_start=start, argv=pp.argv, log_path=log)
            records.claim_for_start(cfg.name, pp.sweep_name, launch_id)
            records.mark_running(cfg.name, pp.sweep_name, pid=41000 + i, pgid=41000 + i, proc_start=start, started_at=start)
            records.mark_ended(cfg.name, pp.sweep_name, 0, None, start + 600.0 + 60.0 * i)
        records.end_launch(launch_id, "finished", t0 + 1200.0)
    return experiment


async def capture(out: Path, size: tuple[int, int]) -> list[Path]:
    from hwscale_tui.tui.app import create_app
    from hwscale_tui.tui.services import real_services
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    async def until(pilot, condition, what: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshots: timed out waiting for {what}")
            await pilot.pause(0.05)

    app = create_app(real_services(clock=lambda: NOW), remember_state=False)
    svgs: list[Path] = []

    def save(name: str) -> None:
        svgs.append(Path(app.save_screenshot(filename=f"{name}.svg", path=str(out))))

    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.current_mode == "launch", "the launch screen")
        launch = app.screen
        await until(pilot, lambda: launch.rows and all(r.status == "exited" for r in launch.rows.values()), "pair status")
        await until(pilot, lambda: "done: 8 trials" in str(launch.query_one("#log-tail").content), "the log tail")
        save("launch")
        await pilot.press("1")
        grid = app.screen
        await until(pilot, lambda: grid.query("#field-analysis--target"), "the form")
        await pilot.press("down", "down", "right")  # g4n2
        await until(pilot, lambda: grid.current_cell().pair.tag == "g4n2" and grid._details_for[1] == grid.current_cell(),
                    "the pair details")
        await pilot.pause()
        save("grid")
        await pilot.press("3")
        trials = app.screen
        table = trials.query_one(TrialTable)
        await until(pilot, lambda: table.row_count == 64, "the trials")
        await pilot.press("s", "s", "s", "s")  # sort by score, best first
        await until(pilot, lambda: table.selected_trial() and table.selected_trial().run_id in trials.curve_cache, "a curve")
        await pilot.pause()
        save("trials")
        await pilot.press("4")
        analysis = app.screen
        await until(pilot, lambda: analysis.view is not None, "the analysis")
        await pilot.pause()
        save("analysis")
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")  # throughput
        await pilot.pause()
        save("analysis-throughput")
        await pilot.press("question_mark")
        await pilot.pause()
        save("help")
    return svgs


def to_png(svg: Path) -> Path:
    png = svg.with_suffix(".png")
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", "--background-color=#1e1e1e", str(svg), "-o", str(png)], check=True)
    else:
        try:
            import cairosvg
        except ImportError:
            raise SystemExit("screenshots: need rsvg-convert (apt-get install librsvg2-bin) or cairosvg (pip install cairosvg)")
        cairosvg.svg2png(url=str(svg), write_to=str(png))
    return png


def main() -> int:
    p = argparse.ArgumentParser(description="Regenerate screenshots/*.png from a finished demo experiment.")
    p.add_argument("--out", default=str(REPO / "screenshots"))
    p.add_argument("--size", default="150x42", help="terminal size, WIDTHxHEIGHT (>= 130 wide shows the wide layouts)")
    args = p.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    with tempfile.TemporaryDirectory(prefix="hwscale-screenshots-") as home:
        prepare_home(Path(home))
        svgs = asyncio.run(capture(out, (width, height)))
    for svg in svgs:
        png = to_png(svg)
        svg.unlink()
        print(png.relative_to(REPO) if png.is_relative_to(REPO) else png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
