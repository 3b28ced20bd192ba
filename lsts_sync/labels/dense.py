"""The ``dense`` export: each labeled source file's own rows, with a ``label`` column.

Contract (``dense_frame``):

- The source CSV is read as the labeling UI reads it (``seriescsv``, as the data checks read it):
  lines trimmed and blank ones skipped, split on ``timeseries.sep`` exactly, row 1 is the header,
  quotes stay part of the values, header names matched lowercased. Every cell is kept as its text:
  the source columns leave as they came in.
- A row's time is parsed with the project's ``time_format`` by ``timefmt`` (d3's semantics, after
  the UI's rewriting of the value), or read as a number without one; region bounds likewise. Times
  are compared as UTC milliseconds, never as text.
- A row gets the label of every region whose closed interval ``[start, end]`` holds its time (an
  instant region, start == end, labels the rows at exactly its time), each label once, in sorted
  order, joined with ``|``. Rows that no region covers, and rows whose time does not parse, get an
  empty label.
- Regions come from the counted annotations: with ``annotations: all`` the labels of every
  annotator are combined (the union), since training wants one label per row; the ``table`` format
  keeps who labeled what.

Vectorised: the rows are sorted by time once, each region's rows are found with two binary searches
(``searchsorted``), and each label's coverage is a running sum over interval ends. Rows x regions
is never formed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lsts_sync.core.errors import LstsError
from lsts_sync.labels.annotations import Annotations, Output, encode, filter_labels, split_locations
from lsts_sync.spec.models import ExportSpec, ProjectSpec
from lsts_sync.ui import seriescsv
from lsts_sync.ui.timefmt import compile_format, padded_ms, ui_value

LABEL = "label"
FILE = "file"
PARALLEL_READS = 8  # source files read (and transformed) at once
SHOWN_REGIONS = 5  # regions named in the "label no row" warning; the rest are counted


@dataclass(frozen=True)
class SourceFile:
    """A labeled source file: its S3 location and the regions of its counted annotations."""

    bucket: str
    key: str
    regions: pd.DataFrame  # columns label, start, end (as exported)


Reader = Callable[[str, str], bytes]  # (bucket, key) -> the object's bytes


class Times:
    """Parses time values (a row's cell or a region's bound) to UTC milliseconds as the UI does."""

    def __init__(self, project: ProjectSpec):
        self.format = project.timeseries.time_format
        self.parser = compile_format(self.format) if self.format else None

    def one(self, value: object) -> float | None:
        """One value (a region's bound: text, or a number when the project has no time format)."""
        if self.parser is None:
            number = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
            return None if pd.isna(number) else float(number)
        return self.parser.parse(ui_value(str(value), self.format or ""))

    def column(self, values: pd.Series) -> np.ndarray:
        """A column of cells as float milliseconds, NaN where a cell does not parse."""
        if self.parser is None:
            return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        fast = padded_ms(values.tolist(), self.format or "")  # a list: iterating Arrow-backed text is slow
        if fast is not None:
            return fast
        return np.array([np.nan if (ms := self.one(v)) is None else ms for v in values], dtype="float64")


_EDGES = ("\n ", "\n\t", " \n", "\t\n", " \r\n", "\t\r\n")


def needs_trim(text: str) -> bool:
    """True if a line starts or ends with a space or tab (before an optional ``\r``), or a ``\r``
    is not followed by ``\n``: ``re.search(r"^[ \\t]|[ \\t]\\r?$|\\r(?!\\n)", text, re.M)``,
    by substring searches (a regular expression tried at every line start is slow on large files)."""
    return (text.startswith((" ", "\t")) or text.endswith((" ", "\t", " \r", "\t\r", "\r"))
            or any(edge in text for edge in _EDGES) or text.count("\r") != text.count("\r\n"))


def read_csv(text: str, project: ProjectSpec, where: str) -> pd.DataFrame:
    """The CSV as the labeling UI reads it, every cell as text; the header row gives the names.

    Raises LstsError (naming ``where``) for a CSV the UI cannot read either: no data rows, or a row
    with more cells than the header."""
    text = seriescsv.drop_bom(text)
    if needs_trim(text):  # lines to trim first (pandas would keep the spaces)
        text = "\n".join(line for _, line in seriescsv.rows(text))
    try:
        frame = pd.read_csv(io.StringIO(text), sep=project.timeseries.sep, header=None, dtype=str,
                            quoting=csv.QUOTE_NONE, keep_default_na=False, na_filter=False, skip_blank_lines=True,
                            engine="c")
    except pd.errors.EmptyDataError:
        raise LstsError(f"{where}: is empty") from None
    except pd.errors.ParserError as exc:
        raise LstsError(f"{where}: cannot be read as the labeling UI reads it: {' '.join(str(exc).split())}") from None
    header = [str(name) for name in frame.iloc[0]]
    body = frame.iloc[1:].reset_index(drop=True)
    body.columns = header
    return body.fillna("")


@dataclass(frozen=True)
class DenseFile:
    """A source file's rows with their ``label`` column, and how many regions labeled no row."""

    frame: pd.DataFrame
    uncovered: tuple[str, ...]  # the regions that label no row, named (``_region_name``)


def dense_frame(text: str, regions: pd.DataFrame, project: ProjectSpec, where: str) -> DenseFile:
    """The file's rows with a ``label`` column and one column per region field after it (see the
    module docstring). ``regions`` holds the file's regions (``label``, ``start``, ``end`` and the
    region fields' columns); ``where`` names the file in errors."""
    series = read_series(text, project, where)
    _check_added(series.names, project, where)
    found = bounds(regions, Times(project), where)
    labels, uncovered = row_labels(series.times, found)
    added = {LABEL: labels, **field_columns(series.times, found, regions, project)}
    return DenseFile(series.rows.assign(**added), tuple(_region_name(regions.iloc[i]) for i in uncovered))


def added_columns(project: ProjectSpec) -> list[str]:
    """The columns dense adds to a source file's own: ``label``, then the region fields."""
    return [LABEL, *(f.name for f in project.region_fields)]


def _check_added(names: Mapping[str, str], project: ProjectSpec, where: str) -> None:
    """Raises LstsError when the file already has a column dense adds (compared lowercased)."""
    for column in added_columns(project):
        if column.lower() in names:
            raise LstsError(f"{where}: already has a column {names[column.lower()]!r}; dense adds {column!r}")


def field_columns(times: np.ndarray, found: Sequence[tuple[str, float, float]], regions: pd.DataFrame,
                  project: ProjectSpec) -> dict[str, np.ndarray]:
    """Each region field's column: a row gets the values of that field of the regions whose closed
    interval holds its time, each once, sorted, joined with ``|`` (the rule of ``row_labels``, the
    field's value in place of the label); a region without a value adds nothing."""
    columns = {}
    for spec in project.region_fields:
        values = regions[spec.name] if spec.name in regions.columns else [None] * len(found)
        given = [(str(value), start, end) for (_, start, end), value in zip(found, values, strict=True)
                 if value is not None and not (isinstance(value, float) and np.isnan(value)) and str(value) != ""]
        columns[spec.name] = row_labels(times, given)[0]
    return columns


@dataclass(frozen=True)
class Series:
    """A source file's rows (every cell as text), its header names by lowercased key, and each
    row's time in UTC milliseconds (NaN where it does not parse)."""

    rows: pd.DataFrame
    names: Mapping[str, str]
    times: np.ndarray


def read_series(text: str, project: ProjectSpec, where: str) -> Series:
    """The file as the labeling UI reads it (``read_csv``) with each row's time parsed as ``Times``
    parses it. Raises LstsError (naming ``where``) when the time column is not in the header."""
    rows = read_csv(text, project, where)
    names = {seriescsv.name_key(name): name for name in reversed(rows.columns)}
    time_column = names.get(project.timeseries.time_column.strip().lower())
    if time_column is None:
        raise LstsError(f"{where}: the time column {project.timeseries.time_column!r} is not in the header "
                        f"{list(rows.columns)}{seriescsv.did_you_mean(project.timeseries.time_column, list(rows.columns))}")
    return Series(rows, names, Times(project).column(rows[time_column]))


def _region_name(region: pd.Series) -> str:
    """A region as a person finds it on the labeling page: label, start..end and its annotation."""
    annotation = region.get("annotation_id")
    return (f"{region['label']} {region['start']}..{region['end']}"
            + (f" (annotation {annotation})" if annotation is not None and not pd.isna(annotation) else ""))


def is_parquet_source(project: ProjectSpec, key: str) -> bool:
    """A Parquet original object of a staged source (``format: parquet`` or a ``.parquet``/``.pq`` key)."""
    source = project.source
    if source is None or not source.staged:
        return False
    return source.format == "parquet" or (source.format is None and key.lower().endswith((".parquet", ".pq")))


def dense_parquet(data: bytes, regions: pd.DataFrame, project: ProjectSpec, where: str) -> DenseFile:
    """A Parquet object's rows with a ``label`` column: its columns keep their types; the time
    column is a timestamp (UTC ms) or text in the project's ``time_format``, read as the windows
    read it (``data.windows.ColumnTimes``)."""
    import pyarrow.parquet as pq

    from lsts_sync.data.windows import ColumnTimes

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises its own types for a file that is not Parquet
        raise LstsError(f"{where}: not a Parquet file ({type(exc).__name__})") from None
    names = {seriescsv.name_key(str(n)): str(n) for n in reversed(table.column_names)}
    time_column = names.get(project.timeseries.time_column.strip().lower())
    if time_column is None:
        raise LstsError(f"{where}: the time column {project.timeseries.time_column!r} is not among the columns "
                        f"{table.column_names}")
    _check_added(names, project, where)
    ms = ColumnTimes(project).ms(table.column(time_column).combine_chunks())
    found = bounds(regions, Times(project), where)
    labels, uncovered = row_labels(ms, found)
    added = {LABEL: labels, **field_columns(ms, found, regions, project)}
    return DenseFile(table.to_pandas().assign(**added), tuple(_region_name(regions.iloc[i]) for i in uncovered))


def bounds(regions: pd.DataFrame | Iterable[tuple[object, object, object]], times: Times,
           where: str) -> list[tuple[str, float, float]]:
    """(label, start ms, end ms) of each region (a frame with ``label``, ``start`` and ``end``, or
    such triples), the bounds in order; raises LstsError for a bound that does not parse."""
    found = []
    cache: dict[object, float] = {}
    rows = regions[["label", "start", "end"]].itertuples(index=False) if isinstance(regions, pd.DataFrame) else regions
    for label, start, end in rows:
        parsed = []
        for value in (start, end):
            if value not in cache:
                ms = times.one(value)
                if ms is None:
                    wanted = f"the project's time_format {times.format!r}" if times.format else "a number"
                    raise LstsError(f"{where}: a region's time {value!r} does not match {wanted}")
                cache[value] = ms
            parsed.append(cache[value])
        found.append((str(label), min(parsed), max(parsed)))
    return found


def region_rows(ordered: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, after)``: the rows each closed interval ``[start, end]`` holds, as half-open
    ranges of positions in ``ordered`` (row times sorted ascending, NaN last: never inside an
    interval). An instant (start == end) holds the rows at exactly its time; ``after <= first``
    means the interval holds no row. The one rule of which rows a region labels (``dense`` and
    ``report`` alike)."""
    return np.searchsorted(ordered, starts, side="left"), np.searchsorted(ordered, ends, side="right")


def label_codes(n: int, ranges: Mapping[str, tuple[np.ndarray, np.ndarray]], names: Sequence[str]) -> np.ndarray:
    """Each of ``n`` row positions' labels as a bit mask (bit i: ``names[i]``): a position gets
    the labels of the ``(first, after)`` ranges (``region_rows``) that hold it. Integers, or
    Python ints in an object array past 62 labels. A running sum over range ends: rows x ranges
    is never formed."""
    codes = np.zeros(n, dtype=object if len(names) > 62 else np.int64)
    for bit, name in enumerate(names):
        if name not in ranges:
            continue
        first, after = ranges[name]
        edges = np.zeros(n + 1, dtype=np.int64)
        np.add.at(edges, first, 1)
        np.add.at(edges, np.maximum(after, first), -1)  # an empty range adds nothing
        codes[np.cumsum(edges[:n]) > 0] += 1 << bit
    return codes


def row_labels(times: np.ndarray, regions: Iterable[tuple[str, float, float]]) -> tuple[np.ndarray, list[int]]:
    """Each row's labels joined with ``|`` ("" for none): the labels of the regions whose closed
    interval holds the row's time; and the positions in ``regions`` of those that hold no row's time. ``times`` may be in
    any order and hold NaN (never labeled)."""
    n = len(times)
    order = np.argsort(times, kind="stable")  # NaN sorts last and is never inside an interval
    ordered = times[order]
    by_label: dict[str, list[tuple[float, float]]] = {}
    places: dict[str, list[int]] = {}
    for i, (label, start, end) in enumerate(regions):
        by_label.setdefault(label, []).append((start, end))
        places.setdefault(label, []).append(i)
    names = sorted(by_label)
    ranges = {}
    for name in names:
        starts, ends = (np.array(side, dtype="float64") for side in zip(*by_label[name], strict=True))
        ranges[name] = region_rows(ordered, starts, ends)
    uncovered = [places[name][i] for name, (first, after) in ranges.items() for i in np.flatnonzero(after <= first)]
    codes = np.zeros(n, dtype=object if len(names) > 62 else np.int64)
    codes[order] = label_codes(n, ranges, names)
    distinct, inverse = np.unique(codes, return_inverse=True)
    text = np.array(["|".join(name for bit, name in enumerate(names) if int(code) >> bit & 1) for code in distinct],
                    dtype=object)
    return (text[inverse] if n else np.array([], dtype=object)), sorted(uncovered)


def dense_frames(files: Mapping[str, SourceFile], project: ProjectSpec, read: Reader, export: str,
                 parallelism: int = PARALLEL_READS) -> Iterable[tuple[str, DenseFile]]:
    """``(file, DenseFile)`` for each file, in file order; files are read and transformed
    ``parallelism`` at a time (S3 reads wait on the network; pandas' parser releases the GIL)."""
    def one(file: str) -> DenseFile:
        source = files[file]
        where = f"export {export}: s3://{source.bucket}/{source.key}"
        data = read(source.bucket, source.key)
        if is_parquet_source(project, source.key):
            return dense_parquet(data, source.regions, project, where)
        return dense_frame(data.decode("utf-8", errors="replace"), source.regions, project, where)

    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        yield from zip(sorted(files), pool.map(one, sorted(files)), strict=True)


def readable(file: str, bucket: str | None, buckets: Collection[str], what: str, reader: str) -> str:
    """The bucket of a labeled task's source ``file``; raises LstsError (starting with ``what``,
    naming ``reader``) unless it is an S3 object in a bucket a Bucket spec declares."""
    if bucket is None:
        raise LstsError(f"{what}: the task of {file} is not an S3 object; {reader} reads each source file from S3")
    if bucket not in buckets:
        raise LstsError(f"{what}: s3://{bucket}/{file} is in bucket {bucket}, which no Bucket spec declares "
                        f"({reader} reads source files through Bucket specs)")
    return bucket


def dense_outputs(export: ExportSpec, project: ProjectSpec, annotations: Annotations, read: Reader,
                  buckets: Collection[str], progress: Callable[[str], None]) -> list[Output]:
    """The outputs of a ``dense`` export: with ``split`` one per labeled source file (without a
    ``file`` column; ``output`` only gives their folder), else one file with a leading ``file``
    column. Every file is checked to be readable through a Bucket spec before any is read.
    ``progress`` hears of regions that label no row (an instant between two rows, a region
    outside the file's times): such labels are absent from the output."""
    regions = filter_labels(export, annotations.regions)
    kept = ["label", "start", "end", "annotation_id", *(f.name for f in project.region_fields)]
    groups = dict(list(regions[["file", *kept]].groupby("file", sort=True)))
    empty = regions[kept].iloc[:0]
    files = {}
    for file, bucket in sorted(annotations.files.items()):
        files[file] = SourceFile(readable(file, bucket, buckets, f"export {export.name}", "dense"), file,
                                 groups.get(file, empty))
    locations = split_locations(export, files) if export.split else {}
    outputs, frames = [], []
    for file, dense in dense_frames(files, project, read, export.name):
        if dense.uncovered:
            named = ", ".join(dense.uncovered[:SHOWN_REGIONS]) + (
                f" and {len(dense.uncovered) - SHOWN_REGIONS} more" if len(dense.uncovered) > SHOWN_REGIONS else "")
            progress(f"Warning: export {export.name}: {len(dense.uncovered)} region(s) of s3://{files[file].bucket}/"
                     f"{file} label no row (no row time inside them): {named}")
        if export.split:
            outputs.append(Output(locations[file], encode(dense.frame, locations[file], export.name),
                                  len(dense.frame)))
        else:
            frames.append(dense.frame.assign(**{FILE: file})[[FILE, *dense.frame.columns]])
    if export.split:
        return outputs
    added = added_columns(project)
    combined = pd.concat(frames, ignore_index=True).fillna("") if frames else pd.DataFrame(columns=[FILE, *added])
    combined = combined[[c for c in combined.columns if c not in added] + added]
    return [Output(export.output, encode(combined, export.output, export.name), len(combined))]
