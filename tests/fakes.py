"""The one set of fakes and builders the unit tests share.

Fakes of the live operations (``lsts_sync.resources.protocols``): ``FakeLabelStudio`` (``LabelStudioOps``,
and ``AnnotationSource`` for export) and ``FakeS3`` (``S3Ops``). They keep state the way the servers
do (ids, markers, CORS rules, objects) and record every call in order, so tests can assert what was
read and written, and in which order. ``fail`` makes the named operation raise the given exception
once. ``FakeS3Client`` is the part of boto3's S3 client the apply lock uses.

Builders: spec sets from text here or files under ``tests/data/``, never from the demo ``specs/``
folder (``load_two_projects``, ``load_pump7``; fixtures ``two_projects_specs``, ``predicted_specs``,
``pump7_specs``, shared through ``conftest.py``), and states (``applied_state``, ``applied``,
``s3_holding``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from botocore.exceptions import ClientError

from lsts_sync.apply.executor import apply_plan
from lsts_sync.core.errors import LstsError
from lsts_sync.desired.build import desired_state
from lsts_sync.live.connections import Connections
from lsts_sync.live.gather import gather
from lsts_sync.plan.build import build_plan
from lsts_sync.plan.options import GatherOptions
from lsts_sync.resources.cors import canonical_rule
from lsts_sync.resources.facts import TaskFile
from lsts_sync.resources.markers import Marker
from lsts_sync.resources.protocols import Credentials
from lsts_sync.resources.state import (
    CorsState,
    DesiredState,
    LivePrediction,
    LiveState,
    ProjectState,
    RecordKind,
    StorageState,
    Usage,
    WebhookState,
    canonical_result,
)
from lsts_sync.spec.loader import SpecSet, load_specs

DATA = Path(__file__).parent / "data"


class _Calls:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failures: dict[str, BaseException] = {}

    def _record(self, call: str) -> None:
        self.calls.append(call)
        name = call.split(" ")[0]
        if name in self.failures:
            raise self.failures.pop(name)

    def fail(self, operation: str, exc: BaseException) -> None:
        self.failures[operation] = exc


class FakeLabelStudio(_Calls):
    """Projects by id with their marker (listed in the order they were added, as a server lists
    them), storages by id with the id of their project; sync answers ``sync_answer``. For export:
    ``exported`` tasks by project id and ``users_`` (user id -> name)."""

    def __init__(self) -> None:
        super().__init__()
        self.projects: dict[int, tuple[Marker | None, ProjectState]] = {}
        self.storages: dict[int, StorageState] = {}
        self.storage_projects: dict[int, int] = {}  # storage id -> project id (absent: the project of its name)
        self.tasks: dict[int, list[TaskFile]] = {}
        self.usage: dict[int, Usage] = {}
        self.rewritten: dict[tuple[str, int], str] = {}  # (kind, id) -> result saved by rewrite_result
        self.credentials_sent: dict[int, Credentials | None] = {}
        self.sync_answer: str | None = "completed"  # the status in the sync answer (None: no storage in it)
        self.statuses: dict[int, list[str]] = {}  # statuses storage_status returns, in turn
        self.predictions: dict[int, tuple[int, LivePrediction]] = {}  # id -> (project id, prediction)
        self.exported: dict[int, list[dict]] = {}  # project id -> tasks as the export API gives them
        self.annotated: dict[int, set[str]] = {}  # project id -> source keys of tasks with work
        self.users_: dict[int, str] = {}
        self.worked: dict[int, set[int]] = {}  # project id -> ids of tasks with annotations, drafts or predictions
        self.s3: FakeS3 | None = None  # set: a sync imports the storage's matching objects of it as tasks
        self.webhooks: dict[int, tuple[int, WebhookState]] = {}  # id -> (project id, webhook)
        self.headers_sent: dict[int, dict[str, str]] = {}  # webhook id -> the header values last written
        self._next = 1

    def _id(self) -> int:
        self._next += 1
        return self._next

    def add_project(self, project: ProjectState, marker: Marker | None = None) -> ProjectState:
        project = dataclasses.replace(project, id=project.id or self._id())
        self.projects[project.id] = (marker if marker is not None else Marker(project.owner, project.name), project)
        return project

    def add_storage(self, storage: StorageState, project_id: int | None = None) -> StorageState:
        storage = dataclasses.replace(storage, id=storage.id or self._id())
        self.storages[storage.id] = storage
        if project_id is not None:
            self.storage_projects[storage.id] = project_id
        return storage

    # reads
    def read_projects(self) -> list[tuple[Marker | None, ProjectState]]:
        self._record("read_projects")
        return list(self.projects.values())

    def read_storages(self, project: ProjectState) -> list[StorageState]:
        self._record(f"read_storages {project.name}")
        return [s for i, s in self.storages.items()
                if self.storage_projects.get(i) == project.id or (i not in self.storage_projects and s.project == project.name)]

    def read_all_storages(self, project: ProjectState) -> list[StorageState]:
        """Storages of the project by id (``storage_projects``), marked or not, named after ``project``."""
        self._record(f"read_all_storages {project.name or project.title}")
        return [dataclasses.replace(s, project=project.name) for i, s in sorted(self.storages.items())
                if self.storage_projects.get(i) == project.id]

    def read_webhooks(self, project: ProjectState) -> list[WebhookState]:
        self._record(f"read_webhooks {project.name}")
        return [w for pid, w in self.webhooks.values() if pid == project.id]

    def read_all_webhooks(self, project: ProjectState) -> list[WebhookState]:
        """Webhooks of the project by id, marked or not, named as the marker names them."""
        self._record(f"read_all_webhooks {project.name or project.title}")
        return [dataclasses.replace(w, project=project.name, name=f"{w.project}/{w.name}" if w.owner else "")
                for pid, w in sorted(self.webhooks.values(), key=lambda p: p[1].id or 0) if pid == project.id]

    def add_webhook(self, webhook: WebhookState, project_id: int) -> WebhookState:
        webhook = dataclasses.replace(webhook, id=webhook.id or self._id())
        self.webhooks[webhook.id] = (project_id, webhook)  # type: ignore[index]
        return webhook

    def read_tasks(self, project: ProjectState) -> list[TaskFile]:
        self._record(f"read_tasks {project.name}")
        return list(self.tasks.get(project.id or 0, []))

    def read_usage(self, project: ProjectState) -> Usage:
        """The project's ``usage``, its records holding the results rewritten since (``rewritten``)."""
        self._record(f"read_usage {project.name}")
        usage = self.usage.get(project.id or 0, Usage(0))
        records = tuple(dataclasses.replace(r, result=self.rewritten.get((r.kind, r.id), r.result))
                        for r in usage.records)
        return dataclasses.replace(usage, records=records)

    def rewrite_result(self, kind: RecordKind, record_id: int, result: str, name: str) -> None:
        self._record(f"rewrite_result {kind} {record_id}")
        self.rewritten[(kind, record_id)] = result

    def read_predictions(self, project: ProjectState) -> list[LivePrediction]:
        self._record(f"read_predictions {project.name}")
        return [p for pid, p in self.predictions.values() if pid == project.id]

    def add_prediction(self, project_id: int, task: int, model_version: str, result: list,
                       score: float | None = None) -> LivePrediction:
        prediction = LivePrediction(self._id(), task, model_version, canonical_result(result), score)
        self.predictions[prediction.id] = (project_id, prediction)
        return prediction

    def storage_status(self, storage_id: int) -> dict[str, Any]:
        self._record(f"storage_status {storage_id}")
        queue = self.statuses.get(storage_id) or ["completed"]
        status = queue.pop(0) if len(queue) > 1 else queue[0]
        return {"status": status, "last_sync_count": 1}

    # writes
    def create_project(self, project: ProjectState) -> int:
        self._record(f"create_project {project.name}")
        return self.add_project(project).id  # type: ignore[return-value]

    def update_project(self, project_id: int, project: ProjectState, fields: list[str]) -> None:
        self._record(f"update_project {project_id} {','.join(fields)}")
        self.projects[project_id] = (Marker(project.owner, project.name), dataclasses.replace(project, id=project_id))

    def delete_project(self, project: ProjectState) -> None:
        self._record(f"delete_project {project.id}")
        del self.projects[project.id]  # type: ignore[arg-type]

    def create_storage(self, storage: StorageState, project_id: int, credentials: Credentials | None) -> int:
        self._record(f"create_storage {storage.marker_name} project={project_id}")
        created = self.add_storage(storage, project_id)
        self.credentials_sent[created.id] = credentials  # type: ignore[index]
        return created.id  # type: ignore[return-value]

    def update_storage(self, storage_id: int, storage: StorageState, credentials: Credentials | None = None) -> None:
        self._record(f"update_storage {storage_id}" + (" credentials" if credentials else ""))
        self.storages[storage_id] = dataclasses.replace(storage, id=storage_id)
        self.credentials_sent[storage_id] = credentials

    def delete_storage(self, storage: StorageState) -> None:
        self._record(f"delete_storage {storage.id}")
        del self.storages[storage.id]  # type: ignore[arg-type]

    def create_predictions(self, project_id: int, name: str, model_version: str,
                           predictions: list[tuple[int, str, float | None]]) -> int:
        self._record(f"create_predictions {project_id} {model_version} tasks={','.join(str(t) for t, _, _ in predictions)}")
        for task, result, score in predictions:
            self.add_prediction(project_id, task, model_version, json.loads(result), score)
        return len(predictions)

    def delete_prediction(self, prediction_id: int, name: str) -> None:
        self._record(f"delete_prediction {prediction_id}")
        del self.predictions[prediction_id]

    def read_worked_tasks(self, project_id: int, name: str) -> frozenset[int]:
        self._record(f"read_worked_tasks {project_id}")
        return frozenset(self.worked.get(project_id, ()))

    def delete_task(self, task_id: int, name: str) -> None:
        self._record(f"delete_task {task_id}")
        for tasks in self.tasks.values():
            tasks[:] = [t for t in tasks if t.id != task_id]

    def create_webhook(self, webhook: WebhookState, project_id: int, headers: dict[str, str]) -> int:
        self._record(f"create_webhook {webhook.marker_name} project={project_id}")
        made = self.add_webhook(webhook, project_id)
        self.headers_sent[made.id] = dict(headers)  # type: ignore[index]
        return made.id  # type: ignore[return-value]

    def update_webhook(self, webhook_id: int, webhook: WebhookState, headers: dict[str, str]) -> None:
        self._record(f"update_webhook {webhook_id}")
        project_id = self.webhooks[webhook_id][0]
        self.webhooks[webhook_id] = (project_id, dataclasses.replace(webhook, id=webhook_id))
        self.headers_sent[webhook_id] = dict(headers)

    def delete_webhook(self, webhook: WebhookState) -> None:
        self._record(f"delete_webhook {webhook.id}")
        del self.webhooks[webhook.id]  # type: ignore[arg-type]

    def sync_storage(self, storage_id: int, name: str, last_sync: str | None) -> dict[str, Any] | None:
        self._record(f"sync_storage {storage_id}")
        if self.s3 is not None:
            self._import(self.storages[storage_id], self.s3)
        return {"status": self.sync_answer, "last_sync_count": 3} if self.sync_answer else None

    def _import(self, storage: StorageState, s3: FakeS3) -> None:
        """A new task for every object under the storage's prefix that matches its filter and is no task yet."""
        project_id = self.storage_projects.get(storage.id or 0) or next(
            i for i, (_, p) in self.projects.items() if p.name == storage.project)
        tasks = self.tasks.setdefault(project_id, [])
        known = {t.key for t in tasks}
        for key in sorted(s3.objects_.get(storage.bucket, {})):
            if key.startswith(storage.prefix) and re.match(storage.regex_filter, key) and key not in known:
                tasks.append(TaskFile(key, 2.0, self._id()))

    # export (lsts_sync.labels.exports.AnnotationSource)
    def export_tasks(self, project_id: int, name: str, all_tasks: bool = False) -> list[dict]:
        """The tasks of ``exported``; those without annotations only with ``all_tasks``."""
        self._record(f"export_tasks {project_id}" + (" all" if all_tasks else ""))
        return [t for t in self.exported.get(project_id, []) if all_tasks or t.get("annotations")]

    def users(self) -> dict[int, str]:
        self._record("users")
        return dict(self.users_)

    def annotated_files(self, project: ProjectState) -> frozenset[str]:
        """The keys in ``annotated`` for the project's id (tasks with work)."""
        self._record(f"annotated_files {project.name}")
        return frozenset(self.annotated.get(project.id or 0, ()))


