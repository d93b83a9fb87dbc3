"""Where hwscale-tui keeps its files (docs/architecture.md, Contracts: state location).

platformdirs' per-user directories for the app name ``hwscale-tui``, or -- when ``$HWSCALE_HOME``
is set -- ``config/``, ``data/``, ``state/`` and ``logs/`` beneath it. Directories are created
0700 on first use; files we create are 0600.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "hwscale-tui"
STORE_FILENAME = "hwscale.sqlite"
DEFAULT_EXPERIMENT_FILENAME = "experiment.toml"


@dataclass(frozen=True)
class AppPaths:
    config: Path
    data: Path
    state: Path
    logs: Path

    @property
    def store(self) -> Path:
        """The SQLite store (trials, history, launches)."""
        return self.data / STORE_FILENAME

    @property
    def default_experiment(self) -> Path:
        """The experiment file the app and CLI use when none is given."""
        return self.config / DEFAULT_EXPERIMENT_FILENAME

    @property
    def runs(self) -> Path:
        """Per-trial run directories (metrics files, trial logs)."""
        return self.state / "runs"

    def ensure(self) -> AppPaths:
        for d in (self.config, self.data, self.state, self.logs):
            ensure_private_dir(d)
        return self


def app_paths(env: Mapping[str, str] | None = None) -> AppPaths:
    """Resolve the four directories; nothing is created until ``ensure()``."""
    env = os.environ if env is None else env
    home = env.get("HWSCALE_HOME")
    if home:
        base = Path(home).expanduser()
        return AppPaths(base / "config", base / "data", base / "state", base / "logs")
    import platformdirs

    return AppPaths(
        config=platformdirs.user_config_path(APP_NAME, appauthor=False),
        data=platformdirs.user_data_path(APP_NAME, appauthor=False),
        state=platformdirs.user_state_path(APP_NAME, appauthor=False),
        logs=platformdirs.user_log_path(APP_NAME, appauthor=False),
    )


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents with mode 0700; return it."""
    path = Path(path)
    if not path.is_dir():
        missing = [path, *(p for p in path.parents if not p.exists())]
        for d in reversed(missing):  # every directory we create is private, not only the leaf
            d.mkdir(mode=0o700, exist_ok=True)
            os.chmod(d, 0o700)
    return path


def read_only_file(path: Path) -> bool:
    """Whether ``path`` is a file its owner made read-only (``chmod 444``), or one this user
    may not write. Renaming a new file over it needs only its folder's permission, so the
    atomic write replaced such a file without a word, where ``>``, ``cp``, ``sort -o`` and
    pandas' ``to_csv`` are refused ("Permission denied"); root, whom the permission bits do
    not stop, is held to the bits: a file with no write bit at all is read-only to it too."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    import stat

    if not stat.S_ISREG(st.st_mode):
        return False
    return (st.st_mode & 0o222) == 0 or not os.access(path, os.W_OK)


def write_private_text(path: Path, text: str, *, fsync: bool = True) -> None:
    """Write ``text`` atomically (temp file + rename) with mode 0600; ``fsync=False`` for caches.

    A file already there that is read-only (:func:`read_only_file`) is not replaced:
    ``PermissionError`` naming it, and nothing is written."""
    path = Path(path)
    if read_only_file(path):
        import errno

        raise PermissionError(
            errno.EACCES, "it is read-only, so it is not replaced (chmod u+w lets it be)", str(path)
        )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.filename is not None and str(e.filename) != str(tmp):
            raise
        # a full disk (ENOSPC) while writing names no file: 'experiments new X' said 'a file:
        # the disk is full'; the file meant is ``path`` (not the temp file, which is gone)
        raise OSError(e.errno, e.strerror, str(path)) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def snapshot_path(name: str) -> Path:
    """Where ``launch`` freezes the experiment it starts (sweeps read this copy)."""
    return app_paths().state / "experiments" / f"{name}.toml"
