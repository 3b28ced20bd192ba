"""scan_csv: the CSV as the labeling UI reads it, one finding per kind with its row (no servers)."""

from __future__ import annotations

import pytest

from lsts_sync.data.datachecks import scan_csv
from lsts_sync.spec.models import ProjectSpec

URL = "s3://b/k.csv"


def project(time_format: str | None = "%Y-%m-%d %H:%M:%S", sep: str = ",") -> ProjectSpec:
    return ProjectSpec.model_validate({
        "kind": "Project", "name": "p", "instance": "i",
        "timeseries": {"time_column": "timestamp", "time_format": time_format, "sep": sep,
                       "channels": [{"column": "vibration"}, {"column": "temperature"}]},
        "labels": [{"value": "A"}]})


GOOD = "timestamp,vibration,temperature\n2021-01-01 00:00:00,1,2\n2021-01-01 00:01:00,1,2\n"


def lines(text: str, **kwargs) -> list[str]:
    return [str(f) for f in scan_csv(project(**kwargs), URL, text)]


def test_good_csv_has_no_findings() -> None:
    assert scan_csv(project(), URL, GOOD) == []
    assert scan_csv(project(), URL, GOOD.replace("\n", "\r\n")) == []


def test_missing_channel_names_key_row_and_column() -> None:
    (line,) = lines(GOOD.replace("temperature", "temp"))
    assert line.startswith(f"{URL}:1: channel 'temperature' is not in the header")


def test_case_difference_is_fine_and_spaces_an_error() -> None:
    assert scan_csv(project(), URL, GOOD.replace("vibration", "Vibration")) == []
    assert lines(GOOD.replace("vibration", "vibration ", 1)) == [
        f"{URL}:1: header name 'vibration ' has spaces around it: the labeling UI does not trim names, so it does "
        "not match channel 'vibration'"]


def test_quoted_names_a_wrong_separator_and_no_header_are_errors() -> None:
    assert scan_csv(project(), URL, "\ufeff" + GOOD) == []  # the browser drops a byte order mark
    quoted = GOOD.replace("vibration", '"vibration"', 1)
    assert lines(quoted) == [f"{URL}:1: header name '\"vibration\"' is quoted: the labeling UI keeps the quotes, "
                             "so it does not match channel 'vibration'"]
    semi = GOOD.replace(",", ";")
    assert lines(semi) == [f"{URL}:1: the header has no ',' (timeseries.sep); the separator looks like ';': the "
                           "labeling UI cannot split it"]
    numeric = "1,2,3\n4,5,6\n"
    assert lines(numeric, time_format=None) == [f"{URL}:1: the labeling UI does not see a header: no column of row 1 "
                                                "differs from row 2 in being a number"]


def test_rows_wider_than_the_header_break_the_chart() -> None:
    findings = scan_csv(project(), URL, GOOD + "2021-01-01 00:02:00,1,2,3\n2021-01-01 00:03:00,1\n")
    assert [(f.row, f.error) for f in findings] == [(4, True), (5, False), (5, False)]
    assert findings[0].message == "4 columns, more than the header's 3: the chart fails to load"


def test_every_bad_row_is_counted_and_the_first_is_named() -> None:
    text = GOOD + "2021-01-01 00:02:00,1,2\n01/01/2021 00:03,1,2\n2021-01-01 00:04:00,1,2\nbad,1,2\n"
    assert lines(text) == [f"{URL}:5: time '01/01/2021 00:03' does not match time_format '%Y-%m-%d %H:%M:%S' "
                           "(and 1 more row(s))"]


def test_order_duplicates_and_rollover() -> None:
    back = GOOD + "2021-01-01 00:00:30,1,2\n"
    assert lines(back) == [f"{URL}:4: time '2021-01-01 00:00:30' is before the row before: the time column must ascend"]
    dup = GOOD + "2021-01-01 00:01:00,1,2\n"
    (finding,) = scan_csv(project(), URL, dup)  # the UI allows equal times: a warning
    assert not finding.error and str(finding) == f"{URL}:4: time '2021-01-01 00:01:00' is the same as the row before"
    (finding,) = scan_csv(project(), URL, GOOD + "2021-02-30 00:00:00,1,2\n")
    assert not finding.error and finding.row == 4 and "out of range" in finding.message


def test_empty_and_text_cells_are_warnings() -> None:
    findings = scan_csv(project(), URL, GOOD + "2021-01-01 00:02:00,,2\n2021-01-01 00:03:00,1,hot\n")
    assert [(f.row, f.error, f.message) for f in findings] == [
        (4, False, "channel 'vibration' is empty (drawn as 0)"),
        (5, False, "channel 'temperature' value 'hot' is not a number")]


