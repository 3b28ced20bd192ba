"""What report reads from the tasks and measures on a source file's rows (labels.report), and how
it is shown (labels.report_format)."""

from __future__ import annotations

import json

import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.labels.metrics import Counts, RangeSums
from lsts_sync.labels.report import (
    LabelingProgress,
    measure,
    measure_object,
    prediction_regions,
    project_report,
    read_labels,
    report_json,
)
from lsts_sync.labels.report_format import render_markdown, render_text
from lsts_sync.resources.state import PredictionSet, TaskPrediction, canonical_result
from lsts_sync.spec.models import ProjectSpec

PROJECT = ProjectSpec.model_validate({
    "kind": "Project", "name": "pump", "instance": "local",
    "timeseries": {"time_column": "t", "time_format": "%Y-%m-%d %H:%M:%S", "channels": [{"column": "v"}]},
    "labels": [{"value": "Anomaly"}, {"value": "Maintenance"}]})
USERS = {1: "ann@example.com", 2: "bob@example.com"}
# rows at minutes 0..9 of 2024-01-01, one without a time
CSV = ("t,v\n" + "".join(f"2024-01-01 00:0{m}:00,{m}\n" for m in range(10)) + "garbage,1\n").encode()


def t(minute: int, second: int = 0) -> str:
    return f"2024-01-01 00:{minute:02d}:{second:02d}"


def region(start: str, end: str, *labels: str) -> dict:
    return {"type": "timeserieslabels", "from_name": "label", "to_name": "ts",
            "value": {"start": start, "end": end, "timeserieslabels": list(labels)}}


def annotation(ident: int, who: int, updated: str, *regions: dict, cancelled: bool = False) -> dict:
    return {"id": ident, "completed_by": who, "updated_at": updated, "was_cancelled": cancelled, "result": list(regions)}


def task(ident: int, file: str, *annotations: dict) -> dict:
    return {"id": ident, "data": {"csv": f"s3://data/{file}"}, "annotations": list(annotations)}


TASKS = [
    task(1, "a/1.csv"),  # not labeled yet
    task(2, "a/2.csv", annotation(20, 1, "2024-02-01T00:00:00Z", region(t(1), t(2), "Anomaly"), cancelled=True)),
    task(3, "a/3.csv",  # one annotator twice: the later counts
         annotation(30, 1, "2024-02-01T00:00:00Z", region(t(1), t(2), "Anomaly")),
         annotation(31, 1, "2024-02-02T00:00:00Z", region(t(3), t(5), "Anomaly", "Maintenance"))),
    task(4, "a/4.csv",  # two annotators: bob's is the later, so the reference
         annotation(40, 1, "2024-02-01T00:00:00Z", region(t(2), t(4), "Anomaly")),
         annotation(41, 2, "2024-02-03T00:00:00Z", region(t(2), t(3), "Anomaly"), region(t(7), t(7), "Maintenance"))),
]


def test_progress_counts_and_the_reference_is_exports_latest_annotation() -> None:
    progress, tasks = read_labels(iter(TASKS), "pump", USERS)
    assert progress == LabelingProgress(tasks=4, annotated=2, cancelled=1,
                                annotators={"ann@example.com": 3, "bob@example.com": 1},
                                labels={"Anomaly": 2, "Maintenance": 2})
    assert [(x.task, x.file, x.bucket, x.annotator) for x in tasks] == [
        (3, "a/3.csv", "data", "ann@example.com"), (4, "a/4.csv", "data", "bob@example.com")]
    assert tasks[0].reference == (("Anomaly", t(3), t(5)), ("Maintenance", t(3), t(5)))
    assert tasks[0].annotators == {}  # one annotator: nothing to agree on
    assert tasks[1].annotators == {"ann@example.com": (("Anomaly", t(2), t(4)),),
                                   "bob@example.com": (("Anomaly", t(2), t(3)), ("Maintenance", t(7), t(7)))}


def predictions(version: str, *rows: tuple[str, str, str, str]) -> dict[str, tuple]:
    """Source key -> regions of a PredictionSet as load_predictions makes it."""
    by_file: dict[str, list[dict]] = {}
    for file, start, end, label in rows:
        by_file.setdefault(file, []).append(region(start, end, label))
    made = PredictionSet("local", "pump", version, version, "p.csv",
                         tuple(TaskPrediction(f, canonical_result(r)) for f, r in sorted(by_file.items())))
    return prediction_regions(made, "pump")


