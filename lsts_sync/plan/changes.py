"""The steps of a Plan: tiny frozen values, each carrying its place in the fixed order (a resource's
create, update or delete takes it from its resource kind), how it is described and rendered, and
which apply handler runs it (``apply(target)``).

Apply runs the changes in this fixed order (``order`` of each change):

0. CORS rules          - the browser must be allowed to read objects before anyone opens a task;
   window files        - written before their storage is created or synced (a storage on an empty
                         prefix is refused);
1. rewrites of results - a renamed label or a changed time format carried into the annotations,
                         drafts and predictions, before the template changes (``plan.rewrites``);
2. project creates and updates - storages need their project's id;
3. storage and webhook creates and updates - after their project;
4. credential rotations - on storages and webhooks that exist (rotation is its own step, never a
                         field diff: AWS keys and webhook header values are never read back);
5. storage and webhook deletes - before their projects (only with --prune);
6. project deletes     - so nothing is left pointing at a deleted project;
7. predictions         - after the template updates, so the labels they carry exist, on tasks that
                         exist when planning;
8. re-imports          - delete the tasks of changed objects (``--reimport-changed``), so that the
                         storage's sync, which comes after, imports those objects again;
then ``Plan.syncs``    - after storages exist and CORS is in place: all are started, then awaited;
9. predictions after the sync - for the objects this apply's syncs import: their task ids are
                         known after the sync only (the plan shows them as such, the way
                         Terraform shows values known after apply);
10. a project's predictions model version - after every prediction is written: Label Studio
                         refuses a version that no prediction of the project has.
``Plan.steps`` is this order.

A new change kind is one class here with these members, and one method of ``ChangeTarget`` (which
apply implements); the renderer, saved plans and ``plan --json`` need nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from lsts_sync.plan.formatting import config_diff_lines, json_diff, json_resource, value_text
from lsts_sync.resources.state import CorsState, FieldDiff, ProjectState, RecordKind, StorageState, WebhookState

Resource = ProjectState | StorageState | CorsState | WebhookState

# Places in the order above of the steps that are not a resource's create, update or delete (those
# take their resource kind's ``write_order`` or ``delete_order``, in ``resources.state``).
WINDOWS_ORDER = 0
REWRITE_ORDER = 1
ROTATE_ORDER = 4
PREDICTIONS_ORDER = 7
REIMPORT_ORDER = 8
AFTER_SYNC_ORDER = 9  # changes of this order and later run after the syncs
MODEL_VERSION_ORDER = 10


class ChangeTarget(Protocol):
    """What applies changes (``lsts_sync.apply``): one method per change class."""

    def create(self, change: Create) -> None: ...
    def update(self, change: Update) -> None: ...
    def delete(self, change: Delete) -> None: ...
    def rotate(self, change: RotateCredentials) -> None: ...
    def resend_headers(self, change: ResendHeaders) -> None: ...
    def set_predictions(self, change: SetPredictions) -> None: ...
    def reimport(self, change: Reimport) -> None: ...
    def rewrite(self, change: RewriteResults) -> None: ...
    def write_windows(self, change: WriteWindows) -> None: ...
    def attach_predictions(self, change: AttachPredictions) -> None: ...


class _Write:
    """What a create and an update share: they write ``new``, in its resource kind's write order."""

    new: Resource
    action: ClassVar[str]

    @property
    def order(self) -> int:
        return self.new.write_order

    @property
    def resource(self) -> Resource:
        return self.new

    def describe(self) -> str:
        return f"{self.action} {self.new.address}"


@dataclass(frozen=True)
class Create(_Write):
    """A resource to create. ``project_id`` is a new storage's live project (None: created by this plan)."""

    new: Resource
    project_id: int | None = None
    action: ClassVar[str] = "create"

    def text_lines(self) -> list[str]:
        return [f"  + {self.new.headline}", *(f"    {k}: {value_text(k, v)}" for k, v in self.new.shown().items())]

    def to_json(self) -> dict[str, Any]:
        return _json_entry(self.action, self.new)

    def apply(self, target: ChangeTarget) -> None:
        target.create(self)


