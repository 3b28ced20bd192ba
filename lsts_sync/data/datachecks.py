"""Data checks: the reasons labelers see a blank chart, found before they open a task.

``scan_csv`` reads one CSV the way the labeling UI will (``seriescsv``: header names lowercased, the
separator split as is, quotes kept inside names; times parsed by ``timefmt``'s d3 semantics) and returns
``Finding``s, one line each: ``s3://bucket/key:ROW: message``. ``lsts-sync check`` runs it on every
row of every object (``scan_object``, on the object's bytes). A large object is first tried column
by column (``column_wise``: Arrow and ``fixedtime``), which answers only when no row holds a finding,
so the findings are always those of the row-by-row scan. ``plan`` runs it on a bounded sample (``sample_source``): the first object
and up to ``SAMPLE_OBJECTS`` objects that the next sync would import, for every source that is new
or changed, whose project's template changes the time column, time format, separator or channels,
or that has objects waiting to be imported (``sample_reasons``; ``gather`` reads the samples and
``build_plan`` turns them into checks). Errors block apply (``--skip-data-checks`` skips the reads);
odd but drawable data are warnings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace

from lsts_sync.data.sources import breaks_series, matching
from lsts_sync.desired.build import regex_filter
from lsts_sync.resources.adoption import match
from lsts_sync.resources.facts import DataSample, Finding, SourceFacts
from lsts_sync.resources.protocols import S3Ops
from lsts_sync.resources.state import DesiredState, LiveState, StorageState, diff_fields
from lsts_sync.spec.models import ProjectSpec
from lsts_sync.ui import seriescsv
from lsts_sync.ui.timefmt import (
    LAST_MS,
    compile_format,
    js_number,
    ui_value,
    zones_note,
)

SAMPLE_OBJECTS = 5
HEAD_BYTES = 65536
MAX_ROWS = 100_000
FAST_BYTES = 262_144  # objects above this size are first tried column-wise (see column_wise)
OTHER_SEPARATORS = (",", ";", "\t", "|")


class _Tally:
    """The first row of each kind of finding, and how many rows share it."""

    def __init__(self) -> None:
        self.first: dict[str, tuple[int, str, bool]] = {}
        self.count: dict[str, int] = {}

    def add(self, kind: str, row: int, message: str, error: bool = True) -> None:
        self.first.setdefault(kind, (row, message, error))
        self.count[kind] = self.count.get(kind, 0) + 1

    def findings(self, url: str) -> list[Finding]:
        out = []
        for kind, (row, message, error) in self.first.items():
            more = self.count[kind] - 1
            out.append(Finding(url, row, message + (f" (and {more} more row(s))" if more else ""), error))
        return out


def _header_findings(project: ProjectSpec, url: str, header: str, second: str | None
                     ) -> tuple[list[Finding], dict[str, int]]:
    """The header as the UI reads it (``seriescsv``): split on the separator, names lowercased but
    not trimmed, quotes kept; recognised as a header only if some column differs in numeric-ness
    from row 2. A declared column that matches a name only once quotes or spaces are removed gets
    its own finding saying so (the UI will not match it)."""
    ts = project.timeseries
    findings = []
    if ts.sep not in header:
        other = next((s for s in OTHER_SEPARATORS if s != ts.sep and s in header), None)
        hint = f"; the separator looks like {other!r}" if other else ""
        return [Finding(url, 1, f"the header has no {ts.sep!r} (timeseries.sep){hint}: the labeling UI cannot "
                        "split it")], {}
    names = seriescsv.cells(header, ts.sep)
    values = None if second is None else seriescsv.cells(second, ts.sep)
    if not seriescsv.sees_header(names, values):
        return [Finding(url, 1, "the labeling UI does not see a header: no column of row 1 differs from row 2 "
                        f"in being a number{_why_no_header(values or [])}")], {}
    index = {seriescsv.name_key(n): i for i, n in enumerate(names)}
    loose = {seriescsv.loose_name(n).lower(): i for i, n in enumerate(names)}  # names the UI would miss
    for role, column in [("time column", ts.time_column)] + [("channel", c.column) for c in ts.channel_list]:
        key = column.strip().lower()
        if key in index:
            continue  # a difference in case is fine: the UI lowercases header names
        if key in loose:
            name = names[loose[key]]
            why = "is quoted: the labeling UI keeps the quotes" if '"' in name else \
                "has spaces around it: the labeling UI does not trim names"
            findings.append(Finding(url, 1, f"header name {name!r} {why}, so it does not match {role} {column!r}"))
        else:
            findings.append(Finding(url, 1, f"{role} {column!r} is not in the header {names}"
                                    f"{seriescsv.did_you_mean(column, names)}"))
    return findings, index


def _why_no_header(values: list[str]) -> str:
    """Why row 2 holds no number, when the cause is how the numbers are written: quoted cells (the
    UI keeps the quotes) or a decimal comma (the UI reads a point)."""
    quoted = next((v for v in values if len(v.strip()) > 1 and v.strip()[0] == v.strip()[-1] == '"'), None)
    if quoted is not None:
        return (f": row 2's cells are quoted ({quoted}) and the labeling UI keeps the quotes, so none reads as a "
                "number; write the data without quotes")
    comma = next((v for v in values if re.fullmatch(r"\s*[+-]?\d*,\d+\s*", v)), None)
    if comma is not None:
        return (f": row 2 writes numbers with a decimal comma ({comma!r}), which the labeling UI reads as text; "
                "write a decimal point (1.5)")
    return ""


def scan_csv(project: ProjectSpec, url: str, text: str, *, complete: bool = True,
             max_rows: int = MAX_ROWS) -> list[Finding]:
    """Findings for one CSV text. With ``complete=False`` (the first bytes of a larger object) the
    last, possibly cut, line is ignored. Lines are trimmed and blank ones skipped, as the UI does
    (a byte order mark is dropped by the browser). Pure."""
    if complete and len(text) > FAST_BYTES:
        fast = column_wise(project, url, text.encode("utf-8", "surrogatepass"), max_rows)
        if fast is not None:
            return fast
    return _scan_text(project, url, text, complete, max_rows)


def scan_object(project: ProjectSpec, url: str, data: bytes, *, max_rows: int = MAX_ROWS,
                column_wise_first: bool = True) -> list[Finding]:
    """``scan_csv`` of a whole object's bytes (decoded as the browser does, a bad byte replaced):
    a large object is first tried column-wise on its bytes (``column_wise``), unless the caller
    already did. Pure."""
    if column_wise_first and len(data) > FAST_BYTES:
        fast = column_wise(project, url, data, max_rows)
        if fast is not None:
            return fast
    return _scan_text(project, url, data.decode("utf-8", errors="replace"), True, max_rows)


def _scan_text(project: ProjectSpec, url: str, text: str, complete: bool, max_rows: int) -> list[Finding]:
    """The exact scan: every line as the UI splits it, every row's cells (``_scan_rows``)."""
    lines = seriescsv.rows(text, complete)
    if not lines:
        return [Finding(url, 0, "is empty")]
    findings, index = _header_findings(project, url, lines[0][1], lines[1][1] if len(lines) > 1 else None)
    ts = project.timeseries
    time_at = index.get(ts.time_column.strip().lower())
    channels = [(c.column, index[c.column.strip().lower()]) for c in ts.channel_list
                if c.column.strip().lower() in index]
    tally = _Tally()
    width = len(seriescsv.cells(lines[0][1], ts.sep))
    if time_at is not None:
        _scan_rows(project, lines, width, time_at, channels, tally)
    _count_rows(tally, len(lines) - 1, complete, max_rows)
    return findings + tally.findings(url)


