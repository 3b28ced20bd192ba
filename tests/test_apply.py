"""apply_plan against in-memory fakes: order, ids from the plan only, syncs, partial failures."""

from __future__ import annotations

import dataclasses

import pytest

from lsts_sync.apply.executor import ApplyFailed, apply_plan
from lsts_sync.core.errors import LstsError
from lsts_sync.core.secrets import register
from lsts_sync.desired.build import desired_state
from lsts_sync.live.connections import Connections
from lsts_sync.plan.build import build_plan
from lsts_sync.plan.options import Overrides
from lsts_sync.resources.facts import LiveFacts, SourceFacts
from lsts_sync.resources.state import DesiredState, LiveState
from lsts_sync.spec.loader import SpecSet

from .fakes import FakeLabelStudio, FakeS3, run_apply

run = run_apply


@pytest.fixture
def specs(two_projects_specs: SpecSet) -> SpecSet:
    """The specs these tests take: projects a and b on bucket data (``fakes.load_two_projects``)."""
    return two_projects_specs


def live_of(ls: FakeLabelStudio, s3: FakeS3, desired: DesiredState) -> LiveState:
    """What read_live would see in the fakes (own projects and storages, CORS)."""
    state = LiveState()
    for marker, project in ls.read_projects():
        if marker:
            state.projects[project.key] = project
    for storage in ls.storages.values():
        state.storages[storage.key] = storage
    for bucket, want in desired.cors.items():
        state.cors[bucket] = s3.read_cors(bucket, want.rule_id)
    ls.calls.clear()
    s3.calls.clear()
    return state


