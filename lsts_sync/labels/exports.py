"""Run Export specs: find each project's id, download its annotations once, build every output, write them.

Contract:

- A Project spec's live project is the one whose marker carries the spec set's owner and the
  project's name; of several, the lowest id (as plan keeps it).
- Each (project, ``annotations`` mode) is downloaded once and each instance's users are read once,
  however many Export specs use them. The download is read as a stream of tasks (``jsonstream``).
- ``dense`` exports read their source files from S3 through ``read`` (the Bucket specs' clients),
  also before anything is written.
- Everything is downloaded and transformed before the first output is written, so an error while
  reading or transforming (a project not applied yet, an unreachable instance, a time that does not
  parse, split files that clash) leaves every output untouched.
- Outputs are written in order; the first that fails stops the run with ``ExportFailed``, which
  holds the outputs written and those not written.

Nothing here writes to the terminal: status lines go to the caller's ``progress``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from lsts_sync.core.errors import LstsError
from lsts_sync.core.locations import is_s3_url
from lsts_sync.labels.annotations import (
    Annotations,
    Fields,
    Output,
    missing_fields,
    missing_labels,
    outputs_for,
    read_annotations,
    write_local,
)
from lsts_sync.labels.dense import Reader, Times, dense_outputs
from lsts_sync.labels.windowed import unwindow
from lsts_sync.resources.markers import Marker
from lsts_sync.resources.state import ProjectState
from lsts_sync.spec.loader import SpecSet
from lsts_sync.spec.models import ExportSpec, ProjectSpec

Progress = Callable[[str], None]
Writer = Callable[[str, bytes], None]


class AnnotationSource(Protocol):
    """What an export reads from a Label Studio instance (``LabelStudioInstance`` provides it)."""

    def read_projects(self) -> list[tuple[Marker | None, ProjectState]]: ...

    def export_tasks(self, project_id: int, name: str, all_tasks: bool = False) -> Iterable[dict]: ...

    def users(self) -> dict[int, str]: ...


class ObjectStore(Protocol):
    """Where ``s3://`` outputs go (``S3Buckets`` provides it)."""

    def put_object(self, url: str, data: bytes) -> object:
        """Write ``data`` at ``url``; what it answers (the ETag) is not used here."""


@dataclass(frozen=True)
class ExportOutput:
    """One output of the Export spec named ``export``."""

    export: str
    output: Output


class ExportFailed(LstsError):
    """Writing an output failed: ``written`` were written, ``not_written`` (the failed one first) were not."""

    def __init__(self, message: str, written: list[ExportOutput], not_written: list[ExportOutput]):
        super().__init__(message)
        self.written = written
        self.not_written = not_written


def select_exports(specs: SpecSet, names: Iterable[str] = ()) -> list[ExportSpec]:
    """The Export specs with these names (all if none), in name order; an unknown name raises LstsError."""
    wanted = set(names)
    unknown = sorted(wanted - set(specs.exports))
    if unknown:
        raise LstsError(f"--name names no Export spec: {', '.join(unknown)}")
    return [e for n, e in sorted(specs.exports.items()) if not wanted or n in wanted]


def managed_projects(instance: AnnotationSource, owner: str) -> dict[str, ProjectState]:
    """Project name -> the instance's project whose marker carries ``owner`` (the lowest id per name)."""
    found: dict[str, ProjectState] = {}
    for marker, project in sorted(instance.read_projects(), key=lambda item: item[1].id or 0, reverse=True):
        if marker is not None and marker.owner == owner and project.id is not None:
            found[project.name] = project
    return found


def managed_project_ids(instance: AnnotationSource, owner: str) -> dict[str, int]:
    """Project name -> id of the instance's projects whose marker carries ``owner`` (the lowest id per name)."""
    return {name: project.id for name, project in managed_projects(instance, owner).items()
            if project.id is not None}


