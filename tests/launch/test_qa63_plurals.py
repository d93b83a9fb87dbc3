"""QA 63: a launch of one pair wrote "1 pairs" in its supervisor's log and its launch event
("--- launch 1 (id 1) of exp: 1 pairs ---"); two pairs still read "2 pairs"."""

from __future__ import annotations

import pytest

from hwscale_tui.cli import main
from hwscale_tui.launch.files import supervisor_log_path
from hwscale_tui.store import Store
from tests.launch.launch_testkit import (
    all_ended,
    clean_processes,
    fake_command,
    wait_for,
    write_experiment,
)

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


@pytest.mark.parametrize(("gpus", "said"), [((1,), "1 pair"), ((1, 2), "2 pairs")])
def test_the_supervisor_log_and_launch_event_count_pairs_in_the_right_number(
    tmp_path, capsys, gpus, said
):
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command(), gpus=gpus, delay_s=0)
    assert main(["launch", "-e", str(exp)]) == 0
    assert f"launched exp (launch 1 of this experiment): {said}," in capsys.readouterr().out
    wait_for(all_ended, "every pair to end")
    log = supervisor_log_path("exp").read_text()
    assert f"--- launch 1 (id 1) of exp: {said} ---" in log, log
    with Store.open_default() as st:
        launch_events = [e["message"] for e in st.events() if e["kind"] == "launch"]
    assert launch_events and launch_events[0].startswith(f"launch 1 (id 1): {said} ("), (
        launch_events
    )
