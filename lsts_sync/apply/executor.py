"""Apply exactly the steps of a Plan, in its order. Apply never diffs again and needs nothing but
the Plan: every step carries the ids it acts on, and ids of resources this plan creates are taken
from the creates' answers.

Syncs run after the changes (``Plan.steps``): every sync is started first, then each is awaited;
one whose start answer already says it finished is not polled. Then the predictions for the
objects the syncs imported: their task ids are read once per project, for the objects the Plan
names (the only thing apply reads that the Plan does not carry: those tasks did not exist). On a failure part-way, ``ApplyFailed`` carries what was done and
what was not; since every create writes the ownership marker, a re-run finds what was created and
converges without duplicates.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from lsts_sync.core.errors import LstsError
from lsts_sync.core.files import write_atomic
from lsts_sync.core.secrets import redact
from lsts_sync.live.connections import Connections
from lsts_sync.plan.build import Plan
from lsts_sync.plan.changes import (
    AFTER_SYNC_ORDER,
    AttachPredictions,
    Create,
    Delete,
    ObjectWrite,
    RecordWrite,
    Reimport,
    ResendHeaders,
    RewriteResults,
    RotateCredentials,
    SetPredictions,
    Sync,
    Update,
    WriteWindows,
)
from lsts_sync.resources.protocols import Credentials
from lsts_sync.resources.state import CorsState, ProjectState, StorageState, WebhookState
from lsts_sync.resources.windows import fill_manifest, manifest_key, window_key
from lsts_sync.spec.models import ProjectSpec

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
FINAL = ("completed", "failed", "completed_with_errors")
BACKUP_DIR = Path(".lsts-sync/backups")  # relative to the working directory; apply --backup-dir
BACKUP_FORMAT = 1
POLL_SECONDS = 0.5


@dataclass
class ApplyResult:
    done: list[str] = field(default_factory=list)
    project_ids: dict[tuple[str, str], int] = field(default_factory=dict)  # projects this apply created
    synced: list[tuple[str, str, int]] = field(default_factory=list)  # (storage, status, tasks imported)


class ApplyFailed(LstsError):
    def __init__(self, message: str, result: ApplyResult, remaining: list[str]):
        super().__init__(message)
        self.result, self.remaining = result, remaining


class _Applier:
    """Runs one change at a time (each change calls back the method named for its class: the
    ``ChangeTarget`` of ``plan.changes``); remembers the ids that creates return."""

    def __init__(self, conn: Connections, backup_dir: Path = BACKUP_DIR, progress: Progress = lambda line: None):
        self.conn = conn
        self.backup_dir, self.progress = backup_dir, progress
        self.project_ids: dict[tuple[str, str], int] = {}
        self.storage_ids: dict[tuple[str, str, str], int] = {}
        self._credentials: Credentials | None = None
        # What a create, update or delete does, by resource kind.
        self._writers: dict[str, _Writer] = {"cors": _CorsWriter(self), "project": _ProjectWriter(self),
                                             "storage": _StorageWriter(self), "webhook": _WebhookWriter(self)}

    def credentials(self, storage: StorageState) -> Credentials | None:
        if storage.credentials == "none":
            return None
        if self._credentials is None:
            self._credentials = self.conn.s3.credentials()
        return self._credentials

    def create(self, change: Create) -> None:
        self._writers[change.new.kind].create(change)

    def update(self, change: Update) -> None:
        self._writers[change.new.kind].update(change)

    def delete(self, change: Delete) -> None:
        self._writers[change.old.kind].delete(change)

    def rotate(self, change: RotateCredentials) -> None:
        ls = self.conn.instances[change.storage.instance]
        ls.update_storage(change.storage_id, change.storage, self.credentials(change.storage))

    def resend_headers(self, change: ResendHeaders) -> None:
        ls = self.conn.instances[change.webhook.instance]
        ls.update_webhook(change.webhook_id, change.webhook, self.headers(change.webhook))

    def project_id(self, planned: int | None, instance: str, project: str, address: str) -> int:
        """The project's id from the plan, or from this apply's create of the project (a plan
        that creates a project cannot know its id)."""
        found = planned or self.project_ids.get((instance, project))
        if found is None:
            raise LstsError(f"{address}: the plan has no id for project {project}")
        return found

    def headers(self, webhook: WebhookState) -> dict[str, str]:
        """The webhook's header values, from the specs (never from the Plan, which holds names only)."""
        values = dict(self.conn.webhook_headers.get(webhook.key, {}))
        if sorted(values) != list(webhook.headers):
            raise LstsError(f"{webhook.address}: the specs' headers ({', '.join(sorted(values)) or 'none'}) are not "
                            f"the plan's ({', '.join(webhook.headers) or 'none'}); run plan again")
        return values

    def set_predictions(self, change: SetPredictions) -> None:
        """Delete the predictions being replaced or removed, then create the new ones in bulk:
        a labeler never sees two predictions of one version on a task."""
        ls = self.conn.instances[change.instance]
        for prediction_id in change.delete_ids:
            ls.delete_prediction(prediction_id, change.project)
        if change.add:
            ls.create_predictions(change.project_id, change.project, change.model_version,
                                  [(p.task, p.result, p.score) for p in change.add])

    def reimport(self, change: Reimport) -> None:
        """Delete the tasks of changed objects so the sync imports them again; first read again which
        tasks hold work (a labeler may have started since the plan): if any planned one does, raise
        and delete nothing (fail closed; a new plan leaves it out)."""
        ls = self.conn.instances[change.instance]
        worked = ls.read_worked_tasks(change.project_id, change.project)
        started = sorted(task for task, _ in change.tasks if task in worked)
        if started:
            raise LstsError(f"reimport {change.project}: task(s) {', '.join(map(str, started))} now hold annotations, "
                            "drafts or predictions; no task was deleted: plan again")
        for task, _ in change.tasks:
            ls.delete_task(task, change.project)
    def rewrite(self, change: RewriteResults) -> None:
        """Back up every record the rewrite saves or loses (``write_backup``), then save them in
        the plan's order."""
        path = write_backup(change, self.backup_dir)
        self.progress(f"Saved what {change.describe()} rewrites to {path} (to restore it: "
                      "docs/changing-labeled-projects.md)")
        ls = self.conn.instances[change.instance]
        for write in change.writes:
            ls.rewrite_result(write.kind, write.id, write.new, change.project)

    def write_windows(self, change: WriteWindows) -> None:
        """Cut each object again (objects ``conn.parallelism`` at a time) and write the planned
        windows, then delete the files planned for deletion, then the object's manifest (last: an
        apply cut short leaves no manifest claiming windows it did not write; a re-run converges)."""
        project = ProjectSpec.model_validate_json(change.spec)
        self.conn.map(lambda obj: self._object_windows(change, project, obj), list(change.objects))

    def _object_windows(self, change: WriteWindows, project: ProjectSpec, obj: ObjectWrite) -> None:
        from lsts_sync.data.staging import reader
        from lsts_sync.data.windows import cut  # Arrow loads only when windows are written

        s3, bucket = self.conn.s3, change.bucket
        where = f"s3://{bucket}/{obj.key}"
        wanted = dict(zip(obj.write, obj.md5s, strict=True))  # an empty MD5: a new window, not hashed
        etags: dict[str, str] = {}
        if wanted:
            for window, data in cut(project, reader(s3, bucket, obj.key, obj.etag, obj.size), obj.key, where,
                                    hashed=lambda name: bool(wanted.get(name))):
                if window.name not in wanted:
                    continue
                planned = wanted.pop(window.name)
                if planned and window.md5 != planned:
                    raise LstsError(f"{where}: window {window.name} differs from the plan; run plan again")
                etags[window.name] = s3.put_object(f"s3://{bucket}/{window_key(change.folder, obj.key, window.name)}",
                                                   data)
            if wanted:
                raise LstsError(f"{where}: window(s) {', '.join(sorted(wanted))} of the plan are no longer in the "
                                "object; run plan again")
        if obj.delete:
            s3.delete_keys(bucket, list(obj.delete))
        if obj.manifest:
            s3.put_object(f"s3://{bucket}/{manifest_key(change.folder, obj.key)}",
                          fill_manifest(obj.manifest, etags).encode())

    def attach_predictions(self, change: AttachPredictions) -> None:
        """Find the tasks the syncs imported from the objects the step names, and create their
        predictions in bulk. An object that is no task after the sync is an error, after the
        others' predictions are made (the next plan sees the tasks there are and converges)."""
        project_id = self.project_id(change.project_id, change.instance, change.project, change.address)
        ls = self.conn.instances[change.instance]
        wanted = {o.key for o in change.objects}
        tasks: dict[str, list[int]] = {}
        for task in ls.read_tasks(ProjectState(change.instance, change.project, "", "", "", id=project_id)):
            if task.key in wanted and task.id is not None:
                tasks.setdefault(task.key, []).append(task.id)
        found = [(task, o.result, o.score) for o in change.objects for task in tasks.get(o.key, ())]
        if found:
            ls.create_predictions(project_id, change.project, change.model_version, found)
        missing = sorted(wanted - set(tasks))
        if missing:
            raise LstsError(f"{change.address}: {len(missing)} object(s) are no task after the sync, e.g. "
                            f"{missing[0]}; their predictions were not made (run plan again)")

    def start_sync(self, sync: Sync) -> tuple[int, dict[str, Any] | None]:
        storage_id = sync.storage_id or self.storage_ids.get(sync.storage.key)
        if storage_id is None:
            raise LstsError(f"{sync.storage.address}: the plan has no id for this storage")
        ls = self.conn.instances[sync.storage.instance]
        return storage_id, ls.sync_storage(storage_id, sync.storage.marker_name, sync.last_sync)

    def await_sync(self, sync: Sync, storage_id: int, deadline: float, progress: Progress) -> tuple[str, int]:
        ls = self.conn.instances[sync.storage.instance]
        while True:
            status = ls.storage_status(storage_id)
            if status.get("status") in FINAL:
                return status["status"], int(status.get("last_sync_count") or 0)
            if time.monotonic() > deadline:
                raise LstsError(f"{sync.storage.address}: sync still {status.get('status')} at the deadline")
            progress(f"  {sync.storage.address}: {status.get('status')}...")
            time.sleep(POLL_SECONDS)


