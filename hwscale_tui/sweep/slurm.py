"""Slurm dispatcher: each trial is one batch job named by its run id (docs/slurm.md).

Submit: the trial's job script (``<run dir>/job.sh``, no secrets in it) with the pair's sbatch
options (``launch/slurm_options.py``); sbatch runs with the trial's environment and
``--export=ALL``, so variables -- ``WANDB_API_KEY`` included -- reach the job through the
environment only. The script starts one task per node with ``srun`` after setting the
rendezvous variables (``HWSCALE_MASTER_ADDR``: the address of the first node of the job).

Watch: one ``squeue`` call per poll for all of the sweep's jobs; the ones that left the active
states (or the queue) are then looked up with one ``sacct`` call (``sacct -c``, then
``scontrol show job``, when accounting is off) for their state and exit code. Results come back
through the trial's metrics file in the state dir, which the nodes must share, or from W&B.

Cancel: one ``scancel`` for the jobs, then a bounded wait until they left the active states.
Re-attach (a new runner after the old one died): by the job id recorded in the trial's row.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig
from ..errors import UsageError
from ..hardware import HardwarePair
from ..launch.commands import full_env
from ..launch.slurm_options import (
    SLURM_CHECKED_ENV,
    SLURM_CMD_TIMEOUT_S,
    check_key,
    checked_by_launch,
    extra_sbatch_args_problem,
    note_check_passed,
    sbatch_options,
    time_limit_minutes,
)
from ..paths import ensure_private_dir, write_private_text
from ..processes import SignalSafeEvent
from .dispatch import InFlightTrial, NotSubmitted, read_trial_final
from .local import last_log_line
from .outcome import TrialExit
from .skypilot import TrialResults, WandbTrialResults, in_daemon_thread
from .trial_command import TrialSpec

# Slurm job states (https://slurm.schedmd.com/squeue.html#SECTION_JOB-STATE-CODES) that end a
# job; any other state (PENDING, RUNNING, CONFIGURING, COMPLETING, SUSPENDED, REQUEUED, ...)
# means it is still in flight.
ENDED_STATES = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "OUT_OF_MEMORY",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
        "REVOKED",
    }
)
# Ended by the cluster, not by the trial: killed, and a new suggestion replaces it.
KILLED_STATES = frozenset({"CANCELLED", "NODE_FAIL", "PREEMPTED", "REVOKED"})
# Polls in a row a submitted job may be missing from squeue and sacct before it counts as lost.
MISSING_POLLS_ALLOWED = 3
SQUEUE_FORMAT = "%i|%T|%r|%N"
SACCT_FIELDS = "JobID,State,ExitCode,NodeList,ElapsedRaw"
# What srun and slurmstepd add to a job's output when its task fails ("srun: error: node1: task
# 0: Exited with exit code 3", "srun: launch/slurm: _step_signal: Terminating StepId=33.0",
# "slurmstepd: error: *** STEP 33.0 ON node1 CANCELLED ..."), in an order that varies with
# buffering: a failed trial's error quotes its own last line, not these (unless it wrote none).
SLURM_LOG_NOISE = ("srun: ", "slurmstepd: ")

JOB_SCRIPT = """#!/bin/bash
# hwscale-tui trial {run_id} (sweep {sweep}, pair {tag}): one task per node.
# Secrets reach this job through the environment (sbatch --export=ALL), never through this file.
HWSCALE_MASTER_HOST=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1)
HWSCALE_MASTER_ADDR=$(scontrol show node "$HWSCALE_MASTER_HOST" 2>/dev/null \\
  | sed -n 's/.*NodeAddr=\\([^ ]*\\).*/\\1/p' | head -n1)
export HWSCALE_MASTER_ADDR=${{HWSCALE_MASTER_ADDR:-$HWSCALE_MASTER_HOST}}
export HWSCALE_MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))
exec srun --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c {command}
"""


def job_script(spec: TrialSpec) -> str:
    return JOB_SCRIPT.format(
        run_id=spec.run_id,
        sweep=spec.sweep,
        tag=spec.pair.tag,
        command=shlex.quote(spec.remote_script),
    )


def parse_exit_code(text: str | None) -> tuple[int | None, int | None]:
    """Slurm's ``ExitCode`` ``code:signal`` (``3:0``, ``0:15``) -> (code, signal)."""
    m = re.fullmatch(r"\s*(\d+):(\d+)\s*", text or "")
    if not m:
        return None, None
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class JobInfo:
    """What Slurm says about one job."""

    job_id: str
    state: str  # the base state, e.g. PENDING, RUNNING, FAILED, CANCELLED
    reason: str | None = None  # squeue's reason (Resources, Priority, ...), None for "None"
    nodes: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    elapsed_s: float | None = None  # how long it ran (sacct ElapsedRaw, scontrol RunTime)


def _base_state(text: str) -> str:
    """``CANCELLED by 0`` / ``CANCELLED+`` -> ``CANCELLED``."""
    return text.split()[0].rstrip("+") if text.strip() else "UNKNOWN"


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return None if value in ("", "None", "(null)", "(None)") else value


class SlurmUnanswered(OSError):
    """A Slurm client command did not answer within its timeout (a stopped, overloaded or
    unreachable controller): an OSError, so every caller treats it like a failed command."""


