"""plan/apply through the CLI against the real Label Studio and S3 servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli, upload_csvs

pytestmark = pytest.mark.integration


def write_specs(folder: Path, bucket: str, name: str, *, ttl: int = 60, color: str = "#1f77b4",
                labels: tuple[str, ...] = ("Anomaly", "Maintenance"), prefix: str = "data/") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    label_yaml = "\n".join(f"  - value: {label}" for label in labels)
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
title: Test {name}
source:
  bucket: {bucket}
  prefix: {prefix}
  pattern: '.*\\.csv'
  presign_ttl: {ttl}
target:
  bucket: {bucket}
  prefix: annotations/{name}/
timeseries:
  time_column: timestamp
  time_format: '%Y-%m-%d %H:%M:%S'
  channels:
    - column: vibration
      color: '{color}'
    - column: temperature
labels:
{label_yaml}
""")
    return folder


def find_projects(ls, name: str, owner: str = "default") -> list:
    """Every project whose marker names ``owner`` and ``name``, by id."""
    marker = f"managed-by: lsts-sync owner={owner} name={name}"
    return sorted((p for p in ls.projects.list(page_size=1000, include="id,title,description")
                   if (p.description or "").endswith(marker)), key=lambda p: p.id)


def find_project(ls, name: str, owner: str = "default"):
    found = find_projects(ls, name, owner)
    assert len(found) <= 1, f"duplicate projects for {name}"
    return found[0] if found else None


def apply(folder: Path, env: dict, *extra: str):
    return run_cli(["apply", str(folder), "--auto-approve", "--stats", *extra], env)


def test_apply_creates_then_second_apply_changes_nothing(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    keys = upload_csvs(s3, bucket, "data/", count=3)
    s3.put_object(Bucket=bucket, Key="data/notes.txt", Body=b"ignored")
    specs = write_specs(tmp_path / "specs", bucket, f"p-{uid}")

    first = apply(specs, stack_env)
    assert first.returncode == 0, first.stderr
    assert "Plan: 4 to add, 0 to change, 0 to delete." in first.stdout
    assert "3 task(s) imported" in first.stdout
    project = find_project(ls, f"p-{uid}")
    tasks = list(ls.tasks.list(project=project.id))
    assert sorted(t.storage_filename for t in tasks) == sorted(keys)
    rule = [r for r in s3.get_bucket_cors(Bucket=bucket)["CORSRules"] if r.get("ID") == "lsts-sync"]
    assert rule[0]["AllowedOrigins"] == [stack_env["LABEL_STUDIO_URL"]]

    second = apply(specs, stack_env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "No changes."
    assert ", 0 writes)" in second.stderr
    plan = run_cli(["plan", str(specs), "--detailed-exitcode"], stack_env)
    assert plan.returncode == 0 and plan.stdout.strip() == "No changes."


@pytest.mark.parametrize("change, fields", [
    ({"ttl": 5}, ["presign_ttl"]),
    ({"color": "#ff0000"}, ["label_config"]),
    ({"labels": ("Anomaly", "Maintenance", "Sensor fault")}, ["label_config"]),
    ({"prefix": "data2/"}, ["prefix", "regex_filter"]),  # the filter is anchored behind the prefix
])
def test_one_spec_change_is_one_update_in_place(stack_env, s3, ls, bucket, uid, tmp_path, change, fields) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    upload_csvs(s3, bucket, "data2/", count=2)
    name = f"p-{uid}"
    assert apply(write_specs(tmp_path / "a", bucket, name), stack_env).returncode == 0
    before = find_project(ls, name)
    changed = write_specs(tmp_path / "b", bucket, name, **change)

    plan = run_cli(["plan", str(changed), "--json", "--detailed-exitcode"], stack_env)
    assert plan.returncode == 2, plan.stderr
    data = json.loads(plan.stdout)
    assert [(c["action"], [d["field"] for d in c["diff"]]) for c in data["changes"]] == [("update", fields)]

    result = apply(changed, stack_env)
    assert result.returncode == 0, result.stderr
    assert "Plan: 0 to add, 1 to change, 0 to delete." in result.stdout
    assert find_project(ls, name).id == before.id
    assert apply(changed, stack_env).stdout.strip() == "No changes."


def test_foreign_cors_rules_survive(stack_env, s3, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    foreign = {"ID": "their-rule", "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://example.org"],
               "AllowedHeaders": ["x-custom"]}
    anonymous = {"AllowedMethods": ["HEAD"], "AllowedOrigins": ["*"]}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [foreign, anonymous]})
    assert apply(write_specs(tmp_path / "s", bucket, f"p-{uid}"), stack_env).returncode == 0
    rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert foreign in rules and anonymous in rules
    assert [r["ID"] for r in rules if r.get("ID") == "lsts-sync"] == ["lsts-sync"]


