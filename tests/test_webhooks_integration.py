"""Webhooks through the CLI against the real Label Studio: created with their marker header, left
alone by a second plan, updated, pruned only with --prune, and their header value never printed,
saved or logged (stdout, stderr with --debug, the saved plan, the JSON plan)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli, upload_csvs
from .test_apply_integration import apply, find_project, write_specs

pytestmark = pytest.mark.integration

# A closed local port: Label Studio never reaches a receiver (no action in the test fires it anyway).
URL = "http://127.0.0.1:9/hooks/labels"


def add_webhook(folder: Path, name: str, url: str = URL) -> None:
    with open(folder / "specs.yaml", "a") as specs:
        specs.write(f"---\nkind: Webhook\nname: retrain\nproject: {name}\nurl: {url}\n"
                    "actions: [ANNOTATION_CREATED, ANNOTATION_UPDATED, ANNOTATIONS_DELETED]\nsend_payload: true\n"
                    "headers: {Authorization: 'Bearer ${CI_HOOK_TOKEN}'}\n")


def hooks_of(ls, project_id: int) -> list:
    return list(ls.webhooks.list(project=project_id))


def test_a_webhook_created_left_alone_updated_and_its_header_never_shown(stack_env, s3, ls, bucket, uid,
                                                                           tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"wh-{uid}"
    secret = f"hook-token-{uid}-9f8e7d"
    env = {**stack_env, "CI_HOOK_TOKEN": secret}
    specs = write_specs(tmp_path / "s", bucket, name)
    add_webhook(specs, name)
    saved = tmp_path / "plan.json"
    shown = []

    planned = run_cli(["plan", str(specs), "--out", str(saved)], env)
    assert planned.returncode == 0, planned.stderr
    assert f"  + webhook {name}/retrain {URL} (instance local)" in planned.stdout
    assert '    headers: ["Authorization"]' in planned.stdout
    as_json = run_cli(["plan", str(specs), "--json"], env)
    (created,) = [c for c in json.loads(as_json.stdout)["changes"] if c["type"] == "webhook"]
    assert created["resource"]["headers"] == ["Authorization"]
    first = run_cli(["--debug", "apply", str(specs), "--plan", str(saved), "--auto-approve"], env)
    assert first.returncode == 0, first.stderr
    shown += [planned, as_json, first]
    project = find_project(ls, name)
    (hook,) = hooks_of(ls, project.id)
    assert (hook.url, sorted(hook.actions), hook.send_payload, hook.send_for_all_actions) == (
        URL, ["ANNOTATIONS_DELETED", "ANNOTATION_CREATED", "ANNOTATION_UPDATED"], True, False)
    assert hook.headers == {"Authorization": f"Bearer {secret}",
                            "X-Lsts-Sync-Marker": f"managed-by: lsts-sync owner=default name={name}/retrain"}

    second = run_cli(["plan", str(specs), "--detailed-exitcode"], env)
    assert second.returncode == 0 and second.stdout.strip().endswith("No changes."), second.stdout
    shown.append(second)

    (specs / "specs.yaml").write_text((specs / "specs.yaml").read_text().replace(URL, URL + "/v2"))
    update = run_cli(["--debug", "apply", str(specs), "--auto-approve"], env)
    assert update.returncode == 0, update.stderr
    assert f'    url: "{URL}" -> "{URL}/v2"' in update.stdout
    assert "Plan: 0 to add, 1 to change, 0 to delete." in update.stdout
    (hook,) = hooks_of(ls, project.id)
    assert hook.id == created_id(ls, project.id) and hook.url == URL + "/v2"
    assert hook.headers["Authorization"] == f"Bearer {secret}"
    rotated = apply(specs, env, "--rotate-credentials")
    assert f"re-send the headers of webhook {name}/retrain: done" in rotated.stderr
    shown += [update, rotated]

    # no longer declared: a warning, and deleted only with --prune
    text = (specs / "specs.yaml").read_text()
    (specs / "specs.yaml").write_text(text[:text.index("---\nkind: Webhook")])
    kept = apply(specs, env)
    assert f"webhook {name}/retrain is managed but no longer declared; --prune deletes it" in kept.stdout
    assert len(hooks_of(ls, project.id)) == 1
    pruned = apply(specs, env, "--prune", "--project", name)
    assert pruned.returncode == 0 and hooks_of(ls, project.id) == []
    shown += [kept, pruned]

    for result in shown:
        assert secret not in result.stdout and secret not in result.stderr
    assert secret not in saved.read_text()


def created_id(ls, project_id: int) -> int:
    (hook,) = hooks_of(ls, project_id)
    return hook.id
