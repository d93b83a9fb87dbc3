"""What a Slurm trial asks for: its sbatch options, the equivalent sbatch line, plan-time checks.

One job per trial (docs/slurm.md): ``--job-name=<run id>``, ``--nodes=N``, one task per node
(``--ntasks-per-node=1``, the trial's launcher starts its GPU ranks), ``--cpus-per-task``,
GPUs as GRES per node (``--gres=gpu:G`` or ``gpu:<type>:G``), a time limit derived from
``max_suggestion_cost``, the ``[slurm]`` keys, and ``--export=ALL`` so the job's environment --
secrets included -- comes from sbatch's own environment, never from the script or argv.
The sweep layer (``sweep/slurm.py``) submits with these; ``plan`` prints them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig
from ..hardware import HardwarePair, strip_generation

# Filesystems every node of a cluster can mount (the state dir must be on one unless the
# cluster is this machine): NFS, Lustre, GPFS (Spectrum Scale), BeeGFS, CephFS, and FUSE mounts
# of those. A local disk (ext4, xfs, btrfs, tmpfs, overlay) is not shared.
SHARED_FS_TYPES = ("nfs", "nfs4", "lustre", "gpfs", "beegfs", "ceph", "fuse.ceph", "cifs", "smb3")
SLURM_CMD_TIMEOUT_S = 20.0


def time_limit_minutes(cfg: ExperimentConfig) -> int:
    """``time_limit_factor x max_suggestion_cost`` seconds in whole minutes (at least 1)."""
    seconds = cfg.slurm.time_limit_factor * cfg.sweep.max_suggestion_cost
    return max(1, math.ceil(seconds / 60.0))


def gres_spec(cfg: ExperimentConfig, pair: HardwarePair) -> str:
    """GPUs per node as a GRES request: ``gpu:G`` or ``gpu:<type>:G``."""
    if cfg.slurm.gpu_type:
        return f"gpu:{cfg.slurm.gpu_type}:{pair.gpus}"
    return f"gpu:{pair.gpus}"


def cpus_per_task(cfg: ExperimentConfig) -> int:
    return cfg.slurm.cpus_per_task or cfg.grid.cpus_per_node


def output_pattern(log_path: str) -> str:
    """``--output``'s value for ``log_path``: sbatch expands ``%j``, ``%x``, ``%u``, ... in it
    (sbatch(1), "filename pattern"), so a state dir with a ``%`` in its path sent the log
    elsewhere -- a directory that does not exist fails the job (JobLaunchFailure). A backslash
    in the pattern turns the expansion off, and sbatch drops it."""
    if "%" not in log_path:
        return log_path
    head, sep, tail = log_path.rpartition("/")
    return f"{head}{sep}\\{tail}"


def sbatch_options(
    cfg: ExperimentConfig, pair: HardwarePair, run_id: str, log_path: str
) -> list[str]:
    """The sbatch options of one trial (every value one token: no shell involved)."""
    sl = cfg.slurm
    opts = [
        f"--job-name={run_id}",
        f"--nodes={pair.nodes}",
        "--ntasks-per-node=1",
        f"--cpus-per-task={cpus_per_task(cfg)}",
        f"--gres={gres_spec(cfg, pair)}",
        f"--time={time_limit_minutes(cfg)}",
        f"--output={output_pattern(log_path)}",
        "--open-mode=append",
        "--export=ALL",
    ]
    for key in ("partition", "account", "qos", "constraint"):
        value = getattr(sl, key)
        if value:
            opts.append(f"--{key}={value}")
    return opts + list(sl.extra_sbatch_args)


# -- sbatch --test-only once per pair per launch ---------------------------------------------
# ``launch`` (and the app's launch keys) ask ``sbatch --test-only`` for every pair before
# anything starts; each pair's sweep, started by the launch's supervisor, used to ask again with
# the same options (twice: its own check, then its runner's). A launch now passes the checks it
# made to its supervisor in this variable ("<sweep>=<key> ..."), the supervisor passes it to the
# pairs, and a sweep whose options give the same key skips the repeat. A sweep run by hand, a
# relaunch and a launch that made no check (none recorded in the process) still ask.
SLURM_CHECKED_ENV = "HWSCALE_SLURM_CHECKED"
# A check is for the launch right after it (the same command, or the same key press in the
# app); one older than this is made again by the sweep.
CHECK_FRESH_S = 600.0
_passed: dict[str, tuple[str, float]] = {}  # sweep -> (check key, time.monotonic() it passed)


def check_key(cfg: ExperimentConfig, pair: HardwarePair, env: Mapping[str, str]) -> str:
    """What ``sbatch --test-only`` and the partition time check of ``pair`` depend on: its
    options (the [slurm] keys, the time limit, the extra options), the cluster (``SLURM_CONF``)
    and the default partition (``SBATCH_PARTITION``), hashed."""
    asked = {
        "options": sbatch_options(cfg, pair, "hwscale-test-only", os.devnull),
        "env": {k: env.get(k) for k in ("SLURM_CONF", "SBATCH_PARTITION")},
    }
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()[:16]


def note_check_passed(sweep: str, key: str) -> None:
    """This process's ``sbatch --test-only`` took ``sweep``'s jobs (options hashed to ``key``)."""
    _passed[strip_generation(sweep)] = (key, time.monotonic())


def checked_env(sweeps: Iterable[str]) -> dict[str, str]:
    """The variable a launch starting ``sweeps`` gives its supervisor: the checks this process
    passed for them in the last CHECK_FRESH_S seconds, each used once (empty when none)."""
    now = time.monotonic()
    said = []
    for sweep in map(strip_generation, sweeps):  # a new generation's pairs: the same options
        key, at = _passed.pop(sweep, ("", -math.inf))
        if key and now - at <= CHECK_FRESH_S:
            said.append(f"{sweep}={key}")
    return {SLURM_CHECKED_ENV: " ".join(said)} if said else {}


def checked_by_launch(sweep: str, key: str, env: Mapping[str, str]) -> bool:
    """Did the launch that started this sweep check the same options already?"""
    return f"{strip_generation(sweep)}={key}" in env.get(SLURM_CHECKED_ENV, "").split()


# sbatch options that break how a trial is submitted or watched, which the experiment file's
# check (config.py, the options the dispatcher sets itself) lets through; refused by the launch
# check (``SlurmDispatcher.preflight``: launch, plan --check, sweep).
BREAKING_SBATCH_OPTIONS = {
    "--test-only": "makes sbatch submit nothing",
    "--quiet": "hides the job id that sbatch --parsable prints, so the job would run unwatched",
    "--wait": "makes sbatch wait until the job ends, which the runner takes for a controller "
    "that does not answer",
    "--array": "makes each trial several jobs that all run the same trial",
    "--clusters": "submits to another cluster, whose jobs this cluster's squeue does not show",
    "--hold": "submits every job held (priority 0), so no trial would ever start and the sweep "
    "would wait for ever",
    "--help": "makes sbatch print its help and submit nothing",
    "--usage": "makes sbatch print its usage and submit nothing",
    "--version": "makes sbatch print its version and submit nothing",
}
BREAKING_SHORT_OPTIONS = {
    "-Q": "--quiet",
    "-W": "--wait",
    "-a": "--array",
    "-M": "--clusters",
    "-H": "--hold",
    "-h": "--help",
    "-u": "--usage",
    "-V": "--version",
}


# Slurm's environment variables that point its commands at another cluster (sbatch(1), "INPUT
# ENVIRONMENT VARIABLES": "SBATCH_CLUSTERS or SLURM_CLUSTERS  Same as --clusters"; squeue(1),
# scancel(1), sinfo(1): "SLURM_CLUSTERS  Same as --clusters"). The dispatcher passes no
# --clusters, so a variable left set in the user's shell applies to every trial: SBATCH_CLUSTERS
# submits where squeue does not look, and SLURM_CLUSTERS points squeue and scancel at another
# cluster while sbatch (which runs without SLURM_* variables, sweep/slurm.py submit_env) submits
# here. (SBATCH_WAIT and SBATCH_ARRAY_INX, the other breaking ones, are dropped from sbatch's
# environment by the dispatcher itself.)
CLUSTER_ENV = ("SBATCH_CLUSTERS", "SLURM_CLUSTERS")


def sbatch_env_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why a variable of ``CLUSTER_ENV`` set in the environment would break every trial's
    submission or watching (one sentence), else None."""
    env = os.environ if env is None else env
    for name in CLUSTER_ENV:
        value = env.get(name)
        if value:
            return (
                f"{name}={value!r} is set in the environment, and Slurm's commands read it as "
                f"--clusters, which {BREAKING_SBATCH_OPTIONS['--clusters']} (the slurm "
                "dispatcher submits and watches the trials on this login node's cluster); "
                f"nothing was submitted; accepted: {name} unset for hwscale-tui (env -u {name} "
                "hwscale-tui ...), or hwscale-tui run on that cluster's login node"
            )
    return None


