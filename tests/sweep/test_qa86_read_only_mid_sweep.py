"""A disk that turns read-only mid-sweep stops the sweep, not the budget (helper 86's QA pass).

Found by hand (a read-only runs folder; a file system remounted read-only on errors does the
same mid-sweep): every trial failed "could not start: [Errno 30] Read-only file system: ...",
one after another until max_trials were spent, each a failure the optimizer learned from, and
the sweep ended "every trial failed". Such a start is the machine's failure: the trial is
recorded killed (not counted, not shown to the optimizer) and after 3 in a row the sweep stops
(failed, exit 1) naming the cause.
"""

from __future__ import annotations

import errno
import io

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.search.presets import Preset
from hwscale_tui.store import Store
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep, protein_optimizer
from hwscale_tui.sweep.trial_command import TrialSpec
from tests.sweep.sweep_helpers import ScriptedDispatcher, SpyOptimizer, finished_exit


class TurnsReadOnly(ScriptedDispatcher):
    """Starts the first ``ok`` trials, then every start fails as on a read-only disk."""

    ok: int = 1

    def start(self, spec: TrialSpec):
        if len(self.started) >= self.ok:
            raise OSError(errno.EROFS, "Read-only file system", str(spec.run_dir))
        return super().start(spec)


def test_a_disk_turned_read_only_stops_the_sweep_without_spending_its_budget():
    cfg = apply_overrides(
        default_config(env={}),
        {"experiment.name": "rom", "sweep.max_trials": 20, "sweep.batch_size": 1},
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    spies: list[SpyOptimizer] = []

    def factory(preset: Preset, seed: int) -> SpyOptimizer:
        spies.append(SpyOptimizer(protein_optimizer(preset, seed)))
        return spies[-1]

    out = io.StringIO()
    with Store.open_default() as store:
        runner = SweepRunner(
            setup,
            store=store,
            dispatcher=TurnsReadOnly(exit_for=lambda spec: finished_exit()),
            optimizer_factory=factory,
            out=out,
            timings=RunnerTimings(poll_s=0.0),
        )
        code = runner.run()
        rows = store.trial_rows(["rom.g1n1"])
        status = store.conn.execute(
            "SELECT status FROM sweeps WHERE sweep = 'rom.g1n1'"
        ).fetchone()[0]
    log = out.getvalue()
    assert code == 1, log
    assert status == "failed"
    states = [r["state"] for r in rows]
    assert states == ["finished", "killed", "killed", "killed"], (states, log)
    for row in rows[1:]:
        assert "Read-only file system" in row["error"], row["error"]
    last = log.strip().splitlines()[-1]
    assert "failed" in last and "none of the last 3 trials could start" in last, last
    assert "Read-only file system" in last and "launch --only g1n1" in last, last
    # the optimizer learned nothing from them: only the finished trial was observed
    assert [failed for *_x, failed in spies[0].observed] == [False]
