"""A real Slurm cluster on this machine, for tests and benchmarks (docs/slurm.md, "Testing").

Debian/Ubuntu's Slurm (``slurmctld slurmd slurm-client munge``, installed with apt when missing)
with N nodes on one host: one ``slurmd -N nodeK`` per node, each on its own port, all with
``NodeAddr=127.0.0.1``; fake GPUs through GRES (``gres.conf`` ``File=`` entries must be
character devices, so they are ``mknod`` copies of /dev/null). Everything is private: its own
``SLURM_CONF`` (clients find it through that variable), state dir, free ports and munge
daemon with its own key and socket (``AuthInfo=socket=...``), so nothing of the system's is
read or changed. Daemons run in the foreground as our children and stop by PID.

Needs root: slurmd starts jobs as their user, and munged/slurmd check ownerships.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "sacct", "scancel", "sinfo", "munged")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def unavailable_reason() -> str | None:
    """Why a local cluster cannot start here (None: it can; missing packages get installed)."""
    if os.uname().sysname != "Linux":
        return "a local Slurm cluster needs Linux"
    if os.geteuid() != 0:
        return "a local Slurm cluster needs root (slurmd starts jobs as their user; munged and slurmd check ownerships)"
    missing = any(shutil.which(b, path=_sbin_path()) is None for b in BINARIES)
    if missing and shutil.which("apt-get") is None:
        return "Slurm is not installed and there is no apt-get to install " + " ".join(PACKAGES)
    return None


def _sbin_path() -> str:
    return os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


# Another apt-get on the machine (the tmux install scripts/test.sh starts, an unattended
# upgrade at boot) holds dpkg's lock for a while: wait for it instead of failing every Slurm test
# ("Could not get lock /var/lib/dpkg/lock-frontend", seen on a new machine, session 40).
APT_WAIT = ("-o", "DPkg::Lock::Timeout=600")


def install() -> None:
    """apt-get install the Slurm packages when a binary is missing."""
    if all(shutil.which(b, path=_sbin_path()) for b in BINARIES):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    policy = subprocess.run(
        ["apt-cache", "policy", "slurmctld"], capture_output=True, text=True, check=False
    )
    if "Candidate: (none)" in policy.stdout or "Candidate:" not in policy.stdout:
        subprocess.run(["apt-get", *APT_WAIT, "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", *APT_WAIT, "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


@dataclass
class LocalSlurmCluster:
    nodes: int = 2
    gpus_per_node: int = 2
    cpus_per_node: int = 4
    memory_mb: int = 4000
    gpu_type: str | None = "fake"  # nodes have typed GRES: both gpu:G and gpu:fake:G match
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hwscale-slurm-")))
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    @property
    def node_names(self) -> list[str]:
        return [f"node{i}" for i in range(1, self.nodes + 1)]

    def env(self) -> dict[str, str]:
        """What a client needs: ``SLURM_CONF``."""
        return {"SLURM_CONF": str(self.conf)}

    def _client_env(self) -> dict[str, str]:
        return {**os.environ, **self.env(), "PATH": _sbin_path()}

    # -- start --------------------------------------------------------------------------------
    def start(self) -> LocalSlurmCluster:
        install()
        os.chmod(self.root, 0o755)  # munged wants its socket's directory searchable by all
        for d in ("etc", "ctld", "log", "msock", "fakegpu", *(f"d{n}" for n in self.node_names)):
            (self.root / d).mkdir(mode=0o755, exist_ok=True)
        key_dir = self.root / "munge"
        key_dir.mkdir(mode=0o700, exist_ok=True)
        (key_dir / "munge.key").write_bytes(os.urandom(128))
        os.chmod(key_dir / "munge.key", 0o600)
        total = self.nodes * self.gpus_per_node
        for g in range(total):
            dev = self.root / "fakegpu" / f"nvidia{g}"
            if not dev.exists():
                os.mknod(
                    dev, 0o666 | 0o020000, os.makedev(1, 3)
                )  # a character device like /dev/null
        self._write_config()
        sock = self.root / "msock" / "munge.socket"
        self._spawn(
            [
                "munged",
                "-F",
                f"--socket={sock}",
                f"--key-file={key_dir / 'munge.key'}",
                f"--log-file={self.root / 'log' / 'munged.log'}",
                f"--pid-file={key_dir / 'munged.pid'}",
                f"--seed-file={key_dir / 'munged.seed'}",
            ],
            "munged",
        )
        self._wait(lambda: sock.exists(), "munged's socket")
        self._spawn(["slurmctld", "-D", "-i"], "slurmctld")
        for name in self.node_names:
            self._spawn(["slurmd", "-D", "-N", name], f"slurmd-{name}")
        self._wait(self._all_idle, f"{self.nodes} idle nodes in sinfo")
        return self

    def _spawn(self, argv: list[str], name: str) -> None:
        log = open(self.root / "log" / f"{name}.out", "ab")
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._client_env(),
                start_new_session=True,
            )
        finally:
            log.close()
        self.procs.append(proc)

    def _wait(self, predicate, what: str, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            # every daemon was started by _spawn, from a list[str] argv
            dead = [cast(list[str], p.args)[0] for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(
                    f.name + ": " + f.read_text(errors="replace")[-600:]
                    for f in sorted((self.root / "log").glob("*"))
                )
                self.stop()
                raise RuntimeError(
                    f"local Slurm cluster: no {what} ({'exited: ' + ', '.join(dead) if dead else 'timeout'})\n{logs}"
                )
            time.sleep(0.1)

    def _all_idle(self) -> bool:
        out = self.run(["sinfo", "-h", "-N", "-t", "idle", "-o", "%N"])
        return out.returncode == 0 and len(set(out.stdout.split())) == self.nodes

    def _write_config(self) -> None:
        host = socket.gethostname().split(".")[0]
        ctld_port, *node_ports = free_ports(1 + self.nodes)
        r = self.root
        gres = (
            f"gpu:{self.gpu_type}:{self.gpus_per_node}"
            if self.gpu_type
            else f"gpu:{self.gpus_per_node}"
        )
        lines = [
            "ClusterName=hwscale",
            f"SlurmctldHost={host}(127.0.0.1)",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={r / 'msock' / 'munge.socket'}",
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={node_ports[0]}",
            f"StateSaveLocation={r / 'ctld'}",
            f"SlurmdSpoolDir={r}/d%n",
            f"SlurmctldPidFile={r / 'log' / 'slurmctld.pid'}",
            f"SlurmdPidFile={r}/log/slurmd-%n.pid",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r}/log/slurmd-%n.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SwitchType=switch/none",
            "MpiDefault=none",
            "MailProg=/bin/true",
            "SlurmdParameters=config_overrides",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=1,bf_interval=1",
            "ReturnToService=2",
            "SlurmdTimeout=30",
            "InactiveLimit=0",
            "KillWait=5",
            "MinJobAge=600",
            "GresTypes=gpu",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={r / 'log' / 'jobcomp.txt'}",
        ]
        gres_lines = ["AutoDetect=off"]
        for i, (name, port) in enumerate(zip(self.node_names, node_ports)):
            lines.append(
                f"NodeName={name} NodeHostname={host} NodeAddr=127.0.0.1 Port={port} "
                f"CPUs={self.cpus_per_node} RealMemory={self.memory_mb} Gres={gres} State=UNKNOWN"
            )
            first, last = i * self.gpus_per_node, (i + 1) * self.gpus_per_node - 1
            devs = f"nvidia[{first}-{last}]" if last > first else f"nvidia{first}"
            typed = f"Type={self.gpu_type} " if self.gpu_type else ""
            gres_lines.append(f"NodeName={name} Name=gpu {typed}File={r / 'fakegpu'}/{devs}")
        lines.append(
            f"PartitionName=debug Nodes={','.join(self.node_names)} Default=YES MaxTime=INFINITE State=UP"
        )
        (r / "etc" / "slurm.conf").write_text("\n".join(lines) + "\n")
        (r / "etc" / "gres.conf").write_text("\n".join(gres_lines) + "\n")
        (r / "etc" / "cgroup.conf").write_text("#\n")

    # -- use ----------------------------------------------------------------------------------
    def occupy_every_node(self, seconds: int = 300) -> str:
        """Submit a job that takes every node and GPU for ``seconds`` (a trial submitted next
        waits "Resources" until it is cancelled); its job id."""
        job = self.run(
            [
                "sbatch",
                "--parsable",
                f"--nodes={self.nodes}",
                f"--gres=gpu:{self.gpus_per_node}",
                "--output=/dev/null",
                "--wrap",
                f"sleep {seconds}",
            ]
        )
        assert job.returncode == 0, job.stderr
        return job.stdout.strip()

    def run(self, argv: Sequence[str], timeout: float = 30.0) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            env=self._client_env(),
            timeout=timeout,
            check=False,
        )

    def job_ids(self, active_only: bool = True) -> list[str]:
        argv = ["squeue", "-h", "-o", "%i"] + ([] if active_only else ["-t", "all"])
        return self.run(argv).stdout.split()

    def cancel_all(self, timeout: float = 30.0) -> None:
        """scancel every job; wait (bounded) until the queue has no active job."""
        ids = self.job_ids()
        if ids:
            self.run(["scancel", *ids])
        deadline = time.monotonic() + timeout
        while self.job_ids() and time.monotonic() < deadline:
            time.sleep(0.1)

    # -- stop ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel every job (slurmstepd outlives slurmd), then stop the daemons by PID."""
        with contextlib.suppress(Exception):
            if any(p.poll() is None for p in self.procs):
                self.cancel_all()
        daemons = [p for p in reversed(self.procs) if p.poll() is None]
        for p in daemons:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for p in daemons:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        self.procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)
