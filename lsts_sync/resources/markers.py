"""The ownership marker: how lsts-sync knows which live resources are its own, and whose.

lsts-sync writes ``managed-by: lsts-sync owner=<owner> name=<name>`` as the last line of the
description of every project and storage it creates. Only resources whose marker carries the
spec set's owner are ever updated or deleted.

A webhook has no description, title or other free field in Label Studio: its marker is the value of
a header of its own, ``X-Lsts-Sync-Marker`` (``WEBHOOK_MARKER_HEADER``). A header is the one place
that is stored as written, survives the UI's edits of the other fields, changes nothing the
receiver relies on (unknown headers are ignored; a query string added to the URL would change the
URL it sees, and a signed URL would break), and is read back with the webhook. It costs one of the
10 headers Label Studio allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsts_sync.spec.models import WEBHOOK_MARKER_HEADER

__all__ = ["DEFAULT_OWNER", "WEBHOOK_MARKER_HEADER", "Marker", "marker", "split_marker", "with_marker"]

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
