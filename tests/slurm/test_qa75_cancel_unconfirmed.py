"""QA 75: a cancel whose sweep runner could not scancel its job exited 0 without a word.

Found by hand on the local cluster: a launched Slurm pair's trial ran, slurmctld was stopped,
and ``hwscale-tui cancel g1n1`` answered "cancelled g1n1 (was running): stopped 3 processes in
5.09 s (SIGKILL needed)", exit 0. The runner's scancel could not reach the controller, so it
recorded the trial killed ("its cancel was not confirmed ... hwscale-tui cancel tries again")
and kept the job in the per-launch file -- but cancel looked for such jobs only before it
stopped the runner, so it neither scancelled the job itself nor said it still ran
(docs/slurm.md: "cancel then scancels the jobs the runner left in flight itself; when that
fails too, it says so ..., exits 1"). It now does both, and a later cancel scancels the job.

The controller is made unreachable for scancel only (a scancel on PATH that fails as a
stopped controller's does while a flag file exists), so the session's cluster stays up.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.slurm.test_slurm_dispatch import (
    cli_env,
    hwscale_cmd,
    launch,
    running_trial,
    wait_for,
    write_experiment,
)


def failing_scancel(tmp_path: Path) -> tuple[dict[str, str], Path]:
    real = shutil.which("scancel")
    assert real is not None
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    down = tmp_path / "controller-down"
    shim = shim_dir / "scancel"
    shim.write_text(
        "#!/bin/bash\n"
        f'if [ -e "{down}" ]; then\n'
        '  echo "scancel: error: Kill job error on job id $1: Unable to contact slurm '
        'controller (connect failure)" >&2\n'
        "  exit 1\n"
        "fi\n"
        f'exec "{real}" "$@"\n'
    )
    shim.chmod(0o755)
    env = cli_env()
    return {"PATH": f"{shim_dir}:{env['PATH']}"}, down


def cancel(experiment: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        hwscale_cmd("cancel", "g1n1", "--experiment-name", experiment),
        capture_output=True,
        text=True,
        env=cli_env(**env),
        timeout=120,
    )


def test_a_cancel_whose_runner_could_not_scancel_says_so_and_a_later_one_does(slurm, tmp_path):
    path_env, down = failing_scancel(tmp_path)
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(
        tmp_path / "u.toml",
        "unconf",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
    )
    launch(exp, HWSTUB_HOLD_DIR=str(hold), **path_env)
    job = str(running_trial("unconf.g1n1")["job_name"])
    down.write_text("")
    first = cancel("unconf", path_env)
    out = first.stdout + first.stderr
    assert first.returncode == 1, out
    assert out.startswith("cancelled g1n1 (was running): "), out
    assert f"scancel {job} failed (" in out and "Unable to contact slurm controller" in out, out
    assert "still recorded" in out, out
    assert job in slurm.job_ids(), "the job was meant to run on: scancel could not reach it"

    down.unlink()  # the controller answers again
    second = cancel("unconf", path_env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"scancel {job}: ok" in second.stdout, second.stdout
    wait_for(lambda: job not in slurm.job_ids(), f"job {job} to leave the queue")
