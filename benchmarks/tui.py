"""The app's speed: first painted frame vs a minimal Textual app, a 1% poll on 10,000 trial rows,
and memory with 10,000 rows. Baselines are measured in the same run.

- first frame in a real terminal: the real ``hwscale-tui`` command (its console script, so the
  CLI's own start-up counts) started in a detached tmux pane at 80x24, timed until its screen
  shows on the pane (``tmux capture-pane`` polled every 5 ms), against a minimal Textual app
  (one Label) started the same way, interleaved, medians. Target: ratio <= 1.3.
- first frame headless (second column): from spawning a fresh interpreter to the compositor
  handing the first frame of a screen with content to the headless driver once the app runs
  (Textual drops a frame rendered during its start-up batch), same baseline.
- 1% update: apply a poll in which 100 of 10,000 trials changed (update in place by row key),
  target < 50 ms; then the repaint, shown beside the repaint after a one-cell change of a
  200-row table (Textual's DataTable redraws every visible row after any change, so that cost
  depends on the terminal size, not on the table); baseline: clearing and refilling the table.
- memory: RSS growth when 10,000 trials are loaded into the table, against the Trial records alone.

    python benchmarks/tui.py [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout and tests.support
FRAME_TARGET_RATIO = 1.3
UPDATE_TARGET_MS = 50.0
N_ROWS = 10_000

FIRST_FRAME_CHILD = r"""
import sys, time
from textual.app import App

display = App._display


def first_paint(self, screen, renderable):
    # the compositor hands the first frame of a screen with content to the driver, once the app
    # runs (a frame rendered during Textual's start-up batch is dropped: no terminal shows it)
    if (
        renderable is not None
        and screen.children
        and self._running
        and not self._batch_count
        and not getattr(self, "_painted", False)
    ):
        self._painted = True
        print(f"FRAME {time.time():.6f}", flush=True)
        self.call_later(self.exit)
    return display(self, screen, renderable)


App._display = first_paint
which = sys.argv[1]
if which == "minimal":
    from textual.app import App
    from textual.widgets import Label

    class Minimal(App):
        def compose(self):
            yield Label("hello")
    app = Minimal()
else:
    from hwscale_tui.tui.app import create_app
    app = create_app(start=which, remember_state=False)

app.run(headless=True, size=(80, 24))
"""


def first_frame_seconds(which: str, env: dict[str, str]) -> float:
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME_CHILD, which],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    frame = next(line for line in out.stdout.splitlines() if line.startswith("FRAME "))
    return float(frame.split()[1]) - t0


MINIMAL_APP = """
from textual.app import App
from textual.widgets import Label


class Minimal(App):
    def compose(self):
        yield Label("hello minimal")


