"""``lsts-sync import`` and storage adoption through the CLI against the real stack: a project made
the notebook's way (its own calls: project, S3 import storage with a prefix without '/' and
``regex_filter: .*csv``, export storage, sync, one annotation) is imported, adopted with its
storages, and then planned as ``No changes.``, its tasks and annotations untouched."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from lsts_sync.desired.imported import header_variable

from .conftest import run_cli, upload_csvs
from .test_export_integration import region

pytestmark = pytest.mark.integration

TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c")


def notebook_template(columns: list[str]) -> str:
    """The template as the notebook builds it: every column but the first a Channel, tab10
    colours in order, ``displayFormat=",.1f"``, no legend; the first column the time column."""
    channels = "\n".join(f'        <Channel column="{c}" strokeColor="{TAB10[i]}" displayFormat=",.1f"/>'
                         for i, c in enumerate(columns[1:]))
    return f"""<View>
    <TimeSeriesLabels name="label" toName="ts">
        <Label value="Anomaly" background="red"/>
        <Label value="Maintenance" background="#9467bd"/>
    </TimeSeriesLabels>
    <TimeSeries name="ts" valueType="url" value="$csv" sep="," timeColumn="{columns[0]}"
                timeFormat="%Y-%m-%d %H:%M:%S">
{channels}
    </TimeSeries>
