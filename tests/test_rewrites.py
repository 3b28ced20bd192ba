"""Rewrites of labeled results (``plan.rewrites``): label renames and time-format changes, planned
on the fakes through gather and build_plan, applied with their backup, re-run after a failure."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest

from lsts_sync.apply.executor import ApplyFailed, apply_plan
from lsts_sync.core.errors import LstsError
from lsts_sync.desired.build import desired_state
from lsts_sync.live.connections import Connections
from lsts_sync.live.gather import gather
from lsts_sync.live.ls_mapping import usage_from_tasks
from lsts_sync.plan.build import NO_OVERRIDES, Plan, build_plan
from lsts_sync.plan.changes import RewriteResults
from lsts_sync.plan.options import GatherOptions, Overrides
from lsts_sync.plan.render import render_json, render_text
from lsts_sync.plan.rewrites import Retime
from lsts_sync.resources.facts import TaskFile
from lsts_sync.resources.state import (
    LivePrediction,
    PredictionSet,
    ResultRecord,
    TaskPrediction,
    Usage,
    canonical_result,
)
from lsts_sync.spec.loader import SpecSet, load_specs

from .fakes import FakeLabelStudio, FakeS3, run_apply

SPEC = """\
kind: Instance
name: local
url: http://ls.example:8080
token: {token}
---
kind: Bucket
name: data
---
kind: Project
name: a
instance: local
source: {{bucket: data, prefix: a/}}
timeseries: {{time_column: t, time_format: '{fmt}', channels: [{{column: v}}]}}
labels: [{labels}]
{fields}"""
BEFORE = "{value: Anomaly}, {value: Missing}"
RENAMED = "{value: Anomaly}, {value: Gap, renamed_from: Missing}"
CSV = b"t,v\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n"


def specs_of(folder: Path, labels: str = BEFORE, fmt: str = "%Y-%m-%d %H:%M:%S", fields: str = "") -> SpecSet:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "specs.yaml").write_text(SPEC.format(token="f" * 40, fmt=fmt, labels=labels, fields=fields))
    loaded, problems = load_specs([str(folder)])
    assert not [p for p in problems if p.severity == "error"], problems
    return loaded


def region(start: object, end: object, *labels: str, ident: str = "r") -> dict:
    return {"id": ident, "from_name": "label", "to_name": "ts", "type": "timeserieslabels",
            "value": {"start": start, "end": end, "instant": start == end, "timeserieslabels": list(labels)}}


def record(kind: str, rid: int, task: int, *regions: dict, updated: str = "", cancelled: bool = False,
           annotation: int | None = None) -> ResultRecord:
    return ResultRecord(kind, rid, task, json.dumps(list(regions)), updated, cancelled, annotation)  # type: ignore[arg-type]


class Stack:
    """Project ``a`` applied on the fakes, its records in ``ls.usage``; ``plan``/``apply`` for a spec set."""

    def __init__(self, tmp_path: Path, records: list[ResultRecord], fields: str = ""):
        self.tmp = tmp_path
        self.ls, self.s3 = FakeLabelStudio(), FakeS3()
        self.s3.objects_["data"] = {"a/1.csv": (1.0, CSV)}
        first = specs_of(tmp_path / "before", fields=fields)
        run_apply(self.plan(first), self.ls, self.s3)
        (self.pid,) = self.ls.projects
        self.ls.tasks[self.pid] = [TaskFile("a/1.csv", 2.0, 1)]
        if fields:  # usage counted from the records as gather counts it (controls, labels and choices)
            self.ls.usage[self.pid] = usage_of(records)
            return
        labels = Counter((r["from_name"], label) for x in records if x.kind != "prediction"
                         for r in json.loads(x.result) for label in r["value"]["timeserieslabels"])
        self.ls.usage[self.pid] = Usage(len(records), labels=tuple(sorted(labels.items())), records=tuple(records))

    def plan(self, specs: SpecSet, overrides: Overrides = NO_OVERRIDES) -> Plan:
        desired = desired_state(specs)
        conn = Connections({"local": self.ls}, self.s3)
        return build_plan(desired, gather(specs, desired, conn, GatherOptions(skip_data_checks=True)),
                          overrides=overrides)

    def apply(self, plan: Plan) -> list[str]:
        lines: list[str] = []
        self.ls.calls.clear()
        apply_plan(plan, Connections({"local": self.ls}, self.s3), progress=lines.append,
                   backup_dir=self.tmp / "backups")
        return lines

    def result(self, kind: str, rid: int) -> list:
        original = next(r for r in self.ls.usage[self.pid].records if (r.kind, r.id) == (kind, rid))
        return json.loads(self.ls.rewritten.get((kind, rid), original.result))


def usage_of(records: list[ResultRecord]) -> Usage:
    """The usage Label Studio's export of ``records`` gives (``usage_from_tasks``)."""
    tasks: dict[int, dict] = {}
    for r in records:
        if r.kind != "prediction":
            task = tasks.setdefault(r.task, {"id": r.task, "annotations": [], "drafts": []})
            task["annotations" if r.kind == "annotation" else "drafts"].append({
                "id": r.id, "result": json.loads(r.result), "updated_at": r.updated_at, "was_cancelled": r.cancelled,
                "annotation": r.annotation})
    predictions = [LivePrediction(r.id, r.task, "m1", r.result) for r in records if r.kind == "prediction"]
    return usage_from_tasks(list(tasks.values()), "a", predictions)


