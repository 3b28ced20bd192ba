"""gather against in-memory fakes: the exact reads of a no-op plan, data samples only when due."""

from __future__ import annotations

from lsts_sync.desired import desired_state
from lsts_sync.gather import GatherOptions, gather
from lsts_sync.live import Connections
from lsts_sync.plan import build_plan

from .fakes import FakeLabelStudio, FakeS3, specs  # noqa: F401  (the two-project spec fixture)
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


# --- pinned: each gather option reaches the reads it narrows or widens ---

import dataclasses  # noqa: E402

from lsts_sync.errors import LstsError  # noqa: E402
from lsts_sync.state import Usage  # noqa: E402


def test_targets_narrow_the_reads_to_those_projects(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    facts = gather(specs, desired_state(specs, {"a"}), conn, GatherOptions(targets=frozenset({"a"})))
    assert sorted(p.name for p in facts.state.projects.values()) == ["a"]
    assert ls.calls == ["read_projects", "read_storages a", "read_tasks a"]


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