@dataclass(frozen=True)
class Update(_Write):
    """``old`` is the live resource (its id is the one updated), ``new`` what it becomes.
    ``adopts`` is the id of a resource made by hand (no marker) that this update takes over (``--adopt``)."""

    old: Resource
    new: Resource
    diffs: tuple[FieldDiff, ...]
    adopts: int | None = None
    action: ClassVar[str] = "update"

    def text_lines(self) -> list[str]:
        lines = [f"  ~ {self.new.headline}"]
        if self.adopts is not None:
            lines.append(f"    adopted: id {self.adopts}, made without lsts-sync (--adopt); its marker is written")
        for diff in self.diffs:
            if diff.field == "label_config":
                lines.extend(config_diff_lines(getattr(self.old, "label_config", ""),
                                               getattr(self.new, "label_config", "")))
            else:
                lines.append(f"    {diff.field}: {value_text(diff.field, diff.old)} -> {value_text(diff.field, diff.new)}")
        return lines

    def to_json(self) -> dict[str, Any]:
        entry = {**_json_entry(self.action, self.new), "diff": [json_diff(self.old, self.new, d) for d in self.diffs]}
        return {**entry, "adopts": self.adopts} if self.adopts is not None else entry

    def apply(self, target: ChangeTarget) -> None:
        target.update(self)


@dataclass(frozen=True)
class UpdateModelVersion(Update):
    """The part of a project's update that sets the model version whose predictions labelers see
    (``settings.predictions_model_version``): last, after the predictions it names exist."""

    @property
    def order(self) -> int:
        return MODEL_VERSION_ORDER

    def describe(self) -> str:
        return f"{self.action} {self.new.address} predictions model version"


@dataclass(frozen=True)
class Delete:
    old: Resource
    action: ClassVar[str] = "delete"

    @property
    def order(self) -> int:
        return self.old.delete_order

    @property
    def resource(self) -> Resource:
        return self.old

    def describe(self) -> str:
        return f"delete {self.old.address}"

    def text_lines(self) -> list[str]:
        return [f"  - {self.old.headline}"]

    def to_json(self) -> dict[str, Any]:
        return _json_entry(self.action, self.old)

    def apply(self, target: ChangeTarget) -> None:
        target.delete(self)


@dataclass(frozen=True)
class RotateCredentials:
    """Re-send the environment's AWS credentials to an existing storage (``--rotate-credentials``)."""

    storage: StorageState
    storage_id: int
    action: ClassVar[str] = "rotate"
    order: ClassVar[int] = ROTATE_ORDER

    @property
    def resource(self) -> Resource:
        return self.storage

    def describe(self) -> str:
        return f"rotate credentials of {self.storage.address}"

    def text_lines(self) -> list[str]:
        return [f"  ~ {self.storage.headline}", "    credentials: re-sent from the environment (--rotate-credentials)"]

    def to_json(self) -> dict[str, Any]:
        return _json_entry(self.action, self.storage)

    def apply(self, target: ChangeTarget) -> None:
        target.rotate(self)


@dataclass(frozen=True)
class ResendHeaders:
    """Re-send a webhook's header values from the specs (``--rotate-credentials``): they are never
    read back, so a changed value cannot be seen; this writes it."""

    webhook: WebhookState
    webhook_id: int
    action: ClassVar[str] = "rotate"
    order: ClassVar[int] = ROTATE_ORDER

    @property
    def resource(self) -> Resource:
        return self.webhook

    def describe(self) -> str:
        return f"re-send the headers of {self.webhook.address}"

    def text_lines(self) -> list[str]:
        names = ", ".join(self.webhook.headers)
        return [f"  ~ {self.webhook.headline}", f"    headers: {names} re-sent from the specs (--rotate-credentials)"]

    def to_json(self) -> dict[str, Any]:
        return _json_entry(self.action, self.webhook)

    def apply(self, target: ChangeTarget) -> None:
        target.resend_headers(self)


@dataclass(frozen=True)
class NewPrediction:
    """A prediction to create on task ``task`` (``result``: canonical JSON text of its regions)."""

    task: int
    result: str
    score: float | None = None


