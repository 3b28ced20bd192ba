"""``build_plan(desired, facts)``: pure comparison of the desired state with the gathered live facts
into a frozen Plan: every change, every sync, every safety check (data checks included).

No I/O happens here. The changes are sorted into the fixed order that ``plan.changes`` documents
(each change's ``order``).

Every step carries the ids it needs: an update or delete has the live resource (with its id), a
new storage has its project's id unless this plan creates that project, and a sync has its
storage's id unless this plan creates that storage (apply then takes the id the create returned).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field, replace
from typing import TypeVar

from lsts_sync.plan.changes import (
    AFTER_SYNC_ORDER,
    AttachPredictions,
    Change,
    Check,
    Create,
    Delete,
    NewPrediction,
    ObjectPrediction,
    Reimport,
    ResendHeaders,
    RewriteResults,
    RotateCredentials,
    SetPredictions,
    Sync,
    Update,
    UpdateModelVersion,
    WriteWindows,
)
from lsts_sync.plan.checks import (
    data_checks,
    deletes,
    duplicates,
    label_removals,
    temporary_credentials,
    too_many_changes,
    undeclared,
)
from lsts_sync.plan.options import Overrides
from lsts_sync.plan.rewrites import rewrites, rewritten_predictions
from lsts_sync.plan.windows import all_window_changes, predictions_on_windows
from lsts_sync.resources.adoption import adopt_webhooks, match, mismatch, same_webhook
from lsts_sync.resources.facts import LiveFacts, SourceFacts
from lsts_sync.resources.state import (
    CorsState,
    DesiredState,
    LivePrediction,
    LiveState,
    PredictionSet,
    ProjectState,
    StorageState,
    TaskPrediction,
    WebhookState,
    canonical_result,
    diff_fields,
)

_NO_SOURCE = SourceFacts(())
Gone = tuple[str, str, int, str]  # a task a Reimport deletes: instance, project, task id, source key
NO_OVERRIDES = Overrides()  # the default: nothing is allowed
K = TypeVar("K")
R = TypeVar("R", ProjectState, StorageState, WebhookState)


@dataclass(frozen=True)
class Plan:
    """What apply will do. ``changes`` and ``syncs`` are each in execution order; ``steps`` is the
    order of all of them (the changes of ``AFTER_SYNC_ORDER`` and later run after the syncs)."""

    changes: tuple[Change, ...] = ()
    syncs: tuple[Sync, ...] = ()
    checks: tuple[Check, ...] = ()
    # Managed projects of other owners that were seen and left alone, by owner (sorted).
    other_owners: tuple[tuple[str, int], ...] = ()
    # The live id of every project this plan does not create (adopted and taken-over ones included),
    # by (instance, name): new storages were linked to these, and apply prints their URLs.
    project_ids: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @property
    def steps(self) -> tuple[Change | Sync, ...]:
        """Every step in the order apply runs it: changes before the syncs, the syncs, changes after them."""
        return (*(c for c in self.changes if c.order < AFTER_SYNC_ORDER), *self.syncs,
                *(c for c in self.changes if c.order >= AFTER_SYNC_ORDER))

    @property
    def blockers(self) -> tuple[Check, ...]:
        """Blocking checks whose override was not given: apply refuses to run while any is left."""
        return tuple(c for c in self.checks if c.blocking and not c.allowed)

    @property
    def counts(self) -> dict[str, int]:
        """Changes by action; a credential rotation counts as a change ("update"); an updated
        resource counts once, however many steps update it."""
        count = {action: sum(c.action == action for c in self.changes) for action in ("create", "delete")}
        # a project whose model version is written by a step of its own is still one resource to change
        count["update"] = len({(c.new.kind, c.new.key) for c in self.changes if isinstance(c, Update)})
        count["update"] += sum(c.action == "rotate" for c in self.changes)
        return count

    @property
    def predictions(self) -> dict[str, int]:
        """Predictions to add, replace and remove, over every predictions step (before and after the sync)."""
        steps = [c for c in self.changes if isinstance(c, (SetPredictions, AttachPredictions))]  # their counts
        return {"add": sum(s.added for s in steps), "replace": sum(s.replaced for s in steps),
                "remove": sum(s.removed for s in steps)}

    @property
    def windows(self) -> dict[str, int]:
        """Window files to write and to delete, over every WriteWindows step."""
        steps = [c for c in self.changes if isinstance(c, WriteWindows)]
        return {"write": sum(s.files for s in steps), "delete": sum(s.deleted for s in steps)}

    @property
    def empty(self) -> bool:
        return not self.changes and not self.syncs

    def summary(self) -> str:
        syncs = f" {len(self.syncs)} storage(s) to sync." if self.syncs else ""
        if not self.changes:
            return "No changes." + syncs
        c, p = self.counts, self.predictions
        predictions = f" Predictions: {p['add']} to add, {p['replace']} to replace, {p['remove']} to remove." \
            if any(change.action == "predictions" for change in self.changes) else ""
        tasks = sum(len(change.tasks) for change in self.changes if isinstance(change, Reimport))
        reimports = f" Re-imports: {tasks} task(s)." if tasks else ""
        saves = sum(len(c.writes) for c in self.changes if isinstance(c, RewriteResults))
        rewritten = f" Results to rewrite: {saves}." if saves else ""
        w = self.windows
        windows = f" Windows: {w['write']} file(s) to write, {w['delete']} to delete." \
            if any(change.action == "windows" for change in self.changes) else ""
        return (f"Plan: {c['create']} to add, {c['update']} to change, {c['delete']} to delete." + rewritten
                + predictions + windows + reimports + syncs)


def _reconcile(desired: Mapping[K, R], live: Mapping[K, R], changes: list[Change], prune: bool) -> None:
    """Create what only ``desired`` has, update what differs, and with ``prune`` delete what only ``live`` has."""
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


def _adopt(changes: list[Change], live: LiveState, adopt: frozenset[str]) -> list[Check]:
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
            changes[i] = Update(old, want, diff_fields(old, want), adopts=clash.id)
        else:
            checks.append(Check("unmanaged-title", want.name,
                                f"project {want.title!r} (id {clash.id}) exists without the lsts-sync marker; "
                                "take it over or change the title", f"--adopt {want.name}"))
    return checks


def _adopt_storages(changes: list[Change], desired: DesiredState, live: LiveState) -> list[Check]:
    """Storages to create in a project being adopted, where a storage made by hand is the same one
    in another form (``resources.adoption``): adopt that one (update in place, its marker written)
    instead of creating a second storage that would import every object again. Each storage made by
    hand that is not adopted is named (a warning) and left as it is."""
    taken: set[tuple[str, int | None]] = set()  # (role, id): import and export storages count ids apart
    for i, change in enumerate(changes):
        if isinstance(change, Create) and isinstance(change.new, StorageState):
            want = change.new
            found = match((s for s in live.unmarked_storages.get((want.instance, want.project), ())
                           if (s.role, s.id) not in taken), want)
            if found is not None:
                taken.add((found.role, found.id))
                changes[i] = Update(found, want, diff_fields(found, want), adopts=found.id)
    checks = []
    for (instance, project), storages in sorted(live.unmarked_storages.items()):
        for have in storages:
            if (have.role, have.id) in taken:
                continue
            spec = desired.storages.get((instance, project, have.role))
            why = mismatch(have, spec) if spec is not None else f"the spec declares no {have.role}"
            checks.append(Check("unadopted-storage", project, f"{have.role} storage id {have.id} "
                                f"s3://{have.bucket}/{have.prefix} has no marker and is not adopted ({why}); "
                                "it is left as it is", blocking=False))
    return checks


def _adopt_webhooks(changes: list[Change], desired: DesiredState, live: LiveState) -> list[Check]:
    """Webhooks to create in a project being adopted, where a webhook made by hand (no marker) is
    the declared one (``resources.adoption.adopt_webhooks``: same URL): adopt it (update in place,
    its marker header written, every other field compared) instead of creating a second one that
    Label Studio would call too. A declared webhook with several candidates blocks, naming them;
    each webhook made by hand that is not adopted is named (a warning) and left as it is."""
    unmarked = [w for hooks in live.unmarked_webhooks.values() for w in hooks]
    creates = {c.new.key: (i, c.new) for i, c in enumerate(changes) if isinstance(c, Create)
               and isinstance(c.new, WebhookState) and (c.new.instance, c.new.project) in live.unmarked_webhooks}
    found = adopt_webhooks([want for _, want in creates.values()], unmarked)
    for key, have in found.adopted.items():
        i, want = creates[key]
        changes[i] = Update(have, want, diff_fields(have, want), adopts=have.id)
    checks = [_ambiguous(creates[key][1], [h for h in unmarked if h.id in ids])
              for key, ids in sorted(found.ambiguous.items())]
    named = {i for ids in found.ambiguous.values() for i in ids}
    for have in found.left:
        if have.id in named:
            continue
        same_url = sorted(w.name for w in desired.webhooks.values()
                          if (w.instance, w.project, w.url) == (have.instance, have.project, have.url))
        why = (f"declared webhook(s) {', '.join(same_url)} with its URL adopt another one" if same_url
               else "no declared webhook of the project calls its URL")
        checks.append(Check("unadopted-webhook", have.project, f"webhook id {have.id} {have.url} has no marker and is "
                            f"not adopted ({why}); it is left as it is, and Label Studio keeps calling it",
                            blocking=False))
    return checks


def _ambiguous(want: WebhookState, candidates: list[WebhookState]) -> Check:
    """The blocking check of a declared webhook that several webhooks made by hand could be."""
    ids = ", ".join(str(h.id) for h in candidates)
    fix = ("they are alike in every field lsts-sync reads: delete all but one in Label Studio"
           if any(same_webhook(h, want) for h in candidates) else
           "delete all but one in Label Studio, or give the spec exactly one's actions, send_payload, active and "
           "header names")
    return Check("ambiguous-webhook", want.marker_name, f"{len(candidates)} webhooks without a marker on project "
                 f"{want.project} call {want.url} (ids {ids}): adoption does not guess which one is the spec's; {fix}")


def _take_over(changes: list[Change], live: LiveState, take_over: frozenset[str]) -> list[Check]:
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
            their_storage = live.foreign_storages[want.key]
            changes[i] = Update(their_storage, want, diff_fields(their_storage, want))
    return checks


MODEL_VERSION = "settings.predictions_model_version"


def _model_version_last(changes: list[Change]) -> None:
    """Split a project update that changes the predictions model version in two: the version is
    written by its own step after the predictions (Label Studio refuses a version no prediction has)."""
    for i, change in enumerate(list(changes)):
        if isinstance(change, Update) and any(d.field == MODEL_VERSION for d in change.diffs):
            rest = tuple(d for d in change.diffs if d.field != MODEL_VERSION)
            late = UpdateModelVersion(change.old, change.new, tuple(d for d in change.diffs if d.field == MODEL_VERSION))
            changes[i] = Update(change.old, change.new, rest) if rest else late
            if rest:
                changes.append(late)


def _rotations(desired: DesiredState, live: LiveState, changes: list[Change]) -> list[Change]:
    """Re-send credentials to every managed storage that takes them from the environment, and the
    header values to every managed webhook that has headers and no update (an update sends them)."""
    updated = {c.new.key for c in changes if isinstance(c, Update) and isinstance(c.new, WebhookState)}
    storages: list[Change] = [RotateCredentials(want, storage_id)
                              for key, want in sorted(desired.storages.items())
                              if key in live.storages and want.credentials == "environment"
                              and (storage_id := live.storages[key].id) is not None]
    return storages + [ResendHeaders(want, webhook_id) for key, want in sorted(desired.webhooks.items())
                       if key in live.webhooks and want.headers and key not in updated
                       and (webhook_id := live.webhooks[key].id) is not None]


def _link_projects(changes: list[Change], live: LiveState) -> dict[tuple[str, str], int]:
    """Give each new storage and webhook the id of its live project (adopted and taken-over ones included);
    it stays None when this plan creates the project. Returns those project ids by key."""
    ids = {k: p.id for k, p in live.projects.items() if p.id is not None}
    ids.update({(c.old.instance, c.new.name): c.old.id for c in changes if isinstance(c, Update)
                and isinstance(c.old, ProjectState) and isinstance(c.new, ProjectState) and c.old.id is not None})
    for i, change in enumerate(changes):
        if isinstance(change, Create) and isinstance(change.new, (StorageState, WebhookState)):
            changes[i] = Create(change.new, ids.get((change.new.instance, change.new.project)))
    return ids


def _reimports(desired: DesiredState, live: LiveState, sources: Mapping[tuple[str, str, str], SourceFacts]
               ) -> tuple[list[Change], list[Check]]:
    """A Reimport step for each source whose changed objects' tasks were read (``--reimport-changed``):
    the tasks nobody worked on. Tasks holding an annotation, draft or prediction are never deleted:
    one warning names how many, so a person checks their regions against the new data."""
    steps: list[Change] = []
    checks: list[Check] = []
    for key, facts in sorted(sources.items()):
        project, storage = live.projects.get(key[:2]), desired.storages.get(key)
        if not facts.changed_tasks or project is None or project.id is None or storage is None:
            continue
        free = tuple((t.task, t.key) for t in facts.changed_tasks if not t.worked)
        kept = [t.key for t in facts.changed_tasks if t.worked]
        if free:
            steps.append(Reimport(key[0], key[1], project.id, storage.address, free))
        if kept:
            checks.append(Check("changed-objects", key[1], f"{len(kept)} changed object(s), e.g. {kept[0]}, are not "
                                "re-imported: their tasks hold annotations, drafts or predictions, which deleting "
                                "the task would lose; check their regions against the new data", blocking=False))
    return steps, checks


def _syncs(desired: DesiredState, live: LiveState, touched: set[tuple[str, str, str]],
           sources: Mapping[tuple[str, str, str], SourceFacts], sync_all: bool,
           reimported: Mapping[tuple[str, str, str], int],
           adopted: Mapping[tuple[str, str, str], StorageState],
           staged: frozenset[tuple[str, str, str]] = frozenset()) -> tuple[list[Sync], list[Check]]:
    """Sync steps: a source storage is synced when it is new or changed, or holds objects that are
    not yet tasks, and its spec says ``sync: true``, or a Reimport deletes tasks of its objects
    (``reimported``: how many); every one with ``sync_all``. Pending objects of a ``sync: false``
    source, objects changed since their import (except window files of a ``staged`` source: apply
    rewrites them on purpose, and a task reads its file by URL), and objects that two sources import
    are reported as warnings. ``adopted``: storages made by hand that this plan adopts, by key."""
    syncs, checks = [], []
    for key, s in desired.storages.items():
        if s.role != "source":
            continue
        facts = sources.get(key)
        pending = len(facts.pending) if facts else 0
        reason = ("new or changed" if key in touched else f"{pending} new object(s)" if pending else "--sync")
        live_storage = live.storages.get(key) or live.foreign_storages.get(key) or adopted.get(key)
        if key in reimported:
            reason = f"re-import {reimported[key]} changed object(s)" + (f", {pending} new" if pending else "")
        if (s.sync and (key in touched or pending)) or sync_all or key in reimported:
            syncs.append(Sync(s, live_storage.id if live_storage else None, reason,
                              live_storage.last_sync if live_storage else None, pending))
        elif pending and key not in touched:
            checks.append(Check("pending", s.project, f"{pending} object(s) under s3://{s.bucket}/{s.prefix} are not "
                                "yet tasks (sync: false); apply --sync imports them", blocking=False))
        if facts and facts.already:
            checks.append(Check("reimport", s.project, f"{len(facts.already)} object(s) under s3://{s.bucket}/{s.prefix} "
                                "are already tasks of this project; the new source storage imports them again as "
                                "new tasks", blocking=False))
        if facts and facts.changed and not facts.changed_tasks and key not in staged:
            checks.append(Check("changed-objects", s.project, f"{len(facts.changed)} object(s) changed after their "
                                f"import, e.g. {facts.changed[0]}: the labeling page shows each as it is now, so "
                                "regions drawn before may not fit it, and Label Studio does not import a key again; "
                                f"--reimport-changed {s.project} re-imports those whose task holds no annotation, "
                                "draft or prediction", blocking=False))
    keys = sorted(k for k in sources if k in desired.storages)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            both = set(sources[a].keys) & set(sources[b].keys)
            if both:
                checks.append(Check("overlap", f"{a[1]}, {b[1]}", f"{len(both)} object(s) would be imported by both "
                                    f"sources, e.g. {min(both)}", blocking=False))
    return syncs, checks


def _cors_changes(desired: DesiredState, live: LiveState) -> list[Change]:
    """The owner's CORS rule per bucket; a rule no longer needed is an update to "absent" (rule None).
    Other rules are carried as read so apply writes them back untouched."""
    changes: list[Change] = []
    for bucket, want in desired.cors.items():
        have = live.cors.get(bucket, CorsState(bucket, None, rule_id=want.rule_id))
        want = CorsState(bucket, want.rule, have.others, want.rule_id)
        if have.rule != want.rule:
            changes.append(Create(want) if have.rule is None else Update(have, want, diff_fields(have, want)))
    return changes


def _predictions(desired: DesiredState, facts: LiveFacts, syncs: list[Sync], project_ids: Mapping[tuple[str, str], int],
                 rewritten: Mapping[int, str], gone: Set[Gone] = frozenset()) -> tuple[list[Change], list[Check]]:
    """For each declared model version: a SetPredictions where the live predictions of existing
    tasks differ from its file, and an AttachPredictions for the rows whose objects this plan's
    sync of the project's source imports (their tasks are known after the sync); then the
    warnings: one per skipped row (``FILE:ROW: why``; a row whose source file is no task and will
    not be one after this apply is skipped too), then how many rows were skipped. A task that this
    plan re-imports (``gone``: instance, project, task id, key) is no task when planning: its object
    is imported again by the sync, and its prediction is attached after it. This owner's projects,
    and those this plan adopts (gather read their tasks), are compared task by task; for any other
    (new, or taken over) only the rows of objects its sync imports are attached."""
    steps: list[Change] = []
    checks: list[Check] = []
    synced = {s.storage.key for s in syncs}
    for _key, want in sorted(desired.predictions.items()):
        project_key = (want.instance, want.project)
        project = facts.state.projects.get(project_key)
        project_id = project.id if project is not None else \
            project_ids.get(project_key) if project_key in facts.tasks else None  # adopted: its tasks were read
        if (want.instance, want.project) in facts.windows:  # the file names objects, the tasks are windows
            want = predictions_on_windows(want, facts.windows[(want.instance, want.project)])
        checks.extend(Check("predictions", f"{want.file}:{row}", why, blocking=False) for row, why in want.skipped)
        source = (want.instance, want.project, "source")
        pending = set(facts.sources.get(source, _NO_SOURCE).pending)
        imported = pending if source in synced else set()
        if project_id is None:
            later, unmatched = _after_sync(want, project_ids.get(project_key), pending, imported, None)
            if unmatched:  # a taken-over project: its tasks are read once it is this owner's
                checks.append(Check("predictions", want.name, f"project {want.project} is not a live project of this "
                                    f"owner yet: {len(unmatched)} prediction row(s) for objects this apply does not "
                                    "import wait for the next apply", blocking=False))
                unmatched = []
        else:
            step, rest, ids = _prediction_step(want, project_id, facts, rewritten, gone)
            if source in synced:
                imported = imported | {key for instance, name, _, key in gone
                                       if (instance, name) == project_key and key not in ids}
            later, unmatched = _after_sync(want, project_id, pending, imported, rest, ids)
            if step.add or step.delete_ids:
                steps.append(step)
        if later.objects:
            steps.append(later)
        checks.extend(unmatched)
        skipped = len(want.skipped) + len(unmatched)
        if skipped:
            checks.append(Check("predictions", want.name, f"skipped {skipped} of {want.rows} row(s) of {want.file} "
                                "(one line each above)", blocking=False))
    return steps, checks


def _after_sync(want: PredictionSet, project_id: int | None, pending: set[str], imported: set[str],
                rest: list[TaskPrediction] | None, keys: Iterable[str] = ()) -> tuple[AttachPredictions, list[Check]]:
    """The predictions of ``rest`` (every one of ``want``'s when None: the project has no live
    tasks) whose object this apply's sync imports, and a warning per row of the others (an object
    that is ``pending`` but not synced by this apply: its source says ``sync: false``; ``keys``, the
    tasks' keys, give a bare file name its full key as a hint)."""
    later: list[ObjectPrediction] = []
    unmatched: list[Check] = []
    for task in want.tasks if rest is None else rest:
        if task.key in imported:
            later.append(ObjectPrediction(task.key, task.result, task.score))
        else:
            unmatched.extend(_no_task(want, task, task.key in pending, keys))
    step = AttachPredictions(want.instance, want.project, project_id, want.name, want.model_version, tuple(later))
    return step, unmatched


