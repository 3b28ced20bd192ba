"""Pure mapping between Label Studio's API JSON and lsts-sync's canonical state. No I/O.

Reads are strict: an item without the fields lsts-sync relies on is an error (``MappingError``),
never a default that would make a plan look harmless. Writes add the ownership marker to the
description, which the canonical state keeps apart.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from lsts_sync.core.errors import LstsError
from lsts_sync.resources.facts import TaskFile
from lsts_sync.resources.markers import WEBHOOK_MARKER_HEADER, Marker, marker, split_marker, with_marker
from lsts_sync.resources.settings import PREFIX, Settings, canonical_settings
from lsts_sync.resources.state import (
    LivePrediction,
    ProjectState,
    RecordKind,
    ResultRecord,
    StorageState,
    Usage,
    WebhookState,
    canonical_result,
)
from lsts_sync.ui.template import DATA_KEY

# A spec's project setting -> Label Studio 1.23.2's project field (projects/models.py, ProjectSerializer).
SETTING_FIELDS = {
    "instructions": "expert_instruction",  # HTML; the server bleaches it (escapes what it does not allow)
    "show_instructions": "show_instruction",
    "show_skip_button": "show_skip_button",
    "enable_empty_annotation": "enable_empty_annotation",
    "show_annotation_history": "show_annotation_history",
    "maximum_annotations": "maximum_annotations",
    "overlap_percentage": "overlap_cohort_percentage",
    "show_overlap_first": "show_overlap_first",
    "sampling": "sampling",
    "skip_queue": "skip_queue",
    "show_predictions": "show_collab_predictions",  # false also clears model_version on the server
    "reveal_predictions_interactively": "reveal_preannotations_interactively",
    "predictions_model_version": "model_version",  # refused unless a prediction (or ML backend) has it
    "color": "color",
}
# The spec's sampling words and Label Studio's stored values (Project.SAMPLING_CHOICES).
SAMPLING = {"sequential": "Sequential sampling", "uniform": "Uniform sampling", "uncertainty": "Uncertainty sampling"}
PROJECT_FIELDS = ",".join(["id", "title", "description", "label_config", *SETTING_FIELDS.values()])


class MappingError(LstsError):
    """An API answer that does not have the shape lsts-sync relies on."""


def _require(item: Any, fields: Iterable[str], what: str) -> dict:
    if not isinstance(item, dict) or any(f not in item for f in fields):
        missing = [f for f in fields if not isinstance(item, dict) or f not in item]
        raise MappingError(f"{what}: unexpected answer (missing {', '.join(missing)})")
    return item


def project_from_json(instance: str, item: Any) -> tuple[Marker | None, ProjectState]:
    """A listed project as state; the marker says who manages it (None: nobody)."""
    item = _require(item, ("id", "title", "label_config"), "list projects")
    description, found = split_marker(item.get("description"))
    state = ProjectState(instance, found.name if found else "", item["title"] or "", description,
                         item.get("label_config") or "", owner=found.owner if found else "", id=int(item["id"]),
                         settings=settings_from_json(item))
    return found, state


def settings_from_json(item: dict) -> Settings:
    """The project settings an item carries, in the spec's keys and words, canonical. A field the
    answer lacks is no setting (a managed one then shows as an update); a value Label Studio
    added since (an unknown sampling) is kept as read, so it differs from every spec value."""
    values: dict[str, object] = {}
    for key, name in SETTING_FIELDS.items():
        if name not in item:
            continue
        value = item[name]
        if key == "sampling":
            value = next((word for word, stored in SAMPLING.items() if stored == value), value)
        elif key == "skip_queue" and isinstance(value, str):
            value = value.lower()
        elif key in ("instructions", "predictions_model_version", "color"):
            value = value or ""  # the server keeps null and "" alike
        values[key] = value
    return canonical_settings(values)


def settings_body(settings: Settings, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """Label Studio's project fields for ``settings`` (only ``keys`` when given)."""
    body: dict[str, Any] = {}
    for key, value in settings:
        if keys is not None and key not in keys:
            continue
        if key == "sampling":
            value = SAMPLING[str(value)]
        elif key == "skip_queue":
            value = str(value).upper()
        body[SETTING_FIELDS[key]] = value
    return body


