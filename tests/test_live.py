"""read_live and read_usage against in-memory fakes of the live operations: owners, duplicates, budget."""

from __future__ import annotations

import dataclasses

from lsts_sync.core.stats import RequestStats
from lsts_sync.desired.build import desired_state
from lsts_sync.live.connections import Connections, read_live, read_usage
from lsts_sync.plan.build import Update, build_plan
from lsts_sync.plan.options import Overrides
from lsts_sync.resources.facts import LiveFacts
from lsts_sync.resources.markers import Marker
from lsts_sync.resources.state import ProjectState, StorageState
from lsts_sync.spec.loader import SpecSet

from .fakes import FakeLabelStudio, FakeS3


def project(desired, owner: str, pid: int, name: str = "pump-7") -> tuple[Marker, ProjectState]:
    want = desired.projects[("local", "pump-7")]
    return Marker(owner, name), dataclasses.replace(want, name=name, owner=owner, id=pid)


def storage(desired, owner: str, sid: int, role: str = "source") -> StorageState:
    return dataclasses.replace(desired.storages[("local", "pump-7", role)], owner=owner, id=sid)


def ls_holding(projects: list[tuple[Marker, ProjectState]], storages: dict[int, list[StorageState]]) -> FakeLabelStudio:
    """A FakeLabelStudio listing ``projects`` in this order, with ``storages`` by project id."""
    ls = FakeLabelStudio()
    for marker, listed in projects:
        ls.add_project(listed, marker)
    for project_id, held in storages.items():
        for each in held:
            ls.add_storage(each, project_id)
    return ls


def connections(ls: FakeLabelStudio, s3: FakeS3) -> Connections:
    return Connections({"local": ls}, s3, RequestStats())


def test_no_op_reads_exactly_one_list_two_storage_lists_one_webhook_list_and_one_cors(pump7_specs: SpecSet) -> None:
    desired = desired_state(pump7_specs)
    ls = ls_holding([project(desired, "default", 5)], {5: [storage(desired, "default", 50)]})
    s3 = FakeS3()
    live = read_live(pump7_specs, desired, connections(ls, s3))
    assert ls.calls == ["read_projects", "read_storages pump-7", "read_webhooks pump-7"] and s3.calls == ["read_cors lsts-demo"]
    assert live.cors["lsts-demo"].rule_id == "lsts-sync"  # the rule id the CORS was read with


def test_other_owners_are_counted_never_live_and_prune_reads_only_own(pump7_specs: SpecSet) -> None:
    desired = desired_state(pump7_specs)
    ls = ls_holding([project(desired, "default", 5), project(desired, "team-b", 6, "other"),
                     project(desired, "team-b", 7, "third"), project(desired, "default", 8, "old")], {})
    live = read_live(pump7_specs, desired, connections(ls, FakeS3()), prune=True)
    assert sorted(p.id for p in live.projects.values()) == [5, 8]
    assert live.other_owners == {"team-b": 2} and live.foreign == {}
    assert ls.calls == ["read_projects", "read_storages pump-7", "read_storages old", "read_webhooks pump-7",
                        "read_webhooks old"]  # never another owner's
    plan = build_plan(desired, LiveFacts(live), prune=True)
    assert [c.old.id for c in plan.changes if c.action == "delete"] == [8]
    assert plan.other_owners == (("team-b", 2),)


def test_duplicates_keep_the_lowest_id_and_block(pump7_specs: SpecSet) -> None:
    desired = desired_state(pump7_specs)
    ls = ls_holding([project(desired, "default", 9), project(desired, "default", 4)],
                    {4: [storage(desired, "default", 41), storage(desired, "default", 40)]})
    live = read_live(pump7_specs, desired, connections(ls, FakeS3()))
    assert live.projects[("local", "pump-7")].id == 4
    assert live.storages[("local", "pump-7", "source")].id == 40
    assert live.duplicates == {"project pump-7": (4, 9), "storage pump-7/source": (40, 41)}
    blockers = build_plan(desired, LiveFacts(live)).blockers
    assert [(c.name, c.subject) for c in blockers] == [("duplicate", "project pump-7"),
                                                      ("duplicate", "storage pump-7/source")]
    assert "ids 4, 9" in blockers[0].message and blockers[0].override is None