def _prediction_step(want: PredictionSet, project_id: int, facts: LiveFacts, rewritten: Mapping[int, str],
                     gone: Set[Gone]
                     ) -> tuple[SetPredictions, list[TaskPrediction], dict[str, list[int]]]:
    """Compare one PredictionSet with the live predictions of its model version, task by task;
    the predictions whose source file is no task (yet) are returned apart."""
    project_key = (want.instance, want.project)
    ids: dict[str, list[int]] = {}
    leaving = {(task, key) for instance, project, task, key in gone if (instance, project) == project_key}
    for source_key, task in facts.tasks.get(project_key, ()):
        if (task, source_key) not in leaving:
            ids.setdefault(source_key, []).append(task)
    live: dict[int, list[LivePrediction]] = {}
    for prediction in facts.predictions.get(project_key, ()):
        if prediction.model_version == want.model_version:
            if prediction.id in rewritten:
                prediction = replace(prediction, result=canonical_result(json.loads(rewritten[prediction.id])))
            live.setdefault(prediction.task, []).append(prediction)
    add: list[NewPrediction] = []
    delete: list[int] = []
    no_task: list[TaskPrediction] = []
    added, replaced = 0, 0
    for task_prediction in want.tasks:
        if task_prediction.key not in ids:
            no_task.append(task_prediction)
            continue
        for task in ids[task_prediction.key]:
            have = live.pop(task, [])
            if len(have) == 1 and (have[0].result, have[0].score) == (task_prediction.result, task_prediction.score):
                continue
            added, replaced = added + (not have), replaced + bool(have)
            delete.extend(p.id for p in have)
            add.append(NewPrediction(task, task_prediction.result, task_prediction.score))
    removed = [p.id for found in live.values() for p in found]
    step = SetPredictions(want.instance, want.project, project_id, want.name, want.model_version, tuple(add),
                          tuple(sorted(delete + removed)), added, replaced, len(removed))
    return step, no_task, ids


