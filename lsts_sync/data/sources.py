"""What the data side holds for each source: matching objects, which are not yet tasks, which changed.

Read once per plan (``read_sources``) into frozen ``SourceFacts`` that ``build_plan`` turns into sync
steps and warnings, and that the data checks sample from. ``resolve_channels`` reads the header of
each ``channels: auto`` project's first matching object, so desired state holds explicit channels.
"""

from __future__ import annotations

import re
from dataclasses import replace

from lsts_sync.core.errors import LstsError, ProblemsFound
from lsts_sync.core.problems import FieldPath, Problem
from lsts_sync.resources.adoption import match
from lsts_sync.resources.facts import SourceFacts
from lsts_sync.resources.protocols import S3Ops
from lsts_sync.resources.state import DesiredState, LiveState, StorageState
from lsts_sync.spec.loader import SpecSet
from lsts_sync.spec.models import ProjectSpec
from lsts_sync.ui import seriescsv
from lsts_sync.ui.template import series_attributes

CHANGED_SLACK = 2.0  # seconds: an object written just before its import is not "changed since"


def matching(s3: S3Ops, bucket: str, prefix: str, recursive: bool, regex_filter: str) -> list[tuple[str, float]]:
    """``(key, last modified)`` of the objects Label Studio would import, sorted by key: it lists
    ``prefix`` with one trailing ``/`` (``pump-7`` lists ``pump-7/``) and skips folder keys."""
    pattern = re.compile(regex_filter)
    listed = prefix.rstrip("/") + "/" if prefix else ""
    return sorted((k, t) for k, t, _ in s3.objects(bucket, listed, recursive)
                  if pattern.match(k) and not k.endswith("/"))


def resolve_channels(specs: SpecSet, s3: S3Ops, names: set[str] | None = None) -> SpecSet:
    """``specs`` with every ``channels: auto`` project (of ``names``, default all) resolved from
    the header of its source's first matching object, read as the labeling UI reads it
    (``seriescsv.header``), so that the plan's own data check of that object never blocks on a
    channel resolved here.

    A quoted name becomes a quoted channel (``"v"``), which the UI matches; a quoted time column
    is left out of the channels and the data check gives its one finding (the UI keeps the quotes,
    so it does not match the time column): the user removes the quotes from the header. A name
    with spaces around it (``t, v``) can match no template column (the UI does not trim names,
    template columns are trimmed), so it is an error here, naming the object, the name and the fix.
    No object is an error: no channels, no template."""
    from lsts_sync.desired.build import regex_filter

    projects = dict(specs.projects)
    for name, project in specs.projects.items():
        if not project.timeseries.auto or (names is not None and name not in names) or project.source is None:
            continue
        source = project.source
        found = matching(s3, source.bucket, source.prefix, source.recursive, regex_filter(source))
        if not found:
            raise LstsError(f"project {name}: channels: auto, but no object under s3://{source.bucket}/"
                            f"{source.prefix} matches pattern {source.pattern} to read the columns from; "
                            "upload data first or list the channels")
        if source.staged and (source.format == "parquet" or found[0][0].lower().endswith((".parquet", ".pq"))):
            header = _parquet_columns(s3, source.bucket, found[0][0])
        else:
            text = s3.head_bytes(source.bucket, found[0][0]).decode("utf-8", errors="replace")
            header = seriescsv.header(text, project.timeseries.sep)
        _refuse_padded(name, project, f"s3://{source.bucket}/{found[0][0]}", header)
        _refuse_unknown_columns(specs, name, f"s3://{source.bucket}/{found[0][0]}", header)
        projects[name] = project.with_channels(header)
    return replace(specs, projects=projects)


def _refuse_unknown_columns(specs: SpecSet, name: str, url: str, header: list[str]) -> None:
    """Raise ProblemsFound for each ``exclude_columns`` entry and ``channel_settings`` key that names
    no header column (a typo would otherwise be ignored, and the column meant drawn as a channel),
    at its spec line, with the closest header name."""
    ts = specs.projects[name].timeseries
    names = {seriescsv.loose_name(h).lower() for h in header if h.strip()}
    location = specs.locations[("Project", name)]
    refs: list[tuple[FieldPath, str]] = [(("timeseries", "exclude_columns", i), c) for i, c in enumerate(ts.exclude_columns)]
    refs += [(("timeseries", "channel_settings", c), c) for c in ts.channel_settings]
    problems = [Problem(location.file, location.line_of(path), f"{column!r} is not a column of {url}"
                        f"{seriescsv.did_you_mean(column, header)}", "Project", name, path)
                for path, column in refs if column.strip().lower() not in names]
    if problems:
        raise ProblemsFound(problems, f"{len(problems)} column name(s) in specs are not in the data; nothing was changed")


