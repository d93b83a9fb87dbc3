"""QA 75: a sweep's stop killed an sbatch whose job the controller then made, unwatched.

Found by hand on the local cluster: a trial's sbatch ran while the controller was slow
(stopped here with SIGSTOP); ``hwscale-tui cancel`` sent SIGTERM to the runner's process group,
which ended sbatch too (exit -15). The trial was recorded "killed: not submitted: sbatch
refused the job: exit -15", and once the controller answered it made the job from the request
sbatch had sent: job 101 ran to its end with nothing tracking it. A submitting sbatch now
ignores SIGTERM, SIGINT and SIGHUP, so it returns the job id and the stopping runner scancels
the job by it.

Here the controller is stopped, sbatch is given the SIGTERM a stop sends, and the controller
is resumed: the submit must come back with the job's id.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import psutil

from hwscale_tui.sweep.slurm import SlurmCLI
from tests.slurm.test_slurm_dispatch import cli_env, wait_for


def sbatch_of(name: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and os.path.basename(cmd[0]) == "sbatch" and f"--job-name={name}" in cmd:
            found.append(p)
    return found


def test_an_sbatch_given_the_stops_sigterm_still_returns_its_job_id(slurm, tmp_path):
    ctld = next(p for p in slurm.procs if os.path.basename(str(p.args[0])) == "slurmctld")
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\nsleep 300\n")
    name = "stopped.g1n1_trial_0001_abcdef"
    options = [f"--job-name={name}", "--nodes=1", f"--output={tmp_path / 'log'}"]
    result: dict[str, Any] = {}

    def submit() -> None:
        try:
            result["job"] = SlurmCLI(cli_env()).submit(options, script, cli_env())
        except Exception as e:  # what the runner would have recorded
            result["error"] = e

    os.kill(ctld.pid, signal.SIGSTOP)
    try:
        worker = threading.Thread(target=submit, daemon=True)
        worker.start()
        (sbatch,) = wait_for(lambda: sbatch_of(name), "sbatch to run")
        sbatch.send_signal(signal.SIGTERM)  # what the stop's killpg gives it
    finally:
        os.kill(ctld.pid, signal.SIGCONT)
    worker.join(120)
    assert not worker.is_alive()
    assert "error" not in result, result
    job = result["job"]
    assert job.isdigit(), result
    queued = slurm.run(["squeue", "-h", "-j", job, "-o", "%j"]).stdout.split()
    assert queued == [name]  # the job the id names: the runner can scancel it
