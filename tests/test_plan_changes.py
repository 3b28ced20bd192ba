"""The steps of a Plan (``plan.changes``), each on its own: the exact lines a user reads in the text
plan and the exact entry a script reads in ``plan --json`` (a documented interface with a
``format_version``), for the steps that are no resource's create or delete: predictions now and
after the sync, re-imports, rewrites of results, window files, re-sent webhook headers, and an
adopting update. Whole renderings are compared, not fragments."""

from __future__ import annotations

from typing import Any

from lsts_sync.plan.build import Plan
from lsts_sync.plan.changes import (
    AttachPredictions,
    Change,
    NewPrediction,
    ObjectPrediction,
    ObjectWrite,
    RecordWrite,
    Reimport,
    ResendHeaders,
    RewriteResults,
    SetPredictions,
    Update,
    WriteWindows,
)
from lsts_sync.plan.render import plan_to_dict, render_text
from lsts_sync.resources.state import FieldDiff, StorageState, WebhookState

HEADER = "lsts-sync will perform these actions:"


def _lines(change: Change) -> list[str]:
    """The step's lines of the text plan (between the header and the summary)."""
    lines = render_text(Plan((change,))).splitlines()
    assert lines[:2] == [HEADER, ""]
    return lines[2:-2]


def _entry(change: Change) -> dict[str, Any]:
    """The step's entry in ``plan --json``."""
    (entry,) = plan_to_dict(Plan((change,)))["changes"]
    return dict(entry)


# --- predictions: now, and after the sync ---

def test_json_of_predictions_names_counts_the_ids_it_deletes_and_the_tasks_it_writes() -> None:
    step = SetPredictions("local", "pump-7", 4, "detector", "iforest-3",
                          add=(NewPrediction(11, "[]", 0.5), NewPrediction(12, "[]")), delete_ids=(5, 6),
                          added=1, replaced=1, removed=1)
    assert _entry(step) == {"action": "predictions", "address": "predictions pump-7/iforest-3", "type": "predictions",
                            "project": "pump-7", "model_version": "iforest-3", "add": 1, "replace": 1, "remove": 1,
                            "delete_ids": [5, 6], "after_sync": False, "tasks": [11, 12]}
    assert _lines(step) == ["  ~ predictions pump-7/iforest-3 (instance local): 1 to add, 1 to replace, 1 to remove"]


def test_json_of_predictions_after_the_sync_names_objects_and_never_replaces_or_removes() -> None:
    step = AttachPredictions("local", "pump-7", None, "detector", "iforest-3",
                             (ObjectPrediction("pump-7/a.csv", "[]"), ObjectPrediction("pump-7/b.csv", "[]", 0.9)))
    assert _entry(step) == {"action": "predictions", "address": "predictions pump-7/iforest-3", "type": "predictions",
                            "project": "pump-7", "model_version": "iforest-3", "add": 2, "replace": 0, "remove": 0,
                            "delete_ids": [], "after_sync": True, "tasks": "(known after apply)",
                            "objects": ["pump-7/a.csv", "pump-7/b.csv"]}
    assert plan_to_dict(Plan((step,)))["summary"]["predictions"] == {"add": 2, "replace": 0, "remove": 0}


# --- re-imports: the first three keys, then an ellipsis ---

def _reimport(n: int) -> Reimport:
    return Reimport("local", "pump-7", 7, "storage pump-7/source", tuple((500 + i, f"k{i}.csv") for i in range(n)))


def test_a_reimport_of_up_to_three_objects_names_each_key() -> None:
    assert _lines(_reimport(3)) == [
        "  ~ reimport pump-7 (instance local): 3 task(s) of changed objects (k0.csv, k1.csv, k2.csv) deleted, "
        "then imported again by the sync of storage pump-7/source"]
    assert _lines(_reimport(1)) == [
        "  ~ reimport pump-7 (instance local): 1 task(s) of changed objects (k0.csv) deleted, "
        "then imported again by the sync of storage pump-7/source"]


def test_a_reimport_of_more_objects_names_the_first_three_then_an_ellipsis() -> None:
    for n in (4, 5):
        assert _lines(_reimport(n)) == [
            f"  ~ reimport pump-7 (instance local): {n} task(s) of changed objects (k0.csv, k1.csv, k2.csv, ...) "
            "deleted, then imported again by the sync of storage pump-7/source"]


# --- re-sent webhook headers ---

def test_resent_headers_name_every_header_and_are_a_rotate_in_json() -> None:
    hook = WebhookState("local", "pump-7", "retrain", "https://ci.example.com/hook", headers=("X-Auth", "X-Team"))
    step = ResendHeaders(hook, 5)
    assert _lines(step) == ["  ~ webhook pump-7/retrain https://ci.example.com/hook (instance local)",
                            "    headers: X-Auth, X-Team re-sent from the specs (--rotate-credentials)"]
    entry = _entry(step)
    assert (entry["action"], entry["address"], entry["type"]) == ("rotate", "webhook pump-7/retrain", "webhook")


# --- an update that adopts a resource made by hand ---

def _storage(**kw: object) -> StorageState:
    return StorageState("local", "pump-7", "source", "data", "p/", "us-east-1", "", **kw)  # type: ignore[arg-type]


def test_only_an_adopting_update_has_adopts_in_json() -> None:
    old, new = _storage(id=7, presign_ttl=5), _storage(presign_ttl=60)
    diffs = (FieldDiff("presign_ttl", 5, 60),)
    adopting = _entry(Update(old, new, diffs, adopts=7))
    plain = _entry(Update(old, new, diffs))
    assert adopting == {**plain, "adopts": 7}
    assert "adopts" not in plain
    assert plain["diff"] == [{"field": "presign_ttl", "old": 5, "new": 60}]


