"""build_plan and desired_state, pure: no servers."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from lsts_sync.desired.build import desired_state
from lsts_sync.plan.build import Create, Delete, Plan, Update, build_plan
from lsts_sync.plan.options import Overrides
from lsts_sync.plan.render import render_check, render_json, render_text
from lsts_sync.resources.facts import LiveFacts
from lsts_sync.resources.state import CorsState, DesiredState, LiveState, ProjectState, Usage
from lsts_sync.spec.loader import SpecSet, load_specs

from .fakes import PUMP7, PUMP7_TOKEN, load_checked
from .fakes import applied_state as _live_copy


@pytest.fixture
def specs(pump7_specs: SpecSet) -> SpecSet:
    """The specs these tests take: the pump-7 project (``fakes.load_pump7``), not the demo specs/."""
    return pump7_specs


def test_first_plan_creates_everything_in_dependency_order(specs) -> None:
    desired = desired_state(specs)
    plan = build_plan(desired, LiveFacts(LiveState()))
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
    assert json.loads(render_json(build_plan(desired, LiveFacts(LiveState()))))["format_version"] == 1
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
    assert desired_state(specs, selected=set()).projects == {}


def _with_usage(specs, **usage) -> tuple[DesiredState, LiveState]:
    desired = desired_state(specs)
    live = _live_copy(desired)
    key = ("local", "pump-7")
    live.projects[key] = dataclasses.replace(live.projects[key], usage=Usage(**usage))
    return desired, live


def _add_retired_label(live: LiveState) -> None:
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
    assert "control old (timeserieslabels): 3 result(s)" in check.message


def test_a_dropped_label_with_unknown_usage_blocks_and_an_unchanged_one_does_not(specs) -> None:
    """One rule decides where usage matters (``drops_labels``): where it is true and usage was not
    read, the label-removal check fails closed; where it is false, unknown usage is no concern."""
    desired = desired_state(specs)
    live = _live_copy(desired)  # usage None: never read
    assert build_plan(desired, LiveFacts(live)).blockers == ()
    _add_retired_label(live)
    (check,) = build_plan(desired, LiveFacts(live)).blockers
    assert (check.name, check.subject, check.override) == ("label-removal", "pump-7", "--allow-label-removal pump-7")
    assert check.message == ("the template change drops labels, fields or choices and their use by annotations is "
                             "unknown")
    allowed = build_plan(desired, LiveFacts(live), overrides=Overrides(allow_label_removal=frozenset({"pump-7"})))
    assert allowed.blockers == () and allowed.checks[0].allowed


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
    live = LiveState()
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
        for _key, storage in list(live.storages.items()):
            if storage.project == "pump-7":
                copy = dataclasses.replace(storage, project=extra.name)
                live.storages[copy.key] = desired.storages[copy.key] = copy
    plan = build_plan(desired, LiveFacts(live), overrides=Overrides(rotate_credentials=True))
    assert len(plan.changes) == 22 and plan.blockers == ()  # 22 of 33 managed, but rotations change no setup


def test_markdown_puts_diff_markers_in_first_column(specs) -> None:
    from lsts_sync.plan.render import render_markdown

    text = render_markdown(build_plan(desired_state(specs), LiveFacts(LiveState())))
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
token: '{}'
---
kind: Instance
name: two
url: http://two.example:8080
token: '{}'
---
kind: Bucket
name: data
cors: {{managed: true}}
---
kind: Project
name: a
instance: one
source: {{bucket: data, prefix: a/}}
timeseries: {{time_column: t, channels: [{{column: v}}]}}
labels: [{{value: X}}]
---
kind: Project
name: b
instance: two
source: {{bucket: data, prefix: b/}}
timeseries: {{time_column: t, channels: [{{column: v}}]}}
labels: [{{value: X}}]
""".format("f" * 40, "f" * 40))
    loaded, problems = load_specs([str(tmp_path)])
    assert not [p for p in problems if p.severity == "error"], problems
    rule = json.loads(desired_state(loaded, {"a"}).cors["data"].rule)
    assert rule["AllowedOrigins"] == ["http://one.example:8080", "http://two.example:8080"]
    assert set(desired_state(loaded, {"a"}).projects) == {("one", "a")}


def test_a_sensitive_field_is_never_printed_whatever_the_planner_puts_in_a_diff(specs) -> None:
    from lsts_sync.resources.state import FieldDiff

    desired = desired_state(specs)
    storage = desired.storages[("local", "pump-7", "source")]
    diff = FieldDiff("aws_secret_access_key", "old-secret-value", "new-secret-value")
    text = render_text(Plan((Update(dataclasses.replace(storage, id=3), storage, (diff,)),)))
    assert "aws_secret_access_key: (sensitive) -> (sensitive)" in text and "secret-value" not in text


def test_template_changes_of_an_unreadable_template_are_none_but_its_text_is_kept() -> None:
    from lsts_sync.plan.formatting import template_changes

    assert template_changes("<View><broken", "<View/>") == []
    assert template_changes("<View/>", '<View><Label value="A"/></View>') == [
        {"path": "Label[A]", "old": None, "new": {"value": "A"}}]


