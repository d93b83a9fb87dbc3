"""sbatch's refusal is quoted once, without sbatch's own prefix.

Found by hand: a trial whose sbatch was refused read "sbatch refused the job: sbatch: error:
Batch job submission failed: Required partition not available (inactive or drain)" -- the
prefix said twice. The reason is quoted as sbatch gives it, after our own "sbatch refused the
job:" (and "sbatch could not reach the Slurm controller:"), with sbatch's "sbatch: error:" and
"Batch job submission failed:" left out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hwscale_tui.sweep.dispatch import NotSubmitted
from hwscale_tui.sweep.slurm import SlurmCLI, SubmitNotNow


class RefusingSbatch(SlurmCLI):
    """sbatch exits 1 with ``stderr`` (what a real sbatch prints); scancel answers 0."""

    def __init__(self, stderr: str):
        super().__init__({})
        self.stderr = stderr
        self.calls: list[list[str]] = []

    def _run(self, argv, env=None):  # type: ignore[no-untyped-def]
        self.calls.append(list(argv))
        if argv[0] == "sbatch":
            return subprocess.CompletedProcess(argv, 1, "", self.stderr)
        return subprocess.CompletedProcess(argv, 0, "", "")


OPTIONS = ["--job-name=r.g1n1_trial_0001_abcdef", "--partition=debug"]


@pytest.mark.parametrize(
    ("stderr", "error", "message"),
    [
        (
            "sbatch: error: Batch job submission failed: Invalid partition name specified\n",
            NotSubmitted,
            "sbatch refused the job: Invalid partition name specified",
        ),
        (
            "sbatch: error: Batch job submission failed: Required partition not available "
            "(inactive or drain)\n",
            SubmitNotNow,
            "sbatch refused the job: Required partition not available (inactive or drain)",
        ),
        (
            "sbatch: error: Batch job submission failed: Unable to contact slurm controller "
            "(connect failure)\n",
            SubmitNotNow,
            "sbatch could not reach the Slurm controller: Unable to contact slurm controller "
            "(connect failure)",
        ),
        (  # an error of sbatch itself, before any submit: only "sbatch: error:" goes
            "sbatch: error: invalid partition specified: nosuch\nsbatch: error: Unable to "
            "allocate resources\n",
            NotSubmitted,
            "sbatch refused the job: invalid partition specified: nosuch",
        ),
        (  # nothing after the prefix: the line is kept as it is
            "sbatch: error:\n",
            NotSubmitted,
            "sbatch refused the job: sbatch: error:",
        ),
    ],
)
def test_a_refusal_quotes_sbatch_reason_once(
    tmp_path: Path, stderr: str, error: type, message: str
) -> None:
    cli = RefusingSbatch(stderr)
    with pytest.raises(error) as caught:
        cli.submit(OPTIONS, tmp_path / "job.sh", {})
    assert type(caught.value) is error
    assert str(caught.value) == message