def extra_sbatch_args_problem(cfg: ExperimentConfig) -> str | None:
    """Why ``[slurm] extra_sbatch_args`` would break the trials' submission or watching (one
    sentence), else None: an option of ``BREAKING_SBATCH_OPTIONS``, or an abbreviation of one
    of those or of an option the dispatcher sets (sbatch, like getopt_long, reads an
    unambiguous prefix of a long option as that option: ``--part=gpu`` is ``--partition=gpu``).
    A variable of the environment that sets such an option (``sbatch_env_problem``) too."""
    from ..config import SLURM_OWNED_OPTIONS

    from_env = sbatch_env_problem()
    if from_env:
        return from_env

    accepted = (
        "accepted: other sbatch options, spelled out in full (like --mem=16G); partition, "
        "account, qos and constraint have their own [slurm] keys."
    )
    for i, tok in enumerate(cfg.slurm.extra_sbatch_args):
        where = f"slurm.extra_sbatch_args[{i}] {tok!r}"
        if tok.startswith("--"):
            name = tok.split("=", 1)[0]
        else:
            name = BREAKING_SHORT_OPTIONS.get(tok[:2], "")
        if name in BREAKING_SBATCH_OPTIONS:
            return f"{where} {BREAKING_SBATCH_OPTIONS[name]}; {accepted}"
        if len(name) > 2 and name not in SLURM_OWNED_OPTIONS:
            meant = [
                o for o in (*SLURM_OWNED_OPTIONS, *BREAKING_SBATCH_OPTIONS) if o.startswith(name)
            ]
            if meant:
                return (
                    f"{where} is an abbreviation sbatch reads as {' or '.join(meant)}, which "
                    f"the slurm dispatcher sets per trial or from a [slurm] key, or which breaks "
                    f"its trials; {accepted}"
                )
    return None