Minimal().run()
"""
TMUX_SIZE = (80, 24)
_RUNS = itertools.count()


def tmux_first_frame_seconds(
    argv: list[str], markers: tuple[str, ...], env: dict[str, str]
) -> float:
    """Seconds from starting ``argv`` in a real terminal (a detached tmux pane at 80x24) until
    every one of ``markers`` shows on the pane, polling ``tmux capture-pane`` every 5 ms."""
    import shlex

    server = f"hwscale-bench-{os.getpid()}-{next(_RUNS)}"  # a fresh server per run
    tmux = ["tmux", "-L", server, "-f", "/dev/null"]
    command = " ".join(shlex.quote(a) for a in argv)
    width, height = TMUX_SIZE
    try:
        t0 = time.time()
        subprocess.run(
            [*tmux, "new-session", "-d", "-x", str(width), "-y", str(height), "-s", "b", command],
            env=env,
            check=True,
            cwd=REPO,
        )
        deadline = t0 + 60
        while time.time() < deadline:
            shown = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", "b"], capture_output=True, text=True
            ).stdout
            if all(m in shown for m in markers):
                return time.time() - t0
            time.sleep(0.005)
        raise RuntimeError(f"{markers!r} never showed for {command}")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def compile_bytecode() -> None:
    """Byte-compile this checkout's package, as installing it does (pip writes the ``.pyc`` files;
    Textual's are in site-packages already). Without this an environment with
    ``PYTHONDONTWRITEBYTECODE=1`` (this machine's) compiles every one of our ~80 modules from
    source on every start, which the minimal app never pays: about a third of the gap measured
    before 2026-12-02 13:00 was that."""
    import compileall

    compileall.compile_dir(REPO / "hwscale_tui", quiet=1)


def bench_first_frame_tmux(repeat: int) -> dict[str, float]:
    """The real ``hwscale-tui`` command against a minimal Textual app, both in tmux."""
    home = tempfile.mkdtemp(prefix="hwscale-bench-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    env = dict(os.environ, HWSCALE_HOME=home, TEXTUAL_ANIMATIONS="none", TERM="xterm-256color")
    script = Path(home) / "minimal_app.py"
    script.write_text(MINIMAL_APP)
    exe = str(Path(sys.executable).with_name("hwscale-tui"))
    cases = {
        "minimal": ([sys.executable, str(script)], ("hello minimal",)),
        # a new user's first screen: header, matrix and footer all on the pane
        "grid": ([exe], ("1 Grid", "1 node", "? Help")),
        "launch": ([exe, "--screen", "launch"], ("2 Launch", "not launched", "? Help")),
    }
    times: dict[str, list[float]] = {c: [] for c in cases}
    for argv, markers in cases.values():  # warm the file cache once
        tmux_first_frame_seconds(argv, markers, env)
    for _ in range(repeat):
        for case, (argv, markers) in cases.items():
            times[case].append(tmux_first_frame_seconds(argv, markers, env))
    med = {c: statistics.median(v) for c, v in times.items()}
    return {
        "tmux_minimal_s": med["minimal"],
        "tmux_grid_s": med["grid"],
        "tmux_launch_s": med["launch"],
        "tmux_grid_ratio": med["grid"] / med["minimal"],
        "tmux_launch_ratio": med["launch"] / med["minimal"],
    }


def bench_first_frame(repeat: int) -> dict[str, float]:
    home = tempfile.mkdtemp(prefix="hwscale-bench-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    env = dict(os.environ, HWSCALE_HOME=home, TEXTUAL_ANIMATIONS="none", PYTHONPATH=str(REPO))
    cases = ("minimal", "grid", "launch")
    times: dict[str, list[float]] = {c: [] for c in cases}
    for case in cases:  # warm the file cache once
        first_frame_seconds(case, env)
    for _ in range(repeat):
        for case in cases:
            times[case].append(first_frame_seconds(case, env))
    med = {c: statistics.median(v) for c, v in times.items()}
    return {
        "minimal_s": med["minimal"],
        "grid_s": med["grid"],
        "launch_s": med["launch"],
        "grid_ratio": med["grid"] / med["minimal"],
        "launch_ratio": med["launch"] / med["minimal"],
    }


def demo_trials(n: int):
    from hwscale_tui.config import apply_overrides, default_config
    from tests.support.demo import demo_data

    # the 8-pair grid spelled out: the local default grid now fits this machine's cores
    grid = {"grid.gpu_counts": [1, 2, 4, 8], "grid.node_counts": [1, 2], "grid.exclude": []}
    cfg = apply_overrides(default_config(env={}), {"sweep.max_trials": n // 8, **grid})
    return demo_data(cfg, now=1.7e9, trials_per_pair=n // 8, with_histories=False).trials


async def bench_table(repeat: int) -> dict[str, float]:
    from textual.app import App

    from hwscale_tui.tui.widgets.trial_table import TrialTable

    proc = psutil.Process()
    demo_trials(16)  # imports and caches warmed, so the next RSS step is the records themselves
    rss_records = proc.memory_info().rss
    trials = demo_trials(N_ROWS)

    class TableApp(App):
        def compose(self):
            yield TrialTable(id="t")

    app = TableApp()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(TrialTable)
        rss_before = proc.memory_info().rss
        table.apply(trials)
        await pilot.pause()
        rss_after = proc.memory_info().rss
        in_place, in_place_apply = [], []
        current = list(trials)
        for r in range(repeat):
            changed_idx = range(r, N_ROWS, 100)  # 1%: 100 rows spread over the table
            for i in changed_idx:
                t = current[i]
                current[i] = replace(
                    t,
                    score=(t.score or 0) + 1.0,
                    state="finished",
                    updated_at=(t.updated_at or 0) + 1,
                )
            changed = {current[i].run_id for i in changed_idx}
            t0 = time.perf_counter()
            table.apply(current, changed)
            t1 = time.perf_counter()
            await pilot.pause()  # repaint
            t2 = time.perf_counter()
            in_place_apply.append(t1 - t0)
            in_place.append(t2 - t0)
        # baseline: clear and refill the same table with the same data (once: it is slow)
        t0 = time.perf_counter()
        table.clear()
        for t in current:
            table.add_row(*table._cells(t), key=t.run_id)
        await pilot.pause()
        refill = [time.perf_counter() - t0]
        assert table.row_count == N_ROWS
    small_repaint = await repaint_after_one_cell(trials[:200], repeat)
    return {
        "update_1pct_ms": 1000 * statistics.median(in_place_apply),
        "update_1pct_with_repaint_ms": 1000 * statistics.median(in_place),
        "repaint_200_rows_one_cell_ms": 1000 * small_repaint,
        "refill_ms": 1000 * statistics.median(refill),
        "rss_rows_mb": (rss_after - rss_before) / 2**20,
        "rss_records_mb": (rss_before - rss_records) / 2**20,
    }


async def repaint_after_one_cell(trials, repeat: int) -> float:
    """Median seconds from a one-cell change to the repainted frame, on a small table."""
    from textual.app import App

    from hwscale_tui.tui.widgets.trial_table import TrialTable

    class TableApp(App):
        def compose(self):
            yield TrialTable(id="t")

    app = TableApp()
    times = []
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(TrialTable)
        table.apply(trials)
        await pilot.pause()
        current = list(trials)
        for r in range(repeat):
            current[r] = replace(current[r], score=(current[r].score or 0) + 1.0)
            table.apply(current, {current[r].run_id})
            t0 = time.perf_counter()
            await pilot.pause()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.repeat < 1:
        p.error(f"--repeat takes a number from 1, not {args.repeat}")
    compile_bytecode()
    frame = {**bench_first_frame_tmux(args.repeat), **bench_first_frame(args.repeat)}
    table = asyncio.run(bench_table(args.repeat))
    result = {
        **frame,
        **table,
        "targets": {"first_frame_ratio": FRAME_TARGET_RATIO, "update_1pct_ms": UPDATE_TARGET_MS},
        "met": {
            "first_frame": frame["tmux_grid_ratio"] <= FRAME_TARGET_RATIO
            and frame["tmux_launch_ratio"] <= FRAME_TARGET_RATIO,
            "update_1pct": table["update_1pct_ms"] < UPDATE_TARGET_MS,
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"first frame, {TMUX_SIZE[0]}x{TMUX_SIZE[1]}: real terminal (tmux) | headless")
    for case, label in (
        ("minimal", "minimal Textual app (baseline)"),
        ("grid", "`hwscale-tui` (grid screen)"),
        ("launch", "`hwscale-tui --screen launch`"),
    ):
        ratio = (
            ""
            if case == "minimal"
            else f"  ratio {frame[f'tmux_{case}_ratio']:.2f} | {frame[f'{case}_ratio']:.2f}"
            f" (target <= {FRAME_TARGET_RATIO})"
        )
        print(f"  {label:<34} {frame[f'tmux_{case}_s']:.3f} s | {frame[f'{case}_s']:.3f} s{ratio}")
    rows = [
        (
            f"1% poll on {N_ROWS:,} rows: apply in place",
            f"{table['update_1pct_ms']:.1f} ms",
            f"target < {UPDATE_TARGET_MS:g} ms",
        ),
        (
            "  the same + repaint of the visible rows",
            f"{table['update_1pct_with_repaint_ms']:.1f} ms",
            "",
        ),
        (
            "repaint after a 1-cell change, 200 rows (baseline)",
            f"{table['repaint_200_rows_one_cell_ms']:.1f} ms",
            "Textual redraws visible rows",
        ),
        (f"clear-and-refill {N_ROWS:,} rows (baseline)", f"{table['refill_ms']:.1f} ms", ""),
        (f"RSS of {N_ROWS:,} rows in the table", f"{table['rss_rows_mb']:.1f} MiB", ""),
        (f"RSS of {N_ROWS:,} Trial records (baseline)", f"{table['rss_records_mb']:.1f} MiB", ""),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  {'value':>10}  note")
    for name, value, note in rows:
        print(f"{name:<{w}}  {value:>10}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
