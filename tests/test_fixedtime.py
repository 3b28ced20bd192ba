"""fixedtime: many times parsed and written at once, value for value as timefmt's scalar d3 rules."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from lsts_sync.ui.fixedtime import END_MS, FIRST_MS, layout, parse_fixed, write_fixed
from lsts_sync.ui.timefmt import compile_format, format_ms, ui_value

RNG = np.random.default_rng(2024)


def ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


EDGES = [FIRST_MS, END_MS - 1, 0, -1, 1, ms(2000, 2, 29, 23, 59, 59) + 999, ms(2000, 3, 1), ms(1900, 3, 1),
         ms(1969, 12, 31, 12), ms(9999, 12, 31), ms(1, 12, 31, 23, 59), ms(2026, 1, 1, 6)]


def times(count: int) -> np.ndarray:
    """Whole milliseconds over years 1 to 9999, near 1970, and the edges (leap days, year ends, 0)."""
    wide = RNG.integers(FIRST_MS, END_MS, count)
    near = RNG.integers(-10**12, 3 * 10**12, count)
    return np.concatenate([wide, near, EDGES]).astype(np.float64)


def dense(count: int) -> np.ndarray:
    """Ascending times a few days long across a leap day, many per day (each date is worked out once)."""
    return np.sort(ms(2024, 2, 27) + RNG.integers(0, 4 * 86_400_000, count)).astype(np.float64)


def matrix(values: list[str]) -> np.ndarray:
    return np.frombuffer("".join(values).encode(), np.uint8).reshape(len(values), -1)


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M", "%Y%m%dT%H%M%S", "%Y-%m-%dT%H:%M:%S.%LZ",
                                 "%y%j %I:%M:%S %p", "%e %m %Y %H%%", "%Y-%m-%dT%H:%M:%S%Z", "%H:%M:%S.%f",
                                 "%Y年%m月%d日"])
def test_write_fixed_writes_what_format_ms_writes(fmt: str) -> None:
    stamps = times(3000)
    block = write_fixed(stamps, fmt)
    assert [bytes(row).decode() for row in block] == [format_ms(float(v), fmt) for v in stamps]
    ordered = dense(3000)
    assert [bytes(row).decode() for row in write_fixed(ordered, fmt)] == [format_ms(float(v), fmt) for v in ordered]


@pytest.mark.parametrize("fmt", ["%-d/%m/%Y", "%_d", "%Q", "%s", "%b %Y", "%x", "%A", "", "%"])
def test_write_fixed_takes_only_fixed_width_formats(fmt: str) -> None:
    assert layout(fmt) is None and write_fixed(np.array([0.0]), fmt) is None


def test_write_fixed_refuses_what_format_ms_cannot_write_or_would_round() -> None:
    fmt = "%Y-%m-%d %H:%M:%S"
    for bad in ([1.5], [float("nan")], [END_MS], [FIRST_MS - 1], []):
        assert write_fixed(np.array(bad, np.float64), fmt) is None, bad


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M", "%Y%m%dT%H%M%S", "%H:%M %d-%m", "%Y-%m",
                                 "%Y-%m-%dT%H:%M:%SZ"])
def test_parse_fixed_reads_what_d3_reads(fmt: str) -> None:
    parser = compile_format(fmt)
    written = write_fixed(times(2000), fmt)
    anything = written.copy()  # any digits at all: months 00 or 99, days 45, hours 24+: d3 rolls them over
    digits = [i for i in range(written.shape[1]) if all(chr(b).isdigit() for b in written[:200, i])]
    anything[:, digits] = RNG.integers(48, 58, (len(anything), len(digits)))
    for block in (written, write_fixed(dense(3000), fmt), anything):
        expected = [parser.parse(ui_value(bytes(row).decode(), fmt)) for row in block]
        assert list(parse_fixed(block, fmt)) == expected


def test_parse_fixed_answers_only_for_the_exact_shape() -> None:
    fmt = "%Y-%m-%d %H:%M:%S"
    assert parse_fixed(matrix(["2021-01-01 00:00:00", "2021-01-01 00:00:01"]), fmt) is not None
    for values in (["2021-01-01 00:00:0x"], ["2021-01-01T00:00:00"], ["2021-01-01 00:00: 1"], ["2021/01/01 00:00:00"]):
        assert parse_fixed(matrix(values), fmt) is None, values
    assert parse_fixed(matrix(["2021-1-01 00:00:00"]), fmt) is None  # another width: d3 reads it, not this path
    assert parse_fixed(np.zeros((0, 19), np.uint8), fmt) is None


@pytest.mark.parametrize("fmt, value", [
    ("%Y%m%d", "20210101"),  # all digits: the UI first reads it as a number
    (" %Y%m%d", " 20210101"),  # a number too, once trimmed
    ("%Ye%m", "2021e01"),  # 2021e01 is a number in JavaScript
    ("%d.%m.%Y", "01.02.2021"),  # the UI pads the first '.digits' group
    ("%Y-%m-%d %Y", "2021-01-01 2021"),  # a field given twice
    ("%Y-%j", "2021-032"),  # not a padded_shape directive
])
def test_parse_fixed_refuses_formats_whose_values_the_ui_rewrites(fmt: str, value: str) -> None:
    assert parse_fixed(matrix([value]), fmt) is None


def test_without_rollover_a_day_or_month_out_of_range_gives_none() -> None:
    fmt = "%Y-%m-%d %H:%M:%S"
    parser = compile_format(fmt)
    for values in (["2021-02-28 00:00:00", "2021-02-29 00:00:00"], ["2021-13-01 00:00:00"], ["2021-00-10 00:00:00"]):
        assert any(parser.rolls_over(v) for v in values)
        assert parse_fixed(matrix(values), fmt, rollover=False) is None
        assert list(parse_fixed(matrix(values), fmt)) == [parser.parse(v) for v in values]
    kept = ["2020-02-29 00:00:00", "2021-01-01 24:00:00"]  # a leap day; an hour past 23 is no rollover to d3
    assert not any(parser.rolls_over(v) for v in kept)
    assert list(parse_fixed(matrix(kept), fmt, rollover=False)) == [parser.parse(v) for v in kept]
    assert parse_fixed(matrix(["29/02"]), "%d/%m", rollover=False) is None  # no year: 1900, no leap year