# --- rewrites of results ---

def _rewrite(**kw: object) -> RewriteResults:
    writes = (RecordWrite("annotation", 21, 3, "[a]", "[b]"), RecordWrite("draft", 22, 3, "[a]", "[b]"),
              RecordWrite("prediction", 23, 4, "[a]", "[b]"), RecordWrite("annotation", 24, 4, "[a]", "[b]"))
    return RewriteResults("local", "pump-7", 1, writes, **kw)  # type: ignore[arg-type]


FULL_REWRITE = {
    "lost_drafts": (RecordWrite("draft", 30, 3, "[a]", "[a]"),),
    "renames": (("Missing", "Gap"), ("Spike", "Peak")), "relabeled": (5, 2, 1, 1),
    "field_renames": (("sev", "severity"), ("note", "comment")), "fields_renamed": (3, 2, 1, 0),
    "choice_renames": (("severity", "severe", "high"),), "choices_renamed": (1, 1, 0, 0),
    "retime": (None, "%Y-%m-%d"), "retimed": 40,
}


def test_a_rewrite_lists_each_rename_and_retime_then_what_it_saves() -> None:
    assert _lines(_rewrite(**FULL_REWRITE)) == [
        "  ~ relabel pump-7: Missing → Gap, Spike → Peak (5 region(s) in 2 annotation(s), 1 draft(s), 1 prediction(s))",
        "  ~ rename field pump-7: sev → severity, note → comment (3 result(s) in 2 annotation(s), 1 draft(s), "
        "0 prediction(s))",
        "  ~ rename choice pump-7: severe → high of severity (1 result(s) in 1 annotation(s), 0 draft(s), "
        "0 prediction(s))",
        "  ~ retime pump-7: 40 region(s) from numbers to '%Y-%m-%d'",
        "    saves 2 annotation(s), 1 draft(s), 1 prediction(s); what they held is backed up first"]


def test_a_retime_to_numbers_names_the_former_format() -> None:
    lines = _lines(_rewrite(retime=("%Y-%m-%d %H:%M", None), retimed=3))
    assert lines[0] == "  ~ retime pump-7: 3 region(s) from '%Y-%m-%d %H:%M' to numbers"


def test_json_of_a_rewrite_is_every_rename_count_write_and_lost_draft() -> None:
    assert _entry(_rewrite(**FULL_REWRITE)) == {
        "action": "rewrite", "address": "results pump-7", "type": "results", "project": "pump-7",
        "renames": [["Missing", "Gap"], ["Spike", "Peak"]],
        "relabeled": {"regions": 5, "annotations": 2, "drafts": 1, "predictions": 1},
        "field_renames": [["sev", "severity"], ["note", "comment"]],
        "fields_renamed": {"results": 3, "annotations": 2, "drafts": 1, "predictions": 0},
        "choice_renames": [["severity", "severe", "high"]],
        "choices_renamed": {"results": 1, "annotations": 1, "drafts": 0, "predictions": 0},
        "retime": [None, "%Y-%m-%d"], "retimed": 40,
        "writes": [{"kind": "annotation", "id": 21, "task": 3}, {"kind": "draft", "id": 22, "task": 3},
                   {"kind": "prediction", "id": 23, "task": 4}, {"kind": "annotation", "id": 24, "task": 4}],
        "lost_drafts": [30]}


def test_json_of_a_rewrite_without_a_retime_has_none() -> None:
    entry = _entry(_rewrite(renames=(("Missing", "Gap"),), relabeled=(1, 1, 0, 0)))
    assert (entry["retime"], entry["retimed"], entry["lost_drafts"]) == (None, 0, [])


# --- window files ---

def _object(key: str, files: int, delete: tuple[str, ...] = (), rewritten: int = 0) -> ObjectWrite:
    write = tuple(f"w/{key}/{i}.csv" for i in range(files))
    return ObjectWrite(key, "e", 10, write, ("",) * files, delete, "m", rewritten)


def _windows(*objects: ObjectWrite) -> WriteWindows:
    return WriteWindows("local", "pump-7", "data", "w/", objects)


def test_windows_name_what_is_rewritten_and_deleted() -> None:
    pruned = _object("gone.csv", 0, delete=("w/gone/0.csv", "w/gone/1.csv", "w/gone/manifest.json"))
    assert _lines(_windows(_object("a.csv", 2), pruned)) == [
        "  + windows pump-7: 2 file(s) from 1 object(s) (2 deleted)",
        "    s3://data/a.csv: 2 window(s)"]
    assert _lines(_windows(_object("a.csv", 2, rewritten=1), pruned))[0] == (
        "  + windows pump-7: 2 file(s) from 1 object(s) (1 rewritten, 2 deleted)")
    assert _lines(_windows(_object("a.csv", 2, rewritten=1)))[0] == (
        "  + windows pump-7: 2 file(s) from 1 object(s) (1 rewritten)")


def test_windows_show_at_most_ten_objects() -> None:
    lines = _lines(_windows(*(_object(f"o{i:02}.csv", 1) for i in range(11))))
    assert lines[0] == "  + windows pump-7: 11 file(s) from 11 object(s)"
    assert lines[1:] == [f"    s3://data/o{i:02}.csv: 1 window(s)" for i in range(10)]