def sbatch_line(cfg: ExperimentConfig, pair: HardwarePair, runs_dir: Path) -> str:
    """The equivalent sbatch command of one of the pair's trials (for ``plan``), named as the
    experiment's newest generation names its trials (``<name>.g1n1.gen2_trial_...``)."""
    sweep = pair.sweep_name(cfg.name, cfg.generation)
    run_id = f"{sweep}_trial_NNNN_XXXXXX"
    opts = sbatch_options(cfg, pair, run_id, str(runs_dir / run_id / "trial.log"))
    return shlex.join(["sbatch", "--parsable", *opts, str(runs_dir / run_id / "job.sh")])


def mount_fstype(path: Path, mounts_file: Path = Path("/proc/mounts")) -> str | None:
    """The filesystem type of the mount that holds ``path`` (Linux), else None."""
    try:
        lines = mounts_file.read_text().splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best, fstype = "", None
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mnt = parts[1].replace("\\040", " ")
        inside = target == mnt or target.startswith(mnt.rstrip("/") + "/")
        if inside and len(mnt) >= len(best):
            best, fstype = mnt, parts[2]
    return fstype


SINFO_TIMEOUT_S = 5.0
# A failed sinfo is asked again after this long (a controller that was down answers later:
# the app, which plans often and lives long, kept its first failure for good).
SINFO_RETRY_S = 60.0
# SLURM_CONF -> ((hosts, why sinfo could not tell them), when asked) (plan runs often in the app)
_HOSTS_CACHE: dict[str, tuple[tuple[set[str] | None, str], float]] = {}