class FakeS3(_Calls):
    """Buckets with CORS rules (as S3 holds them) and objects ``key -> (last modified, body)``."""

    def __init__(self, credentials: Credentials = ("AKIAFAKE", "fake-secret", None)) -> None:
        super().__init__()
        self.cors: dict[str, list[dict]] = {}
        self.objects_: dict[str, dict[str, tuple[float, bytes]]] = {}
        self.written: dict[str, bytes] = {}
        self.clients: dict[str, FakeS3Client] = {}
        self._credentials = credentials

    def missing(self, bucket: str) -> str | None:
        self._record(f"missing {bucket}")
        return None

    def client(self, bucket: str, counted: bool = True) -> FakeS3Client:
        """One in-memory boto3 client per bucket (the apply lock's object lives there)."""
        if bucket not in self.clients:
            self.clients[bucket] = FakeS3Client(bucket)
        return self.clients[bucket]

    def read_cors(self, bucket: str, rule_id: str) -> CorsState:
        self._record(f"read_cors {bucket}")
        rules = self.cors.get(bucket, [])
        ours = [r for r in rules if r.get("ID") == rule_id]
        others = tuple(json.dumps(r, sort_keys=True) for r in rules if r.get("ID") != rule_id)
        rule = json.dumps(canonical_rule(ours[0]), sort_keys=True) if ours else None
        return CorsState(bucket, rule, others, rule_id)

    def write_cors(self, state: CorsState) -> None:
        self._record(f"write_cors {state.bucket}")
        self.cors[state.bucket] = state.configuration()

    def credentials(self) -> Credentials:
        self._record("credentials")
        return self._credentials

    def objects(self, bucket: str, prefix: str, recursive: bool) -> list[tuple[str, float, int]]:
        self._record(f"objects {bucket} {prefix}")
        return [(k, t, len(b)) for k, (t, b) in sorted(self.objects_.get(bucket, {}).items())
                if k.startswith(prefix) and (recursive or "/" not in k[len(prefix):])]

    def head_bytes(self, bucket: str, key: str, size: int = 65536) -> bytes:
        self._record(f"head_bytes {bucket} {key}")
        return self.objects_[bucket][key][1][:size]

    def read_bytes(self, bucket: str, key: str) -> bytes:
        self._record(f"read_bytes {bucket} {key}")
        return self.objects_[bucket][key][1]

    def put_object(self, url: str, data: bytes) -> str:
        """Recorded in ``written``; an object of a bucket the fake holds is stored there too. The
        ETag is the MD5 of the bytes, as S3 gives it for a single PUT."""
        self._record(f"put_object {url}")
        self.written[url] = data
        bucket, key = url[5:].split("/", 1)
        if bucket in self.objects_:
            self.objects_[bucket][key] = (0.0, data)
        return hashlib.md5(data).hexdigest()

    def object_etags(self, bucket: str, prefix: str) -> list[tuple[str, str, int]]:
        """ETags as S3 gives them for a single PUT: the MD5 of the bytes."""
        self._record(f"object_etags {bucket} {prefix}")
        return [(k, hashlib.md5(b).hexdigest(), len(b)) for k, (_, b) in sorted(self.objects_.get(bucket, {}).items())
                if k.startswith(prefix)]

    def _version(self, bucket: str, key: str, etag: str) -> bytes:
        body = self.objects_[bucket][key][1]
        if hashlib.md5(body).hexdigest() != etag:
            raise LstsError(f"s3://{bucket}/{key} changed since it was planned; run plan again")
        return body

    def open_object(self, bucket: str, key: str, etag: str) -> BinaryIO:
        self._record(f"open_object {bucket} {key}")
        return io.BytesIO(self._version(bucket, key, etag))

    def read_range(self, bucket: str, key: str, start: int, length: int, etag: str) -> bytes:
        return self._version(bucket, key, etag)[start:start + length]

    def delete_keys(self, bucket: str, keys: list[str]) -> None:
        self._record(f"delete_keys {bucket} {len(keys)}")
        for key in keys:
            self.objects_.get(bucket, {}).pop(key, None)


