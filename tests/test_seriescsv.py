"""seriescsv: the series CSV as the labeling UI reads it (no servers)."""

from __future__ import annotations

from lsts_sync.ui import seriescsv


def test_rows_are_trimmed_numbered_lines_without_blanks_or_a_byte_order_mark() -> None:
    text = '\ufeff"T", v \r\n\n  2021,1\r\n2022,2'
    assert seriescsv.rows(text) == [(1, '"T", v'), (3, "2021,1"), (4, "2022,2")]
    assert seriescsv.rows(text, complete=False) == [(1, '"T", v'), (3, "2021,1")]  # the cut last line left out
    assert seriescsv.rows("one line", complete=False) == [(1, "one line")]


def test_header_names_keep_quotes_spaces_and_case() -> None:
    assert seriescsv.header('\n"T", v ;x\n1,2\n', ",") == ['"T"', " v ;x"]
    assert seriescsv.header(" \n", ",") == []
    assert [seriescsv.name_key(n) for n in ('"T"', " V")] == ['"t"', " v"]
    assert [seriescsv.loose_name(n) for n in ('"T"', ' " V " ')] == ["T", "V"]


def test_a_header_is_seen_only_when_some_column_differs_in_being_a_number() -> None:
    assert seriescsv.sees_header(["t", "1"], ["2", "3"])
    assert not seriescsv.sees_header(["1", "2"], ["3", " "])  # a blank cell is 0 to JavaScript
    assert seriescsv.sees_header(["t"], None)
    assert not seriescsv.sees_header(["", "2"], ["3"])  # a missing cell counts as blank
    assert [seriescsv.is_nan(c) for c in ("", "1e3", "x", "1e999")] == [False, False, True, True]
