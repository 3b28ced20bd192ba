"""Flatten Label Studio annotations into label tables and write the Export specs' CSV outputs.

The flattening is pure (recorded annotation JSON in, rows out) so odd shapes are unit-tested; the
server stores ``result`` as sent, so nothing about a region's shape is trusted.

Which annotations count: by default (``annotations: latest``) the most recently updated
non-cancelled annotation of each task (``updated_at`` compared as points in time, ties by id);
``annotations: all`` takes every non-cancelled one. Skipped (cancelled) annotations and drafts never
count.
"""

from __future__ import annotations

import contextlib
import gc
import io
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lsts_sync.core.errors import LstsError
from lsts_sync.core.files import READABLE_BY_ALL, write_atomic
from lsts_sync.core.jsonstream import JsonArrayFile
from lsts_sync.core.locations import is_s3_url, split_s3_url
from lsts_sync.labels import csvwrite
from lsts_sync.resources.state import iso_moment
from lsts_sync.spec.models import ExportSpec, ProjectSpec
from lsts_sync.ui.template import DATA_KEY, controls, label_values, parses
from lsts_sync.ui.timefmt import TimeFormatError, compile_format, format_ms

COLUMNS = ["project", "task_id", "file", "label", "start", "end", "instant", "annotation_id", "annotator",
           "updated_at"]


def source_file(task: dict) -> str:
    """The S3 key a task came from (``s3://bucket/key`` -> ``key``), else its data URL as is."""
    url = str((task.get("data") or {}).get(DATA_KEY) or task.get("storage_filename") or "")
    if is_s3_url(url):
        parts = split_s3_url(url)
        return parts[1] if parts else ""
    return url


def source_bucket(task: dict) -> str | None:
    """The bucket of a task's ``s3://bucket/key`` data URL, else None."""
    parts = split_s3_url(str((task.get("data") or {}).get(DATA_KEY) or ""))
    return (parts[0] or None) if parts else None


def updated_time(annotation: dict) -> datetime:
    """An annotation's ``updated_at`` as an aware datetime (``resources.state.iso_moment``: the
    rule a rewrite also uses to keep the latest annotation the latest)."""
    return iso_moment(annotation.get("updated_at"))


def pick_annotations(task: dict, which: str) -> list[dict]:
    """Non-cancelled annotations of a task: all (``which == "all"``), or the one with the latest
    ``updated_time``, the highest id among equal times."""
    valid = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if which == "all" or not valid:
        return valid
    return [max(valid, key=lambda a: (updated_time(a), a.get("id") or 0))]