def _parquet_columns(s3: S3Ops, bucket: str, key: str) -> list[str]:
    """The column names of a Parquet object, from its footer (ranged reads, not the whole object)."""
    import pyarrow.parquet as pq

    from lsts_sync.data.staging import reader
    from lsts_sync.data.windows import RangeFile

    found = {k: (e, n) for k, e, n in s3.object_etags(bucket, key)}
    if key not in found:
        raise LstsError(f"s3://{bucket}/{key}: vanished while its columns were read; run again")
    try:
        return [str(n) for n in pq.ParquetFile(RangeFile(reader(s3, bucket, key, *found[key]))).schema_arrow.names]
    except Exception as exc:  # pyarrow raises its own types for a file that is not Parquet
        raise LstsError(f"s3://{bucket}/{key}: not a Parquet file ({type(exc).__name__})") from None


def _refuse_padded(name: str, project: ProjectSpec, url: str, header: list[str]) -> None:
    """Raise LstsError for a header name with spaces around it that would become a channel."""
    ts = project.timeseries
    skip = {c.strip().lower() for c in (ts.time_column, *ts.exclude_columns)}
    for column in header:
        if column.strip() and column != column.strip() and seriescsv.loose_name(column).lower() not in skip:
            raise LstsError(f"project {name}: channels: auto, but header name {column!r} of {url} has spaces around "
                            "it: the labeling UI does not trim names, so no channel can match it; remove the spaces "
                            "from the header (or list the column under exclude_columns)")


def read_sources(desired: DesiredState, live: LiveState, s3: S3Ops, tasks_of,
                 adopt: frozenset[str] = frozenset(), map_fn=None) -> dict[tuple[str, str, str], SourceFacts]:
    """Facts of every desired source storage. ``tasks_of(project)`` lists a live project's tasks
    (``TaskFile``s). The live project may be our own, another owner's (to take over) or an
    unmanaged one (to ``adopt``); a project that does not exist yet has no tasks, so all its objects
    are pending. A storage to be created imports every object again, even those already tasks of
    its project (``already``). A source without matching objects needs no task list (nothing can
    be pending, changed or already imported), so none is read.

    ``map_fn(fn, items)`` runs each source's reads (its listing, then its project's tasks); it
    defaults to a plain loop and may run them concurrently (``Connections.map``): the results
    are used in key order, so the facts are the same either way."""
    wanted = [(key, storage) for key, storage in sorted(desired.storages.items()) if storage.role == "source"]

    def read(item):
        key, storage = item
        objects = matching(s3, storage.bucket, storage.prefix, storage.recursive_scan, storage.regex_filter)
        project = _live_project(desired, live, (storage.instance, storage.project), adopt)
        return objects, (tasks_of(project) if project is not None and objects else None)

    reads = map_fn(read, wanted) if map_fn is not None else [read(item) for item in wanted]
    return {key: _source_facts(_exists(live, storage), objects, tasks)
            for (key, storage), (objects, tasks) in zip(wanted, reads, strict=True)}


def _exists(live: LiveState, storage: StorageState) -> bool:
    """True if the source storage exists: this owner's, another's (to take over), or made by hand
    on a project being adopted and matching it (``resources.adoption``: adoption takes it over)."""
    key = storage.key
    return (key in live.storages or key in live.foreign_storages
            or match(live.unmarked_storages.get((storage.instance, storage.project), ()), storage) is not None)


def _source_facts(exists: bool, objects: list[tuple[str, float]], tasks) -> SourceFacts:
    """One source's facts from its matching objects and its project's tasks (None: no live project)."""
    keys = tuple(k for k, _ in objects)
    if tasks is None:
        return SourceFacts(keys, keys)
    created = {t.key: t.created for t in tasks if t.key}
    if not exists:
        return SourceFacts(keys, keys, already=tuple(k for k in keys if k in created))
    return SourceFacts(keys, tuple(k for k, _ in objects if k not in created),
                       tuple(k for k, t in objects if k in created and t > created[k] + CHANGED_SLACK))


def _live_project(desired: DesiredState, live: LiveState, key: tuple[str, str], adopt: frozenset[str]):
    if key in live.projects or key in live.foreign:
        return live.projects.get(key) or live.foreign[key]
    want = desired.projects.get(key)
    return live.unmanaged.get((want.instance, want.title)) if want and want.name in adopt else None


def breaks_series(old_config: str, new_config: str) -> bool:
    """True if a template change touches what decides whether the chart can draw the data:
    the time column, time format, separator or channel columns."""
    return series_attributes(old_config) != series_attributes(new_config)
