"""build_plan and desired_state, pure: no servers."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from lsts_sync.desired import desired_state
from lsts_sync.loader import load_specs
from lsts_sync.facts import LiveFacts
from lsts_sync.plan import Create, Delete, Overrides, Plan, Update, build_plan
from lsts_sync.plan_render import render_check, render_json, render_text
from lsts_sync.state import CorsState, ProjectState, State, Usage

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
    plan = build_plan(desired, LiveFacts(State()))
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
    assert build_plan(desired, LiveFacts(live)).summary() == "No changes."
    assert build_plan(desired, LiveFacts(live)).empty
    assert [s.reason for s in build_plan(desired, LiveFacts(live), sync_all=True).syncs] == ["--sync"]


def test_template_compared_as_xml_not_text(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    key = next(iter(live.projects))
    reformatted = live.projects[key].label_config.replace("\n", "").replace("  ", " ")
    live.projects[key] = dataclasses.replace(live.projects[key], label_config=reformatted)
    assert build_plan(desired, LiveFacts(live)).empty


def test_changed_ttl_is_one_update_of_one_field(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    key = ("local", "pump-7", "source")
    live.storages[key] = dataclasses.replace(live.storages[key], presign_ttl=5)
    plan = build_plan(desired, LiveFacts(live))
    assert len(plan.changes) == 1 and isinstance(plan.changes[0], Update)
    assert [(d.field, d.old, d.new) for d in plan.changes[0].diffs] == [("presign_ttl", 5, 60)]
    assert "presign_ttl: 5 -> 60" in render_text(plan)
    assert [s.reason for s in plan.syncs] == ["new or changed"]


def test_foreign_cors_rules_are_kept(specs) -> None:
    desired = desired_state(specs)
    foreign = json.dumps({"ID": "theirs", "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://x"]})
    live = _live_copy(desired)
    live.cors["lsts-demo"] = CorsState("lsts-demo", None, (foreign,))
    plan = build_plan(desired, LiveFacts(live))
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
    assert build_plan(desired, LiveFacts(live)).empty
    plan = build_plan(desired, LiveFacts(live), prune=True)
    assert [(type(c), c.old.name) for c in plan.changes] == [(Delete, "old")]
    # usage unknown: deleting it is blocked like a project with annotations
    assert [(c.name, c.override) for c in plan.blockers] == [("delete-annotated", "--allow-delete old")]
    live.projects[extra.key] = dataclasses.replace(extra, usage=Usage(0))
    assert build_plan(desired, LiveFacts(live), prune=True).blockers == ()
    live.projects[extra.key] = dataclasses.replace(extra, usage=Usage(3))
    assert build_plan(desired, LiveFacts(live), prune=True, overrides=Overrides(allow_delete=frozenset({"old"}))).blockers == ()


def test_regex_filter_matches_whole_key_like_label_studio(specs) -> None:
    source = desired_state(specs).storages[("local", "pump-7", "source")]
    pattern = re.compile(source.regex_filter)
    assert pattern.match("pump-7/week-01.csv")
    assert not pattern.match("pump-7/readme.txt")
    assert not pattern.match("pump-7x/week-01.csv")
    assert not pattern.match("pump-7/week-01.csv.bak")


def test_target_prefix_has_no_trailing_slash(specs) -> None:
    assert desired_state(specs).storages[("local", "pump-7", "target")].prefix == "annotations/pump-7"


def test_json_plan_is_versioned_and_shows_templates_as_xml(specs) -> None:
    desired = desired_state(specs)
    assert json.loads(render_json(build_plan(desired, LiveFacts(State()))))["format_version"] == 1
    live = _live_copy(desired)
    key = ("local", "pump-7")
    old = live.projects[key].label_config.replace('value="Maintenance"', 'value="Service"')
    old = old.replace('strokeColor="#1f77b4" displayFormat=",.2f"', 'strokeColor="red"')
    live.projects[key] = dataclasses.replace(live.projects[key], label_config=old)
    (change,) = json.loads(render_json(build_plan(desired, LiveFacts(live))))["changes"]
    (diff,) = change["diff"]
    assert diff.pop("template_changes") == [
        {"path": "Channel[vibration].displayFormat", "old": None, "new": ",.2f"},
        {"path": "Channel[vibration].strokeColor", "old": "red", "new": "#1f77b4"},
        {"path": "Label[label/Maintenance]", "old": None, "new": {"background": "#9467bd", "value": "Maintenance"}},
        {"path": "Label[label/Service]", "old": {"background": "#9467bd", "value": "Service"}, "new": None}]
    assert diff == {"field": "label_config", "old": old, "new": desired.projects[key].label_config}


def test_target_limits_projects(specs) -> None:
    assert desired_state(specs, targets=set()).projects == {}


def _with_usage(specs, **usage) -> tuple[State, State]:
    desired = desired_state(specs)
    live = _live_copy(desired)
    key = ("local", "pump-7")
    live.projects[key] = dataclasses.replace(live.projects[key], usage=Usage(**usage))
    return desired, live


def _add_retired_label(live: State) -> None:
    """Give the live template one label more than the spec's, so the plan drops it."""
    key = ("local", "pump-7")
    old_config = live.projects[key].label_config.replace("</TimeSeriesLabels>",
                                                         '<Label value="Retired"/></TimeSeriesLabels>')
    live.projects[key] = dataclasses.replace(live.projects[key], label_config=old_config)


