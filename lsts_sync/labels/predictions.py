"""Predictions files: a model's output read into the desired predictions of each Predictions spec.

``load_predictions`` reads every Predictions spec's file (of the selected projects), once, before anything is
gathered: the file is part of what the user declares, like the specs themselves. A file that cannot
be read at all (missing, not CSV/Parquet, a required column absent) is an error naming the spec's
file and line. Everything after the read is pure (``prediction_set``): each row becomes one
time-series region, or one ``FILE:ROW: why`` line when it cannot be used (a time that does not
parse, a label the template lacks, a start after its end, a bad score), and the rows of one source
file become one prediction for that file's task.

Rows are numbered as in the CSV file, the header being row 1 (a Parquet file is numbered the same
way, so a CSV and its Parquet copy name the same rows). Times are read with the project's
``time_format`` as the labeling UI reads the data (``timefmt``), else as ISO 8601 (no offset: UTC),
and written back in the template's time format, as the UI writes the regions of an annotation;
without a ``time_format`` the time axis is numbers, and so are start and end. A region carries its
row's score; the task's prediction carries the highest score of its regions (the most confident
flag orders tasks in Label Studio's prediction-score column).

A column named exactly like one of the project's region fields gives each region that field's
value: one per-region result per non-empty cell, with the region's id, as the labeling UI writes a
region field (``field_results``). A value the field does not take (a choice not in its values, a
cell that is no finite number or a number out of the field's bounds) skips the row like any bad cell. A column that looks
like a field but is none (another case, a near miss, a task field) makes the file unusable
(``field_columns``): its values would otherwise be dropped unseen. Other columns are ignored.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import math
from collections.abc import Mapping, Set
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lsts_sync.core.errors import LstsError
from lsts_sync.core.locations import is_s3_url, split_s3_url
from lsts_sync.resources.protocols import S3Ops
from lsts_sync.resources.state import PredictionSet, TaskPrediction, canonical_result
from lsts_sync.spec.loader import SpecSet
from lsts_sync.spec.models import FieldSpec, PredictionsSpec, ProjectSpec
from lsts_sync.ui.template import CONTROL_NAME, OBJECT_NAME
from lsts_sync.ui.timefmt import TimeFormatError, compile_format, format_ms, ui_value

Row = tuple[int, Mapping[str, Any]]  # (row number, header name -> cell)


def load_predictions(specs: SpecSet, s3: S3Ops, selected: Set[str] | None = None
                     ) -> dict[tuple[str, str, str], PredictionSet]:
    """Every Predictions spec of the selected projects as its PredictionSet, by
    (instance, project, model_version). Raises LstsError (one line) for a file that cannot be read."""
    found = {}
    for _name, spec in sorted(specs.predictions.items()):
        if selected is not None and spec.project not in selected:
            continue
        project = specs.projects[spec.project]
        shown, rows = _read(specs, spec, project, s3)
        prediction = prediction_set(spec, project, shown, rows)
        found[prediction.key] = prediction
    return found


def _where(specs: SpecSet, spec: PredictionsSpec) -> str:
    location = specs.locations[("Predictions", spec.name)]
    return f"{location.file}:{location.line_of(('file',))}: Predictions {spec.name}: file"


def local_path(specs: SpecSet, spec: PredictionsSpec) -> Path:
    """A local ``file`` is relative to the folder of the spec file that declares it."""
    path = Path(spec.file)
    return path if path.is_absolute() else Path(specs.locations[("Predictions", spec.name)].file).parent / path


def _read(specs: SpecSet, spec: PredictionsSpec, project: ProjectSpec, s3: S3Ops) -> tuple[str, list[Row]]:
    """``(the file as shown in messages, its rows)``; every failure is one LstsError line."""
    where = _where(specs, spec)
    if spec.file_bucket:
        shown = spec.file
        try:
            data = s3.read_bytes(spec.file_bucket, (split_s3_url(spec.file) or ("", ""))[1])
        except LstsError as exc:
            raise LstsError(f"{where}: cannot read {shown}: {exc}") from None
    else:
        path = local_path(specs, spec)
        shown = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LstsError(f"{where}: cannot read {shown}: {exc.strerror or exc}") from None
    try:
        header, rows = parquet_rows(data) if spec.file_format == "parquet" else csv_rows(data)
        _require_columns(header, spec)
    except ValueError as exc:
        raise LstsError(f"{where}: cannot read {shown}: {exc}") from None
    misnamed = field_columns(header, spec, project)
    if misnamed:
        raise LstsError(f"{where}: {shown}: {misnamed}")
    return shown, rows


def csv_rows(data: bytes) -> tuple[list[str], list[Row]]:
    """``(header, rows)`` of a CSV file; each row numbered by the line it ends on (header: 1)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        # a short row lacks its last cells (not strict)
        rows: list[Row] = [(reader.line_num, dict(zip(header, cells, strict=False))) for cells in reader
                           if any(c.strip() for c in cells)]
    except csv.Error as exc:
        raise ValueError(f"not a CSV file ({exc})") from None
    return header, rows