def test_a_model_is_measured_on_the_rows_of_the_source_file() -> None:
    _, tasks = read_labels(TASKS, "pump", USERS)
    models = {"v1": predictions("v1", ("a/4.csv", t(2), t(3), "Anomaly"), ("a/4.csv", t(7, 30), t(7, 30), "Maintenance"),
                                ("a/9.csv", t(1), t(2), "Anomaly")),
              "v2": {}}
    found = measure_object(tasks[1], CSV, PROJECT, models, 0.5, "s3://data/a/4.csv")
    assert found.rows == 10  # the row whose time does not parse holds no label
    assert [(s.label, s.first, s.after) for s in found.reference] == [("Anomaly", 2, 4), ("Maintenance", 7, 8)]
    assert found.uncovered == 1  # v1's instant at 00:07:30 lies between two rows
    v1, v2 = found.scores["v1"], found.scores["v2"]
    assert v1["Anomaly"].event == Counts(1, 0, 0) and v1["Maintenance"].event == Counts(0, 0, 1)
    assert v2["Anomaly"].event == Counts(0, 0, 1) and v2["Anomaly"].range == RangeSums(0.0, 1, 0.0, 0)
    assert [(s.first, s.after) for s in found.annotators["ann@example.com"]] == [(2, 5)]


def test_every_file_must_be_readable_through_a_bucket_spec_before_any_is_read() -> None:
    _, tasks = read_labels(TASKS, "pump", USERS)
    reads: list[str] = []
    with pytest.raises(LstsError, match="^report pump: s3://data/a/3.csv is in bucket data, which no Bucket spec"):
        measure(PROJECT, tasks, {}, lambda b, k: reads.append(k) or CSV, {"other"}, 0.5)
    assert reads == []


def _report(iou: float = 0.5):
    _, tasks = read_labels(TASKS, "pump", USERS)
    progress, _ = read_labels(TASKS, "pump", USERS)
    models = {"v1": predictions("v1", ("a/4.csv", t(2), t(3), "Anomaly"), ("a/3.csv", t(3), t(4), "Anomaly"))}
    objects = measure(PROJECT, tasks, models, lambda b, k: CSV, {"data"}, iou)
    return project_report(PROJECT, progress, objects, ["v1"], iou)


def test_the_json_has_the_documented_shape_with_all_labels_together_and_each_label() -> None:
    document = report_json([_report()])
    assert list(document) == ["format_version", "projects"] and document["format_version"] == 1
    pump = document["projects"]["pump"]
    assert list(pump) == ["tasks", "annotated", "cancelled", "annotators", "labels", "models", "agreement"]
    assert list(pump["models"]["v1"]) == ["all", "Anomaly", "Maintenance"]
    everything = pump["models"]["v1"]["all"]
    assert everything["event"] == {"tp": 2, "fp": 0, "fn": 2, "precision": 1.0, "recall": 0.5, "f1": 2 / 3}
    assert everything["range"] == {"precision": 1.0, "recall": pytest.approx((2 / 3 + 1 + 0 + 0) / 4),
                                   "f1": pytest.approx(2 * 5 / 12 / (1 + 5 / 12))}
    assert pump["models"]["v1"]["Maintenance"]["rows"] == {"precision": None, "recall": 0.0, "f1": 0.0}
    # one task with two annotators: ann (2-4) against bob (2-3 Anomaly, 7 Maintenance)
    assert pump["agreement"]["tasks"] == 1 and pump["agreement"]["pairs"] == 1
    assert pump["agreement"]["event_f1"] == pytest.approx(2 / 3)
    assert json.loads(json.dumps(document)) == document


def test_a_label_named_all_would_clash_with_all_labels_together() -> None:
    project = PROJECT.model_copy(update={"labels": (*PROJECT.labels, PROJECT.labels[0].model_copy(update={"value": "all"}))})
    with pytest.raises(LstsError, match="a label is named 'all'"):
        project_report(project, LabelingProgress(), [], [], 0.5)


def test_the_text_table_and_markdown_show_two_decimals_and_a_dash_for_undefined() -> None:
    report = _report()
    text = render_text([report], 0.5)
    assert text.splitlines()[0] == "Project pump: 4 task(s), 2 annotated, 1 cancelled annotation(s)"
    assert "  Annotators: ann@example.com 3, bob@example.com 1" in text
    assert "events match at IoU >= 0.5" in text
    row = next(line.split() for line in text.splitlines() if line.strip().startswith("v1"))
    assert row == ["v1", "all", "2", "0", "2", "1.00", "0.50", "0.67", "1.00", "0.42", "0.59", "1.00", "0.44", "0.62"]
    assert any(line.split()[:2] == ["Maintenance", "0"] and line.split()[4] == "-" for line in text.splitlines())
    assert "Agreement over 1 task(s), 1 annotator pair(s): event F1 0.67" in text
    markdown = render_markdown([report], 0.5)
    assert "| v1 | all | 2 | 0 | 2 | 1.00 | 0.50 | 0.67 |" in markdown and markdown.startswith("### pump\n")
