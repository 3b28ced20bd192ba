"""What ``lsts-sync report`` finds in one project: how far the labeling is, how good each model
version is against the labels, and how much the annotators agree (the measures: ``metrics``).

Contract:

- The project's tasks (every task, from export's snapshot download) are read in one pass, each
  dropped once read. Progress: ``tasks``; ``annotated``, the tasks with a counted (not cancelled)
  annotation; ``cancelled``, the skipped annotations; ``annotators``, counted annotations per
  annotator e-mail; ``labels``, regions per label in the reference annotations.
- The reference of a task is the annotation ``export`` takes with ``annotations: latest``
  (``pick_annotations``), its regions flattened by ``task_rows``, as export does. Only tasks with a
  reference are measured.
- A measured task's source file is read from S3 through a Bucket spec and its rows parsed as
  ``dense`` parses them (``read_series``, ``bounds``, ``region_rows`` through ``metrics.spans``).
  Each model version's predicted regions for that file (none: it predicted nothing there) are
  compared with the reference on those rows (``metrics.compare``), per label; the comparisons are
  kept per object and summed per project.
- Agreement: over the tasks whose counted annotations come from two or more annotators, each
  annotator's latest annotation there (the same selection rule).

Pure but for the ``read`` callable that fetches a source file's bytes.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lsts_sync.core.errors import LstsError
from lsts_sync.core.parallel import bounded_map
from lsts_sync.labels.annotations import COLUMNS, annotator_of, pick_annotations, source_bucket, source_file, task_rows
from lsts_sync.labels.dense import PARALLEL_READS, Reader, Times, bounds, read_series, readable
from lsts_sync.labels.metrics import (
    Agreement,
    Annotated,
    Comparison,
    Span,
    agreement,
    compare,
    overall,
    spans,
    timed_rows,
    total,
)
from lsts_sync.resources.state import PredictionSet
from lsts_sync.spec.models import ProjectSpec

FORMAT_VERSION = 1
ALL = "all"  # the key of all labels together in a model's scores
Region = tuple[str, Any, Any]  # label, start, end as the annotation (or prediction) holds them
_LABEL, _START, _END = (COLUMNS.index(c) for c in ("label", "start", "end"))


@dataclass
class LabelingProgress:
    """How far the labeling is (see the module docstring)."""

    tasks: int = 0
    annotated: int = 0
    cancelled: int = 0
    annotators: dict[str, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskLabels:
    """A task with a reference: its source file, who made the reference and its regions, and each
    annotator's regions when two or more annotators labeled it (else empty)."""

    task: Any
    file: str
    bucket: str | None
    annotator: str
    reference: tuple[Region, ...]
    annotators: Mapping[str, tuple[Region, ...]] = field(default_factory=dict)


def _regions(task: dict, project: str, users: dict[int, str]) -> tuple[Region, ...]:
    """The regions of the task's latest counted annotation, as export flattens them."""
    return tuple((row[_LABEL], row[_START], row[_END]) for row in task_rows(task, project, "latest", users))


def read_labels(tasks: Iterable[dict], project: str, users: dict[int, str]) -> tuple[LabelingProgress, list[TaskLabels]]:
    """One pass over ``tasks`` (a stream): the progress counts and every task with a reference."""
    progress, found = LabelingProgress(), []
    for task in tasks:
        progress.tasks += 1
        progress.cancelled += sum(isinstance(a, dict) and bool(a.get("was_cancelled"))
                                  for a in task.get("annotations") or [])
        counted = pick_annotations(task, "all")
        if not counted:
            continue
        progress.annotated += 1
        by_annotator: dict[str, list[dict]] = {}
        for annotation in counted:
            who = annotator_of(annotation, users)
            progress.annotators[who] = progress.annotators.get(who, 0) + 1
            by_annotator.setdefault(who, []).append(annotation)
        reference = _regions(task, project, users)
        for label, _, _ in reference:
            progress.labels[str(label)] = progress.labels.get(str(label), 0) + 1
        each = {} if len(by_annotator) < 2 else {
            who: _regions({**task, "annotations": mine}, project, users) for who, mine in sorted(by_annotator.items())}
        latest = pick_annotations(task, "latest")[0]
        found.append(TaskLabels(task.get("id"), source_file(task), source_bucket(task),
                                annotator_of(latest, users), reference, each))
    return progress, found


def prediction_regions(prediction: PredictionSet, project: str) -> dict[str, tuple[Region, ...]]:
    """Source key -> the regions a Predictions spec predicts for it (flattened as annotations are)."""
    return {task.key: _regions({"annotations": [{"result": json.loads(task.result)}]}, project, {})
            for task in prediction.tasks}


