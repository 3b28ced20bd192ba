"""Saved plans: what is written is what is read back; the fingerprint moves with the live facts."""

from __future__ import annotations

import dataclasses
import json
import os
import stat

import pytest

from lsts_sync.desired import desired_state
from lsts_sync.facts import LiveFacts
from lsts_sync.gather import GatherOptions, gather
from lsts_sync.plan import Overrides, build_plan
from lsts_sync.errors import LstsError
from lsts_sync.saved_plan import SavedPlan, decode, encode, fingerprint, read, write

from .fakes import predicted_specs, specs  # noqa: F401  (spec fixtures)
from .test_gather import applied


def saved_of(specs, facts):
    desired = desired_state(specs)
    plan = build_plan(desired, facts, overrides=Overrides(adopt=frozenset({"a"})))
    return SavedPlan(plan, "d" * 64, fingerprint(facts, desired), GatherOptions(targets=frozenset({"a", "b"})),
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
                                  json.dumps({"format_version": 1, "saved_plan": {"__type__": "os.system"}})])
def test_a_file_that_is_no_saved_plan_is_one_line(tmp_path, body) -> None:
    (tmp_path / "plan.json").write_text(body)
    with pytest.raises(LstsError, match=r"plan.json: not a saved lsts-sync plan \(") as error:
        read(str(tmp_path / "plan.json"))
    assert "\n" not in str(error.value)


def test_an_empty_live_side_fingerprints_differently_from_an_applied_one(specs) -> None:
    desired, ls, s3, conn = applied(specs)
    assert fingerprint(LiveFacts(), desired) != fingerprint(gather(specs, desired, conn, GatherOptions()), desired)


def test_a_predictions_plan_reads_back_equal_and_moves_with_its_model_versions_only(predicted_specs, tmp_path) -> None:
    from lsts_sync.saved_plan import digest

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