def _count_rows(tally: _Tally, rows: int, complete: bool, max_rows: int) -> None:
    if complete and rows > max_rows:
        tally.add("rows", 0, f"{rows} rows: above {max_rows}, the chart is hard to use; split the file", error=False)


def _scan_rows(project: ProjectSpec, lines: list[tuple[int, str]], width: int, time_at: int,
               channels: list[tuple[str, int]], tally: _Tally) -> None:
    ts = project.timeseries
    fmt = ts.time_format
    parser = compile_format(fmt) if fmt else None
    expected = f"time_format {fmt!r}" if fmt else "a number (no time_format)"
    previous = None
    zones: set[str] = set()
    for row, line in lines[1:]:
        cells = seriescsv.cells(line, ts.sep)
        if len(cells) > width:
            tally.add("wide", row, f"{len(cells)} columns, more than the header's {width}: the chart fails to load")
        elif len(cells) < width:
            tally.add("short", row, f"{len(cells)} columns, fewer than the header's {width}", error=False)
        value = cells[time_at] if time_at < len(cells) else ""
        seen = ui_value(value, fmt) if fmt else value
        when = parser.parse(seen) if parser else _number(value)
        if when is None:
            tally.add("time", row, f"time {value!r} does not match {expected}{parser.why_not(value) if parser else ''}")
            continue
        if parser and when > LAST_MS:
            tally.add("year", row, f"time {value!r} is after year 9999: lsts-sync cannot export it"
                      + (" (milliseconds in a %s column? use %Q)" if "s" in parser.regex.groupindex else ""),
                      error=False)
        if parser and "Z" in parser.regex.groupindex:
            zones.add(parser.regex.fullmatch(seen).group("Z"))  # type: ignore[union-attr]
        if parser and parser.rolls_over(seen):
            tally.add("rollover", row, f"time {value!r} has a day or month out of range; the chart reads it as a "
                      "later date", error=False)
        if previous is not None and when <= previous:
            if when == previous:
                tally.add("duplicate", row, f"time {value!r} is the same as the row before", error=False)
            else:
                tally.add("order", row, f"time {value!r} is before the row before: the time column must ascend")
        previous = when
        for column, at in channels:
            cell = cells[at].strip() if at < len(cells) else ""
            if not cell:
                tally.add(f"empty {column}", row, f"channel {column!r} is empty (drawn as 0)", error=False)
            elif _number(cell) is None:
                tally.add(f"text {column}", row, f"channel {column!r} value {cell!r} is not a number", error=False)
    if len(zones) > 1:
        tally.add("zones", 0, zones_note(zones), error=False)


