"""Runtime errors meant for the user (spec problems are ``problems.Problem``s)."""

from __future__ import annotations


class LstsError(Exception):
    """An error meant for the user: its message is one line and holds no secret."""
