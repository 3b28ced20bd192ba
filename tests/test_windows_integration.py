"""Windowed sources through the CLI against the real Label Studio and S3: a long CSV and a Parquet
object become window tasks, a re-plan is a no-op, an appended day adds only its windows, a region
drawn across an overlap exports as one interval on the original key, dense labels the original
rows, and an annotated window whose source changed blocks the plan."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import run_cli
from .test_apply_integration import find_project
from .test_export_integration import region

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=UTC)
FOLDER = ".lsts-sync/windows/default/{name}/"


def rows(start: datetime, hours: int, step_s: int = 60) -> list[tuple[str, float, float]]:
    return [((start + timedelta(seconds=s)).strftime("%Y-%m-%d %H:%M:%S"), s / 60, 60 + s / 3600)
            for s in range(0, hours * 3600, step_s)]


def csv_bytes(found: list[tuple[str, float, float]]) -> bytes:
    return ("timestamp,vibration,temperature\n" + "".join(f"{t},{v},{c}\n" for t, v, c in found)).encode()


def parquet_bytes(found: list[tuple[str, float, float]]) -> bytes:
    stamps = pa.array([datetime.strptime(t, "%Y-%m-%d %H:%M:%S") for t, _, _ in found], pa.timestamp("ms"))
    table = pa.table({"timestamp": stamps, "vibration": [v for _, v, _ in found],
                      "temperature": [c for _, _, c in found]})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=500)
    return out.getvalue()


def write_specs(folder: Path, bucket: str, name: str, out: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "specs.yaml").write_text(f"""\
kind: Instance
name: local
url: ${{LABEL_STUDIO_URL}}
token: ${{LABEL_STUDIO_API_KEY}}
---
kind: Bucket
name: {bucket}
endpoint_url: ${{S3_ENDPOINT_URL}}
---
kind: Project
name: {name}
instance: local
source:
  bucket: {bucket}
  prefix: raw/
  pattern: '.*\\.(csv|parquet)'
  window: {{duration: 6h, overlap: 10m}}
timeseries:
  time_column: timestamp
  time_format: '%Y-%m-%d %H:%M:%S'
  channels:
    - column: vibration
    - column: temperature
