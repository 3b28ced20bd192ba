"""``build_plan(desired, live)``: pure comparison of two canonical states into a frozen Plan.

No I/O happens here. Apply executes exactly the changes of the Plan, in ``Plan.changes`` order:

1. CORS rules   - the browser must be allowed to read objects before anyone opens a task;
2. projects     - storages need their project's id;
3. storages     - created/updated after their project;
4. syncs        - after storages exist and CORS is in place;
5. deletes      - storages before their projects (only with --prune, see issue on pruning).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .state import CorsState, ProjectState, State, StorageState

Resource = Union[ProjectState, StorageState, CorsState]


@dataclass(frozen=True)
class FieldDiff:
    field: str
    old: object
    new: object


@dataclass(frozen=True)
class Create:
    new: Resource
    action = "create"


@dataclass(frozen=True)
class Update:
    old: Resource
    new: Resource
    diffs: tuple[FieldDiff, ...]
    action = "update"


@dataclass(frozen=True)
class Delete:
    old: Resource
    action = "delete"


@dataclass(frozen=True)
class Sync:
    """Import new objects of a source storage as tasks (not counted as a change)."""

    storage: StorageState
    reason: str
    action = "sync"


Change = Union[Create, Update, Delete]


def _rank(change: Change | Sync) -> int:
    """The fixed order of the module docstring."""
    if isinstance(change, Sync):
        return 3
    if isinstance(change, Delete):
        return 4 if isinstance(change.old, StorageState) else 5
    resource = change.new
    return {CorsState: 0, ProjectState: 1, StorageState: 2}[type(resource)]


@dataclass(frozen=True)
class Plan:
    """What apply will do. ``changes`` and ``syncs`` are in execution order."""

    changes: tuple[Change, ...] = ()
    syncs: tuple[Sync, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> dict[str, int]:
        return {action: sum(c.action == action for c in self.changes) for action in ("create", "update", "delete")}

    @property
    def empty(self) -> bool:
        return not self.changes and not self.syncs

    def summary(self) -> str:
        if not self.changes:
            return "No changes." + (f" {len(self.syncs)} storage(s) to sync." if self.syncs else "")
        c = self.counts
        text = f"Plan: {c['create']} to add, {c['update']} to change, {c['delete']} to delete."
        return text + (f" {len(self.syncs)} storage(s) to sync." if self.syncs else "")


def diff_fields(old: Resource, new: Resource) -> tuple[FieldDiff, ...]:
    """Fields of ``compared()`` whose canonical values differ, in field order."""
    a, b = old.compared(), new.compared()
    return tuple(FieldDiff(k, a.get(k), b.get(k)) for k in dict.fromkeys([*b, *a]) if a.get(k) != b.get(k))


def _reconcile(desired: dict, live: dict, changes: list, prune: bool) -> None:
    for key, want in desired.items():
        have = live.get(key)
        if have is None:
            changes.append(Create(want))
        else:
            diffs = diff_fields(have, want)
            if diffs:
                changes.append(Update(have, want, diffs))
    if prune:
        changes.extend(Delete(have) for key, have in live.items() if key not in desired)


def build_plan(desired: State, live: State, *, sync_all: bool = False, prune: bool = False) -> Plan:
    """Compare ``desired`` with ``live``; returns the frozen Plan. Pure: no I/O, no clock.

    Import storages are synced when new or changed and their spec says ``sync: true``, or always
    with ``sync_all``. CORS rules are never pruned as resources: a rule that is no longer needed is
    planned as an update to "absent" through the desired state itself.
    """
    changes: list[Change] = []
    for bucket, want in desired.cors.items():
        have = live.cors.get(bucket, CorsState(bucket, None))
        want = CorsState(bucket, want.rule, have.others)
        if have.rule != want.rule:
            changes.append(Create(want) if have.rule is None else Update(have, want, diff_fields(have, want)))
    _reconcile(desired.projects, live.projects, changes, prune)
    _reconcile(desired.storages, live.storages, changes, prune)
    touched = {c.new.key for c in changes if isinstance(c, (Create, Update)) and isinstance(c.new, StorageState)}
    syncs = [Sync(s, "new or changed" if s.key in touched else "--sync")
             for s in desired.storages.values()
             if s.role == "source" and ((s.sync and s.key in touched) or sync_all)]
    changes.sort(key=_rank)
    return Plan(tuple(changes), tuple(syncs))
