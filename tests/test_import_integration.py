"""``lsts-sync import`` and adoption through the CLI against the real stack: a project made the
notebook's way (its own calls: project, S3 import storage with a prefix without '/' and
``regex_filter: .*csv``, export storage, sync, one annotation) is imported, adopted with its
storages (and a webhook made through the API: the same one, its header value never printed), and
then planned as ``No changes.``, its tasks and annotations untouched; an adopted project with a
Predictions spec ends its adopting apply with every prediction on its tasks."""

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


def hooks_of(stack, pid: int) -> list[dict]:
    """The project's webhooks as the API lists them (header values included: the test's own check)."""
    with httpx.Client(base_url=stack.ls_url, headers={"Authorization": f"Token {stack.token}"}, timeout=120) as http:
        return http.get("/api/webhooks/", params={"project": pid}).raise_for_status().json()


def test_settings_and_a_webhook_made_by_hand_are_imported_adopted_then_no_changes_and_no_header_value_is_printed(
        stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/pump/", count=1)
    pid = notebook_project(stack, stack_env, bucket, f"Hooked {uid}")
    (task,) = [t.id for t in ls.tasks.list(project=pid)]
    ls.annotations.create(id=task, result=[region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly")])
    before = work_of(ls, pid)
    secret = f"Bearer hook-secret-{uid}"
    with httpx.Client(base_url=stack.ls_url, headers={"Authorization": f"Token {stack.token}"}, timeout=120) as http:
        http.patch(f"/api/projects/{pid}/", json={"maximum_annotations": 2}).raise_for_status()
        hook = http.post("/api/webhooks/", json={"project": pid, "url": "http://127.0.0.1:9/hook",
                                                 "send_for_all_actions": False, "actions": ["ANNOTATION_CREATED"],
                                                 "headers": {"Authorization": secret}})
        hook.raise_for_status()
    hook_id = hook.json()["id"]
    specs = instance_only(tmp_path / "specs")
    imported = run_cli(["import", str(specs), "--project-id", str(pid)], stack_env)
    assert imported.returncode == 0, imported.stderr
    assert secret not in imported.stdout and secret not in imported.stderr
    assert "Not imported as it is" not in imported.stderr, imported.stderr  # no warning of a second webhook
    name = f"hooked-{uid}"
    variable = header_variable(name, f"webhook-{hook_id}", "Authorization")
    assert "maximum_annotations: 2" in imported.stdout and f"Authorization: ${{{variable}}}" in imported.stdout
    assert f"set {variable} in the environment" in imported.stderr, imported.stderr
    (specs / "imported.yaml").write_text(imported.stdout)
    env = {**stack_env, variable: secret}
    validated = run_cli(["validate", str(specs)], env)
    assert validated.returncode == 0, validated.stderr + validated.stdout

    plan = run_cli(["plan", str(specs), "--adopt", name], env)
    assert plan.returncode == 0, plan.stderr
    out = plan.stdout
    assert "Plan: 0 to add, 4 to change, 0 to delete." in out, out  # the project, its two storages, its webhook
    assert out.count("adopted: id") == 4 and f"adopted: id {hook_id}, made without" in out, out
    assert "  + " not in out and "settings." not in out and "Warning" not in out, out
    assert secret not in out + plan.stderr

    applied = run_cli(["apply", str(specs), "--adopt", name, "--auto-approve"], env)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert secret not in applied.stdout + applied.stderr
    again = run_cli(["plan", str(specs)], env)
    assert again.stdout.strip() == "No changes.", again.stdout
    (live,) = hooks_of(stack, pid)  # the same webhook, never a second one
    assert live["id"] == hook_id and live["headers"]["Authorization"] == secret
    assert live["headers"]["X-Lsts-Sync-Marker"] == f"managed-by: lsts-sync owner=default name={name}/webhook-{hook_id}"
    assert work_of(ls, pid) == before


PREDICTED = """file,start,end,label,score
data/pump/week-01.csv,2021-01-01 00:10:00,2021-01-01 00:20:00,Anomaly,0.9
data/pump/week-03.csv,2021-01-15 00:05:00,2021-01-15 00:15:00,Maintenance,0.4
"""


def test_an_adopted_project_ends_its_adopting_apply_with_every_prediction_then_no_changes(
        stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    from demo_data import week_csv

    from .test_predictions_integration import predictions_of

    upload_csvs(s3, bucket, "data/pump/", count=2)
    pid = notebook_project(stack, stack_env, bucket, f"Predicted {uid}")
    s3.put_object(Bucket=bucket, Key="data/pump/week-03.csv", Body=week_csv(3, minutes=60).encode())  # not a task yet
    (first, _) = sorted(t.id for t in ls.tasks.list(project=pid))
    ls.annotations.create(id=first, result=[region("2021-01-01 00:30:00", "2021-01-01 00:40:00", "Anomaly")])
    before = work_of(ls, pid)
    specs = instance_only(tmp_path / "specs")
    imported = run_cli(["import", str(specs), "--project-id", str(pid)], stack_env)
    assert imported.returncode == 0, imported.stderr
    (specs / "imported.yaml").write_text(imported.stdout)
    name = f"predicted-{uid}"
    (specs / "predictions.yaml").write_text(f"kind: Predictions\nname: {name}-detector\nproject: {name}\n"
                                            "model_version: iforest-1\nfile: detector.csv\n")
    (specs / "detector.csv").write_text(PREDICTED)

    plan = run_cli(["plan", str(specs), "--adopt", name], stack_env)
    assert plan.returncode == 0, plan.stderr
    out = plan.stdout
    assert f"~ predictions {name}/iforest-1 (instance local): 1 to add, 0 to replace, 0 to remove" in out, out
    assert f"+ predictions {name}/iforest-1 (instance local): 1 to add after the sync" in out, out
    assert "next apply" not in out and "  + project" not in out and "+ storage" not in out, out

    applied = run_cli(["apply", str(specs), "--adopt", name, "--auto-approve"], stack_env)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    tasks = {t.storage_filename: t.id for t in ls.tasks.list(project=pid)}
    assert sorted(tasks) == ["data/pump/week-01.csv", "data/pump/week-02.csv", "data/pump/week-03.csv"]
    found = predictions_of(ls, pid)
    assert {task: [(p[0], p[2], p[3]) for p in items] for task, items in found.items()} == {
        tasks["data/pump/week-01.csv"]: [("iforest-1", 0.9, [("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly")])],
        tasks["data/pump/week-03.csv"]: [("iforest-1", 0.4, [("2021-01-15 00:05:00", "2021-01-15 00:15:00",
                                                               "Maintenance")])]}
    again = run_cli(["plan", str(specs)], stack_env)
    assert again.stdout.strip() == "No changes.", again.stdout
    after = work_of(ls, pid)
    assert set(before[0]) <= set(after[0]) and after[1] == before[1]  # one task more (week 3), no work touched
