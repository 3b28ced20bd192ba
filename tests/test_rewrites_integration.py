"""Changing a labeled project through the CLI against the real stack: a label rename and a time-format
change carry the work along (annotations, drafts, predictions), a coarser format is blocked, a rename
that fails part-way converges when applied again."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pandas as pd
import pytest

from lsts_sync.ui.timefmt import compile_format, ui_value

from .conftest import ROOT, run_cli, upload_csvs
from .faultproxy import FaultProxy
from .test_apply_integration import find_project, write_specs
from .test_export_integration import region

pytestmark = pytest.mark.integration


def specs_with(folder: Path, bucket: str, name: str, labels: tuple[str, ...] = ("Anomaly", "Missing"),
               rename: str | None = None, time_format: str | None = None, out: Path | None = None) -> Path:
    """``write_specs``' project with ``labels``; ``rename`` turns ``- value: X`` into ``{value: X,
    renamed_from: ...}`` (``"Gap<-Missing"``); ``time_format`` replaces the project's; with ``out``,
    a table and a dense Export into that folder."""
    write_specs(folder, bucket, name, labels=labels)
    path = folder / "specs.yaml"
    text = path.read_text()
    if rename:
        new, old = rename.split("<-")
        text = text.replace(f"  - value: {new}\n", f"  - {{value: {new}, renamed_from: {old}}}\n")
    if time_format:
        text = text.replace("time_format: '%Y-%m-%d %H:%M:%S'", f"time_format: '{time_format}'")
    if out:
        text += (f"---\nkind: Export\nname: {name}-table\nproject: {name}\noutput: {out}/table.csv\n"
                 f"---\nkind: Export\nname: {name}-dense\nproject: {name}\nformat: dense\noutput: {out}/dense.csv\n")
    path.write_text(text)
    return folder


def apply(folder: Path, env: dict, tmp_path: Path, *extra: str):
    return run_cli(["apply", str(folder), "--auto-approve", "--backup-dir", str(tmp_path / "backups"), *extra], env)


def api(stack, method: str, path: str, body: object = None):
    """A request to Label Studio with the stack's legacy token (drafts have no SDK call)."""
    answer = httpx.request(method, f"{stack.ls_url}/{path}", json=body, timeout=60,
                           headers={"Authorization": f"Token {stack.token}"})
    answer.raise_for_status()
    return answer.json()


def labels_in(results: list) -> list[list[str]]:
    return [r["value"]["timeserieslabels"] for r in results]