def parquet_rows(data: bytes) -> tuple[list[str], list[Row]]:
    """``(columns, rows)`` of a Parquet file; the first row is numbered 2, as under a CSV header."""
    import pyarrow.parquet as pq  # loaded only for a Parquet file

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises its own error types for a file that is not Parquet
        raise ValueError(f"not a Parquet file ({type(exc).__name__}: {' '.join(str(exc).split())})") from None
    columns = [str(c) for c in table.column_names]
    return columns, [(i, row) for i, row in enumerate(table.to_pylist(), start=2)]


def _require_columns(header: list[str], spec: PredictionsSpec) -> None:
    """The file, start, end and label columns must all be there (score is optional)."""
    wanted = spec.columns
    absent = [c for c in (wanted.file, wanted.start, wanted.end, wanted.label) if c not in header]
    if absent:
        raise ValueError(f"no column {', '.join(map(repr, absent))} (columns: {', '.join(header) or 'none'}); "
                         "name them under columns:")


def field_columns(header: list[str], spec: PredictionsSpec, project: ProjectSpec) -> str | None:
    """Why a column of ``header`` that is neither one of the spec's columns nor a region field looks
    like a field that it is not (a task field, a region field in another case or a near miss), or
    None. Other columns are a detector's own and are ignored."""
    taken = set(spec.columns.model_dump().values())
    region = [f.name for f in project.region_fields]
    tasks = {f.name for f in project.task_fields}
    lowered = {name.lower(): name for name in region}
    for column in header:
        if column in taken or column in region or not column:
            continue
        if column in tasks:
            return (f"column {column!r} is a task field of project {project.name}: a prediction carries region "
                    "fields only (a value per region)")
        close = difflib.get_close_matches(column.lower(), list(lowered), n=1, cutoff=0.8)
        if close:
            return (f"column {column!r} is no region field of project {project.name}; did you mean "
                    f"{lowered[close[0]]!r}? (a field's column is named exactly as the field)")
    return None


def prediction_set(spec: PredictionsSpec, project: ProjectSpec, shown: str, rows: list[Row]) -> PredictionSet:
    """The rows as one prediction per source file, and why each skipped row was skipped. Pure."""
    regions: dict[str, list[tuple[int, list[dict], float | None]]] = {}
    skipped: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for number, row in rows:
        made = region_of(row, spec, project)
        if isinstance(made, str):
            skipped.append((number, made))
            continue
        key, results, score = made
        first = seen.setdefault((key, results[0]["id"]), number)
        if first != number:
            skipped.append((number, f"the same region as row {first}"))
            continue
        regions.setdefault(key, []).append((number, results, score))
    tasks = tuple(_task(key, found) for key, found in sorted(regions.items()))
    return PredictionSet(project.instance, project.name, spec.name, spec.model_version, shown, tasks,
                         tuple(skipped), len(rows))


def _task(key: str, found: list[tuple[int, list[dict], float | None]]) -> TaskPrediction:
    scores = [s for _, _, s in found if s is not None]
    return TaskPrediction(key, canonical_result([r for _, results, _ in found for r in results]),
                          max(scores) if scores else None, tuple(n for n, _, _ in found))


def region_of(row: Mapping[str, Any], spec: PredictionsSpec, project: ProjectSpec
              ) -> tuple[str, list[dict], float | None] | str:
    """``(source key, results, score)`` of one row, or why the row cannot be used: the results are
    the region (its ``timeserieslabels`` result) and then its region fields' results."""
    names = spec.columns
    key = source_key(_text(row.get(names.file)), project)
    if key.startswith("!"):
        return key[1:]
    written_label = _text(row.get(names.label))
    label = project.renames.get(written_label, written_label)  # a former name reads as its label
    labels = [item.value for item in project.labels]
    if label not in labels:
        return f"label {label!r} is not a label of project {project.name} ({', '.join(labels)})"
    fmt = project.timeseries.time_format
    start, end = parse_time(row.get(names.start), fmt), parse_time(row.get(names.end), fmt)
    for which, value, parsed in (("start", row.get(names.start), start), ("end", row.get(names.end), end)):
        if parsed is None:
            expected = f"time_format {fmt!r} or ISO 8601" if fmt else "a number (the project has no time_format)"
            return f"{which} {_text(value)!r} does not parse as {expected}"
    if start > end:  # type: ignore[operator]
        return f"start {_text(row.get(names.start))!r} is after end {_text(row.get(names.end))!r}"
    score = _score(row.get(names.score))
    if isinstance(score, str):
        return score
    try:
        bounds = written(start, fmt), written(end, fmt)  # type: ignore[arg-type]
    except TimeFormatError as exc:
        return str(exc)
    made = region(key, *bounds, label, score, named=written_label)
    fields = field_results(row, project, made)
    if isinstance(fields, str):
        return fields
    return key, [made, *fields], score


