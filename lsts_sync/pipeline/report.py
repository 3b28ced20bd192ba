"""``lsts-sync report``: read-only, for every selected Project spec, how far the labeling is, how
good each Predictions spec's model version is against the labels, and how much the annotators
agree (``labels.report``).

Order, per project (name order): its live id (the project of the spec set's owner, as export finds
it), the snapshot of every task (export's download), the predictions files of its Predictions specs
(read once, for every selected project, before any download: a file that cannot be read stops the
report at its spec's line), the source file of every task with a reference (through the Bucket
specs), the measures. Nothing is written but the pictures of ``--plots``.

Nothing here writes to the terminal: status and warning lines go to the caller's ``progress``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lsts_sync.core.errors import LstsError
from lsts_sync.labels.dense import PARALLEL_READS
from lsts_sync.labels.exports import managed_project_ids
from lsts_sync.labels.predictions import load_predictions
from lsts_sync.labels.report import (
    LabelingProgress,
    ProjectReport,
    TaskLabels,
    measure,
    prediction_regions,
    project_report,
    read_labels,
)
from lsts_sync.live.connections import Connections
from lsts_sync.resources.state import PredictionSet
from lsts_sync.spec.loader import SpecSet
from lsts_sync.spec.models import ProjectSpec

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReportOptions:
    """``iou``: the least IoU of a matched event; ``plots``: the folder of the pictures (None:
    none); ``parallelism``: source files read at once."""

    iou: float = 0.5
    plots: str | None = None
    parallelism: int = PARALLEL_READS


@dataclass(frozen=True)
class Reports:
    """Each selected project's report (name order) and the pictures written."""

    projects: tuple[ProjectReport, ...]
    pictures: tuple[Path, ...] = ()


def build_reports(specs: SpecSet, selected: frozenset[str] | None, conn: Connections, options: ReportOptions,
                  progress: Progress) -> Reports:
    """The report of every selected project (None: all); raises LstsError for a project that is
    not applied yet, a file that cannot be read, or ``--plots`` without matplotlib (before any read)."""
    if options.plots is not None:
        from lsts_sync.labels.plots import require_matplotlib

        require_matplotlib()
    names = sorted(n for n in specs.projects if selected is None or n in selected)
    predictions = load_predictions(specs, conn.s3, frozenset(names))
    ids: dict[str, dict[str, int]] = {}
    users: dict[str, dict[int, str]] = {}
    reports = []
    for name in names:
        project = specs.projects[name]
        instance = conn.instances[project.instance]
        if project.instance not in ids:
            ids[project.instance] = managed_project_ids(instance, specs.owner)
            users[project.instance] = instance.users()
        project_id = ids[project.instance].get(name)
        if project_id is None:
            raise LstsError(f"report: project {name} does not exist in instance {project.instance} yet "
                            "(run lsts-sync apply)")
        progress(f"Downloading the tasks of project {name}...")
        tasks = instance.export_tasks(project_id, name, all_tasks=True)
        sets = sorted((p for p in predictions.values() if p.project == name), key=lambda p: p.model_version)
        reports.append(_project(specs, project, read_labels(tasks, name, users[project.instance]), sets, conn,
                                options, progress))
    pictures: tuple[Path, ...] = ()
    if options.plots is not None:
        from lsts_sync.labels.plots import write_plots

        pictures = tuple(write_plots(reports, {n: specs.projects[n] for n in names}, conn.s3.read_bytes,
                                     Path(options.plots)))
    return Reports(tuple(reports), pictures)


def _project(specs: SpecSet, project: ProjectSpec, labeled: tuple[LabelingProgress, list[TaskLabels]],
             sets: list[PredictionSet], conn: Connections, options: ReportOptions, progress: Progress) -> ProjectReport:
    """One project's report from its read tasks and its model versions' prediction sets."""
    counts, tasks = labeled
    _warn_skipped(sets, progress)
    progress(f"Reading {len(tasks)} labeled source file(s) of project {project.name}...")
    objects = measure(project, tasks, {p.model_version: prediction_regions(p, project.name) for p in sets},
                      conn.s3.read_bytes, specs.buckets, options.iou, options.parallelism)
    report = project_report(project, counts, objects, [p.model_version for p in sets], options.iou)
    if report.uncovered:
        progress(f"Warning: report {project.name}: {report.uncovered} region(s) hold no row (no row time inside "
                 "them) and are not counted")
    return report


def _warn_skipped(sets: list[PredictionSet], progress: Progress) -> None:
    for prediction in sets:
        if prediction.skipped:
            progress(f"Warning: Predictions {prediction.name}: {len(prediction.skipped)} row(s) of {prediction.file} "
                     "cannot be used and are left out (lsts-sync plan names them)")