def test_token_and_aws_secret_never_in_output(stack_env, s3, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    specs = write_specs(tmp_path / "s", bucket, f"p-{uid}")
    outputs = [apply(specs, stack_env), run_cli(["plan", str(specs), "--json"], stack_env),
               run_cli(["--debug", "plan", str(specs), "--markdown"], stack_env)]
    bad = dict(stack_env, LABEL_STUDIO_API_KEY="0" * 40)
    outputs.append(run_cli(["--debug", "plan", str(specs)], bad))
    assert outputs[-1].returncode == 1 and "token was refused" in outputs[-1].stderr
    for result in outputs:
        for secret in (stack_env["LABEL_STUDIO_API_KEY"], stack_env["AWS_SECRET_ACCESS_KEY"], "0" * 40):
            assert secret not in result.stdout + result.stderr


def test_apply_needs_auto_approve_without_terminal(stack_env, s3, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    result = run_cli(["apply", str(write_specs(tmp_path / "s", bucket, f"p-{uid}"))], stack_env)
    assert result.returncode == 1
    assert "pass --auto-approve" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_instance_is_one_line(stack_env, tmp_path, bucket, uid) -> None:
    env = dict(stack_env, LABEL_STUDIO_URL="http://127.0.0.1:9")
    result = run_cli(["plan", str(write_specs(tmp_path / "s", bucket, f"p-{uid}"))], env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        next(line for line in result.stderr.splitlines() if line.startswith("Error: instance local: cannot reach"))]


def test_browser_path_presigned_url_with_cors_serves_the_csv(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    """What the labeler's browser does: resolve the task URL, follow it to S3 with its Origin."""
    import httpx

    upload_csvs(s3, bucket, "data/", count=1)
    name = f"p-{uid}"
    assert apply(write_specs(tmp_path / "s", bucket, name), stack_env).returncode == 0
    (task,) = list(ls.tasks.list(project=find_project(ls, name).id))
    token = stack_env["LABEL_STUDIO_API_KEY"]
    resolved = httpx.get(task.data["csv"], headers={"Authorization": f"Token {token}"})
    assert resolved.status_code in (302, 303, 307), resolved.text[:200]
    origin = stack_env["LABEL_STUDIO_URL"]
    csv = httpx.get(resolved.headers["location"], headers={"Origin": origin})
    assert csv.status_code == 200 and csv.text.startswith("timestamp,vibration,temperature,pressure\n")
    assert csv.headers["access-control-allow-origin"] == origin
    assert csv.headers["access-control-allow-methods"] == "GET"
    assert "x-amz-request-id" in csv.headers["access-control-expose-headers"]


def _apply_on_terminal(specs: Path, env: dict, answer: str) -> tuple[int, str]:
    """Run apply with a pseudo-terminal as stdin and type ``answer`` at the prompt."""
    import os
    import pty
    import subprocess
    import sys

    from .conftest import ROOT

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "lsts_sync", "apply", str(specs)], stdin=slave,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True)
    os.close(slave)
    os.write(master, f"{answer}\n".encode())
    out, _ = proc.communicate(timeout=300)
    os.close(master)
    return proc.returncode, out


def test_apply_asks_on_a_terminal(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"p-{uid}"
    specs = write_specs(tmp_path / "s", bucket, name)
    code, out = _apply_on_terminal(specs, stack_env, "no")
    assert code == 1 and "Only 'yes' will be accepted" in out and "apply cancelled; nothing was changed" in out
    assert find_project(ls, name) is None
    code, out = _apply_on_terminal(specs, stack_env, "yes")
    assert code == 0, out
    assert "Apply complete" in out and find_project(ls, name) is not None


def tasks_of(ls, project_id: int) -> int:
    return len(list(ls.tasks.list(project=project_id)))


def test_a_saved_plan_is_applied_exactly_once(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=2)
    specs = write_specs(tmp_path / "specs", bucket, f"p-{uid}")
    saved = tmp_path / "plan.json"
    planned = run_cli(["plan", str(specs), "--out", str(saved)], stack_env)
    assert planned.returncode == 0, planned.stderr
    assert find_project(ls, f"p-{uid}") is None  # planning wrote nothing

    applied = run_cli(["apply", str(specs), "--plan", str(saved)], stack_env)  # no prompt, no --auto-approve
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete: 4 change(s), 1 sync(s)." in applied.stdout
    project = find_project(ls, f"p-{uid}")
    assert tasks_of(ls, project.id) == 2

    again = run_cli(["apply", str(specs), "--plan", str(saved)], stack_env)
    assert again.returncode == 1
    assert "saved plan refused: it has already been applied" in again.stderr
    assert len(find_projects(ls, f"p-{uid}")) == 1 and tasks_of(ls, project.id) == 2


def test_a_stale_saved_plan_is_refused_with_nothing_changed(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    specs = write_specs(tmp_path / "specs", bucket, f"p-{uid}")
    assert apply(specs, stack_env).returncode == 0
    project = find_project(ls, f"p-{uid}")
    write_specs(tmp_path / "specs", bucket, f"p-{uid}", color="#ff0000")
    saved = tmp_path / "plan.json"
    assert run_cli(["plan", str(specs), "--out", str(saved)], stack_env).returncode == 0
    ls.projects.update(id=project.id, title="Renamed by hand")  # the live side moves after the review
    before = ls.projects.get(id=project.id).label_config

    stale = run_cli(["apply", str(specs), "--plan", str(saved)], stack_env)
    assert stale.returncode == 1
    assert stale.stderr.strip().splitlines()[-1] == (
        f"Error: {saved}: saved plan refused: the live state has changed since it was made; run plan again; "
        "nothing was changed")
    after = ls.projects.get(id=project.id)
    assert after.label_config == before and after.title == "Renamed by hand"

    options = run_cli(["apply", str(specs), "--plan", str(saved), "--prune"], stack_env)
    assert options.returncode == 1 and "carries the options it was planned with; drop --prune" in options.stderr
