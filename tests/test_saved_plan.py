"""Saved plans: what is written is what is read back; the fingerprint moves with the live facts."""

from __future__ import annotations

import dataclasses
import json
import os
import stat

import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.desired.build import desired_state
from lsts_sync.live.gather import gather
from lsts_sync.plan.build import build_plan
from lsts_sync.plan.options import GatherOptions, Overrides
from lsts_sync.plan.saved import SavedPlan, decode, encode, fingerprint, read, write
from lsts_sync.resources.facts import LiveFacts
from lsts_sync.spec.loader import SpecSet

from .fakes import applied


@pytest.fixture
def specs(two_projects_specs: SpecSet) -> SpecSet:
    """The specs these tests take: projects a and b on bucket data (``fakes.load_two_projects``)."""
    return two_projects_specs


def saved_of(specs, facts):
    desired = desired_state(specs)
    plan = build_plan(desired, facts, overrides=Overrides(adopt=frozenset({"a"})))
    return SavedPlan(plan, "d" * 64, fingerprint(facts, desired), GatherOptions(projects=frozenset({"a", "b"})),
                     Overrides(adopt=frozenset({"a"})))


def test_a_saved_plan_reads_back_equal(specs, tmp_path) -> None:
    desired, ls, s3, conn = applied(specs)
    s3.objects_["data"]["a/2.csv"] = (5.0, b"t,v\nnot a time,1\n")
    facts = gather(specs, desired, conn, GatherOptions())
    saved = saved_of(specs, facts)
    assert saved.plan.syncs and saved.plan.checks  # a sync, and a data check with its Finding
    write(str(tmp_path / "plan.json"), saved)
    assert read(str(tmp_path / "plan.json")) == saved
    assert decode(encode(facts)) == facts
    assert stat.S_IMODE(os.stat(tmp_path / "plan.json").st_mode) == 0o644