def test_removing_a_used_label_blocks_unless_allowed(specs) -> None:
    desired, live = _with_usage(specs, annotations=2, controls=(("label|ts|timeserieslabels", 2),),
                                labels=((("label", "Anomaly"), 1), (("label", "Retired"), 1)))
    plan = build_plan(desired, LiveFacts(live))
    assert plan.blockers == ()  # the template is unchanged
    _add_retired_label(live)
    plan = build_plan(desired, LiveFacts(live))
    (check,) = plan.blockers
    assert check.name == "label-removal" and "Retired (label): 1 region(s)" in check.message
    assert "Anomaly" not in check.message
    assert check.override == "--allow-label-removal pump-7"
    allowed = build_plan(desired, LiveFacts(live), overrides=Overrides(allow_label_removal=frozenset({"pump-7"})))
    assert allowed.blockers == () and allowed.checks[0].allowed


def test_dropping_a_used_control_blocks_too(specs) -> None:
    """A control that the live template has and the new one lacks, used by 3 results, blocks."""
    desired, live = _with_usage(specs, annotations=1, controls=(("old|ts|timeserieslabels", 3),))
    _add_retired_label(live)
    (check,) = build_plan(desired, LiveFacts(live)).blockers
    assert "control old|ts|timeserieslabels: 3 result(s)" in check.message


def test_labels_used_only_by_predictions_warn(specs) -> None:
    desired, live = _with_usage(specs, annotations=0, predicted=((("label", "Retired"), 4),))
    _add_retired_label(live)
    plan = build_plan(desired, LiveFacts(live))
    assert plan.blockers == ()
    assert [(c.name, c.blocking) for c in plan.checks] == [("label-removal", False)]
    assert "Retired (label): 4" in plan.checks[0].message


def test_unmanaged_title_blocks_or_is_adopted(specs) -> None:
    desired = desired_state(specs)
    want = desired.projects[("local", "pump-7")]
    live = State()
    live.unmanaged[("local", want.title)] = ProjectState("local", "", want.title, "by hand", want.label_config,
                                                     owner="", id=7)
    plan = build_plan(desired, LiveFacts(live))
    assert [(c.name, c.override) for c in plan.blockers] == [("unmanaged-title", "--adopt pump-7")]
    adopted = build_plan(desired, LiveFacts(live), overrides=Overrides(adopt=frozenset({"pump-7"})))
    (update,) = [c for c in adopted.changes if isinstance(c.new, ProjectState)]
    assert isinstance(update, Update) and update.old.id == 7
    assert [d.field for d in update.diffs] == ["description", "owner"] and adopted.blockers == ()