def s3_holding(bucket: str, modified: dict[str, float], body: bytes = b"x") -> FakeS3:
    """A FakeS3 whose ``bucket`` holds one object ``body`` per key, last modified as given."""
    s3 = FakeS3()
    s3.objects_[bucket] = {key: (time, body) for key, time in modified.items()}
    return s3


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeS3Client:
    """The methods of boto3's S3 client that lsts-sync calls itself: objects with ``IfNoneMatch="*"``
    and ``IfMatch`` as S3 does them (the apply lock), and one bucket's CORS configuration, absent
    (None) or a whole list of rules, as S3 keeps it. ``body``, ``etag`` and ``plant`` read and
    write the object at ``bucket``/``key`` (the lock's)."""

    def __init__(self, bucket: str = "data", key: str = "lock.json", cors: list[dict] | None = None) -> None:
        self.bucket, self.key = bucket, key
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.cors = cors
        self.version = 0
        self.calls: list[str] = []

    def get_bucket_cors(self, *, Bucket: str) -> dict:
        self.calls.append("get_bucket_cors")
        if self.cors is None:
            raise client_error("NoSuchCORSConfiguration", "GetBucketCors")
        return {"CORSRules": json.loads(json.dumps(self.cors))}

    def put_bucket_cors(self, *, Bucket: str, CORSConfiguration: dict[str, Any]) -> dict:
        self.calls.append("put_bucket_cors")
        assert CORSConfiguration["CORSRules"], "S3 refuses an empty rule list: delete the configuration instead"
        self.cors = json.loads(json.dumps(CORSConfiguration["CORSRules"]))
        return {}

    def delete_bucket_cors(self, *, Bucket: str) -> dict:
        self.calls.append("delete_bucket_cors")
        self.cors = None
        return {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str = "",
                   IfNoneMatch: str | None = None, IfMatch: str | None = None) -> dict:
        self.calls.append("put_object")
        current = self.objects.get((Bucket, Key))
        if IfNoneMatch == "*" and current is not None:
            raise client_error("PreconditionFailed", "PutObject")
        if IfMatch is not None:
            if current is None:
                raise client_error("NoSuchKey", "PutObject")
            if current[1] != IfMatch:
                raise client_error("PreconditionFailed", "PutObject")
        self.version += 1
        etag = f'"etag-{self.version}"'
        self.objects[(Bucket, Key)] = (bytes(Body), etag)
        return {"ETag": etag}

    def get_object(self, *, Bucket: str, Key: str) -> dict:
        self.calls.append("get_object")
        if (Bucket, Key) not in self.objects:
            raise client_error("NoSuchKey", "GetObject")
        body, etag = self.objects[(Bucket, Key)]
        return {"Body": io.BytesIO(body), "ETag": etag}

    def delete_object(self, *, Bucket: str, Key: str, IfMatch: str | None = None) -> dict:
        self.calls.append("delete_object")
        current = self.objects.get((Bucket, Key))
        if IfMatch is not None:
            if current is None:
                raise client_error("NoSuchKey", "DeleteObject")
            if current[1] != IfMatch:
                raise client_error("PreconditionFailed", "DeleteObject")
        self.objects.pop((Bucket, Key), None)
        return {}

    def body(self) -> dict:
        return json.loads(self.objects[(self.bucket, self.key)][0])

    def etag(self) -> str:
        return self.objects[(self.bucket, self.key)][1]

    def plant(self, **body: Any) -> str:
        """Put a lock body written by someone else; returns its ETag."""
        return self.put_object(Bucket=self.bucket, Key=self.key, Body=json.dumps(body).encode())["ETag"]


