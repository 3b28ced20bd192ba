"""The one orchestrator on in-memory fakes: plan, saved-plan replay, apply under the lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.live.connections import Connections
from lsts_sync.live.lock import Lock
from lsts_sync.pipeline.orchestrator import Pipeline, PlanOptions, ProblemsFound, select_projects
from lsts_sync.plan.build import Plan
from lsts_sync.plan.options import GatherOptions
from lsts_sync.plan.saved import write
from lsts_sync.spec.loader import SpecSet

from .fakes import FakeLabelStudio, FakeS3


class FakeLock:
    """An apply lock that records its lifecycle into a shared event list."""

    lease = 3600.0

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.etag = 0

    def acquire(self, timeout: float) -> Lock:
        self.events.append("lock acquire" + (f" waiting {timeout}s" if timeout else ""))
        return Lock("data", "lock.json", "id-1", "etag-0")

    def renew(self, lock: Lock) -> Lock:
        self.etag += 1
        self.events.append("lock renew")
        return Lock(lock.bucket, lock.key, lock.id, f"etag-{self.etag}")

    def release(self, lock: Lock) -> None:
        self.events.append(f"lock release {lock.etag}")


class RecordingUI:
    def __init__(self, events: list[str], approve: bool = True) -> None:
        self.events, self.approve = events, approve

    def show(self, plan: Plan) -> None:
        self.events.append(f"show {plan.summary()}")

    def confirm(self, plan: Plan) -> None:
        self.events.append("confirm")
        if not self.approve:
            raise LstsError("apply cancelled; nothing was changed")

    def progress(self, line: str) -> None:
        self.events.append(f"progress {line}")

    def warn(self, line: str) -> None:
        self.events.append(f"warn {line}")


class Events(FakeLabelStudio):
    """A Label Studio whose writes go into the shared event list too (reads are in ``calls``)."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def read_projects(self):  # type: ignore[no-untyped-def]
        self.events.append("read projects")
        return super().read_projects()

    def create_project(self, project):  # type: ignore[no-untyped-def]
        self.events.append(f"create project {project.name}")
        return super().create_project(project)


CSV = b"t,v\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n"


