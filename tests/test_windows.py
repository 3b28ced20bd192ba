"""The windowing module: how objects are cut (duration and row windows, overlap, alignment), what
a window file holds, Parquet sources, and the errors that would make a window miss rows."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.data.windows import ObjectReader, cut, fingerprint
from lsts_sync.spec.models import ProjectSpec

START = datetime(2026, 1, 1, tzinfo=UTC)


def project(window: dict | None, *, fmt: str | None = "%Y-%m-%d %H:%M:%S", source_format: str | None = None,
            channels=("v",)) -> ProjectSpec:
    source = {"bucket": "data", "prefix": "raw/", "format": source_format or "csv"}
    if window is not None:
        source["window"] = window
    ts = {"time_column": "Time", "channels": [{"column": c} for c in channels]}
    if fmt:
        ts["time_format"] = fmt
    return ProjectSpec(kind="Project", name="p", instance="local", source=source, timeseries=ts,
                       labels=[{"value": "A"}])


def minutes(n: int, start: datetime = START) -> list[str]:
    return [(start + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(n)]


def reader(data: bytes) -> ObjectReader:
    return ObjectReader(lambda: io.BytesIO(data), lambda start, n: data[start:start + n], len(data))


def csv_of(times: list[str]) -> bytes:
    return ("time,v,other\n" + "".join(f"{t},{i},x\n" for i, t in enumerate(times))).encode()


def windows(spec: ProjectSpec, data: bytes, key: str = "raw/a.csv"):
    return list(cut(spec, reader(data), key, f"s3://data/{key}"))


def test_duration_windows_are_aligned_to_the_epoch_and_extend_by_the_overlap() -> None:
    # 03:00 to 15:00: the first window is the one that starts at 00:00 (aligned, not at the first row)
    found = windows(project({"duration": "6h", "overlap": "10m"}), csv_of(minutes(12 * 60, START + timedelta(hours=3))))
    assert [w.name for w, _ in found] == ["20260101T000000Z", "20260101T060000Z", "20260101T120000Z"]
    first, body = found[0]
    lines = body.decode().splitlines()
    assert lines[0] == "time,v"  # the template's names: time column and channels, lowercased; other columns left out
    assert lines[1] == "2026-01-01 03:00:00,0"
    assert lines[-1] == "2026-01-01 06:09:00,189"  # ten minutes of overlap past 06:00
    assert first.rows == 190
    assert found[1][1].decode().splitlines()[1] == "2026-01-01 06:00:00,180"
    assert found[2][0].rows == 180  # the last window: its overlap lies past the object's end


def test_overlap_rows_alone_make_no_window() -> None:
    # the object starts at 06:05: the 00:00 window would hold only overlap rows
    found = windows(project({"duration": "6h", "overlap": "10m"}), csv_of(minutes(60, START + timedelta(hours=6, minutes=5))))
    assert [w.name for w, _ in found] == ["20260101T060000Z"]


def test_row_windows_count_from_the_first_row() -> None:
    found = windows(project({"rows": 100, "overlap_rows": 10}, fmt=None), csv_of([str(i) for i in range(250)]))
    assert [(w.name, w.rows) for w, _ in found] == [("rows-000000000000", 110), ("rows-000000000100", 110),
                                                    ("rows-000000000200", 50)]
    assert found[1][1].decode().splitlines()[1] == "100,100"


def test_windows_are_the_same_whatever_the_chunking(monkeypatch) -> None:
    data = csv_of(minutes(3000))
    whole = [(w, b) for w, b in windows(project({"duration": "6h", "overlap": "30m"}), data)]
    monkeypatch.setattr("lsts_sync.data.windows.CSV_BLOCK", 4096)
    assert windows(project({"duration": "6h", "overlap": "30m"}), data) == whole
    assert len(whole) == 9


def test_appended_rows_leave_earlier_windows_byte_identical() -> None:
    spec = project({"duration": "6h", "overlap": "10m"})
    day = {w.name: w.md5 for w, _ in windows(spec, csv_of(minutes(24 * 60)))}
    two = {w.name: w.md5 for w, _ in windows(spec, csv_of(minutes(48 * 60)))}
    assert {n for n in day if day[n] == two[n]} == {"20260101T000000Z", "20260101T060000Z", "20260101T120000Z"}
    assert len(two) == 8


def test_md5_is_of_the_bytes_written() -> None:
    import hashlib

    for window, data in windows(project({"duration": "1h"}), csv_of(minutes(150))):
        assert window.md5 == hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("times, why", [
    (["2026-01-01 00:00:00", "2026-01-01 00:02:00", "2026-01-01 00:01:00"], "row 4: the time is before the row before"),
    (["2026-01-01 00:00:00", "yesterday"], "row 3: the time does not parse"),
])
def test_a_time_that_goes_back_or_does_not_parse_is_an_error_naming_the_row(times, why) -> None:
    with pytest.raises(LstsError, match=why):
        windows(project({"duration": "6h"}), csv_of(times))


def test_a_missing_column_names_the_object() -> None:
    with pytest.raises(LstsError, match=r"s3://data/raw/a.csv: no column 'w'"):
        windows(project({"duration": "6h"}, channels=("v", "w")), csv_of(minutes(3)))


def parquet_of(stamps, values) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"Time": stamps, "V": values}), out, row_group_size=64)
    return out.getvalue()


def test_parquet_timestamps_are_written_in_the_time_format() -> None:
    stamps = pa.array([START + timedelta(minutes=i) for i in range(600)], pa.timestamp("ms", tz="UTC"))
    found = windows(project({"duration": "6h"}, source_format="parquet"), parquet_of(stamps, [float(i) for i in range(600)]),
                    "raw/a.parquet")
    assert [w.name for w, _ in found] == ["20260101T000000Z", "20260101T060000Z"]
    lines = found[1][1].decode().splitlines()
    assert lines[:2] == ["time,v", "2026-01-01 06:00:00,360"]


def test_parquet_text_times_and_a_format_with_milliseconds() -> None:
    fmt = "%Y-%m-%dT%H:%M:%S.%L"
    stamps = pa.array([START + timedelta(seconds=i, milliseconds=250) for i in range(5)], pa.timestamp("ms"))
    found = windows(project({"rows": 3}, fmt=fmt, source_format="parquet"), parquet_of(stamps, list(range(5))),
                    "raw/a.parquet")
    assert found[0][1].decode().splitlines()[1] == "2026-01-01T00:00:00.250,0"
    text = pa.array([(START + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(5)])
    found = windows(project({"rows": 3}, source_format="parquet"), parquet_of(text, list(range(5))), "raw/a.parquet")
    assert found[0][1].decode().splitlines()[1] == "2026-01-01 00:00:00,0"


def test_a_whole_object_is_one_window_without_a_window_spec() -> None:
    stamps = pa.array([START + timedelta(minutes=i) for i in range(10)], pa.timestamp("ms"))
    found = windows(project(None, source_format="parquet"), parquet_of(stamps, list(range(10))), "raw/a.parquet")
    assert [(w.name, w.rows) for w, _ in found] == [("all", 10)]


def test_fingerprint_changes_with_what_a_window_holds() -> None:
    base = fingerprint(project({"duration": "6h"}))
    assert fingerprint(project({"duration": "6h"})) == base
    assert fingerprint(project({"duration": "6h", "overlap": "1m"})) != base
    assert fingerprint(project({"duration": "6h"}, channels=("v", "w"))) != base


def test_check_reads_parquet_sources_timestamps_text_and_numeric_channels() -> None:
    from lsts_sync.data.windows import scan_parquet

    spec = project({"duration": "6h"}, source_format="parquet")
    stamps = pa.array([START + timedelta(minutes=i) for i in range(5)], pa.timestamp("ms"))
    assert scan_parquet(spec, "s3://data/a.parquet", parquet_of(stamps, [1.0] * 5)) == []
    text = pa.array(["2026-01-01 00:00:00", "2026-01-01 00:01:00", "soon"])
    (bad,) = scan_parquet(spec, "s3://data/a.parquet", parquet_of(text, [1.0] * 3))
    assert str(bad) == "s3://data/a.parquet:4: time soon does not match time_format '%Y-%m-%d %H:%M:%S'"
    back = pa.array([START, START + timedelta(minutes=2), START + timedelta(minutes=1)], pa.timestamp("ms"))
    (bad,) = scan_parquet(spec, "s3://data/a.parquet", parquet_of(back, [1.0] * 3))
    assert bad.row == 4 and "must ascend" in bad.message
    (bad,) = scan_parquet(spec, "s3://data/a.parquet", parquet_of(stamps, ["x"] * 5))
    assert bad.message == "channel 'v' is string, not a number: the chart draws numbers"
    (bad,) = scan_parquet(spec, "s3://data/a.parquet", b"not parquet")
    assert bad.message.startswith("not a Parquet file")


@pytest.mark.parametrize("fmt, first", [("%Y-%m-%dT%H:%M:%S", "2026-01-01T06:00:00"),
                                        ("%d/%m/%Y %H:%M", "01/01/2026 06:00")])
def test_parquet_timestamps_in_other_padded_formats(fmt, first) -> None:
    stamps = pa.array([START + timedelta(minutes=i) for i in range(400)], pa.timestamp("ms"))
    found = windows(project({"duration": "6h"}, fmt=fmt, source_format="parquet"), parquet_of(stamps, list(range(400))),
                    "raw/a.parquet")
    assert found[1][1].decode().splitlines()[1] == f"{first},360"


def test_a_day_out_of_range_rolls_over_as_the_chart_reads_it() -> None:
    # d3 reads 2026-02-30 as 2 March; Arrow's strptime refuses it, so the value-by-value parse decides
    found = windows(project({"duration": "1d"}), csv_of(["2026-02-28 00:00:00", "2026-02-30 00:00:00"]))
    assert [w.name for w, _ in found] == ["20260228T000000Z", "20260302T000000Z"]


# -- the column-wise fast paths give the reference bytes ----------------------------------------------

def reference(monkeypatch) -> None:
    """Turn the fast paths off: times parsed value by value and written by Arrow's strftime or
    format_ms, floats left to the CSV writer."""
    monkeypatch.setattr("lsts_sync.data.windows.parse_fixed", lambda *args, **kwargs: None)
    monkeypatch.setattr("lsts_sync.data.windows.write_fixed", lambda *args, **kwargs: None)
    monkeypatch.setattr("lsts_sync.data.windows.float_text", lambda column, sep: column)


def random_parquet(rng, unit: str, tz: str | None, rows: int = 3000) -> bytes:
    """Ascending times with sub-second parts (before and after 1970, some exactly on window
    boundaries), floats that repeat, floats that do not (with -0, NaN, infinities, tiny and huge
    values) and nulls."""
    step = {"s": 1, "ms": 1000, "us": 10**6, "ns": 10**9}[unit]
    start = -2 * 3600 * step  # 1969-12-31T22:00:00Z
    ticks = start + np.cumsum(rng.integers(1, 30 * step, rows))
    ticks[::97] = (ticks[::97] // (3600 * step)) * 3600 * step  # some on the hour: on a window's edge
    ticks = np.maximum.accumulate(ticks)
    ticks[1:] = np.maximum(ticks[1:], ticks[:-1] + 1)
    odd = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1e21, 1e-7, 123456789.125, -2.5])
    repeating = np.round(rng.normal(size=rows), 1)
    distinct = rng.normal(size=rows) * 10.0 ** rng.integers(-8, 12, rows)
    distinct[: len(odd)] = odd
    repeating[-len(odd):] = odd
    nulls = pa.array(np.where(np.arange(rows) % 53 == 0, np.nan, repeating), mask=np.arange(rows) % 53 == 0)
    table = pa.table({"Time": pa.array(ticks, pa.timestamp(unit, tz=tz)), "V": repeating, "W": distinct, "X": nulls})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=1000)
    return out.getvalue()


@pytest.mark.parametrize("unit, tz", [("s", None), ("ms", "UTC"), ("us", "Europe/Paris"), ("ns", None)])
@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%LZ", "%I:%M:%S %p %j"])
def test_parquet_windows_are_the_bytes_of_the_value_by_value_writers(monkeypatch, unit, tz, fmt) -> None:
    data = random_parquet(np.random.default_rng(7), unit, tz)
    spec = project({"duration": "1h", "overlap": "5m"}, fmt=fmt, source_format="parquet", channels=("v", "w", "x"))
    fast = windows(spec, data, "raw/a.parquet")
    reference(monkeypatch)
    assert windows(spec, data, "raw/a.parquet") == fast and len(fast) > 10


def test_csv_windows_are_those_of_the_value_by_value_parser(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    seconds = np.cumsum(rng.integers(1, 120, 4000))
    times = [(START + timedelta(seconds=int(s))).strftime("%Y-%m-%d %H:%M:%S") for s in seconds]
    times[1000] = times[1000].replace(" 0", " ", 1) if " 0" in times[1000] else times[1000]  # d3 reads one digit too
    spec = project({"duration": "6h", "overlap": "10m"})
    fast = windows(spec, csv_of(times))
    reference(monkeypatch)
    assert windows(spec, csv_of(times)) == fast and len(fast) > 10


def test_a_time_finer_than_a_millisecond_is_floored_to_it() -> None:
    stamps = pa.array(np.array(["1969-12-31T23:59:59.9999995", "2026-01-01T05:59:59.999999", "2026-01-01T06:00:00"],
                               dtype="datetime64[ns]"))
    found = windows(project({"duration": "6h"}, fmt="%Y-%m-%dT%H:%M:%S.%L", source_format="parquet"),
                    parquet_of(stamps, [1.0, 2.0, 3.0]), "raw/a.parquet")
    assert [(w.name, w.first, w.last) for w, _ in found] == [
        ("19691231T180000Z", -1.0, -1.0), ("20260101T000000Z", 1767247199999.0, 1767247199999.0),
        ("20260101T060000Z", 1767247200000.0, 1767247200000.0)]
    assert found[1][1].decode().splitlines()[1] == "2026-01-01T05:59:59.999,2"


def test_a_parquet_object_is_read_a_bounded_piece_at_a_time(monkeypatch) -> None:
    # pre-buffering would read every row group of the object in one go: memory would grow with it
    monkeypatch.setattr("lsts_sync.data.windows.PARQUET_BUFFER", 65_536)
    rows = 200_000
    stamps = pa.array(np.arange(rows, dtype=np.int64) * 1000 + 1767225600000, pa.timestamp("ms"))
    out = io.BytesIO()  # pages of 32 KB, no dictionary page: a page is read whole, so it bounds a read from below
    pq.write_table(pa.table({"Time": stamps, "V": np.random.default_rng(1).normal(size=rows)}), out,
                   row_group_size=100_000, data_page_size=32_768, use_dictionary=False)
    data = out.getvalue()
    reads: list[int] = []
    tracked = ObjectReader(lambda: io.BytesIO(data), lambda start, n: reads.append(n) or data[start:start + n], len(data))
    found = list(cut(project({"duration": "6h"}, source_format="parquet"), tracked, "raw/a.parquet", "s3://d/a"))
    assert len(data) > 1_000_000 and sum(w.rows for w, _ in found) == rows
    assert max(reads) <= 2 * 65_536 and sum(reads) < 2 * len(data)  # a row group holds 1.6 MB


def test_float_text_is_the_writers_text_of_every_value() -> None:
    from lsts_sync.data.windows import float_text

    odd = [0.0, -0.0, float("nan"), float("inf"), float("-inf"), 5e-324, 1e21, 1e-7, 0.1 + 0.2, None]
    for values in (odd * 50, odd + list(np.random.default_rng(0).normal(size=500))):  # repeating; mostly distinct
        for kind in (pa.float64(), pa.float32()):
            column = pa.array(values, kind)
            assert float_text(column, ",").equals(pc.cast(column, pa.string()))
    assert float_text(pa.array(odd * 50), ".").type == pa.float64()  # the writer refuses a '.' separator in text
