"""Building the app on fake services, and waiting for conditions (never fixed sleeps)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from hwscale_tui.config import default_config
from hwscale_tui.tui.app import HwscaleApp, create_app
from hwscale_tui.tui.session import ExperimentSession
from tests.tui.tui_fakes import FakeWorld, fake_world


def make_app(
    tmp_path: Path,
    *,
    start: str = "grid",
    read_only: bool = False,
    launched: bool = False,
    trials: bool = True,
    cfg=None,
    running_per_pair: int = 1,
) -> tuple[HwscaleApp, FakeWorld]:
    cfg = cfg or default_config()
    session = ExperimentSession(cfg, tmp_path / "experiment.toml", read_only=read_only)
    world = fake_world(cfg, tmp_path, trials=trials, running_per_pair=running_per_pair)
    if launched:
        world.supervisor.launch(cfg)
    return create_app(world.services, session=session, start=start), world


async def wait_for(
    pilot, condition: Callable[[], object], timeout: float = 30.0, what: str = "condition"
) -> None:
    """Let the app run until ``condition()`` is true (generous: the machine may be loaded), then
    until it has handled the messages already posted: what one UI call does at once (a banner
    and its toast; Textual's ``notify`` posts a message) is all seen by the test's next line."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
    await pilot.pause(0)  # the messages queued so far are handled (not pause(): it waits for idle)


async def end_every_pair(pilot, app: HwscaleApp, world: FakeWorld, exit_code: int = 0) -> None:
    """After the app's first look at the pairs, every pair exits (``exit_code``) and the
    supervisor finishes: the experiment is done, as the app will see at its next look."""
    await wait_for(pilot, lambda: app.pair_watch.seen, what="first look")
    for p in world.supervisor.pairs.values():
        p.status, p.exit_code = "exited", exit_code
    world.supervisor.state = "finished"


def stop_everything(experiment: str) -> None:
    """Test cleanup: cancel whatever a real launch left running (nothing launched is fine)."""
    from hwscale_tui.errors import UsageError
    from hwscale_tui.launch import supervisor

    with contextlib.suppress(UsageError):
        supervisor.cancel(experiment, None, by="test cleanup", grace_s=1.0)


def shown_error(screen, dotted: str):
    """The grid form's error label under field ``dotted`` (``sweep.max_trials``) while it is
    shown, else None (a label, once mounted, stays and is hidden when its error goes)."""
    found = screen.query("#error-" + dotted.replace(".", "--"))
    return found.first() if found and found.first().display else None