def test_another_owners_project_of_a_declared_name_conflicts_until_taken_over(pump7_specs: SpecSet) -> None:
    desired = desired_state(pump7_specs)
    ls = ls_holding([project(desired, "team-b", 6)], {6: [storage(desired, "team-b", 60)]})
    live = read_live(pump7_specs, desired, connections(ls, FakeS3()))
    assert live.projects == {} and live.foreign[("local", "pump-7")].id == 6
    blocked = build_plan(desired, LiveFacts(live))
    assert [(c.name, c.override) for c in blocked.blockers] == [("owner-conflict", "--take-over pump-7")]
    taken = build_plan(desired, LiveFacts(live), overrides=Overrides(take_over=frozenset({"pump-7"})))
    assert taken.blockers == ()
    updates = {c.new.address: c for c in taken.changes if isinstance(c, Update)}
    assert updates["project pump-7"].old.id == 6 and [d.field for d in updates["project pump-7"].diffs] == ["owner"]
    assert updates["storage pump-7/source"].old.id == 60
    assert [c.action for c in taken.changes if c.new.address == "storage pump-7/target"] == ["create"]


def test_usage_is_read_only_where_a_label_or_control_is_dropped(pump7_specs: SpecSet) -> None:
    desired = desired_state(pump7_specs)
    marker, same = project(desired, "default", 5)
    more = same.label_config.replace("</TimeSeriesLabels>", '<Label value="Retired"/></TimeSeriesLabels>')
    recoloured = same.label_config.replace('background="#d62728"', 'background="#000000"')
    for config, reads in ((same.label_config, []), (recoloured, []), (more, ["read_usage pump-7"])):
        ls = ls_holding([(marker, dataclasses.replace(same, label_config=config))], {})
        live = read_live(pump7_specs, desired, connections(ls, FakeS3()))
        ls.calls.clear()
        read_usage(desired, live, connections(ls, FakeS3()), prune=False, adopt=set())
        assert ls.calls == reads, config


def test_a_storage_of_another_owner_on_our_project_is_not_ours(pump7_specs: SpecSet) -> None:
    """Another owner's storage attached to our project (its marker names the same project and role)
    is neither our live storage nor a duplicate of it: plan never updates or deletes it."""
    desired = desired_state(pump7_specs)
    ls = ls_holding([project(desired, "default", 5)],
                            {5: [storage(desired, "team-b", 49), storage(desired, "default", 50),
                                 storage(desired, "team-b", 61, "target")]})
    live = read_live(pump7_specs, desired, connections(ls, FakeS3()), prune=True)
    assert {key: s.id for key, s in live.storages.items()} == {("local", "pump-7", "source"): 50}
    assert live.duplicates == {} and live.foreign_storages == {}
    plan = build_plan(desired, LiveFacts(live), prune=True)
    storage_changes = [(c.action, c.new.address) for c in plan.changes if isinstance(c.new, StorageState)]
    assert storage_changes == [("create", "storage pump-7/target")]  # ours is made beside theirs


def test_a_run_of_another_owner_sees_the_default_owners_resources_as_foreign(pump7_specs: SpecSet) -> None:
    """``default`` is an owner like any other: a spec set owned by team-b leaves its projects,
    storages and CORS rule alone, even with prune, and only counts them."""
    for name, instance_spec in pump7_specs.instances.items():
        pump7_specs.instances[name] = instance_spec.model_copy(update={"owner": "team-b"})
    assert pump7_specs.owner == "team-b"
    desired = desired_state(pump7_specs)
    ls = ls_holding([project(desired, "default", 5), project(desired, "default", 8, "old")],
                            {5: [storage(desired, "default", 50)]})
    s3 = FakeS3()
    live = read_live(pump7_specs, desired, connections(ls, s3), prune=True)
    assert live.projects == {} and live.storages == {}
    assert live.other_owners == {"default": 2}
    assert live.foreign[("local", "pump-7")].id == 5 and 8 not in {p.id for p in live.foreign.values()}
    assert {key: s.id for key, s in live.foreign_storages.items()} == {("local", "pump-7", "source"): 50}
    assert s3.calls == ["read_cors lsts-demo"] and live.cors["lsts-demo"].rule_id == "lsts-sync-team-b"  # team-b's own rule, never default's "lsts-sync"
    plan = build_plan(desired, LiveFacts(live), prune=True)
    assert not [c for c in plan.changes if c.action in ("update", "delete")]
    assert [(c.name, c.override) for c in plan.blockers] == [("owner-conflict", "--take-over pump-7")]
    assert plan.other_owners == (("default", 2),)
