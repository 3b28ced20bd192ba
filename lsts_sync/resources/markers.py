"""The ownership marker: how lsts-sync knows which live resources are its own, and whose.

lsts-sync writes ``managed-by: lsts-sync owner=<owner> name=<name>`` as the last line of the
description of every project and storage it creates. Only resources whose marker carries the
spec set's owner are ever updated or deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER_RE = re.compile(r"(?:\n\n)?managed-by: lsts-sync(?: owner=(\S+))? name=(\S+)\s*$")
DEFAULT_OWNER = "default"


def marker(owner: str, name: str) -> str:
    """The ownership marker lsts-sync writes into descriptions of what it creates."""
    return f"managed-by: lsts-sync owner={owner} name={name}"


def with_marker(description: str, owner: str, name: str) -> str:
    return f"{description}\n\n{marker(owner, name)}" if description else marker(owner, name)


@dataclass(frozen=True)
class Marker:
    """Who manages a live resource: the spec set's ``owner`` and the resource's ``name``."""

    owner: str
    name: str


def split_marker(description: str | None) -> tuple[str, Marker | None]:
    """``(user description, marker or None)`` of a live description.

    Markers written before owners existed (``name=`` only) read as owner ``default``.
    """
    text = description or ""
    match = MARKER_RE.search(text)
    if not match:
        return text, None
    return text[: match.start()], Marker(match.group(1) or DEFAULT_OWNER, match.group(2))
