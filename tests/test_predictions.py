"""Predictions files into desired predictions: rows, regions, times, bad rows, unreadable files."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.labels.predictions import csv_rows, load_predictions, parse_time, prediction_set
from lsts_sync.spec.loader import load_specs

from .fakes import FakeS3

SPECS = """\
kind: Instance
name: local
url: http://ls.example:8080
token: {token}
---
kind: Bucket
name: data
---
kind: Project
name: p
instance: local
source: {{bucket: data, prefix: p/}}
timeseries: {{time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: [{{column: v}}]}}
labels: [{{value: Anomaly}}, {{value: Maintenance}}]
region_fields:
  - {{name: severity, type: choices, values: [low, medium, high]}}
  - {{name: note, type: text}}
  - {{name: certainty, type: number, min: 0, max: 1}}
task_fields:
  - {{name: quality, type: choices, values: [good, noisy]}}
---
kind: Project
name: n
instance: local
source: {{bucket: data, prefix: n/}}
timeseries: {{time_column: t, channels: [{{column: v}}]}}
labels: [{{value: Anomaly}}]
---
kind: Predictions
name: detector
project: p
model_version: iforest-1
file: {file}
{extra}
"""

GOOD = """\
file,start,end,label,score
p/a.csv,2021-01-01 05:00:00,2021-01-01 06:00:00,Anomaly,0.9
p/a.csv,2021-01-01T07:00:00Z,2021-01-01 07:00:00,Maintenance,
p/b.csv,2021-01-01 01:00:00,2021-01-01 02:00:00,Anomaly,0.4
"""


def load(tmp_path: Path, body: str | bytes = GOOD, *, file: str = "preds/p.csv", extra: str = ""):
    folder = tmp_path / "specs"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "specs.yaml").write_text(SPECS.format(token="f" * 40, file=file, extra=extra))
    if not file.startswith("s3://"):
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_bytes(body.encode() if isinstance(body, str) else body)
    specs, problems = load_specs([str(folder)], env={})
    assert not [p for p in problems if p.severity == "error"], problems
    return specs


def regions(task) -> list[dict]:
    return json.loads(task.result)


def test_rows_of_one_source_file_become_one_prediction_in_the_template_time_format(tmp_path) -> None:
    specs = load(tmp_path)
    (found,) = load_predictions(specs, FakeS3()).values()
    assert found.key == ("local", "p", "iforest-1") and found.rows == 3 and found.skipped == ()
    a, b = found.tasks
    assert (a.key, a.rows, a.score, b.key, b.score) == ("p/a.csv", (2, 3), 0.9, "p/b.csv", 0.4)
    first, second = sorted(regions(a), key=lambda r: r["value"]["start"])
    assert first["value"] == {"start": "2021-01-01 05:00:00", "end": "2021-01-01 06:00:00", "instant": False,
                              "timeserieslabels": ["Anomaly"]}
    assert (first["from_name"], first["to_name"], first["type"], first["score"]) == ("label", "ts", "timeserieslabels", 0.9)
    # an ISO time (Z) is written back in the project's format; equal start and end is an instant region
    assert second["value"]["start"] == second["value"]["end"] == "2021-01-01 07:00:00" and second["value"]["instant"]
    assert "score" not in second


def test_the_same_rows_in_another_order_give_the_same_prediction(tmp_path) -> None:
    header, *rows = GOOD.splitlines()
    (one,) = load_predictions(load(tmp_path / "1"), FakeS3()).values()
    (two,) = load_predictions(load(tmp_path / "2", "\n".join([header, *reversed(rows)]) + "\n"), FakeS3()).values()
    assert [(t.key, t.result, t.score) for t in one.tasks] == [(t.key, t.result, t.score) for t in two.tasks]


def test_a_tasks_prediction_takes_the_highest_score_of_its_rows(tmp_path) -> None:
    """The most confident region ranks the task: neither the first, the last nor the lowest score."""
    body = """\
file,start,end,label,score
p/a.csv,2021-01-01 01:00:00,2021-01-01 02:00:00,Anomaly,0.2
p/a.csv,2021-01-01 03:00:00,2021-01-01 04:00:00,Anomaly,
p/a.csv,2021-01-01 05:00:00,2021-01-01 06:00:00,Anomaly,0.9
p/a.csv,2021-01-01 07:00:00,2021-01-01 08:00:00,Maintenance,0.5
"""
    (found,) = load_predictions(load(tmp_path, body), FakeS3()).values()
    (task,) = found.tasks
    assert task.rows == (2, 3, 4, 5) and task.score == 0.9
    assert sorted(r.get("score") for r in regions(task) if "score" in r) == [0.2, 0.5, 0.9]


def test_bad_rows_are_one_line_each_with_file_and_row_and_the_rest_is_kept(tmp_path) -> None:
    body = GOOD + """\