</View>"""


def notebook_project(stack, stack_env: dict, bucket: str, title: str, prefix: str = "data/pump",
                     regex: str = ".*csv") -> int:
    """The notebook's calls, in its order; returns the project's id."""
    keys = {"aws_access_key_id": stack_env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": stack_env["AWS_SECRET_ACCESS_KEY"],
            "s3_endpoint": stack_env["S3_ENDPOINT_URL"], "region_name": "us-east-1"}
    config = notebook_template(["timestamp", "vibration", "temperature", "pressure"])
    with httpx.Client(base_url=stack.ls_url, headers={"Authorization": f"Token {stack.token}"}, timeout=120) as http:
        project = http.post("/api/projects/", json={"title": title, "description": "Pump labels",
                                                     "label_config": config, "is_published": True})
        project.raise_for_status()
        pid = project.json()["id"]
        storage = http.post("/api/storages/s3", json={"project": pid, "title": "pump data", "bucket": bucket,
                                                       "prefix": prefix, "regex_filter": regex,
                                                       "use_blob_urls": True, "presign": True, "presign_ttl": 15,
                                                       **keys})
        storage.raise_for_status()
        http.post("/api/storages/export/s3", json={"project": pid, "bucket": bucket, "prefix": "labels/pump",
                                                   **keys}).raise_for_status()
        http.post(f"/api/storages/s3/{storage.json()['id']}/sync").raise_for_status()
    return pid


def instance_only(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.yaml").write_text("kind: Instance\nname: local\nurl: ${LABEL_STUDIO_URL}\n"
                                          "token: ${LABEL_STUDIO_API_KEY}\n")
    return folder


def work_of(ls, pid: int) -> tuple[list[int], list[int]]:
    """Task ids and annotation ids of a project, sorted."""
    tasks = sorted(t.id for t in ls.tasks.list(project=pid))
    annotations = sorted(a.id for t in tasks for a in ls.annotations.list(id=t))
    return tasks, annotations


def test_a_notebook_project_is_imported_adopted_with_its_storages_then_no_changes(
        stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/pump/", count=2)
    title = f"Pump {uid}"
    pid = notebook_project(stack, stack_env, bucket, title)
    (first, _) = sorted(t.id for t in ls.tasks.list(project=pid))
    ls.annotations.create(id=first, result=[region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly")])
    before = work_of(ls, pid)
    assert len(before[0]) == 2 and len(before[1]) == 1
    specs = instance_only(tmp_path / "specs")

    imported = run_cli(["import", str(specs), "--project-id", str(pid)], stack_env)
    assert imported.returncode == 0, imported.stderr
    assert "Not imported as it is" not in imported.stderr, imported.stderr  # the notebook's project fits a spec
    (specs / "imported.yaml").write_text(imported.stdout)
    name = f"pump-{uid}"
    assert f"name: {name}\n" in imported.stdout and "kind: Bucket" in imported.stdout
    assert run_cli(["validate", str(specs)], stack_env).returncode == 0

    plan = run_cli(["plan", str(specs), "--adopt", name], stack_env)
    assert plan.returncode == 0, plan.stderr
    out = plan.stdout
    assert "Plan: 0 to add, 3 to change, 0 to delete." in out, out
    assert out.count("adopted: id") == 3 and "  + " not in out and "label_config" not in out, out
    assert "to sync" not in out, out

    applied = run_cli(["apply", str(specs), "--adopt", name, "--auto-approve"], stack_env)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert run_cli(["plan", str(specs)], stack_env).stdout.strip() == "No changes."
    for role in ("s3", "export/s3"):
        with httpx.Client(base_url=stack.ls_url, headers={"Authorization": f"Token {stack.token}"}) as http:
            assert len(http.get(f"/api/storages/{role}", params={"project": pid}).json()) == 1  # never a second
    assert work_of(ls, pid) == before


def test_a_storage_the_spec_cannot_describe_is_named_and_left_alone(stack, stack_env, s3, ls, bucket, uid,
                                                                      tmp_path) -> None:
    upload_csvs(s3, bucket, "data/pump/", count=1)
    pid = notebook_project(stack, stack_env, bucket, f"Odd {uid}", regex=r"data/pump/week-\d+\.csv")
    specs = instance_only(tmp_path / "specs")
    imported = run_cli(["import", str(specs), "--project-id", str(pid)], stack_env)
    assert imported.returncode == 0, imported.stderr
    assert r"regex_filter 'data/pump/week-\\d+\\.csv' has no exact pattern" in imported.stderr, imported.stderr
    assert "source:" not in imported.stdout and "target:" in imported.stdout
    (specs / "imported.yaml").write_text(imported.stdout)
    plan = run_cli(["plan", str(specs), "--adopt", f"odd-{uid}"], stack_env)
    assert plan.returncode == 0, plan.stderr
    assert "source storage id" in plan.stdout and "is left as it is" in plan.stdout, plan.stdout
    assert "+ storage" not in plan.stdout, plan.stdout


def test_settings_and_a_webhook_are_imported_and_no_header_value_is_printed(stack, stack_env, s3, ls, bucket, uid,
                                                                            tmp_path) -> None:
    upload_csvs(s3, bucket, "data/pump/", count=1)
    pid = notebook_project(stack, stack_env, bucket, f"Hooked {uid}")
    secret = f"Bearer hook-secret-{uid}"
    with httpx.Client(base_url=stack.ls_url, headers={"Authorization": f"Token {stack.token}"}, timeout=120) as http:
        http.patch(f"/api/projects/{pid}/", json={"maximum_annotations": 2}).raise_for_status()
        hook = http.post("/api/webhooks/", json={"project": pid, "url": "http://127.0.0.1:9/hook",
                                                 "send_for_all_actions": False, "actions": ["ANNOTATION_CREATED"],
                                                 "headers": {"Authorization": secret}})
        hook.raise_for_status()
    specs = instance_only(tmp_path / "specs")
    imported = run_cli(["import", str(specs), "--project-id", str(pid)], stack_env)
    assert imported.returncode == 0, imported.stderr
    assert secret not in imported.stdout and secret not in imported.stderr
    name = f"hooked-{uid}"
    variable = header_variable(name, f"webhook-{hook.json()['id']}", "Authorization")
    assert "maximum_annotations: 2" in imported.stdout and f"Authorization: ${{{variable}}}" in imported.stdout
    assert f"set {variable} in the environment" in imported.stderr, imported.stderr
    (specs / "imported.yaml").write_text(imported.stdout)
    env = {**stack_env, variable: secret}
    validated = run_cli(["validate", str(specs)], env)
    assert validated.returncode == 0, validated.stderr + validated.stdout
    plan = run_cli(["plan", str(specs), "--adopt", name], env)
    assert plan.returncode == 0, plan.stderr
    assert "adopted: id" in plan.stdout and "settings." not in plan.stdout, plan.stdout
    assert "+ webhook" in plan.stdout, plan.stdout  # adoption does not take a webhook over, as import said
    assert secret not in plan.stdout + plan.stderr