def test_first_apply_runs_in_dependency_order_with_ids_from_the_creates(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    plan = build_plan(desired, LiveFacts(LiveState()))
    result = run(plan, ls, s3)
    a, b = (pid for pid, (_, p) in sorted(ls.projects.items()))
    sources = {s.project: sid for sid, s in ls.storages.items() if s.role == "source"}
    assert ls.calls == ["create_project a", "create_project b", f"create_storage a/source project={a}",
                        f"create_storage a/target project={a}", f"create_storage b/source project={b}",
                        f"sync_storage {sources['a']}", f"sync_storage {sources['b']}"]
    assert s3.calls == ["write_cors data", "credentials"]  # CORS first; credentials read once
    assert result.done[0] == "create bucket data CORS rule lsts-sync" and len(result.done) == 8
    assert result.project_ids == {("local", "a"): a, ("local", "b"): b}
    assert ls.credentials_sent[sources['a']] == ("AKIAFAKE", "fake-secret", None)


def test_a_second_apply_of_the_same_specs_plans_nothing(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    run(build_plan(desired, LiveFacts(LiveState())), ls, s3)
    live = live_of(ls, s3, desired)
    assert [c for c in build_plan(desired, LiveFacts(live)).changes] == []


def test_a_new_storage_on_an_existing_project_uses_the_plans_project_id(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    run(build_plan(desired, LiveFacts(LiveState())), ls, s3)
    live = live_of(ls, s3, desired)
    target = live.storages.pop(("local", "a", "target"))
    ls.storages.pop(target.id)
    plan = build_plan(desired, LiveFacts(live))
    (create,) = plan.changes
    assert create.project_id == live.projects[("local", "a")].id
    ls.calls.clear()
    run(plan, ls, s3)
    assert ls.calls == [f"create_storage a/target project={create.project_id}"]  # nothing read to find the id


def test_prune_deletes_storages_before_their_projects(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    run(build_plan(desired, LiveFacts(LiveState())), ls, s3)
    live = live_of(ls, s3, desired)
    only_b = desired_state(specs, {"b"})
    plan = build_plan(dataclasses.replace(only_b, cors=desired.cors), LiveFacts(live), prune=True,
                      overrides=Overrides(allow_delete=frozenset({"a"})))
    run(plan, ls, s3)
    a = live.projects[("local", "a")].id
    sa, ta = live.storages[("local", "a", "source")].id, live.storages[("local", "a", "target")].id
    assert ls.calls == [f"delete_storage {sa}", f"delete_storage {ta}", f"delete_project {a}"]


def test_a_plan_with_blockers_writes_nothing(specs) -> None:
    desired = desired_state(specs)
    live = LiveState()
    live.unmanaged[("local", "a")] = dataclasses.replace(desired.projects[("local", "a")], name="", owner="", id=9)
    plan = build_plan(desired, LiveFacts(live))
    assert plan.blockers
    ls, s3 = FakeLabelStudio(), FakeS3()
    with pytest.raises(LstsError, match="nothing was changed"):
        run(plan, ls, s3)
    assert ls.calls == [] and s3.calls == []


@pytest.mark.parametrize("exc", [RuntimeError("boom with fake-secret inside"), KeyError("x"), LstsError("lost")])
def test_a_failure_part_way_says_what_was_done_and_what_was_not(specs, exc) -> None:
    register("fake-secret")
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    ls.fail("create_storage", exc)
    with pytest.raises(ApplyFailed) as failed:
        run(build_plan(desired, LiveFacts(LiveState())), ls, s3)
    assert failed.value.result.done == ["create bucket data CORS rule lsts-sync", "create project a",
                                        "create project b"]
    assert failed.value.remaining == ["create storage a/source", "create storage a/target", "create storage b/source",
                                      "sync storage a/source", "sync storage b/source"]
    assert "fake-secret" not in str(failed.value)
    # the message names the error's type (an LstsError is already a sentence of its own)
    assert str(failed.value) == {"RuntimeError": "RuntimeError: boom with (sensitive) inside", "KeyError": "KeyError: 'x'",
                                 "LstsError": "lost"}[type(exc).__name__]


def test_a_failing_sync_names_the_syncs_not_done(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    ls.sync_answer = "failed"
    with pytest.raises(ApplyFailed) as failed:
        run(build_plan(desired, LiveFacts(LiveState())), ls, s3)
    assert failed.value.remaining == ["sync storage a/source", "sync storage b/source"]
    assert str(failed.value) == "storage a/source: sync ended failed"


def test_every_sync_starts_before_any_is_awaited_and_finished_ones_are_not_polled(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    run(build_plan(desired, LiveFacts(LiveState())), ls, s3)
    assert not any(c.startswith("storage_status") for c in ls.calls)  # the answers said "completed"
    live = live_of(ls, s3, desired)
    pending = {k: SourceFacts(("x.csv",), ("x.csv",)) for k, s in desired.storages.items() if s.role == "source"}
    plan = build_plan(desired, LiveFacts(live, pending))
    ids = [s.storage_id for s in plan.syncs]
    ls.sync_answer = "queued"
    ls.statuses = {ids[0]: ["in_progress", "completed"], ids[1]: ["completed"]}
    result = run(plan, ls, s3, sync_timeout=5)
    assert ls.calls == [f"sync_storage {ids[0]}", f"sync_storage {ids[1]}", f"storage_status {ids[0]}",
                        f"storage_status {ids[0]}", f"storage_status {ids[1]}"]
    assert [status for _, status, _ in result.synced] == ["completed", "completed"]


def test_rotation_sends_credentials_and_a_plain_update_does_not(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    run(build_plan(desired, LiveFacts(LiveState())), ls, s3)
    live = live_of(ls, s3, desired)
    key = ("local", "a", "source")
    live.storages[key] = dataclasses.replace(live.storages[key], presign_ttl=5)
    plan = build_plan(desired, LiveFacts(live), overrides=Overrides(rotate_credentials=True))
    run(plan, ls, s3)
    sid = live.storages[key].id
    updates = [c for c in ls.calls if c.startswith("update_storage")]
    assert updates[0] == f"update_storage {sid}"  # the field change, then every rotation
    assert sorted(updates[1:]) == sorted(f"update_storage {s.id} credentials" for s in live.storages.values())


def test_cors_rule_no_longer_needed_is_removed_and_other_rules_kept(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.cors["data"] = [{"ID": "theirs", "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://x"]}]
    run(build_plan(desired, LiveFacts(live_of(ls, s3, desired))), ls, s3)
    assert [r["ID"] for r in s3.cors["data"]] == ["theirs", "lsts-sync"]
    live = live_of(ls, s3, desired)
    unneeded = dataclasses.replace(desired, cors={"data": dataclasses.replace(desired.cors["data"], rule=None)})
    (change,) = build_plan(unneeded, LiveFacts(live)).changes
    assert change.action == "update" and change.new.rule is None
    run(build_plan(unneeded, LiveFacts(live)), ls, s3)
    assert s3.cors["data"] == [{"ID": "theirs", "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://x"]}]


# --- pinned: progress lines, sync results, missing ids, deadlines and the step hook ---

from lsts_sync.apply import executor as apply_module  # noqa: E402
from lsts_sync.plan.build import Create, Plan, RotateCredentials, Sync, Update  # noqa: E402
from lsts_sync.resources.state import FieldDiff  # noqa: E402


def _applied(specs):
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    run(build_plan(desired, LiveFacts(LiveState())), ls, s3)
    return desired, ls, s3, live_of(ls, s3, desired)


def test_progress_names_every_step_done_and_syncs_report_their_counts(specs) -> None:
    desired = desired_state(specs)
    lines: list[str] = []
    hooks: list[int] = []
    result = apply_plan(build_plan(desired, LiveFacts(LiveState())), Connections({"local": FakeLabelStudio()}, FakeS3()),
                        progress=lines.append, before_step=lambda: hooks.append(1))
    assert lines == ["create bucket data CORS rule lsts-sync: done", "create project a: done",
                     "create project b: done", "create storage a/source: done", "create storage a/target: done",
                     "create storage b/source: done", "sync storage a/source: done", "sync storage b/source: done"]
    assert result.done == [line.removesuffix(": done") for line in lines]
    assert result.synced == [("storage a/source", "completed", 3), ("storage b/source", "completed", 3)]
    assert len(hooks) == 8  # before every change and every sync start


def test_a_failing_step_hook_stops_before_the_step(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()

    def lost() -> None:
        raise LstsError("lock lost")

    with pytest.raises(ApplyFailed, match="^lock lost$") as failed:
        run(build_plan(desired, LiveFacts(LiveState())), ls, s3, before_step=lost)
    assert failed.value.result.done == [] and ls.calls == [] and s3.calls == []
    assert len(failed.value.remaining) == 8


def test_a_polled_sync_reports_the_status_count_and_progress(specs, monkeypatch) -> None:
    desired, ls, s3, live = _applied(specs)
    monkeypatch.setattr(apply_module, "POLL_SECONDS", 0)
    source = desired.storages[("local", "a", "source")]
    sid = live.storages[source.key].id
    ls.sync_answer = None
    ls.statuses = {sid: ["queued", "in_progress", "completed_with_errors"]}
    lines: list[str] = []
    with pytest.raises(ApplyFailed, match="^storage a/source: sync ended completed_with_errors$") as failed:
        apply_plan(Plan(syncs=(Sync(source, sid, "--sync"),)), Connections({"local": ls}, s3), progress=lines.append)
    assert lines == ["  storage a/source: queued...", "  storage a/source: in_progress..."]
    assert failed.value.result.synced == [("storage a/source", "completed_with_errors", 1)]
    assert failed.value.remaining == ["sync storage a/source"]


def test_a_sync_still_running_at_the_deadline_fails_naming_its_status(specs, monkeypatch) -> None:
    desired, ls, s3, live = _applied(specs)
    monkeypatch.setattr(apply_module, "POLL_SECONDS", 0)
    source = desired.storages[("local", "a", "source")]
    sid = live.storages[source.key].id
    ls.sync_answer, ls.statuses = "queued", {sid: ["in_progress"]}
    with pytest.raises(ApplyFailed, match="^storage a/source: sync still in_progress at the deadline$"):
        run(Plan(syncs=(Sync(source, sid, "--sync"),)), ls, s3, sync_timeout=0.05)


def test_a_status_without_a_count_counts_zero(specs) -> None:
    desired, ls, s3, live = _applied(specs)
    source = desired.storages[("local", "a", "source")]
    ls.sync_storage = lambda *a: {"status": "completed", "last_sync_count": None}  # type: ignore[method-assign]
    result = run(Plan(syncs=(Sync(source, live.storages[source.key].id, "--sync"),)), ls, s3)
    assert result.synced == [("storage a/source", "completed", 0)]


def test_steps_without_the_ids_they_need_fail_naming_the_resource(specs) -> None:
    desired, ls, s3, live = _applied(specs)
    project = desired.projects[("local", "a")]
    source = desired.storages[("local", "a", "source")]
    cases = [
        (Plan((Update(project, project, (FieldDiff("title", "x", "y"),)),)), "project a: the plan has no live id for it"),
        (Plan((Update(source, source, ()),)), "storage a/source: the plan has no live id for it"),
        (Plan((Create(source, None),)), "storage a/source: the plan has no id for project a"),
        (Plan(syncs=(Sync(source, None, "new or changed"),)), "storage a/source: the plan has no id for this storage"),
    ]
    for plan, message in cases:
        with pytest.raises(ApplyFailed) as failed:
            run(plan, ls, s3)
        assert str(failed.value) == message


def test_a_project_update_sends_its_changed_fields_and_a_rotation_is_named(specs) -> None:
    desired, ls, s3, live = _applied(specs)
    old = live.projects[("local", "a")]
    new = dataclasses.replace(desired.projects[("local", "a")], title="New")
    source = live.storages[("local", "a", "source")]
    result = run(Plan((Update(old, new, (FieldDiff("title", old.title, "New"),)),
                       RotateCredentials(desired.storages[source.key], source.id))), ls, s3)
    assert ls.calls == [f"update_project {old.id} title", f"update_storage {source.id} credentials"]
    assert result.done == ["update project a", "rotate credentials of storage a/source"]
    assert result.project_ids == {}


def test_a_storage_without_credentials_gets_none_and_none_are_read(specs) -> None:
    desired, ls, s3, live = _applied(specs)
    new = dataclasses.replace(desired.storages[("local", "a", "target")], credentials="none", prefix="other")
    run(Plan((Create(new, live.projects[("local", "a")].id),)), ls, s3)
    assert s3.calls == [] and list(ls.credentials_sent.values())[-1] is None


def test_a_refused_plan_says_how_many_checks_block_it(specs) -> None:
    from lsts_sync.plan.build import Check

    plan = Plan(checks=(Check("a", "s", "m"), Check("b", "s", "m", "--o"), Check("c", "s", "m", "--o", allowed=True)))
    with pytest.raises(LstsError) as error:
        run(plan, FakeLabelStudio(), FakeS3())
    assert str(error.value) == "apply refused: 2 safety check(s) block this plan; nothing was changed"
    assert not isinstance(error.value, ApplyFailed)


def test_a_reimport_reads_work_again_and_deletes_nothing_when_a_task_gained_some() -> None:
    from lsts_sync.plan.build import Plan
    from lsts_sync.plan.changes import Reimport
    from lsts_sync.resources.facts import TaskFile

    ls, s3 = FakeLabelStudio(), FakeS3()
    ls.tasks[7] = [TaskFile("a/1.csv", 1.0, 501), TaskFile("a/2.csv", 1.0, 502)]
    plan = Plan((Reimport("local", "a", 7, "storage a/source", ((501, "a/1.csv"), (502, "a/2.csv"))),))
    ls.worked[7] = {502}  # a labeler started on it after the plan
    with pytest.raises(ApplyFailed) as failed:
        apply_plan(plan, Connections({"local": ls}, s3), progress=lambda line: None)
    assert str(failed.value) == ("reimport a: task(s) 502 now hold annotations, "
                                 "drafts or predictions; no task was deleted: plan again")
    assert not [c for c in ls.calls if c.startswith("delete_task")] and len(ls.tasks[7]) == 2
    ls.worked[7] = set()
    apply_plan(plan, Connections({"local": ls}, s3), progress=lambda line: None)
    assert [c for c in ls.calls if c.startswith("delete_task")] == ["delete_task 501", "delete_task 502"]
    assert ls.tasks[7] == []


# --- one apply converges: predictions for the objects this apply's sync imports ---

def _first_apply(predicted_specs: SpecSet):
    from lsts_sync.labels.predictions import load_predictions
    from lsts_sync.live.gather import gather
    from lsts_sync.plan.options import GatherOptions

    from .fakes import CSV

    desired = desired_state(predicted_specs, predictions=load_predictions(predicted_specs, FakeS3()))
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "a/2.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    ls.s3 = s3
    conn = Connections({"local": ls}, s3)
    return desired, ls, s3, conn, lambda: build_plan(desired, gather(predicted_specs, desired, conn, GatherOptions()))


def test_a_first_apply_writes_the_predictions_of_the_tasks_its_sync_imports(predicted_specs) -> None:
    desired, ls, s3, conn, plan_now = _first_apply(predicted_specs)
    plan = plan_now()
    result = run(plan, ls, s3)
    assert result.done[-1] == "set predictions a/iforest-1 on the tasks synced (+2)"
    (a,) = [pid for pid, (_, p) in ls.projects.items() if p.name == "a"]
    tasks = {t.key: t.id for t in ls.tasks[a]}
    on = {(p.task, p.model_version) for pid, p in ls.predictions.values() if pid == a}
    assert on == {(tasks["a/1.csv"], "iforest-1"), (tasks["a/2.csv"], "iforest-1")}
    assert [c for c in ls.calls if c.startswith(("sync_storage", "read_tasks a", "create_predictions"))][-2:] == [
        "read_tasks a", f"create_predictions {a} iforest-1 tasks={tasks['a/1.csv']},{tasks['a/2.csv']}"]
    assert plan_now().empty  # the next plan: No changes.


def test_an_object_that_is_no_task_after_the_sync_fails_after_the_others_are_made(predicted_specs) -> None:
    desired, ls, s3, conn, plan_now = _first_apply(predicted_specs)
    plan = plan_now()
    del s3.objects_["data"]["a/2.csv"]  # gone before the sync: its task is never made
    with pytest.raises(ApplyFailed) as failed:
        run(plan, ls, s3)
    assert str(failed.value) == ("predictions a/iforest-1: 1 object(s) are no task after the sync, e.g. a/2.csv; "
                                 "their predictions were not made (run plan again)")
    assert failed.value.remaining == ["set predictions a/iforest-1 on the tasks synced (+2)"]
    assert len(ls.predictions) == 1  # a/1.csv's was made
