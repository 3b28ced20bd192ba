"""gather against in-memory fakes: the exact reads of a no-op plan, data samples only when due."""

from __future__ import annotations

from lsts_sync.desired import desired_state
from lsts_sync.gather import GatherOptions, gather
from lsts_sync.live import Connections
from lsts_sync.plan import build_plan

from .fakes import FakeLabelStudio, FakeS3, predicted_specs, specs  # noqa: F401  (spec fixtures)
from .test_apply import run

CSV = b"t,v\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n"


def applied(specs):
    """Fakes holding what a first apply of ``specs`` made, with one object per source."""
    desired = desired_state(specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    conn = Connections({"local": ls}, s3)
    run(build_plan(desired, gather(specs, desired, conn, GatherOptions())), ls, s3)
    for pid, (_, project) in ls.projects.items():
        ls.tasks[pid] = [type("T", (), {"key": f"{project.name}/1.csv", "created": 2.0})()]
    ls.calls.clear()
    s3.calls.clear()
    return desired, ls, s3, conn


def test_a_no_op_plan_makes_exactly_these_reads(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    facts = gather(specs, desired, conn, GatherOptions())
    assert build_plan(desired, facts).empty
    assert ls.calls == ["read_projects", "read_storages a", "read_storages b", "read_tasks a", "read_tasks b"]
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
    from lsts_sync.ls_mapping import TaskFile
    from lsts_sync.predictions import load_predictions

    desired = desired_state(specs, predictions=load_predictions(specs, FakeS3()))
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "a/2.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    conn = Connections({"local": ls}, s3)
    run(build_plan(desired, gather(specs, desired, conn, GatherOptions())), ls, s3)
    for pid, (_, project) in ls.projects.items():
        keys = ["a/1.csv", "a/2.csv"] if project.name == "a" else ["b/1.csv"]
        ls.tasks[pid] = [TaskFile(key, 2.0, 100 * pid + i) for i, key in enumerate(keys)]
    ls.calls.clear()
    s3.calls.clear()
    return desired, ls, s3, conn


def test_predictions_cost_one_read_per_project_and_no_second_task_list(predicted_specs) -> None:
    desired, ls, s3, conn = predicted(predicted_specs)
    facts = gather(predicted_specs, desired, conn, GatherOptions())
    assert ls.calls == ["read_projects", "read_storages a", "read_storages b", "read_tasks a", "read_tasks b",
                        "read_predictions a"]
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
    from lsts_sync.loader import load_specs
    from lsts_sync.predictions import load_predictions

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