T1, T2, T3 = "2024-01-01 00:10:00", "2024-01-01 00:20:00", "2024-01-01 00:30:00"


def labeled() -> list[ResultRecord]:
    """Task 1: a multi-region first annotation (10) and a later one (11) without the old label;
    task 2: a draft (20) of no annotation; task 3: a prediction (30)."""
    return [record("annotation", 10, 1, region(T1, T2, "Missing", ident="a"), region(T2, T3, "Anomaly", ident="b"),
                   region(T1, T1, "Missing", "Gap", ident="c"), updated="2024-01-01T00:00:00Z"),
            record("annotation", 11, 1, region(T1, T2, "Anomaly"), updated="2024-01-02T00:00:00Z"),
            record("draft", 20, 2, region(T1, T2, "Missing")),
            record("prediction", 30, 3, region(T2, T3, "Missing"))]


def test_a_rename_plans_a_relabel_step_before_the_template_and_no_label_removal(tmp_path: Path) -> None:
    stack = Stack(tmp_path, labeled())
    plan = stack.plan(specs_of(tmp_path / "after", RENAMED))
    rewrite, update = plan.changes
    assert isinstance(rewrite, RewriteResults) and update.action == "update"  # the results first
    text = render_text(plan)
    assert "  ~ relabel a: Missing → Gap (4 region(s) in 1 annotation(s), 1 draft(s), 1 prediction(s))" in text
    assert "    saves 2 annotation(s), 1 draft(s), 1 prediction(s); what they held is backed up first" in text
    assert not plan.blockers and "label-removal" not in text
    assert plan.summary() == "Plan: 0 to add, 1 to change, 0 to delete. Results to rewrite: 4."
    # the prediction first, then the draft, then task 1's annotations oldest first: 11 stays the latest
    assert [(w.kind, w.id) for w in rewrite.writes] == [("prediction", 30), ("draft", 20), ("annotation", 10),
                                                         ("annotation", 11)]
    assert rewrite.writes[3].new == rewrite.writes[3].old  # saved again unchanged


