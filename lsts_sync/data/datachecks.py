"""Data checks: the reasons labelers see a blank chart, found before they open a task.

``scan_csv`` reads one CSV the way the labeling UI will (``seriescsv``: header names lowercased, the
separator split as is, quotes kept inside names; times parsed by ``timefmt``'s d3 semantics) and returns
``Finding``s, one line each: ``s3://bucket/key:ROW: message``. ``lsts-sync check`` runs it on every
row of every object; ``plan`` runs it on a bounded sample (``sample_source``): the first object
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
    padded_ms,
    padded_shape,
    ui_value,
    zones_note,
)

SAMPLE_OBJECTS = 5
HEAD_BYTES = 65536
MAX_ROWS = 100_000
FAST_BYTES = 262_144  # objects above this size are first tried column-wise (see _clean)
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
    if time_at is not None and not (len(text) > FAST_BYTES and _clean(project, text, width, time_at, channels)):
        _scan_rows(project, lines, width, time_at, channels, tally)
    if complete and len(lines) - 1 > max_rows:
        tally.add("rows", 0, f"{len(lines) - 1} rows: above {max_rows}, the chart is hard to use; split the file",
                  error=False)
    return findings + tally.findings(url)


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


def _clean(project: ProjectSpec, text: str, width: int, time_at: int, channels: list[tuple[str, int]]) -> bool:
    """True if a whole object certainly has no row finding, decided column by column with pandas.

    Only a yes is trusted: anything unusual (ragged rows, values the UI would rewrite, a format
    beyond %Y %m %d %H %M %S, an unparsable, equal or descending time, a non-number or empty cell)
    answers False, and the exact row-by-row scan runs instead. So the fast path can only save time,
    never change a finding.
    """
    import io

    import numpy as np
    import pandas as pd

    fmt = project.timeseries.time_format
    if not fmt or padded_shape(fmt) is None:
        return False  # other directives, all-digit values that the UI first reads as numbers, a '.'
    columns: dict[int, type[str] | str] = {time_at: str, **{at: "float64" for _, at in channels}}
    try:
        frame = pd.read_csv(io.StringIO(seriescsv.drop_bom(text)), sep=project.timeseries.sep, header=None, skiprows=1,
                            usecols=sorted(columns), dtype=columns, quoting=3, keep_default_na=False, engine="c",
                            na_filter=False, skip_blank_lines=True)
    except (ValueError, TypeError, pd.errors.ParserError):
        return False  # ragged rows, empty or non-number cells: the exact scan says which
    if frame.empty or text.count(project.timeseries.sep) != (width - 1) * (len(frame) + 1):
        return False  # a row with more or fewer columns than the header
    if not all(np.isfinite(frame[at].to_numpy()).all() for _, at in channels):
        return False
    times = padded_ms(frame[time_at].tolist(), fmt)  # None: another shape or a rollover; the exact scan decides
    return times is not None and bool((np.diff(times) > 0).all())


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
