"""build_plan with --adopt: a project's storages and webhooks made by hand are adopted when they
match, never duplicated; the others are named and left alone (two candidates for one webhook block).
gather reads them only for adopted projects, and an adopted project's predictions are all written by
the adopting apply."""

from __future__ import annotations

import dataclasses

from lsts_sync.apply.executor import apply_plan
from lsts_sync.desired.build import desired_state
from lsts_sync.live.connections import Connections
from lsts_sync.live.gather import gather
from lsts_sync.plan.build import Create, Update, build_plan
from lsts_sync.plan.options import GatherOptions, Overrides
from lsts_sync.plan.render import render_json, render_text
from lsts_sync.resources.facts import LiveFacts, TaskFile
from lsts_sync.resources.state import LiveState, ProjectState, StorageState

from .fakes import CSV, PREDICTIONS, PREDICTIONS_CSV, TWO_PROJECTS, FakeLabelStudio, FakeS3, load_checked
from .test_webhooks import SECRET, WEBHOOK

ADOPT = Overrides(adopt=frozenset({"pump-7"}))


def by_hand(desired, **source) -> tuple[LiveState, ProjectState]:
    """pump-7 as the notebook made it: the same title without a marker, a source whose prefix has no
    '/' and whose filter has another form, and the same target; ``source`` changes the source."""
    want = desired.projects[("local", "pump-7")]
    project = dataclasses.replace(want, name="", owner="", id=7)
    src = desired.storages[("local", "pump-7", "source")]
    tgt = desired.storages[("local", "pump-7", "target")]
    storages = (dataclasses.replace(src, **{"owner": "", "id": 3, "prefix": "pump-7", "regex_filter": r".*\.csv$",
                                            **source}),
                dataclasses.replace(tgt, owner="", id=3))
    return LiveState(unmanaged={("local", want.title): project},
                     unmarked_storages={("local", "pump-7"): storages}), project


def test_matching_storages_are_adopted_never_created(pump7_specs) -> None:
    desired = desired_state(pump7_specs)
    live, _ = by_hand(desired)
    plan = build_plan(desired, LiveFacts(live), overrides=ADOPT)
    writes = [c for c in plan.changes if isinstance(c, (Create, Update)) and c.new.kind != "cors"]
    assert [(type(c).__name__, c.new.address, getattr(c, "adopts", None)) for c in writes] == [
        ("Update", "project pump-7", 7), ("Update", "storage pump-7/source", 3), ("Update", "storage pump-7/target", 3)]
    source = writes[1]
    assert {d.field for d in source.diffs} == {"owner", "prefix", "regex_filter"}
    assert plan.syncs == () and not [c for c in plan.checks if c.name == "unadopted-storage"]
    assert "adopted: id 3, made without lsts-sync (--adopt)" in render_text(plan)


def test_a_storage_that_selects_other_keys_is_named_and_left_alone(pump7_specs) -> None:
    desired = desired_state(pump7_specs)
    live, _ = by_hand(desired, regex_filter=".*csv")  # also x.csv.bak: not the spec's '.*\.csv'
    plan = build_plan(desired, LiveFacts(live), overrides=ADOPT)
    assert [c.new.address for c in plan.changes if isinstance(c, Create) and isinstance(c.new, StorageState)] == [
        "storage pump-7/source"]
    (check,) = [c for c in plan.checks if c.name == "unadopted-storage"]
    assert not check.blocking and check.message.startswith("source storage id 3 s3://lsts-demo/pump-7 has no marker")
    assert "regex_filter '.*csv' selects other keys" in check.message and check.message.endswith("left as it is")