def project_body(project: ProjectState, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The JSON to create a project, or to patch ``fields`` of it (``settings.KEY`` for a
    setting). ``owner`` rewrites the marker."""
    body = {"title": project.title, "description": with_marker(project.description, project.owner, project.name),
            "label_config": project.label_config}
    if fields is None:
        return {**body, **settings_body(project.settings)}
    wanted = {"description" if f == "owner" else f for f in fields}
    settings = {f.removeprefix(PREFIX) for f in wanted if f.startswith(PREFIX)}
    return {**{k: v for k, v in body.items() if k in wanted}, **settings_body(project.settings, settings)}


def storage_from_json(instance: str, project: str, role: str, item: Any) -> StorageState | None:
    """A listed storage as state if its marker names ``project/role`` (any owner), else None."""
    item = _require(item, ("id",), f"list {role} storages of project {project}")
    _, found = split_marker(item.get("description"))
    if found is None or found.name != f"{project}/{role}":
        return None
    return any_storage_from_json(instance, project, role, item)


def any_storage_from_json(instance: str, project: str, role: str, item: Any) -> StorageState:
    """A listed storage as state whatever its marker: ``owner`` is the marker's, ``""`` without one
    (a storage made by hand, which adoption and import read)."""
    item = _require(item, ("id",), f"list {role} storages of project {project}")
    _, found = split_marker(item.get("description"))
    return StorageState(
        instance=instance, project=project, role=role, id=int(item["id"]),  # type: ignore[arg-type]
        owner=found.owner if found else "",
        bucket=item.get("bucket") or "", prefix=item.get("prefix") or "",
        region_name=item.get("region_name") or "", s3_endpoint=item.get("s3_endpoint") or "",
        regex_filter=item.get("regex_filter") or "", use_blob_urls=bool(item.get("use_blob_urls")),
        presign=bool(item.get("presign")), presign_ttl=int(item.get("presign_ttl") or 1),
        recursive_scan=bool(item.get("recursive_scan")), last_sync=item.get("last_sync"))


def storage_body(storage: StorageState) -> dict[str, Any]:
    """The JSON to create or update a storage (credentials are added by the caller)."""
    body: dict[str, Any] = dict(
        title=f"lsts-sync {storage.role}", description=with_marker("", storage.owner, storage.marker_name),
        bucket=storage.bucket, prefix=storage.prefix, region_name=storage.region_name,
        s3_endpoint=storage.s3_endpoint, regex_filter=storage.regex_filter or None,
        use_blob_urls=storage.use_blob_urls)
    if storage.role == "source":
        body.update(presign=storage.presign, presign_ttl=storage.presign_ttl, recursive_scan=storage.recursive_scan)
    return {k: v for k, v in body.items() if v is not None}


def webhook_from_json(instance: str, project: str, item: Any) -> WebhookState | None:
    """A listed webhook of ``project`` as state if its marker header names a webhook of it (any
    owner), else None. Header values are dropped here, unread: only their names are kept."""
    found = any_webhook_from_json(instance, project, item)
    if not found.owner or not found.name.startswith(f"{project}/"):
        return None
    return dataclasses.replace(found, name=found.name.removeprefix(f"{project}/"))


def any_webhook_from_json(instance: str, project: str, item: Any) -> WebhookState:
    """A listed webhook whatever its marker (``import`` reads webhooks made by hand): ``name`` is
    the marker's whole name (``PROJECT/WEBHOOK``) and ``owner`` its owner, both ``""`` without one.
    Header values are dropped here, unread: only the names of the other headers are kept."""
    item = _require(item, ("id", "url", "headers"), f"list webhooks of project {project}")
    headers = item["headers"] if isinstance(item["headers"], dict) else {}
    names = {str(k).lower(): str(k) for k in headers}
    text = headers.get(names.get(WEBHOOK_MARKER_HEADER.lower(), ""))
    _, found = split_marker(text if isinstance(text, str) else None)
    others = tuple(sorted(k for k in names.values() if k.lower() != WEBHOOK_MARKER_HEADER.lower()))
    every = bool(item.get("send_for_all_actions", True))
    return WebhookState(instance=instance, project=project, name=found.name if found else "",
                        url=str(item["url"]), all_actions=every,
                        actions=() if every else tuple(sorted(str(a) for a in item.get("actions") or ())),
                        send_payload=bool(item.get("send_payload", True)), active=bool(item.get("is_active", True)),
                        headers=others, owner=found.owner if found else "", id=int(item["id"]))


def webhook_body(webhook: WebhookState, headers: dict[str, str]) -> dict[str, Any]:
    """The JSON to create or update a webhook: every field, the headers' values (from the specs)
    with the marker header. The caller must never log or show it."""
    return {"url": webhook.url, "send_payload": webhook.send_payload, "send_for_all_actions": webhook.all_actions,
            "actions": list(webhook.actions), "is_active": webhook.active,
            "headers": {**headers, WEBHOOK_MARKER_HEADER: marker(webhook.owner, webhook.marker_name)}}


def task_file_from_json(item: Any, what: str) -> TaskFile:
    item = _require(item, ("id", "created_at"), what)
    try:
        created = datetime.fromisoformat(str(item["created_at"]).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise MappingError(f"{what}: unexpected answer (created_at {item['created_at']!r})") from None
    return TaskFile(item.get("storage_filename") or None, created, int(item["id"]))


def prediction_from_json(item: Any, what: str) -> LivePrediction:
    """A listed prediction; its result kept as canonical JSON text, its score as a float (or None)."""
    item = _require(item, ("id", "task", "model_version", "result"), what)
    score = item.get("score")
    if score is not None and not isinstance(score, (int, float)):
        raise MappingError(f"{what}: unexpected answer (score {score!r})")
    return LivePrediction(int(item["id"]), int(item["task"]), str(item["model_version"] or ""),
                          canonical_result(item["result"]), None if score is None else float(score))


def prediction_body(task: int, result: str, score: float | None, model_version: str) -> dict[str, Any]:
    """One item of a bulk prediction import: the task's id, its regions, score and model version."""
    body: dict[str, Any] = {"task": task, "result": json.loads(result), "model_version": model_version}
    if score is not None:
        body["score"] = score
    return body


def _result_labels(result: Any) -> tuple[str, str, list[str]] | None:
    """``(control key name|toName|type, control name, labels)`` of one result item, or None."""
    if not isinstance(result, dict) or "from_name" not in result:
        return None
    kind = str(result.get("type", ""))
    control = f"{result['from_name']}|{result.get('to_name', '')}|{kind.lower()}"
    raw_value = result.get("value")
    value = raw_value if isinstance(raw_value, dict) else {}
    raw_labels = value.get(kind)
    labels = raw_labels if isinstance(raw_labels, list) else []
    return control, str(result["from_name"]), [str(label) for label in labels]


def annotated_from_tasks(tasks: Any, project: str) -> frozenset[str]:
    """The S3 keys (``s3://bucket/KEY`` of the data, else ``storage_filename``) of the tasks that
    carry an annotation (a cancelled one too) or a draft: work a rewrite of their file would lose."""
    if not isinstance(tasks, list):
        raise MappingError(f"export of project {project}: unexpected answer (not a list of tasks)")
    found = set()
    for task in tasks:
        if not isinstance(task, dict):
            raise MappingError(f"export of project {project}: unexpected answer (a task is not an object)")
        if task.get("annotations") or task.get("drafts"):
            url = str((task.get("data") or {}).get(DATA_KEY) or "")
            key = url[5:].partition("/")[2] if url.startswith("s3://") else str(task.get("storage_filename") or url)
            found.add(key)
    return frozenset(found)


def usage_from_tasks(tasks: Any, project: str, predictions: list[LivePrediction] | None = None) -> Usage:
    """What a project's annotations, drafts and predictions use, from an export's task list.

    Every region counts, not only the last one per control (Label Studio's summary endpoint keeps
    only that for a project's first annotation). Every annotation and draft counts as work, even an
    empty or cancelled one (an empty annotation means "nothing here"), so deleting such a project
    needs --allow-delete. Predictions count from ``predictions`` (the prediction list) when given,
    else only where the export carries them as objects. Every annotation, draft and prediction
    with a result is kept as a ``ResultRecord`` (for rewrites).
    """
    if not isinstance(tasks, list):
        raise MappingError(f"export of project {project}: unexpected answer (not a list of tasks)")
    controls: Counter[str] = Counter()
    labels: Counter[tuple[str, str]] = Counter()
    predicted: Counter[tuple[str, str]] = Counter()
    records: list[ResultRecord] = []
    used = 0
    for task in tasks:
        if not isinstance(task, dict):
            raise MappingError(f"export of project {project}: unexpected answer (a task is not an object)")
        for kind, items in (("annotation", task.get("annotations")), ("draft", task.get("drafts"))):
            for record in items or []:
                used += 1  # an empty or skipped annotation is still work someone submitted
                record = record if isinstance(record, dict) else {}
                for control, name, values in filter(None, map(_result_labels, record.get("result") or [])):
                    controls[control] += 1
                    labels.update((name, v) for v in values)
                records.extend(_record(kind, record, task, project))  # type: ignore[arg-type]
        found = [p for p in task.get("predictions") or [] if isinstance(p, dict)] if predictions is None else []
        for prediction in found:  # Label Studio 1.23.2's plain export lists predictions by id only
            for item in filter(None, map(_result_labels, prediction.get("result") or [])):
                predicted.update((item[1], v) for v in item[2])
    for live in predictions or []:
        for item in filter(None, map(_result_labels, json.loads(live.result))):
            predicted.update((item[1], v) for v in item[2])
        records.append(ResultRecord("prediction", live.id, live.task, live.result))
    records.sort(key=lambda r: (r.kind, r.id))
    return Usage(used, tuple(sorted(controls.items())), tuple(sorted(labels.items())),
                 tuple(sorted(predicted.items())), tuple(records))


def _record(kind: RecordKind, record: dict, task: dict, project: str) -> list[ResultRecord]:
    """An annotation or draft with a non-empty result list as a ``ResultRecord`` (none without)."""
    result = record.get("result")
    if not isinstance(result, list) or not result:
        return []
    if not isinstance(record.get("id"), int) or not isinstance(task.get("id"), int):
        raise MappingError(f"export of project {project}: unexpected answer ({kind} without an id)")
    linked = record.get("annotation")
    return [ResultRecord(kind, record["id"], task["id"], json.dumps(result, ensure_ascii=False),
                         str(record.get("updated_at") or ""), bool(record.get("was_cancelled")),
                         linked if isinstance(linked, int) else None)]
