"""Operations on one Label Studio: read managed projects, storages and label usage; write changes.

Built on ``LabelStudioHttp`` (auth, retries by kind, errors, redaction, paging) and the pure
mapping of ``ls_mapping``. Every answer a decision depends on is checked for shape: an unexpected
payload is an error, never an empty result.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

from lsts_sync.live.ls_http import HttpError, LabelStudioHttp  # first: it imports httpx without httpx's CLI (see there)

import httpx  # noqa: E402  (isort: skip)
from lsts_sync.core.errors import LstsError
from lsts_sync.core.jsonstream import JsonArrayFile, JsonStreamError
from lsts_sync.core.stats import RequestStats
from lsts_sync.live.ls_mapping import (
    PROJECT_FIELDS,
    MappingError,
    annotated_from_tasks,
    any_storage_from_json,
    any_webhook_from_json,
    prediction_body,
    prediction_from_json,
    project_body,
    project_from_json,
    storage_body,
    storage_from_json,
    task_file_from_json,
    usage_from_tasks,
    webhook_body,
    webhook_from_json,
)
from lsts_sync.resources.facts import TaskFile
from lsts_sync.resources.markers import Marker
from lsts_sync.resources.protocols import Credentials
from lsts_sync.resources.state import (
    LivePrediction,
    ProjectState,
    RecordKind,
    StorageState,
    Usage,
    WebhookState,
    canonical_result,
)
from lsts_sync.spec.models import InstanceSpec

log = logging.getLogger(__name__)
ROLE_PATH = {"source": "api/storages/s3", "target": "api/storages/export/s3"}
SNAPSHOT_SECONDS = 600.0  # how long an export snapshot may take to build
STARTED = ("queued", "in_progress", "completed", "completed_with_errors", "failed")
PREDICTIONS_PER_REQUEST = 500
RECORD_PATH = {"annotation": "api/annotations", "draft": "api/drafts", "prediction": "api/predictions"}  # the import API's own batch size (PREDICTION_IMPORT_BATCH_SIZE)


class TaskSnapshot(JsonArrayFile):
    """An export snapshot in a file: iterated, its tasks (objects); anything else raises
    MappingError naming ``what`` when iteration reaches it."""

    def __init__(self, source: BinaryIO, what: str):
        super().__init__(source)
        self.what = what

    def __iter__(self) -> Iterator[dict]:
        try:
            for task in super().__iter__():
                if not isinstance(task, dict):
                    raise MappingError(f"{self.what} is not a list of tasks (an element is not an object)")
                yield task
        except JsonStreamError as exc:
            raise MappingError(f"{self.what} is not a JSON list of tasks: {exc}") from None


class LabelStudioInstance:
    """One Label Studio server named by an Instance spec."""

    def __init__(self, spec: InstanceSpec, stats: RequestStats, http: LabelStudioHttp | None = None):
        self.spec = spec
        self.http = http or LabelStudioHttp(spec.name, spec.url, spec.token.get_secret_value(), stats,
                                            timeout=spec.timeout)

    # -- reads ------------------------------------------------------------------------------
    def read_projects(self) -> list[tuple[Marker | None, ProjectState]]:
        """Every project (all pages), each with its marker (None: not managed by lsts-sync)."""
        items = self.http.get_list("api/projects/", "list projects", include=PROJECT_FIELDS)
        return [project_from_json(self.spec.name, item) for item in items]

    def read_storages(self, project: ProjectState) -> list[StorageState]:
        """The project's S3 import and export storages that carry an lsts-sync marker (any owner)."""
        found: list[StorageState] = []
        for role, path in ROLE_PATH.items():
            items = self.http.get_list(path, f"list {role} storages of project {project.name}", project=project.id)
            found.extend(s for s in (storage_from_json(self.spec.name, project.name, role, i) for i in items) if s)
        return found

    def read_all_storages(self, project: ProjectState) -> list[StorageState]:
        """Every S3 import and export storage of the project, with or without a marker (owner ``""``:
        none); ``project`` is ``project.name``."""
        found: list[StorageState] = []
        for role, path in ROLE_PATH.items():
            items = self.http.get_list(path, f"list {role} storages of project {project.name or project.title}",
                                       project=project.id)
            found.extend(any_storage_from_json(self.spec.name, project.name, role, i) for i in items)
        return found

    def read_webhooks(self, project: ProjectState) -> list[WebhookState]:
        """The project's webhooks that carry an lsts-sync marker (any owner); header values are
        dropped by the mapping as each item is read."""
        items = self.http.get_list("api/webhooks/", f"list webhooks of project {project.name}", project=project.id)
        return [w for w in (webhook_from_json(self.spec.name, project.name, i) for i in items) if w]

    def read_all_webhooks(self, project: ProjectState) -> list[WebhookState]:
        """Every webhook of the project, marked or not (``import``); header values are dropped by
        the mapping as each item is read."""
        name = project.name or project.title
        items = self.http.get_list("api/webhooks/", f"list webhooks of project {name}", project=project.id)
        return [any_webhook_from_json(self.spec.name, project.name, i) for i in items]

    def read_tasks(self, project: ProjectState) -> list[TaskFile]:
        """The S3 key and creation time of every task of the project (pages of the tasks API,
        which answers ``{"tasks": [...], "total": N}``; read until ``total`` items are in)."""
        what = f"list tasks of project {project.name}"
        found: list[TaskFile] = []
        page = 1
        while True:
            data = self.http.get_json("api/tasks/", what, project=project.id, page=page, page_size=self.http.page_size,
                                      fields="task_only", include="id,storage_filename,created_at")
            if not isinstance(data, dict) or not isinstance(data.get("tasks"), list) \
                    or not isinstance(data.get("total"), int):
                raise MappingError(f"instance {self.spec.name}: {what}: unexpected answer")
            found.extend(task_file_from_json(item, what) for item in data["tasks"])
            if len(found) >= data["total"] or not data["tasks"]:
                break
            page += 1
        if len(found) != data["total"]:
            raise LstsError(f"instance {self.spec.name}: {what}: read {len(found)} tasks but the server counts "
                            f"{data['total']}; run again")
        return found

    def read_usage(self, project: ProjectState) -> Usage:
        """What the project's annotations, drafts and predictions use, from one export of all tasks
        and the project's prediction list (the plain export lists predictions by id only).

        The plain export (``download_all_tasks``: tasks with only drafts too, drafts expanded) is one
        read; a server without it (Label Studio Enterprise answers 404) is read through a snapshot
        with the same content. A failure or an odd payload raises: the guard fails closed.
        """
        name = project.name or project.title
        return usage_from_tasks(self._all_tasks(project.id, name), name, self.read_predictions(project))  # type: ignore[arg-type]

    def read_worked_tasks(self, project_id: int, name: str) -> frozenset[int]:
        """Ids of the tasks holding an annotation, a draft or a prediction, from the same export as
        ``read_usage`` (every user's drafts are in it; the task API shows only the caller's)."""
        tasks = self._all_tasks(project_id, name)
        if not isinstance(tasks, list):
            raise MappingError(f"instance {self.spec.name}: the export of project {name} is not a list of tasks")
        worked = set()
        for task in tasks:
            if not isinstance(task, dict) or not isinstance(task.get("id"), int):
                raise MappingError(f"instance {self.spec.name}: the export of project {name} holds a task without id")
            if task.get("annotations") or task.get("drafts") or task.get("predictions"):
                worked.add(task["id"])
        return frozenset(worked)

    def _all_tasks(self, project_id: int, name: str) -> Any:
        """Every task of the project with annotations, drafts and predictions: the plain export
        (``download_all_tasks``), or a snapshot where the server has none (it answers 404)."""
        try:
            tasks = self._export(project_id, name, download_all_tasks="true")
        except HttpError as exc:
            if exc.status != 404:
                raise
            tasks = list(self._tasks(self._snapshot(project_id, name, all_tasks=True), name))
        return tasks

    def delete_task(self, task_id: int, name: str) -> None:
        try:
            self.http.call("DELETE", f"api/tasks/{task_id}/", f"delete task {task_id} of project {name}", kind="delete")
        except HttpError as exc:
            if exc.status != 404:
                raise

    def annotated_files(self, project: ProjectState) -> frozenset[str]:
        """Source keys of the tasks with an annotation or a draft, from one export of all tasks
        (as ``read_usage`` reads it; a failure raises: the windows guard fails closed)."""
        name = project.name or project.title
        try:
            tasks = self._export(project.id, name, download_all_tasks="true")
        except HttpError as exc:
            if exc.status != 404:
                raise
            tasks = list(self._tasks(self._snapshot(project.id, name, all_tasks=True), name))  # type: ignore[arg-type]
        return annotated_from_tasks(tasks, name)

    def export_tasks(self, project_id: int, name: str, all_tasks: bool = False) -> TaskSnapshot:
        """Every annotated task of a project (``all_tasks``: every task) with its annotations, from
        an export snapshot.

        The snapshot is downloaded to a temporary file (then deleted on the server) and its tasks
        are decoded one at a time as the caller iterates (``jsonstream``), so memory does not grow
        with the JSON text. A payload that is not a list of task objects raises MappingError when
        iteration reaches the fault, before the caller has written anything. The file is also
        readable element by element as JSON text (``JsonArrayFile.texts``).
        """
        return self._tasks(self._snapshot(project_id, name, all_tasks=all_tasks), name)

    def _tasks(self, file: BinaryIO, name: str) -> TaskSnapshot:
        return TaskSnapshot(file, f"instance {self.spec.name}: the export of project {name}")

    def _export(self, project_id: int | None, name: str, **params: str) -> Any:
        response = self.http.call("GET", f"api/projects/{project_id}/export", f"export project {name}",
                                  params={"exportType": "JSON", **params})
        return self._decode_export(response, name)

    def _snapshot(self, project_id: int, name: str, *, all_tasks: bool) -> BinaryIO:
        """The snapshot export API: create a snapshot, wait until it is completed, download it as
        JSON into a temporary file (returned, positioned at its start), delete it. Every annotation
        (cancelled and ground truth too), drafts and predictions in full, annotators by id; with
        ``all_tasks`` tasks without annotations are in it too."""
        what = f"export project {name}"
        body = {"title": "lsts-sync", "task_filter_options": {"only_with_annotations": not all_tasks},
                "annotation_filter_options": {"usual": True, "ground_truth": True, "skipped": True},
                "serialization_options": {"drafts": {"only_id": False}, "predictions": {"only_id": False},
                                          "annotations__completed_by": {"only_id": True}}}
        base = f"api/projects/{project_id}/exports"
        snapshot = _id(self.http.send_json("POST", f"{base}/", what, body, kind="action"), what)
        file = tempfile.TemporaryFile(prefix="lsts-sync-export-")  # noqa: SIM115  (returned open: the caller streams it)
        try:
            self._await_snapshot(f"{base}/{snapshot}", what)
            self.http.download(f"{base}/{snapshot}/download", what, file, exportType="JSON")
            file.seek(0)
        except BaseException:
            file.close()
            raise
        finally:
            self.http.call("DELETE", f"{base}/{snapshot}", f"delete the export snapshot of project {name}",
                           kind="delete")
        return file

    def _await_snapshot(self, path: str, what: str) -> None:
        deadline = time.monotonic() + SNAPSHOT_SECONDS
        while True:
            status = self.http.get_json(path, what)
            state = status.get("status") if isinstance(status, dict) else None
            if state == "completed":
                return
            if state not in ("created", "in_progress") or time.monotonic() > deadline:
                raise LstsError(f"instance {self.spec.name}: {what}: the snapshot is {state or 'unreadable'}")
            self.http.sleep(0.5)

    def _decode_export(self, response: httpx.Response, name: str) -> Any:
        try:
            return json.loads(response.content)
        except ValueError:
            raise LstsError(f"instance {self.spec.name}: the export of project {name} is not JSON") from None

    def users(self) -> dict[int, str]:
        """User ids to e-mail addresses (annotators in exports)."""
        return {int(u["id"]): u.get("email") or str(u["id"])
                for u in self.http.get_list("api/users/", "list users") if "id" in u}

    def storage_status(self, storage_id: int) -> dict[str, Any]:
        status = self.http.get_json(f"api/storages/s3/{storage_id}", "read storage status")
        if not isinstance(status, dict):
            raise MappingError(f"instance {self.spec.name}: read storage status: unexpected answer")
        return status

    def read_predictions(self, project: ProjectState) -> list[LivePrediction]:
        """Every prediction of the project, all model versions (``GET /api/predictions/?project=``:
        one request, a plain list on Label Studio 1.23.2; pages are followed if a server pages it)."""
        what = f"list predictions of project {project.name}"
        return [prediction_from_json(item, what)
                for item in self.http.get_list("api/predictions/", what, project=project.id)]

    # -- writes -----------------------------------------------------------------------------
    def create_predictions(self, project_id: int, name: str, model_version: str,
                           predictions: list[tuple[int, str, float | None]]) -> int:
        """Bulk import (``POST /api/projects/{id}/import/predictions``, a list per request, up to
        ``PREDICTIONS_PER_REQUEST``). After a lost answer a batch is re-sent only if its predictions
        are not all there (read back by task, result and model version)."""
        created = 0
        for start in range(0, len(predictions), PREDICTIONS_PER_REQUEST):
            batch = predictions[start:start + PREDICTIONS_PER_REQUEST]
            body = [prediction_body(task, result, score, model_version) for task, result, score in batch]
            what = f"create {len(batch)} prediction(s) of {model_version} in project {name}"

            def existing(batch: list = batch) -> dict | None:
                live = {(p.task, p.result) for p in self.read_predictions(ProjectState(self.spec.name, name, "", "", "",
                                                                                       id=project_id))
                        if p.model_version == model_version}
                return {"created": len(batch)} if all((t, canonical_result(json.loads(r))) in live
                                                      for t, r, _ in batch) else None

            data = self.http.send_json("POST", f"api/projects/{project_id}/import/predictions", what, body,
                                       kind="create", confirm=existing)
            if not isinstance(data, dict) or data.get("created") != len(batch):
                raise MappingError(f"instance {self.spec.name}: {what}: unexpected answer {str(data)[:100]}")
            created += len(batch)
        self._keep_one_prediction_per_task(project_id, name, model_version, {task for task, _, _ in predictions})
        return created

    def _keep_one_prediction_per_task(self, project_id: int, name: str, model_version: str, tasks: set[int]) -> None:
        """After a bulk create, each of ``tasks`` holds one prediction of ``model_version`` (apply
        deleted the old ones first): any more are the server's own repeats of the create (see
        ``_keep_one_project``), and all but the lowest id are deleted (a model's output, nobody's work)."""
        project = ProjectState(self.spec.name, name, "", "", "", id=project_id)
        by_task: dict[int, list[int]] = {}
        for found in self.read_predictions(project):
            if found.model_version == model_version and found.task in tasks:
                by_task.setdefault(found.task, []).append(found.id)
        extras = sorted(i for ids in by_task.values() for i in sorted(ids)[1:])
        for extra in extras:
            self.delete_prediction(extra, name)
        if extras:
            log.warning("instance %s: create predictions of %s in project %s: the server saved %d of them twice; "
                        "deleted the extra ids %s", self.spec.name, model_version, name, len(extras),
                        ", ".join(map(str, extras)))

    def rewrite_result(self, kind: RecordKind, record_id: int, result: str, name: str) -> None:
        """``PATCH`` one annotation, draft or prediction with ``result`` (JSON text); nothing else
        of it is sent. Label Studio sets an annotation's ``updated_by`` and ``updated_at`` and
        deletes the drafts that edit it (see ``plan.rewrites``)."""
        self.http.send_json("PATCH", f"{RECORD_PATH[kind]}/{record_id}/", f"rewrite {kind} {record_id} of project "
                            f"{name}", {"result": json.loads(result)}, kind="update")

    def delete_prediction(self, prediction_id: int, name: str) -> None:
        self.http.call("DELETE", f"api/predictions/{prediction_id}/", f"delete prediction {prediction_id} of "
                       f"project {name}", kind="delete")

    def create_project(self, project: ProjectState) -> int:
        """Create the project; its id. A lost answer is confirmed by marker before a repeat, and
        the server's own repeats are undone (``_keep_one_project``)."""
        what = f"create project {project.name}"

        def existing() -> int | None:
            return min(self._marked_projects(project), default=None)

        created = self.http.send_json("POST", "api/projects/", what, project_body(project), kind="create",
                                      confirm=existing)
        return self._keep_one_project(project, created if isinstance(created, int) else _id(created, what))

    def _marked_projects(self, project: ProjectState) -> list[int]:
        """Ids of the projects that carry ``project``'s marker (the server filters titles by
        substring; the marker decides)."""
        items = self.http.get_list("api/projects/", f"find project {project.name}", include=PROJECT_FIELDS,
                                   title=project.title)
        return sorted(p.id for m, p in (project_from_json(self.spec.name, i) for i in items)
                      if m and m.owner == project.owner and m.name == project.name and p.id is not None)

    def _keep_one_project(self, project: ProjectState, made: int) -> int:
        """The id to use after a create answered ``made``: the lowest id carrying the marker.

        Label Studio on SQLite runs a whole request again when a write in it meets a locked
        database (``DatabaseIsLockedRetryMiddleware``), after the project row was committed: one
        POST can leave several projects. Under the apply lock every one of them is this create's,
        so the extras are deleted, if empty (no task, no storage), and said in one log line."""
        ids = sorted(set(self._marked_projects(project)) | {made})
        if len(ids) == 1:
            return made
        keep, extras = ids[0], ids[1:]
        empty = [i for i in extras if self._project_is_empty(i, project.name)]
        for extra in empty:
            self.http.call("DELETE", f"api/projects/{extra}/", f"delete duplicate project {project.name}",
                           kind="delete")
        left = sorted(set(extras) - set(empty))
        log.warning("instance %s: create project %s: the server saved it %d times (ids %s); kept %d, deleted %s%s",
                    self.spec.name, project.name, len(ids), ", ".join(map(str, ids)), keep,
                    ", ".join(map(str, empty)) or "none",
                    f"; left {', '.join(map(str, left))} (not empty): the next plan reports them" if left else "")
        return keep

    def _project_is_empty(self, project_id: int, name: str) -> bool:
        """No task and no storage: nothing anyone made in it can be lost."""
        what = f"read duplicate project {name}"
        data = self.http.get_json(f"api/projects/{project_id}/", what)
        if not isinstance(data, dict) or not isinstance(data.get("task_number"), int):
            raise MappingError(f"instance {self.spec.name}: {what}: unexpected answer (no task_number)")
        if data["task_number"]:
            return False
        return not any(self.http.get_list(path, what, project=project_id) for path in ROLE_PATH.values())

    def update_project(self, project_id: int, project: ProjectState, fields: list[str]) -> None:
        body = project_body(project, fields)
        self.http.send_json("PATCH", f"api/projects/{project_id}/", f"update project {project.name}", body,
                            kind="update")

    def delete_project(self, project: ProjectState) -> None:
        self.http.call("DELETE", f"api/projects/{project.id}/", f"delete project {project.name}", kind="delete")

    def create_storage(self, storage: StorageState, project_id: int, credentials: Credentials | None) -> int:
        """Create the storage; its id. As for projects: a lost answer is looked for by marker before
        a repeat, and the server's own repeats are undone (``_keep_one_storage``)."""
        body = {**storage_body(storage), **_credential_fields(credentials, clear_token=False), "project": project_id}

        def existing() -> int | None:
            return min(self._marked_storages(storage, project_id), default=None)

        created = self.http.send_json("POST", ROLE_PATH[storage.role], f"create {storage.address}", body,
                                      kind="create", confirm=existing)
        made = created if isinstance(created, int) else _id(created, f"create {storage.address}")
        return self._keep_one_storage(storage, project_id, made)

    def _marked_storages(self, storage: StorageState, project_id: int) -> list[int]:
        """Ids of the project's storages of ``storage``'s role that carry its marker (one list: its role's)."""
        items = self.http.get_list(ROLE_PATH[storage.role], f"find {storage.address}", project=project_id)
        found = (storage_from_json(self.spec.name, storage.project, storage.role, i) for i in items)
        return sorted(s.id for s in found if s and s.owner == storage.owner and s.id is not None)

    def _keep_one_storage(self, storage: StorageState, project_id: int, made: int) -> int:
        """The lowest id of the storages carrying ``storage``'s marker after a create answered
        ``made``; the server's own repeats of the create (see ``_keep_one_project``) are deleted:
        a storage this apply just made has synced nothing yet."""
        ids = sorted(set(self._marked_storages(storage, project_id)) | {made})
        for extra in ids[1:]:
            self.http.call("DELETE", f"{ROLE_PATH[storage.role]}/{extra}", f"delete duplicate {storage.address}",
                           kind="delete")
        if len(ids) > 1:
            log.warning("instance %s: create %s: the server saved it %d times (ids %s); kept %d, deleted %s",
                        self.spec.name, storage.address, len(ids), ", ".join(map(str, ids)), ids[0],
                        ", ".join(map(str, ids[1:])))
        return ids[0]

    def update_storage(self, storage_id: int, storage: StorageState, credentials: Credentials | None = None) -> None:
        body = {**storage_body(storage), **_credential_fields(credentials, clear_token=True)}
        self.http.send_json("PATCH", f"{ROLE_PATH[storage.role]}/{storage_id}", f"update {storage.address}", body,
                            kind="update")

    def delete_storage(self, storage: StorageState) -> None:
        self.http.call("DELETE", f"{ROLE_PATH[storage.role]}/{storage.id}", f"delete {storage.address}", kind="delete")

    def create_webhook(self, webhook: WebhookState, project_id: int, headers: dict[str, str]) -> int:
        """Create the webhook; its id. As for storages: a lost answer is looked for by marker before
        a repeat, and the server's own repeats are deleted (a webhook holds nobody's work)."""
        what = f"create {webhook.address}"

        def existing() -> int | None:
            return min(self._marked_webhooks(webhook, project_id), default=None)

        body = {**webhook_body(webhook, headers), "project": project_id}
        created = self.http.send_json("POST", "api/webhooks/", what, body, kind="create", confirm=existing)
        made = created if isinstance(created, int) else _id(created, what)
        ids = sorted(set(self._marked_webhooks(webhook, project_id)) | {made})
        for extra in ids[1:]:
            self.http.call("DELETE", f"api/webhooks/{extra}/", f"delete duplicate {webhook.address}", kind="delete")
        if len(ids) > 1:
            log.warning("instance %s: %s: the server saved it %d times (ids %s); kept %d", self.spec.name, what,
                        len(ids), ", ".join(map(str, ids)), ids[0])
        return ids[0]

    def _marked_webhooks(self, webhook: WebhookState, project_id: int) -> list[int]:
        """Ids of the project's webhooks that carry ``webhook``'s marker."""
        items = self.http.get_list("api/webhooks/", f"find {webhook.address}", project=project_id)
        found = (webhook_from_json(self.spec.name, webhook.project, i) for i in items)
        return sorted(w.id for w in found if w and w.name == webhook.name and w.owner == webhook.owner
                      and w.id is not None)

    def update_webhook(self, webhook_id: int, webhook: WebhookState, headers: dict[str, str]) -> None:
        """Write every field, the headers' values included (a PATCH replaces the whole header map)."""
        self.http.send_json("PATCH", f"api/webhooks/{webhook_id}/", f"update {webhook.address}",
                            webhook_body(webhook, headers), kind="update")

    def delete_webhook(self, webhook: WebhookState) -> None:
        self.http.call("DELETE", f"api/webhooks/{webhook.id}/", f"delete {webhook.address}", kind="delete")

    def sync_storage(self, storage_id: int, name: str, last_sync: str | None) -> dict[str, Any] | None:
        """Start a sync; returns the storage as the answer shows it (None: no storage in the answer).
        After a lost answer it is re-posted only if the storage's status shows that it did not
        start (still the status and ``last_sync`` seen before)."""
        def started() -> bool | None:
            status = self.storage_status(storage_id)
            moved = status.get("last_sync") != last_sync or status.get("status") in ("queued", "in_progress")
            return True if moved and status.get("status") in STARTED else None

        answer = self.http.call("POST", f"api/storages/s3/{storage_id}/sync", f"sync storage {name}", kind="action",
                                confirm=started)
        if not isinstance(answer, httpx.Response):
            return None
        try:
            body = answer.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) and isinstance(body.get("status"), str) else None


def _id(created: Any, what: str) -> int:
    if not isinstance(created, dict) or not isinstance(created.get("id"), int):
        raise MappingError(f"{what}: unexpected answer (no id)")
    return created["id"]


def _credential_fields(credentials: Credentials | None, *, clear_token: bool) -> dict[str, str]:
    """Storage fields for AWS credentials; ``clear_token`` sends an empty session token on rotation
    so a stale one from earlier credentials does not linger."""
    if not credentials:
        return {}
    key, secret, token = credentials
    fields = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    if token or clear_token:
        fields["aws_session_token"] = token or ""
    return fields