def pipeline(specs: SpecSet, ls: FakeLabelStudio, s3: FakeS3, events: list[str] | None = None) -> Pipeline:
    """The orchestrator over the fakes, with one readable object per source and a recording lock."""
    s3.objects_.setdefault("data", {"a/1.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)})
    lock = FakeLock(events if events is not None else [])
    return Pipeline(specs, Connections({"local": ls}, s3), locks=lambda: {"local": lock})


def test_plan_reads_then_decides_and_carries_what_it_was_made_from(two_projects_specs) -> None:
    specs = two_projects_specs
    ls, s3 = FakeLabelStudio(), FakeS3()
    prepared = pipeline(specs, ls, s3).plan(PlanOptions())
    assert prepared.plan.summary().startswith("Plan: 6 to add")
    assert set(prepared.desired.projects) == {("local", "a"), ("local", "b")}
    assert prepared.saved.plan is prepared.plan and prepared.saved.options == GatherOptions()
    assert s3.calls[:1] == ["missing data"]  # the buckets are checked before anything else is read


def test_the_project_filter_narrows_desired_state_and_reads(two_projects_specs) -> None:
    specs = two_projects_specs
    ls, s3 = FakeLabelStudio(), FakeS3()
    run = pipeline(specs, ls, s3)
    run.apply(lambda: run.plan(PlanOptions()), RecordingUI([]))
    ls.calls.clear()
    options = PlanOptions(GatherOptions(projects=select_projects(specs, ("b",))))
    prepared = run.plan(options)
    assert set(prepared.desired.projects) == {("local", "b")}
    assert [c for c in ls.calls if c.startswith("read_storages")] == ["read_storages b"]  # a is not read
    with pytest.raises(LstsError, match="--project names no Project spec: nope"):
        select_projects(specs, ("b", "nope"))
    assert select_projects(specs, ()) is None


def test_a_missing_bucket_is_a_problem_at_its_spec_and_nothing_else_is_read(two_projects_specs) -> None:
    specs = two_projects_specs
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.missing = lambda bucket: f"bucket {bucket} does not exist"  # type: ignore[method-assign]
    with pytest.raises(ProblemsFound, match=r"^1 bucket\(s\) do not exist; nothing was changed$") as found:
        pipeline(specs, ls, s3).plan(PlanOptions())
    (problem,) = found.value.problems
    assert (problem.kind, problem.name, problem.message) == ("Bucket", "data", "bucket data does not exist")
    assert problem.file.endswith("specs.yaml") and problem.line == 7
    assert ls.calls == [] and s3.calls == []


def test_apply_takes_the_lock_before_reading_and_releases_its_renewed_etag(two_projects_specs) -> None:
    specs = two_projects_specs
    events: list[str] = []
    ls, s3 = Events(events), FakeS3()
    run = pipeline(specs, ls, s3, events)
    outcome = run.apply(lambda: run.plan(PlanOptions()), RecordingUI(events))
    assert events[:2] == ["lock acquire", "read projects"]
    confirmed = events.index("confirm")
    assert events[confirmed + 1] == "lock renew"  # forced: the prompt may have waited long
    assert events[confirmed + 2].startswith("progress create") and events.count("lock renew") == 1
    assert events[-1] == "lock release etag-1"  # the renewed lock's ETag, not the acquired one
    assert outcome.result is not None and outcome.result.project_ids.keys() == {("local", "a"), ("local", "b")}
    assert [name for name, _ in outcome.urls] == ["a", "b"]
    assert outcome.urls[0][1] == f"http://ls.example:8080/projects/{outcome.result.project_ids[('local', 'a')]}/"


def test_a_blocked_plan_is_refused_before_confirming_and_the_lock_is_released(two_projects_specs) -> None:
    specs = two_projects_specs
    events: list[str] = []
    ls, s3 = Events(events), FakeS3()
    _unmanaged(ls, "a")  # a title that exists without our marker blocks (unmanaged-title)
    run = pipeline(specs, ls, s3, events)
    with pytest.raises(LstsError, match=r"apply refused: 1 safety check\(s\) block this plan \(--adopt a\)"):
        run.apply(lambda: run.plan(PlanOptions()), RecordingUI(events))
    assert "confirm" not in events and not [e for e in events if e.startswith("create")]
    assert events[-1] == "lock release etag-0"


QUIET = PlanOptions(GatherOptions(skip_data_checks=True))  # no objects: nothing pending once applied


def test_an_empty_plan_asks_nothing_and_gives_the_urls(two_projects_specs) -> None:
    specs = two_projects_specs
    events: list[str] = []
    ls, s3 = Events(events), FakeS3()
    s3.objects_["data"] = {}
    run = pipeline(specs, ls, s3, events)
    run.apply(lambda: run.plan(QUIET), RecordingUI(events))
    events.clear()
    outcome = run.apply(lambda: run.plan(QUIET), RecordingUI(events))
    assert outcome.result is None and "confirm" not in events and [n for n, _ in outcome.urls] == ["a", "b"]


def test_a_declined_confirmation_writes_nothing(two_projects_specs) -> None:
    specs = two_projects_specs
    events: list[str] = []
    ls, s3 = Events(events), FakeS3()
    run = pipeline(specs, ls, s3, events)
    with pytest.raises(LstsError, match="apply cancelled"):
        run.apply(lambda: run.plan(PlanOptions()), RecordingUI(events, approve=False))
    assert not [e for e in events if e.startswith("create")] and s3.written == {} and ls.projects == {}


def test_a_saved_plan_replays_only_while_specs_and_live_facts_are_unchanged(two_projects_specs, tmp_path: Path) -> None:
    specs = two_projects_specs
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {}
    run = pipeline(specs, ls, s3)
    saved = tmp_path / "plan.json"
    write(str(saved), run.plan(QUIET).saved)
    assert run.replay(str(saved)).plan == run.plan(QUIET).plan
    _unmanaged(ls, "someone else's")  # not a title we declare: not part of the fingerprint
    assert run.replay(str(saved)).plan.summary().startswith("Plan: 6 to add")
    run.apply(lambda: run.replay(str(saved)), RecordingUI([]))
    with pytest.raises(LstsError, match="saved plan refused: it has already been applied"):
        run.replay(str(saved))


def test_a_saved_plan_is_refused_when_the_live_state_moved(two_projects_specs, tmp_path: Path) -> None:
    specs = two_projects_specs
    ls, s3 = FakeLabelStudio(), FakeS3()
    run = pipeline(specs, ls, s3)
    saved = tmp_path / "plan.json"
    write(str(saved), run.plan(PlanOptions()).saved)
    _unmanaged(ls, "a")
    with pytest.raises(LstsError, match="saved plan refused: the live state has changed since it was made"):
        run.replay(str(saved))


def test_a_saved_plan_is_refused_when_the_specs_changed_and_checks_buckets_too(two_projects_specs, tmp_path: Path) -> None:
    specs = two_projects_specs
    ls, s3 = FakeLabelStudio(), FakeS3()
    saved = tmp_path / "plan.json"
    write(str(saved), pipeline(specs, ls, s3).plan(PlanOptions(GatherOptions(projects=frozenset({"a"})))).saved)
    other = Pipeline(specs.__class__(**{**specs.__dict__, "projects": {"b": specs.projects["b"]}}),
                     Connections({"local": ls}, s3), locks=lambda: {})
    with pytest.raises(LstsError, match="differ from those the plan was made from"):
        other.replay(str(saved))
    s3.missing = lambda bucket: "gone"  # type: ignore[method-assign]
    with pytest.raises(ProblemsFound):
        pipeline(specs, ls, s3).replay(str(saved))


def _unmanaged(ls: FakeLabelStudio, title: str) -> None:
    """A project made by hand: no lsts-sync marker."""
    from lsts_sync.resources.state import ProjectState

    ls.projects[900 + len(ls.projects)] = (None, ProjectState("local", "", title, "", "<View/>", id=900 + len(ls.projects)))


def test_the_lock_is_renewed_between_steps_once_its_lease_asks_for_it(two_projects_specs) -> None:
    """A lease that is always a quarter gone: every step renews the lock first (6 changes, 2 syncs),
    after the renewal that follows the prompt."""
    specs = two_projects_specs
    events: list[str] = []
    lock = FakeLock(events)
    lock.lease = -1.0
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    run = Pipeline(specs, Connections({"local": ls}, s3), locks=lambda: {"local": lock})
    run.apply(lambda: run.plan(PlanOptions()), RecordingUI(events))
    assert events.count("lock renew") == 1 + 8


def test_the_lock_timeout_reaches_the_lock(two_projects_specs) -> None:
    events: list[str] = []
    ls, s3 = FakeLabelStudio(), FakeS3()
    run = pipeline(two_projects_specs, ls, s3, events)
    run.apply(lambda: run.plan(PlanOptions()), RecordingUI(events), lock_timeout=7.5)
    assert events[0] == "lock acquire waiting 7.5s"


def test_the_plan_options_reach_the_reads_and_the_plan(two_projects_specs) -> None:
    """--sync syncs every source, --prune deletes what no spec declares, an override allows its check."""
    from lsts_sync.plan.options import Overrides
    from lsts_sync.resources.state import ProjectState

    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {}  # nothing pending: only --sync syncs
    run = pipeline(two_projects_specs, ls, s3)
    run.apply(lambda: run.plan(QUIET), RecordingUI([]))
    ls.add_project(ProjectState("local", "old", "Old", "", "<View/>"))  # ours, declared no more
    plain = run.plan(PlanOptions(GatherOptions(skip_data_checks=True))).plan
    assert plain.changes == () and plain.syncs == ()
    synced = run.plan(PlanOptions(GatherOptions(sync_all=True, skip_data_checks=True))).plan
    assert sorted(s.reason for s in synced.syncs) == ["--sync", "--sync"]
    pruned = run.plan(PlanOptions(GatherOptions(prune=True, skip_data_checks=True))).plan
    assert [c.describe() for c in pruned.changes] == ["delete project old"]
    forced = run.plan(PlanOptions(GatherOptions(prune=True, skip_data_checks=True), Overrides(force=True))).plan
    assert [c.describe() for c in forced.changes] == ["delete project old"]
    assert run.plan(PlanOptions(overrides=Overrides(force=True))).saved.overrides == Overrides(force=True)


AUTO = """kind: Instance
name: local
url: http://ls.example:8080
token: ${LABEL_STUDIO_API_KEY}
---
kind: Bucket
name: data
---
kind: Project
name: auto
instance: local
source: {bucket: data, prefix: auto/}
timeseries: {time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: auto}
labels: [{value: Anomaly}]
"""


def test_channels_auto_is_resolved_from_the_data_before_desired_state(tmp_path, monkeypatch) -> None:
    from lsts_sync.spec.loader import load_specs

    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "f" * 40)
    (tmp_path / "s.yaml").write_text(AUTO)
    specs, problems = load_specs([str(tmp_path)])
    assert not [p for p in problems if p.severity == "error"], problems
    s3 = FakeS3()
    s3.objects_["data"] = {"auto/1.csv": (1.0, b"t,pressure,flow\n2024-01-01 00:00:00,1,2\n")}
    prepared = Pipeline(specs, Connections({"local": FakeLabelStudio()}, s3), locks=lambda: {}).plan(PlanOptions())
    config = prepared.desired.projects[("local", "auto")].label_config
    assert 'column="pressure"' in config and 'column="flow"' in config


def test_import_reads_the_projects_and_their_storages_and_writes_nothing(pump7_specs) -> None:
    import dataclasses

    from lsts_sync.desired.build import desired_state
    from lsts_sync.resources.markers import Marker
    from lsts_sync.resources.state import WebhookState

    desired = desired_state(pump7_specs)
    ls, s3 = FakeLabelStudio(), FakeS3()
    made = dataclasses.replace(desired.projects[("local", "pump-7")], name="", owner="", id=21,
                               settings=(("predictions_model_version", "m1"),))
    ls.projects[21] = (None, made)
    ls.add_storage(dataclasses.replace(desired.storages[("local", "pump-7", "source")], owner="", id=30), 21)
    ls.add_webhook(WebhookState("local", "", "", "https://hooks.example.com/x", headers=("X-Key",), owner="",
                                id=31), 21)
    ls.add_prediction(21, 1, "m1", [])
    ls.projects[22] = (Marker("default", "other"), dataclasses.replace(made, name="other", id=22))
    pipeline = Pipeline(pump7_specs, Connections({"local": ls}, s3))
    result = pipeline.import_projects((21,))
    project, hook = result.documents  # the Bucket is declared already: no Bucket document
    assert project["name"] == "pump-7-anomaly-labeling" and project["source"]["prefix"] == "pump-7/"
    assert project["source"]["pattern"] == r".*\.csv" and "target" not in project
    assert project["settings"] == {"predictions_model_version": "m1"}  # a prediction has it
    assert hook["project"] == "pump-7-anomaly-labeling" and hook["name"] == "webhook-31"
    assert ls.calls == ["read_projects", "read_all_storages Pump 7 - anomaly labeling",
                        "read_all_webhooks Pump 7 - anomaly labeling", "read_predictions "]  # reads only
    with pytest.raises(LstsError, match="instance local has no project with id 99"):
        pipeline.import_projects((21, 99))
    with pytest.raises(LstsError, match="--instance must name one of the Instance specs"):
        pipeline.import_projects((21,), "elsewhere")
