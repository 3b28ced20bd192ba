"""Fixed-width time formats, column-wise: many times parsed or written at once with numpy.

A *fixed-width* format is made of directives whose text always has the same width, and literal
text; every value of a column then takes the same bytes, so a column is an ``(n, width)`` matrix of
bytes and each field a few columns of it. Two directions, each equal value for value to
``timefmt``'s scalar rules (tests/test_fixedtime.py compares them on random times):

- ``parse_fixed(block, specifier)``: UTC milliseconds of every row of ``block`` as d3's
  ``utcParse`` reads it after the labeling UI's rewriting (``D3Format.parse(ui_value(v))``), for
  the formats of ``timefmt.padded_shape`` (``%Y %m %d %H %M %S`` and literals) when every value has
  exactly their zero-padded width. Days and months out of range roll over as JavaScript's
  ``Date.UTC`` does (``2021-02-30`` is 2 March), so every value of that shape gets its answer.
  None when a value has another shape: the caller parses value by value.
- ``write_fixed(ms, specifier)``: the text ``format_ms`` (d3's ``utcFormat``) writes for every
  time, for formats of ``%Y %y %m %d %e %j %H %I %M %S %L %f %p %Z`` (no padding modifier) and
  literals, as one ``(n, width)`` matrix. None for another format, a time that is not a whole
  millisecond, or one outside years 1 to 9999 (where ``format_ms`` refuses): the caller writes
  value by value.

numpy is imported where used (the plan path does not load it for sources that are not staged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lsts_sync.ui.timefmt import js_number, padded_shape

FIRST_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z: the first time format_ms writes
END_MS = 253_402_300_800_000  # 10000-01-01T00:00:00Z: the first time it refuses
_WIDTH = {"Y": 4, "y": 2, "m": 2, "d": 2, "e": 2, "j": 3, "H": 2, "I": 2, "M": 2, "S": 2, "L": 3, "f": 6, "p": 2}
_READS = frozenset("YmdHMS")  # what parse_fixed reads (padded_shape's directives)
_PART = re.compile(r"(%.?)", re.DOTALL)


@dataclass(frozen=True)
class Layout:
    """Where each directive's characters and each literal byte sit in a value of the format."""

    width: int
    fields: tuple[tuple[str, int], ...]  # (directive, first byte)
    literal_at: tuple[int, ...]
    literal: bytes


@lru_cache(maxsize=64)
def layout(specifier: str) -> Layout | None:
    """The fixed-width layout of ``specifier``, or None when some directive's width varies (a
    padding modifier, ``%Q %s %b %B %a %A``, the locale's ``%c %x %X``) or the format is empty."""
    at, literal = 0, bytearray()
    fields: list[tuple[str, int]] = []
    literal_at: list[int] = []
    for part in _PART.split(specifier):
        if not part:
            continue
        if part.startswith("%"):
            directive = part[1:]
            if directive in ("%", "Z"):
                text = b"%" if directive == "%" else b"+0000"  # format_ms writes %Z as +0000
                literal_at.extend(range(at, at + len(text)))
                literal += text
                at += len(text)
                continue
            if directive not in _WIDTH:
                return None
            fields.append((directive, at))
            at += _WIDTH[directive]
        else:
            text = part.encode()
            literal_at.extend(range(at, at + len(text)))
            literal += text
            at += len(text)
    return Layout(at, tuple(fields), tuple(literal_at), bytes(literal)) if fields else None


@lru_cache(maxsize=64)
def _reads(specifier: str) -> Layout | None:
    """``layout`` of a format ``parse_fixed`` reads: ``padded_shape``'s, each field once, and no
    value of it that the UI would first read as a number (its rewriting would change it)."""
    found = layout(specifier) if padded_shape(specifier) is not None else None
    if found is None or {d for d, _ in found.fields} - _READS or len({d for d, _ in found.fields}) < len(found.fields):
        return None
    sample = re.sub(r"%[YmdHMS]", lambda m: "0" * _WIDTH[m.group(0)[1]], specifier).replace("%%", "%")
    return None if js_number(sample) is not None else found


def parse_fixed(block: Any, specifier: str, *, rollover: bool = True) -> Any:
    """UTC milliseconds (float64) of each row of ``block`` (uint8, ``(n, width)``), or None (see
    the module docstring). With ``rollover=False``, also None when some day or month is out of
    range (``D3Format.rolls_over``), so that every value parsed is a date as written."""
    import numpy as np

    found = _reads(specifier)
    if found is None or block.ndim != 2 or block.shape[1] != found.width or not len(block):
        return None
    if found.literal and not (block[:, list(found.literal_at)] == np.frombuffer(found.literal, np.uint8)).all():
        return None
    values = {}
    for directive, at in found.fields:  # two digits at a time: one lookup reads and checks them
        pairs = [_pair(block, k) for k in range(at, at + _WIDTH[directive], 2)]
        if any((p < 0).any() for p in pairs):
            return None
        values[directive] = pairs[0] * 100 + pairs[1] if len(pairs) == 2 else pairs[0]
    date = values.get("Y", np.int32(1900)) * 10_000 + values.get("m", np.int32(1)) * 100 + values.get("d", np.int32(1))
    days = _dates(np.broadcast_to(date, len(block)), rollover)
    if days is None:
        return None
    seconds = ((days * 24 + values.get("H", 0)) * 60 + values.get("M", 0)) * 60 + values.get("S", 0)
    return (seconds * 1000).astype(np.float64)


def _pair(block: Any, at: int) -> Any:
    """The number two digit bytes at ``at`` hold, per row (int32), -1 where either is no digit."""
    import numpy as np

    both = block[:, at].astype(np.int32) * 256 + block[:, at + 1]
    return _PAIRS()[both]