def _no_task(want: PredictionSet, task: TaskPrediction, pending: bool, keys: Iterable[str]) -> list[Check]:
    """One warning per row whose source file is no task of the project, and will not be one after
    this apply (``pending``: a sync would import it, but this apply syncs nothing there); a name
    that only ends some task's key (a bare file name) gets that key as the hint."""
    why = (f"{task.key} is not a task of project {want.project} yet and this apply does not sync its source "
           "(sync: false); apply --sync imports it and its predictions" if pending
           else f"no task of project {want.project} was imported from {task.key}")
    ending = sorted(k for k in keys if k.endswith("/" + task.key.lstrip("/")))
    if ending and not pending:
        why += (f"; the file column needs the object's full key, e.g. {ending[0]!r}"
                + (f" ({len(ending)} keys end in that name)" if len(ending) > 1 else ""))
    return [Check("predictions", f"{want.file}:{row}", why, blocking=False) for row in task.rows]


def build_plan(desired: DesiredState, facts: LiveFacts, *, sync_all: bool = False, prune: bool = False,
               overrides: Overrides = NO_OVERRIDES) -> Plan:
    """Compare ``desired`` with the gathered ``facts`` (live state, sources' objects, data samples,
    credentials); returns the frozen Plan with every change, sync and safety check. Pure."""
    live = facts.state
    changes = _cors_changes(desired, live)
    _reconcile(desired.projects, live.projects, changes, prune)
    _reconcile(desired.storages, live.storages, changes, prune)
    _reconcile(desired.webhooks, live.webhooks, changes, prune)
    checks = duplicates(live) + _take_over(changes, live, overrides.take_over) + _adopt(changes, live, overrides.adopt)
    checks += _adopt_storages(changes, desired, live) + _adopt_webhooks(changes, desired, live)
    project_ids = _link_projects(changes, live)
    _model_version_last(changes)
    if overrides.rotate_credentials:
        changes.extend(_rotations(desired, live, changes))
    if not prune:
        checks += undeclared(desired, live)
    checks += label_removals(changes, overrides) + deletes(changes, overrides) + too_many_changes(changes, live, overrides)
    rewrite_steps, rewrite_checks = rewrites(desired, live, overrides)
    changes += rewrite_steps
    checks += rewrite_checks
    window_steps, window_checks = all_window_changes(facts.windows, facts.annotated, prune, overrides)
    changes += window_steps
    checks += window_checks
    # an adopted storage is the same storage in another form: it syncs only for its pending objects
    touched = {c.new.key for c in changes if isinstance(c, (Create, Update)) and isinstance(c.new, StorageState)
               and not (isinstance(c, Update) and c.adopts is not None)}
    adopted = {c.new.key: c.old for c in changes if isinstance(c, Update) and c.adopts is not None
               and isinstance(c.new, StorageState) and isinstance(c.old, StorageState)}
    touched |= {(s.instance, s.project, "source") for s in window_steps if s.files}  # new windows: sync them
    staged = frozenset((instance, project, "source") for instance, project in facts.windows)
    reimports, reimport_checks = _reimports(desired, live, facts.sources)
    reimported = {(c.instance, c.project, "source"): len(c.tasks) for c in reimports if isinstance(c, Reimport)}
    syncs, sync_checks = _syncs(desired, live, touched, facts.sources, sync_all, reimported, adopted, staged)
    changes += reimports
    checks += reimport_checks
    checks += sync_checks + data_checks(facts.samples) + temporary_credentials(changes, facts)
    gone = {(c.instance, c.project, task, key) for c in reimports if isinstance(c, Reimport) for task, key in c.tasks}
    prediction_steps, prediction_checks = _predictions(desired, facts, syncs, project_ids,
                                                       rewritten_predictions(rewrite_steps), gone)
    changes += prediction_steps
    checks += prediction_checks
    changes.sort(key=lambda change: change.order)
    return Plan(tuple(changes), tuple(syncs), tuple(checks), tuple(sorted(live.other_owners.items())), project_ids)