def test_a_rename_carries_annotations_drafts_and_predictions_then_export_and_a_no_op(
        stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=3)
    name = f"rn-{uid}"
    out = tmp_path / "out"
    assert apply(specs_with(tmp_path / "a", bucket, name, out=out), stack_env, tmp_path).returncode == 0
    project = find_project(ls, name)
    tasks = {t.storage_filename: t.id for t in ls.tasks.list(project=project.id)}
    t1, t2, t3 = tasks["data/week-01.csv"], tasks["data/week-02.csv"], tasks["data/week-03.csv"]
    first = ls.annotations.create(id=t1, result=[
        region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Missing"),
        region("2021-01-01 00:30:00", "2021-01-01 00:40:00", "Anomaly"),
        region("2021-01-01 00:45:00", "2021-01-01 00:45:00", "Missing", instant=True)])
    older = ls.annotations.create(id=t2, result=[region("2021-01-08 00:30:00", "2021-01-08 00:40:00", "Missing")])
    newer = ls.annotations.create(id=t2, result=[region("2021-01-08 00:50:00", "2021-01-08 00:55:00", "Anomaly")])
    draft = api(stack, "POST", f"api/tasks/{t2}/drafts", {"result": [
        region("2021-01-08 00:10:00", "2021-01-08 00:20:00", "Missing")], "lead_time": 1})
    predicted = ls.predictions.create(task=t3, model_version="m1", score=0.5, result=[
        region("2021-01-15 00:10:00", "2021-01-15 00:20:00", "Missing")])

    renamed = specs_with(tmp_path / "b", bucket, name, labels=("Anomaly", "Gap"), rename="Gap<-Missing", out=out)
    plan = run_cli(["plan", str(renamed)], stack_env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert (f"  ~ relabel {name}: Missing → Gap (5 region(s) in 2 annotation(s), 1 draft(s), 1 prediction(s))"
            in plan.stdout)
    assert "label-removal" not in plan.stdout

    applied = apply(renamed, stack_env, tmp_path)
    assert applied.returncode == 0, applied.stderr
    saved = re.search(rf"Saved what relabel {name}: Missing → Gap rewrites to (\S+) ", applied.stderr)
    assert saved, applied.stderr
    backup = json.loads(Path(saved.group(1)).read_text())
    assert {(r["kind"], r["id"]) for r in backup["records"]} == {  # the newer one saved again, unchanged
        ("annotation", first.id), ("annotation", older.id), ("annotation", newer.id), ("draft", draft["id"]),
        ("prediction", predicted.id)}
    assert labels_in(next(r["result"] for r in backup["records"] if r["kind"] == "annotation")) == [
        ["Missing"], ["Anomaly"], ["Missing"]]

    assert labels_in(ls.annotations.get(id=first.id).result) == [["Gap"], ["Anomaly"], ["Gap"]]
    assert labels_in(api(stack, "GET", f"api/drafts/{draft['id']}/")["result"]) == [["Gap"]]
    assert labels_in(ls.predictions.get(id=predicted.id).result) == [["Gap"]]
    config = ls.projects.get(id=project.id).label_config
    assert 'value="Gap"' in config and "Missing" not in config

    exported = run_cli(["export", str(renamed), "--name", f"{name}-table"], stack_env)
    assert exported.returncode == 0, exported.stderr
    table = pd.read_csv(out / "table.csv")
    assert sorted(table["label"]) == ["Anomaly", "Anomaly", "Gap", "Gap"]
    # the task's latest annotation is still the newer one, although the older one was rewritten
    assert list(table[table["task_id"] == t2]["annotation_id"]) == [newer.id]
    assert labels_in(ls.annotations.get(id=older.id).result) == [["Gap"]]
    assert "Warning" not in exported.stderr
    again = run_cli(["plan", str(renamed)], stack_env)
    assert again.returncode == 0 and again.stdout.strip() == "No changes.", again.stdout


def instants(values: pd.Series, fmt: str) -> list[float | None]:
    parser = compile_format(fmt)
    return [parser.parse(ui_value(str(v), fmt)) for v in values]


def test_a_time_format_change_keeps_every_region_on_its_instant_and_a_coarser_one_is_blocked(
        stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    keys = upload_csvs(s3, bucket, "data/", count=2)
    name = f"rt-{uid}"
    out_before, out_after = tmp_path / "before", tmp_path / "after"
    old, new = "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"
    assert apply(specs_with(tmp_path / "a", bucket, name, out=out_before), stack_env, tmp_path).returncode == 0
    project = find_project(ls, name)
    tasks = {t.storage_filename: t.id for t in ls.tasks.list(project=project.id)}
    ls.annotations.create(id=tasks[keys[0]], result=[
        region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly"),
        region("2021-01-01 00:15:00", "2021-01-01 00:15:00", "Missing", instant=True)])
    ls.annotations.create(id=tasks[keys[1]], result=[region("2021-01-08 00:30:00", "2021-01-08 00:40:00", "Anomaly")])
    before = run_cli(["export", str(tmp_path / "a")], stack_env)
    assert before.returncode == 0, before.stderr

    days = specs_with(tmp_path / "days", bucket, name, time_format="%Y-%m-%d")
    blocked = run_cli(["plan", str(days), "--skip-data-checks"], stack_env)
    assert blocked.returncode == 1
    assert (f"! time-format-change {name}: 3 region(s) cannot be written exactly in '%Y-%m-%d' (it is coarser than "
            f"'{old}'") in blocked.stdout
    assert f"(blocks apply; allow with --allow-time-format-change {name})" in blocked.stdout

    for key in keys:  # the data re-exported with a 'T' between date and time
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        s3.put_object(Bucket=bucket, Key=key, Body=re.sub(r"(\d{4}-\d\d-\d\d) ", r"\1T", body).encode())
    changed = specs_with(tmp_path / "b", bucket, name, time_format=new, out=out_after)
    plan = run_cli(["plan", str(changed)], stack_env)
    assert plan.returncode == 0, plan.stdout
    assert f"  ~ retime {name}: 3 region(s) from '{old}' to '{new}'" in plan.stdout
    applied = apply(changed, stack_env, tmp_path)
    assert applied.returncode == 0, applied.stderr
    after = run_cli(["export", str(changed)], stack_env)
    assert after.returncode == 0, after.stderr

    table_before, table_after = pd.read_csv(out_before / "table.csv"), pd.read_csv(out_after / "table.csv")
    assert len(table_before) == len(table_after) == 3
    for side in ("start", "end"):
        assert instants(table_before[side], old) == instants(table_after[side], new)
    rest = [c for c in table_before.columns if c not in ("start", "end", "updated_at")]
    assert table_before[rest].equals(table_after[rest])
    dense_before = pd.read_csv(io.StringIO((out_before / "dense.csv").read_text()), dtype=str, keep_default_na=False)
    dense_after = pd.read_csv(io.StringIO((out_after / "dense.csv").read_text()), dtype=str, keep_default_na=False)
    assert instants(dense_before["timestamp"], old) == instants(dense_after["timestamp"], new)
    assert dense_before.drop(columns="timestamp").equals(dense_after.drop(columns="timestamp"))
    assert (dense_after["label"] != "").sum() == 22  # 11 + 11 rows labeled, as before
    again = run_cli(["plan", str(changed)], stack_env)
    assert again.returncode == 0 and "No changes." in again.stdout and "retime" not in again.stdout


def test_a_rename_that_fails_part_way_converges_when_applied_again(stack, stack_env, s3, ls, bucket, uid,
                                                                    tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=3)
    name = f"rf-{uid}"
    assert apply(specs_with(tmp_path / "a", bucket, name), stack_env, tmp_path).returncode == 0
    project = find_project(ls, name)
    made = [ls.annotations.create(id=t.id, result=[region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Missing")]).id
            for t in ls.tasks.list(project=project.id)]
    renamed = specs_with(tmp_path / "b", bucket, name, labels=("Anomaly", "Gap"), rename="Gap<-Missing")
    patches = 0

    def rule(method: str, path: str, n: int) -> str:
        nonlocal patches
        if method == "PATCH" and path.startswith("/api/annotations/"):
            patches += 1
            return "pass" if patches == 1 else "fail"
        return "pass"

    with FaultProxy(stack.ls_url, rule) as proxy:
        failed = apply(renamed, dict(stack_env, LABEL_STUDIO_URL=proxy.url), tmp_path)
    assert failed.returncode == 1
    assert f"Not applied: relabel {name}: Missing → Gap, update project {name}" in failed.stderr
    assert "Traceback" not in failed.stderr
    still = [ls.annotations.get(id=a).result[0]["value"]["timeserieslabels"] for a in made]
    assert sorted(still) == [["Gap"], ["Missing"], ["Missing"]]
    assert "Missing" in ls.projects.get(id=project.id).label_config  # the template waits for the results

    plan = run_cli(["plan", str(renamed)], stack_env)
    assert f"  ~ relabel {name}: Missing → Gap (2 region(s) in 2 annotation(s), 0 draft(s), 0 prediction(s))" \
        in plan.stdout
    assert f"  ~ project {name}" in plan.stdout
    assert apply(renamed, stack_env, tmp_path).returncode == 0
    assert [ls.annotations.get(id=a).result[0]["value"]["timeserieslabels"] for a in made] == [["Gap"]] * 3
    assert run_cli(["plan", str(renamed)], stack_env).stdout.strip() == "No changes."
    assert len(list((tmp_path / "backups").iterdir())) == 2


def test_a_rename_killed_part_way_converges_when_applied_again(stack, stack_env, s3, ls, bucket, uid,
                                                               tmp_path) -> None:
    """The apply process is killed (SIGKILL, no clean-up) while its second annotation write is in
    flight, after the first was saved: the re-run takes over the dead holder's lock, rewrites what
    is left, then the template, and the next plan is No changes."""
    upload_csvs(s3, bucket, "data/", count=3)
    name = f"rk-{uid}"
    assert apply(specs_with(tmp_path / "a", bucket, name), stack_env, tmp_path).returncode == 0
    project = find_project(ls, name)
    made = [ls.annotations.create(id=t.id, result=[region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Missing")]).id
            for t in ls.tasks.list(project=project.id)]
    renamed = specs_with(tmp_path / "b", bucket, name, labels=("Anomaly", "Gap"), rename="Gap<-Missing")
    second_sent, killed = threading.Event(), threading.Event()
    patches = 0

    def rule(method: str, path: str, n: int) -> str:
        nonlocal patches
        if method == "PATCH" and path.startswith("/api/annotations/"):
            patches += 1
            if patches == 2:  # held, never forwarded, until the process is gone
                second_sent.set()
                killed.wait(120)
                return "fail"
        return "pass"

    with FaultProxy(stack.ls_url, rule) as proxy:
        proc = subprocess.Popen([sys.executable, "-m", "lsts_sync", "apply", str(renamed), "--auto-approve",
                                 "--backup-dir", str(tmp_path / "backups")],
                                env=dict(stack_env, LABEL_STUDIO_URL=proxy.url), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert second_sent.wait(120), "the apply never reached its second annotation write"
        finally:
            proc.kill()
            proc.wait()
            killed.set()
    still = sorted(ls.annotations.get(id=a).result[0]["value"]["timeserieslabels"] for a in made)
    assert still == [["Gap"], ["Missing"], ["Missing"]]  # killed part-way through the results
    assert "Missing" in ls.projects.get(id=project.id).label_config  # the template waits for the results

    rerun = apply(renamed, stack_env, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert [ls.annotations.get(id=a).result[0]["value"]["timeserieslabels"] for a in made] == [["Gap"]] * 3
    assert "Missing" not in ls.projects.get(id=project.id).label_config
    assert run_cli(["plan", str(renamed)], stack_env).stdout.strip() == "No changes."
