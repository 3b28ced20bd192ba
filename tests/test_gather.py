"""gather against in-memory fakes: the exact reads of a no-op plan, data samples only when due."""

from __future__ import annotations

import threading
import time

import pytest

from lsts_sync.desired.build import desired_state
from lsts_sync.live.connections import Connections
from lsts_sync.live.gather import gather
from lsts_sync.plan.build import build_plan
from lsts_sync.plan.options import GatherOptions
from lsts_sync.spec.loader import SpecSet, load_specs

from .fakes import CSV, TWO_PROJECTS, FakeLabelStudio, FakeS3, applied, run_apply

run = run_apply


@pytest.fixture
def specs(two_projects_specs: SpecSet) -> SpecSet:
    """The specs these tests take: projects a and b on bucket data (``fakes.load_two_projects``)."""
    return two_projects_specs


def test_a_no_op_plan_makes_exactly_these_reads(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    facts = gather(specs, desired, conn, GatherOptions())
    assert build_plan(desired, facts).empty
    assert ls.calls == ["read_projects", "read_storages a", "read_storages b", "read_webhooks a", "read_webhooks b",
                        "read_tasks a", "read_tasks b"]
    assert s3.calls == ["read_cors data", "objects data a/", "objects data b/", "credentials"]


def test_a_first_plan_samples_each_new_source_and_finds_bad_data(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "b/1.csv": (1.0, b"t;v\n2024-01-01 00:00:00;1\n")}
    facts = gather(specs, desired, Connections({"local": ls}, s3), GatherOptions())
    assert [(s.project, s.reason, s.sampled, s.total) for s in facts.samples] == [
        ("a", "new or changed source", 1, 1), ("b", "new or changed source", 1, 1)]
    plan = build_plan(desired, facts)
    assert [c.subject for c in plan.blockers] == ["b"] and plan.blockers[0].override == "--skip-data-checks"
    skipped = gather(specs, desired, Connections({"local": ls}, s3), GatherOptions(skip_data_checks=True))
    assert skipped.samples == () and not build_plan(desired, skipped).blockers


def test_an_empty_prefix_blocks_with_the_pattern_named(specs) -> None:
    desired = desired_state(specs)
    s3 = FakeS3()
    s3.objects_["data"] = {"b/1.csv": (1.0, CSV)}
    facts = gather(specs, desired, Connections({"local": FakeLabelStudio()}, s3), GatherOptions())
    (blocker,) = build_plan(desired, facts).blockers
    assert blocker.subject == "a" and blocker.message.startswith("no object under s3://data/a/ matches pattern")


def test_objects_waiting_for_a_sync_are_sampled_and_synced(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    s3.objects_["data"]["a/2.csv"] = (5.0, CSV)
    facts = gather(specs, desired, conn, GatherOptions())
    assert [(s.project, s.reason, s.sampled) for s in facts.samples] == [("a", "objects to import", 2)]
    plan = build_plan(desired, facts)
    assert [(s.storage.project, s.pending) for s in plan.syncs] == [("a", 1)] and not plan.changes


def test_temporary_credentials_are_warned_about_only_when_sent(specs) -> None:
    desired = desired_state(specs)
    s3 = FakeS3(credentials=("AKIA", "secret", "session-token"))
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    facts = gather(specs, desired, Connections({"local": FakeLabelStudio()}, s3), GatherOptions())
    assert facts.temporary_credentials
    assert [c.name for c in build_plan(desired, facts).checks if not c.blocking] == ["temporary-credentials"]


def predicted(specs):
    """Fakes holding the applied two-project specs whose project a has tasks a/1.csv, a/2.csv."""
    from lsts_sync.labels.predictions import load_predictions
    from lsts_sync.resources.facts import TaskFile

    desired = desired_state(specs, predictions=load_predictions(specs, FakeS3()))
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "a/2.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    conn = Connections({"local": ls}, s3)
    ls.s3 = s3  # the sync imports the objects, and the predictions attach to them
    run(build_plan(desired, gather(specs, desired, conn, GatherOptions())), ls, s3)
    ls.predictions.clear()
    for pid, (_, project) in ls.projects.items():
        keys = ["a/1.csv", "a/2.csv"] if project.name == "a" else ["b/1.csv"]
        ls.tasks[pid] = [TaskFile(key, 2.0, 100 * pid + i) for i, key in enumerate(keys)]
    ls.calls.clear()
    s3.calls.clear()
    return desired, ls, s3, conn


def test_predictions_cost_one_read_per_project_and_no_second_task_list(predicted_specs) -> None:
    desired, ls, s3, conn = predicted(predicted_specs)
    facts = gather(predicted_specs, desired, conn, GatherOptions())
    assert ls.calls == ["read_projects", "read_storages a", "read_storages b", "read_webhooks a", "read_webhooks b",
                        "read_tasks a", "read_tasks b", "read_predictions a"]
    a = next(p.id for _, p in ls.projects.values() if p.name == "a")
    assert facts.tasks == {("local", "a"): (("a/1.csv", 100 * a), ("a/2.csv", 100 * a + 1))}


def test_only_the_declared_model_versions_are_gathered(predicted_specs) -> None:
    desired, ls, s3, conn = predicted(predicted_specs)
    a = next(p.id for _, p in ls.projects.values() if p.name == "a")
    mine = ls.add_prediction(a, 100 * a, "iforest-1", [])
    ls.add_prediction(a, 100 * a, "someone-else", [])
    facts = gather(predicted_specs, desired, conn, GatherOptions())
    assert facts.predictions == {("local", "a"): (mine,)}


def test_predictions_apply_then_plan_nothing_then_a_changed_file_replaces_them(predicted_specs, tmp_path) -> None:
    from lsts_sync.labels.predictions import load_predictions

    desired, ls, s3, conn = predicted(predicted_specs)
    a = next(p.id for _, p in ls.projects.values() if p.name == "a")
    other = ls.add_prediction(a, 100 * a, "someone-else", [{"x": 1}])
    plan = build_plan(desired, gather(predicted_specs, desired, conn, GatherOptions()))
    assert plan.summary().endswith("Predictions: 2 to add, 0 to replace, 0 to remove.")
    ls.calls.clear()
    run(plan, ls, s3)
    assert ls.calls == [f"create_predictions {a} iforest-1 tasks={100 * a},{100 * a + 1}"]  # one bulk request
    assert build_plan(desired, gather(predicted_specs, desired, conn, GatherOptions())).empty

    (tmp_path / "predictions.csv").write_text("file,start,end,label,score\n"
                                              "a/1.csv,2024-01-01 00:00:00,2024-01-01 00:01:00,Anomaly,0.9\n")
    specs, _ = load_specs([str(tmp_path)])
    changed = desired_state(specs, predictions=load_predictions(specs, FakeS3()))
    plan = build_plan(changed, gather(specs, changed, conn, GatherOptions()))
    assert plan.summary().endswith("Predictions: 0 to add, 1 to replace, 1 to remove.")
    old = sorted(pid for pid, (_, p) in ls.predictions.items() if p.model_version == "iforest-1")
    ls.calls.clear()
    run(plan, ls, s3)
    assert ls.calls == [f"delete_prediction {old[0]}", f"delete_prediction {old[1]}",
                        f"create_predictions {a} iforest-1 tasks={100 * a}"]
    assert ls.predictions[other.id] == (a, other)  # another model version is never touched
    assert build_plan(changed, gather(specs, changed, conn, GatherOptions())).empty

# -- parallel reads (--parallelism) ---------------------------------------------------------------

PROJECT = """---
kind: Project
name: p{i}
instance: local
source: {{bucket: data, prefix: p{i}/}}
target: {{bucket: data, prefix: out/p{i}}}
timeseries: {{time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: [{{column: v}}]}}
labels: [{{value: Anomaly}}]
"""


class SlowLabelStudio(FakeLabelStudio):
    """Answers reads of later projects sooner (so completion order is the reverse of the order asked)
    and measures how many reads run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.active = self.peak = 0

    def _slow(self, project, read):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.001 * (16 - int(project.name[1:])))
        try:
            return read(project)
        finally:
            with self.lock:
                self.active -= 1

    def read_storages(self, project):
        return self._slow(project, super().read_storages)

    def read_tasks(self, project):
        return self._slow(project, super().read_tasks)


def many(tmp_path, count: int):
    """``count`` projects on one managed bucket, applied with one object each (``pI/0.csv``, now a
    task); then project i gets i % 3 more objects (pending) and every fourth loses its object
    (empty): sources in sync, with pending objects and empty ones."""
    (tmp_path / "specs.yaml").write_text(TWO_PROJECTS.format(token="f" * 40).split("---\nkind: Project")[0]
                                         + "".join(PROJECT.format(i=i) for i in range(count)))
    loaded, problems = load_specs([str(tmp_path)])
    assert not [p for p in problems if p.severity == "error"], problems
    desired = desired_state(loaded)
    ls, s3 = SlowLabelStudio(), FakeS3()
    s3.objects_["data"] = {f"p{i}/0.csv": (1.0, CSV) for i in range(count)}
    first = gather(loaded, desired, Connections({"local": ls}, s3), GatherOptions())
    run(build_plan(desired, first), ls, s3)
    for pid, (_, project) in ls.projects.items():
        ls.tasks[pid] = [type("T", (), {"key": f"{project.name}/0.csv", "created": 2.0})()]
    for i in range(count):
        s3.objects_["data"].update({f"p{i}/{n}.csv": (5.0, CSV) for n in range(1, 1 + i % 3)})
        if i % 4 == 3:
            del s3.objects_["data"][f"p{i}/0.csv"]
    ls.calls.clear(), s3.calls.clear()
    return loaded, desired, ls, s3


@pytest.mark.parametrize("parallelism", [2, 8])
def test_the_facts_and_the_plan_are_the_same_for_any_parallelism(tmp_path, parallelism: int) -> None:
    specs, desired, ls, s3 = many(tmp_path, 12)
    one = gather(specs, desired, Connections({"local": ls}, s3, parallelism=1), GatherOptions())
    reads_one = sorted(ls.calls), sorted(s3.calls)
    ls.calls.clear(), s3.calls.clear()
    more = gather(specs, desired, Connections({"local": ls}, s3, parallelism=parallelism), GatherOptions())
    assert repr(more) == repr(one)  # dict order included: results are combined in a fixed order
    assert (sorted(ls.calls), sorted(s3.calls)) == reads_one
    assert build_plan(desired, more) == build_plan(desired, one)
    assert [s.project for s in one.samples] == ["p1", "p10", "p11", "p2", "p4", "p5", "p7", "p8"]


def test_reads_run_at_most_parallelism_at_once(tmp_path) -> None:
    specs, desired, ls, s3 = many(tmp_path, 12)
    gather(specs, desired, Connections({"local": ls}, s3, parallelism=3), GatherOptions())
    assert ls.peak == 3
    ls.peak = 0
    gather(specs, desired, Connections({"local": ls}, s3, parallelism=1), GatherOptions())
    assert ls.peak == 1


def test_a_source_without_objects_costs_no_task_list(tmp_path) -> None:
    specs, desired, ls, s3 = many(tmp_path, 5)
    facts = gather(specs, desired, Connections({"local": ls}, s3), GatherOptions())
    assert sorted(c for c in ls.calls if c.startswith("read_tasks")) == [
        "read_tasks p0", "read_tasks p1", "read_tasks p2", "read_tasks p4"]  # p3's prefix is empty
    assert facts.sources[("local", "p3", "source")].keys == ()

# --- pinned: each gather option reaches the reads it narrows or widens ---

import dataclasses  # noqa: E402

from lsts_sync.core.errors import LstsError  # noqa: E402
from lsts_sync.resources.state import Usage  # noqa: E402


def test_targets_narrow_the_reads_to_those_projects(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    facts = gather(specs, desired_state(specs, {"a"}), conn, GatherOptions(projects=frozenset({"a"})))
    assert sorted(p.name for p in facts.state.projects.values()) == ["a"]
    assert ls.calls == ["read_projects", "read_storages a", "read_webhooks a", "read_tasks a"]


def test_prune_reads_the_usage_of_an_undeclared_project(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    narrowed = desired_state(specs, {"a"})
    facts = gather(specs, narrowed, conn, GatherOptions(prune=True))
    assert "read_usage b" in ls.calls and "read_storages b" in ls.calls  # b's storages are read to delete them
    assert facts.state.projects[("local", "b")].usage == Usage(0)
    ls.calls.clear()
    gather(specs, narrowed, conn, GatherOptions())
    assert "read_usage b" not in ls.calls and "read_storages b" not in ls.calls


def test_adopt_reads_the_usage_of_the_unmanaged_project_with_that_title(specs) -> None:
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    want = desired.projects[("local", "a")]
    ls.projects[5] = (None, dataclasses.replace(want, name="", owner="", id=5, label_config=want.label_config.replace(
        "</TimeSeriesLabels>", '<Label value="Retired"/></TimeSeriesLabels>')))
    ls.tasks[5] = [type("T", (), {"key": "a/1.csv", "created": 2.0})()]
    conn = Connections({"local": ls}, s3)
    facts = gather(specs, desired, conn, GatherOptions(adopt=frozenset({"a"})))
    assert "read_usage " in ls.calls and "read_tasks " in ls.calls  # the unmanaged project has no name
    assert facts.sources[("local", "a", "source")].already == ("a/1.csv",)
    ls.calls.clear()
    plain = gather(specs, desired, conn, GatherOptions())
    assert "read_usage " not in ls.calls and plain.sources[("local", "a", "source")].already == ()


def test_sync_all_samples_the_pending_objects_of_a_source_that_does_not_sync(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    key = ("local", "a", "source")
    desired.storages[key] = dataclasses.replace(desired.storages[key], sync=False)
    s3.objects_["data"]["a/2.csv"] = (5.0, CSV)
    assert gather(specs, desired, conn, GatherOptions()).samples == ()
    facts = gather(specs, desired, conn, GatherOptions(sync_all=True))
    assert [(s.project, s.reason) for s in facts.samples] == [("a", "objects to import")]


def test_credentials_are_not_read_when_no_storage_takes_them(specs) -> None:
    desired = desired_state(specs)
    desired.storages.update({k: dataclasses.replace(s, credentials="none") for k, s in desired.storages.items()})
    s3 = FakeS3(credentials=("AKIA", "secret", "session-token"))
    facts = gather(specs, desired, Connections({"local": FakeLabelStudio()}, s3), GatherOptions())
    assert facts.temporary_credentials is False and "credentials" not in s3.calls


def test_missing_credentials_are_not_temporary(specs) -> None:
    desired = desired_state(specs)
    s3 = FakeS3(credentials=("AKIA", "secret", "session-token"))
    s3.fail("credentials", LstsError("no AWS credentials"))
    assert gather(specs, desired, Connections({"local": FakeLabelStudio()}, s3), GatherOptions()) \
        .temporary_credentials is False
    s3 = FakeS3(credentials=("AKIA", "secret", None))
    assert gather(specs, desired, Connections({"local": FakeLabelStudio()}, s3), GatherOptions()) \
        .temporary_credentials is False
