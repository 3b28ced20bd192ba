"""lsts-sync report through the CLI against the real Label Studio and S3 servers: two annotators,
a cancelled annotation and a predictions file, checked in the JSON."""

from __future__ import annotations

import json

import pytest

from .conftest import run_cli, upload_csvs
from .test_apply_integration import find_project, write_specs
from .test_export_integration import region

pytestmark = pytest.mark.integration

# The detector's file: week 1 Anomaly exactly as labeled; week 1 Maintenance beside the label;
# week 2 Anomaly shifted (IoU 6/16 with the label: no match at 0.5)
PREDICTED = """\
file,start,end,label,score
data/week-01.csv,2021-01-01 00:10:00,2021-01-01 00:20:00,Anomaly,0.9
data/week-01.csv,2021-01-01 00:40:00,2021-01-01 00:45:00,Maintenance,0.4
data/week-02.csv,2021-01-08 00:10:00,2021-01-08 00:20:00,Anomaly,0.7
"""


def at(week: int, minute: int) -> str:
    return f"2021-01-{1 + 7 * (week - 1):02d} 00:{minute:02d}:00"


def test_report_of_two_annotators_and_a_model_version(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=4)  # 60 rows each, one a minute; week 4 stays unlabeled
    name = f"rp-{uid}"
    specs = write_specs(tmp_path / "s", bucket, name)
    with open(specs / "specs.yaml", "a") as file:
        file.write(f"---\nkind: Predictions\nname: {name}-detector\nproject: {name}\nmodel_version: iforest-1\n"
                   "file: predicted.csv\n")
    (specs / "predicted.csv").write_text(PREDICTED)
    assert run_cli(["apply", str(specs), "--auto-approve"], stack_env).returncode == 0
    project = find_project(ls, name)
    tasks = {t.storage_filename: t.id for t in ls.tasks.list(project=project.id)}
    bob = ls.users.create(username=f"bob-{uid}", email=f"bob-{uid}@example.com", password="x-" + uid)

    week1, week2, week3 = (tasks[f"data/week-0{w}.csv"] for w in (1, 2, 3))
    ls.annotations.create(id=week1, result=[region(at(1, 10), at(1, 20), "Anomaly")])
    ls.annotations.create(id=week1, completed_by=bob.id, result=[  # the later one: week 1's reference
        region(at(1, 10), at(1, 20), "Anomaly"), region(at(1, 30), at(1, 35), "Maintenance")])
    ls.annotations.create(id=week2, result=[region(at(2, 5), at(2, 15), "Anomaly")])
    ls.annotations.create(id=week3, result=[region(at(3, 5), at(3, 15), "Anomaly")], was_cancelled=True)

    result = run_cli(["report", str(specs), "--json"], stack_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format_version"] == 1
    found = report["projects"][name]
    assert (found["tasks"], found["annotated"], found["cancelled"]) == (4, 2, 1)
    assert found["annotators"] == {"admin@example.com": 2, f"bob-{uid}@example.com": 1}
    assert found["labels"] == {"Anomaly": 2, "Maintenance": 1}

    model = found["models"]["iforest-1"]
    assert list(model) == ["all", "Anomaly", "Maintenance"]
    assert model["Anomaly"]["event"] == {"tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert model["Maintenance"]["event"] == {"tp": 0, "fp": 1, "fn": 1, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert model["all"]["event"]["tp"] == 1 and model["all"]["event"]["f1"] == pytest.approx(1 / 3)
    # rows: Anomaly labeled 11 + 11, predicted 11 + 11, both 11 + 6; Maintenance 6 apart from 6
    assert model["Anomaly"]["rows"] == {"precision": 17 / 22, "recall": 17 / 22, "f1": pytest.approx(17 / 22)}
    assert model["all"]["rows"]["precision"] == pytest.approx(17 / 28)
    # range: week 1 fully recalled, week 2 6 of 11 rows, Maintenance nothing
    assert model["Anomaly"]["range"]["recall"] == pytest.approx((1 + 6 / 11) / 2)
    assert model["all"]["range"]["recall"] == pytest.approx((1 + 6 / 11) / 3)

    # week 1: admin (Anomaly) against bob (Anomaly, Maintenance), 60 rows
    assert found["agreement"]["tasks"] == 1 and found["agreement"]["pairs"] == 1
    assert found["agreement"]["event_f1"] == pytest.approx(2 / 3)
    assert found["agreement"]["alpha"] == pytest.approx(1 - 119 * 12 / (120 ** 2 - (92 ** 2 + 22 ** 2 + 6 ** 2)))

    text = run_cli(["report", str(specs), "--project", name], stack_env)
    assert text.returncode == 0 and f"Project {name}: 4 task(s), 2 annotated, 1 cancelled" in text.stdout
