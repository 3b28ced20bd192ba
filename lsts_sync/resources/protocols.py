"""The live operations lsts-sync needs, as Protocols: one Label Studio, and the S3 buckets.

``gather``, ``read_live``, ``read_usage``, ``apply_plan`` and export depend on these Protocols
only. The real implementations are ``live.label_studio.LabelStudioInstance`` (over the ``ls_http`` transport
and the pure ``ls_mapping``) and ``live.s3.S3Buckets`` (over boto3); the unit tests use in-memory
fakes of the same Protocols (``tests/fakes.py``).

Every operation returns canonical state (``state``), never raw API JSON, and raises ``LstsError``
with one secret-free line on failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO, Protocol

from lsts_sync.resources.facts import TaskFile
from lsts_sync.resources.markers import Marker
from lsts_sync.resources.state import (
    CorsState,
    LivePrediction,
    ProjectState,
    RecordKind,
    StorageState,
    Usage,
    WebhookState,
)

Credentials = tuple[str, str, str | None]  # access key id, secret access key, session token


class LabelStudioOps(Protocol):
    """Reads and writes on one Label Studio instance."""

    def read_projects(self) -> list[tuple[Marker | None, ProjectState]]:
        """Every project, each with its marker (None: not managed by lsts-sync)."""

    def read_storages(self, project: ProjectState) -> list[StorageState]:
        """The project's S3 storages that carry a marker (any owner)."""

    def read_all_storages(self, project: ProjectState) -> list[StorageState]:
        """Every S3 storage of the project, marked or not (owner ``""``: no marker), ``project`` set
        to ``project.name`` (adoption and ``import`` read storages made by hand)."""

    def read_webhooks(self, project: ProjectState) -> list[WebhookState]:
        """The project's webhooks that carry a marker (any owner), header names only."""

    def read_all_webhooks(self, project: ProjectState) -> list[WebhookState]:
        """Every webhook of the project, marked or not (``owner`` and ``name`` ``""``: no marker;
        else ``name`` is the marker's ``PROJECT/WEBHOOK``), header names only (``import``)."""

    def read_tasks(self, project: ProjectState) -> list[TaskFile]:
        """The S3 key, creation time and id of every task."""

    def read_usage(self, project: ProjectState) -> Usage:
        """What the project's annotations, drafts and predictions use."""

    def create_project(self, project: ProjectState) -> int:
        """Create the project with its marker; returns its id (never a duplicate after a lost answer)."""

    def update_project(self, project_id: int, project: ProjectState, fields: list[str]) -> None: ...

    def delete_project(self, project: ProjectState) -> None: ...

    def create_storage(self, storage: StorageState, project_id: int, credentials: Credentials | None) -> int: ...

    def update_storage(self, storage_id: int, storage: StorageState,
                       credentials: Credentials | None = None) -> None: ...

    def delete_storage(self, storage: StorageState) -> None: ...

    def create_webhook(self, webhook: WebhookState, project_id: int, headers: dict[str, str]) -> int:
        """Create the webhook with its marker and ``headers`` (values: secrets); its id."""

    def update_webhook(self, webhook_id: int, webhook: WebhookState, headers: dict[str, str]) -> None: ...

    def delete_webhook(self, webhook: WebhookState) -> None: ...

    def sync_storage(self, storage_id: int, name: str, last_sync: str | None) -> dict[str, Any] | None:
        """Start a sync; returns the storage as the answer shows it (None when the answer is no storage),
        so a sync that finished within the request needs no status read."""

    def storage_status(self, storage_id: int) -> dict[str, Any]: ...

    def read_predictions(self, project: ProjectState) -> list[LivePrediction]:
        """Every prediction of the project (all model versions)."""

    def create_predictions(self, project_id: int, name: str, model_version: str,
                           predictions: list[tuple[int, str, float | None]]) -> int:
        """Create ``(task id, result JSON text, score)`` predictions of ``model_version`` in bulk
        (as few requests as the API allows); returns how many were created."""

    def delete_prediction(self, prediction_id: int, name: str) -> None: ...

    def read_worked_tasks(self, project_id: int, name: str) -> frozenset[int]:
        """Ids of the tasks that hold an annotation (cancelled ones too), a draft of anyone or a
        prediction; read in full (an unreadable answer raises: the caller fails closed)."""

    def delete_task(self, task_id: int, name: str) -> None:
        """Delete one task (its storage link goes with it); a task already gone is no error."""
    def rewrite_result(self, kind: RecordKind, record_id: int, result: str, name: str) -> None:
        """Replace the ``result`` (JSON text) of one annotation, draft or prediction."""

    def export_tasks(self, project_id: int, name: str, all_tasks: bool = False) -> Iterable[dict[str, Any]]:
        """Every annotated task of a project with its annotations (``export`` reads them); with
        ``all_tasks``, the tasks without annotations too (``report`` counts them)."""

    def users(self) -> dict[int, str]:
        """User ids to e-mail addresses (annotators in exports)."""

    def annotated_files(self, project: ProjectState) -> frozenset[str]:
        """The source keys of the project's tasks that carry work: an annotation (cancelled ones
        too) or a draft. Read in full or raise: the windows guard fails closed."""


class S3Ops(Protocol):
    """Reads and writes on the buckets the specs declare."""

    def missing(self, bucket: str) -> str | None:
        """Why the bucket cannot be used (it does not exist), or None."""

    def read_cors(self, bucket: str, rule_id: str) -> CorsState: ...

    def write_cors(self, state: CorsState) -> None: ...

    def credentials(self) -> Credentials: ...

    def objects(self, bucket: str, prefix: str, recursive: bool) -> list[tuple[str, float, int]]:
        """``(key, last modified, size)`` of the objects under ``prefix``."""

    def head_bytes(self, bucket: str, key: str, size: int = 65536) -> bytes: ...

    def read_bytes(self, bucket: str, key: str) -> bytes: ...

    def put_object(self, url: str, data: bytes) -> str:
        """Write ``s3://bucket/key`` in one PUT; the new object's ETag (without quotes)."""

    def object_etags(self, bucket: str, prefix: str) -> list[tuple[str, str, int]]:
        """``(key, ETag without quotes, size)`` of every object under ``prefix``, sub-folders too."""

    def open_object(self, bucket: str, key: str, etag: str) -> BinaryIO:
        """A stream of the object's bytes; an LstsError if it is no longer the version ``etag``."""

    def read_range(self, bucket: str, key: str, start: int, length: int, etag: str) -> bytes:
        """``length`` bytes from ``start`` of the version ``etag`` of the object (else LstsError)."""

    def delete_keys(self, bucket: str, keys: list[str]) -> None: ...

    def client(self, bucket: str, counted: bool = True) -> Any:
        """A boto3 S3 client for the bucket's endpoint (the apply lock writes its object through it);
        ``counted=False``: its requests are bookkeeping, not in ``--stats``."""