def test_apply_backs_up_then_rewrites_then_the_template_and_a_second_plan_is_a_no_op(tmp_path: Path) -> None:
    stack = Stack(tmp_path, labeled())
    renamed = specs_of(tmp_path / "after", RENAMED)
    lines = stack.apply(stack.plan(renamed))
    assert stack.ls.calls == ["rewrite_result prediction 30", "rewrite_result draft 20", "rewrite_result annotation 10",
                              "rewrite_result annotation 11", f"update_project {stack.pid} label_config"]
    assert [r["value"]["timeserieslabels"] for r in stack.result("annotation", 10)] == [["Gap"], ["Anomaly"], ["Gap"]]
    assert stack.result("prediction", 30)[0]["value"]["timeserieslabels"] == ["Gap"]
    (backup,) = (tmp_path / "backups").iterdir()
    assert backup.name.startswith("a-") and oct(backup.stat().st_mode)[-3:] == "600"
    assert any(line.startswith(f"Saved what relabel a: Missing → Gap rewrites to {backup}") for line in lines)
    saved = json.loads(backup.read_text())
    assert saved["project_id"] == stack.pid and "Missing" in saved["label_config"]
    assert [(r["kind"], r["id"], r["fate"]) for r in saved["records"]] == [
        ("prediction", 30, "saved"), ("draft", 20, "saved"), ("annotation", 10, "saved"), ("annotation", 11, "saved")]
    assert saved["records"][2]["result"] == json.loads(labeled()[0].result)  # as it was before
    again = stack.plan(renamed)
    assert again.summary() == "No changes." and not again.checks


def test_a_rename_that_nothing_uses_is_only_a_template_change(tmp_path: Path) -> None:
    stack = Stack(tmp_path, [record("annotation", 10, 1, region(T1, T2, "Anomaly"))])
    plan = stack.plan(specs_of(tmp_path / "after", RENAMED))
    assert [c.action for c in plan.changes] == ["update"] and not plan.checks


