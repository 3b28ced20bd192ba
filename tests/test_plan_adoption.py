"""build_plan with --adopt: a project's storages made by hand are adopted when they match, never
duplicated; the others are named and left alone. And gather reads them only for adopted projects."""

from __future__ import annotations

import dataclasses

from lsts_sync.desired.build import desired_state
from lsts_sync.live.connections import Connections
from lsts_sync.live.gather import gather
from lsts_sync.plan.build import Create, Update, build_plan
from lsts_sync.plan.options import GatherOptions, Overrides
from lsts_sync.plan.render import render_text
from lsts_sync.resources.facts import LiveFacts
from lsts_sync.resources.state import LiveState, ProjectState, StorageState

from .fakes import FakeLabelStudio, FakeS3

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
