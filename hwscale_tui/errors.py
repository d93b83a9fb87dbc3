"""Errors that become one clear sentence and exit code 2 at the CLI boundary."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as one sentence, exit code 2, nothing written."""

    exit_code = 2


class ConfigError(UsageError):
    """A bad value in an experiment file or in flags, naming the file, the key and what is accepted."""

    def __init__(self, source: str, key: str, problem: str, accepted: str):
        self.source, self.key, self.problem, self.accepted = source, key, problem, accepted
        super().__init__(f"{source}: {key}: {problem}; accepted: {accepted}.")