@lru_cache(maxsize=1)
def _PAIRS() -> Any:  # noqa: N802 (a constant made on first use)
    """Entry ``256 * first byte + second byte``: the two digits' number, or -1."""
    import numpy as np

    table = np.full(65536, -1, np.int32)
    for number in range(100):
        table[(48 + number // 10) * 256 + 48 + number % 10] = number
    return table


def _dates(date: Any, rollover: bool) -> Any:
    """Days since 1970-01-01 of ``YYYYMMDD`` numbers, each run of equal dates worked out once
    (times ascend, so a day's rows share one). A month or day out of range rolls over; with
    ``rollover=False`` such a date gives None instead (its day does not give it back)."""
    import numpy as np

    starts = np.flatnonzero(np.diff(date)) + 1 if len(date) > 1 else np.zeros(0, np.int64)
    runs = len(starts) * 8 <= len(date)
    first = np.concatenate([[0], starts]) if runs else None
    once = (date[first] if runs else date).astype(np.int64)
    days = days_from_civil(once // 10_000, once // 100 % 100 - 1, once % 100)
    if not rollover:
        year, month, day = civil_from_days(days)
        if ((year * 10_000 + month * 100 + day) != once).any():
            return None
    return np.repeat(days, np.diff(np.concatenate([first, [len(date)]]))) if runs else days


def days_from_civil(year: Any, month0: Any, day: Any) -> Any:
    """Days since 1970-01-01 of arrays of dates (``timefmt._days_from_civil``, element-wise): month0
    counts from 0 and, like day, may be out of range (it rolls over)."""
    year, month0 = year + month0 // 12, month0 % 12
    y = year - (month0 < 2)
    era = y // 400
    yoe = y - era * 400
    m = month0 + 1
    doy = (153 * (m + (m > 2) * -12 + 9) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def civil_from_days(days: Any) -> tuple[Any, Any, Any]:
    """(year, month 1-12, day 1-31) of arrays of days since 1970-01-01 (proleptic Gregorian)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 - 12 * (mp >= 10)
    return yoe + era * 400 + (month <= 2), month, day


def write_fixed(ms: Any, specifier: str) -> Any:
    """The text of each time (UTC milliseconds, whole) as ``format_ms`` writes it, as a uint8
    ``(n, width)`` matrix, or None (see the module docstring)."""
    import numpy as np

    found, ms = layout(specifier), np.asarray(ms, np.float64)
    if found is None or not len(ms) or not np.isfinite(ms).all():
        return None
    stamps = ms.astype(np.int64)
    if not (stamps == ms).all() or stamps.min() < FIRST_MS or stamps.max() >= END_MS:
        return None
    seconds = stamps // 1000
    days = seconds // 86_400
    clock = seconds - days * 86_400
    span = np.arange(int(days.min()), int(days.max()) + 1)  # the dates are worked out once per day
    at = days - span[0]
    if len(span) > len(days):
        span, at = days, np.arange(len(days))
    year, month, day = civil_from_days(span)
    by_day = {"Y": lambda: year, "y": lambda: year % 100, "m": lambda: month, "d": lambda: day, "e": lambda: day,
              "j": lambda: span - days_from_civil(year, 0, 1) + 1}
    by_row = {"H": lambda: clock // 3600, "I": lambda: (clock // 3600 + 11) % 12 + 1, "M": lambda: clock // 60 % 60,
              "S": lambda: clock % 60, "L": lambda: stamps % 1000, "f": lambda: stamps % 1000,
              "p": lambda: clock >= 43_200}
    rows = np.empty(len(stamps), _record(found))
    for name, text in _literals(found):
        rows[name] = text
    for i, (directive, _) in enumerate(found.fields):
        if directive in by_day:
            rows[f"f{i}"] = _table(directive)[by_day[directive]()][at]
        else:
            rows[f"f{i}"] = _table(directive)[by_row[directive]().astype(np.int64)]
    return rows.view(np.uint8).reshape(len(stamps), found.width)


def _literals(found: Layout) -> list[tuple[str, bytes]]:
    """Each run of literal bytes (and ``%f``'s last three zeros) as (field name, bytes)."""
    runs: list[tuple[int, bytearray]] = []
    zeros = [(at + k, ord("0")) for d, at in found.fields if d == "f" for k in (3, 4, 5)]
    for at, byte in sorted([*zip(found.literal_at, found.literal, strict=True), *zeros]):
        if runs and runs[-1][0] + len(runs[-1][1]) == at:
            runs[-1][1].append(byte)
        else:
            runs.append((at, bytearray([byte])))
    return [(f"l{at}", bytes(text)) for at, text in runs]


def _record(found: Layout) -> Any:
    """A numpy record of the layout's bytes: a field per directive (``f0``...) and literal run."""
    import numpy as np

    parts = [(f"f{i}", f"S{3 if d == 'f' else _WIDTH[d]}", at) for i, (d, at) in enumerate(found.fields)]
    parts += [(name, f"S{len(text)}", int(name[1:])) for name, text in _literals(found)]
    return np.dtype({"names": [p[0] for p in parts], "formats": [p[1] for p in parts],
                     "offsets": [p[2] for p in parts], "itemsize": found.width})


@lru_cache(maxsize=8)
def _table(directive: str) -> Any:
    """Entry ``v`` is the text of value ``v`` of the directive: zero-padded digits (``%e``: a space
    before one digit; ``%f``: the milliseconds' 3 digits; ``%p``: 0 AM, 1 PM), so a field's text
    is one lookup."""
    import numpy as np

    if directive == "p":
        return np.array([b"AM", b"PM"])
    width = 3 if directive == "f" else _WIDTH[directive]
    fill = " " if directive == "e" else "0"
    return np.array([str(v).rjust(width, fill).encode() for v in range(10**width)], f"S{width}")