def test_a_failure_part_way_leaves_the_rest_and_the_template_to_the_next_plan(tmp_path: Path) -> None:
    stack = Stack(tmp_path, labeled())
    renamed = specs_of(tmp_path / "after", RENAMED)
    plan = stack.plan(renamed)
    calls = 0
    real = stack.ls.rewrite_result

    def failing(*args: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise LstsError("instance local: rewrite annotation 10 of project a failed with HTTP 502")
        real(*args)  # type: ignore[arg-type]

    stack.ls.rewrite_result = failing  # type: ignore[method-assign]
    with pytest.raises(ApplyFailed) as failed:
        stack.apply(plan)
    assert failed.value.remaining == ["relabel a: Missing → Gap", "update project a"]
    stack.ls.rewrite_result = real  # type: ignore[method-assign]
    rest = stack.plan(renamed)
    rewrite, update = rest.changes
    assert isinstance(rewrite, RewriteResults) and update.action == "update"
    assert rewrite.relabeled == (2, 1, 0, 0)  # the annotation's two regions are left, nothing else
    stack.apply(rest)
    assert stack.plan(renamed).summary() == "No changes."
    assert len(list((tmp_path / "backups").iterdir())) == 2  # each run saves what it rewrites


def test_drafts_that_edit_a_saved_annotation_block_as_draft_loss(tmp_path: Path) -> None:
    records = [*labeled(), record("draft", 21, 1, region(T1, T2, "Anomaly"), annotation=11)]
    stack = Stack(tmp_path, records)
    renamed = specs_of(tmp_path / "after", RENAMED)
    plan = stack.plan(renamed)
    (check,) = plan.blockers
    assert (check.name, check.override) == ("draft-loss", "--allow-draft-loss a")
    assert check.message.startswith("1 draft(s) edit annotations the rewrite saves")
    allowed = stack.plan(renamed, Overrides(allow_draft_loss=frozenset({"a"})))
    stack.apply(allowed)
    saved = json.loads(next((tmp_path / "backups").iterdir()).read_text())
    assert saved["records"][-1] == {"kind": "draft", "id": 21, "task": 1, "fate": "deleted by Label Studio",
                                    "result": json.loads(records[-1].result)}
    assert "rewrite_result draft 21" not in stack.ls.calls


def test_a_time_format_change_retimes_every_region_to_the_same_instant(tmp_path: Path) -> None:
    stack = Stack(tmp_path, labeled())
    iso = specs_of(tmp_path / "after", fmt="%Y-%m-%dT%H:%M:%S")
    plan = stack.plan(iso)
    assert "  ~ retime a: 6 region(s) from '%Y-%m-%d %H:%M:%S' to '%Y-%m-%dT%H:%M:%S'" in render_text(plan)
    assert not plan.blockers
    stack.apply(plan)
    assert [(r["value"]["start"], r["value"]["end"]) for r in stack.result("annotation", 10)] == [
        ("2024-01-01T00:10:00", "2024-01-01T00:20:00"), ("2024-01-01T00:20:00", "2024-01-01T00:30:00"),
        ("2024-01-01T00:10:00", "2024-01-01T00:10:00")]
    assert stack.plan(iso).summary() == "No changes."


def test_a_coarser_format_is_blocked_with_its_count_until_allowed(tmp_path: Path) -> None:
    stack = Stack(tmp_path, labeled())
    hours = specs_of(tmp_path / "after", fmt="%Y-%m-%d %H:%M")
    assert not stack.plan(hours).blockers  # minutes hold every region exactly
    days = specs_of(tmp_path / "days", fmt="%Y-%m-%d")
    (check,) = stack.plan(days).blockers
    assert (check.name, check.subject, check.override) == ("time-format-change", "a", "--allow-time-format-change a")
    assert check.message == ("6 region(s) cannot be written exactly in '%Y-%m-%d' (it is coarser than "
                             "'%Y-%m-%d %H:%M:%S', or the labeling UI reads what it writes as another time); apply "
                             "would move them to the nearest time it can write")
    allowed = stack.plan(days, Overrides(allow_time_format_change=frozenset({"a"})))
    assert allowed.checks[0].allowed and not allowed.blockers


def test_unknown_usage_blocks_a_time_format_change(tmp_path: Path) -> None:
    stack = Stack(tmp_path, labeled())
    desired = desired_state(specs_of(tmp_path / "after", fmt="%Y-%m-%d"))
    facts = gather(specs_of(tmp_path / "after2", fmt="%Y-%m-%d"), desired, Connections({"local": stack.ls}, stack.s3),
                   GatherOptions(skip_data_checks=True))
    project = facts.state.projects[("local", "a")]
    unread = dataclasses.replace(facts, state=dataclasses.replace(facts.state, projects={
        ("local", "a"): dataclasses.replace(project, usage=None)}))
    (check,) = build_plan(desired, unread).blockers
    assert check.message == "the time format changes and whether regions use it is unknown"


@pytest.mark.parametrize(("old", "new", "value", "expected"), [
    ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%L%Z", "2024-01-01 00:10:00", ("2024-01-01T00:10:00.000+0000", "exact")),
    # the UI pads '.000Z' to '.000000Z', which no longer parses
    ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%LZ", "2024-01-01 00:10:00", ("2024-01-01T00:10:00.000Z", "inexact")),
    ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "2024-01-01 00:10:00", ("2024-01-01", "inexact")),
    ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "1973-10-01", ("1973-10-01T00:00:00", "exact")),
    ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "1973-10-01T00:00:00", ("1973-10-01T00:00:00", "already")),
    ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "Oct 1973", ("Oct 1973", "unreadable")),
    ("%Y-%m-%d", "%d.%m.%Y", "1971-06-30", ("30.06.1971", "inexact")),  # the UI reads it as 30.060.1971
    ("%s", "%Q", "1000", ("1000000", "ambiguous")),  # a re-run would read 1000000 as seconds
    (None, "%s", 1609459200, ("1609459200", "exact")),  # a number becomes the instant %s reads from it
    ("%s", None, "1609459200", (1609459200, "exact")),
    ("%Y-%m-%d", None, "2021-01-01", ("2021-01-01", "inexact")),  # no number says this date
    ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%L", "2024-01-01 00:10:00", ("2024-01-01 00:10:00.000", "exact")),
])
def test_retime_converts_at_the_same_instant_or_says_why_not(old, new, value, expected) -> None:
    assert Retime(old, new).convert(value) == expected


