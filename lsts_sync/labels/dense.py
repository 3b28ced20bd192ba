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

A CSV source written to a CSV output takes the Arrow path (``dense_table``): the file is read by
Arrow's CSV reader, times of a zero-padded format are computed from their digits
(``timefmt.fixed_width_ms``), and the rows are written from the Arrow table (``csvwrite.table_csv``),
the label column a dictionary of its distinct texts. It gives the same bytes as ``dense_frame``
and steps aside (returns None) for a file whose reading it cannot vouch for.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from lsts_sync.core.errors import LstsError
from lsts_sync.labels import csvwrite
from lsts_sync.labels.annotations import (
    Annotations,
    Output,
    encode,
    filter_labels,
    is_parquet,
    split_locations,
    table_frame,
)
from lsts_sync.spec.models import ExportSpec, ProjectSpec
from lsts_sync.ui import seriescsv
from lsts_sync.ui.timefmt import compile_format, fixed_width_ms, padded_ms, ui_value

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


def needs_trim(text: str) -> bool:
    """True if a line starts or ends with a space or tab (before an optional ``\r``), or a ``\r``
    is not followed by ``\n``: ``re.search(r"^[ \\t]|[ \\t]\\r?$|\\r(?!\\n)", text, re.M)``,
    by looking at the bytes around each line break (a regular expression tried at every line
    start, or a substring search per edge, is slow on large files). The bytes are UTF-8: a space,
    tab, ``\r`` or ``\n`` byte is never part of another character."""
    returns = text.count("\r")
    if text.startswith((" ", "\t")) or text.endswith((" ", "\t", " \r", "\t\r", "\r")) \
            or (returns and returns != text.count("\r\n")):
        return True
    data = np.frombuffer(text.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)
    breaks = np.flatnonzero(data == 10)
    after = data[breaks[breaks + 1 < len(data)] + 1]
    before = data[breaks[breaks >= 1] - 1]
    ends = breaks[breaks >= 2]
    before_return = data[ends[data[ends - 1] == 13] - 2]  # the byte before a "\r\n"
    return bool(_blank(after).any() or _blank(before).any() or _blank(before_return).any())


def _blank(data: np.ndarray) -> np.ndarray:
    return (data == 32) | (data == 9)


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


@dataclass(frozen=True)
class DenseTable:
    """``DenseFile`` in Arrow: the file's rows (text), its ``label`` and region field columns
    (dictionaries of their texts), and the regions that label no row."""

    table: pa.Table
    uncovered: tuple[str, ...]


def dense_table(text: str, regions: pd.DataFrame, project: ProjectSpec, where: str) -> DenseTable | None:
    """``dense_frame`` of the same file in Arrow (the same columns holding the same texts), or None
    when that is not certain (``arrow_rows``: rows of uneven length, a NUL byte, repeated header
    names; no data rows; no time column): the caller then runs ``dense_frame``, which also says
    what is wrong. A column dense adds, or a bound that does not parse, raises as ``dense_frame``."""
    body = arrow_rows(text, project.timeseries.sep)
    if body is None:
        return None
    names = {seriescsv.name_key(name): name for name in reversed(body.column_names)}
    time_column = names.get(project.timeseries.time_column.strip().lower())
    if time_column is None:
        return None
    _check_added(names, project, where)
    times = arrow_times(body.column(time_column).combine_chunks(), Times(project))
    found = bounds(regions, Times(project), where)
    text_codes, inverse, uncovered = row_label_codes(times, found)
    indices = pa.array(inverse.astype(np.int32))
    table = body.append_column(LABEL, pa.DictionaryArray.from_arrays(indices, pa.array(text_codes, pa.large_string())))
    for name, values in field_columns(times, found, regions, project).items():
        table = table.append_column(name, pa.array(values, pa.large_string()))
    return DenseTable(table, tuple(_region_name(regions.iloc[i]) for i in uncovered))


