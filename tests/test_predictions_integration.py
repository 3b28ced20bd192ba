"""Predictions specs through the CLI against the real Label Studio and S3 servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli, upload_csvs
from .test_apply_integration import apply, find_project, write_specs

pytestmark = pytest.mark.integration

ROWS = """\
file,start,end,label,score
data/week-01.csv,2021-01-01 00:10:00,2021-01-01 00:20:00,Anomaly,0.9
data/week-01.csv,2021-01-01T00:30:00Z,2021-01-01 00:35:00,Maintenance,0.2
data/week-02.csv,2021-01-08 00:05:00,2021-01-08 00:15:00,Anomaly,0.7
data/week-02.csv,2021-01-08 00:20:00,2021-01-08 00:25:00,Crack,0.5
"""


def add_predictions(folder: Path, name: str, rows: str, file: str = "predictions/detector.csv") -> Path:
    """A Predictions spec of model iforest-1 for project ``name``, its file beside the specs."""
    with open(folder / "specs.yaml", "a") as specs:
        specs.write(f"---\nkind: Predictions\nname: {name}-detector\nproject: {name}\nmodel_version: iforest-1\n"
                    f"file: {file}\n")
    (folder / "predictions").mkdir(exist_ok=True)
    (folder / "predictions" / "detector.csv").write_text(rows)
    return folder


def parquet(columns: dict[str, list]) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def predictions_of(ls, project_id: int) -> dict[int, list]:
    """Task id -> its predictions (model version, id, score, regions as (start, end, label))."""
    found: dict[int, list] = {}
    for p in ls.predictions.list(project=project_id):
        regions = sorted((r["value"]["start"], r["value"]["end"], r["value"]["timeserieslabels"][0])
                         for r in p.result)
        found.setdefault(p.task, []).append((p.model_version, p.id, p.score, regions))
    return {task: sorted(items) for task, items in found.items()}


def test_a_first_apply_ends_with_the_predictions_on_its_new_tasks_then_a_changed_file_in_s3_as_parquet(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=2)
    name = f"pr-{uid}"
    specs = add_predictions(write_specs(tmp_path / "s", bucket, name), name, ROWS)

    plan = run_cli(["plan", str(specs), "--json"], stack_env)
    (later,) = [c for c in json.loads(plan.stdout)["changes"] if c["type"] == "predictions"]
    assert (later["after_sync"], later["tasks"], later["add"]) == (True, "(known after apply)", 2)
    first = apply(specs, stack_env)  # creates the project, imports its tasks, then puts the predictions on them
    assert first.returncode == 0, first.stderr
    assert "  + predictions " + name + "/iforest-1 (instance local): 2 to add after the sync (tasks known after apply)" \
        in first.stdout
    assert "Predictions: 2 to add, 0 to replace, 0 to remove." in first.stdout
    assert f"predictions/detector.csv:5: label 'Crack' is not a label of project {name} (Anomaly, Maintenance)" \
        in first.stdout
    assert "skipped 1 of 4 row(s)" in first.stdout
    assert first.stderr.index(f"sync storage {name}/source: done") < first.stderr.index(
        f"set predictions {name}/iforest-1 on the tasks synced (+2): done")
    project = find_project(ls, name)
    tasks = {t.storage_filename: t.id for t in ls.tasks.list(project=project.id)}
    week1, week2 = tasks["data/week-01.csv"], tasks["data/week-02.csv"]
    live = predictions_of(ls, project.id)
    ours = {task: [p for p in items if p[0] == "iforest-1"] for task, items in live.items()}
    assert [(p[2], p[3]) for p in ours[week1]] == [(0.9, [("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly"),
                                                         ("2021-01-01 00:30:00", "2021-01-01 00:35:00", "Maintenance")])]
    assert [(p[2], p[3]) for p in ours[week2]] == [(0.7, [("2021-01-08 00:05:00", "2021-01-08 00:15:00", "Anomaly")])]
    after_first = run_cli(["plan", str(specs)], stack_env)
    assert after_first.returncode == 0 and after_first.stdout.strip().endswith("No changes."), after_first.stdout
    theirs = ls.predictions.create(task=week1, model_version="someone-else", score=0.1, result=[])

    third = apply(specs, stack_env)
    assert third.returncode == 0 and third.stdout.strip().endswith("No changes.")
    assert ", 0 writes)" in third.stderr

    # the detector's next run, as Parquet in the bucket: week 1's region changes, week 2 is no longer flagged
    s3.put_object(Bucket=bucket, Key="models/detector.parquet", Body=parquet(
        {"file": ["data/week-01.csv"], "start": ["2021-01-01 00:10:00"], "end": ["2021-01-01 00:25:00"],
         "label": ["Anomaly"], "score": [0.95]}))
    text = (specs / "specs.yaml").read_text().replace("file: predictions/detector.csv",
                                                      f"file: s3://{bucket}/models/detector.parquet")
    (specs / "specs.yaml").write_text(text)
    plan = run_cli(["plan", str(specs), "--json", "--detailed-exitcode"], stack_env)
    assert plan.returncode == 2, plan.stderr
    (step,) = json.loads(plan.stdout)["changes"]
    assert (step["type"], step["add"], step["replace"], step["remove"]) == ("predictions", 0, 1, 1)
    assert apply(specs, stack_env).returncode == 0
    after = predictions_of(ls, project.id)
    (replaced,) = [p for p in after[week1] if p[0] == "iforest-1"]
    assert replaced[1] != ours[week1][0][1]  # a new prediction in place of the old one
    assert (replaced[2], replaced[3]) == (0.95, [("2021-01-01 00:10:00", "2021-01-01 00:25:00", "Anomaly")])
    assert [p[0] for p in after.get(week2, [])] == []
    assert ("someone-else", theirs.id, 0.1, []) in after[week1]  # another model version is never touched
    assert apply(specs, stack_env).stdout.strip().endswith("No changes.")


def test_a_predictions_file_that_cannot_be_read_stops_the_plan_with_one_line(stack_env, s3, ls, bucket, uid,
                                                                              tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"pu-{uid}"
    specs = add_predictions(write_specs(tmp_path / "s", bucket, name), name, "file,begin,end,label\n")
    result = apply(specs, stack_env)
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert line.endswith("Predictions pu-" + uid + f"-detector: file: cannot read {specs / 'predictions' / 'detector.csv'}"
                         ": no column 'start' (columns: file, begin, end, label); name them under columns:")
    assert find_project(ls, name) is None  # nothing touched