# -- predictions ---------------------------------------------------------------------------------
RA = '[{"id":"a","value":{"start":"1"}}]'
RB = '[{"id":"b","value":{"start":"2"}}]'


def _predictions_plan(specs, live_predictions=(), tasks=(("pump-7/a.csv", 11), ("pump-7/b.csv", 12)),
                      skipped=(), pending=(), live_project=True, keys=("pump-7/a.csv", "pump-7/b.csv"),
                      sync=True, results=(RA, RB)):
    """A plan of the example specs, applied, with a Predictions set of model m1 for pump-7."""
    from lsts_sync.resources.facts import SourceFacts
    from lsts_sync.resources.state import PredictionSet, TaskPrediction

    wanted = PredictionSet("local", "pump-7", "detector", "m1", "p.csv",
                           (TaskPrediction(keys[0], results[0], 0.9, (2,)),
                            TaskPrediction(keys[1], results[1], None, (3, 4))),
                           tuple(skipped), 4)
    desired = desired_state(specs, predictions={wanted.key: wanted})
    live = _live_copy(desired)
    if not live_project:
        live.projects.clear()
        live.storages.clear()
    if not sync:
        desired = dataclasses.replace(desired, storages={k: dataclasses.replace(v, sync=False)
                                                         for k, v in desired.storages.items()})
    sources = {("local", "pump-7", "source"): SourceFacts(tuple(pending), tuple(pending))}
    facts = LiveFacts(live, sources, tasks={("local", "pump-7"): tuple(tasks)},
                      predictions={("local", "pump-7"): tuple(live_predictions)})
    return build_plan(desired, facts)


def test_predictions_of_a_file_are_one_bulk_step_on_the_matching_tasks(specs) -> None:
    from lsts_sync.plan.build import NewPrediction, SetPredictions

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
    from lsts_sync.resources.state import LivePrediction

    plan = _predictions_plan(specs, [LivePrediction(5, 11, "m1", RA, 0.9), LivePrediction(6, 12, "m1", RB, None)])
    assert plan.empty and plan.summary() == "No changes." and plan.checks == ()


def test_a_changed_file_replaces_and_removes_only_its_model_version(specs) -> None:
    from lsts_sync.plan.build import NewPrediction
    from lsts_sync.resources.state import LivePrediction

    live = [LivePrediction(5, 11, "m1", RA, 0.5),  # score changed: replaced
            LivePrediction(6, 12, "m1", RB, None),  # unchanged
            LivePrediction(7, 13, "m1", RB, None),  # a task the file no longer names: removed
            LivePrediction(8, 11, "m0", RB, None), LivePrediction(9, 13, "m0", RA, None)]  # another version
    plan = _predictions_plan(specs, live, tasks=(("pump-7/a.csv", 11), ("pump-7/b.csv", 12), ("pump-7/c.csv", 13)))
    (step,) = plan.changes
    assert step.add == (NewPrediction(11, RA, 0.9),) and step.delete_ids == (5, 7)
    assert (step.added, step.replaced, step.removed) == (0, 1, 1)


def test_a_changed_region_field_value_replaces_its_prediction(specs) -> None:
    """A region field's result is part of the prediction: the same region with another severity
    is a replacement, and the same severity (keys in Label Studio's order) is no change."""
    from lsts_sync.plan.build import NewPrediction
    from lsts_sync.resources.state import LivePrediction, canonical_result

    def regions(severity: str) -> list[dict]:
        span = {"start": "1", "end": "2", "instant": False}
        return [{"id": "a", "from_name": "label", "to_name": "ts", "type": "timeserieslabels",
                 "value": {**span, "timeserieslabels": ["Anomaly"]}},
                {"id": "a", "from_name": "severity", "to_name": "ts", "type": "choices",
                 "value": {**span, "choices": [severity]}}]

    wanted = canonical_result(regions("low"))
    as_listed = json.dumps(list(reversed([dict(reversed(r.items())) for r in regions("low")])))
    same = _predictions_plan(specs, [LivePrediction(5, 11, "m1", canonical_result(json.loads(as_listed)), 0.9),
                                     LivePrediction(6, 12, "m1", RB, None)], results=(wanted, RB))
    assert same.empty and same.summary() == "No changes."
    changed = _predictions_plan(specs, [LivePrediction(5, 11, "m1", canonical_result(regions("high")), 0.9),
                                        LivePrediction(6, 12, "m1", RB, None)], results=(wanted, RB))
    (step,) = changed.changes
    assert step.add == (NewPrediction(11, wanted, 0.9),) and step.delete_ids == (5,)
    assert (step.added, step.replaced, step.removed) == (0, 1, 0)


def test_two_live_predictions_of_one_version_on_a_task_are_replaced_by_one(specs) -> None:
    from lsts_sync.resources.state import LivePrediction

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


def test_a_bare_file_name_that_ends_a_task_key_gets_the_full_key_as_hint(specs) -> None:
    plan = _predictions_plan(specs, tasks=(("pump-7/a.csv", 11), ("pump-7/b.csv", 12), ("old/b.csv", 13)),
                             keys=("pump-7/a.csv", "b.csv"))
    assert [render_check(c) for c in plan.checks][:2] == [
        "Warning: p.csv:3: no task of project pump-7 was imported from b.csv; the file column needs the object's full "
        "key, e.g. 'old/b.csv' (2 keys end in that name)",
        "Warning: p.csv:4: no task of project pump-7 was imported from b.csv; the file column needs the object's full "
        "key, e.g. 'old/b.csv' (2 keys end in that name)"]