def cluster_hosts(env: dict[str, str] | None = None) -> set[str] | None:
    """The hostnames of the cluster's nodes (``sinfo``, asked once per process and
    ``SLURM_CONF`` when it answers, again after ``SINFO_RETRY_S`` when it did not), or None
    when it cannot be asked."""
    return _cluster_answer(env)[0]


def sinfo_problem(env: dict[str, str] | None = None) -> str:
    """Why ``cluster_hosts`` has no hosts: sinfo missing, timed out or failed (and how);
    ``""`` when it answered."""
    return _cluster_answer(env)[1]


def _cluster_answer(env: dict[str, str] | None) -> tuple[set[str] | None, str]:
    key = (env if env is not None else os.environ).get("SLURM_CONF", "")
    cached = _HOSTS_CACHE.get(key)
    now = time.monotonic()
    if cached is None or (cached[0][0] is None and now - cached[1] >= SINFO_RETRY_S):
        cached = _HOSTS_CACHE[key] = (_ask_cluster_hosts(env), now)
    return cached[0]


def _ask_cluster_hosts(env: dict[str, str] | None) -> tuple[set[str] | None, str]:
    if shutil.which("sinfo") is None:
        return None, "sinfo is not on PATH"
    conf = (env if env is not None else os.environ).get("SLURM_CONF")
    if conf and not os.path.isfile(conf):  # sinfo would retry reading it for 60 s
        return None, f"SLURM_CONF names {conf}, which is no file on this machine"
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%n"],
            capture_output=True,
            text=True,
            timeout=SINFO_TIMEOUT_S,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"sinfo did not answer within {SINFO_TIMEOUT_S:g} s"
    except OSError as e:
        return None, f"sinfo could not run: {e.strerror or e}"
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        said = f": {lines[-1].strip()[:200]}" if lines else ""
        return None, f"sinfo failed with exit code {out.returncode}{said}"
    hosts = {h.strip() for h in out.stdout.split() if h.strip()}
    return hosts, "" if hosts else "sinfo listed no nodes"


def shared_state_warning(
    state_dir: Path,
    hosts: set[str] | None,
    mounts_file: Path = Path("/proc/mounts"),
    why: str = "sinfo did not answer",
) -> str | None:
    """Why trial results might not come back through ``state_dir``, or None when they will.
    ``hosts``: the cluster's node hostnames, None when sinfo could not be asked; ``why``: why
    not (``sinfo_problem``)."""
    me = {socket.gethostname(), socket.gethostname().split(".")[0], "localhost"}
    if hosts and hosts <= me:
        return None  # every node is this machine
    fstype = mount_fstype(state_dir, mounts_file)
    if fstype is not None and (fstype in SHARED_FS_TYPES or fstype.startswith("fuse.")):
        return None
    where = f"a local {fstype} filesystem" if fstype else "a filesystem of unknown type"
    nodes = (
        "the cluster's nodes"
        if hosts
        else f"the cluster's nodes ({why or 'sinfo did not answer'}, so whether they are this "
        "machine is unknown)"
    )
    return (
        f"the state dir {state_dir} is on {where}, which {nodes} may not share: Slurm "
        "trials write their metrics there, so put HWSCALE_HOME on a shared filesystem "
        "(docs/slurm.md)"
    )


def leftover_slurm_jobs(store: Any, sweep: str) -> list[str]:
    """Job ids of the sweep's trials the store still has in flight (Slurm sweeps only)."""
    row = store.get_sweep(sweep)
    if not row or row.get("dispatcher") != "slurm":
        return []
    return [
        str(r["job_name"])
        for r in store.trial_rows([sweep])
        if r["state"] in ("queued", "running") and str(r["job_name"] or "").isdigit()
    ]
