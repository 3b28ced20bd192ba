"""``build_plan(desired, live)``: pure comparison of two canonical states into a frozen Plan.

No I/O happens here. Apply executes exactly the changes of the Plan, in ``Plan.changes`` order:

1. CORS rules   - the browser must be allowed to read objects before anyone opens a task;
2. projects     - storages need their project's id;
3. storages     - created/updated after their project;
4. deletes      - storages before their projects (only with --prune);
then ``Plan.syncs`` - after storages exist and CORS is in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Union

from .state import CorsState, ProjectState, State, StorageState
from .template import controls, label_values

# octoDNS-style guard: refuse to update/delete more than this share of managed resources without --force,
# once at least MIN_MANAGED resources are managed.
MAX_CHANGE_SHARE = 0.3
MIN_MANAGED = 10

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
    last_sync: str | None = None  # the live storage's last sync when planned: confirms a lost sync started
    pending: int = 0  # matching objects that are not yet tasks
    action = "sync"


Change = Union[Create, Update, Delete]


@dataclass(frozen=True)
class Check:
    """A named safety check on a plan. A blocking check stops apply unless its override was given.

    ``override`` is the exact command-line words that allow it; ``allowed`` says they were given.
    """

    name: str
    subject: str
    message: str
    override: str | None = None
    blocking: bool = True
    allowed: bool = False


@dataclass(frozen=True)
class Overrides:
    """Named permissions from the command line, each scoped to spec names where it makes sense."""

    allow_label_removal: frozenset[str] = frozenset()
    allow_delete: frozenset[str] = frozenset()
    adopt: frozenset[str] = frozenset()
    take_over: frozenset[str] = frozenset()
    force: bool = False
    rotate_credentials: bool = False


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
    checks: tuple[Check, ...] = field(default_factory=tuple)
    # Managed projects of other owners that were seen and left alone, by owner (sorted).
    other_owners: tuple[tuple[str, int], ...] = ()

    @property
    def blockers(self) -> tuple[Check, ...]:
        """Blocking checks whose override was not given: apply refuses to run while any is left."""
        return tuple(c for c in self.checks if c.blocking and not c.allowed)

    def with_checks(self, checks: list[Check]) -> "Plan":
        return replace(self, checks=self.checks + tuple(checks))

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


def _adopt(changes: list[Change], live: State, adopt: frozenset[str]) -> list[Check]:
    """Creates whose title exists without our marker: adopt them (update in place) or block."""
    checks = []
    for i, change in enumerate(changes):
        if not (isinstance(change, Create) and isinstance(change.new, ProjectState)):
            continue
        want = change.new
        clash = live.unmanaged.get((want.instance, want.title))
        if clash is None:
            continue
        if want.name in adopt:
            old = replace(clash, name=want.name)
            changes[i] = Update(old, want, diff_fields(old, want))
        else:
            checks.append(Check("unmanaged-title", want.name,
                                f"project {want.title!r} (id {clash.id}) exists without the lsts-sync marker; "
                                "take it over or change the title", f"--adopt {want.name}"))
    return checks


def _take_over(changes: list[Change], live: State, take_over: frozenset[str]) -> list[Check]:
    """Creates whose name another owner manages: take them over (update in place) or block."""
    checks = []
    for i, change in enumerate(changes):
        want = change.new if isinstance(change, Create) else None
        if isinstance(want, ProjectState) and want.key in live.foreign:
            theirs = live.foreign[want.key]
            if want.name not in take_over:
                checks.append(Check("owner-conflict", want.name, f"project {want.name} (id {theirs.id}) is managed "
                                    f"by owner {theirs.owner!r}, not {want.owner!r}; take it over or rename the spec",
                                    f"--take-over {want.name}"))
            else:
                changes[i] = Update(theirs, want, diff_fields(theirs, want))
        elif isinstance(want, StorageState) and want.project in take_over and want.key in live.foreign_storages:
            theirs = live.foreign_storages[want.key]
            changes[i] = Update(theirs, want, diff_fields(theirs, want))
    return checks


def _duplicates(live: State) -> list[Check]:
    """Several own resources with one marker: apply would touch only the lowest id, so block."""
    return [Check("duplicate", address, f"{len(ids)} resources carry the marker of {address} (ids "
                  f"{', '.join(map(str, ids))}); lsts-sync uses id {ids[0]}: delete the others in Label Studio "
                  f"(move any annotations to id {ids[0]} first) and plan again")
            for address, ids in sorted(live.duplicates.items())]


def _label_removals(changes: list[Change], overrides: Overrides) -> list[Check]:
    """Template updates that drop a label or control used by annotations or drafts (blocking),
    or by predictions (a warning: a model can predict again)."""
    checks = []
    for change in changes:
        if not (isinstance(change, Update) and isinstance(change.old, ProjectState)) or change.old.usage is None:
            continue
        usage, new = change.old.usage, change.new
        kept = {(control, label) for control, labels in label_values(new.label_config).items() for label in labels}
        lost = [f"{label} ({control}): {n} region(s)" for (control, label), n in usage.labels if (control, label) not in kept]
        lost += [f"control {c}: {n} result(s)" for c, n in usage.controls if c not in controls(new.label_config)]
        if lost:
            checks.append(Check("label-removal", new.name,
                                f"the template change would orphan annotations or drafts: {'; '.join(lost)}",
                                f"--allow-label-removal {new.name}", allowed=new.name in overrides.allow_label_removal))
        predicted = [f"{label} ({control}): {n}" for (control, label), n in usage.predicted
                     if (control, label) not in kept]
        if predicted:
            checks.append(Check("label-removal", new.name, "predictions use labels the new template drops: "
                                f"{'; '.join(predicted)}", blocking=False))
    return checks


def _deletes(changes: list[Change], overrides: Overrides) -> list[Check]:
    """Deleting a project with annotations (or whose usage is unknown) needs --allow-delete NAME."""
    checks = []
    for change in changes:
        if not (isinstance(change, Delete) and isinstance(change.old, ProjectState)):
            continue
        old = change.old
        if old.usage is not None and not old.usage.annotations:
            continue
        what = f"{old.usage.annotations} annotation(s) or draft(s)" if old.usage else "annotations (usage unknown)"
        checks.append(Check("delete-annotated", old.name, f"project {old.title!r} has {what} that deleting it "
                            "would lose", f"--allow-delete {old.name}", allowed=old.name in overrides.allow_delete))
    return checks


def _share(changes: list[Change], live: State, overrides: Overrides) -> list[Check]:
    managed = len(live.projects) + len(live.storages)
    touched = sum(isinstance(c, (Update, Delete)) and not isinstance(getattr(c, "new", None), CorsState)
                  and not (isinstance(c, Update) and [d.field for d in c.diffs] == ["credentials"])
                  for c in changes)
    if managed >= MIN_MANAGED and touched > MAX_CHANGE_SHARE * managed:
        return [Check("too-many-changes", "*", f"{touched} of {managed} managed resources would be updated or "
                      f"deleted (more than {MAX_CHANGE_SHARE:.0%})", "--force", allowed=overrides.force)]
    return []


def _rotate(changes: list[Change], desired: State, live: State) -> None:
    """Re-send credentials to every managed storage that takes them from the environment."""
    rotate = FieldDiff("credentials", "(sensitive)", "(sensitive)")
    updated = {c.new.key: i for i, c in enumerate(changes) if isinstance(c, Update) and isinstance(c.new, StorageState)}
    for key, want in desired.storages.items():
        if key not in live.storages or want.credentials != "environment":
            continue
        if key in updated:
            change = changes[updated[key]]
            changes[updated[key]] = Update(change.old, change.new, change.diffs + (rotate,))
        else:
            changes.append(Update(live.storages[key], want, (rotate,)))


def _syncs(desired: State, live: State, touched: set, sources: Mapping, sync_all: bool) -> tuple[list[Sync], list[Check]]:
    """Sync steps: a source storage is synced when it is new or changed, or holds objects that are
    not yet tasks, and its spec says ``sync: true``; every one with ``sync_all``. Pending objects
    of a ``sync: false`` source, objects changed since their import, and objects that two sources
    import are reported as warnings."""
    syncs, checks = [], []
    for key, s in desired.storages.items():
        if s.role != "source":
            continue
        facts = sources.get(key)
        pending = len(facts.pending) if facts else 0
        reason = ("new or changed" if key in touched else f"{pending} new object(s)" if pending else "--sync")
        live_storage = live.storages.get(key) or live.foreign_storages.get(key)
        if (s.sync and (key in touched or pending)) or sync_all:
            syncs.append(Sync(s, reason, live_storage.last_sync if live_storage else None, pending))
        elif pending and key not in touched:
            checks.append(Check("pending", s.project, f"{pending} object(s) under s3://{s.bucket}/{s.prefix} are not "
                                "yet tasks (sync: false); apply --sync imports them", blocking=False))
        if facts and facts.already:
            checks.append(Check("reimport", s.project, f"{len(facts.already)} object(s) under s3://{s.bucket}/{s.prefix} "
                                "are already tasks of this project; the new source storage imports them again as "
                                "new tasks", blocking=False))
        if facts and facts.changed:
            checks.append(Check("changed-objects", s.project, f"{len(facts.changed)} object(s) changed after their "
                                f"import, e.g. {facts.changed[0]}; Label Studio does not import them again",
                                blocking=False))
    keys = sorted(k for k in sources if k in desired.storages)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            both = set(sources[a].keys) & set(sources[b].keys)
            if both:
                checks.append(Check("overlap", f"{a[1]}, {b[1]}", f"{len(both)} object(s) would be imported by both "
                                    f"sources, e.g. {min(both)}", blocking=False))
    return syncs, checks


def build_plan(desired: State, live: State, *, sync_all: bool = False, prune: bool = False,
               overrides: Overrides = Overrides(), sources: Mapping | None = None) -> Plan:
    """Compare ``desired`` with ``live`` (and the ``sources``' objects, ``SourceFacts`` by storage
    key); returns the frozen Plan with its safety checks. Pure.

    A CORS rule no longer needed is planned as an update to "absent".
    """
    changes: list[Change] = []
    for bucket, want in desired.cors.items():
        have = live.cors.get(bucket, CorsState(bucket, None, rule_id=want.rule_id))
        want = CorsState(bucket, want.rule, have.others, want.rule_id)
        if have.rule != want.rule:
            changes.append(Create(want) if have.rule is None else Update(have, want, diff_fields(have, want)))
    _reconcile(desired.projects, live.projects, changes, prune)
    _reconcile(desired.storages, live.storages, changes, prune)
    if overrides.rotate_credentials:
        _rotate(changes, desired, live)
    checks = _duplicates(live) + _take_over(changes, live, overrides.take_over) + _adopt(changes, live, overrides.adopt)
    if not prune:
        checks += [Check("undeclared", s.marker_name, f"{s.address} is managed but no longer declared; "
                         "--prune deletes it", blocking=False)
                   for key, s in live.storages.items() if key not in desired.storages
                   and (s.instance, s.project) in desired.projects]
    checks += _label_removals(changes, overrides) + _deletes(changes, overrides) + _share(changes, live, overrides)
    touched = {c.new.key for c in changes if isinstance(c, (Create, Update)) and isinstance(c.new, StorageState)
               and any(d.field != "credentials" for d in getattr(c, "diffs", (FieldDiff("new", None, None),)))}
    syncs, sync_checks = _syncs(desired, live, touched, sources or {}, sync_all)
    checks += sync_checks
    changes.sort(key=_rank)
    return Plan(tuple(changes), tuple(syncs), tuple(checks), tuple(sorted(live.other_owners.items())))