def annotator_of(annotation: dict, users: dict[int, str]) -> str:
    """Who made an annotation: the e-mail of its ``completed_by`` (an id, or an expanded user)."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id") or "")
    return users.get(who, str(who)) if who is not None else ""


@dataclass(frozen=True)
class Fields:
    """The names of a project's region fields and task fields: the columns that follow ``COLUMNS``
    in that order (``ProjectSpec.region_fields``, ``task_fields``)."""

    region: tuple[str, ...] = ()
    task: tuple[str, ...] = ()

    @classmethod
    def of(cls, project: ProjectSpec) -> Fields:
        return cls(tuple(f.name for f in project.region_fields), tuple(f.name for f in project.task_fields))

    @property
    def columns(self) -> list[str]:
        return [*self.region, *self.task]


NO_FIELDS = Fields()


def field_value(value: dict) -> object:
    """What a field's result says: its one choice or number as is, several choices joined with
    ``|``, the texts of a TextArea joined with a line break; None when it says nothing."""
    for key, joiner in (("choices", "|"), ("text", "\n"), ("number", "|"), ("rating", "|")):
        if key in value:
            found = value[key]
            if isinstance(found, list):
                return found[0] if len(found) == 1 else joiner.join(map(str, found)) or None
            return found
    return None


def field_values(results: list, fields: Fields) -> tuple[dict[object, dict[str, object]], dict[str, object]]:
    """The fields' values in an annotation's ``results``: per region (by the id that a per-region
    result shares with its region's ``timeserieslabels`` result) and for the whole task (a field's
    result whose id is no region's)."""
    regions = {r.get("id") for r in results if isinstance(r, dict) and r.get("type") == "timeserieslabels"}
    per_region: dict[object, dict[str, object]] = {}
    per_task: dict[str, object] = {}
    for result in results:
        if not isinstance(result, dict) or result.get("type") == "timeserieslabels":
            continue
        name, value, ident = result.get("from_name"), result.get("value"), result.get("id")
        if not isinstance(value, dict) or not isinstance(name, str):
            continue
        if name in fields.region and ident is not None and ident in regions:
            per_region.setdefault(ident, {})[name] = field_value(value)
        elif name in fields.task:
            per_task[name] = field_value(value)
    return per_region, per_task


def count_field(result: dict, used: Counter[tuple[str, str]]) -> None:
    """Count a result that is no region by its control (``(from_name, "")``) and, for a choices
    result, each of its choices (``(from_name, choice)``)."""
    name = result.get("from_name")
    if not isinstance(name, str):
        return
    used[(name, "")] += 1
    value = result.get("value")
    if result.get("type") == "choices" and isinstance(value, dict) and isinstance(value.get("choices"), list):
        used.update((name, str(choice)) for choice in value["choices"])


def task_rows(task: dict, project: str, which: str, users: dict[int, str],
              used: Counter[tuple[str, str]] | None = None, fields: Fields = NO_FIELDS,
              used_fields: Counter[tuple[str, str]] | None = None) -> list[tuple]:
    """One row per label of every time-series region of the task's counted annotations, in ``COLUMNS``
    order, then the ``fields``' columns (a region field's value of that region, a task field's value
    of that annotation); ``used`` counts each row by its region's control (``from_name``) and label,
    ``used_fields`` every other result of those annotations (``count_field``)."""
    rows: list[tuple] = []
    file = source_file(task)
    has_fields = bool(fields.region or fields.task)  # read once: this loop runs for every region
    for annotation in pick_annotations(task, which):
        annotator = annotator_of(annotation, users)
        results = annotation.get("result") or []
        per_region, per_task = field_values(results, fields) if has_fields else ({}, {})
        for region in results:
            if not isinstance(region, dict):
                continue
            if region.get("type") != "timeserieslabels":
                if used_fields is not None:
                    count_field(region, used_fields)
                continue
            value = region.get("value")
            if not isinstance(value, dict):
                continue
            start, end = value.get("start"), value.get("end")
            instant = bool(value.get("instant", start is not None and start == end))
            for label in value.get("timeserieslabels") or []:
                label = sys.intern(label) if type(label) is str else label  # one object per label name
                if used is not None:
                    used[(str(region.get("from_name")), str(label))] += 1
                row: tuple = (project, task.get("id"), file, label, start, end, instant,
                              annotation.get("id"), annotator, annotation.get("updated_at"))
                if has_fields:
                    own = per_region.get(region.get("id"), {})
                    row += tuple(own.get(n) for n in fields.region) + tuple(per_task.get(n) for n in fields.task)
                rows.append(row)
    return rows


@dataclass(frozen=True)
class Annotations:
    """What a project's counted annotations say: ``regions`` (one row per label of every region, in
    ``COLUMNS`` order, sorted by file, start and label) and ``files``,
    the source file (``source_file``) of every task with a counted annotation, even one without
    regions (an empty annotation says "nothing here", which a dense export must keep), mapped to
    the bucket it came from (None: the task's data is not an ``s3://`` URL). ``labels`` counts
    the regions' rows by control and label, ``fields`` the other results by control and choice
    (``count_field``), to say which the template no longer has.

    ``rows`` holds the regions as they were gathered: the frame itself, or (``read_annotations``'
    fast path) an Arrow ``table`` of the same values, from which ``regions`` is built once, when
    first read (a table export writes straight from the table)."""

    rows: pd.DataFrame | pa.Table
    files: Mapping[str, str | None]
    labels: Mapping[tuple[str, str], int] = field(default_factory=dict)
    fields: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @cached_property
    def regions(self) -> pd.DataFrame:
        return self.rows if isinstance(self.rows, pd.DataFrame) else table_frame(self.rows)

    @property
    def table(self) -> pa.Table | None:
        return self.rows if isinstance(self.rows, pa.Table) else None


def table_frame(table: pa.Table) -> pd.DataFrame:
    """The frame of object columns holding the table's values as Python values (as ``_frame`` builds it)."""
    return pd.DataFrame({name: pd.Series(_python_values(table.column(name)), dtype=object)
                         for name in table.column_names})


def _python_values(column: pa.ChunkedArray) -> list:
    """The column's values as Python values; a dictionary chunk's from its dictionary's (each
    value made once: Arrow makes a scalar per cell of a dictionary array, ten times slower)."""
    values: list = []
    for chunk in column.chunks:
        if isinstance(chunk, pa.DictionaryArray):
            words = chunk.dictionary.to_pylist()
            values += [None if i is None else words[i] for i in chunk.indices.to_pylist()]
        else:
            values += chunk.to_pylist()
    return values


def read_annotations(tasks: Iterable[dict], project: str, which: str, users: dict[int, str],
                     fields: Fields = NO_FIELDS) -> Annotations:
    """One pass over ``tasks`` (which may be a stream: each task is dropped once read); the regions
    have ``COLUMNS`` and then the ``fields``' columns (``task_rows``).

    An export snapshot in a file (``JsonArrayFile``) is read by ``fastread`` when every task fits
    its typed structs (the same rows, decoded and flattened column-wise), else task by task here.

    The cyclic garbage collector is paused meanwhile: decoded JSON holds no reference cycles, and
    with a million regions the collector would scan the growing columns again and again (a quarter
    of the time)."""
    with _collector_paused():
        if isinstance(tasks, JsonArrayFile):
            texts = tasks.texts()
            if texts is not None:
                from lsts_sync.labels import fastread  # it builds on this module

                found = fastread.read(texts, project, which, users, fields)
                if found is not None:
                    tasks.close()
                    return found
        return _read(tasks, project, which, users, fields)


def _read(tasks: Iterable[dict], project: str, which: str, users: dict[int, str], fields: Fields) -> Annotations:
    """The reference path of ``read_annotations``: task by task, row by row."""
    names = COLUMNS + fields.columns
    columns: list[list] = [[] for _ in names]  # column-wise: no tuple per row (memory)
    files: dict[str, str | None] = {}
    used: Counter[tuple[str, str]] = Counter()
    used_fields: Counter[tuple[str, str]] = Counter()
    for task in tasks:
        if pick_annotations(task, which):
            files[source_file(task)] = source_bucket(task)
        # a task without regions gives no columns at all: zip stops at once (not strict)
        rows = task_rows(task, project, which, users, used, fields, used_fields)
        for column, values in zip(columns, zip(*rows, strict=True), strict=False):
            column.extend(values)
    return Annotations(_sorted(_frame(names, columns)), files, dict(used), dict(used_fields))


def missing_labels(used: Mapping[tuple[str, str], int], label_config: str) -> list[tuple[str, str, int]]:
    """``(control, label, regions)`` of the labels that regions use and ``label_config`` lacks (a
    control it lacks: every label of it), sorted; none for a template that does not parse (it
    says nothing about what it has)."""
    if not parses(label_config):
        return []
    have = label_values(label_config)
    return [(control, label, n) for (control, label), n in sorted(used.items()) if label not in have.get(control, ())]


def missing_fields(used: Mapping[tuple[str, str], int], label_config: str) -> list[tuple[str, str, int]]:
    """``(field, choice, results)`` of the fields (choice ``""``) that results use and
    ``label_config`` has no control of, and of the choices it lacks of a choices control it has,
    sorted; none for a template that does not parse."""
    if not parses(label_config):
        return []
    names = {key.split("|")[0] for key in controls(label_config)}
    have = label_values(label_config)
    return [(name, choice, n) for (name, choice), n in sorted(used.items())
            if (name not in names and not choice) or (choice and name in have and choice not in have[name])]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _frame(names: list[str], columns: list[list]) -> pd.DataFrame:
    """A frame of object columns (values as sent: 5 stays 5, not 5.0); each list is emptied as
    soon as its column is built, so the rows are never held twice over."""
    data = {}
    for name, values in zip(names, columns, strict=True):
        data[name] = pd.Series(values, dtype=object)
        values.clear()
    return pd.DataFrame(data)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorted by file, start (as numbers when every start is one, else as text), label, task and annotation id."""
    if frame.empty:
        return frame
    numeric = pd.to_numeric(frame["start"], errors="coerce")
    frame["_start"] = numeric if numeric.notna().all() else frame["start"].astype(str)
    frame = frame.sort_values(["file", "_start", "label", "task_id", "annotation_id"], kind="stable")
    return frame.drop(columns="_start").reset_index(drop=True)


def _reformat(values: pd.Series, source: str, target: str, export: str) -> pd.Series:
    """Times written by the labeling UI with the project's ``source`` format, re-written with
    ``target``; both read and written with d3's semantics (``timefmt``), as the UI does."""
    parser = compile_format(source)

    def convert(value: object) -> str:
        ms = parser.parse(str(value))
        if ms is None:
            raise LstsError(f"export {export}: time {value!r} does not match the project's time_format {source!r}")
        try:
            return format_ms(ms, target)
        except TimeFormatError as exc:
            raise LstsError(f"export {export}: {exc}") from None

    return values.map(convert)


def lookout_frame(frame: pd.DataFrame, export: ExportSpec, project: ProjectSpec) -> pd.DataFrame:
    """Distinct start,end pairs of the (already label-filtered) regions, re-formatted by ``time_format``."""
    out = frame[["start", "end"]].drop_duplicates().reset_index(drop=True)
    source = project.timeseries.time_format
    if export.time_format and source and not out.empty:
        out = pd.DataFrame({"start": _reformat(out["start"], source, export.time_format, export.name),
                            "end": _reformat(out["end"], source, export.time_format, export.name)})
    return out


def to_csv(frame: pd.DataFrame, header: bool) -> bytes:
    """The frame as pandas writes it (``csvwrite``: the same bytes, column-wise with Arrow)."""
    return csvwrite.to_csv(frame, header)


PARQUET_SUFFIX = ".parquet"


def is_parquet(location: str) -> bool:
    return location.lower().endswith(PARQUET_SUFFIX)


def to_parquet(frame: pd.DataFrame) -> bytes:
    """Parquet bytes (pyarrow). A column whose values are of several types
    (a region bound that is a number in one annotation and text in another) is written as text."""
    frame = frame.copy()
    for column in frame.columns[frame.dtypes == object]:  # noqa: E721  (pandas compares dtypes, not types)
        if frame[column].dropna().map(type).nunique() > 1:
            frame[column] = frame[column].map(lambda value: value if value is None else str(value))
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


def encode(frame: pd.DataFrame, location: str, header: bool = True) -> bytes:
    """The bytes of an output: Parquet when ``location`` ends in ``.parquet``, else CSV."""
    return to_parquet(frame) if is_parquet(location) else to_csv(frame, header)


@dataclass(frozen=True)
class Output:
    """One file to write: where, its bytes and how many data rows it holds."""

    location: str
    data: bytes
    rows: int


def filter_labels(export: ExportSpec, regions: pd.DataFrame) -> pd.DataFrame:
    """The regions of the export's ``labels`` (all without it)."""
    if export.labels is None:
        return regions
    return regions[regions["label"].isin(export.labels)].reset_index(drop=True)


def outputs_for(export: ExportSpec, project: ProjectSpec, regions: pd.DataFrame | Annotations) -> list[Output]:
    """The main output and, with ``split``, one output per source file next to it (``split_parts``)
    of a ``table`` or ``lookout`` export; an output that is a folder (ending in '/') has no main file.
    Given ``Annotations`` that hold an Arrow table, a ``table`` export's CSV outputs are written
    straight from it (``table_outputs``: the same bytes)."""
    table = regions.table if isinstance(regions, Annotations) else None
    if table is not None and export.format == "table":
        written = table_outputs(export, table)
        if written is not None:
            return written
    frame = regions.regions if isinstance(regions, Annotations) else regions
    lookout = export.format == "lookout"
    frame = filter_labels(export, frame)

    def render(location: str, frame: pd.DataFrame) -> Output:
        body = lookout_frame(frame, export, project) if lookout else frame
        return Output(location, encode(body, location, header=not lookout), len(body))

    main = [] if export.output_is_folder else [render(export.output, frame)]
    return main + [render(where, part) for where, part in split_parts(export, frame)]


def table_outputs(export: ExportSpec, table: pa.Table) -> list[Output] | None:
    """``outputs_for`` of a ``table`` export from the regions' Arrow table (sorted as ``regions``
    is), filtered and split as ``filter_labels`` and ``split_parts`` do it; None when an output is
    Parquet, or the table is not one ``csvwrite.table_csv`` writes (the frame's writer then does)."""
    if export.labels is not None:
        if table.column("label").type != pa.string():
            return None
        table = table.filter(pc.is_in(table.column("label"), value_set=pa.array(list(export.labels), pa.string())))
    parts = [] if export.output_is_folder else [(export.output, table)]
    if export.split:
        groups = _file_runs(table)
        parts += [(where, groups[file]) for file, where in split_locations(export, groups).items()]
    outputs = []
    for location, part in parts:
        data = None if is_parquet(location) else csvwrite.table_csv(part)
        if data is None:
            return None
        outputs.append(Output(location, data, part.num_rows))
    return outputs


def _file_runs(table: pa.Table) -> dict[str, pa.Table]:
    """Source file -> its rows, of a table sorted by file (each file's rows are one run)."""
    files = table.column("file").combine_chunks()
    if isinstance(files, pa.DictionaryArray):
        files = files.dictionary_decode()
    if not len(files):
        return {}
    changes = pc.not_equal(files[1:], files[:-1]).to_numpy(zero_copy_only=False)
    bounds = [0, *(np.flatnonzero(changes) + 1).tolist(), len(files)]
    return {str(files[first].as_py()): table.slice(first, after - first)
            for first, after in zip(bounds, bounds[1:], strict=False)}


def split_parts(export: ExportSpec, regions: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(location, regions of one source file)`` for each file, with ``split`` (else none)."""
    if not export.split:
        return []
    groups = {str(file): part for file, part in regions.groupby("file", sort=True)}  # file: a source key
    return [(where, groups[file].reset_index(drop=True)) for file, where in split_locations(export, groups).items()]


def split_locations(export: ExportSpec, files: Iterable[str]) -> dict[str, str]:
    """Source file -> its output with ``split``, in file order: in ``output``'s folder, named by
    ``split`` from the file's base name.

    Raises LstsError when two files would get one location (the same name in different folders)
    or a file would get ``output`` itself: one would overwrite the other.
    """
    assert export.split
    folder = export.output.rsplit("/", 1)[0] + "/" if "/" in export.output else ""
    taken: dict[str, str] = {}
    for file in sorted(map(str, files)):
        name = PurePosixPath(file).name
        location = folder + export.split.format(file=name, stem=PurePosixPath(name).stem)
        if location == export.output or location in taken:
            raise LstsError(_clash(export, location, taken.get(location), file))
        taken[location] = file
    return {file: location for location, file in taken.items()}


def _clash(export: ExportSpec, location: str, first: str | None, second: str) -> str:
    """The message for ``split`` writing source file ``second`` where ``first`` (or the main output) goes."""
    files = f"both {first} and {second}" if first else second
    own = "the export's own output " if location == export.output else ""
    return f"export {export.name}: split {export.split!r} would write {files} to {own}{location}, one over the other"


LOCAL_MODE = READABLE_BY_ALL


def write_local(location: str, data: bytes) -> None:
    """Write a local output whole or not at all (``write_atomic``), readable by all
    (``LOCAL_MODE``), creating its folder first; a file where a folder of the path must be is
    LstsError naming it."""
    path = Path(location)
    blocking = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:  # mkdir would say only "File exists"
        raise LstsError(f"{blocking} is a file, not a folder: name another output, or move that file")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, LOCAL_MODE)