class _Downloads:
    """Reads from the instances, each thing once: project ids and users per instance, regions per
    (project, annotations mode)."""

    def __init__(self, instances: Mapping[str, AnnotationSource], owner: str, progress: Progress):
        self.instances, self.owner, self.progress = instances, owner, progress
        self.live: dict[str, dict[str, ProjectState]] = {}
        self.users: dict[str, dict[int, str]] = {}
        self.annotations: dict[tuple[str, str], Annotations] = {}

    def project(self, export: ExportSpec, project: ProjectSpec) -> tuple[int, ProjectState]:
        """The live ``project`` and its id; raises LstsError if the instance has none (not applied yet)."""
        if project.instance not in self.live:
            self.live[project.instance] = managed_projects(self.instances[project.instance], self.owner)
        found = self.live[project.instance].get(project.name)
        if found is None or found.id is None:
            raise LstsError(f"export {export.name}: project {project.name} does not exist in instance "
                            f"{project.instance} yet (run lsts-sync apply)")
        return found.id, found

    def read(self, export: ExportSpec, project: ProjectSpec) -> Annotations:
        """The project's regions (sorted by file, start and label) and annotated files, for the
        export's annotations mode; the tasks are read as a stream, one at a time. Regions whose
        label or control the project's live template no longer has are one warning per label, and
        results of a field or a choice it no longer has one warning per field or choice."""
        project_id, live = self.project(export, project)
        key = (project.name, export.annotations)
        if key not in self.annotations:
            instance = self.instances[project.instance]
            self.progress(f"Downloading annotations of project {project.name}...")
            tasks = instance.export_tasks(project_id, project.name)
            if project.instance not in self.users:
                self.users[project.instance] = instance.users()
            self.annotations[key] = read_annotations(tasks, project.name, export.annotations,
                                                     self.users[project.instance], Fields.of(project))
            for control, label, count in missing_labels(self.annotations[key].labels, live.label_config):
                self.progress(f"Warning: project {project.name}: {count} region(s) of the exported annotations "
                              f"use label {label!r} of control {control!r}, which the project's template no longer "
                              "has (a renamed label? see renamed_from in docs/changing-labeled-projects.md)")
            for name, choice, count in missing_fields(self.annotations[key].fields, live.label_config):
                what = f"choice {choice!r} of field {name!r}" if choice else f"field {name!r}"
                self.progress(f"Warning: project {project.name}: {count} result(s) of the exported annotations "
                              f"use {what}, which the project's template no longer has (a renamed "
                              f"{'choice' if choice else 'field'}? see renamed_from in "
                              "docs/changing-labeled-projects.md)")
        return self.annotations[key]


def build_outputs(specs: SpecSet, exports: Iterable[ExportSpec], instances: Mapping[str, AnnotationSource],
                  progress: Progress, read: Reader | None = None) -> list[ExportOutput]:
    """Every output of ``exports``, in order, with its bytes: all downloads and transformations, no
    writes. ``read`` fetches the source files of ``dense`` exports (``S3Buckets.read_bytes``)."""
    downloads = _Downloads(instances, specs.owner, progress)
    found: list[ExportOutput] = []
    for export in exports:
        project = specs.projects[export.project]
        annotations = downloads.read(export, project)
        if project.source is not None and project.source.staged:
            annotations = unwindow(annotations, project, specs.owner, Times(project))
        if export.format == "dense":
            if read is None:
                raise LstsError(f"export {export.name}: dense needs the source files, and no S3 reader was given")
            outputs = dense_outputs(export, project, annotations, read, specs.buckets, progress)
        else:
            outputs = outputs_for(export, project, annotations.regions)
        found += [ExportOutput(export.name, output) for output in outputs]
    return found


def write_outputs(outputs: list[ExportOutput], writer: Writer) -> list[ExportOutput]:
    """Write ``outputs`` in order with ``writer``; return them. The first that fails (LstsError or
    OSError) stops the run: raises ExportFailed with the ones written before it and the rest."""
    for done, item in enumerate(outputs):
        try:
            writer(item.output.location, item.output.data)
        except (LstsError, OSError) as exc:
            raise ExportFailed(f"export {item.export}: {_why(exc, item.output.location)}", outputs[:done],
                               outputs[done:]) from exc
    return outputs


def _why(exc: Exception, location: str) -> str:
    """One line for a failed write, naming the location (an S3 error may name only the bucket)."""
    reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
    return f"cannot write {location}: {reason}"


def writer_for(s3: ObjectStore) -> Writer:
    """A writer sending ``s3://`` locations to ``s3.put_object`` and the others to ``write_local``."""
    def write(location: str, data: bytes) -> None:
        if is_s3_url(location):
            s3.put_object(location, data)
        else:
            write_local(location, data)
    return write


def run_exports(specs: SpecSet, exports: Iterable[ExportSpec], instances: Mapping[str, AnnotationSource],
                writer: Writer, progress: Progress, read: Reader | None = None) -> list[ExportOutput]:
    """``build_outputs`` then ``write_outputs``: nothing is written unless every output was built."""
    return write_outputs(build_outputs(specs, exports, instances, progress, read), writer)