@dataclass(frozen=True)
class SetPredictions:
    """Make one model version's predictions in one live project match its Predictions file:
    delete ``delete_ids`` (the predictions being replaced or removed), then create ``add`` in bulk.

    ``added`` counts tasks that get a first prediction of this version, ``replaced`` tasks whose
    prediction changes, ``removed`` predictions on tasks the file no longer names. Only
    predictions of ``model_version`` in this owner's project are ever in ``delete_ids``.
    """

    instance: str
    project: str
    project_id: int
    name: str
    model_version: str
    add: tuple[NewPrediction, ...] = ()
    delete_ids: tuple[int, ...] = ()
    added: int = 0
    replaced: int = 0
    removed: int = 0
    action: ClassVar[str] = "predictions"
    order: ClassVar[int] = PREDICTIONS_ORDER
    resource: ClassVar[None] = None  # predictions are no managed resource: they count apart

    @property
    def address(self) -> str:
        return f"predictions {self.project}/{self.model_version}"

    def describe(self) -> str:
        return f"set {self.address} (+{self.added} ~{self.replaced} -{self.removed})"

    def text_lines(self) -> list[str]:
        """``~ predictions pump-7/iforest-3 (instance local): 2 to add, 1 to replace, 0 to remove``."""
        return [f"  ~ {self.address} (instance {self.instance}): {self.added} to add, "
                f"{self.replaced} to replace, {self.removed} to remove"]

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "address": self.address, "type": "predictions", "project": self.project,
                "model_version": self.model_version, "add": self.added, "replace": self.replaced,
                "remove": self.removed, "delete_ids": list(self.delete_ids), "after_sync": False,
                "tasks": [p.task for p in self.add]}

    def apply(self, target: ChangeTarget) -> None:
        target.set_predictions(self)


@dataclass(frozen=True)
class Reimport:
    """Delete the tasks of a source's objects that changed after their import (``tasks``: task id
    and key), so that the storage's sync imports them again: Label Studio imports a key only once.
    Only tasks that held no annotation, draft or prediction when planned are here, and apply reads
    that again before it deletes any (``--reimport-changed PROJECT``)."""

    instance: str
    project: str
    project_id: int
    storage: str  # the source storage's address, for the reader
    tasks: tuple[tuple[int, str], ...]
    action: ClassVar[str] = "reimport"
    order: ClassVar[int] = REIMPORT_ORDER
    resource: ClassVar[None] = None  # tasks are no managed resource: they count apart

    def describe(self) -> str:
        return f"re-import {len(self.tasks)} changed object(s) of {self.project}"

    def text_lines(self) -> list[str]:
        """``~ reimport pump-7: 2 task(s) of changed objects deleted, then imported again by the sync``."""
        shown = ", ".join(key for _, key in self.tasks[:3]) + (", ..." if len(self.tasks) > 3 else "")
        return [f"  ~ reimport {self.project} (instance {self.instance}): {len(self.tasks)} task(s) of changed "
                f"objects ({shown}) deleted, then imported again by the sync of {self.storage}"]

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "address": f"reimport {self.project}", "type": "reimport",
                "project": self.project, "tasks": [task for task, _ in self.tasks],
                "keys": [key for _, key in self.tasks]}

    def apply(self, target: ChangeTarget) -> None:
        target.reimport(self)


@dataclass(frozen=True)
class RecordWrite:
    """One annotation, draft or prediction to save with ``new`` as its result (JSON text); ``old``
    is its result as read, which the backup keeps."""

    kind: RecordKind
    id: int
    task: int
    old: str
    new: str


