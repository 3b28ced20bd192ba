"""Time formats as the labeling UI reads them: d3-time-format's parser, in UTC.

One implementation for validation (``check_time_format``), data checks (``D3Format.parse``) and
exports (``format_ms``, d3's ``utcFormat``). The semantics follow d3-time-format's ``utcParse``:

- the whole value must be consumed; literal characters must match exactly;
- numeric directives read at most their width of characters (``%Y`` 4, ``%m %d %e %H %I %M %S %y`` 2,
  ``%j %L`` 3, ``%f`` 6), optionally led by spaces, with or without zero padding;
  ``%Q`` (milliseconds) and ``%s`` (seconds) read any number of digits;
- a padding modifier (``%-d``, ``%_d``, ``%0d``) changes nothing when parsing;
- ``%Z`` reads ``Z``, ``+hh``, ``+hhmm`` or ``+hh:mm``;
- days and months are not range-checked: ``2021-02-30`` rolls over to 2 March, as JavaScript's
  ``Date`` does (a warning in the data checks, since it is almost always a mistake).
- the en-US locale's ``%c %x %X`` stand for ``%x, %X``, ``%-m/%-d/%Y`` and ``%-I:%M:%S %p``.
The week-based directives (``%U %W %V %u %w %g %G``) and ``%q`` are refused at validation: d3 parses
them, but lsts-sync does not reproduce how they build a date, so it could not check such data.

Before d3 sees a value, the labeling UI rewrites it (``TimeSeries.jsx`` in Label Studio 1.23.2):
a format with ``%f`` is read as ``%L`` and a 6-digit fraction at the end is cut to 3 digits; then
the first ``.digits`` group of up to 3 digits is padded to 3 (``.5`` -> ``.500``, which also turns
``03.02.2021`` into ``03.020.2021``); a value that is a number is first turned into JavaScript's
text for that number (``0930`` -> ``930``). ``ui_value`` does the same, so the data checks see what
the chart sees.

Two more of the UI's rules live here so that every reader of the data applies the same ones:
``js_number`` (what JavaScript's ``+cell`` reads as a number) and ``padded_ms``, the column-wise
fast path (pandas) for zero-padded dates, which answers only where it certainly agrees with d3.
``ui.fixedtime`` parses and writes whole columns of fixed-width formats with numpy, value for value
as ``D3Format.parse`` and ``format_ms`` (the windows and ``lsts-sync check`` use it).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
JS_DATE_MAX_MS = 8.64e15  # JavaScript's Date holds times within this many milliseconds of 1970
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last time Python's datetime (and an export) holds
DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
def _number(group: str, width: int) -> str:
    """d3's ``^\\s*\\d+`` on the next ``width`` characters: spaces count toward the width, ASCII
    digits only, and no backtracking (d3 reads each field once, greedily; Python 3.11's atomic
    groups and possessive quantifiers do the same)."""
    ways = "|".join(rf"\s{{{k}}}[0-9]{{1,{width - k}}}+" for k in range(width))
    return rf"(?P<{group}>(?>{ways}))"


_PATTERNS = {
    "Y": _number("Y", 4), "y": _number("y", 2), "m": _number("m", 2), "d": _number("d", 2),
    "e": _number("d", 2), "H": _number("H", 2), "I": _number("H", 2), "M": _number("M", 2),
    "S": _number("S", 2), "j": _number("j", 3), "L": _number("L", 3), "f": _number("f", 6),
    "Q": r"(?P<Q>\s*+[0-9]++)", "s": r"(?P<s>\s*+[0-9]++)", "p": r"(?P<p>(?i:am|pm))",
    "Z": r"(?P<Z>Z|[+-][0-9][0-9](?::?[0-9][0-9])?)",
    "b": "(?P<b>(?i:" + "|".join(m[:3] for m in MONTHS) + "))",
    "B": "(?P<b>(?i:" + "|".join(MONTHS) + "))",
    "a": "(?P<a>(?i:" + "|".join(d[:3] for d in DAYS) + "))",
    "A": "(?P<a>(?i:" + "|".join(DAYS) + "))",
    "%": "%",
}
_LOCALE = {"x": "%-m/%-d/%Y", "X": "%-I:%M:%S %p", "c": "%-m/%-d/%Y, %-I:%M:%S %p"}
_TOKEN = re.compile(r"%([-_0]?)(.?)", re.DOTALL)


class TimeFormatError(ValueError):
    """A format the labeling UI cannot parse; the message names the directive."""


@dataclass(frozen=True)
class D3Format:
    """A compiled d3 time format: ``parse`` gives UTC milliseconds since the epoch, or None."""

    specifier: str
    regex: re.Pattern[str]

    def parse(self, value: str) -> float | None:
        """UTC milliseconds of a value already rewritten by ``ui_value``, or None (also for a time
        outside JavaScript's Date range: d3 gives an invalid Date, which the chart cannot place)."""
        match = self.regex.fullmatch(value)
        if match is None:
            return None
        ms = _epoch_ms(match.groupdict())
        return ms if abs(ms) <= JS_DATE_MAX_MS else None

    def why_not(self, value: str) -> str:
        """Why the raw cell ``value`` does not parse, as ``: cause; what to write instead``, for the
        causes the user cannot see ('' for a plain mismatch): the UI's rewrite of a '.digits' group,
        a sign before %s/%Q, a time outside JavaScript's Date range."""
        seen = ui_value(value, self.specifier)
        match = self.regex.fullmatch(seen)
        if match is not None:
            return (": it is outside JavaScript's Date range (±8.64e15 ms from 1970), which the chart cannot place"
                    + (" (milliseconds in a %s column? use %Q)" if "s" in self.regex.groupindex else ""))
        if re.search(r"%[-_0]?[sQ]", self.specifier) and value.strip().startswith("-"):
            return (": %s and %Q read no sign, so they hold no time before 1970; write such times with a date "
                    "format, e.g. '%Y-%m-%d %H:%M:%S'")
        if seen != value and re.search(r"\.\d+[A-Za-z_]", value):
            return (f": the labeling UI pads a '.digits' group only where no letter follows it, so it reads {seen!r}; "
                    "write the zone as '+00:00' (time_format ending '%L%Z') or leave the 'Z' out (times are UTC)")
        if seen != value:
            instead = re.sub(r"\.(?!%[-_0]?[Lf])", "-", self.specifier)
            return (f": the labeling UI pads the first '.digits' group to 3 digits, so it reads {seen!r}; a '.' works "
                    f"only before %L: use another separator, e.g. time_format {instead!r} (and write the data so)")
        return ""

    def rolls_over(self, value: str) -> bool:
        """True if ``value`` parses only because a day or month out of range rolls over."""
        match = self.regex.fullmatch(value)
        if match is None:
            return False
        g = match.groupdict()
        month, day = int(g.get("m") or 1), int(g.get("d") or 1)
        year = _year(g)
        return not (1 <= month <= 12) or not (1 <= day <= (calendar.monthrange(year, month)[1] if 1 <= month <= 12
                                                              else 31))


def ui_format(specifier: str) -> str:
    """The format d3 is given: the UI reads ``%f`` as ``%L``; locale directives expanded."""
    return re.sub(r"%([-_0]?)([cxX])", lambda m: _LOCALE[m.group(2)], specifier).replace("%f", "%L")


def ui_value(value: str, specifier: str) -> str:
    """A CSV cell as the labeling UI hands it to d3 for ``specifier`` (see the module docstring)."""
    if _js_number(value) is not None:
        return _js_number(value)  # type: ignore[return-value]
    if "%f" in specifier:
        value = re.sub(r"\.(\d{3})\d{3}$", r".\1", value)
    return re.sub(r"\.(\d{0,3})\b", lambda m: "." + m.group(1).ljust(3, "0"), value, count=1)


JS_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")  # a cell JavaScript's ``+cell`` reads


def js_number(value: str) -> float | None:
    """The number JavaScript's ``+value`` gives for a non-blank CSV cell in decimal notation, or
    None (NaN). A blank cell is None here although JavaScript reads it as 0: each caller says what
    a blank means to it. The number may be infinite (``1e999``)."""
    text = value.strip()
    return float(text) if JS_NUMBER.fullmatch(text) else None


def _js_number(value: str) -> str | None:
    """JavaScript's ``String(+value)`` when ``+value`` is a number (not NaN), else None."""
    if not value.strip():
        return "0"
    number = js_number(value)
    if number is None:
        return None
    return str(int(number)) if number.is_integer() and abs(number) < 1e21 else repr(number)


_PADDED = {"Y": r"\d{4}", "m": r"\d\d", "d": r"\d\d", "H": r"\d\d", "M": r"\d\d", "S": r"\d\d", "%": "%"}


def padded_shape(specifier: str) -> str | None:
    """A regular expression of the values whose d3 parse pandas' ``to_datetime(format=specifier)``
    certainly reproduces, or None when there is no such shape: the format holds only zero-padded
    ``%Y %m %d %H %M %S`` and literals (d3 takes 1 to 4 digits for %Y, 1 to 2 for the rest; this
    shape takes exactly 4 and 2), is not all digits (the UI first reads a number as a number) and
    has no '.' (the UI pads a '.digits' group before d3 parses: ``03.02.2021`` -> ``03.020.2021``)."""
    if not specifier or re.search(r"%[-_0]?[^YmdHMS%]", specifier) or re.fullmatch(r"(%[YmdHMS])+", specifier) \
            or "." in specifier:
        return None
    return "".join(_PADDED.get(part[1:], re.escape(part)) for part in re.split(r"(%[YmdHMS%])", specifier) if part)


def padded_ms(values: Collection[str], specifier: str):  # -> numpy.ndarray | None (numpy imported lazily)
    """UTC milliseconds (float64) of every value, parsed column-wise by pandas, when that certainly
    gives the labeling UI's answer: every value has ``padded_shape(specifier)`` and no day or month
    is out of range (d3 rolls those over; pandas refuses them). None otherwise, and for no values:
    the caller then parses value by value (``compile_format``). Only a certain answer is given, so
    this fast path can save time but never change a result."""
    shape = padded_shape(specifier)
    if shape is None or len(values) == 0 or not re.fullmatch(f"(?:{shape}\n)*{shape}", "\n".join(values)):
        return None
    import pandas as pd

    stamps = pd.to_datetime(pd.Series(list(values), dtype=object), format=specifier, errors="coerce", utc=True)
    if stamps.isna().any():
        return None
    return (stamps.to_numpy(dtype="datetime64[ns]").astype("int64") // 1_000_000).astype("float64")


_WIDTHS = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}
_DEFAULTS = {"Y": 1900, "m": 1, "d": 1, "H": 0, "M": 0, "S": 0}  # strptime's, for a directive the format lacks
_YEARS = (1678, 2261)  # within pandas' nanosecond timestamps


def fixed_width_ms(chars, specifier: str):  # -> numpy.ndarray | None (numpy imported lazily)
    """``padded_ms`` of values given as the rows of ``chars``, an n x width array of their UTF-8
    bytes (every value that long), computed from the digits at their fixed places; None unless
    every value has ``padded_shape(specifier)`` in ASCII digits and is a real date and time (month
    1-12, a day of that month, hour < 24, minute and second < 60) of a year 1678-2261. Such values
    pandas parses exactly so, so this gives the numbers ``padded_ms`` gives; the caller calls
    ``padded_ms`` for None."""
    import numpy as np

    layout = _fixed_layout(specifier)
    if layout is None or chars.ndim != 2 or chars.shape[1] != layout[0] or not len(chars):
        return None
    fields = {k: np.full(len(chars), v, dtype=np.int64) for k, v in _DEFAULTS.items()}
    for start, letter, literal in layout[1]:
        for place, byte in enumerate(literal.encode(), start=start):  # a literal: the same bytes in every value
            if not (chars[:, place] == byte).all():
                return None
        if letter:
            value = np.zeros(len(chars), dtype=np.int64)
            for place in range(start, start + _WIDTHS[letter]):
                digit = chars[:, place] - np.uint8(ord("0"))  # a byte below '0' wraps above 9
                if digit.max() > 9:
                    return None
                value = value * 10 + digit
            fields[letter] = value
    return _checked_ms(fields)


def _fixed_layout(specifier: str) -> tuple[int, list[tuple[int, str, str]]] | None:
    """(width in bytes, [(offset, directive letter, "") or (offset, "", literal text)]) of a
    ``padded_shape`` format with each directive at most once; None for any other."""
    if padded_shape(specifier) is None:
        return None
    parts: list[tuple[int, str, str]] = []
    at = 0
    for part in re.split(r"(%[YmdHMS%])", specifier):
        if part[1:] in _WIDTHS and part.startswith("%"):
            if any(letter == part[1] for _, letter, _ in parts):
                return None
            parts.append((at, part[1], ""))
            at += _WIDTHS[part[1]]
        elif part:
            literal = "%" if part == "%%" else part
            parts.append((at, "", literal))
            at += len(literal.encode())
    return at, parts


def _checked_ms(fields: dict):  # -> numpy.ndarray | None
    """UTC milliseconds of the date-time fields (int64 arrays by directive letter), None unless every one is real."""
    import numpy as np

    y, m, d, hour, minute, second = (fields[k] for k in "YmdHMS")
    ok = (_YEARS[0] <= y) & (y <= _YEARS[1]) & (m >= 1) & (m <= 12) & (hour < 24) & (minute < 60) & (second < 60)
    if not ok.all():
        return None
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    if not ((d >= 1) & (d <= month_days[m - 1] + (leap & (m == 2)))).all():
        return None
    shifted = y - (m <= 2)  # days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
    era = shifted // 400
    of_era = shifted - era * 400
    of_year = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    days = era * 146097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719468
    return (((days * 24 + hour) * 60 + minute) * 60 + second) * 1000.0


def compile_format(specifier: str) -> D3Format:
    """Compile ``specifier`` as the UI hands it to d3; raises TimeFormatError naming a directive
    that cannot be parsed (or that lsts-sync cannot check)."""
    if not specifier.strip():
        raise TimeFormatError("time format is empty")
    original, specifier = specifier, ui_format(specifier)
    parts, seen, end = [], set(), 0
    for match in _TOKEN.finditer(specifier):
        parts.append(re.escape(specifier[end:match.start()]))
        end = match.end()
        directive = match.group(2)
        if not directive:
            raise TimeFormatError(f"invalid time format {original!r}: it ends with a lone '%'")
        if directive in "UWVuwgGq":
            raise TimeFormatError(f"invalid time format {original!r}: lsts-sync cannot check data against the "
                                  f"week-based '%{directive}'; use a calendar date")
        if directive not in _PATTERNS:
            raise TimeFormatError(f"invalid time format {original!r}: the labeling UI cannot parse '%{directive}'")
        pattern = _PATTERNS[directive]
        group = re.match(r"\(\?P<(\w)>", pattern)
        if group and group.group(1) in seen:  # a field given twice: d3 keeps the last; match any digits
            pattern = pattern.replace(f"?P<{group.group(1)}>", "?:", 1)
        if group:
            seen.add(group.group(1))
        parts.append(pattern)
    parts.append(re.escape(specifier[end:]))
    return D3Format(specifier, re.compile("".join(parts)))


def check_time_format(value: str) -> str:
    """Return ``value`` if the labeling UI can parse with it, else raise ValueError (for pydantic)."""
    compile_format(value)
    return value


def format_ms(ms: float, specifier: str) -> str:
    """UTC milliseconds written with ``specifier`` as d3's ``utcFormat`` writes them (``%L`` 3-digit
    milliseconds, ``%f`` microseconds, ``%Q`` milliseconds, ``%s`` seconds, ``%Z`` ``+0000``; padding
    modifiers ``-`` none, ``_`` spaces, ``0`` zeros). A time outside years 1 to 9999 raises
    TimeFormatError (one line): Python's datetime cannot hold it."""
    try:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    except OverflowError:
        raise TimeFormatError(f"time {ms:.0f} ms since 1970 is outside years 1 to 9999, which lsts-sync cannot "
                              f"write with {specifier!r} (milliseconds in a %s column? use %Q)") from None

    def field(match: re.Match[str]) -> str:
        pad, directive = match.group(1), match.group(2)
        if directive not in _WRITERS:
            raise TimeFormatError(f"invalid time format {specifier!r}: cannot write '%{directive}'")
        value, width, fill = _WRITERS[directive](moment, ms)
        if pad == "-" or not width:
            return value
        return value.rjust(width, " " if pad == "_" else "0" if pad == "0" else fill)

    return _TOKEN.sub(field, re.sub(r"%([-_0]?)([cxX])", lambda m: _LOCALE[m.group(2)], specifier))


_WRITERS = {
    "Y": lambda t, ms: (str(t.year), 4, "0"), "y": lambda t, ms: (str(t.year % 100), 2, "0"),
    "m": lambda t, ms: (str(t.month), 2, "0"), "d": lambda t, ms: (str(t.day), 2, "0"),
    "e": lambda t, ms: (str(t.day), 2, " "), "H": lambda t, ms: (str(t.hour), 2, "0"),
    "I": lambda t, ms: (str(t.hour % 12 or 12), 2, "0"), "M": lambda t, ms: (str(t.minute), 2, "0"),
    "S": lambda t, ms: (str(t.second), 2, "0"), "j": lambda t, ms: (str(t.timetuple().tm_yday), 3, "0"),
    "L": lambda t, ms: (str(int(ms) % 1000), 3, "0"), "f": lambda t, ms: (str(int(ms) % 1000 * 1000), 6, "0"),
    "Q": lambda t, ms: (str(int(ms)), 0, ""), "s": lambda t, ms: (str(int(ms // 1000)), 0, ""),
    "p": lambda t, ms: ("PM" if t.hour >= 12 else "AM", 0, ""), "Z": lambda t, ms: ("+0000", 0, ""),
    "b": lambda t, ms: (MONTHS[t.month - 1][:3].title(), 0, ""), "B": lambda t, ms: (MONTHS[t.month - 1].title(), 0, ""),
    "a": lambda t, ms: (DAYS[(t.weekday() + 1) % 7][:3].title(), 0, ""),
    "A": lambda t, ms: (DAYS[(t.weekday() + 1) % 7].title(), 0, ""), "%": lambda t, ms: ("%", 0, ""),
}


def _year(g: dict) -> int:
    if g.get("Y") is not None:
        return int(g["Y"])
    if g.get("y") is not None:
        y = int(g["y"])
        return y + (1900 if y > 68 else 2000)
    return 1900


def _epoch_ms(g: dict) -> float:
    """d3's newDate for UTC: %Q and %s win; else fields with JavaScript Date.UTC's rollover."""
    if g.get("Q") is not None:
        return float(int(g["Q"]))
    if g.get("s") is not None:
        return int(g["s"]) * 1000.0 + (int(g["L"]) if g.get("L") is not None else 0)
    hour = int(g.get("H") or 0)
    if g.get("p") is not None:
        hour = hour % 12 + (12 if g["p"].lower() == "pm" else 0)
    month = int(g["m"]) - 1 if g.get("m") is not None else (
        [m[:3] for m in MONTHS].index(g["b"][:3].lower()) if g.get("b") else 0)
    days = _days_from_civil(_year(g), month, 1) + (
        int(g["j"]) - 1 if g.get("j") is not None else int(g.get("d") or 1) - 1)
    millis = int(g["L"]) if g.get("L") is not None else (int(g["f"]) // 1000 if g.get("f") is not None else 0)
    total = ((days * 24 + hour) * 60 + int(g.get("M") or 0)) * 60 + int(g.get("S") or 0)
    return total * 1000.0 + millis - _zone_minutes(g.get("Z")) * 60000.0


def _days_from_civil(year: int, month0: int, day: int) -> int:
    """Days since 1970-01-01 of ``year``-``month0 + 1``-``day``; month0 may be out of range (rolls over)."""
    year, month0 = year + month0 // 12, month0 % 12
    y = year - (month0 < 2)
    era = y // 400
    yoe = y - era * 400
    m = month0 + 1
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def zones_note(zones: Collection[str]) -> str:
    """What several ``%Z`` offsets in one column mean for the chart: d3 applies each value's own
    offset, so every time lands on its instant; offsets an hour apart are what local times across a
    daylight-saving change look like (nothing is wrong), wider ones are worth a look."""
    minutes = [_zone_minutes(z) for z in zones]
    listed = ", ".join(sorted(zones))
    if max(minutes) - min(minutes) <= 60:
        return (f"time values mix time zones ({listed}), as local times across a daylight-saving change do: each "
                "value's offset is applied, so the chart places every time at its instant; nothing is wrong")
    return (f"time values mix time zones ({listed}), more than a daylight-saving hour apart: each value's offset is "
            "applied, so the chart places every time at its instant; check that the offsets are the data's own")


def _zone_minutes(zone: str | None) -> int:
    if not zone or zone == "Z":
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0))
