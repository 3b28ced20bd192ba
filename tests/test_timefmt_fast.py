"""timefmt's shared number and date rules: JavaScript's ``+cell`` and the column-wise date fast path."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from lsts_sync.ui.timefmt import compile_format, fixed_width_ms, js_number, padded_ms, padded_shape, ui_value


def test_js_number_reads_decimal_notation_only() -> None:
    assert [js_number(v) for v in ("1", " -2.5 ", ".5", "5.", "1e3", "+1E-2")] == [1.0, -2.5, 0.5, 5.0, 1000.0, 0.01]
    assert [js_number(v) for v in ("", " ", "1,5", "0x10", "Infinity", "1e", "e3")] == [None] * 7
    assert js_number("1e999") == float("inf")
    assert ui_value(" ", "%Y") == "0" and ui_value("0930", "%H%M") == "930"


def test_the_fast_path_takes_only_formats_it_reproduces() -> None:
    assert padded_shape("%Y-%m-%d %H:%M:%S") == r"\d{4}\-\d\d\-\d\d\ \d\d:\d\d:\d\d"
    for refused in ("", "%Y%m%d", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S.%L", "%Y-%j", "%-m/%d/%Y"):
        assert padded_shape(refused) is None, refused


def test_the_fast_path_answers_as_d3_or_not_at_all() -> None:
    fmt = "%Y-%m-%d %H:%M:%S"
    values = ["2021-01-01 00:00:00", "2021-01-01 00:00:01"]
    parser = compile_format(fmt)
    assert list(padded_ms(values, fmt)) == [parser.parse(v) for v in values]
    assert list(padded_ms(pd.Series(values), fmt)) == [parser.parse(v) for v in values]
    assert padded_ms(["2021-02-30 00:00:00"], fmt) is None  # d3 rolls over to 2 March; pandas refuses
    assert padded_ms(["2021-1-01 00:00:00"], fmt) is None  # d3 reads it, but not with this shape
    assert padded_ms([], fmt) is None
    assert padded_ms(values, "%Y%m%d") is None
    assert padded_ms(values, fmt).dtype == np.float64


def fields(rng: random.Random) -> dict[str, str]:
    year = rng.choice([1600, 1677, 1678, 1900, 2000, 2020, 2021, 2100, 2261, 2262, rng.randint(1678, 2261)])
    return {"Y": f"{year:04d}", "m": f"{rng.randint(0, 13):02d}", "d": f"{rng.randint(0, 32):02d}",
            "H": f"{rng.randint(0, 24):02d}", "M": f"{rng.randint(0, 60):02d}", "S": f"{rng.randint(0, 60):02d}"}


def written(fmt: str, given: dict[str, str]) -> str:
    text = fmt.replace("%%", "\x01")
    for letter, value in given.items():
        text = text.replace("%" + letter, value)
    return text.replace("\x01", "%")


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M", "%H:%M:%S", "%Y%m%dT%H%M%S", "%Y-%m-%d",
                                 "Y%Y %%%m", "%Y年%m月%d日"])
def test_the_fixed_width_digits_give_padded_ms_or_nothing(fmt: str) -> None:
    """Random values of the format, days and months out of range, years out of pandas' range: where
    fixed_width_ms answers, padded_ms gives the same numbers (and it answers for most)."""
    rng = random.Random(fmt)
    answered = 0
    for _ in range(300):
        values = [written(fmt, fields(rng)) for _ in range(rng.randint(1, 4))]
        chars = np.frombuffer("".join(values).encode(), dtype=np.uint8).reshape(len(values), -1)
        fast = fixed_width_ms(chars, fmt)
        if fast is not None:
            answered += 1
            assert list(fast) == list(padded_ms(values, fmt)), values
    assert answered > 30


@pytest.mark.parametrize("fmt, values", [
    ("%Y-%m-%d", ["2021-02-29"]),  # not a day of February 2021: pandas refuses it
    ("%Y-%m-%d", ["2021-13-01"]),
    ("%Y-%m-%d %H:%M:%S", ["2021-01-01 00:00:60"]),  # pandas reads it; d3 too; left to them
    ("%Y-%m-%d", ["1677-12-31"]),  # outside pandas' nanosecond range
    ("%Y-%m-%d", ["2021-01-0a"]),
    ("%Y-%m-%d", ["2021/01/01"]),
    ("%Y%m%d", ["20210101"]),  # all digits: the UI reads a number
    ("%Y-%m-%d %H:%M:%S.%L", ["2021-01-01 00:00:00.000"]),
])
def test_what_fixed_width_ms_does_not_answer(fmt: str, values: list[str]) -> None:
    chars = np.frombuffer("".join(values).encode(), dtype=np.uint8).reshape(len(values), -1)
    assert fixed_width_ms(chars, fmt) is None


def test_fixed_width_ms_needs_every_value_one_width() -> None:
    assert fixed_width_ms(np.zeros((0, 10), dtype=np.uint8), "%Y-%m-%d") is None
    assert fixed_width_ms(np.frombuffer(b"2021-01-01", dtype=np.uint8).reshape(1, 10), "%Y-%m-%d %H") is None
    ms = fixed_width_ms(np.frombuffer(b"2021-01-012024-02-29", dtype=np.uint8).reshape(2, 10), "%Y-%m-%d")
    assert list(ms) == [1609459200000.0, 1709164800000.0]
