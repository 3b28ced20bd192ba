"""Cutting long series into labeling windows: Arrow reads, cuts and writes, object by object.

Contract (``cut``): an original object (CSV or Parquet) is read as a stream of record batches (CSV
through pyarrow's streaming reader over the object's body; Parquet through ranged reads, each column
chunk ``PARQUET_BUFFER`` bytes at a time, never a whole row group at once), so memory holds a batch
and the windows still open, never the whole object. Each window is rendered as the labeling UI
reads a series CSV (``ui.seriescsv``): one header line, the time column and the channels named as
the template names them (lowercased), split on ``timeseries.sep``, nothing quoted. Time cells of
text columns are written as read (they are in the project's ``time_format``, which the data checks
confirm); Parquet timestamps (a unit finer than the millisecond floored to it) are written in
``time_format`` as ``timefmt.format_ms`` (d3's writer) writes them, column-wise by
``fixedtime.write_fixed`` where it can; floats as Arrow's CSV writer writes them (``float_text``).

Windows. Duration windows are aligned to multiples of the duration counted from 1970-01-01 UTC:
window ``k`` holds the rows whose time ``t`` has ``k*d <= t < (k+1)*d + overlap`` (``k`` is negative
before 1970). Row windows count from the object's first row: window ``k`` holds rows ``k*N`` to
``(k+1)*N + overlap_rows`` (excluded). A duration window exists only where the object has rows in
its own span (overlap rows alone make no window). Times must ascend (the UI needs it too); a time
that goes back, or does not parse, is an error naming the object and the row, since a window could
then miss rows. Text times are read column-wise by ``fixedtime.parse_fixed`` where every value of a
batch has the format's fixed width, else value by value (``D3Format.parse``), with the same result.

``render_window`` is pure; ``cut`` yields ``(WindowFile, bytes)`` in window order.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lsts_sync.core.errors import LstsError
from lsts_sync.data.fixedcols import fixed_block, text_array
from lsts_sync.resources.facts import Finding
from lsts_sync.resources.windows import WindowFile
from lsts_sync.spec.models import ProjectSpec
from lsts_sync.ui import seriescsv
from lsts_sync.ui.fixedtime import parse_fixed, write_fixed
from lsts_sync.ui.timefmt import compile_format, format_ms, js_number, padded_shape, ui_value

CSV_BLOCK = 1 << 20  # bytes of CSV parsed at a time (4 MB blocks were faster, but the peak grew with the object)
# Objects are cut in parallel (one per core), so Arrow's own threads only add hand-offs to Parquet's
# reads: they run without them, in batches large enough that the per-batch costs (each column's
# distinct floats turned into text, the time writer's per-day work) are paid rarely. Measured with
# bench/windows.py: 131,072 rows single-threaded took 40 % off the wall time of 65,536 rows with
# threads, and the peak stays flat from 7 to 90 days (262,144 rows was faster still, but its peak grew).
PARQUET_BATCH = 131_072  # rows of Parquet decoded at a time
PARQUET_BUFFER = 1 << 20  # bytes of a Parquet column chunk read at a time (one ranged read)
HEAD = 65_536


def object_format(project: ProjectSpec, key: str) -> str:
    """``parquet`` or ``csv``: the source's ``format``, else by the key's ending."""
    source = project.source
    if source is not None and source.format:
        return source.format
    return "parquet" if key.lower().endswith((".parquet", ".pq")) else "csv"


def fingerprint(project: ProjectSpec) -> str:
    """Everything a window's bytes depend on besides the object: equal fingerprints, equal windows."""
    source, ts = project.source, project.timeseries
    assert source is not None
    return hashlib.sha256(json.dumps({
        "version": 1, "window": source.window.model_dump() if source.window else None, "format": source.format,
        "time": ts.time_column.strip().lower(), "time_format": ts.time_format, "sep": ts.sep,
        "channels": [c.column.strip().lower() for c in ts.channel_list]}, sort_keys=True).encode()).hexdigest()[:32]


