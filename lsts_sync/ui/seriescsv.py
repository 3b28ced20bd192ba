"""The series CSV as the labeling UI reads it: the one implementation of that reading.

Label Studio's editor parses a task's CSV itself (``parseCSV`` in ``web/libs/editor/src/utils/data.js``).
Every part of lsts-sync that must see what the chart will see reads through here: ``channels: auto``
(the header's names), the data checks and ``lsts-sync check`` (every row), and the dense export
(the rows it labels). The rules:

- a byte order mark is dropped (the browser decodes it away);
- the text is split into lines on ``\\n``, each line trimmed (so ``\\r\\n`` works), blank lines skipped;
- a line's cells are the line split on the separator: quotes stay part of a cell, so a header
  ``"t","v"`` names the columns ``"t"`` and ``"v"`` (quotes included), not ``t`` and ``v``; spaces
  beside a separator stay too (``t, v`` names the column `` v``);
- header names are lowercased before they are matched (so are the template's column names);
- the first line is a header only when some column differs from the second line in being a number
  (JavaScript's ``isNaN``; a blank cell counts as a number, 0).

One simplification, kept on purpose: the UI keeps a quoted cell that holds the separator
(``"a,b"``) as one cell; here every separator splits. Such a header name never matches a template
column either way, and data cells are numbers.
"""

from __future__ import annotations

import difflib
import math

from lsts_sync.ui.timefmt import js_number

BOM = "\ufeff"


def drop_bom(text: str) -> str:
    """``text`` without a leading byte order mark (the browser never shows it to the UI)."""
    return text.lstrip(BOM)


def rows(text: str, complete: bool = True) -> list[tuple[int, str]]:
    """``(row number, trimmed line)`` of every non-blank line, rows numbered from 1 as the file's
    lines are. With ``complete=False`` (the first bytes of a larger object) the last line, which
    may be cut, is left out."""
    lines = drop_bom(text).split("\n")
    if not complete and len(lines) > 1:
        lines = lines[:-1]
    return [(row, line.strip()) for row, line in enumerate(lines, start=1) if line.strip()]


def cells(line: str, sep: str) -> list[str]:
    """A trimmed line's cells: split on ``sep`` exactly, quotes and spaces kept."""
    return line.split(sep)


def header(text: str, sep: str) -> list[str]:
    """The names of the first non-blank line, as written (case kept; see ``name_key``); [] for a
    text without one."""
    found = rows(text)
    return cells(found[0][1], sep) if found else []


def name_key(name: str) -> str:
    """How the UI matches a header name: lowercased, nothing else (quotes and spaces stay)."""
    return name.lower()


def loose_name(name: str) -> str:
    """A header name as its author meant it: spaces and quotes around it removed, case kept.
    The UI never reads names this way; it tells which declared column a name was meant to be."""
    return name.strip().strip('"').strip()


def did_you_mean(column: str, names: list[str]) -> str:
    """`` (did you mean 'x'?)`` naming the header name (as meant, ``loose_name``) closest to a
    declared ``column`` that matches none, compared case-insensitively as the UI does; '' when
    none is close. The one hint for every column reference a header does not hold."""
    meant = {loose_name(n).lower(): loose_name(n) for n in names if n.strip()}
    close = difflib.get_close_matches(column.strip().lower(), list(meant), n=1)
    return f" (did you mean {meant[close[0]]!r}?)" if close else ""


def is_nan(cell: str) -> bool:
    """JavaScript's ``isNaN(cell)`` for a cell (blank cells are 0, not NaN). An infinite number
    (``1e999``) counts as NaN here, though JavaScript reads it as Infinity: kept as the data checks
    have always decided, since no real header or time cell looks like that."""
    number = js_number(cell)
    return cell.strip() != "" and (number is None or not math.isfinite(number))


def sees_header(first: list[str], second: list[str] | None) -> bool:
    """True if the UI takes the first row (``first``, its cells) as a header: there is no second row,
    or some column differs from ``second`` in being a number (a missing cell counts as blank)."""
    if second is None:
        return True
    return not all(is_nan(name) == is_nan(second[i] if i < len(second) else "") for i, name in enumerate(first))
