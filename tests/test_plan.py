"""build_plan and desired_state, pure: no servers."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from lsts_sync.desired import desired_state
from lsts_sync.loader import load_specs
from lsts_sync.plan import Create, Delete, Update, build_plan
from lsts_sync.render import render_json, render_text
from lsts_sync.state import CorsState, State

SPECS = Path(__file__).parent.parent / "specs"
TOKEN = "feedfacefeedfacefeedfacefeedfacefeedface"


@pytest.fixture
def specs():
    loaded, problems = load_specs([str(SPECS)], env={"LABEL_STUDIO_API_KEY": TOKEN})
    assert not [p for p in problems if p.severity == "error"]
    return loaded


def _live_copy(desired: State, **ids: int) -> State:
    """What the server would hold after a perfect apply of ``desired`` (with ids)."""
    projects = {k: dataclasses.replace(p, id=1) for k, p in desired.projects.items()}
    storages = {k: dataclasses.replace(s, id=i, credentials="environment", sync=False)
                for i, (k, s) in enumerate(desired.storages.items(), 10)}
    return State(projects, storages, dict(desired.cors))


def test_first_plan_creates_everything_in_dependency_order(specs) -> None:
    desired = desired_state(specs)
    plan = build_plan(desired, State())
    assert [(c.action, c.new.address) for c in plan.changes] == [
        ("create", "bucket lsts-demo CORS rule lsts-sync"),
        ("create", "project pump-7"),
        ("create", "storage pump-7/source"),
        ("create", "storage pump-7/target"),
    ]
    assert [s.storage.address for s in plan.syncs] == ["storage pump-7/source"]
    assert plan.summary() == "Plan: 4 to add, 0 to change, 0 to delete. 1 storage(s) to sync."


def test_same_state_is_no_changes_and_sync_flag_adds_sync(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    assert build_plan(desired, live).summary() == "No changes."
    assert build_plan(desired, live).empty
    assert [s.reason for s in build_plan(desired, live, sync_all=True).syncs] == ["--sync"]


def test_template_compared_as_xml_not_text(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    key = next(iter(live.projects))
    reformatted = live.projects[key].label_config.replace("\n", "").replace("  ", " ")
    live.projects[key] = dataclasses.replace(live.projects[key], label_config=reformatted)
    assert build_plan(desired, live).empty


def test_changed_ttl_is_one_update_of_one_field(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    key = ("local", "pump-7", "source")
    live.storages[key] = dataclasses.replace(live.storages[key], presign_ttl=5)
    plan = build_plan(desired, live)
    assert len(plan.changes) == 1 and isinstance(plan.changes[0], Update)
    assert [(d.field, d.old, d.new) for d in plan.changes[0].diffs] == [("presign_ttl", 5, 60)]
    assert "presign_ttl: 5 -> 60" in render_text(plan)
    assert [s.reason for s in plan.syncs] == ["new or changed"]


def test_foreign_cors_rules_are_kept(specs) -> None:
    desired = desired_state(specs)
    foreign = json.dumps({"ID": "theirs", "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://x"]})
    live = _live_copy(desired)
    live.cors["lsts-demo"] = CorsState("lsts-demo", None, (foreign,))
    plan = build_plan(desired, live)
    (change,) = plan.changes
    assert isinstance(change, Create)
    config = change.new.configuration()
    assert config[0] == json.loads(foreign) and config[1]["ID"] == "lsts-sync"
    assert config[1]["AllowedOrigins"] == ["http://localhost:8080"]


def test_prune_deletes_only_what_is_live_and_undeclared(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    extra = dataclasses.replace(next(iter(live.projects.values())), name="old", id=99)
    live.projects[extra.key] = extra
    assert build_plan(desired, live).empty
    plan = build_plan(desired, live, prune=True)
    assert [(type(c), c.old.name) for c in plan.changes] == [(Delete, "old")]


def test_regex_filter_matches_whole_key_like_label_studio(specs) -> None:
    source = desired_state(specs).storages[("local", "pump-7", "source")]
    pattern = re.compile(source.regex_filter)
    assert pattern.match("pump-7/week-01.csv")
    assert not pattern.match("pump-7/readme.txt")
    assert not pattern.match("pump-7x/week-01.csv")
    assert not pattern.match("pump-7/week-01.csv.bak")


def test_target_prefix_has_no_trailing_slash(specs) -> None:
    assert desired_state(specs).storages[("local", "pump-7", "target")].prefix == "annotations/pump-7"


def test_json_plan_has_no_token(specs) -> None:
    text = render_json(build_plan(desired_state(specs), State()))
    assert TOKEN not in text and json.loads(text)["summary"]["create"] == 4


def test_target_limits_projects(specs) -> None:
    assert desired_state(specs, targets=set()).projects == {}