class ObjectReader:
    """What ``cut`` reads through: a stream of an object's bytes and ranged reads (``S3Ops``)."""

    def __init__(self, open_stream: Callable[[], BinaryIO], read_range: Callable[[int, int], bytes], size: int):
        self.open_stream, self.read_range, self.size = open_stream, read_range, size


class RangeFile(io.RawIOBase):
    """A seekable read-only file over ranged reads (Parquet reads its footer, then row groups)."""

    def __init__(self, reader: ObjectReader):
        self.reader, self.pos = reader, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.reader.size + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        length = min(len(buffer), self.reader.size - self.pos)
        if length <= 0:
            return 0
        data = self.reader.read_range(self.pos, length)
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)


@dataclass(frozen=True)
class _Columns:
    """Which columns of the object are read, and their names in the window files."""

    source: list[str]  # as named in the object
    written: list[str]  # as the template names them


def _columns(project: ProjectSpec, names: list[str], where: str) -> _Columns:
    """The time column and the channels, found as the UI matches them (lowercased names)."""
    ts = project.timeseries
    by_key = {seriescsv.name_key(n): n for n in reversed(names)}
    wanted = [ts.time_column.strip().lower(), *(c.column.strip().lower() for c in ts.channel_list)]
    absent = [w for w in wanted if w not in by_key]
    if absent:
        raise LstsError(f"{where}: no column {', '.join(map(repr, absent))} (columns: {', '.join(names)})")
    return _Columns([by_key[w] for w in wanted], wanted)


def _csv_batches(project: ProjectSpec, reader: ObjectReader, where: str) -> tuple[_Columns, Iterator[pa.RecordBatch]]:
    sep = project.timeseries.sep
    head = seriescsv.drop_bom(reader.read_range(0, min(HEAD, reader.size)).decode("utf-8", errors="replace"))
    names = seriescsv.header(head, sep)
    columns = _columns(project, names, where)
    stream = reader.open_stream()
    try:
        csv = pacsv.open_csv(
            stream, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK, column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=sep, quote_char=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 include_columns=columns.source, strings_can_be_null=False))
    except pa.ArrowInvalid as exc:
        stream.close()
        raise LstsError(f"{where}: cannot be read as a CSV: {' '.join(str(exc).split())}") from None

    def batches() -> Iterator[pa.RecordBatch]:
        with stream:
            try:
                yield from csv
            except pa.ArrowInvalid as exc:
                raise LstsError(f"{where}: cannot be read as a CSV: {' '.join(str(exc).split())}") from None
    return columns, batches()


def _parquet_batches(project: ProjectSpec, reader: ObjectReader, where: str
                     ) -> tuple[_Columns, Iterator[pa.RecordBatch]]:
    try:
        # each column chunk read PARQUET_BUFFER at a time; pre-buffering would read every row group at once
        file = pq.ParquetFile(RangeFile(reader), buffer_size=PARQUET_BUFFER, pre_buffer=False)
    except Exception as exc:  # pyarrow raises its own types for a file that is not Parquet
        raise LstsError(f"{where}: not a Parquet file ({type(exc).__name__})") from None
    columns = _columns(project, [str(n) for n in file.schema_arrow.names], where)
    return columns, file.iter_batches(batch_size=PARQUET_BATCH, columns=columns.source, use_threads=False)


def read_batches(project: ProjectSpec, reader: ObjectReader, key: str, where: str
                 ) -> tuple[_Columns, Iterator[pa.RecordBatch]]:
    """The object's time column and channels as record batches, in file order."""
    if object_format(project, key) == "parquet":
        return _parquet_batches(project, reader, where)
    return _csv_batches(project, reader, where)