def run_apply(plan, ls: FakeLabelStudio, s3: FakeS3, **kw):
    """``apply_plan`` of ``plan`` on the fakes (instance local), progress discarded."""
    return apply_plan(plan, Connections({"local": ls}, s3), progress=lambda line: None, **kw)


# -- spec sets ------------------------------------------------------------------------------------

def load_checked(paths: list[Path], env: dict[str, str] | None = None) -> SpecSet:
    """The specs at ``paths``, asserting they load without errors."""
    loaded, problems = load_specs([str(p) for p in paths], env=env)
    assert not [p for p in problems if p.severity == "error"], problems
    return loaded


TWO_PROJECTS = """\
kind: Instance
name: local
url: http://ls.example:8080
token: {token}
---
kind: Bucket
name: data
cors: {{managed: true}}
---
kind: Project
name: a
instance: local
source: {{bucket: data, prefix: a/, sync: true}}
target: {{bucket: data, prefix: out/a/}}
timeseries: {{time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: [{{column: v}}]}}
labels: [{{value: Anomaly}}]
---
kind: Project
name: b
instance: local
source: {{bucket: data, prefix: b/, sync: true}}
timeseries: {{time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: [{{column: v}}]}}
labels: [{{value: Anomaly}}]
"""

PREDICTIONS = """\
---
kind: Predictions
name: detector
project: a
model_version: iforest-1
file: predictions.csv
"""
PREDICTIONS_CSV = """\
file,start,end,label,score
a/1.csv,2024-01-01 00:00:00,2024-01-01 00:01:00,Anomaly,0.8
a/2.csv,2024-01-01 00:00:00,2024-01-01 00:00:30,Anomaly,0.3
"""


