"""Region and task fields through the CLI against the real Label Studio and S3 servers: the
template apply writes is accepted by Label Studio, a field chosen in an annotation appears in
the table and dense exports, and a renamed field and choice carry the annotation along."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from .conftest import run_cli, upload_csvs
from .test_apply_integration import find_project, write_specs

pytestmark = pytest.mark.integration

FIELDS = """\
region_fields:
  - {name: severity, type: choices, values: [low, medium, high], required: true}
  - {name: fault_code, type: text}
  - {name: confidence, type: number, min: 0, max: 1}
task_fields:
  - {name: quality, type: choices, values: [good, noisy, unusable]}
"""


def result(ident: str, name: str, kind: str, value: dict) -> dict:
    return {"id": ident, "from_name": name, "to_name": "ts", "type": kind, "value": value}


def test_a_region_field_chosen_in_an_annotation_appears_in_table_and_dense(stack_env, s3, ls, bucket, uid,
                                                                            tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"f-{uid}"
    specs = write_specs(tmp_path / "specs", bucket, name)
    out = tmp_path / "out"
    with open(specs / "specs.yaml", "a") as spec:
        spec.write(FIELDS + f"""\
---
kind: Export
name: {name}-table
project: {name}
output: {out}/table.csv
---
kind: Export
name: {name}-dense
project: {name}
format: dense
output: {out}/dense.csv
""")
    applied = run_cli(["apply", str(specs), "--auto-approve"], stack_env)
    assert applied.returncode == 0, applied.stderr
    project = find_project(ls, name)
    live = ET.fromstring(ls.projects.get(id=project.id).label_config)
    severity = live.find(".//Choices[@name='severity']")
    assert severity is not None and severity.get("perRegion") == "true" and severity.get("required") == "true"
    assert live.find(".//Choices[@name='quality']").get("perRegion") is None
    again = run_cli(["plan", str(specs)], stack_env)
    assert again.returncode == 0 and again.stdout.strip() == "No changes.", again.stdout + again.stderr

    (task,) = ls.tasks.list(project=project.id)
    span = {"start": "2021-01-01 00:10:00", "end": "2021-01-01 00:12:00", "instant": False}
    other = {"start": "2021-01-01 00:30:00", "end": "2021-01-01 00:30:00", "instant": True}
    ls.annotations.create(id=task.id, result=[
        result("r1", "label", "timeserieslabels", {**span, "timeserieslabels": ["Anomaly"]}),
        result("r1", "severity", "choices", {**span, "choices": ["high"]}),
        result("r1", "fault_code", "textarea", {**span, "text": ["F-12 bearing"]}),
        result("r2", "label", "timeserieslabels", {**other, "timeserieslabels": ["Maintenance"]}),
        result("r2", "severity", "choices", {**other, "choices": ["low"]}),
        result("q1", "quality", "choices", {"choices": ["good"]}),
    ])

    exported = run_cli(["export", str(specs)], stack_env)
    assert exported.returncode == 0, exported.stderr
    table = list(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    assert list(table[0])[-4:] == ["severity", "fault_code", "confidence", "quality"]
    assert [(r["label"], r["severity"], r["fault_code"], r["confidence"], r["quality"]) for r in table] == [
        ("Anomaly", "high", "F-12 bearing", "", "good"), ("Maintenance", "low", "", "", "good")]

    dense = list(csv.DictReader(io.StringIO((out / "dense.csv").read_text())))
    assert list(dense[0]) == ["file", "timestamp", "vibration", "temperature", "pressure", "label", "severity",
                              "fault_code", "confidence"]
    labeled = {r["timestamp"]: (r["label"], r["severity"], r["fault_code"]) for r in dense if r["label"]}
    assert labeled == {
        "2021-01-01 00:10:00": ("Anomaly", "high", "F-12 bearing"),
        "2021-01-01 00:11:00": ("Anomaly", "high", "F-12 bearing"),
        "2021-01-01 00:12:00": ("Anomaly", "high", "F-12 bearing"),
        "2021-01-01 00:30:00": ("Maintenance", "low", ""),
    }
    assert all(r["severity"] == "" for r in dense if not r["label"]) and len(dense) == 60


def test_a_predictions_files_severity_column_becomes_a_per_region_result_of_the_prediction(stack_env, s3, ls, bucket,
                                                                                           uid, tmp_path) -> None:
    """Label Studio keeps the severity result as written (the region's id, from_name severity), so the
    next plan is No changes; another severity in the file replaces the prediction."""
    from .test_predictions_integration import add_predictions

    upload_csvs(s3, bucket, "data/", count=1)
    name = f"fp-{uid}"
    specs = write_specs(tmp_path / "specs", bucket, name)
    with open(specs / "specs.yaml", "a") as spec:
        spec.write(FIELDS)
    rows = ("file,start,end,label,score,severity,fault_code\n"
            "data/week-01.csv,2021-01-01 00:10:00,2021-01-01 00:20:00,Anomaly,0.9,high,F-12\n"
            "data/week-01.csv,2021-01-01 00:30:00,2021-01-01 00:35:00,Maintenance,0.2,,\n")
    add_predictions(specs, name, rows)
    applied = run_cli(["apply", str(specs), "--auto-approve"], stack_env)
    assert applied.returncode == 0, applied.stderr
    assert "Predictions: 1 to add" in applied.stdout, applied.stdout
    project = find_project(ls, name)
    (prediction,) = ls.predictions.list(project=project.id)
    by_name = {(r["from_name"], r["type"]): r for r in prediction.result}
    assert set(by_name) == {("label", "timeserieslabels"), ("severity", "choices"), ("fault_code", "textarea")}
    anomaly = [r for r in prediction.result if r["type"] == "timeserieslabels"
               and r["value"]["timeserieslabels"] == ["Anomaly"]][0]
    severity, code = by_name[("severity", "choices")], by_name[("fault_code", "textarea")]
    assert severity["id"] == code["id"] == anomaly["id"] and severity["to_name"] == "ts"
    assert severity["value"] == {"start": "2021-01-01 00:10:00", "end": "2021-01-01 00:20:00", "instant": False,
                                 "choices": ["high"]}
    assert code["value"]["text"] == ["F-12"]
    again = run_cli(["plan", str(specs)], stack_env)
    assert again.returncode == 0 and again.stdout.strip() == "No changes.", again.stdout + again.stderr

    (specs / "predictions" / "detector.csv").write_text(rows.replace(",high,", ",low,"))
    changed = run_cli(["plan", str(specs)], stack_env)
    assert "Predictions: 0 to add, 1 to replace, 0 to remove." in changed.stdout, changed.stdout + changed.stderr


def fields_specs(folder, bucket: str, name: str, fields: str, out) -> object:
    """``write_specs``' project with ``fields`` (YAML under ``region_fields:``) and a table Export into ``out``."""
    specs = write_specs(folder, bucket, name)
    with open(specs / "specs.yaml", "a") as spec:
        spec.write(f"region_fields:\n{fields}---\nkind: Export\nname: {name}-table\nproject: {name}\n"
                   f"output: {out}/table.csv\n")
    return specs


def test_a_renamed_field_and_choice_carry_the_annotation_then_export_and_a_no_op_and_a_used_choice_blocks(
        stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"fr-{uid}"
    out = tmp_path / "out"
    before = fields_specs(tmp_path / "a", bucket, name, "  - {name: sev, type: choices, values: [low, severe]}\n", out)
    assert run_cli(["apply", str(before), "--auto-approve"], stack_env).returncode == 0
    project = find_project(ls, name)
    (task,) = ls.tasks.list(project=project.id)
    span = {"start": "2021-01-01 00:10:00", "end": "2021-01-01 00:12:00", "instant": False}
    annotation = ls.annotations.create(id=task.id, result=[
        result("r1", "label", "timeserieslabels", {**span, "timeserieslabels": ["Anomaly"]}),
        result("r1", "sev", "choices", {**span, "choices": ["severe"]})])
    prediction = ls.predictions.create(task=task.id, model_version="m1", result=[
        result("p1", "label", "timeserieslabels", {**span, "timeserieslabels": ["Anomaly"]}),
        result("p1", "sev", "choices", {**span, "choices": ["low"]})])

    renamed = fields_specs(tmp_path / "b", bucket, name, "  - {name: severity, renamed_from: sev, type: choices, "
                           "values: [low, {value: high, renamed_from: severe}]}\n", out)
    plan = run_cli(["plan", str(renamed)], stack_env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert (f"  ~ rename field {name}: sev → severity (2 result(s) in 1 annotation(s), 0 draft(s), 1 prediction(s))"
            in plan.stdout), plan.stdout
    assert (f"  ~ rename choice {name}: severe → high of severity (1 result(s) in 1 annotation(s), 0 draft(s), "
            "0 prediction(s))") in plan.stdout
    assert "label-removal" not in plan.stdout

    applied = run_cli(["apply", str(renamed), "--auto-approve", "--backup-dir", str(tmp_path / "backups")], stack_env)
    assert applied.returncode == 0, applied.stderr
    assert f"Saved what rename field {name}: sev → severity and rename choice {name}: " in applied.stderr
    saved = ls.annotations.get(id=annotation.id).result
    assert [(r["from_name"], r["value"].get("choices")) for r in saved] == [("label", None), ("severity", ["high"])]
    assert [r["from_name"] for r in ls.predictions.get(id=prediction.id).result] == ["label", "severity"]
    live = ET.fromstring(ls.projects.get(id=project.id).label_config)
    assert live.find(".//Choices[@name='sev']") is None
    assert [c.get("value") for c in live.find(".//Choices[@name='severity']")] == ["low", "high"]

    exported = run_cli(["export", str(renamed)], stack_env)
    assert exported.returncode == 0 and "Warning" not in exported.stderr, exported.stderr
    table = list(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    assert [(r["label"], r["severity"]) for r in table] == [("Anomaly", "high")] and "sev" not in table[0]
    again = run_cli(["plan", str(renamed)], stack_env)
    assert again.returncode == 0 and again.stdout.strip() == "No changes.", again.stdout + again.stderr

    dropped = fields_specs(tmp_path / "c", bucket, name, "  - {name: severity, renamed_from: sev, type: choices, "
                           "values: [low]}\n", out)
    blocked = run_cli(["plan", str(dropped)], stack_env)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert (f"! label-removal {name}: the template change would orphan annotations or drafts: choice high of "
            f"severity: 1 result(s) (blocks apply; allow with --allow-label-removal {name})") in blocked.stdout