class ColumnTimes:
    """Times of a column as float ms (text in ``time_format``, numbers, or Parquet timestamps) and
    the column as the window files write it."""

    def __init__(self, project: ProjectSpec):
        self.format = project.timeseries.time_format
        self.parser = compile_format(self.format) if self.format else None

    def ms(self, column: pa.Array) -> np.ndarray:
        if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
            return _stamp_ms(column)
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        block = fixed_block(column) if self.format else None
        fast = parse_fixed(block, self.format or "") if block is not None else None
        if fast is not None:
            return fast
        values = column.to_pylist()
        if self.parser is None:
            return np.array([math.nan if (n := js_number(v or "")) is None else n for v in values], dtype="float64")
        return np.array([math.nan if (ms := self.parser.parse(ui_value(v or "", self.format or ""))) is None else ms
                         for v in values], dtype="float64")

    def text(self, column: pa.Array, ms: np.ndarray) -> pa.Array:
        """The column as written: text as read; timestamps in ``time_format`` (or ms without one)."""
        if not (pa.types.is_timestamp(column.type) or pa.types.is_date(column.type)):
            return column
        if not self.format:
            return pa.array(ms.astype("int64"))
        block = write_fixed(ms, self.format)
        if block is not None:
            return text_array(block)
        if padded_shape(self.format) is not None:  # a time outside years 1 to 9999 (format_ms refuses it)
            seconds = pc.cast(pa.array(np.floor_divide(ms, 1000).astype("int64")), pa.timestamp("s"))
            return pc.strftime(seconds, format=self.format)  # (of whole seconds: %S of ms would add ".000")
        return pa.array([format_ms(float(v), self.format) for v in ms], pa.string())


