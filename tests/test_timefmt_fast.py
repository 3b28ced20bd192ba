"""timefmt's shared number and date rules: JavaScript's ``+cell`` and the column-wise date fast path."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lsts_sync.ui.timefmt import compile_format, js_number, padded_ms, padded_shape, ui_value


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