@dataclass(frozen=True)
class RewriteResults:
    """Carry renames of labels, fields and choices and/or a time-format change into one live
    project's results (``plan.rewrites`` decides what and in which order). ``writes`` run in order;
    ``lost_drafts`` are the drafts Label Studio deletes when the annotation they edit is saved
    (backed up, never written). ``relabeled`` counts regions, annotations, drafts and predictions
    that the label renames (``renames``) change, ``fields_renamed`` and ``choices_renamed`` the same
    for the renames of fields (``(former, field)``) and of choices (``(field, former, value)``);
    ``retime`` is the (old, new) time format (None: numbers) and ``retimed`` the regions it moves.
    ``label_config`` is the live template before the change (for the backup)."""

    instance: str
    project: str
    project_id: int
    writes: tuple[RecordWrite, ...]
    lost_drafts: tuple[RecordWrite, ...] = ()
    renames: tuple[tuple[str, str], ...] = ()
    relabeled: tuple[int, int, int, int] = (0, 0, 0, 0)
    retime: tuple[str | None, str | None] | None = None
    retimed: int = 0
    label_config: str = ""
    field_renames: tuple[tuple[str, str], ...] = ()
    fields_renamed: tuple[int, int, int, int] = (0, 0, 0, 0)
    choice_renames: tuple[tuple[str, str, str], ...] = ()
    choices_renamed: tuple[int, int, int, int] = (0, 0, 0, 0)
    action: ClassVar[str] = "rewrite"
    order: ClassVar[int] = REWRITE_ORDER
    resource: ClassVar[None] = None  # results are no managed resource

    @property
    def relabel_text(self) -> str:
        return ", ".join(f"{old} → {new}" for old, new in self.renames)

    def _renames(self) -> list[tuple[str, str, tuple[int, int, int, int], str]]:
        """``(step, what is renamed, its counts, what it counts)`` of each kind of rename the step makes."""
        found = [("relabel", self.relabel_text, self.relabeled, "region(s)")] if self.renames else []
        if self.field_renames:
            found.append(("rename field", ", ".join(f"{old} → {new}" for old, new in self.field_renames),
                          self.fields_renamed, "result(s)"))
        if self.choice_renames:
            found.append(("rename choice", ", ".join(f"{old} → {new} of {name}" for name, old, new in self.choice_renames),
                          self.choices_renamed, "result(s)"))
        return found

    def describe(self) -> str:
        what = [f"{step} {self.project}: {text}" for step, text, _, _ in self._renames()]
        what += [f"retime {self.project}"] if self.retime else []
        return " and ".join(what)

    def text_lines(self) -> list[str]:
        """``~ relabel P: Missing → Gap (3 region(s) in 1 annotation(s), 1 draft(s), 1 prediction(s))``,
        ``~ rename field P: sev → severity (2 result(s) in ...)``, ``~ rename choice P: severe → high
        of severity (1 result(s) in ...)`` and/or ``~ retime P: 40 region(s) from '%Y-%m-%d' to
        '%Y-%m-%dT%H:%M:%S'``."""
        lines = []
        for step, text, (items, in_annotations, drafts, predictions), unit in self._renames():
            lines.append(f"  ~ {step} {self.project}: {text} ({items} {unit} in {in_annotations} "
                         f"annotation(s), {drafts} draft(s), {predictions} prediction(s))")
        if self.retime:
            old, new = ("numbers" if f is None else repr(f) for f in self.retime)
            lines.append(f"  ~ retime {self.project}: {self.retimed} region(s) from {old} to {new}")
        kinds = [w.kind for w in self.writes]
        lines.append(f"    saves {kinds.count('annotation')} annotation(s), {kinds.count('draft')} draft(s), "
                     f"{kinds.count('prediction')} prediction(s); what they held is backed up first")
        return lines

    def to_json(self) -> dict[str, Any]:
        regions, annotations, drafts, predictions = self.relabeled

        def counted(counts: tuple[int, int, int, int]) -> dict[str, int]:
            return dict(zip(("results", "annotations", "drafts", "predictions"), counts, strict=True))

        return {"action": self.action, "address": f"results {self.project}", "type": "results",
                "project": self.project, "renames": [list(pair) for pair in self.renames],
                "relabeled": {"regions": regions, "annotations": annotations, "drafts": drafts,
                              "predictions": predictions},
                "field_renames": [list(pair) for pair in self.field_renames],
                "fields_renamed": counted(self.fields_renamed),
                "choice_renames": [list(triple) for triple in self.choice_renames],
                "choices_renamed": counted(self.choices_renamed),
                "retime": list(self.retime) if self.retime else None, "retimed": self.retimed,
                "writes": [{"kind": w.kind, "id": w.id, "task": w.task} for w in self.writes],
                "lost_drafts": [w.id for w in self.lost_drafts]}

    def apply(self, target: ChangeTarget) -> None:
        target.rewrite(self)




@dataclass(frozen=True)
class ObjectWrite:
    """The window files of one original object to write (``write``, each with its planned MD5 in
    ``md5s``, empty for a new window, which is not hashed) and to delete (``delete``: whole keys),
    then its ``manifest`` text (empty: the object is gone and its files are pruned; apply puts each
    written window's ETag in it). ``etag`` is the object's version the plan read:
    apply reads exactly that version, or stops."""

    key: str
    etag: str
    size: int
    write: tuple[str, ...]
    md5s: tuple[str, ...]
    delete: tuple[str, ...]
    manifest: str
    rewritten: int = 0  # of ``write``, files that exist with other bytes