class _Writer(Protocol):
    """Create, update and delete of one resource kind."""

    def create(self, change: Create) -> None: ...
    def update(self, change: Update) -> None: ...
    def delete(self, change: Delete) -> None: ...


class _CorsWriter:
    """A bucket's CORS configuration is written whole: the other rules as read, then ours (or none)."""

    def __init__(self, applier: _Applier) -> None:
        self.s3 = applier.conn.s3

    def create(self, change: Create) -> None:
        self.s3.write_cors(cast(CorsState, change.new))

    def update(self, change: Update) -> None:
        self.s3.write_cors(cast(CorsState, change.new))

    def delete(self, change: Delete) -> None:
        self.s3.write_cors(cast(CorsState, change.old))


class _ProjectWriter:
    def __init__(self, applier: _Applier) -> None:
        self.applier = applier

    def create(self, change: Create) -> None:
        project = cast(ProjectState, change.new)
        ls = self.applier.conn.instances[project.instance]
        self.applier.project_ids[project.key] = ls.create_project(project)

    def update(self, change: Update) -> None:
        project = cast(ProjectState, change.new)
        ls = self.applier.conn.instances[project.instance]
        ls.update_project(_id(change.old), project, [d.field for d in change.diffs])

    def delete(self, change: Delete) -> None:
        project = cast(ProjectState, change.old)
        self.applier.conn.instances[project.instance].delete_project(project)