def test_a_prediction_the_rename_rewrites_is_compared_as_rewritten_with_its_predictions_file(tmp_path: Path) -> None:
    """The detector's file still says Missing (read as Gap, with the Missing row's region id): the
    prediction that the relabel step rewrites then equals the file, so it is not replaced too."""
    stack = Stack(tmp_path, [])
    live = stack.ls.add_prediction(stack.pid, 1, "m1", [region(T1, T2, "Missing", ident="p")])
    stack.ls.usage[stack.pid] = Usage(0, records=(record("prediction", live.id, 1, region(T1, T2, "Missing", ident="p")),))
    renamed = specs_of(tmp_path / "after", RENAMED)
    wanted = PredictionSet("local", "a", "det", "m1", "f.csv",
                           (TaskPrediction("a/1.csv", canonical_result([region(T1, T2, "Gap", ident="p")])),), rows=1)
    desired = desired_state(renamed, predictions={wanted.key: wanted})
    facts = gather(renamed, desired, Connections({"local": stack.ls}, stack.s3), GatherOptions(skip_data_checks=True))
    plan = build_plan(desired, facts)
    assert [c.action for c in plan.changes] == ["rewrite", "update"]  # no predictions step


def test_a_saved_plan_carries_its_rewrite_and_is_refused_once_a_record_moved(tmp_path: Path) -> None:
    from lsts_sync.plan.saved import SavedPlan, decode, encode, fingerprint

    stack = Stack(tmp_path, labeled())
    renamed = specs_of(tmp_path / "after", RENAMED)
    desired = desired_state(renamed)
    facts = gather(renamed, desired, Connections({"local": stack.ls}, stack.s3), GatherOptions(skip_data_checks=True))
    plan = build_plan(desired, facts)
    saved = SavedPlan(plan, "d", fingerprint(facts, desired), GatherOptions(), NO_OVERRIDES)
    assert decode(json.loads(json.dumps(encode(saved)))) == saved
    stack.ls.rewritten[("annotation", 11)] = json.dumps([region(T1, T2, "Gap")])  # someone edits an annotation
    moved = gather(renamed, desired, Connections({"local": stack.ls}, stack.s3), GatherOptions(skip_data_checks=True))
    assert fingerprint(moved, desired) != saved.fingerprint


# -- renames of fields and choices ----------------------------------------------------------------

FIELDS = """\
region_fields:
  - {name: sev, type: choices, values: [low, severe]}
task_fields:
  - {name: quality, type: choices, values: [good, bad]}
"""
RENAMED_FIELDS = """\
region_fields:
  - {name: severity, renamed_from: sev, type: choices, values: [low, {value: high, renamed_from: severe}]}
task_fields:
  - {name: quality, type: choices, values: [good, {value: noisy, renamed_from: [bad, poor]}]}
"""


def field(ident: str, name: str, *choices: str, start: str = T1, end: str = T2) -> dict:
    """A choices result of a field: per region (``ident`` its region's id, with its bounds) or of the task."""
    value: dict = {"choices": list(choices)}
    if ident.startswith("r"):
        value = {"start": start, "end": end, "instant": False, **value}
    return {"id": ident, "from_name": name, "to_name": "ts", "type": "choices", "value": value}


def with_fields() -> list[ResultRecord]:
    """Task 1: an annotation with two regions, each with sev, and the task's quality; task 2: a
    draft with sev; task 3: a prediction with sev (no former choice)."""
    return [record("annotation", 10, 1, region(T1, T2, "Anomaly", ident="r1"), field("r1", "sev", "severe"),
                   region(T2, T3, "Missing", ident="r2"), field("r2", "sev", "low", start=T2, end=T3),
                   field("q", "quality", "bad"), updated="2024-01-01T00:00:00Z"),
            record("draft", 20, 2, region(T1, T2, "Anomaly", ident="r1"), field("r1", "sev", "severe", "high")),
            record("prediction", 30, 3, region(T1, T2, "Anomaly", ident="r1"), field("r1", "sev", "low"))]


