"""The options a plan is made with: what is read (``GatherOptions``) and what is allowed (``Overrides``).

Both are frozen values that a saved plan carries, so ``apply --plan FILE`` reads and decides exactly
as the plan that wrote it did.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatherOptions:
    """What decides which facts are read: the plan options that widen or narrow the reads."""

    projects: frozenset[str] | None = None
    prune: bool = False
    sync_all: bool = False
    adopt: frozenset[str] = frozenset()
    skip_data_checks: bool = False
    reimport_changed: frozenset[str] = frozenset()  # projects whose changed objects' tasks are read to re-import


@dataclass(frozen=True)
class Overrides:
    """Named permissions from the command line, each scoped to spec names where it makes sense."""

    allow_label_removal: frozenset[str] = frozenset()
    allow_delete: frozenset[str] = frozenset()
    allow_time_format_change: frozenset[str] = frozenset()
    allow_draft_loss: frozenset[str] = frozenset()
    adopt: frozenset[str] = frozenset()
    take_over: frozenset[str] = frozenset()
    force: bool = False
    rotate_credentials: bool = False
    allow_window_rewrite: frozenset[str] = frozenset()
