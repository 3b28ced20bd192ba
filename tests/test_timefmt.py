"""timefmt: d3-time-format's utcParse/utcFormat as the labeling UI uses them, and the UI's value rewriting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lsts_sync.ui.timefmt import TimeFormatError, check_time_format, compile_format, format_ms, ui_value


def ms(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp() * 1000


@pytest.mark.parametrize("fmt,value,expected", [
    ("%Y-%m-%d %H:%M:%S", "2021-01-01 00:10:00", ms(2021, 1, 1, 0, 10)),
    ("%Y-%m-%d %H:%M:%S", "2021-1-1 0:1:0", ms(2021, 1, 1, 0, 1)),  # no zero padding needed
    ("%Y-%m-%d", " 202-01-02", ms(202, 1, 2)),  # a space counts toward %Y's 4 characters
    ("%d/%m/%y", "05/03/21", ms(2021, 3, 5)),
    ("%d/%m/%y", "05/03/69", ms(1969, 3, 5)),  # %y above 68 is 19xx
    ("%Y", "21", ms(21, 1, 1)),  # %Y keeps a short year as written: year 21
    ("%s", "1609459200", 1609459200000.0),
    ("%Q", "1609459200123", 1609459200123.0),
    ("%s.%L", "1609459200.250", 1609459200250.0),
    ("%Y-%m-%dT%H:%M:%S%Z", "2021-01-01T01:00:00+01:00", ms(2021, 1, 1)),
    ("%Y-%m-%dT%H:%M:%S%Z", "2021-01-01T01:00:00+0100", ms(2021, 1, 1)),
    ("%Y-%m-%dT%H:%M:%S%Z", "2021-01-01T00:00:00Z", ms(2021, 1, 1)),
    ("%d %b %Y %I:%M %p", "05 mar 2021 01:30 PM", ms(2021, 3, 5, 13, 30)),
    ("%B %-d, %Y", "March 5, 2021", ms(2021, 3, 5)),
    ("%j/%Y", "032/2021", ms(2021, 2, 1)),
    ("%Y-%m-%d", "2021-02-30", ms(2021, 3, 2)),  # rolls over as JavaScript's Date does
    ("%x", "3/5/2021", ms(2021, 3, 5)),
])
def test_parse_as_d3_utc_parse(fmt: str, value: str, expected: float) -> None:
    assert compile_format(fmt).parse(value) == expected


@pytest.mark.parametrize("fmt,value", [
    ("%Y-%m-%d %H:%M:%S", "2021-01-01 00:10:00 "),  # trailing characters
    ("%Y-%m-%d %H:%M:%S", "2021-01-01T00:10:00"),  # literal mismatch
    ("%Y-%m-%dT%H:%M:%S%Z", "2021-01-01T00:00:00z"),  # lowercase z
    ("%s", "-5"), ("%s", "1612345678.5"),  # unsigned integers only
    ("%m", "123"),  # two digits at most
    ("%Y%m%d", "202111"),  # d3 reads 2021, then 11, then finds no day: no backtracking
    ("%Y-%m-%d", " 2021-01-02"),  # " 202" is the year, then "1" is not "-"
    ("%Y-%m-%d", "\uff12\uff10\uff12\uff11-01-01"),  # only ASCII digits
])
def test_values_d3_refuses(fmt: str, value: str) -> None:
    assert compile_format(fmt).parse(value) is None


def test_rollover_is_reported() -> None:
    fmt = compile_format("%Y-%m-%d")
    assert fmt.rolls_over("2021-02-30") and fmt.rolls_over("2021-13-01") and not fmt.rolls_over("2024-02-29")


@pytest.mark.parametrize("value,fmt,seen", [
    ("2021-01-01 00:00:00.5", "%Y-%m-%d %H:%M:%S.%L", "2021-01-01 00:00:00.500"),
    ("2021-01-01 00:00:00.123456", "%Y-%m-%d %H:%M:%S.%f", "2021-01-01 00:00:00.123"),
    ("03.02.2021", "%d.%m.%Y", "03.020.2021"),  # the UI's padding corrupts dotted dates
    ("2021-01-01T00:00:00.000Z", "%Y-%m-%dT%H:%M:%S.%L%Z", "2021-01-01T00:00:00.000000Z"),
    ("0930", "%H%M", "930"),  # numbers pass through JavaScript's Number
    ("", "%s", "0"),
])
def test_the_ui_rewrites_values_before_d3(value: str, fmt: str, seen: str) -> None:
    assert ui_value(value, fmt) == seen


def test_f_is_read_as_milliseconds_as_the_ui_does() -> None:
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    assert compile_format(fmt).parse(ui_value("2021-01-01 00:00:00.123456", fmt)) == ms(2021, 1, 1) + 123


@pytest.mark.parametrize("fmt,message", [
    ("%Y %k", "the labeling UI cannot parse '%k'"),
    ("%Y-%W", "week-based '%W'"),
    ("%Y %", "ends with a lone '%'"),
    ("  ", "time format is empty"),
])
def test_formats_refused_at_validation(fmt: str, message: str) -> None:
    with pytest.raises(TimeFormatError, match=message):
        check_time_format(fmt)


@pytest.mark.parametrize("fmt,text", [
    ("%Y-%m-%d %H:%M:%S", "2021-03-05 13:30:07"),
    ("%Y-%m-%dT%H:%M:%S.%L", "2021-03-05T13:30:07.250"),
    ("%Y-%m-%dT%H:%M:%S.%f", "2021-03-05T13:30:07.250000"),
    ("%s", "1614951007"), ("%Q", "1614951007250"),
    ("%-d/%-m/%y %I:%M %p", "5/3/21 01:30 PM"),
    ("%e %b %Y%Z", " 5 Mar 2021+0000"),
])
def test_format_as_d3_utc_format(fmt: str, text: str) -> None:
    assert format_ms(ms(2021, 3, 5, 13, 30, 7) + 250, fmt) == text


@pytest.mark.parametrize("value,expected", [
    ("2021-01-01T00:00:00-03:30", ms(2021, 1, 1, 3, 30)),  # Newfoundland: the minutes are behind UTC too
    ("2021-01-01T00:00:00-0330", ms(2021, 1, 1, 3, 30)),
    ("2021-01-01T00:00:00+05:30", ms(2020, 12, 31, 18, 30)),
    ("2021-01-01T00:00:00-00:30", ms(2021, 1, 1, 0, 30)),
])
def test_a_half_hour_zone_offset_keeps_its_sign_on_the_minutes(value: str, expected: float) -> None:
    """d3 reads ``-03:30`` as -(3 h 30 min), never -3 h + 30 min."""
    assert compile_format("%Y-%m-%dT%H:%M:%S%Z").parse(value) == expected