def test_renamed_fields_and_choices_plan_one_rewrite_step_and_no_label_removal(tmp_path: Path) -> None:
    stack = Stack(tmp_path, with_fields(), fields=FIELDS)
    plan = stack.plan(specs_of(tmp_path / "after", fields=RENAMED_FIELDS))
    rewrite, update = plan.changes
    assert isinstance(rewrite, RewriteResults) and update.action == "update"  # the results first
    text = render_text(plan)
    assert "  ~ rename field a: sev → severity (4 result(s) in 1 annotation(s), 1 draft(s), 1 prediction(s))" in text
    assert ("  ~ rename choice a: bad → noisy of quality, severe → high of severity (3 result(s) in 1 annotation(s), "
            "1 draft(s), 0 prediction(s))") in text
    assert "relabel" not in text and not plan.checks
    assert [(w.kind, w.id) for w in rewrite.writes] == [("prediction", 30), ("draft", 20), ("annotation", 10)]
    assert rewrite.describe() == "rename field a: sev → severity and rename choice a: bad → noisy of quality, " \
        "severe → high of severity"
    step = json.loads(render_json(plan))["changes"][0]
    assert step["field_renames"] == [["sev", "severity"]] and step["choice_renames"] == [
        ["quality", "bad", "noisy"], ["severity", "severe", "high"]]
    assert step["fields_renamed"] == {"results": 4, "annotations": 1, "drafts": 1, "predictions": 1}


def test_apply_renames_every_result_then_the_template_and_a_second_plan_is_a_no_op(tmp_path: Path) -> None:
    stack = Stack(tmp_path, with_fields(), fields=FIELDS)
    renamed = specs_of(tmp_path / "after", fields=RENAMED_FIELDS)
    lines = stack.apply(stack.plan(renamed))
    assert stack.ls.calls == ["rewrite_result prediction 30", "rewrite_result draft 20", "rewrite_result annotation 10",
                              f"update_project {stack.pid} label_config"]
    fields = [(r["from_name"], r["value"].get("choices"), r["id"]) for r in stack.result("annotation", 10)]
    assert fields == [("label", None, "r1"), ("severity", ["high"], "r1"), ("label", None, "r2"),
                      ("severity", ["low"], "r2"), ("quality", ["noisy"], "q")]
    assert stack.result("draft", 20)[1]["value"]["choices"] == ["high"]  # a former and a current value: one
    assert stack.result("prediction", 30)[1]["from_name"] == "severity"
    assert stack.result("annotation", 10)[0] == json.loads(with_fields()[0].result)[0]  # the label untouched
    (backup,) = (tmp_path / "backups").iterdir()
    assert any(line.startswith("Saved what rename field a: sev → severity and rename choice a:") for line in lines)
    assert json.loads(backup.read_text())["records"][2]["result"] == json.loads(with_fields()[0].result)
    again = stack.plan(renamed)
    assert again.summary() == "No changes." and not again.checks


def test_a_field_rename_reaches_results_left_behind_after_the_template_changed(tmp_path: Path) -> None:
    """The template already has severity (an earlier apply), one draft still says sev: while
    renamed_from is in the spec, each plan reads the usage and rewrites it."""
    stack = Stack(tmp_path, [record("draft", 20, 2, region(T1, T2, "Anomaly", ident="r1"),
                                    field("r1", "sev", "severe"))], fields=RENAMED_FIELDS)
    plan = stack.plan(specs_of(tmp_path / "after", fields=RENAMED_FIELDS))
    (rewrite,) = plan.changes
    assert isinstance(rewrite, RewriteResults) and rewrite.fields_renamed == (1, 0, 1, 0)
    assert rewrite.choice_renames == (("severity", "severe", "high"),) and not plan.checks


def test_removing_a_used_choice_blocks_naming_it_and_its_field(tmp_path: Path) -> None:
    stack = Stack(tmp_path, with_fields(), fields=FIELDS)
    dropped = RENAMED_FIELDS.replace("{value: high, renamed_from: severe}", "high")
    (check,) = stack.plan(specs_of(tmp_path / "after", fields=dropped)).blockers
    assert (check.name, check.override) == ("label-removal", "--allow-label-removal a")
    assert check.message == "the template change would orphan annotations or drafts: choice severe of severity: " \
        "2 result(s)"