@dataclass(frozen=True)
class WriteWindows:
    """Make a staged project's window folder match its source: ``+ windows PROJECT: 124 file(s)
    from 3 object(s)``. Written before the storages, so a new import storage finds them."""

    instance: str
    project: str
    bucket: str
    folder: str
    objects: tuple[ObjectWrite, ...]
    spec: str = ""  # the Project spec as JSON: apply cuts the objects again with exactly it
    action: ClassVar[str] = "windows"
    order: ClassVar[int] = WINDOWS_ORDER
    resource: ClassVar[None] = None  # window files are no managed resource: they count apart

    @property
    def files(self) -> int:
        return sum(len(o.write) for o in self.objects)

    @property
    def deleted(self) -> int:
        return sum(len([k for k in o.delete if k.endswith(".csv")]) for o in self.objects)

    @property
    def sources(self) -> int:
        return sum(1 for o in self.objects if o.write)

    def describe(self) -> str:
        return f"write windows {self.project} ({self.files} file(s), {self.deleted} deleted)"

    def text_lines(self) -> list[str]:
        """``+ windows pump-7: 124 file(s) from 3 object(s)`` and what is rewritten or deleted."""
        rewritten = sum(o.rewritten for o in self.objects)
        more = ([f"{rewritten} rewritten"] if rewritten else []) + ([f"{self.deleted} deleted"] if self.deleted else [])
        lines = [f"  + windows {self.project}: {self.files} file(s) from {self.sources} object(s)"
                 + (f" ({', '.join(more)})" if more else "")]
        lines += [f"    s3://{self.bucket}/{o.key}: {len(o.write)} window(s)" for o in self.objects if o.write][:10]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "address": f"windows {self.project}", "type": "windows",
                "project": self.project, "bucket": self.bucket, "folder": self.folder, "files": self.files,
                "deleted": self.deleted, "objects": [{"key": o.key, "write": list(o.write), "delete": list(o.delete)}
                                                    for o in self.objects]}

    def apply(self, target: ChangeTarget) -> None:
        target.write_windows(self)


@dataclass(frozen=True)
class ObjectPrediction:
    """A prediction for the task that a sync imports from the S3 object ``key`` (``result``:
    canonical JSON text of its regions)."""

    key: str
    result: str
    score: float | None = None


@dataclass(frozen=True)
class AttachPredictions:
    """Predictions of one model version for objects that this apply's sync imports into a project.

    Their tasks do not exist when planning, so the step names objects, not tasks: after the syncs,
    apply reads the project's task list once, takes the tasks imported from ``objects``' keys and
    creates these predictions in bulk. Nothing is compared again (a task a sync has just made has
    no prediction) and nothing is deleted. ``project_id`` is None when this plan creates the project
    (apply takes the id its create returned).
    """

    instance: str
    project: str
    project_id: int | None
    name: str
    model_version: str
    objects: tuple[ObjectPrediction, ...] = ()
    action: ClassVar[str] = "predictions"
    order: ClassVar[int] = AFTER_SYNC_ORDER
    resource: ClassVar[None] = None  # predictions are no managed resource: they count apart
    replaced: ClassVar[int] = 0
    removed: ClassVar[int] = 0

    @property
    def added(self) -> int:
        return len(self.objects)

    @property
    def address(self) -> str:
        return f"predictions {self.project}/{self.model_version}"

    def describe(self) -> str:
        return f"set {self.address} on the tasks synced (+{self.added})"

    def text_lines(self) -> list[str]:
        """``+ predictions pump-7/iforest-3 (instance local): 2 to add after the sync (tasks known after apply)``."""
        return [f"  + {self.address} (instance {self.instance}): {self.added} to add after the sync "
                "(tasks known after apply)"]

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "address": self.address, "type": "predictions", "project": self.project,
                "model_version": self.model_version, "add": self.added, "replace": 0, "remove": 0,
                "delete_ids": [], "after_sync": True, "tasks": "(known after apply)",
                "objects": [o.key for o in self.objects]}

    def apply(self, target: ChangeTarget) -> None:
        target.attach_predictions(self)


Change = (Create | Update | UpdateModelVersion | Delete | RotateCredentials | ResendHeaders | SetPredictions | Reimport
          | RewriteResults | WriteWindows | AttachPredictions)


@dataclass(frozen=True)
class Sync:
    """Import new objects of a source storage as tasks (not counted as a change).

    ``storage_id`` is None when this plan creates the storage.
    """

    storage: StorageState
    storage_id: int | None
    reason: str
    last_sync: str | None = None  # the live storage's last sync when planned: confirms a lost sync started
    pending: int = 0  # matching objects that are not yet tasks
    action: ClassVar[str] = "sync"

    def describe(self) -> str:
        return f"sync {self.storage.address}"

    def text_lines(self) -> list[str]:
        return [f"  » sync {self.storage.address} ({self.reason})"]


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


def _json_entry(action: str, resource: Resource) -> dict[str, Any]:
    return {"action": action, "address": resource.address, "type": resource.kind, "resource": json_resource(resource)}
