"""Regenerate screenshots/*.png: the app on a real, finished built-in experiment.

Default: run a small built-in experiment end to end in a throw-away HWSCALE_HOME, through the
real supervisor (a detached launch, as ``hwscale-tui launch`` does): the embedded default grid
(its pairs fit the machine's usable cores: g1n1 and g2n1 on 2 cores), the builtin runner (PPO on CartPole-v1) and the local dispatcher, with a
budget sized for a 2-core machine (``REAL_BUDGET``: 3 trials per pair, one at a time,
250k agent steps each, pairs 2 s apart; 3-5 minutes on a 2-core machine, progress
printed every 15 s). The analysis target is 75 % of the best score rather than the default
90 %: the big pairs train with big batches (1024 x ranks), and within this budget only the
1- and 2-GPU pairs would reach 90 %, leaving the scaling plots two points wide. Then the app
runs on the real services (local trial source, real analysis, real supervisor status) against
that store, with the header clock frozen just after the run ended, driven by Pilot; each screen
(launch, grid, trials sorted by score with one trial's curve, analysis, throughput, help) is
saved as SVG and converted to PNG.

    .venv/bin/python scripts/screenshots.py                 # real run, then screenshots
    .venv/bin/python scripts/screenshots.py --home DIR      # the same, keeping the run in DIR
    .venv/bin/python scripts/screenshots.py --reuse DIR     # screenshots of a finished run in DIR
    .venv/bin/python scripts/screenshots.py --demo          # synthesized store: seconds, deterministic

``--demo`` skips the run: it synthesizes the store (``tests.support.demo``: every pair, 8
trials each, learning curves shaped by a USL throughput law, fake pids and log lines) with a
fixed clock, like the snapshot tests.

Needs ``rsvg-convert`` (Debian: ``apt-get install librsvg2-bin fonts-firacode fonts-dejavu-core``:
Fira Code is the font the SVGs name, DejaVu Sans draws the check marks); falls back to the ``cairosvg`` module if it is installed (``pip install cairosvg``).
Without apt, Fira Code comes from PyPI too: ``pip download fontpkg-fira-code``, then copy the
wheel's ``FiraCode[wght].ttf`` into ``~/.local/share/fonts`` and run ``fc-cache``.
Other options: ``--out screenshots``, ``--size 150x42``.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# This checkout's hwscale_tui, here and in every process the run starts (supervisor, sweeps,
# trainers), whatever the environment's installed copy points at.
sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
DEMO_NOW = 1_767_261_600.0  # 2026-01-01 10:00:00 UTC: the frozen clock of the --demo screenshots
REAL_BUDGET = {
    "sweep.max_trials": 3,
    "sweep.max_parallel_jobs": 1,
    "sweep.batch_size": 1,
    "sweep.total_timesteps": 250_000,
    "launch.delay_s": 2.0,
    "analysis.target": 0.75,
}
PROGRESS_EVERY_S = 15.0


@dataclass(frozen=True)
class Prepared:
    """A HWSCALE_HOME ready to be shown: its clock and how many trials the trials screen must show."""

    now: float
    trials: int


def use_home(home: Path) -> None:
    os.environ["HWSCALE_HOME"] = str(home)


def prepare_demo(home: Path) -> Prepared:
    """The demo experiment file, its synthesized trials and histories, and a finished launch, under ``home``."""
    use_home(home)
    from hwscale_tui import config as cfgmod
    from hwscale_tui.launch.commands import plan_experiment
    from hwscale_tui.launch.state import LaunchRecords
    from hwscale_tui.paths import app_paths, snapshot_path
    from hwscale_tui.store import Store
    from tests.support.demo import demo_data, write_demo_store

    paths = app_paths().ensure()
    cfg = cfgmod.apply_overrides(cfgmod.default_config(env={}), {"launch.delay_s": 30.0})
    experiment = cfgmod.save(cfg, paths.default_experiment)
    cfgmod.save(cfg.copy(), snapshot_path(cfg.name))
    data = demo_data(cfg, DEMO_NOW)
    plan = plan_experiment(cfg, snapshot_path(cfg.name))
    logs = paths.logs / cfg.name
    logs.mkdir(parents=True, exist_ok=True)
    with Store.open_default() as store:
        write_demo_store(store, cfg, data)
        records = LaunchRecords(store)
        t0 = DEMO_NOW - 3600.0
        launch_id = records.create_launch(cfg.name, experiment, None, t0)
        for i, pp in enumerate(plan.pairs):
            log = logs / f"{pp.sweep_name}.log"
            trials = [t for t in data.trials if t.sweep == pp.sweep_name]
            log.write_text(
                "".join(
                    f"[sweep {pp.sweep_name}] trial {t.run_id.rsplit('_', 2)[-2]} {t.state}: score {t.score:.1f} "
                    f"after {t.agent_steps:,.0f} steps ({t.runtime_s:.1f} s)\n"
                    for t in trials
                )
                + f"[sweep {pp.sweep_name}] done: {len(trials)} trials\n"
            )
            start = t0 + i * cfg.launch.delay_s
            records.schedule_pair(
                cfg.name,
                pp.sweep_name,
                gpus=pp.pair.gpus,
                nodes=pp.pair.nodes,
                launch_id=launch_id,
                position=i,
                planned_start=start,
                argv=pp.argv,
                log_path=log,
            )
            records.claim_for_start(cfg.name, pp.sweep_name, launch_id)
            records.mark_running(
                cfg.name,
                pp.sweep_name,
                pid=41000 + i,
                pgid=41000 + i,
                proc_start=start,
                started_at=start,
            )
            records.mark_ended(cfg.name, pp.sweep_name, 0, None, start + 600.0 + 60.0 * i)
        records.end_launch(launch_id, "finished", t0 + 1200.0)
    return Prepared(now=DEMO_NOW, trials=len(data.trials))


def run_real_experiment(home: Path) -> Prepared:
    """Launch the small built-in experiment under ``home`` through the supervisor and wait for its end."""
    use_home(home)
    from hwscale_tui import config as cfgmod
    from hwscale_tui.launch import supervisor
    from hwscale_tui.paths import app_paths

    paths = app_paths().ensure()
    cfg = cfgmod.apply_overrides(cfgmod.default_config(env={}), REAL_BUDGET)
    cfgmod.save(cfg, paths.default_experiment)
    t0 = time.monotonic()
    info = supervisor.launch(cfg)
    print(
        f"screenshots: running {cfg.name} ({len(info.sweeps)} pairs x {cfg.sweep.max_trials} trials of "
        f"{cfg.sweep.total_timesteps:,} steps) in {home}, supervisor pid {info.supervisor_pid}",
        flush=True,
    )
    finished = False
    try:
        while True:
            status = supervisor.pair_status(cfg.name)
            if status.supervisor_state != "running":
                finished = True
                break
            counts: dict[str, int] = {}
            for p in status.pairs:
                counts[p.status] = counts.get(p.status, 0) + 1
            done = sum(p.trials_done or 0 for p in status.pairs)
            print(
                f"  {time.monotonic() - t0:5.0f} s: {', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}; "
                f"trials {done}/{len(status.pairs) * cfg.sweep.max_trials}",
                flush=True,
            )
            time.sleep(PROGRESS_EVERY_S)
    finally:
        if not finished:  # interrupted: stop what runs before the throw-away home goes
            supervisor.cancel(cfg.name, None, by="screenshots", grace_s=2.0)
    print(f"screenshots: the run took {time.monotonic() - t0:.0f} s", flush=True)
    return finished_run(home)


def finished_run(home: Path) -> Prepared:
    """What a finished run under ``home`` shows; refuses a run that is missing, still running, or whose pairs failed."""
    use_home(home)
    from hwscale_tui import config as cfgmod
    from hwscale_tui.launch import supervisor
    from hwscale_tui.paths import app_paths
    from hwscale_tui.store import Store

    experiment = app_paths().default_experiment
    if not experiment.is_file():
        raise SystemExit(f"screenshots: {home} holds no experiment ({experiment} is missing)")
    name = cfgmod.load(experiment).name
    status = supervisor.pair_status(name)
    if not status.pairs or status.supervisor_state == "running":
        raise SystemExit(
            f"screenshots: experiment {name} in {home} has {'not finished' if status.pairs else 'never run'}"
        )
    bad = [
        f"{p.tag} {p.status} {p.exit_code}"
        for p in status.pairs
        if p.status != "exited" or p.exit_code != 0
    ]
    if bad:
        raise SystemExit(
            f"screenshots: some pairs did not finish cleanly: {', '.join(bad)} (see {home}/logs)"
        )
    with Store.open_default() as store:
        trials = store.trials([p.sweep_name for p in status.pairs])
    failed = [t.run_id for t in trials if t.state != "finished"]
    if failed:
        print(
            f"screenshots: warning: {len(failed)} of {len(trials)} trials did not finish ({', '.join(failed)}); "
            f"their logs are under {app_paths().runs}",
            file=sys.stderr,
        )
    ended = max(p.ended_at for p in status.pairs if p.ended_at is not None)
    return Prepared(now=math.ceil((ended + 30.0) / 60.0) * 60.0, trials=len(trials))


async def capture(out: Path, size: tuple[int, int], prepared: Prepared) -> list[Path]:
    """Drive the app on the real services over the prepared home; save each screen as SVG."""
    from textual.widgets import Static

    from hwscale_tui.tui.app import create_app
    from hwscale_tui.tui.screens.analysis import AnalysisScreen
    from hwscale_tui.tui.screens.grid import GridScreen
    from hwscale_tui.tui.screens.launch import LaunchScreen
    from hwscale_tui.tui.screens.trials import TrialsScreen
    from hwscale_tui.tui.services import real_services
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    async def until(pilot, condition, what: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshots: timed out waiting for {what}")
            await pilot.pause(0.05)

    app = create_app(real_services(clock=lambda: prepared.now), remember_state=False)
    svgs: list[Path] = []

    def save(name: str) -> None:
        svgs.append(Path(app.save_screenshot(filename=f"{name}.svg", path=str(out))))

    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.current_mode == "launch", "the launch screen")
        launch = app.screen
        assert isinstance(launch, LaunchScreen)
        await until(
            pilot,
            lambda: launch.rows and all(r.status == "exited" for r in launch.rows.values()),
            "pair status",
        )
        await until(
            pilot,
            lambda: "done" in str(launch.query_one("#log-tail", Static).content),
            "the log tail",
        )
        save("launch")
        await pilot.press("1")
        grid = app.screen
        assert isinstance(grid, GridScreen)
        await until(pilot, lambda: grid.query("#field-analysis--target"), "the form")
        await pilot.press("down")  # g2n1: the default grid on a 2-core machine is g1n1, g2n1

        def g2n1_details() -> bool:
            cell = grid.current_cell()
            assert cell is not None  # the cursor is on a pair of the form's grid
            if cell.pair.tag != "g2n1":
                return False
            assert grid._details_for is not None  # shown since the matrix was built
            # and with the pairs' status read (the app's watch): it ran its trials, which the
            # state line says (before the watch's first look it says "will run")
            return grid._details_for[1] == cell and grid._details_for[2]

        await until(pilot, g2n1_details, "the pair details")
        await pilot.pause()
        save("grid")
        await pilot.press("3")
        trials = app.screen
        assert isinstance(trials, TrialsScreen)
        table = trials.query_one(TrialTable)
        await until(pilot, lambda: table.row_count == prepared.trials, "the trials")
        await pilot.press("s", "s", "s", "s")  # sort by score, best first
        await until(
            pilot,
            lambda: (t := table.selected_trial()) and t.run_id in trials.curve_cache,
            "a curve",
        )
        await pilot.pause()
        save("trials")
        await pilot.press("4")
        analysis = app.screen
        assert isinstance(analysis, AnalysisScreen)
        await until(pilot, lambda: analysis.view is not None, "the analysis", timeout=300.0)
        assert analysis.view is not None
        empty = [key for key, plot in analysis.view.plots.items() if plot.empty]
        if empty:
            print(
                f"screenshots: warning: empty analysis plots: {', '.join(empty)} (too little data?)",
                file=sys.stderr,
            )
        await pilot.pause()
        save("analysis")
        await pilot.press(
            "right_square_bracket", "right_square_bracket", "right_square_bracket"
        )  # throughput
        await pilot.pause()
        save("analysis-throughput")
        await pilot.press("question_mark")
        await pilot.pause()
        save("help")
    return svgs


SVG_TEXT = re.compile(
    r'<text (class="[^"]*") x="([\d.]+)" (y="[\d.]+") textLength="([\d.]+)" ([^>]*)>([^<]*)</text>'
)


# Fira Code draws U+2713 CHECK MARK like a square-root sign (bold runs most of all): the grid's
# on / invalid marks are drawn from DejaVu Sans, whose check and ballot x read as such. Fira Code
# has no U+2605 BLACK STAR (the trials' best-per-pair mark), and cairosvg, unlike rsvg-convert,
# falls back to no other font for a missing glyph: the star is drawn from DejaVu Sans too.
MARK_GLYPHS = "✓✗★"
MARK_STYLE = " style=\"font-family: 'DejaVu Sans'\""


def text_in_cells(svg_text: str) -> str:
    """Place each character of the SVG in its own terminal cell.

    The converter ignores ``textLength``, and not every glyph has the cell's width: Fira Code
    has no braille, so plot dots come from a wider proportional font, and bold runs come out
    a little wider too. A long run would spill past a plot's frame or over the next word;
    one ``<text>`` per character keeps every glyph in its column.
    """

    def split(m: re.Match) -> str:
        chars = html.unescape(m[6])
        if len(chars) < 2 and not any(ch in MARK_GLYPHS for ch in chars):
            return m[0]
        cell = float(m[4]) / len(chars)
        x0 = float(m[2])
        return "".join(
            f'<text {m[1]} x="{x0 + i * cell:.2f}" {m[3]} textLength="{cell:.2f}" {m[5]}'
            f"{MARK_STYLE if ch in MARK_GLYPHS else ''}>{html.escape(ch)}</text>"
            for i, ch in enumerate(chars)
            if not ch.isspace()
        )

    return SVG_TEXT.sub(split, svg_text)


def to_png(svg: Path) -> Path:
    png = svg.with_suffix(".png")
    svg.write_text(text_in_cells(svg.read_text(encoding="utf-8")), encoding="utf-8")
    if shutil.which("rsvg-convert"):
        subprocess.run(
            ["rsvg-convert", "--background-color=#1e1e1e", str(svg), "-o", str(png)], check=True
        )
    else:
        try:
            import cairosvg
        except ImportError as exc:
            raise SystemExit(
                "screenshots: need rsvg-convert (apt-get install librsvg2-bin) or cairosvg (pip install cairosvg)"
            ) from exc
        cairosvg.svg2png(url=str(svg), write_to=str(png))
    return png


def main() -> int:
    p = argparse.ArgumentParser(
        description="Regenerate screenshots/*.png from a real, finished built-in experiment."
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--demo",
        action="store_true",
        help="synthesized store instead of a real run (fast, deterministic)",
    )
    mode.add_argument(
        "--reuse",
        metavar="DIR",
        help="screenshot the finished run in this HWSCALE_HOME; run nothing",
    )
    mode.add_argument(
        "--home",
        metavar="DIR",
        help="run the experiment in this (new or empty) directory and keep it",
    )
    p.add_argument("--out", default=str(REPO / "screenshots"))
    p.add_argument(
        "--size",
        default="150x42",
        help="terminal size, WIDTHxHEIGHT (>= 130 wide shows the wide layouts)",
    )
    args = p.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    if args.reuse:
        home = Path(args.reuse).expanduser().resolve()
        svgs = asyncio.run(capture(out, (width, height), finished_run(home)))
    elif args.home:
        home = Path(args.home).expanduser().resolve()
        if home.exists() and any(home.iterdir()):
            raise SystemExit(
                f"screenshots: {home} is not empty; --reuse {home} screenshots a finished run there"
            )
        home.mkdir(parents=True, exist_ok=True)
        svgs = asyncio.run(capture(out, (width, height), run_real_experiment(home)))
    else:
        with tempfile.TemporaryDirectory(prefix="hwscale-screenshots-") as tmp:
            home = Path(tmp)
            prepared = prepare_demo(home) if args.demo else run_real_experiment(home)
            svgs = asyncio.run(capture(out, (width, height), prepared))
    for svg in svgs:
        png = to_png(svg)
        svg.unlink()
        print(png.relative_to(REPO) if png.is_relative_to(REPO) else png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