p/c.csv,yesterday,2021-01-01 02:00:00,Anomaly,0.1
p/c.csv,2021-01-01 03:00:00,2021-01-01 02:00:00,Anomaly,0.1
p/c.csv,2021-01-01 01:00:00,2021-01-01 02:00:00,Crack,0.1
p/c.csv,2021-01-01 01:00:00,2021-01-01 02:00:00,Anomaly,high
,2021-01-01 01:00:00,2021-01-01 02:00:00,Anomaly,
s3://elsewhere/p/c.csv,2021-01-01 01:00:00,2021-01-01 02:00:00,Anomaly,
p/b.csv,2021-01-01 01:00:00,2021-01-01 02:00:00,Anomaly,0.4
"""
    specs = load(tmp_path, body)
    (found,) = load_predictions(specs, FakeS3()).values()
    shown = str(tmp_path / "specs" / "preds" / "p.csv")
    assert [f"{shown}:{row}: {why}" for row, why in found.skipped] == [
        f"{shown}:5: start 'yesterday' does not parse as time_format '%Y-%m-%d %H:%M:%S' or ISO 8601",
        f"{shown}:6: start '2021-01-01 03:00:00' is after end '2021-01-01 02:00:00'",
        f"{shown}:7: label 'Crack' is not a label of project p (Anomaly, Maintenance)",
        f"{shown}:8: score 'high' is not a number",
        f"{shown}:9: no source file",
        f"{shown}:10: s3://elsewhere/p/c.csv is not an object of the source bucket data",
        f"{shown}:11: the same region as row 4",
    ]
    assert found.rows == 10 and [t.key for t in found.tasks] == ["p/a.csv", "p/b.csv"]


def test_an_s3_url_in_the_source_bucket_names_its_key(tmp_path) -> None:
    specs = load(tmp_path, "file,start,end,label\ns3://data/p/a.csv,2021-01-01 05:00:00,2021-01-01 06:00:00,Anomaly\n")
    (found,) = load_predictions(specs, FakeS3()).values()
    assert [t.key for t in found.tasks] == ["p/a.csv"] and found.tasks[0].score is None


def test_columns_can_be_renamed(tmp_path) -> None:
    body = "key,t0,t1,class,confidence\np/a.csv,2021-01-01 05:00:00,2021-01-01 06:00:00,Anomaly,0.5\n"
    extra = "columns: {file: key, start: t0, end: t1, label: class, score: confidence}"
    (found,) = load_predictions(load(tmp_path, body, extra=extra), FakeS3()).values()
    assert [(t.key, t.score) for t in found.tasks] == [("p/a.csv", 0.5)]


def test_a_file_in_s3_is_read_through_the_bucket_spec(tmp_path) -> None:
    specs = load(tmp_path, file="s3://data/models/p.csv")
    s3 = FakeS3()
    s3.objects_["data"] = {"models/p.csv": (1.0, GOOD.encode())}
    (found,) = load_predictions(specs, s3).values()
    assert s3.calls == ["read_bytes data models/p.csv"] and found.file == "s3://data/models/p.csv"
    assert len(found.tasks) == 2


@pytest.mark.parametrize("body, message", [
    ("file,begin,end,label\n", "no column 'start' (columns: file, begin, end, label); name them under columns:"),
    (b"\xff\xfe\x00bad", "not UTF-8 text"),
])
def test_a_file_that_cannot_be_used_at_all_is_one_error_line_at_the_spec(tmp_path, body, message) -> None:
    specs = load(tmp_path, body)
    with pytest.raises(LstsError) as error:
        load_predictions(specs, FakeS3())
    spec_file = tmp_path / "specs" / "specs.yaml"
    assert str(error.value).startswith(f"{spec_file}:33: Predictions detector: file: cannot read ")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_missing_file_is_one_error_line(tmp_path) -> None:
    specs = load(tmp_path)
    (tmp_path / "specs" / "preds" / "p.csv").unlink()
    with pytest.raises(LstsError, match=r"specs.yaml:33: Predictions detector: file: cannot read .*p.csv: No such file"):
        load_predictions(specs, FakeS3())


def test_a_missing_s3_object_is_one_error_line(tmp_path) -> None:
    specs = load(tmp_path, file="s3://data/models/p.csv")
    s3 = FakeS3()
    s3.fail("read_bytes", LstsError("bucket data: read s3://data/models/p.csv failed: NoSuchKey"))
    with pytest.raises(LstsError, match=r"file: cannot read s3://data/models/p.csv: bucket data: .*NoSuchKey"):
        load_predictions(specs, s3)


def test_parquet_rows_are_numbered_as_under_a_csv_header_and_timestamps_are_times(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"file": ["p/a.csv", "p/a.csv"], "start": [datetime(2021, 1, 1, 5), datetime(2021, 1, 1, 9)],
                      "end": [datetime(2021, 1, 1, 6), datetime(2021, 1, 1, 8)], "label": ["Anomaly", "Anomaly"],
                      "score": [0.7, None]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    specs = load(tmp_path, buffer.getvalue(), file="preds/p.parquet")
    (found,) = load_predictions(specs, FakeS3()).values()
    assert found.skipped == ((3, "start '2021-01-01 09:00:00' is after end '2021-01-01 08:00:00'"),)
    assert found.file == str(tmp_path / "specs" / "preds" / "p.parquet")
    (task,) = found.tasks
    assert regions(task)[0]["value"]["start"] == "2021-01-01 05:00:00" and task.score == 0.7


def test_targets_limit_the_files_read(tmp_path) -> None:
    specs = load(tmp_path)
    assert load_predictions(specs, FakeS3(), selected={"n"}) == {}


def test_csv_rows_are_numbered_by_their_line_and_blank_lines_skipped() -> None:
    header, rows = csv_rows(b"\xef\xbb\xbffile, start\n\na,1\n\"b\nc\",2\nd,3\n")
    assert header == ["file", "start"] and [n for n, _ in rows] == [3, 5, 6] and rows[1][1]["file"] == "b\nc"


@pytest.mark.parametrize("value, fmt, expected", [
    ("2021-01-01 00:00:01", "%Y-%m-%d %H:%M:%S", 1609459201000.0),
    ("2021-01-01T00:00:01+01:00", "%Y-%m-%d %H:%M:%S", 1609455601000.0),  # ISO with an offset
    ("2021-01-01T00:00:01", "%Y-%m-%d %H:%M:%S", 1609459201000.0),  # ISO without one: UTC
    ("1609459201", "%s", 1609459201000.0),
    ("12.5", None, 12.5),
    ("2021-01-01", None, None),  # no time_format: the time axis is numbers
    ("nan", None, None),
    ("", "%Y", None),
])
def test_times_parse_with_the_project_format_then_iso(value, fmt, expected) -> None:
    assert parse_time(value, fmt) == expected


def test_a_project_without_time_format_gets_numbers(tmp_path) -> None:
    specs = load(tmp_path, extra="")
    spec = specs.predictions["detector"].model_copy(update={"project": "n"})
    found = prediction_set(spec, specs.projects["n"], "f.csv", [(2, {"file": "n/a.csv", "start": "10", "end": "12.5",
                                                                     "label": "Anomaly"})])
    assert regions(found.tasks[0])[0]["value"] == {"start": 10, "end": 12.5, "instant": False,
                                                   "timeserieslabels": ["Anomaly"]}


def test_a_parquet_file_that_is_not_one_is_one_error_line(tmp_path) -> None:
    specs = load(tmp_path, b"file,start\n", file="preds/p.parquet")
    with pytest.raises(LstsError, match=r"file: cannot read .*p.parquet: not a Parquet file \(") as error:
        load_predictions(specs, FakeS3())
    assert "\n" not in str(error.value)


def test_a_predicted_time_past_year_9999_skips_its_row_with_one_line() -> None:
    from lsts_sync.labels.predictions import region_of
    from lsts_sync.spec.models import PredictionsSpec, ProjectSpec

    project = ProjectSpec.model_validate({"kind": "Project", "name": "p", "instance": "i", "labels": [{"value": "A"}],
                                          "timeseries": {"time_column": "t", "time_format": "%s",
                                                         "channels": [{"column": "v"}]}})
    spec = PredictionsSpec.model_validate({"kind": "Predictions", "name": "d", "project": "p", "model_version": "1",
                                           "file": "p.csv"})
    row = {"file": "a.csv", "start": "1600000000000", "end": "1600000000001", "label": "A"}
    assert region_of(row, spec, project) == ("time 1600000000000000 ms since 1970 is outside years 1 to 9999, which "
                                             "lsts-sync cannot write with '%s' (milliseconds in a %s column? use %Q)")


def test_a_row_naming_a_former_label_gives_the_region_the_renames_rewrite_made(tmp_path) -> None:
    """``Maintenance`` renamed from ``Service``: the detector's rows that still say Service become
    Maintenance regions with the id the Service row had, so a prediction that the rename's rewrite
    relabeled equals the file again (no replacement)."""
    body = "file,start,end,label,score\np/a.csv,2021-01-01 05:00:00,2021-01-01 06:00:00,Service,0.9\n"
    (before,) = load_predictions(load(tmp_path / "1", body.replace("Service", "Maintenance")), FakeS3()).values()
    specs = load(tmp_path / "2", body)
    text = (tmp_path / "2" / "specs" / "specs.yaml").read_text()
    (tmp_path / "2" / "specs" / "specs.yaml").write_text(
        text.replace("{value: Maintenance}", "{value: Maintenance, renamed_from: Service}"))
    specs = load_specs([str(tmp_path / "2" / "specs")], env={})[0]
    (after,) = load_predictions(specs, FakeS3()).values()
    assert after.skipped == ()
    (region,) = regions(after.tasks[0])
    assert region["value"]["timeserieslabels"] == ["Maintenance"]
    assert region["id"] != regions(before.tasks[0])[0]["id"]  # named by the file's own label: Service


# -- region fields ---------------------------------------------------------------------------------
FIELDS = """\
file,start,end,label,score,severity,note,certainty,run
p/a.csv,2021-01-01 05:00:00,2021-01-01 06:00:00,Anomaly,0.9,high,bearing noise,0.75,r1
p/a.csv,2021-01-01 07:00:00,2021-01-01 07:00:00,Maintenance,,,,1,r1
p/b.csv,2021-01-01 01:00:00,2021-01-01 02:00:00,Anomaly,0.4,,,,r1
"""


def by_type(results: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for result in results:
        found.setdefault(result["type"], []).append(result)
    return found


def test_a_region_field_column_gives_its_region_a_per_region_result_with_the_regions_id(tmp_path) -> None:
    """As the labeling UI writes a region field: from_name the field, to_name ts, the region's id
    and bounds, the value under the result type's key; an empty cell gives no result, and a
    column that is no field (run) is ignored."""
    (found,) = load_predictions(load(tmp_path, FIELDS), FakeS3()).values()
    assert found.skipped == ()
    a, b = found.tasks
    results = by_type(regions(a))
    anomaly, maintenance = sorted(results["timeserieslabels"], key=lambda r: r["value"]["start"])
    span = {"start": "2021-01-01 05:00:00", "end": "2021-01-01 06:00:00", "instant": False}
    instant = {"start": "2021-01-01 07:00:00", "end": "2021-01-01 07:00:00", "instant": True}
    assert results["choices"] == [{"id": anomaly["id"], "from_name": "severity", "to_name": "ts", "type": "choices",
                                   "value": {**span, "choices": ["high"]}}]
    assert results["textarea"] == [{"id": anomaly["id"], "from_name": "note", "to_name": "ts", "type": "textarea",
                                    "value": {**span, "text": ["bearing noise"]}}]
    assert sorted((r["id"], r["value"]["number"]) for r in results["number"]) == sorted(
        [(anomaly["id"], 0.75), (maintenance["id"], 1)])
    assert [r["value"] for r in results["number"] if r["id"] == maintenance["id"]] == [{**instant, "number": 1}]
    assert set(results) == {"timeserieslabels", "choices", "textarea", "number"} and "score" not in results["choices"][0]
    assert [r["type"] for r in regions(b)] == ["timeserieslabels"]  # empty cells: no field results


def test_a_field_value_the_field_does_not_take_skips_its_row_naming_file_row_and_column(tmp_path) -> None:
    body = FIELDS + """\