def test_values_are_rewritten_as_the_ui_does_before_parsing() -> None:
    """The UI pads the first '.digits' to 3 digits: '03.02.2021' becomes '03.020.2021' and fails."""
    text = "timestamp,vibration,temperature\n03.02.2021,1,1\n04.02.2021,1,1\n"
    assert lines(text, time_format="%d.%m.%Y")[0].startswith(f"{URL}:2: time '03.02.2021' does not match")
    micro = "timestamp,vibration,temperature\n2021-01-01 00:00:00.123456,1,1\n2021-01-01 00:00:00.5,1,1\n"
    assert scan_csv(project("%Y-%m-%d %H:%M:%S.%f"), URL, micro) == []


def test_numbers_and_epoch_formats() -> None:
    assert scan_csv(project(None), URL, "timestamp,vibration,temperature\n1,1,1\n2.5,1,1\n") == []
    assert "a number (no time_format)" in lines(GOOD, time_format=None)[0]
    assert scan_csv(project("%s"), URL, "timestamp,vibration,temperature\n1609459200,1,1\n1609459260,1,1\n") == []
    assert scan_csv(project("%Y-%m-%dT%H:%M:%S.%L%Z"), URL,
                    "timestamp,vibration,temperature\n2021-01-01T00:00:00.000+00:00,1,1\n"
                    "2021-01-01T00:00:00.5+00:00,1,1\n") == []


def test_milliseconds_before_a_z_break_as_in_the_ui() -> None:
    """The UI's padding regex needs a word boundary after the digits: '.000Z' becomes '.000000Z'."""
    text = "timestamp,vibration,temperature\n2021-01-01T00:00:00.000Z,1,1\n"
    (line,) = lines(text, time_format="%Y-%m-%dT%H:%M:%S.%L%Z")
    assert line.startswith(f"{URL}:2: time '2021-01-01T00:00:00.000Z' does not match")


def test_mixed_zones_warn() -> None:
    text = "timestamp,vibration,temperature\n2021-01-01T01:00:00+01:00,1,1\n2021-01-01T03:00:00+02:00,1,1\n"
    findings = scan_csv(project("%Y-%m-%dT%H:%M:%S%Z"), URL, text)
    assert [(f.error, f.message) for f in findings] == [(False, (
        "time values mix time zones (+01:00, +02:00), as local times across a daylight-saving change do: each value's "
        "offset is applied, so the chart places every time at its instant; nothing is wrong"))]


def test_zones_further_apart_than_an_hour_say_to_check_the_offsets() -> None:
    text = "timestamp,vibration,temperature\n2021-01-01T01:00:00+01:00,1,1\n2021-01-01T08:00:00+05:00,1,1\n"
    findings = scan_csv(project("%Y-%m-%dT%H:%M:%S%Z"), URL, text)
    assert [(f.error, f.message) for f in findings] == [(False, (
        "time values mix time zones (+01:00, +05:00), more than a daylight-saving hour apart: each value's offset is "
        "applied, so the chart places every time at its instant; check that the offsets are the data's own"))]


@pytest.mark.parametrize("time_format, value, why", [
    ("%d.%m.%Y", "30.06.1971", "the labeling UI pads the first '.digits' group to 3 digits, so it reads "
     "'30.060.1971'; a '.' works only before %L: use another separator, e.g. time_format '%d-%m-%Y' (and write the "
     "data so)"),
    ("%Y-%m-%dT%H:%M:%S.%LZ", "1971-06-30T00:00:00.000Z", "the labeling UI pads a '.digits' group only where no "
     "letter follows it, so it reads '1971-06-30T00:00:00.000000Z'; write the zone as '+00:00' (time_format ending "
     "'%L%Z') or leave the 'Z' out (times are UTC)"),
    ("%s", "-631152000", "%s and %Q read no sign, so they hold no time before 1970; write such times with a date "
     "format, e.g. '%Y-%m-%d %H:%M:%S'"),
    ("%s", "9000000000000", "it is outside JavaScript's Date range (±8.64e15 ms from 1970), which the chart cannot "
     "place (milliseconds in a %s column? use %Q)"),
    ("%Q", "-8640000000000001", "%s and %Q read no sign, so they hold no time before 1970; write such times with a "
     "date format, e.g. '%Y-%m-%d %H:%M:%S'"),
    ("%Q", "8640000000000001", "it is outside JavaScript's Date range (±8.64e15 ms from 1970), which the chart cannot "
     "place"),
])
def test_a_time_the_ui_cannot_read_says_why_and_what_to_write(time_format: str, value: str, why: str) -> None:
    text = f"timestamp,vibration,temperature\n{value},1,1\n"
    assert lines(text, time_format=time_format) == [
        f"{URL}:2: time {value!r} does not match time_format {time_format!r}: {why}"]