def column_wise(project: ProjectSpec, url: str, data: bytes, max_rows: int) -> list[Finding] | None:
    """The findings of a whole object when its rows certainly hold none, decided column by column
    with Arrow on the bytes: the header's findings (its first two lines, read as ``_scan_text``
    reads them) and the row count's warning. None otherwise, and the exact scan runs.

    Only a yes is trusted: anything unusual (a ragged or blank-looking row, a carriage return not
    before a line feed, a time that is not in ``fixedtime.parse_fixed``'s fixed-width shape, a day or
    month out of range, a time after year 9999, an equal or descending time, a channel cell that is
    empty, not a number or infinite) answers None. So this path can only save time, never change a
    finding.
    """
    ts = project.timeseries
    if not ts.time_format or len(ts.sep.encode()) != 1 or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    start = 0
    while data.startswith(seriescsv.BOM.encode(), start):
        start += len(seriescsv.BOM.encode())
    lines: list[tuple[int, str]] = []
    for size in (4096, HEAD_BYTES):  # the first two lines, from as few bytes as hold them
        lines = seriescsv.rows(data[start:start + size].decode("utf-8", errors="replace"), complete=False)
        if len(lines) >= 2:
            break
    if len(lines) < 2 or lines[0][0] != 1:
        return None  # no header on the first line, or too long lines
    findings, index = _header_findings(project, url, lines[0][1], lines[1][1])
    time_at = index.get(ts.time_column.strip().lower())
    channels = [index[c.column.strip().lower()] for c in ts.channel_list if c.column.strip().lower() in index]
    width = len(seriescsv.cells(lines[0][1], ts.sep))
    if time_at is None or len({time_at, *channels}) != 1 + len(channels) or width < 2:
        return None
    rows = _clean_rows(project, data, data.index(b"\n", start) + 1, width, time_at, channels)
    if rows is None:
        return None
    tally = _Tally()
    _count_rows(tally, rows, True, max_rows)
    return findings + tally.findings(url)