p/c.csv,2021-01-01 01:00:00,2021-01-01 02:00:00,Anomaly,,hgh,,,
p/c.csv,2021-01-01 03:00:00,2021-01-01 04:00:00,Anomaly,,High,,,
p/c.csv,2021-01-01 05:00:00,2021-01-01 06:00:00,Anomaly,,,,x,
p/c.csv,2021-01-01 07:00:00,2021-01-01 08:00:00,Anomaly,,,,1.5,
p/c.csv,2021-01-01 09:00:00,2021-01-01 10:00:00,Anomaly,,,,-0.1,
p/c.csv,2021-01-01 11:00:00,2021-01-01 12:00:00,Anomaly,,,,inf,
"""
    (found,) = load_predictions(load(tmp_path, body), FakeS3()).values()
    shown = str(tmp_path / "specs" / "preds" / "p.csv")
    assert [f"{shown}:{row}: {why}" for row, why in found.skipped] == [
        f"{shown}:5: severity 'hgh' is not one of the field's values (low, medium, high)",
        f"{shown}:6: severity 'High' is not one of the field's values (low, medium, high)",
        f"{shown}:7: certainty 'x' is not a number",
        f"{shown}:8: certainty '1.5' is above the field's max 1",
        f"{shown}:9: certainty '-0.1' is below the field's min 0",
        f"{shown}:10: certainty 'inf' is not a finite number",
    ]
    assert [t.key for t in found.tasks] == ["p/a.csv", "p/b.csv"]


@pytest.mark.parametrize(("column", "message"), [
    ("sevrity", "column 'sevrity' is no region field of project p; did you mean 'severity'? (a field's column is "
                "named exactly as the field)"),
    ("Severity", "column 'Severity' is no region field of project p; did you mean 'severity'? (a field's column is "
                 "named exactly as the field)"),
    ("quality", "column 'quality' is a task field of project p: a prediction carries region fields only (a value "
                "per region)"),
])
def test_a_column_that_looks_like_a_field_but_is_none_is_one_error_line_at_the_spec(tmp_path, column,
                                                                                    message) -> None:
    specs = load(tmp_path, FIELDS.replace(",run", f",{column}"))
    shown = tmp_path / "specs" / "preds" / "p.csv"
    with pytest.raises(LstsError) as raised:
        load_predictions(specs, FakeS3())
    assert str(raised.value) == f"{tmp_path / 'specs' / 'specs.yaml'}:33: Predictions detector: file: {shown}: {message}"


def test_a_choice_written_with_its_former_values_takes_them_from_the_file_as_the_choice(tmp_path) -> None:
    """``{value: high, renamed_from: severe}``: a detector's row that still says severe gives the
    choice high (what the rename's rewrite makes of the older predictions), and high itself is taken."""
    specs_file = tmp_path / "specs" / "specs.yaml"
    load(tmp_path, FIELDS)
    specs_file.write_text(specs_file.read_text().replace(
        "values: [low, medium, high]", "values: [low, medium, {value: high, renamed_from: severe}]"))
    (tmp_path / "specs" / "preds" / "p.csv").write_text(FIELDS.replace(",high,", ",severe,") + (
        "p/c.csv,2021-01-01 01:00:00,2021-01-01 02:00:00,Anomaly,,high,,,\n"))
    specs = load_specs([str(tmp_path / "specs")], env={})[0]
    (found,) = load_predictions(specs, FakeS3()).values()
    assert found.skipped == ()
    chosen = [r["value"]["choices"] for task in found.tasks for r in regions(task) if r["type"] == "choices"]
    assert chosen == [["high"], ["high"]]


def test_a_changed_field_value_changes_the_prediction_and_keeps_the_region_id(tmp_path) -> None:
    (before,) = load_predictions(load(tmp_path / "1", FIELDS), FakeS3()).values()
    (after,) = load_predictions(load(tmp_path / "2", FIELDS.replace(",high,", ",low,")), FakeS3()).values()
    assert before.tasks[0].result != after.tasks[0].result and before.tasks[1] == after.tasks[1]
    ids = [{r["id"] for r in regions(found.tasks[0])} for found in (before, after)]
    assert ids[0] == ids[1] and len(ids[0]) == 2


def test_parquet_field_columns_give_what_the_csv_gives(tmp_path) -> None:
    """Numbers and texts typed by Parquet (a float, an int, a missing value) read as the CSV's cells."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"file": ["p/a.csv", "p/a.csv", "p/b.csv"],
                      "start": ["2021-01-01 05:00:00", "2021-01-01 07:00:00", "2021-01-01 01:00:00"],
                      "end": ["2021-01-01 06:00:00", "2021-01-01 07:00:00", "2021-01-01 02:00:00"],
                      "label": ["Anomaly", "Maintenance", "Anomaly"], "score": [0.9, None, 0.4],
                      "severity": ["high", None, None], "note": ["bearing noise", None, None],
                      "certainty": [0.75, 1.0, None]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    (csv_set,) = load_predictions(load(tmp_path / "c", FIELDS), FakeS3()).values()
    (parquet_set,) = load_predictions(load(tmp_path / "p", buffer.getvalue(), file="preds/p.parquet"),
                                      FakeS3()).values()
    assert [(t.key, t.result, t.score) for t in parquet_set.tasks] == [(t.key, t.result, t.score)
                                                                      for t in csv_set.tasks]