def test_a_time_after_year_9999_warns_that_it_cannot_be_exported() -> None:
    text = "timestamp,vibration,temperature\n1600000000000,1,1\n"
    findings = scan_csv(project("%s"), URL, text)
    assert [(f.error, f.message) for f in findings] == [(False, (
        "time '1600000000000' is after year 9999: lsts-sync cannot export it (milliseconds in a %s column? use %Q)"))]


def test_a_cut_last_line_of_a_partial_read_is_ignored() -> None:
    cut = GOOD + "2021-01-01 00:0"
    assert scan_csv(project(), URL, cut, complete=False) == []
    assert f"{URL}:4: time '2021-01-01 00:0' does not match time_format '%Y-%m-%d %H:%M:%S'" in lines(cut)


def test_too_many_rows_warn() -> None:
    (finding,) = scan_csv(project(), URL, GOOD, max_rows=1)
    assert not finding.error and finding.message.startswith("2 rows: above 1")


def big(rows: int = 12_000) -> str:
    """About 400 KB: large enough for the column-wise path, which may only say "clean"."""
    body = [f"2021-01-{1 + i // 86400:02d} {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d},{i % 7},{i % 5}"
            for i in range(rows)]
    return "timestamp,vibration,temperature\n" + "\n".join(body) + "\n"


def test_large_objects_give_the_same_findings_as_small_ones() -> None:
    text = big()
    assert len(text) > 262_144 and scan_csv(project(), URL, text) == []
    defects = {
        "2021-01-01 00:00:09,2,4": ("2021-01-01 00:00:07,2,4", f"{URL}:11: time '2021-01-01 00:00:07' is before"),
        "2021-01-01 00:00:10,3,0": ("2021-01-01 00:00:10,3,0,9", f"{URL}:12: 4 columns, more than the header's 3"),
        "2021-01-01 00:00:11,4,1": ("2021-01-01 00:00:11,,1", f"{URL}:13: channel 'vibration' is empty"),
        "2021-01-01 00:00:12,5,2": ("2021-01-01 00:00:12,5,x", f"{URL}:14: channel 'temperature' value 'x'"),
        "2021-01-01 00:00:13,6,3": ("2021-01-01 00:00:13.5,6,3", f"{URL}:15: time '2021-01-01 00:00:13.5' does not"),
    }
    for good, (bad, expected) in defects.items():
        found = [str(f) for f in scan_csv(project(), URL, text.replace(good, bad, 1))]
        assert len(found) == 1 and found[0].startswith(expected), (bad, found)
    unpadded = text.replace("2021-01-01 00:00:14,0,4", "2021-01-01 0:00:14,0,4", 1)
    assert scan_csv(project(), URL, unpadded) == []  # d3 reads one-digit hours: not a finding


def test_an_all_quoted_csv_and_a_decimal_comma_csv_say_why_no_header_is_seen() -> None:
    quoted = '"timestamp","vibration","temperature"\n"2021-01-01 00:00:00","1","2"\n'
    assert lines(quoted) == [f"{URL}:1: the labeling UI does not see a header: no column of row 1 differs from row 2 "
                             "in being a number: row 2's cells are quoted (\"2021-01-01 00:00:00\") and the labeling "
                             "UI keeps the quotes, so none reads as a number; write the data without quotes"]
    comma = "timestamp;vibration;temperature\n2021-01-01 00:00:00;1,5;2,25\n"
    assert lines(comma, sep=";") == [f"{URL}:1: the labeling UI does not see a header: no column of row 1 differs "
                                     "from row 2 in being a number: row 2 writes numbers with a decimal comma ('1,5'), "
                                     "which the labeling UI reads as text; write a decimal point (1.5)"]


def exact(text: str, max_rows: int = 10**6) -> list:
    """The row-by-row scan alone (the column-wise path turned off)."""
    from lsts_sync.data.datachecks import _scan_text

    return _scan_text(project(), URL, text, True, max_rows)