# What Slurm's clients say when they could not talk to the controller (slurm_strerror of
# SLURMCTLD_COMMUNICATIONS_*, SLURM_COMMUNICATIONS_*, SLURM_PROTOCOL_SOCKET_IMPL_TIMEOUT, ...):
# the cluster's fault, never the job's options. sbatch says "Batch job submission failed:
# Unable to contact slurm controller (connect failure)", --test-only "allocation failure: ...".
CONTROLLER_UNREACHABLE = (
    "unable to contact slurm controller",
    "socket timed out on send/recv",
    "zero bytes were transmitted or received",
    "communication connection failure",
    "communication send failure",
    "communication receive failure",
    "backup controller in standby mode",
    "protocol authentication error",
)


# sbatch's last words when it has no slurm.conf (SLURM_CONF unset or wrong, none at the default
# path) and no DNS SRV record names a controller ("sbatch: fatal: Could not establish a
# configuration source", after "resolve_ctls_from_dns_srv: res_nsearch error: Unknown host"):
# no cluster was asked, so nothing was refused.
NO_CONFIGURATION = "could not establish a configuration source"


def controller_unreachable(message: str) -> bool:
    """Does a Slurm client's error say the controller could not be reached (not a refusal)?"""
    text = message.lower()
    return any(m in text for m in CONTROLLER_UNREACHABLE)


# sbatch refusals that say the cluster cannot take the job *now* (slurm_strerror texts of
# ESLURM_PARTITION_NOT_AVAIL, ESLURM_NODE_NOT_AVAIL, ESLURM_REQUESTED_PART_CONFIG_UNAVAILABLE,
# EAGAIN, ESLURM_ACCOUNTING_POLICY -- a submit limit clears as jobs end), not that the job's
# options are wrong: worth asking again. Any other refusal (an invalid partition, account, qos,
# gres or option) is taken as permanent and never retried.
TRANSIENT_REFUSALS = (
    "partition not available (inactive or drain)",
    "required node not available",
    "configuration not available now",
    "temporarily unable to accept job",
    "resource temporarily unavailable",
    "job violates accounting/qos policy",
)


# sinfo's long node states (%T, suffixes such as "*" taken off) in which a node takes no new
# job (sinfo(1), "NODE STATE CODES").
NODE_STATES_TAKING_NO_JOB = frozenset(
    {"drained", "draining", "down", "fail", "failing", "maint", "reserved", "inval", "future"}
)

# Of those, the ones that name the cluster's state and never the job's options: a launch check
# that gets one says the cluster cannot take jobs now, not that the settings are wrong (a QOS
# limit may be the settings', so it is left out).
CLUSTER_NOT_NOW = tuple(m for m in TRANSIENT_REFUSALS if "qos" not in m)


class SubmitNotNow(NotSubmitted):
    """sbatch did not answer, could not reach the controller, or the controller refused the job
    for now (``TRANSIENT_REFUSALS``): a later submit may work, so the trial is asked again
    after a backoff before it counts as not submitted.

    ``retry_in_s`` set: ``SlurmDispatcher.start`` wants the trial started again in that many
    seconds. The runner then keeps it waiting to submit -- polling its other trials meanwhile
    -- and calls ``start`` again once the time has come (it reads the attribute, so any
    dispatcher may ask for it). None: it was the last try, the trial was not submitted."""

    def __init__(self, message: str, retry_in_s: float | None = None):
        super().__init__(message)
        self.retry_in_s = retry_in_s


# How long a trial waits to be submitted again after a SubmitNotNow, as multiples of [slurm]
# poll_s: 5 s, 15 s and 45 s at the default 5 s (each at most SUBMIT_RETRY_MAX_S).
SUBMIT_RETRY_FACTORS = (1.0, 3.0, 9.0)
SUBMIT_RETRY_MAX_S = 300.0