@dataclass(frozen=True)
class ObjectResult:
    """One measured object (a task's source file): its rows with a time, the spans of the
    reference, of each model version and of each annotator (two or more, else none), the
    comparison per model version and label, and how many regions hold no row (counted nowhere)."""

    task: TaskLabels
    rows: int
    reference: tuple[Span, ...]
    predicted: Mapping[str, tuple[Span, ...]]
    annotators: Mapping[str, tuple[Span, ...]]
    scores: Mapping[str, Mapping[str, Comparison]]
    uncovered: int


def measure_object(task: TaskLabels, data: bytes, project: ProjectSpec,
                   models: Mapping[str, Mapping[str, Sequence[Region]]], iou: float, where: str) -> ObjectResult:
    """``task``'s object measured from its source file's bytes (see the module docstring)."""
    times = read_series(data.decode("utf-8", errors="replace"), project, where).times
    ordered, parse = np.sort(times), Times(project)

    def on_rows(regions: Iterable[Region]) -> tuple[Span, ...]:
        return tuple(spans(ordered, bounds(regions, parse, where)))

    reference = on_rows(task.reference)
    predicted = {version: on_rows(by_file.get(task.file, ())) for version, by_file in models.items()}
    scores = {version: compare(reference, mine, iou) for version, mine in predicted.items()}
    uncovered = sum(not s.rows for group in (reference, *predicted.values()) for s in group)
    return ObjectResult(task, timed_rows(times), reference, predicted,
                        {who: on_rows(regions) for who, regions in task.annotators.items()}, scores, uncovered)


def measure(project: ProjectSpec, tasks: Sequence[TaskLabels], models: Mapping[str, Mapping[str, Sequence[Region]]],
            read: Reader, buckets: Collection[str], iou: float,
            parallelism: int = PARALLEL_READS) -> list[ObjectResult]:
    """Every task measured, in task order; its source file read ``parallelism`` at a time. Every
    file is checked to be readable through a Bucket spec before any is read."""
    what = f"report {project.name}"
    located = [(task, readable(task.file, task.bucket, buckets, what, "report")) for task in tasks]

    def one(item: tuple[TaskLabels, str]) -> ObjectResult:
        task, bucket = item
        return measure_object(task, read(bucket, task.file), project, models, iou, f"{what}: s3://{bucket}/{task.file}")

    return bounded_map(one, located, parallelism)


@dataclass(frozen=True)
class ProjectReport:
    """Everything ``report`` says about one project; ``models`` holds each model version's
    comparison per label, summed over the objects (``objects`` keeps them one by one)."""

    name: str
    progress: LabelingProgress
    labels: tuple[str, ...]
    models: Mapping[str, Mapping[str, Comparison]]
    agreement: Agreement
    objects: tuple[ObjectResult, ...] = ()

    @property
    def uncovered(self) -> int:
        return sum(o.uncovered for o in self.objects)

    def scores(self, version: str) -> dict[str, Comparison]:
        """``all`` (every label together) then each label of the report, for one model version."""
        per_label = self.models[version]
        return {ALL: overall(per_label), **{label: per_label.get(label, Comparison()) for label in self.labels}}

    def to_json(self) -> dict[str, Any]:
        p = self.progress
        return {"tasks": p.tasks, "annotated": p.annotated, "cancelled": p.cancelled,
                "annotators": dict(sorted(p.annotators.items())), "labels": dict(sorted(p.labels.items())),
                "models": {version: {label: c.to_json() for label, c in self.scores(version).items()}
                           for version in self.models},
                "agreement": self.agreement.to_json()}


def project_report(project: ProjectSpec, progress: LabelingProgress, objects: Sequence[ObjectResult],
                   versions: Sequence[str], iou: float) -> ProjectReport:
    """The project's report from its measured objects; every label of the spec is listed, and
    any other label found in the regions."""
    found = {s.label for o in objects for group in (o.reference, *o.predicted.values()) for s in group}
    labels = tuple(dict.fromkeys([label.value for label in project.labels] + sorted(found)))
    if ALL in labels:
        raise LstsError(f"report {project.name}: a label is named {ALL!r}, the name the report gives all labels "
                        "together")
    models = {version: total(o.scores[version] for o in objects) for version in sorted(versions)}
    pairs = [Annotated(o.rows, o.annotators) for o in objects if len(o.annotators) >= 2]
    return ProjectReport(project.name, progress, labels, models, agreement(pairs, iou), tuple(objects))


def report_json(reports: Sequence[ProjectReport]) -> dict[str, Any]:
    """The ``--json`` document: ``format_version`` and each project's report by name."""
    return {"format_version": FORMAT_VERSION, "projects": {r.name: r.to_json() for r in reports}}

