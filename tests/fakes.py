"""In-memory fakes of the live operations (``lsts_sync.resources.protocols``): a Label Studio and S3 buckets.

They keep state the way the servers do (ids, markers, CORS rules, objects) and record every call
in order, so tests can assert what was read and written, and in which order. ``fail`` makes the
named operation raise the given exception once.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from lsts_sync.live.ls_mapping import TaskFile
from lsts_sync.resources.cors import canonical_rule
from lsts_sync.resources.markers import Marker
from lsts_sync.resources.protocols import Credentials
from lsts_sync.resources.state import CorsState, LivePrediction, ProjectState, StorageState, Usage, canonical_result
from lsts_sync.spec.loader import load_specs


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
    """Projects by id with their marker, storages by id; sync answers ``sync_answer``."""

    def __init__(self, instance: str = "local") -> None:
        super().__init__()
        self.instance = instance
        self.projects: dict[int, tuple[Marker | None, ProjectState]] = {}
        self.storages: dict[int, StorageState] = {}
        self.tasks: dict[int, list[TaskFile]] = {}
        self.usage: dict[int, Usage] = {}
        self.credentials_sent: dict[int, Credentials | None] = {}
        self.sync_answer: str | None = "completed"  # the status in the sync answer (None: no storage in it)
        self.statuses: dict[int, list[str]] = {}  # statuses storage_status returns, in turn
        self.predictions: dict[int, tuple[int, LivePrediction]] = {}  # id -> (project id, prediction)
        self._next = 1

    def _id(self) -> int:
        self._next += 1
        return self._next

    def add_project(self, project: ProjectState, marker: Marker | None = None) -> ProjectState:
        project = dataclasses.replace(project, id=project.id or self._id())
        self.projects[project.id] = (marker if marker is not None else Marker(project.owner, project.name), project)
        return project

    def add_storage(self, storage: StorageState) -> StorageState:
        storage = dataclasses.replace(storage, id=storage.id or self._id())
        self.storages[storage.id] = storage
        return storage

    # reads
    def read_projects(self) -> list[tuple[Marker | None, ProjectState]]:
        self._record("read_projects")
        return [self.projects[i] for i in sorted(self.projects)]

    def read_storages(self, project: ProjectState) -> list[StorageState]:
        self._record(f"read_storages {project.name}")
        return [s for s in self.storages.values() if s.project == project.name]

    def read_tasks(self, project: ProjectState) -> list[TaskFile]:
        self._record(f"read_tasks {project.name}")
        return list(self.tasks.get(project.id or 0, []))

    def read_usage(self, project: ProjectState) -> Usage:
        self._record(f"read_usage {project.name}")
        return self.usage.get(project.id or 0, Usage(0))

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
        created = self.add_storage(storage)
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

    def sync_storage(self, storage_id: int, name: str, last_sync: str | None) -> dict[str, Any] | None:
        self._record(f"sync_storage {storage_id}")
        return {"status": self.sync_answer, "last_sync_count": 3} if self.sync_answer else None


class FakeS3(_Calls):
    """Buckets with CORS rules (as S3 holds them) and objects ``key -> (last modified, body)``."""

    def __init__(self, credentials: Credentials = ("AKIAFAKE", "fake-secret", None)) -> None:
        super().__init__()
        self.cors: dict[str, list[dict]] = {}
        self.objects_: dict[str, dict[str, tuple[float, bytes]]] = {}
        self.written: dict[str, bytes] = {}
        self._credentials = credentials

    def missing(self, bucket: str) -> str | None:
        self._record(f"missing {bucket}")
        return None

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

    def put_object(self, url: str, data: bytes) -> None:
        self._record(f"put_object {url}")
        self.written[url] = data


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


@pytest.fixture
def specs(tmp_path: Path):
    """Two projects on one bucket whose CORS lsts-sync manages (a with a target storage)."""
    (tmp_path / "specs.yaml").write_text(TWO_PROJECTS.format(token="f" * 40))
    loaded, problems = load_specs([str(tmp_path)])
    assert not [p for p in problems if p.severity == "error"], problems
    return loaded


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


@pytest.fixture
def predicted_specs(tmp_path: Path):
    """The two-project specs with a Predictions spec of model iforest-1 for project a (file beside them)."""
    (tmp_path / "specs.yaml").write_text(TWO_PROJECTS.format(token="f" * 40) + PREDICTIONS)
    (tmp_path / "predictions.csv").write_text(PREDICTIONS_CSV)
    loaded, problems = load_specs([str(tmp_path)])
    assert not [p for p in problems if p.severity == "error"], problems
    return loaded
