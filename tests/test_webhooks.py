"""Webhooks on the fakes: desired state, plan (create, no change, update, prune, rotation) and apply,
with header values that only apply ever holds (never in a state, a plan, its text or its JSON)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from lsts_sync.apply.executor import ApplyFailed, apply_plan
from lsts_sync.desired.build import desired_state
from lsts_sync.live.connections import Connections, webhook_headers
from lsts_sync.live.gather import gather
from lsts_sync.plan.build import build_plan
from lsts_sync.plan.options import GatherOptions, Overrides
from lsts_sync.plan.render import render_json, render_text
from lsts_sync.plan.saved import SavedPlan, encode, fingerprint
from lsts_sync.spec.loader import SpecSet

from .fakes import CSV, TWO_PROJECTS, FakeLabelStudio, FakeS3, load_checked

SECRET = "Bearer hook-secret-7f3a9c"
WEBHOOK = """\
---
kind: Webhook
name: retrain
project: a
url: https://ci.example.com/hooks/labels
actions: [ANNOTATION_UPDATED, ANNOTATION_CREATED]
headers: {{Authorization: '{secret}'}}
"""


def load(folder: Path, url: str = "https://ci.example.com/hooks/labels", secret: str = SECRET) -> SpecSet:
    text = TWO_PROJECTS.format(token="f" * 40) + WEBHOOK.format(secret=secret).replace(
        "https://ci.example.com/hooks/labels", url)
    (folder / "specs.yaml").write_text(text)
    return load_checked([folder])


@pytest.fixture
def world(tmp_path: Path):
    """The two-project specs with a webhook on project a, and empty fakes with one object per source."""
    specs = load(tmp_path)
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    ls.s3 = s3  # syncs import them: a second plan has nothing pending
    return specs, ls, s3


def plan_of(specs: SpecSet, ls: FakeLabelStudio, s3: FakeS3, **options):
    desired = desired_state(specs)
    conn = Connections({"local": ls}, s3, webhook_headers=webhook_headers(specs))
    overrides = Overrides(rotate_credentials=options.pop("rotate", False))
    facts = gather(specs, desired, conn, GatherOptions(**options))
    return build_plan(desired, facts, prune=options.get("prune", False), overrides=overrides), conn, desired, facts


def apply(specs: SpecSet, ls: FakeLabelStudio, s3: FakeS3, **options):
    plan, conn, _, _ = plan_of(specs, ls, s3, **options)
    apply_plan(plan, conn, progress=lambda line: None)
    return plan


def test_the_desired_webhook_holds_header_names_only(world) -> None:
    specs, _, _ = world
    (webhook,) = desired_state(specs).webhooks.values()
    assert (webhook.key, webhook.headers, webhook.actions, webhook.all_actions) == (
        ("local", "a", "retrain"), ("Authorization",), ("ANNOTATION_CREATED", "ANNOTATION_UPDATED"), False)
    assert SECRET not in repr(desired_state(specs)) and SECRET not in repr(specs.webhooks)


def test_a_webhook_is_created_on_its_new_project_then_left_alone(world) -> None:
    specs, ls, s3 = world
    plan = apply(specs, ls, s3)
    (project_id,) = [pid for pid, (_, p) in ls.projects.items() if p.name == "a"]
    assert f"create_webhook a/retrain project={project_id}" in ls.calls
    (hook_id,) = ls.webhooks
    assert ls.headers_sent[hook_id] == {"Authorization": SECRET}
    for text in (render_text(plan), render_json(plan), json.dumps(encode(plan))):
        assert SECRET not in text
    assert "  + webhook a/retrain https://ci.example.com/hooks/labels (instance local)" in render_text(plan)
    assert '    headers: ["Authorization"]' in render_text(plan)
    ls.calls.clear()
    again, _, desired, facts = plan_of(specs, ls, s3)
    assert again.empty and "read_webhooks a" in ls.calls
    assert SECRET not in json.dumps(encode(SavedPlan(again, "d", fingerprint(facts, desired), GatherOptions(),
                                                     Overrides())))


def test_a_changed_url_is_one_update_that_sends_the_headers_again(world, tmp_path) -> None:
    specs, ls, s3 = world
    apply(specs, ls, s3)
    moved = load(tmp_path, url="https://ci.example.com/hooks/v2")
    plan = apply(moved, ls, s3)
    (change,) = plan.changes
    assert change.action == "update" and [(d.field, d.new) for d in change.diffs] == [
        ("url", "https://ci.example.com/hooks/v2")]
    (hook_id,) = ls.webhooks
    assert ls.webhooks[hook_id][1].url == "https://ci.example.com/hooks/v2"
    assert ls.headers_sent[hook_id] == {"Authorization": SECRET}


def test_a_changed_header_value_is_no_diff_and_is_sent_with_rotate_credentials(world, tmp_path) -> None:
    specs, ls, s3 = world
    apply(specs, ls, s3)
    rotated = load(tmp_path, secret="Bearer the-next-one-42")
    assert plan_of(rotated, ls, s3)[0].empty  # never read back, so never compared
    plan = apply(rotated, ls, s3, rotate=True)
    (hook_id,) = ls.webhooks
    assert [c.describe() for c in plan.changes if c.resource and c.resource.kind == "webhook"] == [
        "re-send the headers of webhook a/retrain"]
    assert "    headers: Authorization re-sent from the specs (--rotate-credentials)" in render_text(plan)
    assert ls.headers_sent[hook_id] == {"Authorization": "Bearer the-next-one-42"}
    assert "the-next-one-42" not in render_text(plan) + render_json(plan)


def test_an_undeclared_webhook_is_a_warning_and_deleted_only_with_prune(world, tmp_path) -> None:
    specs, ls, s3 = world
    apply(specs, ls, s3)
    (tmp_path / "specs.yaml").write_text(TWO_PROJECTS.format(token="f" * 40))
    without = load_checked([tmp_path])
    plan = plan_of(without, ls, s3)[0]
    assert not plan.changes and [c.message for c in plan.checks if c.name == "undeclared"] == [
        "webhook a/retrain is managed but no longer declared; --prune deletes it"]
    pruned = apply(without, ls, s3, prune=True)
    assert [c.describe() for c in pruned.changes] == ["delete webhook a/retrain"] and not ls.webhooks


def test_another_owners_webhook_is_never_read_as_ours(world) -> None:
    import dataclasses

    specs, ls, s3 = world
    apply(specs, ls, s3)
    (hook_id,) = ls.webhooks
    project_id, ours = ls.webhooks[hook_id]
    ls.add_webhook(dataclasses.replace(ours, id=None, owner="team-b"), project_id)
    assert plan_of(specs, ls, s3)[0].empty


def test_apply_refuses_headers_that_differ_from_the_plans(world, tmp_path) -> None:
    specs, ls, s3 = world
    plan, _, _, _ = plan_of(specs, ls, s3)
    (tmp_path / "other").mkdir()
    text = (tmp_path / "specs.yaml").read_text().replace("headers: {Authorization:", "headers: {X-Token:")
    (tmp_path / "other" / "specs.yaml").write_text(text)
    conn = Connections({"local": ls}, s3, webhook_headers=webhook_headers(load_checked([tmp_path / "other"])))
    with pytest.raises(ApplyFailed) as failed:
        apply_plan(plan, conn, progress=lambda line: None)
    assert str(failed.value) == ("webhook a/retrain: the specs' headers (X-Token) are not the plan's (Authorization); "
                                 "run plan again")


def test_header_values_are_registered_secrets_before_any_request(tmp_path) -> None:
    from lsts_sync.core.secrets import redact

    value = f"Bearer only-in-this-test-{uuid.uuid4().hex}"  # new each run: mutmut runs the suite twice in one process
    specs = load(tmp_path, secret=value)
    assert redact(f"answer: {value}") == f"answer: {value}"  # loading alone holds it in a SecretStr
    assert webhook_headers(specs) == {("local", "a", "retrain"): {"Authorization": value}}
    assert redact(f"answer: {value}") == "answer: (sensitive)"