def load_two_projects(folder: Path, predictions: bool = False) -> SpecSet:
    """Two projects on one bucket whose CORS lsts-sync manages (a with a target storage), written to
    ``folder``; with ``predictions``, a Predictions spec of model iforest-1 for a (file beside them)."""
    (folder / "specs.yaml").write_text(TWO_PROJECTS.format(token="f" * 40) + (PREDICTIONS if predictions else ""))
    if predictions:
        (folder / "predictions.csv").write_text(PREDICTIONS_CSV)
    return load_checked([folder])


@pytest.fixture
def two_projects_specs(tmp_path: Path) -> SpecSet:
    """``load_two_projects``: projects a and b on bucket data."""
    return load_two_projects(tmp_path)


@pytest.fixture
def predicted_specs(tmp_path: Path) -> SpecSet:
    """``load_two_projects`` with a Predictions spec of model iforest-1 for project a."""
    return load_two_projects(tmp_path, predictions=True)


PUMP7 = [DATA / "pump-7-site.yaml", DATA / "good" / "pump-7.yaml"]
PUMP7_TOKEN = "feedfacefeedfacefeedfacefeedfacefeedface"


def load_pump7() -> SpecSet:
    """One project, pump-7 (``tests/data/good/pump-7.yaml``: source and target on bucket lsts-demo,
    three channels, labels Anomaly and Maintenance) on instance local at http://localhost:8080, with
    the bucket's CORS managed (``tests/data/pump-7-site.yaml``)."""
    return load_checked(PUMP7, env={"LABEL_STUDIO_API_KEY": PUMP7_TOKEN})


