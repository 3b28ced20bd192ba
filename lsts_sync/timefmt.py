"""Checks for strftime-style time formats.

A time series template's ``timeFormat`` is read by the browser (d3-time-format) and the same pattern
is used by lsts-sync with Python's ``strptime`` for data checks and exports. We accept the directives
both understand (plus d3's ``%L``/``%Q``/``%s`` and padding modifiers) and reject anything else, so a
stray ``%`` or a typo such as ``%Q%k`` fails at validate time instead of leaving a blank chart.
"""

import re

_DIRECTIVES = set("aAbBcdefgGHIjLmMpqQsSuUVwWxXyYZz%")
_TOKEN = re.compile(r"%([-_0]?)(.?)", re.DOTALL)


def check_time_format(value: str) -> str:
    """Return ``value`` if every ``%`` starts a known directive, else raise ValueError."""
    if not value.strip():
        raise ValueError("time format is empty")
    for match in _TOKEN.finditer(value):
        directive = match.group(2)
        if not directive:
            raise ValueError(f"invalid time format {value!r}: it ends with a lone '%'")
        if directive not in _DIRECTIVES:
            raise ValueError(f"invalid time format {value!r}: unknown directive '%{directive}'")
    return value


def python_format(value: str) -> str:
    """Translate the d3-only pieces of a format to what Python's strptime/strftime understand."""
    return re.sub(r"%[-_0]([a-zA-Z])", r"%\1", value).replace("%L", "%f")