def test_without_adopt_nothing_made_by_hand_is_read_or_taken(pump7_specs) -> None:
    desired = desired_state(pump7_specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    live, project = by_hand(desired)
    ls.projects[7] = (None, project)  # no marker
    for i, s in enumerate(live.unmarked_storages[("local", "pump-7")], 3):
        ls.add_storage(dataclasses.replace(s, id=i), 7)  # the fake keeps import and export ids in one table
    conn = Connections({"local": ls}, s3)
    facts = gather(pump7_specs, desired, conn, GatherOptions())
    assert facts.state.unmarked_storages == {} and not any(c.startswith("read_all_storages") for c in ls.calls)
    facts = gather(pump7_specs, desired, conn, GatherOptions(adopt=frozenset({"pump-7"})))
    assert [s.id for s in facts.state.unmarked_storages[("local", "pump-7")]] == [3, 4]
    plan = build_plan(desired, facts, overrides=ADOPT)
    assert plan.counts == {"create": 1, "update": 3, "delete": 0}  # the CORS rule, the project, its storages


# --- webhooks made by hand on an adopted project -----------------------------------------------

def hand_made(tmp_path, *hooks: dict, predictions: bool = False):
    """The two-project specs with webhook a/retrain (``test_webhooks.load``; with ``predictions``,
    detector iforest-1 on a too), and fakes where project a was made by hand (id 5, no marker) with
    a matching source storage, task a/1.csv (id 51) and one webhook by hand per ``hooks`` (the
    fields that differ from the spec's webhook); object a/2.csv is not yet a task."""
    (tmp_path / "specs.yaml").write_text(TWO_PROJECTS.format(token="f" * 40) + WEBHOOK.format(secret=SECRET)
                                         + (PREDICTIONS if predictions else ""))
    (tmp_path / "predictions.csv").write_text(PREDICTIONS_CSV)
    specs = load_checked([tmp_path])
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "a/2.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    ls.s3 = s3
    want = desired.projects[("local", "a")]
    ls.projects[5] = (None, dataclasses.replace(want, name="", owner="", id=5))
    ls.add_storage(dataclasses.replace(desired.storages[("local", "a", "source")], owner="", id=None), 5)
    ls.tasks[5] = [TaskFile("a/1.csv", 2.0, 51)]
    spec_hook = desired.webhooks[("local", "a", "retrain")]
    made = [ls.add_webhook(dataclasses.replace(spec_hook, owner="", name="", **fields), 5) for fields in hooks]
    return specs, ls, s3, [h.id for h in made]


def plan_and_conn(specs, ls: FakeLabelStudio, s3: FakeS3, adopt: bool = True):
    """A fresh plan of ``specs`` on the fakes (predictions files read, webhook headers from the specs),
    with ``--adopt a`` when ``adopt``; and the connections apply uses."""
    from lsts_sync.labels.predictions import load_predictions
    from lsts_sync.live.connections import webhook_headers

    desired = desired_state(specs, predictions=load_predictions(specs, s3))
    conn = Connections({"local": ls}, s3, webhook_headers=webhook_headers(specs))
    names = frozenset({"a"} if adopt else ())
    facts = gather(specs, desired, conn, GatherOptions(adopt=names))
    return build_plan(desired, facts, overrides=Overrides(adopt=names)), conn


def webhook_steps(plan) -> list[tuple[str, int | None, list[str]]]:
    return [(type(c).__name__, getattr(c, "adopts", None), [d.field for d in getattr(c, "diffs", ())])
            for c in plan.changes if c.resource is not None and c.resource.kind == "webhook"]


def test_a_webhook_made_by_hand_is_adopted_its_marker_and_headers_written_then_no_changes(tmp_path) -> None:
    specs, ls, s3, (hook,) = hand_made(tmp_path, {})
    plan, conn = plan_and_conn(specs, ls, s3)
    assert webhook_steps(plan) == [("Update", hook, ["owner"])] and plan.blockers == ()
    text = render_text(plan)
    assert "  ~ webhook a/retrain https://ci.example.com/hooks/labels (instance local)\n    adopted: id " \
        f"{hook}, made without lsts-sync (--adopt); its marker is written\n    owner: \"\" -> \"default\"" in text
    assert "+ webhook" not in text and SECRET not in text + render_json(plan)
    apply_plan(plan, conn, progress=lambda line: None)
    assert f"update_webhook {hook}" in ls.calls and not [c for c in ls.calls if c.startswith("create_webhook")]
    assert ls.headers_sent[hook] == {"Authorization": SECRET}  # the spec's values; the live ones are never read
    assert [(pid, w.owner, w.name) for pid, w in ls.webhooks.values()] == [(5, "default", "retrain")]
    assert plan_and_conn(specs, ls, s3, adopt=False)[0].empty


def test_an_adopted_webhook_shows_what_else_differs_as_the_update(tmp_path) -> None:
    specs, ls, s3, (hook,) = hand_made(tmp_path, {"actions": ("ANNOTATION_CREATED",), "send_payload": False})
    plan, _ = plan_and_conn(specs, ls, s3)
    assert webhook_steps(plan) == [("Update", hook, ["actions", "send_payload", "owner"])]


def test_two_webhooks_made_by_hand_for_one_declared_block_naming_both(tmp_path) -> None:
    specs, ls, s3, (first, second) = hand_made(tmp_path, {}, {})
    plan, _ = plan_and_conn(specs, ls, s3)
    (check,) = plan.blockers
    assert (check.name, check.subject, check.override) == ("ambiguous-webhook", "a/retrain", None)
    assert check.message == (f"2 webhooks without a marker on project a call https://ci.example.com/hooks/labels (ids "
                             f"{first}, {second}): adoption does not guess which one is the spec's; they are alike in "
                             "every field lsts-sync reads: delete all but one in Label Studio")
    assert not [c for c in plan.changes if isinstance(c, Update) and c.resource.kind == "webhook"]
    assert not [c for c in plan.checks if c.name == "unadopted-webhook"]  # named by the blocker already
    assert "! ambiguous-webhook a/retrain: 2 webhooks" in render_text(plan) and "(blocks apply)" in render_text(plan)


def test_a_webhook_made_by_hand_to_another_url_is_named_and_left_alone(tmp_path) -> None:
    specs, ls, s3, (hook,) = hand_made(tmp_path, {"url": "https://old.example.com/hook"})
    plan, conn = plan_and_conn(specs, ls, s3)
    assert webhook_steps(plan) == [("Create", None, [])]
    (check,) = [c for c in plan.checks if c.name == "unadopted-webhook"]
    assert not check.blocking and check.message == (
        f"webhook id {hook} https://old.example.com/hook has no marker and is not adopted (no declared webhook of the "
        "project calls its URL); it is left as it is, and Label Studio keeps calling it")
    apply_plan(plan, conn, progress=lambda line: None)
    assert ls.webhooks[hook][1].owner == "" and len(ls.webhooks) == 2


def test_without_adopt_no_webhook_made_by_hand_is_read(tmp_path) -> None:
    specs, ls, s3, _ = hand_made(tmp_path, {})
    plan, _ = plan_and_conn(specs, ls, s3, adopt=False)
    assert not [c for c in ls.calls if c.startswith("read_all_webhooks")]
    assert webhook_steps(plan) == [("Create", None, [])] and [c.name for c in plan.blockers] == ["unmanaged-title"]


# --- predictions of an adopted project --------------------------------------------------------

def test_an_adopted_projects_predictions_are_all_written_by_the_adopting_apply(tmp_path) -> None:
    specs, ls, s3, _ = hand_made(tmp_path, {}, predictions=True)
    plan, conn = plan_and_conn(specs, ls, s3)
    steps = [(type(c).__name__, c.project_id, c.added) for c in plan.changes if c.action == "predictions"]
    assert steps == [("SetPredictions", 5, 1), ("AttachPredictions", 5, 1)]  # a/1.csv's task now, a/2.csv's after the sync
    assert not [c for c in plan.checks if c.name == "predictions"]  # nothing waits for a next apply
    apply_plan(plan, conn, progress=lambda line: None)
    tasks = {t.key: t.id for t in ls.tasks[5]}
    assert sorted(p.task for pid, p in ls.predictions.values() if pid == 5) == sorted(tasks.values())
    assert plan_and_conn(specs, ls, s3, adopt=False)[0].empty