def test_the_fingerprint_moves_with_what_the_plan_depends_on(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    facts = gather(specs, desired, conn, GatherOptions())
    before = fingerprint(facts, desired)
    assert fingerprint(gather(specs, desired, conn, GatherOptions()), desired) == before
    other = dataclasses.replace(next(iter(desired.projects.values())), title="another team's", id=99)
    facts.state.unmanaged[("local", other.title)] = other  # someone else's project: not a dependency
    facts.state.other_owners["team-b"] = 3
    assert fingerprint(facts, desired) == before
    sid = next(iter(ls.storages))
    ls.storages[sid] = dataclasses.replace(ls.storages[sid], last_sync="2026-01-01T00:00:00Z")  # a sync ran
    assert fingerprint(gather(specs, desired, conn, GatherOptions()), desired) != before
    s3.objects_["data"]["b/2.csv"] = (9.0, b"")  # a new object to import
    ls.storages[sid] = dataclasses.replace(ls.storages[sid], last_sync=None)
    assert fingerprint(gather(specs, desired, conn, GatherOptions()), desired) != before


@pytest.mark.parametrize("body", ["not json", json.dumps({"format_version": 99}),
                                  json.dumps({"format_version": 2, "saved_plan": {"__type__": "os.system"}})])
def test_a_file_that_is_no_saved_plan_is_one_line(tmp_path, body) -> None:
    (tmp_path / "plan.json").write_text(body)
    with pytest.raises(LstsError, match=r"plan.json: not a saved lsts-sync plan \(") as error:
        read(str(tmp_path / "plan.json"))
    assert "\n" not in str(error.value)


def test_an_empty_live_side_fingerprints_differently_from_an_applied_one(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    assert fingerprint(LiveFacts(), desired) != fingerprint(gather(specs, desired, conn, GatherOptions()), desired)


def test_a_predictions_plan_reads_back_equal_and_moves_with_its_model_versions_only(predicted_specs, tmp_path) -> None:
    from lsts_sync.plan.saved import digest

    from .test_gather import predicted

    desired, ls, s3, conn = predicted(predicted_specs)
    facts = gather(predicted_specs, desired, conn, GatherOptions())
    plan = build_plan(desired, facts)
    saved = SavedPlan(plan, digest(desired), fingerprint(facts, desired), GatherOptions(), Overrides())
    assert plan.changes[0].action == "predictions" and desired.predictions
    write(str(tmp_path / "plan.json"), saved)
    assert read(str(tmp_path / "plan.json")) == saved and decode(encode(desired)) == desired
    a = next(p.id for _, p in ls.projects.values() if p.name == "a")
    ls.add_prediction(a, 100 * a, "someone-else", [])  # another model version: not a dependency
    assert fingerprint(gather(predicted_specs, desired, conn, GatherOptions()), desired) == saved.fingerprint
    ls.add_prediction(a, 100 * a, "iforest-1", [])  # the declared one moved: the plan is stale
    assert fingerprint(gather(predicted_specs, desired, conn, GatherOptions()), desired) != saved.fingerprint

# --- pinned: the file format, atomic writes, the digest and every way a file is refused ---

import hashlib  # noqa: E402

from lsts_sync.plan.build import Plan  # noqa: E402
from lsts_sync.plan.saved import digest  # noqa: E402

SMALL = SavedPlan(Plan(), "d", "f", GatherOptions(adopt=frozenset({"b", "a"})), Overrides(force=True))


def test_the_digest_is_sha256_of_the_compact_sorted_encoding() -> None:
    text = '{"__dict__":{"a":{"__tuple__":[1,"x"]},"b":null}}'
    assert digest({"b": None, "a": (1, "x")}) == hashlib.sha256(text.encode()).hexdigest()
    assert digest({"a": (1, "x"), "b": None}) == digest({"b": None, "a": (1, "x")})


def test_the_file_is_indented_sorted_json_with_a_trailing_newline(tmp_path) -> None:
    write(str(tmp_path / "plan.json"), SMALL)
    text = (tmp_path / "plan.json").read_text()
    assert text.startswith('{\n "format_version": 2,\n "saved_plan": {\n  "__type__": "SavedPlan",\n  "desired_digest": "d",')
    assert text.endswith("\n }\n}\n")
    assert '"adopt": {\n    "__tuple__": [\n     "a",\n     "b"\n    ]' in text  # frozensets sorted
    assert read(str(tmp_path / "plan.json")) == SMALL
    assert os.listdir(tmp_path) == ["plan.json"]


def test_the_file_is_written_through_a_hidden_temporary_file_beside_it(tmp_path, monkeypatch) -> None:
    moves = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (moves.append((a, b)), real(a, b)))
    write(str(tmp_path / "plan.json"), SMALL)
    ((tmp, target),) = moves
    assert os.path.dirname(tmp) == str(tmp_path) and os.path.basename(tmp).startswith(".plan.json.")
    assert str(target) == str(tmp_path / "plan.json")


def test_a_failed_write_leaves_no_temporary_file(tmp_path) -> None:
    (tmp_path / "plan.json").mkdir()
    with pytest.raises(OSError):
        write(str(tmp_path / "plan.json"), SMALL)
    assert os.listdir(tmp_path) == ["plan.json"] and os.listdir(tmp_path / "plan.json") == []


@pytest.mark.parametrize("body, reason", [
    (json.dumps({"format_version": 99}), "(format_version 99, expected 2)"),
    (json.dumps({"saved_plan": {}}), "(format_version None, expected 2)"),
    (json.dumps({"format_version": 2, "saved_plan": {"__type__": "Plan"}}), "(no saved plan in it)"),
    (json.dumps({"format_version": 2, "saved_plan": {"__type__": "os.system"}}), "(unknown value type 'os.system')"),
    (json.dumps({"format_version": 2, "saved_plan": {"x": 1}}), "(unknown value type None)"),
    (json.dumps({"format_version": 2}), "('saved_plan')"),
    (json.dumps({"format_version": 2, "saved_plan": {"__type__": "Plan", "nope": 1}}), "("),
    (json.dumps([1]), "("),
])
def test_each_kind_of_bad_file_is_named(tmp_path, body, reason) -> None:
    (tmp_path / "plan.json").write_text(body)
    with pytest.raises(LstsError) as error:
        read(str(tmp_path / "plan.json"))
    assert str(error.value).startswith(f"{tmp_path / 'plan.json'}: not a saved lsts-sync plan {reason}")


def test_a_missing_file_is_one_line(tmp_path) -> None:
    with pytest.raises(LstsError, match=r"missing.json: not a saved lsts-sync plan \(\[Errno 2\]"):
        read(str(tmp_path / "missing.json"))


def test_encoding_keeps_lists_pairs_and_sets_and_refuses_anything_else() -> None:
    value = {("a", 1): [1, (2,)], "k": None}
    assert encode(value) == {"__pairs__": [[{"__tuple__": ["a", 1]}, [1, {"__tuple__": [2]}]], ["k", None]]}
    assert decode(encode(value)) == value
    assert encode(frozenset({"b", "a"})) == {"__tuple__": ["a", "b"]}
    assert decode(encode(Overrides(take_over=frozenset({"x"})))) == Overrides(take_over=frozenset({"x"}))
    assert decode(encode(1.5)) == 1.5 and decode(encode(True)) is True
    with pytest.raises(TypeError, match="cannot save a set"):
        encode({1})
    with pytest.raises(TypeError, match="cannot save a type"):
        encode(Plan)


def test_an_unmanaged_project_with_a_declared_title_is_part_of_the_fingerprint(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    facts = gather(specs, desired, conn, GatherOptions())
    before = fingerprint(facts, desired)
    want = next(iter(desired.projects.values()))
    facts.state.unmanaged[("local", want.title)] = dataclasses.replace(want, name="", id=99)
    assert fingerprint(facts, desired) != before
    facts.state.unmanaged.clear()
    facts.state.other_owners["team-b"] = 3
    assert fingerprint(facts, desired) == before and facts.state.other_owners == {"team-b": 3}


def test_the_fingerprint_is_the_digest_of_the_facts_with_no_other_owners() -> None:
    """Saved plans of earlier runs stay comparable: the fingerprint's input is the facts themselves."""
    from lsts_sync.resources.state import DesiredState

    assert fingerprint(LiveFacts(), DesiredState()) == digest(LiveFacts())


def test_a_saved_plan_with_a_reimport_and_its_facts_reads_back_equal(tmp_path) -> None:
    from lsts_sync.plan.build import Plan
    from lsts_sync.plan.changes import Reimport
    from lsts_sync.resources.facts import ChangedTask, SourceFacts

    plan = Plan((Reimport("local", "a", 7, "storage a/source", ((501, "a/1.csv"),)),))
    facts = LiveFacts(sources={("local", "a", "source"): SourceFacts(("a/1.csv",), changed=("a/1.csv",),
                                                                     changed_tasks=(ChangedTask("a/1.csv", 501, False),))})
    saved = SavedPlan(plan, "d" * 64, "f" * 64, GatherOptions(reimport_changed=frozenset({"a"})), Overrides())
    write(str(tmp_path / "plan.json"), saved)
    assert read(str(tmp_path / "plan.json")) == saved
    assert decode(json.loads(json.dumps(encode(facts)))) == facts


def test_the_new_step_kinds_read_back_equal(tmp_path) -> None:
    """Predictions after the sync, a model version's own step, a webhook and its re-sent headers."""
    from lsts_sync.plan.build import Plan
    from lsts_sync.plan.changes import AttachPredictions, Create, ObjectPrediction, ResendHeaders, UpdateModelVersion
    from lsts_sync.resources.state import FieldDiff, ProjectState, WebhookState

    project = ProjectState("local", "p", "P", "", "<View/>", id=1, settings=(("sampling", "uniform"),
                                                                            ("maximum_annotations", 2)))
    hook = WebhookState("local", "p", "h", "https://x.example/h", False, ("ANNOTATION_CREATED",), headers=("A",), id=5)
    plan = Plan((Create(hook, 1), ResendHeaders(hook, 5),
                 AttachPredictions("local", "p", None, "d", "m1", (ObjectPrediction("p/a.csv", "[]", 0.5),)),
                 UpdateModelVersion(project, project, (FieldDiff("settings.predictions_model_version", "", "m1"),))))
    saved = SavedPlan(plan, "d", "f", GatherOptions(), Overrides())
    write(str(tmp_path / "plan.json"), saved)
    assert read(str(tmp_path / "plan.json")) == saved