SMALL = big(300)  # 00:00:00 to 00:04:59; the tests below lower FAST_BYTES so the column-wise path is tried
LAST = "2021-01-01 00:04:59"
VARIANTS = {  # each a change to SMALL: the column-wise path must agree with the exact scan on all of them
    "clean": lambda t: t,
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "a lone carriage return": lambda t: t.replace("00:00:05,5,0\n", "00:00:05,5,0\r"),
    "a byte order mark": lambda t: "\ufeff" + t,
    "empty lines": lambda t: t.replace("\n", "\n\n", 30),
    "a blank line of spaces": lambda t: t.replace("00:00:05,5,0\n", "00:00:05,5,0\n   \n"),
    "a trailing space": lambda t: t.replace("00:00:05,5,0\n", "00:00:05,5,0 \n"),
    "a leading space": lambda t: t.replace("\n2021-01-01 00:00:05", "\n 2021-01-01 00:00:05"),
    "no final newline": lambda t: t.rstrip("\n"),
    "a quoted number": lambda t: t.replace("00:00:05,5,0", '00:00:05,"5",0'),
    "an infinite number": lambda t: t.replace("00:00:05,5,0", "00:00:05,inf,0"),
    "nan": lambda t: t.replace("00:00:05,5,0", "00:00:05,NaN,0"),
    "1e400": lambda t: t.replace("00:00:05,5,0", "00:00:05,1e400,0"),
    "an arabic digit": lambda t: t.replace("00:00:05,5,0", "00:00:05,\u0665,0"),
    "a number with spaces": lambda t: t.replace("00:00:05,5,0", "00:00:05, 5 ,0"),
    "an empty cell": lambda t: t.replace("00:00:05,5,0", "00:00:05,,0"),
    "a rollover": lambda t: t.replace("2021-01-01 00:00:05", "2021-02-30 00:00:05"),
    "a rollover that still ascends": lambda t: t.replace(LAST, "2021-01-32 00:00:00"),  # 1 February: a warning
    "hour 24": lambda t: t.replace(LAST, "2021-01-01 24:00:00"),  # the next day to d3: no finding
    "a year after 9999": lambda t: t.replace(LAST, "9999-12-32 00:00:00"),
    "after 9999 by the hour": lambda t: t.replace(LAST, "9999-12-31 24:00:00"),  # no rollover: a warning still
    "an equal time": lambda t: t.replace("2021-01-01 00:00:05", "2021-01-01 00:00:04"),
    "one digit": lambda t: t.replace("2021-01-01 00:00:05", "2021-01-01 0:00:05"),
    "an extra column": lambda t: t.replace("00:00:05,5,0", "00:00:05,5,0,1"),
    "a missing column": lambda t: t.replace("00:00:05,5,0", "00:00:05,5"),
    "an invalid byte": lambda t: t.replace("00:00:05,5,0", "00:00:05,5\udcff,0"),
    "a header in capitals": lambda t: t.replace("vibration", "VIBRATION", 1),
    "a header with a quoted name": lambda t: t.replace("vibration", '"vibration"', 1),
    "no such channel": lambda t: t.replace("temperature", "temp", 1),
    "the time column last": lambda t: "\n".join(",".join(line.split(",")[1:] + line.split(",")[:1])
                                                for line in t.split("\n")),
    "a time column also read as a channel": lambda t: t.replace("vibration", "timestamp", 1),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_the_column_wise_path_finds_what_the_exact_scan_finds(monkeypatch, name: str) -> None:
    from lsts_sync.data.datachecks import scan_object

    monkeypatch.setattr("lsts_sync.data.datachecks.FAST_BYTES", 1000)
    data = VARIANTS[name](SMALL).encode("utf-8", "surrogateescape")  # (an invalid byte stays one)
    decoded = data.decode("utf-8", errors="replace")
    for max_rows in (10**6, 100):
        assert scan_object(project(), URL, data, max_rows=max_rows) == exact(decoded, max_rows)
        assert scan_csv(project(), URL, decoded, max_rows=max_rows) == exact(decoded, max_rows)


def test_the_column_wise_path_clears_a_clean_object_and_nothing_else() -> None:
    from lsts_sync.data.datachecks import column_wise

    data = SMALL.encode()
    assert column_wise(project(), URL, data, 10**6) == [] == exact(SMALL)
    assert column_wise(project(), URL, data, 100) == exact(SMALL, 100) != []  # the row count's warning
    for name in ("a rollover", "a rollover that still ascends", "an equal time", "an empty cell", "an extra column", "one digit", "a lone carriage return",
                 "a year after 9999", "after 9999 by the hour", "nan"):
        assert column_wise(project(), URL, VARIANTS[name](SMALL).encode(), 10**6) is None, name


def test_the_column_wise_path_does_not_load_pandas() -> None:
    """pandas costs about 0.2 s to import, in the middle of check's reads: the path that clears
    most objects must not need it (Arrow's own to_numpy imports it)."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\n"
            "from lsts_sync.data.datachecks import column_wise\n"
            "from tests.test_datachecks import SMALL, URL, project\n"
            "assert column_wise(project(), URL, SMALL.encode(), 10**6) == []\n"
            "print('pandas' in sys.modules)\n")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[1])  # where ``tests`` imports from
    assert found.stdout.strip() == "False"