class SlurmCLI:
    """The Slurm client commands, run without a shell (tests use the real ones too)."""

    def __init__(
        self, env: Mapping[str, str] | None = None, timeout_s: float = SLURM_CMD_TIMEOUT_S
    ):
        self.env = dict(os.environ if env is None else env)
        self.timeout_s = timeout_s

    def _run(
        self, argv: list[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        submit = argv[0] == "sbatch" and "--test-only" not in argv
        try:
            return subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                env=dict(env if env is not None else self.env),
                stdin=subprocess.DEVNULL,
                check=False,
                preexec_fn=_ignore_stop_signals if submit else None,
            )
        except subprocess.TimeoutExpired:
            raise SlurmUnanswered(f"{argv[0]} did not answer within {self.timeout_s:g} s") from None

    def submit(self, options: Sequence[str], script: Path, env: Mapping[str, str]) -> str:
        """sbatch; the job id. Raises NotSubmitted with sbatch's message when it refuses the
        job, did not answer or could not reach the controller: in the last two cases the job
        may still be created once the controller catches up, so it is scancelled by its name
        (the trial's unique run id) -- no job runs unwatched."""
        try:
            out = self._run(["sbatch", "--parsable", *options, str(script)], env=env)
        except SlurmUnanswered as e:
            names = [o.split("=", 1)[1] for o in options if o.startswith("--job-name=")]
            if names:
                with contextlib.suppress(OSError):
                    self._run(["scancel", f"--name={names[0]}"])
                raise SubmitNotNow(
                    f"{e}; scancel --name={names[0]} was sent in case it submitted the job late"
                ) from None
            raise SubmitNotNow(str(e)) from None
        if out.returncode != 0:
            # sbatch's reason, without its own "sbatch: error: Batch job submission failed:"
            # (quoted after "sbatch refused the job:" it read twice)
            said = _sbatch_reason(_first_line(out.stderr)) or f"exit {out.returncode}"
            if controller_unreachable(said):
                # the controller's fault, not the trial's: never a failure of its
                # hyperparameters (a "socket timed out" request may still have created it)
                self._cancel_by_name(options)
                raise SubmitNotNow(f"sbatch could not reach the Slurm controller: {said}")
            # Every trial of a pair has the same options, which sbatch --test-only took before
            # the first one: a refusal now is the cluster's state (a drained or inactive
            # partition, a submit limit), never the trial's hyperparameters -- not a failure
            # the optimizer should learn from or max_trials should count (3 in a row stop the
            # sweep with this reason). A refusal for now (a drained partition, a submit limit)
            # is asked again after a backoff first (SlurmDispatcher.start).
            if any(m in said.lower() for m in TRANSIENT_REFUSALS):
                raise SubmitNotNow(f"sbatch refused the job: {said}")
            raise NotSubmitted(f"sbatch refused the job: {said}")
        job_id = out.stdout.strip().split(";", 1)[0]
        if not job_id.isdigit():
            # sbatch exited 0, so it may have created a job it did not name: never unwatched
            self._cancel_by_name(options)
            raise OSError(f"sbatch printed no job id: {out.stdout.strip()!r}")
        return job_id

    def _cancel_by_name(self, options: Sequence[str]) -> None:
        """scancel --name=<the job's name>, best effort: for an sbatch that may have created a
        job without telling us its id."""
        names = [o.split("=", 1)[1] for o in options if o.startswith("--job-name=")]
        if names:
            with contextlib.suppress(OSError):
                self._run(["scancel", f"--name={names[0]}"])

    def test_only(self, options: Sequence[str], script: Path) -> str | None:
        """``sbatch --test-only``: None when Slurm would take the job, else its refusal.
        Raises OSError (SlurmUnanswered on a timeout) when sbatch did not reach the controller:
        that says nothing about the options."""
        out = self._run(["sbatch", "--test-only", *options, str(script)])
        if out.returncode == 0:
            return None
        said = _first_line(out.stderr) or f"exit {out.returncode}"
        if controller_unreachable(said):  # no answer about the options: not a refusal
            raise OSError(f"sbatch could not reach the Slurm controller ({said})")
        if NO_CONFIGURATION in (out.stderr or "").lower():  # no cluster to ask: not a refusal
            raise OSError(
                "sbatch found no Slurm configuration (no slurm.conf where SLURM_CONF or the "
                f"default path points, and no DNS SRV record of a controller: {said})"
            )
        return said

    def queue(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        """One squeue call: every given job the controller still knows, ended ones included."""
        if not job_ids:
            return {}
        out = self._run(["squeue", "-h", "-t", "all", "-j", ",".join(job_ids), "-o", SQUEUE_FORMAT])
        if out.returncode != 0:
            if "Invalid job id" in out.stderr:
                return {}  # none of them is known any more
            raise OSError(f"squeue failed: {_first_line(out.stderr) or out.returncode}")
        infos: dict[str, JobInfo] = {}
        for line in out.stdout.splitlines():
            parts = line.split("|")
            if len(parts) != 4:
                continue
            job_id, state, reason, nodes = parts
            infos[job_id] = JobInfo(job_id, _base_state(state), _clean(reason), _clean(nodes))
        return infos

    def finished(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        """State and exit code of ended jobs: sacct, else sacct -c (no accounting), else scontrol."""
        if not job_ids:
            return {}
        infos = self._sacct(job_ids, completion=False)
        if infos is None:
            infos = self._sacct(job_ids, completion=True) or {}
        for job_id in job_ids:
            if job_id not in infos or infos[job_id].signal is None:
                info = self._scontrol(job_id)
                if info is not None:
                    infos[job_id] = info
        return infos

    def _sacct(self, job_ids: Sequence[str], *, completion: bool) -> dict[str, JobInfo] | None:
        argv = ["sacct", "-X", "-n", "-P", "-j", ",".join(job_ids), "-o", SACCT_FIELDS]
        if completion:
            argv.insert(1, "-c")
        try:
            out = self._run(argv)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.returncode != 0:
            return None  # e.g. "Slurm accounting storage is disabled"
        infos: dict[str, JobInfo] = {}
        for line in out.stdout.splitlines():
            parts = line.split("|")
            if len(parts) != 5 or parts[0] not in job_ids:
                continue
            code, sig = parse_exit_code(parts[2])
            elapsed = float(parts[4]) if parts[4].strip().isdigit() else None
            infos[parts[0]] = JobInfo(
                parts[0], _base_state(parts[1]), None, _clean(parts[3]), code, sig, elapsed
            )
        return infos

    def node_shapes(self, partition: str | None) -> tuple[list[str], bool]:
        """What the partition's nodes have, one entry per kind (``2 nodes with 4 CPUs, 4000 MB,
        gres gpu:fake:2``, with ``(drained)`` for nodes in a state that takes no new job) from
        ``sinfo``, and whether every node is in such a state (Slurm then refuses any request
        with "Requested node configuration is not available"); empty when it cannot be asked."""
        argv = ["sinfo", "-h", "-o", "%D|%c|%m|%G|%T"] + (["-p", partition] if partition else [])
        try:
            out = self._run(argv)
        except OSError:
            return [], False
        if out.returncode != 0:
            return [], False
        shapes = []
        unavailable = seen = 0
        for line in out.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) != 5:
                continue
            count, cpus, mem, gres, state = parts
            seen += 1
            base = state.strip().lower().rstrip("*~#!%$@^-+")
            taking_none = base in NODE_STATES_TAKING_NO_JOB
            unavailable += taking_none
            node = "node" if count == "1" else "nodes"
            gres = "no GPUs (gres none)" if gres in ("", "(null)") else f"gres {gres}"
            shape = f"{count} {node} with {cpus} CPUs, {mem} MB, {gres}"
            shape += f" ({base})" if taking_none else ""
            if shape not in shapes:
                shapes.append(shape)
        return shapes[:4], seen > 0 and unavailable == seen

    def job_name(self, job_id: str) -> str | None:
        """The job's name (``squeue``, else ``scontrol show job``), None when neither knows."""
        try:
            out = self._run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%i|%j"])
            for line in out.stdout.splitlines() if out.returncode == 0 else []:
                found, _, name = line.strip().partition("|")
                if found == job_id:
                    return name
            out = self._run(["scontrol", "-o", "show", "job", job_id])
        except OSError:
            return None
        m = re.search(r"(?:^|\s)JobName=(\S*)", out.stdout) if out.returncode == 0 else None
        return m.group(1) if m else None

    def partitions_and_features(self) -> tuple[list[str], list[str]]:
        """The cluster's partitions (the default one marked ``(default)``) and its nodes'
        features, from one ``sinfo``; empty lists when it cannot be asked."""
        try:
            out = self._run(["sinfo", "-h", "-o", "%P|%f"])
        except OSError:
            return [], []
        if out.returncode != 0:
            return [], []
        partitions: list[str] = []
        features: list[str] = []
        for line in out.stdout.splitlines():
            name, _, feats = line.strip().partition("|")
            name = name[:-1] + " (default)" if name.endswith("*") else name
            if name and name not in partitions:
                partitions.append(name)
            for f in feats.split(","):
                if _clean(f) and f not in features:
                    features.append(f)
        return partitions, features

    def partition_max_minutes(self) -> tuple[dict[str, float | None], str | None] | None:
        """Each partition's ``MaxTime`` in minutes (None: unlimited) and the default
        partition's name, from ``scontrol -o show partition``; None when it cannot be asked."""
        try:
            out = self._run(["scontrol", "-o", "show", "partition"])
        except OSError:
            return None
        if out.returncode != 0:
            return None
        limits: dict[str, float | None] = {}
        default = None
        for line in out.stdout.splitlines():
            fields = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
            name = fields.get("PartitionName")
            if not name:
                continue
            limits[name] = slurm_minutes(fields.get("MaxTime", "UNLIMITED"))
            if fields.get("Default") == "YES":
                default = name
        return limits, default

    def _scontrol(self, job_id: str) -> JobInfo | None:
        try:
            out = self._run(["scontrol", "-o", "show", "job", job_id])
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.returncode != 0:
            return None
        fields = dict(
            tok.split("=", 1)
            for tok in out.stdout.split()
            if "=" in tok and not tok.startswith("=")
        )
        if "JobState" not in fields:
            return None
        code, sig = parse_exit_code(fields.get("ExitCode"))
        run_minutes = slurm_minutes(fields.get("RunTime", ""))
        return JobInfo(
            job_id,
            _base_state(fields["JobState"]),
            _clean(fields.get("Reason")),
            _clean(fields.get("NodeList")),
            code,
            sig,
            None if run_minutes is None else round(run_minutes * 60.0, 3),
        )

    def cancel(self, job_ids: Sequence[str]) -> None:
        """scancel; raises OSError when it fails (it exits 0 for jobs that already ended)."""
        if job_ids:
            out = self._run(["scancel", *job_ids])
            if out.returncode != 0:
                raise OSError(f"scancel failed: {_first_line(out.stderr) or out.returncode}")


def _ignore_stop_signals() -> None:
    """In a submitting sbatch, before exec: SIGTERM, SIGINT and SIGHUP ignored. A sweep's stop
    (cancel's SIGTERM to the runner's process group, ctrl+c in a terminal) reached sbatch too,
    and one killed after its request reached a slow controller left a job that ran with no one
    told its id, its trial recorded "not submitted: sbatch refused the job: exit -15". sbatch
    now finishes (within its timeout) and the runner, stopping, scancels the job by its id."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


def _say_on_stderr(line: str) -> None:
    """A line of the sweep's own output (the pair's log under a launch)."""
    print(line, file=sys.stderr, flush=True)


def slurm_minutes(text: str) -> float | None:
    """A Slurm duration as scontrol prints it (``UNLIMITED``, ``MM:SS``, ``HH:MM:SS``,
    ``D-HH:MM:SS``, plain minutes) in minutes; None for unlimited or unreadable."""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if not m:
        return None  # UNLIMITED, INFINITE, NONE
    days, a, b, c = (int(g) if g else None for g in m.groups())
    if c is not None:  # [D-]HH:MM:SS
        hours, minutes, seconds = a or 0, b or 0, c
    elif days is not None:  # D-HH[:MM]
        hours, minutes, seconds = a or 0, b or 0, 0
    elif b is not None:  # MM:SS
        hours, minutes, seconds = 0, a or 0, b
    else:  # MM
        hours, minutes, seconds = 0, a or 0, 0
    return (days or 0) * 1440 + hours * 60 + minutes + seconds / 60.0


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[0] if lines else ""


_SBATCH_PREFIXES = ("sbatch: error:", "batch job submission failed:")


def _sbatch_reason(line: str) -> str:
    """An sbatch error line without the prefixes sbatch puts before its reason
    (``sbatch: error: Batch job submission failed: Required partition not available ...`` ->
    ``Required partition not available ...``); a line without them is kept as it is."""
    for prefix in _SBATCH_PREFIXES:
        if line.lower().startswith(prefix) and line[len(prefix) :].strip():
            line = line[len(prefix) :].strip()
    return line


@dataclass(frozen=True)
class Snapshot:
    """One look at the cluster: squeue for the asked jobs, sacct for those that ended, and the
    W&B results of completed jobs whose metrics file has no final line."""

    asked: tuple[str, ...]
    queued: dict[str, JobInfo]
    details: dict[str, JobInfo]
    finals: dict[str, dict[str, Any] | None]


@dataclass
class SlurmJob:
    job_id: str
    state: str = "SUBMITTED"
    reason: str | None = None
    nodes: str | None = None
    missing_polls: int = 0


# sbatch input variables that would break every submit as the options of the same name do
# (launch/slurm_options.py, BREAKING_SBATCH_OPTIONS): --wait, --array.
BREAKING_SBATCH_ENV = frozenset({"SBATCH_WAIT", "SBATCH_ARRAY_INX"})


def sbatch_input_variables(env: Mapping[str, str], options: Sequence[str] = ()) -> str:
    """The ``SBATCH_*`` input variables of ``env`` sbatch reads as options (sbatch(1), "INPUT
    ENVIRONMENT VARIABLES"), as ``NAME=value`` for a message (``""`` when none). Left out:
    those the runner drops (``BREAKING_SBATCH_ENV``), and those an option of ``options``
    overrides (``SBATCH_PARTITION`` with ``--partition=...``; command-line options win)."""
    given = {o.split("=", 1)[0] for o in options if o.startswith("--")}
    found = []
    for k, v in sorted(env.items()):
        if not k.startswith("SBATCH_") or k in BREAKING_SBATCH_ENV:
            continue
        option = "--time" if k == "SBATCH_TIMELIMIT" else "--" + k[7:].lower().replace("_", "-")
        if option not in given:
            found.append(f"{k}={v if len(v) <= 60 else v[:57] + '...'}")
    return " ".join(found)


def submit_env(spec_env: Mapping[str, str]) -> dict[str, str]:
    """sbatch's environment: ours plus the trial's. ``SLURM_*`` variables (set when the runner
    itself runs inside a Slurm job) would describe that job, not this one: dropped, except
    ``SLURM_CONF``. ``SBATCH_*`` input variables are the user's and stay, except
    ``SBATCH_WAIT`` and ``SBATCH_ARRAY_INX`` (sbatch would wait for each job to end, read as a
    controller that does not answer, or run each trial several times)."""
    return {
        k: v
        for k, v in full_env(spec_env).items()
        if (not k.startswith("SLURM_") or k == "SLURM_CONF")
        and k not in BREAKING_SBATCH_ENV
        and k != SLURM_CHECKED_ENV  # the launch's note to its sweeps, nothing of the job's
    }


class SlurmDispatcher:
    """Submits, watches and cancels one sweep's Slurm jobs."""

    kind = "slurm"
    job_label = "slurm_job"

    def __init__(
        self,
        cfg: ExperimentConfig,
        sweep: str,
        *,
        cli: SlurmCLI | None = None,
        results: TrialResults | None = None,
        poll_interval_s: float | None = None,
        submit_retry_delays_s: Sequence[float] | None = None,
        say: Callable[[str], None] | None = None,
    ):
        self.cfg = cfg
        self.sweep = sweep
        self.cli = cli or SlurmCLI()
        if results is None and cfg.wandb.mode == "online":
            results = WandbTrialResults(cfg.wandb.entity, cfg.wandb.effective_project)
        self.results = results
        self.poll_interval_s = cfg.slurm.poll_s if poll_interval_s is None else poll_interval_s
        # a submit the cluster cannot take now (SubmitNotNow) is asked again after each delay
        self.submit_retry_delays_s = tuple(
            (min(f * self.poll_interval_s, SUBMIT_RETRY_MAX_S) for f in SUBMIT_RETRY_FACTORS)
            if submit_retry_delays_s is None
            else submit_retry_delays_s
        )
        # set by interrupt() (the sweep's stop signals): no further sbatch is run
        self._stop = SignalSafeEvent()
        self._asked: dict[str, int] = {}  # run id -> sbatch calls so far for a retried submit
        self._say = say or _say_on_stderr
        self._last_poll = -float("inf")
        self._query: Future[Snapshot] | None = None
        self.snapshots_seen = 0  # queries whose answer poll() has used (tests wait on it)

    # -- checks before anything is submitted ------------------------------------------------------
    def preflight(self, pair: HardwarePair, runs_dir: Path) -> None:
        """Refuse (UsageError) when an extra sbatch option would break the trials, sbatch is
        missing, or Slurm would reject the pair's jobs."""
        problem = extra_sbatch_args_problem(self.cfg)
        if problem:
            raise UsageError(problem)
        if shutil.which("sbatch", path=self.cli.env.get("PATH")) is None:
            raise UsageError(
                "the slurm dispatcher needs the Slurm client commands (sbatch, squeue, sacct, "
                "scancel) on PATH, and sbatch is not there; accepted: run on a Slurm login node, "
                'or dispatcher = "local" / "skypilot".'
            )
        conf = self.cli.env.get("SLURM_CONF")
        if conf and not os.path.isfile(conf):
            # sbatch retries reading it for 60 s ("s_p_parse_file: cannot stat file ...,
            # retrying in 1sec up to 60sec"): the check said "sbatch did not answer within 20 s"
            # and sent the user to the controller
            raise UsageError(
                f"SLURM_CONF names {conf}, which is no file on this machine, so every Slurm "
                "command would wait up to 60 s retrying to read it; nothing was submitted; "
                "accepted: the path of the cluster's slurm.conf, or SLURM_CONF unset."
            )
        key = check_key(self.cfg, pair, self.cli.env)
        if checked_by_launch(self.sweep, key, self.cli.env):
            return  # the launch that started this sweep asked with the same options
        ensure_private_dir(runs_dir)
        probe = runs_dir / f".{pair.sweep_name(self.cfg.name)}.test-only.sh"
        write_private_text(probe, "#!/bin/bash\ntrue\n")
        try:
            opts = sbatch_options(self.cfg, pair, "hwscale-test-only", os.devnull)
            refusal = self.cli.test_only(opts, probe)
        except OSError as e:  # sbatch missing a library, or no answer from the controller
            raise UsageError(
                f"cannot check the {pair.tag} trials with sbatch --test-only: {e}; nothing was "
                "submitted; accepted: a Slurm controller that answers (scontrol ping), then "
                "launch again."
            ) from None
        finally:
            probe.unlink(missing_ok=True)
        if refusal and any(m in refusal.lower() for m in CLUSTER_NOT_NOW):
            # the cluster's state for now (a partition drained for maintenance): the settings
            # are not what is wrong, and the sweep itself asks sbatch again on this refusal
            raise UsageError(
                f"Slurm cannot take the {pair.tag} trials now ({refusal}): that is the "
                "cluster's state (a drained or inactive partition, nodes down, drained or "
                "reserved), not the [slurm] settings; nothing was submitted; accepted: launch "
                "again once sinfo shows the partition up with nodes that take jobs."
            )
        if refusal and "node configuration is not available" in refusal:
            # Slurm does not say which request no node meets: show the request and the nodes
            shapes, none_takes_jobs = self.cli.node_shapes(self.cfg.slurm.partition)
            asked = " ".join(
                o for o in opts if o.startswith(("--nodes=", "--cpus-per-task=", "--gres="))
            )
            extra = " ".join(self.cfg.slurm.extra_sbatch_args)
            refusal += f"; asked per job: {asked}" + (f" {extra}" if extra else "")
            if shapes:
                refusal += f"; the nodes have: {'; '.join(shapes)}"
            if none_takes_jobs:
                # every node drained (maintenance) or down: Slurm says this of any request, so
                # the settings are not shown to be wrong (it blamed them, the nodes' shapes
                # fitting the request)
                raise UsageError(
                    f"Slurm cannot take the {pair.tag} trials now ({refusal}): every node of "
                    "the partition is drained, down or reserved, which is the cluster's state, "
                    "not the [slurm] settings; nothing was submitted; accepted: launch again "
                    "once sinfo shows nodes that take jobs (with what a job asks)."
                )
        if refusal and ("invalid partition" in refusal.lower() or "feature" in refusal.lower()):
            # name what the cluster has, so a typo shows without another command
            partitions, features = self.cli.partitions_and_features()
            if "partition" in refusal.lower() and partitions:
                refusal += f"; the cluster's partitions: {', '.join(partitions[:20])}"
            elif "feature" in refusal.lower():
                refusal += f"; the nodes' features: {', '.join(features[:20]) or 'none'}"
        if refusal:
            # sbatch reads SBATCH_* input variables as options (SBATCH_PARTITION=gpu is
            # --partition=gpu): one set in the user's shell was in the refusal unnamed, and the
            # sentence pointed only at the experiment's settings
            from_env = sbatch_input_variables(self.cli.env, opts)
            raise UsageError(
                f"Slurm would refuse the {pair.tag} trials ({refusal})"
                + (f"; sbatch also took {from_env} from the environment" if from_env else "")
                + "; accepted: [slurm] partition, account, qos, constraint, gpu_type, "
                "cpus_per_task and extra_sbatch_args the cluster takes (see sinfo), and gpus "
                "per node it has"
                + (" (and SBATCH_* variables it takes, or unset them)" if from_env else "")
                + "."
            )
        self._check_partition_time(pair)
        note_check_passed(self.sweep, key)  # for the launch this check is made for

    def _check_partition_time(self, pair: HardwarePair) -> None:
        """sbatch --test-only takes a job whose --time is above its partition's MaxTime (with
        the default EnforcePartLimits=NO it is accepted, then pends for ever with the reason
        PartitionTimeLimit): refuse it here. A QOS may lift the partition's limit, so a set
        ``[slurm] qos`` skips the check; so does a partition list none of whose limits is known."""
        if self.cfg.slurm.qos:
            return
        answer = self.cli.partition_max_minutes()
        if answer is None:
            return
        limits, default = answer
        wanted = self.cfg.slurm.partition or self.cli.env.get("SBATCH_PARTITION") or default
        names = [p for p in (wanted or "").split(",") if p in limits]
        limit = time_limit_minutes(self.cfg)
        too_short: dict[str, float] = {}
        for p in names:
            most = limits[p]
            if most is not None and most < limit:
                too_short[p] = most
        if not names or len(too_short) < len(names):
            return  # a partition that takes it (or none we know)
        longest = max(too_short.values())
        where = ", ".join(f"{p} ({v:g} min)" for p, v in too_short.items())
        raise UsageError(
            f"the {pair.tag} trials' time limit of {limit} min (slurm.time_limit_factor "
            f"{self.cfg.slurm.time_limit_factor:g} x sweep.max_suggestion_cost "
            f"{self.cfg.sweep.max_suggestion_cost:g} s, in whole minutes) is above the MaxTime "
            f"of partition {where}, so Slurm would keep every job pending "
            f"(PartitionTimeLimit); nothing was submitted; accepted: a time_limit_factor or "
            f"max_suggestion_cost that gives at most {longest:g} min, or a partition whose "
            f"MaxTime is at least {limit} min (scontrol show partition)."
        )

    # -- the Dispatcher protocol ------------------------------------------------------------------
    def start(self, spec: TrialSpec) -> tuple[SlurmJob, dict[str, Any]]:
        ensure_private_dir(spec.run_dir)
        script = spec.run_dir / "job.sh"
        write_private_text(script, job_script(spec))
        os.chmod(script, 0o700)
        opts = sbatch_options(self.cfg, spec.pair, spec.run_id, str(spec.log_path))
        job_id = self._submit(spec.run_id, opts, script, submit_env(spec.remote_env))
        self._last_poll = -float("inf")  # ask about it at the next query
        return SlurmJob(job_id), {"job_name": job_id}

    def interrupt(self) -> None:
        """The sweep is stopping (safe from a signal handler): no further sbatch is run, so a
        trial waiting to be submitted again stays unsubmitted."""
        self._stop.set()

    def _submit(
        self, run_id: str, opts: Sequence[str], script: Path, env: Mapping[str, str]
    ) -> str:
        """sbatch, once. While the cluster cannot take the job now (SubmitNotNow: no answer, no
        controller, a drained partition) the trial is asked again after each of
        ``submit_retry_delays_s``: this raises SubmitNotNow with ``retry_in_s``, and the runner
        calls ``start`` again when that time has come, polling its other trials meanwhile (a
        wait here held up the whole sweep). Three refusals in a row, each within a second,
        ended the sweep while a controller restarted. After the last retry SubmitNotNow is
        raised without ``retry_in_s``; a permanent refusal (NotSubmitted) at once."""
        if self._stop.is_set():
            self._asked.pop(run_id, None)
            raise NotSubmitted("the sweep is stopping, so sbatch was not asked")
        delays = self.submit_retry_delays_s
        attempt = self._asked.pop(run_id, 0)
        try:
            return self.cli.submit(opts, script, env)
        except SubmitNotNow as e:
            if attempt >= len(delays):
                apart = ", ".join(f"{d:g}" for d in delays)
                raise SubmitNotNow(
                    f"{e} (asked {attempt + 1} times, {apart} s apart)" if delays else str(e)
                ) from None
            self._asked[run_id] = attempt + 1
            delay = delays[attempt]
            self._say(
                f"{time.strftime('%H:%M:%S')} sbatch     {run_id} {e}; asking again in "
                f"{delay:g} s (retry {attempt + 1} of {len(delays)})"
            )
            raise SubmitNotNow(str(e), retry_in_s=delay) from None

    def attach(self, row: Mapping[str, Any]) -> SlurmJob | None:
        """A handle for a recorded job Slurm still knows (running or ended), else None. When
        Slurm cannot be asked now, the job is still re-attached: the polls settle it once the
        controller answers (a job it never heard of settles from what it left after a few
        polls), rather than re-starting a trial whose job may still run."""
        job_id = str(row.get("job_name") or "")
        if not job_id.isdigit():
            return None
        try:
            info = self.cli.queue([job_id]).get(job_id) or self.cli.finished([job_id]).get(job_id)
        except OSError:
            return SlurmJob(job_id, "UNKNOWN")
        if info is None:
            return None
        run_id = str(row.get("run_id") or "")
        name = self.cli.job_name(job_id) if run_id else None
        if name is not None and name != run_id:
            # job ids start again after the controller lost its state (a reinstalled or
            # rebuilt cluster): this id is someone else's job now, never ours to watch
            return None
        return SlurmJob(job_id, info.state, info.reason, info.nodes)

    def poll(self, trials: Sequence[InFlightTrial]) -> dict[str, TrialExit]:
        """Exits seen by the last finished query; starts the next one when due. Queries
        (squeue, sacct, W&B reads) run in a daemon thread, so a slow controller never holds up
        the runner or a stop; one that fails is simply asked again."""
        jobs = {t.handle.job_id: t for t in trials}
        snapshot = self._snapshot(jobs)
        if snapshot is None:
            return {}
        self.snapshots_seen += 1
        exits: dict[str, TrialExit] = {}
        for job_id in snapshot.asked:
            trial = jobs.get(job_id)
            if trial is None:
                continue  # settled meanwhile
            job: SlurmJob = trial.handle
            info = snapshot.queued.get(job_id)
            if info is not None and info.state not in ENDED_STATES:
                job.missing_polls = 0
                job.state, job.reason, job.nodes = info.state, info.reason, info.nodes
                if info.state == "PENDING":
                    trial.waiting = f"waiting: {info.reason or 'in the queue'}"
                else:
                    trial.waiting = None
                    trial.where = f"{info.state.lower()} on {info.nodes}" if info.nodes else None
                continue
            info = _ended_info(snapshot.details.get(job_id), info)
            if info is None or info.state not in ENDED_STATES:
                job.missing_polls += 1
                if job.missing_polls > MISSING_POLLS_ALLOWED:
                    exits[trial.run_id] = TrialExit(
                        None,
                        f"Slurm job {job_id} is in neither squeue nor sacct any more",
                        read_trial_final(trial.metrics_path)[0],  # what it left decides
                    )
                continue
            trial.waiting = None
            exit = self._exit(trial, info, snapshot.finals.get(job_id))
            if info.elapsed_s is not None:  # Slurm's own measure: no queue time, no poll lag
                exit = dataclasses.replace(exit, runtime_s=info.elapsed_s)
            exits[trial.run_id] = exit
        return exits

    def _snapshot(self, jobs: Mapping[str, InFlightTrial]) -> Snapshot | None:
        snapshot = None
        if self._query is not None and self._query.done():
            query, self._query = self._query, None
            snapshot = query.result() if query.exception() is None else None
        now = time.monotonic()
        if self._query is None and jobs and now - self._last_poll >= self.poll_interval_s:
            self._last_poll = now
            asked = {i: (t.run_id, t.metrics_path) for i, t in jobs.items()}
            self._query = in_daemon_thread(self._ask, asked)
        return snapshot

    def _ask(self, asked: Mapping[str, tuple[str, Path]]) -> Snapshot:
        """One squeue for every job, one sacct for those that ended, W&B for results."""
        ids = list(asked)
        queued = self.cli.queue(ids)
        ended = [i for i in ids if i not in queued or queued[i].state in ENDED_STATES]
        details = self.cli.finished(ended) if ended else {}
        finals: dict[str, dict[str, Any] | None] = {}
        for job_id in ended:
            info = _ended_info(details.get(job_id), queued.get(job_id))
            run_id, metrics = asked[job_id]
            completed = info is not None and info.state == "COMPLETED"
            if completed and self.results is not None and read_trial_final(metrics)[0] is None:
                finals[job_id] = self.results.final(run_id)
        return Snapshot(tuple(ids), queued, details, finals)

    def _exit(
        self, trial: InFlightTrial, info: JobInfo, remote_final: dict[str, Any] | None = None
    ) -> TrialExit:
        job = f"Slurm job {info.job_id}"
        state = info.state
        final, problem = read_trial_final(trial.metrics_path)
        final = final or remote_final
        if state == "COMPLETED":
            if final is None and self.results is None and not trial.metrics_path.exists():
                # the usual cause on a real cluster: the nodes wrote it to a disk of their own
                # (with W&B online, results come from W&B and the file need not be here)
                return TrialExit(
                    None,
                    f"{job} COMPLETED but left no metrics file at {trial.metrics_path}: the "
                    "trial wrote none, or the nodes do not share the state dir with this "
                    "machine (HWSCALE_HOME must be on a filesystem every node mounts, "
                    "docs/slurm.md)",
                )
            return TrialExit(  # a metrics file that is no file says so (it said "no final line")
                0,
                None if final else f"{job} COMPLETED without a final sweep/score",
                final,
                metrics_problem=None if final else problem,
            )
        if state in KILLED_STATES:
            return TrialExit(143, f"{job} {state}" + self._on(info), final, killed=True)
        if state == "FAILED":
            code = info.exit_code
            if info.signal:
                code = -info.signal
            elif not code:
                code = 1
            last = last_log_line(trial.log_path, SLURM_LOG_NOISE)
            return TrialExit(code, f"{job} FAILED{self._on(info)}" + (f"; {last}" if last else ""))
        if state == "TIMEOUT":
            limit = time_limit_minutes(self.cfg)
            reason = (
                f"{job} TIMEOUT: it ran past its {limit} min limit (slurm.time_limit_factor x "
                "sweep.max_suggestion_cost)"
            )
            return TrialExit(None, reason)
        if state == "OUT_OF_MEMORY":
            return TrialExit(
                None, f"{job} OUT_OF_MEMORY{self._on(info)}: raise --mem in slurm.extra_sbatch_args"
            )
        return TrialExit(None, f"{job} {state}{self._on(info)}")

    @staticmethod
    def _on(info: JobInfo) -> str:
        return f" on {info.nodes}" if info.nodes else ""

    def cancel(self, trials: Sequence[InFlightTrial], grace_s: float) -> set[str]:
        """scancel the jobs; wait at most ``grace_s`` in all for them to leave the active
        states. scancel and squeue run in daemon threads, so a controller that does not answer
        never holds the stop past ``grace_s`` (the runner would be SIGKILLed with its trials
        unrecorded). An scancel whose request already reached the controller's socket takes
        effect when the controller answers again; the supervisor stops the runner's whole
        process tree, so one that had not connected yet is stopped with it."""
        ids = [t.handle.job_id for t in trials]
        every = {t.run_id for t in trials}
        if not ids:
            return set()
        deadline = time.monotonic() + grace_s
        if not _answered(in_daemon_thread(self.cli.cancel, ids), deadline):
            return every  # scancel failed or got no answer: the jobs may run on
        # scancel was taken: the jobs end (the wait only lets them go before the runner does)
        while time.monotonic() < deadline:
            queued = _answered(in_daemon_thread(self.cli.queue, ids), deadline)
            if queued is None:
                break
            if all(i.state in ENDED_STATES for i in queued.result().values()):
                break
            time.sleep(0.1)
        return set()


def _ended_info(detail: JobInfo | None, queued: JobInfo | None) -> JobInfo | None:
    """What settles a job that left squeue's active states: sacct's (or scontrol's) answer,
    with its exit code, when it says the job ended; else squeue's own ended state. slurmdbd
    records an end after the controller (under load, seconds to minutes later), so sacct may
    still say RUNNING for a job squeue shows CANCELLED: taken over squeue's, it made the job
    count as missing and settle as failed after 3 polls (a job scancelled by hand was recorded
    failed, not killed)."""
    if detail is not None and (detail.state in ENDED_STATES or queued is None):
        return detail
    return queued or detail


def _answered(future: Future, deadline: float) -> Future | None:
    """``future`` once it finished without an error before ``deadline``, else None."""
    while not future.done() and time.monotonic() < deadline:
        time.sleep(0.02)
    return future if future.done() and future.exception() is None else None
