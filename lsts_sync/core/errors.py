"""Runtime errors meant for the user (spec problems are ``problems.Problem``s)."""

from __future__ import annotations

from lsts_sync.core.problems import Problem


class LstsError(Exception):
    """An error meant for the user: its message is one line and holds no secret."""


class ProblemsFound(LstsError):
    """Problems at places in the spec files (one line each), then a one-line summary (the message)."""

    def __init__(self, problems: list[Problem], summary: str) -> None:
        super().__init__(summary)
        self.problems = problems