labels:
  - value: Anomaly
  - value: Maintenance
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
output: {out}/dense.parquet
""")
    return folder


def plan(specs: Path, env: dict, *extra: str):
    return run_cli(["plan", str(specs), *extra], env)


def apply(specs: Path, env: dict, *extra: str):
    return run_cli(["apply", str(specs), "--auto-approve", *extra], env)


def window_keys(s3, bucket: str, name: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=FOLDER.format(name=name)).get("Contents", [])
    return sorted(o["Key"] for o in listed if o["Key"].endswith(".csv"))


@pytest.fixture
def windowed(stack_env, s3, bucket, uid, tmp_path):
    """A project over a 1-day CSV and a 12-hour Parquet object, applied once."""
    name = f"w-{uid}"
    s3.put_object(Bucket=bucket, Key="raw/day1.csv", Body=csv_bytes(rows(START, 24)))
    s3.put_object(Bucket=bucket, Key="raw/half.parquet", Body=parquet_bytes(rows(START, 12)))
    specs = write_specs(tmp_path / "specs", bucket, name, tmp_path / "out")
    first = apply(specs, stack_env)
    assert first.returncode == 0, first.stderr
    return name, specs, first


def test_long_csv_and_parquet_become_window_tasks_and_replan_is_a_noop(windowed, stack_env, s3, ls, bucket) -> None:
    name, specs, first = windowed
    assert "+ windows " + name + ": 6 file(s) from 2 object(s)" in first.stdout
    folder = FOLDER.format(name=name)
    keys = window_keys(s3, bucket, name)
    assert keys == sorted([f"{folder}raw/day1.csv/20260101T{h:02d}0000Z.csv" for h in (0, 6, 12, 18)]
                          + [f"{folder}raw/half.parquet/20260101T{h:02d}0000Z.csv" for h in (0, 6)])
    body = s3.get_object(Bucket=bucket, Key=f"{folder}raw/half.parquet/20260101T060000Z.csv")["Body"].read().decode()
    lines = body.splitlines()
    assert lines[0] == "timestamp,vibration,temperature"
    assert lines[1].startswith("2026-01-01 06:00:00,360")
    assert len(lines) == 1 + 360  # 6 h of minutes; the overlap lies past the object's end
    six = s3.get_object(Bucket=bucket, Key=f"{folder}raw/day1.csv/20260101T000000Z.csv")["Body"].read().decode()
    assert six.splitlines()[-1].startswith("2026-01-01 06:09:00")  # 10 minutes of overlap
    project = find_project(ls, name)
    tasks = sorted(t.storage_filename for t in ls.tasks.list(project=project.id))
    assert tasks == keys
    again = plan(specs, stack_env, "--detailed-exitcode")
    assert again.returncode == 0 and again.stdout.strip() == "No changes.", again.stdout + again.stderr


def test_an_appended_day_adds_only_its_windows(windowed, stack_env, s3, ls, bucket) -> None:
    name, specs, _ = windowed
    before = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=FOLDER.format(name=name))["Contents"]}
    s3.put_object(Bucket=bucket, Key="raw/day1.csv", Body=csv_bytes(rows(START, 48)))
    planned = plan(specs, stack_env)
    assert planned.returncode == 0, planned.stderr
    # the four new windows, and the last old one, which now holds its overlap into the new day
    assert f"+ windows {name}: 5 file(s) from 1 object(s) (1 rewritten)" in planned.stdout
    done = apply(specs, stack_env)
    assert done.returncode == 0, done.stderr
    after = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=FOLDER.format(name=name))["Contents"]}
    changed = sorted(k for k in after if k.endswith(".csv") and before.get(k) != after[k])
    folder = FOLDER.format(name=name)
    assert changed == [f"{folder}raw/day1.csv/20260101T180000Z.csv"] + [
        f"{folder}raw/day1.csv/20260102T{h:02d}0000Z.csv" for h in (0, 6, 12, 18)]
    project = find_project(ls, name)
    assert len(list(ls.tasks.list(project=project.id))) == 10
    assert plan(specs, stack_env).stdout.strip() == "No changes."


def test_region_across_an_overlap_exports_as_one_interval_and_dense_labels_the_original_rows(
        windowed, stack_env, s3, ls, bucket, tmp_path) -> None:
    name, specs, _ = windowed
    project = find_project(ls, name)
    folder = FOLDER.format(name=name)
    tasks = {t.storage_filename: t.id for t in ls.tasks.list(project=project.id)}
    # one event 05:55-06:20: drawn in the first window up to its overlap's end, and in the second from its start
    first, second = tasks[f"{folder}raw/day1.csv/20260101T000000Z.csv"], tasks[f"{folder}raw/day1.csv/20260101T060000Z.csv"]
    ls.annotations.create(id=first, result=[region("2026-01-01 05:55:00", "2026-01-01 06:09:00", "Anomaly")])
    ls.annotations.create(id=second, result=[region("2026-01-01 06:00:00", "2026-01-01 06:20:00", "Anomaly")])
    done = run_cli(["export", str(specs)], stack_env)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "out" / "table.csv", dtype=str)
    assert table[["file", "label", "start", "end"]].values.tolist() == [
        ["raw/day1.csv", "Anomaly", "2026-01-01 05:55:00", "2026-01-01 06:20:00"]]
    assert table["window"].tolist() == [f"{folder}raw/day1.csv/20260101T000000Z.csv|"
                                        f"{folder}raw/day1.csv/20260101T060000Z.csv"]
    dense = pd.read_parquet(tmp_path / "out" / "dense.parquet")
    assert sorted(dense["file"].unique()) == ["raw/day1.csv"]
    assert len(dense) == 24 * 60  # the original object's rows, once each
    labeled = dense[dense["label"] == "Anomaly"]["timestamp"].tolist()
    assert labeled[0] == "2026-01-01 05:55:00" and labeled[-1] == "2026-01-01 06:20:00" and len(labeled) == 26


def test_an_annotated_window_whose_source_changed_blocks_the_plan(windowed, stack_env, s3, ls, bucket) -> None:
    name, specs, _ = windowed
    project = find_project(ls, name)
    folder = FOLDER.format(name=name)
    tasks = {t.storage_filename: t.id for t in ls.tasks.list(project=project.id)}
    ls.annotations.create(id=tasks[f"{folder}raw/day1.csv/20260101T000000Z.csv"],
                          result=[region("2026-01-01 01:00:00", "2026-01-01 02:00:00", "Anomaly")])
    edited = rows(START, 24)
    edited[5] = (edited[5][0], 999.0, edited[5][2])  # a value in the first window changes
    s3.put_object(Bucket=bucket, Key="raw/day1.csv", Body=csv_bytes(edited))
    planned = plan(specs, stack_env)
    assert planned.returncode == 1
    assert "window-annotated" in planned.stdout and f"--allow-window-rewrite {name}" in planned.stdout
    refused = apply(specs, stack_env)
    assert refused.returncode == 1 and "nothing was changed" in refused.stderr
    allowed = apply(specs, stack_env, "--allow-window-rewrite", name)
    assert allowed.returncode == 0, allowed.stderr
    assert plan(specs, stack_env).stdout.strip() == "No changes."


def test_a_prediction_on_the_original_key_lands_on_every_window_it_overlaps(windowed, stack_env, s3, ls, bucket,
                                                                            tmp_path) -> None:
    name, specs, _ = windowed
    (specs / "predictions.csv").write_text("file,start,end,label,score\n"
                                           "raw/day1.csv,2026-01-01 05:50:00,2026-01-01 06:30:00,Anomaly,0.9\n")
    with open(specs / "specs.yaml", "a") as extra:
        extra.write(f"---\nkind: Predictions\nname: {name}-model\nproject: {name}\nmodel_version: m1\n"
                    "file: predictions.csv\n")
    done = apply(specs, stack_env)
    assert done.returncode == 0, done.stderr
    project = find_project(ls, name)
    folder = FOLDER.format(name=name)
    keys = {t.id: t.storage_filename for t in ls.tasks.list(project=project.id)}
    found = {keys[p.task]: p.result[0]["value"] for p in ls.predictions.list(project=project.id)}
    assert {k: (v["start"], v["end"]) for k, v in found.items()} == {
        f"{folder}raw/day1.csv/20260101T000000Z.csv": ("2026-01-01 05:50:00", "2026-01-01 06:09:00"),
        f"{folder}raw/day1.csv/20260101T060000Z.csv": ("2026-01-01 06:00:00", "2026-01-01 06:30:00")}
    assert plan(specs, stack_env).stdout.strip() == "No changes."
