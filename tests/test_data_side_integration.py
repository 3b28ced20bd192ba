"""Specs from the data, through the CLI against the real stack: channels: auto, data checks on template
changes, pending imports, and `lsts-sync check` over every row."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from .conftest import run_cli, upload_csvs
from .test_apply_integration import apply, find_project, write_specs

pytestmark = pytest.mark.integration


def wide_csv(columns: list[str], rows: int = 5, bad_row: int | None = None) -> bytes:
    lines = ["Timestamp," + ",".join(columns)]
    for i in range(rows):
        stamp = f"2021-01-01 00:{i:02d}:00" if i + 2 != bad_row else f"01/01/2021 00:{i:02d}"
        lines.append(stamp + "," + ",".join(str(i + j) for j in range(len(columns))))
    return ("\n".join(lines) + "\n").encode()


def auto_specs(folder: Path, bucket: str, name: str, extra: str = "") -> Path:
    """The shape of ../shared/examples/pump-7.yaml, with channels: auto."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "specs.yaml").write_text(f"""\
kind: Instance
name: local
url: ${{LABEL_STUDIO_URL:-http://localhost:8080}}
token: ${{LABEL_STUDIO_API_KEY}}
---
kind: Bucket
name: {bucket}
region: us-east-1
endpoint_url: ${{S3_ENDPOINT_URL:-}}
cors:
  managed: true
---
kind: Project
name: {name}
instance: local
title: Wide {name}
source:
  bucket: {bucket}
  prefix: wide/
  pattern: '.*\\.csv'
  presign_ttl: 60
  credentials: environment
  sync: true
timeseries:
  time_column: timestamp
  time_format: '%Y-%m-%d %H:%M:%S'
  channels: auto
{extra}labels:
  - value: Anomaly
    color: '#d62728'
""")
    return folder


def test_channels_auto_on_a_wide_csv(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    columns = [f"Sensor_{i:02d}" for i in range(40)]
    s3.put_object(Bucket=bucket, Key="wide/a.csv", Body=wide_csv(columns))
    name = f"w-{uid}"
    extra = "  exclude_columns: [sensor_39]\n  channel_settings:\n    Sensor_00: {legend: First, units: mm/s}\n"
    specs = auto_specs(tmp_path / "a", bucket, name, extra)
    validated = run_cli(["validate", str(specs)], stack_env)
    assert f"Project {name}: channels: auto waits on the data" in validated.stdout
    result = apply(specs, stack_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '    channels: "' + ", ".join(c.lower() for c in columns[:39]) + '"' in result.stdout
    config = ls.projects.get(id=find_project(ls, name).id).label_config
    channels = re.findall(r'<Channel column="([^"]+)"', config)
    assert channels == [c.lower() for c in columns[:39]]
    assert 'legend="First"' in config and 'units="mm/s"' in config and 'strokeColor="#ff7f0e"' in config
    assert 'legend="Sensor_01"' in config  # the header's own spelling
    again = run_cli(["plan", str(specs)], stack_env)
    assert again.stdout.strip() == "No changes.", again.stdout
    rendered = run_cli(["render", str(specs), "--project", name, "--resolve"], stack_env)
    assert rendered.stdout.count("<Channel ") == 39

    # a new column in the data is a template update
    s3.put_object(Bucket=bucket, Key="wide/a.csv", Body=wide_csv(columns + ["Extra"]))
    grown = run_cli(["plan", str(specs)], stack_env)
    assert "~ project" in grown.stdout and '+    <Channel column="extra" legend="Extra"' in grown.stdout, grown.stdout


def test_a_template_change_that_breaks_the_chart_is_blocked(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=2)
    name = f"b-{uid}"
    assert apply(write_specs(tmp_path / "a", bucket, name), stack_env).returncode == 0
    before = ls.projects.get(id=find_project(ls, name).id).label_config
    text = (tmp_path / "a" / "specs.yaml").read_text()
    cases = {"time_format": text.replace("'%Y-%m-%d %H:%M:%S'", "'%d/%m/%Y %H:%M'"),
             "channel": text.replace("- column: temperature", "- column: temp"),
             "time_column": text.replace("time_column: timestamp", "time_column: time")}
    for case, changed in cases.items():
        folder = tmp_path / case
        folder.mkdir()
        (folder / "specs.yaml").write_text(changed)
        plan = run_cli(["plan", str(folder)], stack_env)
        assert plan.returncode == 1, (case, plan.stdout)
        assert f"! data {name}: s3://{bucket}/data/week-01.csv:" in plan.stdout and "(template change)" in plan.stdout
        refused = apply(folder, stack_env)
        assert refused.returncode == 1 and "nothing was changed" in refused.stderr
        assert ls.projects.get(id=find_project(ls, name).id).label_config == before, case


def test_a_new_object_is_a_change_and_apply_imports_it(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"n-{uid}"
    specs = write_specs(tmp_path / "a", bucket, name)
    assert apply(specs, stack_env).returncode == 0
    assert run_cli(["plan", str(specs), "--detailed-exitcode"], stack_env).returncode == 0
    time.sleep(2.5)  # S3 and Label Studio clocks: a change within 2 s of the import is not reported
    upload_csvs(s3, bucket, "data/", count=3)  # week-01 again (same content, newer) and two new files
    plan = run_cli(["plan", str(specs), "--detailed-exitcode"], stack_env)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert f"» sync storage {name}/source (2 new object(s))" in plan.stdout
    assert f"Warning: {name}: 1 object(s) changed after their import, e.g. data/week-01.csv" in plan.stdout
    result = apply(specs, stack_env)
    assert result.returncode == 0 and "2 task(s) imported" in result.stdout, result.stdout
    project = find_project(ls, name)
    assert len(list(ls.tasks.list(project=project.id))) == 3
    assert run_cli(["plan", str(specs), "--detailed-exitcode"], stack_env).returncode == 0


def test_check_reads_every_row_of_every_object(stack_env, s3, bucket, uid, tmp_path) -> None:
    columns = ["vibration", "temperature"]
    s3.put_object(Bucket=bucket, Key="wide/1.csv", Body=wide_csv(columns, rows=50))
    s3.put_object(Bucket=bucket, Key="wide/2.csv", Body=wide_csv(columns, rows=50, bad_row=37))
    s3.put_object(Bucket=bucket, Key="wide/3.csv", Body=wide_csv(columns, rows=50))
    name = f"c-{uid}"
    specs = auto_specs(tmp_path / "a", bucket, name)
    plan = run_cli(["plan", str(specs)], stack_env)
    assert plan.returncode == 1 and f"s3://{bucket}/wide/2.csv:37: time '01/01/2021 00:35'" in plan.stdout
    result = run_cli(["check", str(specs), "--project", name], stack_env)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if not line.startswith("warning: ")]
    assert errors == [f"s3://{bucket}/wide/2.csv:37: time '01/01/2021 00:35' does not match time_format "
                      "'%Y-%m-%d %H:%M:%S'"]
    assert re.search(r"Checked 3 object\(s\), .* MB/s\): 1 error\(s\), \d+ warning\(s\)", result.stderr)