def test_rows_whose_object_this_apply_syncs_are_attached_after_the_sync(specs) -> None:
    from lsts_sync.plan.changes import AttachPredictions, ObjectPrediction, SetPredictions

    plan = _predictions_plan(specs, tasks=(("pump-7/a.csv", 11),), pending=("pump-7/b.csv",))
    now, later = plan.changes
    assert isinstance(now, SetPredictions) and [p.task for p in now.add] == [11]
    assert isinstance(later, AttachPredictions) and later.project_id == 1
    assert later.objects == (ObjectPrediction("pump-7/b.csv", RB, None),)
    assert [type(s).__name__ for s in plan.steps] == ["SetPredictions", "Sync", "AttachPredictions"]
    assert not [c for c in plan.checks if c.name == "predictions"]
    text = render_text(plan)
    assert text.index("» sync storage pump-7/source") < text.index(
        "  + predictions pump-7/m1 (instance local): 1 to add after the sync (tasks known after apply)")
    assert plan.summary().endswith("Predictions: 2 to add, 0 to replace, 0 to remove. 1 storage(s) to sync.")
    entry = json.loads(render_json(plan))["changes"][1]
    assert (entry["after_sync"], entry["tasks"], entry["objects"]) == (True, "(known after apply)", ["pump-7/b.csv"])


def test_rows_whose_object_is_pending_without_a_sync_wait_with_a_warning(specs) -> None:
    plan = _predictions_plan(specs, tasks=(("pump-7/a.csv", 11),), pending=("pump-7/b.csv",), sync=False)
    assert [c.action for c in plan.changes] == ["predictions"] and not plan.syncs
    assert [c.message for c in plan.checks if c.subject == "p.csv:3"] == [
        "pump-7/b.csv is not a task of project pump-7 yet and this apply does not sync its source (sync: false); "
        "apply --sync imports it and its predictions"]


def test_predictions_of_a_project_this_apply_creates_are_attached_after_its_sync(specs) -> None:
    from lsts_sync.plan.changes import AttachPredictions

    plan = _predictions_plan(specs, live_project=False, pending=("pump-7/a.csv", "pump-7/b.csv"), tasks=())
    (later,) = [c for c in plan.changes if c.action == "predictions"]
    assert isinstance(later, AttachPredictions) and later.project_id is None  # apply takes the created id
    assert [o.key for o in later.objects] == ["pump-7/a.csv", "pump-7/b.csv"]
    assert plan.steps[-1] is later and not [c for c in plan.checks if c.name == "predictions"]


def test_predictions_come_after_the_template_update_that_adds_their_label(specs) -> None:
    from lsts_sync.resources.facts import SourceFacts
    from lsts_sync.resources.state import PredictionSet, TaskPrediction

    wanted = PredictionSet("local", "pump-7", "detector", "m1", "p.csv", (TaskPrediction("pump-7/a.csv", RA),), (), 1)
    desired = desired_state(specs, predictions={wanted.key: wanted})
    live = _live_copy(desired)
    key = ("local", "pump-7")
    live.projects[key] = dataclasses.replace(live.projects[key],
                                             label_config=live.projects[key].label_config.replace("Maintenance", "M"))
    facts = LiveFacts(live, {("local", "pump-7", "source"): SourceFacts(())}, tasks={key: (("pump-7/a.csv", 11),)})
    assert [c.action for c in build_plan(desired, facts).changes] == ["update", "predictions"]

# --- pinned: exact checks (names, messages, overrides), thresholds and the order of steps ---

from lsts_sync.plan.changes import Check, RewriteResults, RotateCredentials, Sync  # noqa: E402
from lsts_sync.plan.checks import too_many_changes as _share  # noqa: E402
from lsts_sync.resources.facts import (  # noqa: E402
    DataSample,
    Finding,
    SourceFacts,  # noqa: E402
)
from lsts_sync.resources.state import StorageState  # noqa: E402

SOURCE = ("local", "pump-7", "source")


def test_data_samples_become_exact_checks_in_order(specs) -> None:
    desired = desired_state(specs)
    samples = (DataSample("pump-7", "new source", (Finding("s3://b/k", 3, "bad row"),
                                                   Finding("s3://b/k", 0, "odd", error=False)), 2, 5),
               DataSample("p2", "sync", empty="no object matches"),
               DataSample("p3", "sync", sampled=3, total=3))
    plan = build_plan(desired, LiveFacts(_live_copy(desired), samples=samples))
    assert plan.checks == (
        Check("data", "pump-7", "s3://b/k:3: bad row (new source)", "--skip-data-checks"),
        Check("data", "pump-7", "s3://b/k: odd", blocking=False),
        Check("data", "pump-7", "checked the first rows of 2 of 5 object(s); `lsts-sync check SPECS --project "
              "pump-7` reads every row", blocking=False),
        Check("data", "p2", "no object matches", "--skip-data-checks"))


