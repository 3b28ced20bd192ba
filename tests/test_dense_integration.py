"""lsts-sync export of the dense format and Parquet through the CLI against the real Label Studio and S3."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from .conftest import run_cli
from .test_apply_integration import find_project, write_specs
from .test_export_integration import region

pytestmark = pytest.mark.integration

SOURCE = """timestamp,vibration,temperature
2021-01-01 00:00:00,2.0,60.1
2021-01-01 00:01:00,2.10,60.2
2021-01-01 00:02:00,2.2,60.3
2021-01-01 00:03:00,2.3,60.4
2021-01-01 00:04:00,2.4,60.5
2021-01-01 00:05:00,2.5,60.6
"""
EXPECTED = """file,timestamp,vibration,temperature,label
data/a.csv,2021-01-01 00:00:00,2.0,60.1,
data/a.csv,2021-01-01 00:01:00,2.10,60.2,Anomaly
data/a.csv,2021-01-01 00:02:00,2.2,60.3,Anomaly
data/a.csv,2021-01-01 00:03:00,2.3,60.4,Anomaly|Maintenance
data/a.csv,2021-01-01 00:04:00,2.4,60.5,Maintenance
data/a.csv,2021-01-01 00:05:00,2.5,60.6,Maintenance
data/b.csv,2021-01-01 00:00:00,2.0,60.1,
data/b.csv,2021-01-01 00:01:00,2.10,60.2,
data/b.csv,2021-01-01 00:02:00,2.2,60.3,
data/b.csv,2021-01-01 00:03:00,2.3,60.4,
data/b.csv,2021-01-01 00:04:00,2.4,60.5,
data/b.csv,2021-01-01 00:05:00,2.5,60.6,
"""


def test_dense_export_csv_and_parquet_locally_and_to_s3(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    for key in ("data/a.csv", "data/b.csv", "data/c.csv"):
        s3.put_object(Bucket=bucket, Key=key, Body=SOURCE.encode())
    name = f"d-{uid}"
    specs = write_specs(tmp_path / "specs", bucket, name)
    out = tmp_path / "out"
    with open(specs / "specs.yaml", "a") as extra:
        extra.write(f"""---
kind: Export
name: {name}-dense
project: {name}
format: dense
output: {out}/dense.csv
---
kind: Export
name: {name}-split
project: {name}
format: dense
split: '{{stem}}.parquet'
output: {out}/split/unused
---
kind: Export
name: {name}-s3
project: {name}
format: dense
output: s3://{bucket}/exports/dense.parquet
---
kind: Export
name: {name}-s3-folder
project: {name}
split: '{{stem}}-labels.csv'
output: s3://{bucket}/exports/split/
""")
    assert run_cli(["apply", str(specs), "--auto-approve"], stack_env).returncode == 0
    project = find_project(ls, name)
    tasks = {t.storage_filename: t.id for t in ls.tasks.list(project=project.id)}
    # a: overlapping regions and an instant at the last row; b: an empty annotation; c: not annotated
    ls.annotations.create(id=tasks["data/a.csv"], result=[
        region("2021-01-01 00:01:00", "2021-01-01 00:03:00", "Anomaly"),
        region("2021-01-01 00:03:00", "2021-01-01 00:04:00", "Maintenance"),
        region("2021-01-01 00:05:00", "2021-01-01 00:05:00", "Maintenance", instant=True)])
    ls.annotations.create(id=tasks["data/b.csv"], result=[])

    result = run_cli(["export", str(specs)], stack_env)
    assert result.returncode == 0, result.stderr
    assert f"{name}-dense: wrote {out}/dense.csv (12 rows)" in result.stdout
    assert (out / "dense.csv").read_text() == EXPECTED

    expected = pd.read_csv(io.StringIO(EXPECTED), dtype=str, keep_default_na=False)
    a = pd.read_parquet(out / "split" / "a.parquet")
    pd.testing.assert_frame_equal(a, expected[expected.file == "data/a.csv"].drop(columns="file").reset_index(drop=True))
    assert sorted(p.name for p in (out / "split").iterdir()) == ["a.parquet", "b.parquet"]
    body = s3.get_object(Bucket=bucket, Key="exports/dense.parquet")
    assert body["ContentType"] == "application/vnd.apache.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(body["Body"].read())), expected)
    assert list(ls.projects.exports.list(id=project.id)) == []  # every snapshot was deleted
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="exports/split/")["Contents"]
    assert [o["Key"] for o in listed] == ["exports/split/a-labels.csv"]  # an S3 folder: no object of its own
    assert len(pd.read_csv(s3.get_object(Bucket=bucket, Key="exports/split/a-labels.csv")["Body"])) == 3
