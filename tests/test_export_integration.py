"""lsts-sync export through the CLI against the real Label Studio and S3 servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_cli, upload_csvs
from .test_apply_integration import find_project, write_specs

pytestmark = pytest.mark.integration


def region(start: str, end: str, *labels: str, instant: bool = False) -> dict:
    return {"from_name": "label", "to_name": "ts", "type": "timeserieslabels",
            "value": {"start": start, "end": end, "instant": instant, "timeserieslabels": list(labels)}}


def add_exports(folder: Path, name: str, bucket: str, out: Path) -> None:
    with open(folder / "specs.yaml", "a") as specs:
        specs.write(f"""\
---
kind: Export
name: {name}-lookout
project: {name}
format: lookout
labels: [Anomaly]
time_format: '%Y-%m-%dT%H:%M:%S.%f'
output: {out}/labels.csv
---
kind: Export
name: {name}-table
project: {name}
split: '{{stem}}-regions.csv'
output: {out}/regions.csv
---
kind: Export
name: {name}-s3
project: {name}
format: lookout
output: s3://{bucket}/exports/labels.csv
""")


def test_export_both_formats_locally_and_to_s3(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=3)
    name = f"x-{uid}"
    specs = write_specs(tmp_path / "specs", bucket, name)
    out = tmp_path / "out"
    add_exports(specs, name, bucket, out)
    assert run_cli(["apply", str(specs), "--auto-approve"], stack_env).returncode == 0
    project = find_project(ls, name)
    tasks = {t.storage_filename: t.id for t in ls.tasks.list(project=project.id)}
    t1, t2, t3 = tasks["data/week-01.csv"], tasks["data/week-02.csv"], tasks["data/week-03.csv"]

    first = ls.annotations.create(id=t1, result=[region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly")])
    latest = ls.annotations.create(id=t1, result=[
        region("2021-01-01 00:30:00", "2021-01-01 00:40:00", "Anomaly", "Maintenance"),
        region("2021-01-01 00:05:00", "2021-01-01 00:05:00", "Maintenance", instant=True)])
    ls.annotations.create(id=t2, result=[region("2021-01-08 05:00:00", "2021-01-08 06:00:00", "Anomaly")],
                          was_cancelled=True)
    other = ls.annotations.create(id=t3, result=[region("2021-01-15 01:00:00", "2021-01-15 02:00:00", "Anomaly")])
    assert first.id != latest.id

    result = run_cli(["export", str(specs)], stack_env)
    assert result.returncode == 0, result.stderr
    assert f"{name}-table: wrote {out}/regions.csv (4 rows)" in result.stdout

    assert (out / "labels.csv").read_text() == (
        "2021-01-01T00:30:00.000000,2021-01-01T00:40:00.000000\n"
        "2021-01-15T01:00:00.000000,2021-01-15T02:00:00.000000\n")
    fresh = {a.id: a for a in (ls.annotations.get(id=latest.id), ls.annotations.get(id=other.id))}

    def row(task_id, file, label, start, end, instant, ann):
        return (f"{name},{task_id},{file},{label},{start},{end},{instant},{ann},admin@example.com,"
                f"{fresh[ann].updated_at.isoformat().replace('+00:00', 'Z')}")

    expected = "\n".join([
        "project,task_id,file,label,start,end,instant,annotation_id,annotator,updated_at",
        row(t1, "data/week-01.csv", "Maintenance", "2021-01-01 00:05:00", "2021-01-01 00:05:00", True, latest.id),
        row(t1, "data/week-01.csv", "Anomaly", "2021-01-01 00:30:00", "2021-01-01 00:40:00", False, latest.id),
        row(t1, "data/week-01.csv", "Maintenance", "2021-01-01 00:30:00", "2021-01-01 00:40:00", False, latest.id),
        row(t3, "data/week-03.csv", "Anomaly", "2021-01-15 01:00:00", "2021-01-15 02:00:00", False, other.id),
    ]) + "\n"
    assert (out / "regions.csv").read_text() == expected
    lines = expected.splitlines(keepends=True)
    assert (out / "week-01-regions.csv").read_text() == "".join(lines[:4])
    assert (out / "week-03-regions.csv").read_text() == lines[0] + lines[4]
    body = s3.get_object(Bucket=bucket, Key="exports/labels.csv")["Body"].read().decode()
    assert body == ("2021-01-01 00:05:00,2021-01-01 00:05:00\n2021-01-01 00:30:00,2021-01-01 00:40:00\n"
                    "2021-01-15 01:00:00,2021-01-15 02:00:00\n")


def test_export_of_missing_project_touches_nothing(stack_env, bucket, uid, tmp_path) -> None:
    name = f"x-{uid}"
    specs = write_specs(tmp_path / "specs", bucket, name)
    out = tmp_path / "out"
    add_exports(specs, name, bucket, out)
    out.mkdir()
    (out / "regions.csv").write_text("previous good content\n")
    result = run_cli(["export", str(specs)], stack_env)
    assert result.returncode == 1
    assert f"project {name} does not exist in instance local yet" in result.stderr
    assert (out / "regions.csv").read_text() == "previous good content\n"
    assert not (out / "labels.csv").exists()


def test_export_and_usage_work_where_the_plain_export_is_gone(stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    """A server that answers 404 to GET .../export (as Label Studio Enterprise does): export and the
    label-removal guard both go through the snapshot API, and no snapshot is left behind."""
    from .faultproxy import FaultProxy

    upload_csvs(s3, bucket, "data/", count=1)
    name = f"n-{uid}"
    specs = write_specs(tmp_path / "specs", bucket, name)
    add_exports(specs, name, bucket, tmp_path / "out")
    assert run_cli(["apply", str(specs), "--auto-approve"], stack_env).returncode == 0
    project = find_project(ls, name)
    (task,) = ls.tasks.list(project=project.id)
    ls.annotations.create(id=task.id, result=[region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Maintenance")])

    def rule(method: str, path: str, n: int) -> str:
        return 'answer 404 {"detail": "Not found."}' if path.endswith("/export") else "pass"

    with FaultProxy(stack.ls_url, rule) as proxy:
        env = dict(stack_env, LABEL_STUDIO_URL=proxy.url)
        exported = run_cli(["export", str(specs), "--name", f"{name}-table"], env)
        write_specs(tmp_path / "specs", bucket, name, labels=("Anomaly",))
        planned = run_cli(["plan", str(specs)], env)
    assert exported.returncode == 0, exported.stderr
    assert "Maintenance" in (tmp_path / "out" / "week-01-regions.csv").read_text()
    assert planned.returncode == 1 and "Maintenance (label): 1 region(s)" in planned.stdout
    paths = [p for _, p, _ in proxy.log]
    assert f"/api/projects/{project.id}/exports/" in paths and any(p.endswith("/download") for p in paths)
    assert list(ls.projects.exports.list(id=project.id)) == []