def _with_last_sync(live: LiveState) -> LiveState:
    live.storages[SOURCE] = dataclasses.replace(live.storages[SOURCE], last_sync="2026-01-01")
    return live


def test_pending_objects_sync_with_the_live_id_last_sync_and_count(specs) -> None:
    desired = desired_state(specs)
    live = _with_last_sync(_live_copy(desired))
    facts = LiveFacts(live, sources={SOURCE: SourceFacts(("a", "b", "c"), pending=("b", "c"))})
    plan = build_plan(desired, facts)
    assert plan.syncs == (Sync(desired.storages[SOURCE], live.storages[SOURCE].id, "2 new object(s)",
                               "2026-01-01", 2),)
    assert plan.checks == ()


def test_a_new_source_syncs_without_an_id_with_its_pending_count(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    del live.storages[SOURCE]
    plan = build_plan(desired, LiveFacts(live, sources={SOURCE: SourceFacts(("a",), pending=("a",))}))
    assert plan.syncs == (Sync(desired.storages[SOURCE], None, "new or changed", None, 1),)


def test_a_taken_over_source_syncs_with_the_foreign_id(specs) -> None:
    desired = desired_state(specs)
    live = _with_last_sync(_live_copy(desired))
    live.foreign_storages[SOURCE] = dataclasses.replace(live.storages.pop(SOURCE), id=77, owner="ml")
    plan = build_plan(desired, LiveFacts(live), sync_all=True)
    assert plan.syncs == (Sync(desired.storages[SOURCE], 77, "new or changed", "2026-01-01", 0),)


def test_sync_all_syncs_an_unchanged_source_and_no_sync_without_pending(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    facts = LiveFacts(live, sources={SOURCE: SourceFacts(("a",))})
    assert build_plan(desired, facts).syncs == ()
    (sync,) = build_plan(desired, facts, sync_all=True).syncs
    assert (sync.reason, sync.pending, sync.storage_id) == ("--sync", 0, live.storages[SOURCE].id)


def test_a_target_storage_never_syncs(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    target = ("local", "pump-7", "target")
    desired.storages[target] = dataclasses.replace(desired.storages[target], sync=True)
    facts = LiveFacts(live, sources={target: SourceFacts(("a",), pending=("a",), already=("a",))})
    assert build_plan(desired, facts, sync_all=True).syncs == build_plan(desired, LiveFacts(live), sync_all=True).syncs
    assert build_plan(desired, facts).checks == ()


def test_source_warnings_are_exact(specs) -> None:
    desired = desired_state(specs)
    desired.storages[SOURCE] = dataclasses.replace(desired.storages[SOURCE], sync=False)
    live = _live_copy(desired)
    facts = LiveFacts(live, sources={SOURCE: SourceFacts(("a", "b"), pending=("a", "b"), changed=("x", "y"),
                                                         already=("z",))})
    plan = build_plan(desired, facts)
    assert plan.syncs == ()
    assert plan.checks == (
        Check("pending", "pump-7", "2 object(s) under s3://lsts-demo/pump-7/ are not yet tasks (sync: false); "
              "apply --sync imports them", blocking=False),
        Check("reimport", "pump-7", "1 object(s) under s3://lsts-demo/pump-7/ are already tasks of this project; "
              "the new source storage imports them again as new tasks", blocking=False),
        Check("changed-objects", "pump-7", "2 object(s) changed after their import, e.g. x: the labeling page shows "
              "each as it is now, so regions drawn before may not fit it, and Label Studio does not import a key "
              "again; --reimport-changed pump-7 re-imports those whose task holds no annotation, draft or "
              "prediction", blocking=False))


def test_a_changed_source_does_not_warn_of_pending_objects(specs) -> None:
    desired = desired_state(specs)
    desired.storages[SOURCE] = dataclasses.replace(desired.storages[SOURCE], sync=False)
    live = _live_copy(desired)
    live.storages[SOURCE] = dataclasses.replace(live.storages[SOURCE], presign_ttl=5)
    plan = build_plan(desired, LiveFacts(live, sources={SOURCE: SourceFacts(("a",), pending=("a",))}))
    assert plan.checks == () and plan.syncs == ()


def test_objects_that_two_sources_import_are_a_warning_naming_both(specs) -> None:
    desired = desired_state(specs)
    other = dataclasses.replace(desired.storages[SOURCE], project="pump-8")
    desired.storages[other.key] = other
    live = _live_copy(desired)
    sources = {SOURCE: SourceFacts(("a", "k2", "k1")), other.key: SourceFacts(("k1", "k2", "z")),
               ("local", "gone", "source"): SourceFacts(("a",))}
    plan = build_plan(desired, LiveFacts(live, sources=sources))
    assert plan.checks == (Check("overlap", "pump-7, pump-8", "2 object(s) would be imported by both sources, "
                                 "e.g. k1", blocking=False),)


def _live_with(n_projects: int) -> LiveState:
    template = ProjectState("local", "p", "P", "", "<View/>", usage=Usage(0))
    return LiveState({("local", f"p{i}"): dataclasses.replace(template, name=f"p{i}", id=i) for i in range(n_projects)})


def test_too_many_changes_starts_above_the_share_and_at_the_minimum() -> None:
    live = _live_with(10)
    deletes = [Delete(p) for p in live.projects.values()]
    assert _share(deletes[:3], live, Overrides()) == []  # exactly 30 %
    assert _share(deletes[:4], live, Overrides()) == [Check(
        "too-many-changes", "*", "4 of 10 managed resources would be updated or deleted (more than 30%)", "--force")]
    assert _share(deletes[:4], live, Overrides(force=True))[0].allowed
    nine = _live_with(9)
    assert _share([Delete(p) for p in nine.projects.values()], nine, Overrides()) == []  # below MIN_MANAGED
    storages = {("local", f"p{i}", "source"): StorageState("local", f"p{i}", "source", "b", "", "r", "")
                for i in range(1)}
    assert len(_share(deletes[:4], LiveState(nine.projects, storages), Overrides())) == 1  # storages count too


def test_webhooks_count_toward_too_many_changes_and_a_project_counts_once() -> None:
    from lsts_sync.plan.changes import UpdateModelVersion
    from lsts_sync.resources.state import WebhookState

    nine = _live_with(9)
    hooks = {("local", "p0", "h"): WebhookState("local", "p0", "h", "https://x.example/h", id=99)}
    deletes = [Delete(p) for p in nine.projects.values()]
    assert len(_share(deletes[:4], LiveState(nine.projects, webhooks=hooks), Overrides())) == 1  # 10 managed
    live = _live_with(10)
    projects = list(live.projects.values())[:3]
    twice = [*(Update(p, p, ()) for p in projects), *(UpdateModelVersion(p, p, ()) for p in projects)]
    assert _share(twice, live, Overrides()) == []  # 3 projects, not 6 steps


def test_cors_updates_and_creates_do_not_count_toward_too_many_changes() -> None:
    live = _live_with(10)
    cors = CorsState("b", '{"ID": "lsts-sync"}')
    changes = [Delete(p) for p in list(live.projects.values())[:3]]
    changes += [Update(cors, cors, ()), Create(next(iter(live.projects.values())))]
    assert _share(changes, live, Overrides()) == []


def test_steps_run_in_the_fixed_order() -> None:
    project = ProjectState("local", "p", "P", "", "<View/>", id=1)
    storage = StorageState("local", "p", "source", "b", "", "r", "", id=2)
    cors = CorsState("b", None)
    rewrite = RewriteResults("local", "p", 1, ())
    steps = [Delete(project), Delete(storage), RotateCredentials(storage, 2), Update(storage, storage, ()),
             Create(storage), Update(project, project, ()), Create(project), rewrite, Update(cors, cors, ()),
             Create(cors)]
    assert [s.order for s in steps] == [6, 5, 4, 3, 3, 2, 2, 1, 0, 0]
    # stable within a rank; results are rewritten before any template changes
    assert sorted(steps, key=lambda s: s.order) == [steps[i] for i in (8, 9, 7, 5, 6, 3, 4, 2, 1, 0)]


def test_delete_checks_are_exact(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    gone = dataclasses.replace(live.projects[("local", "pump-7")], name="gone", title="Gone", id=9)
    live.projects[gone.key] = gone
    gone_storage = dataclasses.replace(live.storages[SOURCE], project="other", id=99)
    live.storages[gone_storage.key] = gone_storage
    plan = build_plan(desired, LiveFacts(live), prune=True)
    assert plan.checks == (Check("delete-annotated", "gone", "project 'Gone' has annotations (usage unknown) that "
                                 "deleting it would lose", "--allow-delete gone"),)
    live.projects[gone.key] = dataclasses.replace(gone, usage=Usage(2))
    plan = build_plan(desired, LiveFacts(live), prune=True, overrides=Overrides(allow_delete=frozenset({"gone"})))
    assert plan.checks == (Check("delete-annotated", "gone", "project 'Gone' has 2 annotation(s) or draft(s) that "
                                 "deleting it would lose", "--allow-delete gone", allowed=True),)
    other = build_plan(desired, LiveFacts(live), prune=True, overrides=Overrides(allow_delete=frozenset({"x"})))
    assert other.checks[0].allowed is False


TEMPORARY = Check("temporary-credentials", "*", "the AWS credentials handed to Label Studio are temporary (session "
                  "token): it stops reading the bucket when they expire; re-send fresh ones with "
                  "--rotate-credentials", blocking=False)


def test_temporary_credentials_warn_only_when_a_storage_gets_them(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    assert build_plan(desired, LiveFacts(LiveState(), temporary_credentials=True)).checks[-1:] == (TEMPORARY,)
    assert build_plan(desired, LiveFacts(live, temporary_credentials=True)).checks == ()
    rotate = build_plan(desired, LiveFacts(live, temporary_credentials=True),
                        overrides=Overrides(rotate_credentials=True))
    assert rotate.checks == (TEMPORARY,)
    assert build_plan(desired, LiveFacts(live), overrides=Overrides(rotate_credentials=True)).checks == ()
    live.storages[SOURCE] = dataclasses.replace(live.storages[SOURCE], presign_ttl=5)
    assert build_plan(desired, LiveFacts(live, temporary_credentials=True)).checks == (TEMPORARY,)
    for key in list(desired.storages):
        desired.storages[key] = dataclasses.replace(desired.storages[key], credentials="none")
    assert build_plan(desired, LiveFacts(live, temporary_credentials=True)).checks == ()
    live.projects[("local", "pump-7")] = dataclasses.replace(live.projects[("local", "pump-7")], title="x")
    del live.storages[SOURCE]
    assert build_plan(desired, LiveFacts(live, temporary_credentials=True)).checks == ()


def test_conflict_checks_are_exact(specs) -> None:
    desired = desired_state(specs)
    want = desired.projects[("local", "pump-7")]
    live = LiveState()
    live.unmanaged[("local", want.title)] = dataclasses.replace(want, name="", owner="", id=7)
    live.duplicates["project pump-7"] = (3, 5)
    assert build_plan(desired, LiveFacts(live)).checks[:2] == (
        Check("duplicate", "project pump-7", "2 resources carry the marker of project pump-7 (ids 3, 5); lsts-sync "
              "uses id 3: delete the others in Label Studio (move any annotations to id 3 first) and plan again"),
        Check("unmanaged-title", "pump-7", "project 'Pump 7 - anomaly labeling' (id 7) exists without the "
              "lsts-sync marker; take it over or change the title", "--adopt pump-7"))
    live = LiveState(foreign={want.key: dataclasses.replace(want, owner="ml", id=8)})
    assert build_plan(desired, LiveFacts(live)).checks[0] == Check(
        "owner-conflict", "pump-7", "project pump-7 (id 8) is managed by owner 'ml', not 'default'; take it over "
        "or rename the spec", "--take-over pump-7")


def test_take_over_updates_the_foreign_project_and_its_storages(specs) -> None:
    desired = desired_state(specs)
    want = desired.projects[("local", "pump-7")]
    theirs = dataclasses.replace(want, owner="ml", id=8)
    storage = dataclasses.replace(desired.storages[SOURCE], owner="ml", id=12)
    live = LiveState(foreign={want.key: theirs}, foreign_storages={SOURCE: storage})
    plan = build_plan(desired, LiveFacts(live), overrides=Overrides(take_over=frozenset({"pump-7"})))
    updates = [(c.old.id, [d.field for d in c.diffs]) for c in plan.changes if isinstance(c, Update)]
    assert updates == [(8, ["owner"]), (12, ["owner"])]
    (create,) = [c for c in plan.changes if isinstance(c, Create) and isinstance(c.new, StorageState)]
    assert create.project_id == 8  # the target is new, on the taken-over project
    other = build_plan(desired, LiveFacts(live), overrides=Overrides(take_over=frozenset({"x"})))
    assert [c.name for c in other.blockers] == ["owner-conflict"]
    assert not any(isinstance(c, Update) for c in other.changes)


def test_label_removal_messages_are_exact(specs) -> None:
    desired, live = _with_usage(specs, annotations=2, controls=(("gone", 3), ("label|ts|timeserieslabels", 1)),
                                labels=((("label", "Retired"), 2), (("label", "Anomaly"), 1)),
                                predicted=((("label", "Retired"), 4), (("label", "Anomaly"), 5)))
    _add_retired_label(live)
    assert build_plan(desired, LiveFacts(live)).checks == (
        Check("label-removal", "pump-7", "the template change would orphan annotations or drafts: Retired (label): "
              "2 region(s); field gone: 3 result(s)", "--allow-label-removal pump-7"),
        Check("label-removal", "pump-7", "predictions use labels or choices the new template drops: Retired (label): 4",
              blocking=False))
    allowed = build_plan(desired, LiveFacts(live), overrides=Overrides(allow_label_removal=frozenset({"x"})))
    assert allowed.checks[0].allowed is False


SEV = "  - {name: sev, type: choices, values: [low, severe]}\n"
QUALITY = "task_fields:\n  - {name: quality, type: choices, values: [good, bad]}\n"
# 3 regions with sev (2 severe, 1 low) and one quality in annotations; predictions: severe 4 times
FIELD_USAGE = Usage(2, controls=(("label|ts|timeserieslabels", 3), ("quality|ts|choices", 1), ("sev|ts|choices", 3)),
                    labels=((("label", "Anomaly"), 3), (("quality", "bad"), 1), (("sev", "low"), 1),
                            (("sev", "severe"), 2)),
                    predicted=((("sev", "severe"), 4),))


def _fields_plan(tmp_path, after: str, before: str = "region_fields:\n" + SEV + QUALITY) -> Plan:
    """pump-7 live with the ``before`` fields and ``FIELD_USAGE``, planned against the ``after`` ones."""
    def load(name: str, fields: str) -> DesiredState:
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "pump-7.yaml").write_text(PUMP7[1].read_text() + fields)
        return desired_state(load_checked([PUMP7[0], tmp_path / name / "pump-7.yaml"],
                                          env={"LABEL_STUDIO_API_KEY": PUMP7_TOKEN}))
    live = _live_copy(load("before", before))
    key = ("local", "pump-7")
    live.projects[key] = dataclasses.replace(live.projects[key], usage=FIELD_USAGE)
    return build_plan(load("after", after), LiveFacts(live))


def test_removing_a_used_field_or_choice_blocks_naming_them_plainly(tmp_path) -> None:
    plan = _fields_plan(tmp_path, "region_fields:\n  - {name: sev, type: choices, values: [low]}\n")
    assert [(c.name, c.blocking, c.message) for c in plan.checks] == [
        ("label-removal", True, "the template change would orphan annotations or drafts: choice severe of sev: "
                                "2 result(s); field quality: 1 result(s)"),  # not its choice bad again
        ("label-removal", False, "predictions use labels or choices the new template drops: choice severe of sev: 4")]
    assert plan.checks[0].override == "--allow-label-removal pump-7"


def test_renamed_fields_and_choices_count_as_kept(tmp_path) -> None:
    renamed = ("region_fields:\n  - {name: severity, renamed_from: sev, type: choices, values: [low, {value: high, "
               "renamed_from: severe}]}\n" + QUALITY.replace("quality,", "grade, renamed_from: quality,"))
    assert _fields_plan(tmp_path / "1", renamed).checks == ()
    choice_dropped = renamed.replace("{value: high, renamed_from: severe}", "high")
    (check, predicted) = _fields_plan(tmp_path / "2", choice_dropped).checks
    assert check.message.endswith(": choice severe of severity: 2 result(s)")  # by the field's new name
    assert predicted.message.endswith(": choice severe of severity: 4")


def test_a_renamed_field_of_another_type_blocks_as_a_type_change(tmp_path) -> None:
    plan = _fields_plan(tmp_path, "region_fields:\n  - {name: severity, renamed_from: sev, type: text}\n" + QUALITY)
    (check, _) = plan.checks
    assert check.message == "the template change would orphan annotations or drafts: field severity changes type " \
        "(choices → textarea): 3 result(s)"


def test_cors_rule_no_longer_needed_is_an_update_to_absent_and_keeps_others(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    have = live.cors["lsts-demo"]
    live.cors["lsts-demo"] = dataclasses.replace(have, others=("{}",))
    desired.cors["lsts-demo"] = dataclasses.replace(have, rule=None)
    (change,) = build_plan(desired, LiveFacts(live)).changes
    assert isinstance(change, Update) and change.new == CorsState("lsts-demo", None, ("{}",), have.rule_id)
    assert change.old == live.cors["lsts-demo"]
    del live.cors["lsts-demo"]
    assert build_plan(desired, LiveFacts(live)).changes == ()


def test_checks_look_past_changes_they_do_not_concern(specs) -> None:
    """Deletes, label removals and adoptions each scan every change, not only up to the first other one."""
    desired, live = _with_usage(specs, annotations=1, predicted=((("label", "Retired"), 4), (("label", "Old"), 1)))
    _add_retired_label(live)
    live.projects[("local", "pump-7")] = dataclasses.replace(
        live.projects[("local", "pump-7")],
        label_config=live.projects[("local", "pump-7")].label_config.replace(
            "</TimeSeriesLabels>", '<Label value="Old"/></TimeSeriesLabels>'))
    live.cors["lsts-demo"] = dataclasses.replace(live.cors["lsts-demo"], rule='{"ID": "lsts-sync"}')
    empty = dataclasses.replace(live.projects[("local", "pump-7")], name="empty", id=20, usage=Usage(0))
    gone = dataclasses.replace(live.projects[("local", "pump-7")], name="gone", title="Gone", id=21, usage=Usage(1))
    live.projects.update({empty.key: empty, gone.key: gone})
    live.storages[("local", "gone", "source")] = dataclasses.replace(live.storages[SOURCE], project="gone", id=30)
    plan = build_plan(desired, LiveFacts(live), prune=True)
    assert [(c.name, c.subject) for c in plan.checks] == [("label-removal", "pump-7"), ("delete-annotated", "gone")]
    assert plan.checks[0].message == ("predictions use labels or choices the new template drops: Retired (label): 4; "
                                      "Old (label): 1")


def test_a_second_project_is_adopted_under_its_spec_name(specs) -> None:
    desired = desired_state(specs)
    first = desired.projects[("local", "pump-7")]
    second = dataclasses.replace(first, name="pump-8", title="Pump 8")
    desired.projects[second.key] = second
    live = LiveState(unmanaged={("local", "Pump 8"): dataclasses.replace(second, name="", owner="", id=7)})
    plan = build_plan(desired, LiveFacts(live), overrides=Overrides(adopt=frozenset({"pump-8"})))
    (update,) = [c for c in plan.changes if isinstance(c, Update)]
    assert (update.old.name, update.old.id, [d.field for d in update.diffs]) == ("pump-8", 7, ["owner"])


def test_a_cors_rule_keeps_its_rule_id_and_an_update_carries_its_diffs(specs) -> None:
    desired = desired_state(specs)
    mine = dataclasses.replace(desired.cors["lsts-demo"], rule_id="team-x")
    desired.cors["lsts-demo"] = mine
    (create,) = [c for c in build_plan(desired, LiveFacts(LiveState())).changes if isinstance(c.new, CorsState)]
    assert create.new == CorsState("lsts-demo", mine.rule, (), "team-x")
    live = LiveState(cors={"lsts-demo": CorsState("lsts-demo", '{"ID": "team-x"}', rule_id="team-x")})
    (update,) = [c for c in build_plan(desired, LiveFacts(live)).changes if isinstance(c.new, CorsState)]
    assert update.diffs and [d.field for d in update.diffs] == list(json.loads(mine.rule))


def test_rotation_skips_a_storage_this_plan_creates(specs) -> None:
    desired = desired_state(specs)
    live = _live_copy(desired)
    del live.storages[("local", "pump-7", "target")]
    plan = build_plan(desired, LiveFacts(live), overrides=Overrides(rotate_credentials=True))
    assert [(c.action, getattr(c, "storage", None) and c.storage.role) for c in plan.changes] == [
        ("create", None), ("rotate", "source")]


# --- project settings: managed keys only, a UI change is an update back, the model version last ---

def _with_settings(specs, **settings):
    """The example specs with pump-7's ``settings:`` set to ``settings``, and their desired state."""
    from lsts_sync.spec.models import ProjectSettings

    project = specs.projects["pump-7"].model_copy(update={"settings": ProjectSettings(**settings)})
    return desired_state(dataclasses.replace(specs, projects={**specs.projects, "pump-7": project}))


def test_a_setting_the_spec_leaves_out_is_not_managed(specs) -> None:
    desired = _with_settings(specs, sampling="uniform")
    live = _live_copy(desired)
    key = ("local", "pump-7")
    live.projects[key] = dataclasses.replace(live.projects[key], settings=(
        ("show_skip_button", False), ("sampling", "uniform"), ("color", "#123456")))  # what the UI set, and ours
    assert build_plan(desired, LiveFacts(live)).empty


def test_a_managed_setting_changed_in_the_ui_is_an_update_back_to_the_spec(specs) -> None:
    desired = _with_settings(specs, sampling="uniform", instructions="Mark <b>every</b> rise")
    live = _live_copy(desired)
    key = ("local", "pump-7")
    live.projects[key] = dataclasses.replace(live.projects[key], settings=(
        ("instructions", "Mark <b>every</b> rise"), ("sampling", "sequential")))
    (change,) = build_plan(desired, LiveFacts(live)).changes
    assert isinstance(change, Update) and [(d.field, d.old, d.new) for d in change.diffs] == [
        ("settings.sampling", "sequential", "uniform")]
    assert '    settings.sampling: "sequential" -> "uniform"' in render_text(build_plan(desired, LiveFacts(live)))


def test_a_new_predictions_model_version_is_written_after_the_predictions(specs) -> None:
    from lsts_sync.plan.changes import UpdateModelVersion

    desired = _with_settings(specs, predictions_model_version="m2", show_predictions=True)
    live = _live_copy(desired)
    key = ("local", "pump-7")
    live.projects[key] = dataclasses.replace(live.projects[key], title="Old", settings=(
        ("predictions_model_version", "m1"), ("show_predictions", True)))
    plan = build_plan(desired, LiveFacts(live))
    first, last = plan.changes
    assert [d.field for d in first.diffs] == ["title"] and isinstance(last, UpdateModelVersion)
    assert [(d.field, d.old, d.new) for d in last.diffs] == [("settings.predictions_model_version", "m1", "m2")]
    assert plan.counts["update"] == 1 and last.describe() == "update project pump-7 predictions model version"


def test_a_new_project_is_created_with_its_settings_shown(specs) -> None:
    desired = _with_settings(specs, maximum_annotations=2, skip_queue="requeue_for_me")
    plan = build_plan(desired, LiveFacts(LiveState()))
    text = render_text(plan)
    assert "    settings.maximum_annotations: 2\n" in text and '    settings.skip_queue: "requeue_for_me"\n' in text


def test_a_re_imported_objects_prediction_is_attached_after_the_sync(specs) -> None:
    """A changed object nobody worked on is deleted and imported again by the sync: its prediction
    comes in the same apply, after the sync, for the task the sync makes."""
    from lsts_sync.plan.changes import AttachPredictions, Reimport
    from lsts_sync.resources.facts import ChangedTask, SourceFacts
    from lsts_sync.resources.state import PredictionSet, TaskPrediction

    wanted = PredictionSet("local", "pump-7", "detector", "m1", "p.csv",
                           (TaskPrediction("pump-7/a.csv", RA, 0.9, (2,)), TaskPrediction("pump-7/b.csv", RB, None, (3,))),
                           (), 2)
    desired = desired_state(specs, predictions={wanted.key: wanted})
    live = _live_copy(desired)
    source = SourceFacts(("pump-7/a.csv", "pump-7/b.csv"), changed=("pump-7/b.csv",),
                         changed_tasks=(ChangedTask("pump-7/b.csv", 12, False),))
    facts = LiveFacts(live, {("local", "pump-7", "source"): source},
                      tasks={("local", "pump-7"): (("pump-7/a.csv", 11), ("pump-7/b.csv", 12))})
    plan = build_plan(desired, facts)
    assert [type(s).__name__ for s in plan.steps] == ["SetPredictions", "Reimport", "Sync", "AttachPredictions"]
    (later,) = [c for c in plan.changes if isinstance(c, AttachPredictions)]
    assert [o.key for o in later.objects] == ["pump-7/b.csv"]
    assert [c.tasks for c in plan.changes if isinstance(c, Reimport)] == [((12, "pump-7/b.csv"),)]
    assert not [c for c in plan.checks if c.name == "predictions"]