def test_too_many_changes_needs_force(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    for i in range(10):
        extra = dataclasses.replace(live.projects[("local", "pump-7")], name=f"old-{i}", id=100 + i, usage=Usage(0))
        live.projects[extra.key] = extra
    plan = build_plan(desired, LiveFacts(live), prune=True)
    assert [c.name for c in plan.blockers] == ["too-many-changes"]
    assert build_plan(desired, LiveFacts(live), prune=True, overrides=Overrides(force=True)).blockers == ()


def test_rotate_credentials_updates_every_storage_with_environment_credentials(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    plan = build_plan(desired, LiveFacts(live), overrides=Overrides(rotate_credentials=True))
    assert [(type(c).__name__, c.storage.address, c.storage_id) for c in plan.changes] == [
        ("RotateCredentials", "storage pump-7/source", live.storages[("local", "pump-7", "source")].id),
        ("RotateCredentials", "storage pump-7/target", live.storages[("local", "pump-7", "target")].id)]
    assert plan.syncs == () and plan.summary() == "Plan: 0 to add, 2 to change, 0 to delete."
    assert "  ~ storage pump-7/source" in render_text(plan) and "re-sent from the environment" in render_text(plan)
    assert build_plan(desired, LiveFacts(live)).empty


def test_rotations_do_not_count_toward_too_many_changes(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    for i in range(10):
        extra = dataclasses.replace(desired.projects[("local", "pump-7")], name=f"x{i}", id=100 + i)
        live.projects[extra.key] = desired.projects[extra.key] = extra
        for key, storage in list(live.storages.items()):
            if storage.project == "pump-7":
                copy = dataclasses.replace(storage, project=extra.name)
                live.storages[copy.key] = desired.storages[copy.key] = copy
    plan = build_plan(desired, LiveFacts(live), overrides=Overrides(rotate_credentials=True))
    assert len(plan.changes) == 22 and plan.blockers == ()  # 22 of 33 managed, but rotations change no setup


def test_markdown_puts_diff_markers_in_first_column(specs) -> None:
    from lsts_sync.plan_render import render_markdown

    text = render_markdown(build_plan(desired_state(specs), LiveFacts(State())))
    assert text.startswith("### lsts-sync plan\n\n**Plan: 4 to add, 0 to change, 0 to delete.")
    assert "\n+ project pump-7" in text and "```diff\n" in text


def test_title_rename_updates_in_place(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    key = ("local", "pump-7")
    live.projects[key] = dataclasses.replace(live.projects[key], title="Old title")
    (change,) = build_plan(desired, LiveFacts(live)).changes
    assert isinstance(change, Update) and change.old.id == 1
    assert [(d.field, d.old, d.new) for d in change.diffs] == [("title", "Old title", "Pump 7 - anomaly labeling")]


def test_storage_dropped_from_a_declared_project_is_a_warning_until_prune(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    del desired.storages[("local", "pump-7", "target")]
    plan = build_plan(desired, LiveFacts(live))
    assert plan.changes == () and [(c.name, c.blocking) for c in plan.checks] == [("undeclared", False)]
    assert "Warning: pump-7/target: storage pump-7/target is managed but no longer declared" in render_text(plan)
    pruned = build_plan(desired, LiveFacts(live), prune=True)
    assert [(c.action, c.old.address) for c in pruned.changes] == [("delete", "storage pump-7/target")]


def test_cors_under_target_keeps_the_origins_of_untargeted_projects(tmp_path) -> None:
    """--target narrows the projects, never the CORS rule: it must still allow every instance."""
    (tmp_path / "s.yaml").write_text("""\
kind: Instance
name: one
url: http://one.example:8080
token: '%s'
---
kind: Instance
name: two
url: http://two.example:8080
token: '%s'
---
kind: Bucket
name: data
cors: {managed: true}
---
kind: Project
name: a
instance: one
source: {bucket: data, prefix: a/}
timeseries: {time_column: t, channels: [{column: v}]}
labels: [{value: X}]
---
kind: Project
name: b
instance: two
source: {bucket: data, prefix: b/}
timeseries: {time_column: t, channels: [{column: v}]}
labels: [{value: X}]
""" % ("f" * 40, "f" * 40))
    loaded, problems = load_specs([str(tmp_path)])
    assert not [p for p in problems if p.severity == "error"], problems
    rule = json.loads(desired_state(loaded, {"a"}).cors["data"].rule)
    assert rule["AllowedOrigins"] == ["http://one.example:8080", "http://two.example:8080"]
    assert set(desired_state(loaded, {"a"}).projects) == {("one", "a")}


def test_a_sensitive_field_is_never_printed_whatever_the_planner_puts_in_a_diff(specs) -> None:
    from lsts_sync.state import FieldDiff

    desired = desired_state(specs)
    storage = desired.storages[("local", "pump-7", "source")]
    diff = FieldDiff("aws_secret_access_key", "old-secret-value", "new-secret-value")
    text = render_text(Plan((Update(dataclasses.replace(storage, id=3), storage, (diff,)),)))
    assert "aws_secret_access_key: (sensitive) -> (sensitive)" in text and "secret-value" not in text


def test_template_changes_of_an_unreadable_template_are_none_but_its_text_is_kept() -> None:
    from lsts_sync.plan_render import template_changes

    assert template_changes("<View><broken", "<View/>") == []
    assert template_changes("<View/>", '<View><Label value="A"/></View>') == [
        {"path": "Label[A]", "old": None, "new": {"value": "A"}}]


# -- predictions ---------------------------------------------------------------------------------
RA = '[{"id":"a","value":{"start":"1"}}]'
RB = '[{"id":"b","value":{"start":"2"}}]'


def _predictions_plan(specs, live_predictions=(), tasks=(("pump-7/a.csv", 11), ("pump-7/b.csv", 12)),
                      skipped=(), pending=(), live_project=True):
    """A plan of the example specs, applied, with a Predictions set of model m1 for pump-7."""
    from lsts_sync.sources import SourceFacts
    from lsts_sync.state import PredictionSet, TaskPrediction

    wanted = PredictionSet("local", "pump-7", "detector", "m1", "p.csv",
                           (TaskPrediction("pump-7/a.csv", RA, 0.9, (2,)), TaskPrediction("pump-7/b.csv", RB, None, (3, 4))),
                           tuple(skipped), 4)
    desired = desired_state(specs, predictions={wanted.key: wanted})
    live = _live_copy(desired)
    if not live_project:
        live.projects.clear()
    sources = {("local", "pump-7", "source"): SourceFacts(tuple(pending), tuple(pending))}
    facts = LiveFacts(live, sources, tasks={("local", "pump-7"): tuple(tasks)},
                      predictions={("local", "pump-7"): tuple(live_predictions)})
    return build_plan(desired, facts)


def test_predictions_of_a_file_are_one_bulk_step_on_the_matching_tasks(specs) -> None:
    from lsts_sync.plan import NewPrediction, SetPredictions

    plan = _predictions_plan(specs)
    (step,) = plan.changes
    assert isinstance(step, SetPredictions) and (step.project_id, step.model_version) == (1, "m1")
    assert step.add == (NewPrediction(11, RA, 0.9), NewPrediction(12, RB, None)) and step.delete_ids == ()
    assert plan.summary() == ("Plan: 0 to add, 0 to change, 0 to delete. Predictions: 2 to add, 0 to replace, "
                              "0 to remove.")
    assert "  ~ predictions pump-7/m1 (instance local): 2 to add, 0 to replace, 0 to remove" in render_text(plan)
    (entry,) = json.loads(render_json(plan))["changes"]
    assert (entry["type"], entry["add"], entry["tasks"], entry["delete_ids"]) == ("predictions", 2, [11, 12], [])
    assert json.loads(render_json(plan))["summary"]["predictions"] == {"add": 2, "replace": 0, "remove": 0}


def test_unchanged_predictions_plan_nothing(specs) -> None:
    from lsts_sync.state import LivePrediction

    plan = _predictions_plan(specs, [LivePrediction(5, 11, "m1", RA, 0.9), LivePrediction(6, 12, "m1", RB, None)])
    assert plan.empty and plan.summary() == "No changes." and plan.checks == ()


def test_a_changed_file_replaces_and_removes_only_its_model_version(specs) -> None:
    from lsts_sync.plan import NewPrediction
    from lsts_sync.state import LivePrediction

    live = [LivePrediction(5, 11, "m1", RA, 0.5),  # score changed: replaced
            LivePrediction(6, 12, "m1", RB, None),  # unchanged
            LivePrediction(7, 13, "m1", RB, None),  # a task the file no longer names: removed
            LivePrediction(8, 11, "m0", RB, None), LivePrediction(9, 13, "m0", RA, None)]  # another version
    plan = _predictions_plan(specs, live, tasks=(("pump-7/a.csv", 11), ("pump-7/b.csv", 12), ("pump-7/c.csv", 13)))
    (step,) = plan.changes
    assert step.add == (NewPrediction(11, RA, 0.9),) and step.delete_ids == (5, 7)
    assert (step.added, step.replaced, step.removed) == (0, 1, 1)


def test_two_live_predictions_of_one_version_on_a_task_are_replaced_by_one(specs) -> None:
    from lsts_sync.state import LivePrediction

    live = [LivePrediction(5, 11, "m1", RA, 0.9), LivePrediction(6, 11, "m1", RA, 0.9),
            LivePrediction(7, 12, "m1", RB, None)]
    (step,) = _predictions_plan(specs, live).changes
    assert [p.task for p in step.add] == [11] and step.delete_ids == (5, 6) and step.replaced == 1


def test_rows_whose_file_is_no_task_are_one_warning_each_and_counted(specs) -> None:
    plan = _predictions_plan(specs, tasks=(("pump-7/a.csv", 11),), pending=(), skipped=((9, "label 'X' is bad"),))
    lines = [render_check(c) for c in plan.checks]
    assert lines == ["Warning: p.csv:9: label 'X' is bad",
                     "Warning: p.csv:3: no task of project pump-7 was imported from pump-7/b.csv",
                     "Warning: p.csv:4: no task of project pump-7 was imported from pump-7/b.csv",
                     "Warning: detector: skipped 3 of 4 row(s) of p.csv (one line each above)"]
    assert [p.task for p in plan.changes[0].add] == [11] and not plan.blockers
    waiting = _predictions_plan(specs, tasks=(("pump-7/a.csv", 11),), pending=("pump-7/b.csv",))
    assert waiting.checks[0].message == ("pump-7/b.csv is not a task of project pump-7 yet: the next sync imports it; "
                                         "apply again")


def test_predictions_wait_for_a_project_that_is_not_live_yet(specs) -> None:
    plan = _predictions_plan(specs, live_project=False)
    assert not any(c.action == "predictions" for c in plan.changes)
    assert ["project pump-7 is not a live project of this owner yet: its 2 prediction(s) wait for its tasks; "
            "apply again after this apply imports them"] == [c.message for c in plan.checks if c.name == "predictions"]


def test_predictions_come_after_the_template_update_that_adds_their_label(specs) -> None:
    from lsts_sync.sources import SourceFacts
    from lsts_sync.state import PredictionSet, TaskPrediction

    wanted = PredictionSet("local", "pump-7", "detector", "m1", "p.csv", (TaskPrediction("pump-7/a.csv", RA),), (), 1)
    desired = desired_state(specs, predictions={wanted.key: wanted})
    live = _live_copy(desired)
    key = ("local", "pump-7")
    live.projects[key] = dataclasses.replace(live.projects[key],
                                             label_config=live.projects[key].label_config.replace("Maintenance", "M"))
    facts = LiveFacts(live, {("local", "pump-7", "source"): SourceFacts(())}, tasks={key: (("pump-7/a.csv", 11),)})
    assert [c.action for c in build_plan(desired, facts).changes] == ["update", "predictions"]
