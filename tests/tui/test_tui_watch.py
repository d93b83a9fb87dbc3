"""The pair watch's notices (plain data): what changed between two looks at the pairs."""

from __future__ import annotations

from types import SimpleNamespace

from hwscale_tui.tui.watch import PairWatch


def _status(*pairs: tuple[str, str], alive: bool, code: int | None = 0) -> SimpleNamespace:
    return SimpleNamespace(
        launch_id=1,
        supervisor_alive=alive,
        pairs=[
            SimpleNamespace(
                sweep_name=f"exp.{tag}",
                gpus=int(tag[1]),
                nodes=int(tag[3]),
                status=state,
                exit_code=code if state == "exited" else None,
                cancelled_by="tui",
            )
            for tag, state in pairs
        ],
    )


def test_done_is_told_when_the_supervisor_exits_after_the_last_pair_ended():
    """A cancel of the last scheduled pair: one look saw every pair ended while the supervisor
    was still exiting, and the next (supervisor gone) gave no "done" notice: it was lost."""
    watch = PairWatch()
    assert watch.look("exp", _status(("g1n1", "running"), ("g2n1", "scheduled"), alive=True)) == []
    ended = (("g1n1", "exited"), ("g2n1", "cancelled"))
    notices = watch.look("exp", _status(*ended, alive=True))
    assert [n.message for n in notices] == ["g1n1 finished (its sweep exited 0)."]
    notices = watch.look("exp", _status(*ended, alive=False))
    assert [n.message for n in notices if n.done] == [
        "exp is done: every pair has ended (1 cancelled)."
    ]
    assert watch.look("exp", _status(*ended, alive=False)) == []  # told once


def test_done_counts_failed_and_cancelled_pairs():
    """After C (cancel all) it said "every pair has ended", as after a clean run."""
    watch = PairWatch()
    watch.look("exp", _status(("g1n1", "running"), ("g2n1", "running"), alive=True))
    pairs = (("g1n1", "exited"), ("g2n1", "cancelled"), ("g4n1", "failed_to_start"))
    done = [n for n in watch.look("exp", _status(*pairs, alive=False, code=2)) if n.done]
    assert [n.message for n in done] == [
        "exp is done: every pair has ended (2 failed, 1 cancelled)."
    ]


def test_a_pair_that_ended_unwatched_is_not_counted_failed():
    """Its supervisor gone, a pair's exit code is unknown (status: 'exited (code unknown)'; its
    sweep may have run every trial): the notices called it failed ('its sweep exited unknown',
    'every pair has ended (1 failed)') while its launch row and r counted it not failed."""
    watch = PairWatch()
    watch.look("exp", _status(("g1n1", "running"), ("g2n1", "running"), alive=True))
    pairs = (("g1n1", "exited"), ("g2n1", "cancelled"))
    notices = [n.message for n in watch.look("exp", _status(*pairs, alive=False, code=None))]
    assert notices == [
        "g1n1 ended while no supervisor watched it (exit code unknown; hwscale-tui status says "
        "more).",
        "exp is done: every pair has ended (1 cancelled, 1 with exit code unknown).",
    ]