def _stamp_ms(column: pa.Array) -> np.ndarray:
    """UTC milliseconds of a timestamp or date column as float64, a finer unit floored to the
    millisecond (the chart's resolution); NaN for a null."""
    if pa.types.is_date(column.type):
        column = pc.cast(column, pa.timestamp("ms"))
    ticks = pc.cast(column, pa.int64())
    values = pc.fill_null(ticks, 0).to_numpy(zero_copy_only=False) if ticks.null_count else \
        ticks.to_numpy(zero_copy_only=False)
    unit = column.type.unit
    ms = (values * 1000 if unit == "s" else values // {"ms": 1, "us": 1000, "ns": 1_000_000}[unit]).astype("float64")
    if ticks.null_count:
        ms[np.asarray(pc.is_null(ticks).to_numpy(zero_copy_only=False))] = np.nan
    return ms


def scan_parquet(project: ProjectSpec, url: str, data: bytes) -> list[Finding]:
    """Findings for one Parquet object (``lsts-sync check``), rows numbered from 2 as under a CSV
    header: the time column must be there, a timestamp or text in ``time_format`` (numbers without
    one), every time must parse and ascend; channels must be there and numeric."""
    try:
        file = pq.ParquetFile(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises its own types for a file that is not Parquet
        return [Finding(url, 0, f"not a Parquet file ({type(exc).__name__})")]
    schema = file.schema_arrow
    by_key = {seriescsv.name_key(str(n)): str(n) for n in reversed(schema.names)}
    ts = project.timeseries
    findings = [Finding(url, 1, f"{role} {column!r} is not among the columns {list(schema.names)}")
                for role, column in [("time column", ts.time_column), *(("channel", c.column) for c in ts.channel_list)]
                if column.strip().lower() not in by_key]
    for channel in ts.channel_list:
        name = by_key.get(channel.column.strip().lower())
        kind = schema.field(name).type if name else None
        if kind is not None and not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            findings.append(Finding(url, 1, f"channel {channel.column!r} is {kind}, not a number: the chart draws numbers"))
    time_name = by_key.get(ts.time_column.strip().lower())
    if time_name is None:
        return findings
    times, row, last = ColumnTimes(project), 2, -math.inf
    for batch in file.iter_batches(batch_size=PARQUET_BATCH, columns=[time_name]):
        ms = times.ms(batch.column(0))
        bad = np.flatnonzero(np.isnan(ms))
        back = np.flatnonzero(np.diff(np.concatenate([[last], ms])) <= 0)
        if bad.size:
            expected = f"time_format {ts.time_format!r}" if ts.time_format else "a number (no time_format)"
            return findings + [Finding(url, row + int(bad[0]), f"time {batch.column(0)[int(bad[0])]} does not match "
                                       f"{expected}")]
        if back.size:
            return findings + [Finding(url, row + int(back[0]), "the time is not after the row before: the time "
                                       "column must ascend")]
        row, last = row + len(ms), float(ms[-1]) if len(ms) else last
    return findings


def window_name(project: ProjectSpec, index: int) -> str:
    """A window's name: its nominal start, ``20260101T060000Z`` or ``rows-000000020000``."""
    window = project.source.window if project.source else None
    if window is None:
        return "all"
    if window.duration_ms is not None:
        start = datetime.fromtimestamp(index * window.duration_ms / 1000, tz=UTC)
        return start.strftime("%Y%m%dT%H%M%SZ")
    assert window.rows is not None
    return f"rows-{index * window.rows:012d}"


FLOAT_CHARACTERS = frozenset("0123456789.+-einfa")  # all a float's text can hold ("-1.5e+20", "inf", "nan")
DISTINCT_SHARE = 0.6  # below it, a float column's distinct values are turned into text, not every row's


def float_text(column: pa.Array, sep: str) -> pa.Array:
    """A float column as text, as the CSV writer would write it (Arrow's own text of each value).
    When the values repeat (fewer distinct values than ``DISTINCT_SHARE`` of the rows), each
    distinct value is turned into text once and the rows take their value's text: Arrow tells 0
    from -0 and NaNs apart when it encodes, so the bytes are the same. Other columns are returned
    as they are, and so are floats when ``sep`` is a character a float's text may hold: the
    writer refuses that separator in text but not in numbers."""
    if not pa.types.is_floating(column.type) or sep in FLOAT_CHARACTERS:
        return column
    encoded = pc.dictionary_encode(column)  # about a tenth of the cost of turning every value into text
    if len(encoded.dictionary) > DISTINCT_SHARE * len(column):
        return pc.cast(column, pa.string())
    return pc.take(pc.cast(encoded.dictionary, pa.string()), encoded.indices)


def render_window(table: pa.Table, sep: str, where: str) -> bytes:
    """A window's CSV bytes as the labeling UI reads them: header, rows, ``sep``, no quotes."""
    out = pa.BufferOutputStream()  # Arrow's memory: the writer never calls back into Python
    try:
        pacsv.write_csv(table, out, write_options=pacsv.WriteOptions(delimiter=sep, quoting_style="none",
                                                                           quoting_header="none"))
    except pa.ArrowInvalid as exc:
        raise LstsError(f"{where}: a value cannot be written unquoted ({' '.join(str(exc).split())})") from None
    return out.getvalue().to_pybytes()


class _Cutter:
    """Collects rows into the open windows and closes each once no later row can belong to it."""

    def __init__(self, project: ProjectSpec, columns: _Columns, where: str, hashed: Callable[[str], bool]):
        self.project, self.columns, self.where, self.hashed = project, columns, where, hashed
        self.window = project.source.window if project.source else None
        self.times = ColumnTimes(project)
        self.open: dict[int, list[tuple[pa.Table, np.ndarray]]] = {}
        self.rows_seen = 0
        self.last_time = -math.inf
        self.closed_below = -math.inf  # every window index <= this was emitted (indices before 1970 are negative)

    def add(self, batch: pa.RecordBatch) -> Iterator[tuple[WindowFile, bytes]]:
        if batch.num_rows == 0:
            return
        time = batch.column(0)
        ms = self.times.ms(time)
        self._check(ms)
        channels = [float_text(c, self.project.timeseries.sep) for c in batch.columns[1:]]
        table = pa.Table.from_arrays([self.times.text(time, ms), *channels], names=self.columns.written)
        for index, start, stop in self._slices(ms):
            if index <= self.closed_below:
                raise LstsError(f"{self.where}: row {self.rows_seen + start + 2}: time goes back into a window "
                                "already written; the time column must ascend")
            self.open.setdefault(index, []).append((table.slice(start, stop - start), ms[start:stop]))
        self.rows_seen += batch.num_rows
        self.last_time = float(ms[-1])
        yield from self._close(final=False)

    def finish(self) -> Iterator[tuple[WindowFile, bytes]]:
        yield from self._close(final=True)

    def _check(self, ms: np.ndarray) -> None:
        bad = np.flatnonzero(np.isnan(ms))
        if bad.size:
            raise LstsError(f"{self.where}: row {self.rows_seen + int(bad[0]) + 2}: the time does not parse "
                            f"({'time_format ' + repr(self.times.format) if self.times.format else 'a number'})")
        back = np.flatnonzero(np.diff(np.concatenate([[self.last_time], ms])) < 0)
        if back.size:
            raise LstsError(f"{self.where}: row {self.rows_seen + int(back[0]) + 2}: the time is before the row "
                            "before; the time column must ascend")

    def _slices(self, ms: np.ndarray) -> list[tuple[int, int, int]]:
        """``(window index, first row, row after the last)`` of the batch's rows in each window."""
        n, window = len(ms), self.window
        if window is None:
            return [(0, 0, n)]
        if window.rows is not None:
            size, extra, first = window.rows, window.overlap_rows, self.rows_seen
            low, high = max(0, (first - extra) // size), (first + n - 1) // size
            return [(k, max(k * size, first) - first, min((k + 1) * size + extra, first + n) - first)
                    for k in range(low, high + 1) if min((k + 1) * size + extra, first + n) > max(k * size, first)]
        d, overlap = window.duration_ms or 1, window.overlap_ms
        low, high = math.floor((ms[0] - overlap) / d), math.floor(ms[-1] / d)
        found = []
        for k in range(low, high + 1):
            start = int(np.searchsorted(ms, k * d, side="left"))
            stop = int(np.searchsorted(ms, (k + 1) * d + overlap, side="left"))
            own = start < n and ms[start] < (k + 1) * d  # a window is made by its own rows, not its overlap alone
            if stop > start and (own or k in self.open):
                found.append((k, start, stop))
        return found

    def _done(self, index: int) -> bool:
        window = self.window
        if window is None:
            return False
        if window.rows is not None:
            return self.rows_seen >= (index + 1) * window.rows + window.overlap_rows
        return self.last_time >= (index + 1) * (window.duration_ms or 1) + window.overlap_ms

    def _close(self, final: bool) -> Iterator[tuple[WindowFile, bytes]]:
        for index in sorted(self.open):
            if not (final or self._done(index)):
                break
            parts = self.open.pop(index)
            table = pa.concat_tables([t for t, _ in parts])
            name = window_name(self.project, index)
            data = render_window(table, self.project.timeseries.sep, f"{self.where} window {name}")
            md5 = hashlib.md5(data).hexdigest() if self.hashed(name) else ""
            yield WindowFile(name, md5, table.num_rows, float(parts[0][1][0]), float(parts[-1][1][-1])), data
            self.closed_below = index


def every_window(name: str) -> bool:
    return True


def cut(project: ProjectSpec, reader: ObjectReader, key: str, where: str,
        hashed: Callable[[str], bool] = every_window) -> Iterator[tuple[WindowFile, bytes]]:
    """Every window of one object, in order, with its bytes (see the module docstring). A window's
    ``md5`` is the MD5 of its bytes where ``hashed(name)``, else empty: hashing costs a quarter of
    the cut, and only a window whose file already exists has an ETag to compare it with."""
    columns, batches = read_batches(project, reader, key, where)
    cutter = _Cutter(project, columns, where, hashed)
    for batch in batches:
        yield from cutter.add(batch)
    yield from cutter.finish()


def windows_of(project: ProjectSpec, reader: ObjectReader, key: str, where: str,
               hashed: Callable[[str], bool] = every_window) -> tuple[WindowFile, ...]:
    """The windows an object gives (their bytes dropped: plan writes nothing), MD5s where ``hashed``."""
    return tuple(window for window, _ in cut(project, reader, key, where, hashed))