def source_key(value: str, project: ProjectSpec) -> str:
    """The S3 key a row names (a key, or ``s3://bucket/key`` in the source's bucket); a reason
    prefixed with ``!`` when it names none."""
    if not value:
        return "!no source file"
    if is_s3_url(value):
        bucket, key = split_s3_url(value) or ("", "")  # "s3://bucket" names no object
        source = project.source.bucket if project.source else ""
        if bucket != source or not key:
            return f"!{value} is not an object of the source bucket {source}"
        return key
    return value


def parse_time(value: Any, fmt: str | None) -> float | None:
    """UTC milliseconds of a start or end, or None. With ``fmt``: the labeling UI's parse of the
    data (d3, ``timefmt``), else ISO 8601 (no offset: UTC), or a datetime from Parquet; without:
    a finite number (the time axis is numbers)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp() * 1000.0 if fmt else None
    text = _text(value)
    if not text:
        return None
    if not fmt:
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    parsed = compile_format(fmt).parse(ui_value(text, fmt))
    if parsed is not None:
        return parsed
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000.0


def written(ms: float, fmt: str | None) -> str | float | int:
    """A time as a region carries it: in the template's time format, else the number itself."""
    if fmt:
        return format_ms(ms, fmt)
    return int(ms) if float(ms).is_integer() else ms


def _score(value: Any) -> float | None | str:
    text = _text(value)
    if not text:
        return None
    try:
        score = float(text)
    except ValueError:
        return f"score {text!r} is not a number"
    return score if math.isfinite(score) else f"score {text!r} is not a finite number"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


# A field's type -> (the result's type, the key of its value), as the labeling UI writes them
FIELD_RESULTS = {"choices": ("choices", "choices"), "text": ("textarea", "text"), "number": ("number", "number")}


def field_results(row: Mapping[str, Any], project: ProjectSpec, made: dict) -> list[dict] | str:
    """One per-region result for each region field with a value in ``row``, for the region
    ``made`` (its id and bounds, as the labeling UI writes a region field's result), or why a
    value cannot be used (naming the column)."""
    found = []
    bounds = {k: made["value"][k] for k in ("start", "end", "instant")}
    for spec in project.region_fields:
        if not _text(row.get(spec.name)):
            continue
        try:
            value = field_value(spec, row.get(spec.name))
        except ValueError as exc:
            return str(exc)
        kind, key = FIELD_RESULTS[spec.type]
        found.append({"id": made["id"], "from_name": spec.name, "to_name": OBJECT_NAME, "type": kind,
                      "value": {**bounds, key: value}})
    return found


def field_value(spec: FieldSpec, cell: Any) -> list[str] | int | float:
    """A non-empty cell as the field's result holds it: ``[choice]``, ``[text]`` or a number (an
    int when whole). Raises ValueError naming the column for a value the field does not take."""
    text = _text(cell)
    if spec.type == "text":
        return [text]
    if spec.type == "choices":
        text = spec.choice_renames.get(text, text)  # a former value reads as its value, as a former label does
        if text not in spec.choices:
            raise ValueError(f"{spec.name} {text!r} is not one of the field's values ({', '.join(spec.choices)})")
        return [text]
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{spec.name} {text!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{spec.name} {text!r} is not a finite number")
    if spec.min is not None and number < spec.min:
        raise ValueError(f"{spec.name} {text!r} is below the field's min {spec.min:g}")
    if spec.max is not None and number > spec.max:
        raise ValueError(f"{spec.name} {text!r} is above the field's max {spec.max:g}")
    return int(number) if number.is_integer() else number


def region(key: str, start: Any, end: Any, label: str, score: float | None, named: str | None = None) -> dict:
    """A time-series region as the labeling UI writes one into an annotation, with a stable id
    (from the file, times and the label as the file ``named`` it) so the same row always gives the
    same region: a row naming a former label gives the region that the rename's rewrite made of
    the prediction written before the rename."""
    ident = hashlib.sha1(f"{key}|{start}|{end}|{named or label}".encode()).hexdigest()[:10]
    found: dict = {"id": ident, "from_name": CONTROL_NAME, "to_name": OBJECT_NAME, "type": "timeserieslabels",
                   "value": {"start": start, "end": end, "instant": start == end, "timeserieslabels": [label]}}
    if score is not None:
        found["score"] = score
    return found