def arrow_rows(text: str, sep: str) -> pa.Table | None:
    """The data rows of the CSV as ``read_csv`` reads it (every cell as text, named by the header
    row), read by Arrow; None when Arrow may read it otherwise than pandas' parser does, so
    ``read_csv`` must: a row with fewer or more cells than the header (pandas pads the first,
    Arrow refuses both), a NUL byte, a header name given twice or named ``file`` (the column a
    combined dense output adds), no data row."""
    text = seriescsv.drop_bom(text)
    if needs_trim(text):
        text = "\n".join(line for _, line in seriescsv.rows(text))
    if "\x00" in text:
        return None
    header = text.lstrip("\r\n").split("\n", 1)[0].removesuffix("\r")
    columns = [f"c{i}" for i in range(header.count(sep) + 1)]
    try:
        table = pacsv.read_csv(io.BytesIO(text.encode()), read_options=pacsv.ReadOptions(
                                   column_names=columns, use_threads=False, block_size=1 << 22),  # files run in parallel
                               parse_options=pacsv.ParseOptions(delimiter=sep, quote_char=False, double_quote=False,
                                                                escape_char=False, newlines_in_values=False,
                                                                ignore_empty_lines=True),
                               convert_options=pacsv.ConvertOptions(
                                   column_types=dict.fromkeys(columns, pa.large_string()), strings_can_be_null=False,
                                   quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        return None
    names = [str(table.column(i)[0].as_py()) for i in range(table.num_columns)] if table.num_rows else []
    if table.num_rows < 2 or len(set(names)) < len(names) or FILE in names:
        return None
    return table.slice(1).rename_columns(names)


def arrow_times(column: pa.Array, times: Times) -> np.ndarray:
    """``Times.column`` of a text column read by ``arrow_rows``: a zero-padded format's values
    computed from their digits where ``fixed_width_ms`` can vouch for every one, else as
    ``Times.column`` computes them from the same text (pandas' ``str`` values, as ``read_csv`` gives)."""
    if times.parser is not None and not column.null_count and len(column):
        offsets = np.frombuffer(column.buffers()[1], dtype=np.int64)[column.offset:column.offset + len(column) + 1]
        width = int(offsets[1] - offsets[0])
        if width and (np.diff(offsets) == width).all():
            data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
            fast = fixed_width_ms(data.reshape(len(column), width), times.format or "")
            if fast is not None:
                return fast
    return times.column(pd.Series(column.to_pylist(), dtype=str))


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
    text, inverse, uncovered = row_label_codes(times, regions)
    return (text[inverse] if len(times) else np.array([], dtype=object)), uncovered


def row_label_codes(times: np.ndarray, regions: Iterable[tuple[str, float, float]]) \
        -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``row_labels`` as (the distinct texts, each row's position among them, the regions that hold no row)."""
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
    return text, inverse.reshape(-1), sorted(uncovered)


def dense_frames(files: Mapping[str, SourceFile], project: ProjectSpec, read: Reader, export: str,
                 parallelism: int = PARALLEL_READS, tables: Collection[str] = ()) \
        -> Iterable[tuple[str, DenseFile | DenseTable]]:
    """``(file, DenseFile)`` for each file, in file order; files are read and transformed
    ``parallelism`` at a time (S3 reads wait on the network; pandas' and Arrow's parsers release
    the GIL). A CSV file among ``tables`` gives a ``DenseTable`` where ``dense_table`` can."""
    def one(file: str) -> DenseFile | DenseTable:
        source = files[file]
        where = f"export {export}: s3://{source.bucket}/{source.key}"
        data = read(source.bucket, source.key)
        if is_parquet_source(project, source.key):
            return dense_parquet(data, source.regions, project, where)
        text = data.decode("utf-8", errors="replace")
        fast = dense_table(text, source.regions, project, where) if file in tables else None
        return fast if fast is not None else dense_frame(text, source.regions, project, where)

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
    csv_out = [f for f in files if not is_parquet(locations[f] if export.split else export.output)]
    outputs, parts = [], []
    for file, dense in dense_frames(files, project, read, export.name, tables=csv_out):
        if dense.uncovered:
            named = ", ".join(dense.uncovered[:SHOWN_REGIONS]) + (
                f" and {len(dense.uncovered) - SHOWN_REGIONS} more" if len(dense.uncovered) > SHOWN_REGIONS else "")
            progress(f"Warning: export {export.name}: {len(dense.uncovered)} region(s) of s3://{files[file].bucket}/"
                     f"{file} label no row (no row time inside them): {named}")
        if export.split:
            outputs.append(Output(locations[file], _encoded(dense, locations[file]), _rows(dense)))
        else:
            parts.append((file, dense))
    if export.split:
        return outputs
    return [_combined(parts, project, export)]


def _rows(dense: DenseFile | DenseTable) -> int:
    return dense.table.num_rows if isinstance(dense, DenseTable) else len(dense.frame)


def _encoded(dense: DenseFile | DenseTable, location: str) -> bytes:
    """The output bytes of one file's rows (a table's are written by Arrow where ``table_csv`` can)."""
    if isinstance(dense, DenseTable):
        data = csvwrite.table_csv(dense.table)
        return data if data is not None else encode(table_frame(dense.table), location)
    return encode(dense.frame, location)


def _combined(parts: list[tuple[str, DenseFile | DenseTable]], project: ProjectSpec, export: ExportSpec) -> Output:
    """One output of every file's rows with a leading ``file`` column: the columns of all files
    (a file without one of them leaves its cells empty), the added ones last. From Arrow when
    every file gave a table, else as frames."""
    added = added_columns(project)
    if parts and all(isinstance(dense, DenseTable) for _, dense in parts):
        tables = [_with_file(file, dense.table) for file, dense in parts]  # type: ignore[union-attr]
        table = pa.concat_tables(tables, promote_options="default")
        table = table.select([c for c in table.column_names if c not in added] + added)
        data = csvwrite.table_csv(table)
        if data is not None and not is_parquet(export.output):
            return Output(export.output, data, table.num_rows)
    frames = []
    for file, dense in parts:
        frame = table_frame(dense.table) if isinstance(dense, DenseTable) else dense.frame
        frames.append(frame.assign(**{FILE: file})[[FILE, *frame.columns]])
    combined = pd.concat(frames, ignore_index=True).fillna("") if frames else pd.DataFrame(columns=[FILE, *added])
    combined = combined[[c for c in combined.columns if c not in added] + added]
    return Output(export.output, encode(combined, export.output), len(combined))


def _with_file(file: str, table: pa.Table) -> pa.Table:
    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(table.num_rows, dtype=np.int32)),
                                            pa.array([file], pa.large_string()))
    return table.add_column(0, FILE, column)