@pytest.fixture
def pump7_specs() -> SpecSet:
    """``load_pump7``: the pump-7 project on instance local and bucket lsts-demo."""
    return load_pump7()


# -- states ---------------------------------------------------------------------------------------

def applied_state(desired: DesiredState) -> LiveState:
    """What the server would hold after a perfect apply of ``desired``: project ids 1, storage ids
    from 10, storages synced with the environment's credentials."""
    projects = {k: dataclasses.replace(p, id=1) for k, p in desired.projects.items()}
    storages = {k: dataclasses.replace(s, id=i, credentials="environment", sync=False)
                for i, (k, s) in enumerate(desired.storages.items(), 10)}
    return LiveState(projects, storages, dict(desired.cors))


CSV = b"t,v\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n"


def applied(specs: SpecSet) -> tuple[LiveState, FakeLabelStudio, FakeS3, Connections]:
    """Fakes holding what a first apply of ``specs`` (the two-project set) made, with one object per
    source (``CSV``) and one task per project; the calls of that apply are cleared."""
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    conn = Connections({"local": ls}, s3)
    run_apply(build_plan(desired, gather(specs, desired, conn, GatherOptions())), ls, s3)
    for pid, (_, project) in ls.projects.items():
        ls.tasks[pid] = [TaskFile(f"{project.name}/1.csv", 2.0)]
    ls.calls.clear()
    s3.calls.clear()
    return desired, ls, s3, conn