def _clean_rows(project: ProjectSpec, data: bytes, body: int, width: int, time_at: int,
                channels: list[int]) -> int | None:
    """How many rows follow the header at byte ``body``, if none holds a finding (see
    ``column_wise``); else None. Arrow reads the cells as split on the separator, without quotes,
    skipping empty lines (as ``seriescsv.rows`` skips blank ones); a row of another width, an
    empty channel cell or one that is no number fails the read."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from lsts_sync.data.fixedcols import fixed_block, float_values
    from lsts_sync.ui.fixedtime import parse_fixed

    names = [f"c{i}" for i in range(width)]
    types = {names[time_at]: pa.binary(), **{names[at]: pa.float64() for at in channels}}
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(body)),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=project.timeseries.sep, quote_char=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(column_types=types, include_columns=list(types), null_values=[],
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    block = fixed_block(table.column(names[time_at])) if table.num_rows else None
    times = parse_fixed(block, project.timeseries.time_format or "", rollover=False) if block is not None else None
    if times is None or times[-1] > LAST_MS or not (np.diff(times) > 0).all():
        return None
    values = [float_values(table.column(names[at])) for at in channels]
    if not all(chunks is not None and all(np.isfinite(v).all() for v in chunks) for chunks in values):
        return None
    return table.num_rows


def _number(value: str) -> float | None:
    """The finite number a cell holds, as JavaScript's ``+value`` reads it (None: not a number, blank
    or infinite)."""
    number = js_number(value)
    return number if number is not None and math.isfinite(number) else None


# -- plan: a bounded sample, read at gather time ---------------------------------------------------

def _adoptable(live: LiveState, want: StorageState) -> StorageState | None:
    """The storage made by hand that adoption takes over for ``want``, as ``want`` in its live form
    (the same objects: only its marker and filter's form differ, which need no data check)."""
    found = match(live.unmarked_storages.get((want.instance, want.project), ()), want)
    return replace(want, owner=found.owner, id=found.id) if found is not None else None


def sample_reasons(desired: DesiredState, live: LiveState, sources: Mapping[tuple, SourceFacts], *, sync_all: bool,
                   adopt: frozenset[str] = frozenset()) -> dict[str, str]:
    """Project names whose data must be checked, with why (pure): a new or changed source, a
    template change of what decides whether the chart can read the data, or objects that the next
    sync imports."""
    reasons: dict[str, str] = {}
    for storage_key, want_storage in sorted(desired.storages.items()):
        have_storage = (live.storages.get(storage_key) or live.foreign_storages.get(storage_key)
                        or _adoptable(live, want_storage))
        if want_storage.role == "source" and (
                have_storage is None or {d.field for d in diff_fields(have_storage, want_storage)} - {"owner"}):
            reasons[want_storage.project] = "new or changed source"
    for project_key, want_project in sorted(desired.projects.items()):
        have_project = live.projects.get(project_key) or live.foreign.get(project_key)
        if have_project is None and want_project.name in adopt:
            have_project = live.unmanaged.get((want_project.instance, want_project.title))
        if (have_project is not None and want_project.name not in reasons
                and breaks_series(have_project.label_config, want_project.label_config)):
            reasons[want_project.name] = "template change"
    for source_key, facts in sorted(sources.items()):
        source = desired.storages.get(source_key)
        if source is not None and facts.pending and (source.sync or sync_all):
            reasons.setdefault(source.project, "objects to import")
    return reasons


def sample_source(project: ProjectSpec, facts: SourceFacts, s3: S3Ops, reason: str) -> DataSample:
    """Scan the first rows of the source's first object and of up to ``SAMPLE_OBJECTS`` pending ones."""
    source = project.source
    assert source is not None
    if not facts.keys:
        return DataSample(project.name, reason, empty=f"no object under s3://{source.bucket}/{source.prefix} matches "
                          f"pattern {source.pattern}{_hint(project, s3)} (Label Studio refuses a storage on an "
                          "empty prefix)")
    sample = list(dict.fromkeys([facts.keys[0], *facts.pending[:SAMPLE_OBJECTS]]))
    findings: list[Finding] = []
    for key in sample:
        data = s3.head_bytes(source.bucket, key, HEAD_BYTES)
        text = data.decode("utf-8", errors="replace")
        findings.extend(scan_csv(project, f"s3://{source.bucket}/{key}", text, complete=len(data) < HEAD_BYTES))
    return DataSample(project.name, reason, tuple(findings), len(sample), len(facts.keys))


def _hint(project: ProjectSpec, s3: S3Ops) -> str:
    """Why a prefix looks empty, when a recursive scan would find matching objects. (A missing
    trailing '/' needs no hint: Label Studio, and ``matching``, add it.)"""
    source = project.source
    assert source is not None
    if not source.recursive and matching(s3, source.bucket, source.prefix, True, regex_filter(source)):
        return "; objects lie in sub-folders: set recursive: true"
    return ""
