"""The CSV checks of datachecks, on text (no servers)."""

from __future__ import annotations

from lsts_sync.datachecks import check_csv
from lsts_sync.models import ProjectSpec


def project(time_format: str | None = "%Y-%m-%d %H:%M:%S") -> ProjectSpec:
    return ProjectSpec.model_validate({
        "kind": "Project", "name": "p", "instance": "i",
        "timeseries": {"time_column": "timestamp", "time_format": time_format,
                       "channels": [{"column": "vibration"}, {"column": "temperature"}]},
        "labels": [{"value": "A"}]})


GOOD = "timestamp,vibration,temperature\n2021-01-01 00:00:00,1,2\n2021-01-01 00:01:00,1,2\n"


def test_good_csv_has_no_checks() -> None:
    assert check_csv(project(), "s3://b/k.csv", GOOD) == []


def test_missing_channel_names_key_and_column() -> None:
    (check,) = check_csv(project(), "s3://b/k.csv", GOOD.replace("temperature", "temp"))
    assert check.blocking and check.message.startswith("s3://b/k.csv: channel 'temperature' is not in the header")


def test_case_difference_is_a_warning() -> None:
    (check,) = check_csv(project(), "s3://b/k.csv", GOOD.replace("vibration", "Vibration "))
    assert not check.blocking and "case or whitespace" in check.message


def test_time_that_does_not_parse_or_ascend() -> None:
    bad = GOOD.replace("2021-01-01 00:01:00", "01/01/2021 00:01")
    assert "does not match time_format" in check_csv(project(), "u", bad)[0].message
    back = GOOD.replace("00:01:00", "00:00:00")
    assert "does not ascend" in check_csv(project(), "u", back)[0].message


def test_numeric_time_without_format() -> None:
    assert check_csv(project(None), "u", "timestamp,vibration,temperature\n1,1,1\n2,1,1\n") == []
    assert "a number" in check_csv(project(None), "u", GOOD)[0].message
