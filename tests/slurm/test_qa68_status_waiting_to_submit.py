"""``status`` names a Slurm trial that waits to be submitted again.

Found by hand: with a drained partition, a sweep's next trial waits to be asked again (its row
queued, no job id, ``waiting to submit: sbatch refused the job: ...``; sweep/runner.py since
2b527dc), but ``hwscale-tui status`` listed a pair's Slurm jobs only for trials with a job id:
the line said ``g1n1 Slurm jobs: none in flight`` (or only the running ones), as if nothing
waited, and ``--json`` had no entry for it. It is listed as waiting to submit, with why.
"""

from __future__ import annotations

from hwscale_tui.commands.status import slurm_jobs, slurm_lines
from hwscale_tui.store import Store

SWEEP = "exp.g1n1"
REASON = (
    "waiting to submit: sbatch refused the job: Required partition not available "
    "(inactive or drain)"
)


def _trial(store: Store, idx: int, **fields) -> str:  # type: ignore[no-untyped-def]
    run_id = f"{SWEEP}_trial_{idx:04d}_abcdef"
    store.insert_trial(run_id, SWEEP, experiment="exp", idx=idx, gpus=1, nodes=1)
    store.update_trial(run_id, **fields)
    return run_id


def test_a_trial_waiting_to_submit_is_listed_with_its_reason() -> None:
    with Store.open_default() as store:
        store.upsert_sweep(SWEEP, experiment="exp", gpus=1, nodes=1, dispatcher="slurm")
        _trial(store, 1, job_name="12", state="running")
        waiting = _trial(store, 2, state="queued", error=REASON)
        # not in flight, or not waiting to submit: never listed
        _trial(store, 3, state="killed", error=REASON)
        _trial(store, 4, state="queued")  # made, its first sbatch not asked yet
        _trial(store, 5, job_name="13", state="finished")

    jobs = slurm_jobs([SWEEP], "exp")
    assert jobs[SWEEP] == [
        {
            "run_id": f"{SWEEP}_trial_0001_abcdef",
            "job_id": "12",
            "state": "running",
            "waiting": None,
        },
        {"run_id": waiting, "job_id": None, "state": "queued", "waiting": REASON},
    ]
    assert slurm_lines(jobs) == [f"g1n1 Slurm jobs: 12 running, trial 2 {REASON}"]


def test_a_pair_whose_only_trial_waits_to_submit_is_not_none_in_flight() -> None:
    with Store.open_default() as store:
        store.upsert_sweep(SWEEP, experiment="exp", gpus=1, nodes=1, dispatcher="slurm")
        _trial(store, 1, state="queued", error=REASON)

    assert slurm_lines(slurm_jobs([SWEEP], "exp")) == [f"g1n1 Slurm jobs: trial 1 {REASON}"]
