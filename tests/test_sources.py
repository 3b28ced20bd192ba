"""read_sources and the sync steps it leads to, with fakes of S3 and of the task list."""

from __future__ import annotations

import dataclasses

import pytest

from lsts_sync.data.sources import matching, read_sources
from lsts_sync.desired.build import desired_state
from lsts_sync.plan.build import build_plan
from lsts_sync.resources.facts import LiveFacts, TaskFile
from lsts_sync.resources.state import DesiredState, LiveState
from lsts_sync.spec.loader import SpecSet

from .fakes import applied_state as live_copy
from .fakes import s3_holding

KEY = ("local", "pump-7", "source")


@pytest.fixture
def desired(pump7_specs: SpecSet) -> DesiredState:
    return desired_state(pump7_specs)


def test_matching_lists_like_label_studio() -> None:
    s3 = s3_holding("b", {"pump-7.csv": 1, "pump-7/a.csv": 1, "pump-7/deep/b.csv": 1, "pump-7/dir/": 1})
    assert [k for k, _ in matching(s3, "b", "pump-7", False, r"pump\-7(?:.*\.csv)$")] == ["pump-7/a.csv"]
    assert s3.calls == ["objects b pump-7/"]  # a prefix without '/' is listed with one, as Label Studio does


def test_objects_not_yet_tasks_are_pending_and_synced(desired) -> None:
    live = live_copy(desired)
    s3 = s3_holding("lsts-demo", {"pump-7/week-01.csv": 100.0, "pump-7/week-02.csv": 100.0, "pump-7/week-03.csv": 500.0})
    tasks = [TaskFile("pump-7/week-01.csv", 200.0), TaskFile("pump-7/week-03.csv", 200.0), TaskFile(None, 1.0)]
    facts = read_sources(desired, live, s3, lambda project: tasks)
    assert facts[KEY].pending == ("pump-7/week-02.csv",) and facts[KEY].changed == ("pump-7/week-03.csv",)
    plan = build_plan(desired, LiveFacts(live, facts))
    assert [(s.reason, s.pending) for s in plan.syncs] == [("1 new object(s)", 1)]
    assert [c.name for c in plan.checks] == ["changed-objects"]
    done = read_sources(desired, live, s3_holding("lsts-demo", {"pump-7/week-01.csv": 100.0}), lambda project: tasks)
    assert build_plan(desired, LiveFacts(live, done)).empty


def test_a_new_project_has_every_object_pending_without_reading_tasks(desired) -> None:
    def no_tasks(project):
        raise AssertionError("a project that does not exist has no tasks to read")

    facts = read_sources(desired, LiveState(), s3_holding("lsts-demo", {"pump-7/a.csv": 1.0}), no_tasks)
    assert facts[KEY].pending == ("pump-7/a.csv",)


def test_a_new_storage_on_an_adopted_project_warns_of_reimports(desired) -> None:
    want = desired.projects[("local", "pump-7")]
    live = LiveState()
    live.unmanaged[("local", want.title)] = dataclasses.replace(want, name="", owner="", id=3)
    facts = read_sources(desired, live, s3_holding("lsts-demo", {"pump-7/a.csv": 1.0, "pump-7/b.csv": 1.0}),
                         lambda project: [TaskFile("pump-7/a.csv", 2.0)], adopt=frozenset({"pump-7"}))
    assert facts[KEY].already == ("pump-7/a.csv",)
    checks = build_plan(desired, LiveFacts(live, facts)).checks
    assert any(c.name == "reimport" and c.message.startswith("1 object(s)") for c in checks)


def test_two_sources_importing_the_same_objects_warn(desired) -> None:
    live = live_copy(desired)
    other = dataclasses.replace(desired.storages[KEY], project="other")
    desired.storages[("local", "other", "source")] = other
    facts = read_sources(desired, live, s3_holding("lsts-demo", {"pump-7/a.csv": 1.0}), lambda project: [])
    assert [c.name for c in build_plan(desired, LiveFacts(live, facts)).checks if c.name == "overlap"] == ["overlap"]