class _StorageWriter:
    def __init__(self, applier: _Applier) -> None:
        self.applier = applier

    def create(self, change: Create) -> None:
        """A new storage goes to its project's id from the plan, or from this apply's create of it."""
        new = cast(StorageState, change.new)
        project_id = self.applier.project_id(change.project_id, new.instance, new.project, new.address)
        ls = self.applier.conn.instances[new.instance]
        self.applier.storage_ids[new.key] = ls.create_storage(new, project_id, self.applier.credentials(new))

    def update(self, change: Update) -> None:
        new = cast(StorageState, change.new)
        self.applier.conn.instances[new.instance].update_storage(_id(change.old), new)

    def delete(self, change: Delete) -> None:
        old = cast(StorageState, change.old)
        self.applier.conn.instances[old.instance].delete_storage(old)


def write_backup(change: RewriteResults, folder: Path) -> Path:
    """Write ``folder/<project>-<UTC time>.json`` whole or not at all (``write_atomic``, mode 0600)
    before the first record is saved: the project's template and every record's result as read
    (``lost_drafts`` too: Label Studio deletes them), enough to put each one back with a PATCH.
    Raises OSError (nothing was rewritten) when it cannot be written."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path = folder / f"{change.project}-{stamp}.json"
    body = {"format_version": BACKUP_FORMAT, "instance": change.instance, "project": change.project,
            "project_id": change.project_id, "step": change.describe(), "label_config": change.label_config,
            "records": [_backed_up(w, "saved") for w in change.writes]
            + [_backed_up(w, "deleted by Label Studio") for w in change.lost_drafts]}
    write_atomic(path, (json.dumps(body, indent=1, ensure_ascii=False) + "\n").encode(), 0o600)
    return path


def _backed_up(write: RecordWrite, fate: str) -> dict[str, Any]:
    return {"kind": write.kind, "id": write.id, "task": write.task, "fate": fate, "result": json.loads(write.old)}


class _WebhookWriter:
    """Creates and updates send every field and the header values (from the specs)."""

    def __init__(self, applier: _Applier) -> None:
        self.applier = applier

    def create(self, change: Create) -> None:
        new = cast(WebhookState, change.new)
        project_id = self.applier.project_id(change.project_id, new.instance, new.project, new.address)
        self.applier.conn.instances[new.instance].create_webhook(new, project_id, self.applier.headers(new))

    def update(self, change: Update) -> None:
        new = cast(WebhookState, change.new)
        self.applier.conn.instances[new.instance].update_webhook(_id(change.old), new, self.applier.headers(new))

    def delete(self, change: Delete) -> None:
        old = cast(WebhookState, change.old)
        self.applier.conn.instances[old.instance].delete_webhook(old)


def _id(resource: object) -> int:
    value = getattr(resource, "id", None)
    if not isinstance(value, int):
        raise LstsError(f"{getattr(resource, 'address', resource)}: the plan has no live id for it")
    return value


def apply_plan(plan: Plan, conn: Connections, *, progress: Progress, sync_timeout: float = 600.0,
               before_step: Callable[[], None] = lambda: None, backup_dir: Path = BACKUP_DIR) -> ApplyResult:
    """Run ``plan``; returns what was done. Raises ApplyFailed (with done/remaining) on an error.

    A plan with blocking checks is refused before anything is written. ``before_step`` runs before
    every step (the orchestrator renews the apply lock there; raising stops the apply). A rewrite
    step backs up what it changes under ``backup_dir`` first.
    """
    if plan.blockers:
        raise LstsError(f"apply refused: {len(plan.blockers)} safety check(s) block this plan; nothing was changed")
    applier, result = _Applier(conn, backup_dir, progress), ApplyResult()
    before = [c for c in plan.changes if c.order < AFTER_SYNC_ORDER]
    after = [c for c in plan.changes if c.order >= AFTER_SYNC_ORDER]
    try:
        for step in before:
            before_step()
            step.apply(applier)
            _done(result, step.describe(), progress)
        result.project_ids = dict(applier.project_ids)
        _run_syncs(plan.syncs, applier, result, progress, time.monotonic() + sync_timeout, before_step)
        for step in after:
            before_step()
            step.apply(applier)
            _done(result, step.describe(), progress)
    except Exception as exc:  # any failure part-way must say what was done and what was not
        message = str(exc) if isinstance(exc, LstsError) else redact(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, OSError) and exc.filename:
            message = f"cannot write {exc.filename}: {exc.strerror or exc}"
        # every step done is in result.done, in the order of plan.steps: the rest was not done
        raise ApplyFailed(message, result, [s.describe() for s in plan.steps[len(result.done):]]) from None
    return result


def _run_syncs(syncs: tuple[Sync, ...], applier: _Applier, result: ApplyResult, progress: Progress,
               deadline: float, before_step: Callable[[], None]) -> None:
    """Start every sync, then await each (one whose start answer says it finished is not polled)."""
    started = []
    for sync in syncs:
        before_step()
        started.append((sync, *applier.start_sync(sync)))
    for sync, storage_id, answer in started:
        if answer and answer.get("status") in FINAL:  # finished within the start request: no poll
            status, count = answer["status"], int(answer.get("last_sync_count") or 0)
        else:
            status, count = applier.await_sync(sync, storage_id, deadline, progress)
        result.synced.append((sync.storage.address, status, count))
        if status != "completed":
            raise LstsError(f"{sync.storage.address}: sync ended {status}")
        _done(result, sync.describe(), progress)


def _done(result: ApplyResult, label: str, progress: Progress) -> None:
    result.done.append(label)
    progress(f"{label}: done")
