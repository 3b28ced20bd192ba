"""Pure mapping between Label Studio's JSON and lsts-sync's state: usage from exports, markers, bodies."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lsts_sync.live.ls_mapping import (
    MappingError,
    project_body,
    project_from_json,
    storage_body,
    storage_from_json,
    usage_from_tasks,
)
from lsts_sync.resources.markers import Marker
from lsts_sync.resources.state import LivePrediction, ProjectState, ResultRecord, StorageState, Usage

DATA = Path(__file__).parent / "data" / "ls"
CONTROL = "label|ts|timeserieslabels"


def region(*labels: str, start: str = "2024-01-01 00:00:00", end: str = "2024-01-01 00:05:00",
           from_name: str = "label", kind: str = "timeserieslabels") -> dict:
    return {"from_name": from_name, "to_name": "ts", "type": kind,
            "value": {"start": start, "end": end, kind: list(labels)}}


def task(annotations: list[list[dict]] = (), drafts: list[list[dict]] = (),
         predictions: list[list[dict]] = ()) -> dict[str, Any]:
    return {"id": 1, "data": {"csv": "s3://b/week-01.csv"},
            "annotations": [{"id": i, "result": r, "was_cancelled": False} for i, r in enumerate(annotations)],
            "drafts": [{"id": i, "result": r} for i, r in enumerate(drafts)],
            "predictions": [{"id": i, "result": r, "model_version": "m1"} for i, r in enumerate(predictions)]}


# -- usage_from_tasks -----------------------------------------------------------------------------

def test_records_keep_every_result_with_its_ids_time_cancelled_and_drafts_annotation() -> None:
    listed = task([[region("Anomaly")], []], drafts=[[region("Gap")]])
    listed["annotations"][0].update(id=7, updated_at="2024-01-02T00:00:00Z", was_cancelled=True)
    listed["drafts"][0].update(id=9, annotation=7)
    predicted = [LivePrediction(4, 1, "m1", json.dumps([region("Leak")]))]
    usage = usage_from_tasks([listed], "p1", predicted)
    assert usage.records == (
        ResultRecord("annotation", 7, 1, json.dumps([region("Anomaly")]), "2024-01-02T00:00:00Z", True),
        ResultRecord("draft", 9, 1, json.dumps([region("Gap")]), annotation=7),
        ResultRecord("prediction", 4, 1, json.dumps([region("Leak")])))  # the empty annotation has no record
    assert usage.predicted == ((("label", "Leak"), 1),)  # from the list, not the export's ids


def test_a_record_without_an_id_is_an_error() -> None:
    listed = task([[region("Anomaly")]])
    del listed["annotations"][0]["id"]
    with pytest.raises(MappingError, match="annotation without an id"):
        usage_from_tasks([listed], "p1")


def test_every_region_of_a_first_annotation_counts_not_only_the_last() -> None:
    usage = usage_from_tasks([task([[region("Maintenance"), region("Anomaly")]])], "p1")
    assert replace(usage, records=()) == Usage(1, ((CONTROL, 2),), ((("label", "Anomaly"), 1), (("label", "Maintenance"), 1)))


def test_every_label_of_a_region_counts() -> None:
    usage = usage_from_tasks([task([[region("Anomaly", "Maintenance")]])], "p1")
    assert usage.controls == ((CONTROL, 1),)
    assert usage.labels == ((("label", "Anomaly"), 1), (("label", "Maintenance"), 1))


def test_drafts_count_like_annotations() -> None:
    usage = usage_from_tasks([task([[region("Anomaly")]], drafts=[[region("Maintenance"), region("Anomaly")]])], "p1")
    assert usage.annotations == 2
    assert usage.controls == ((CONTROL, 3),)
    assert dict(usage.labels) == {("label", "Anomaly"): 2, ("label", "Maintenance"): 1}


def test_a_task_with_only_drafts_counts() -> None:
    usage = usage_from_tasks([task(drafts=[[region("Anomaly")]])], "p1")
    assert replace(usage, records=()) == Usage(1, ((CONTROL, 1),), ((("label", "Anomaly"), 1),))


def test_predictions_count_only_as_predicted() -> None:
    usage = usage_from_tasks([task(predictions=[[region("Leak"), region("Anomaly")]])], "p1")
    assert usage == Usage(0, (), (), ((("label", "Anomaly"), 1), (("label", "Leak"), 1)))


def test_cancelled_and_empty_annotations_and_drafts_all_count_as_work() -> None:
    """An empty annotation says "nothing here": deleting it loses a labeler's answer."""
    cancelled = task([[region("Anomaly")]])
    cancelled["annotations"][0]["was_cancelled"] = True
    empty = task([[]], drafts=[[]])
    usage = usage_from_tasks([cancelled, empty], "p1")
    assert usage.annotations == 3
    assert usage.labels == ((("label", "Anomaly"), 1),)


def test_results_of_other_controls_and_without_labels_are_counted_by_control() -> None:
    choice = {"from_name": "quality", "to_name": "ts", "type": "choices", "value": {"choices": ["Good"]}}
    relation = {"type": "relation", "from_id": "a", "to_id": "b"}  # no from_name: not a control's result
    no_value = {"from_name": "label", "to_name": "ts", "type": "timeserieslabels", "value": None}
    usage = usage_from_tasks([task([[choice, relation, no_value]])], "p1")
    assert usage.annotations == 1
    assert usage.controls == ((CONTROL, 1), ("quality|ts|choices", 1))
    assert usage.labels == ((("quality", "Good"), 1),)


def test_tasks_without_annotation_keys_count_nothing() -> None:
    assert usage_from_tasks([{"id": 1, "data": {}}, {"id": 2, "annotations": None, "drafts": None}], "p1") == Usage(0)
    assert usage_from_tasks([], "p1") == Usage(0)


@pytest.mark.parametrize("answer", [{"tasks": []}, None, "[]"])
def test_an_export_that_is_not_a_list_is_an_error(answer: Any) -> None:
    with pytest.raises(MappingError, match="export of project p1: unexpected answer \\(not a list of tasks\\)"):
        usage_from_tasks(answer, "p1")


def test_a_task_that_is_not_an_object_is_an_error() -> None:
    with pytest.raises(MappingError, match="a task is not an object"):
        usage_from_tasks([task(), [1, 2]], "p1")


def test_a_recorded_export_with_annotations_drafts_and_predictions() -> None:
    tasks = json.loads((DATA / "export_first_annotation.json").read_text())
    usage = usage_from_tasks(tasks, "p1")
    assert [(r.kind, r.id, r.task) for r in usage.records] == [("annotation", 11, 101), ("draft", 5, 101)]
    assert json.loads(usage.records[0].result) == tasks[0]["annotations"][0]["result"]  # the result as read
    assert replace(usage, records=()) == Usage(
        annotations=2,
        controls=((CONTROL, 3),),
        labels=((("label", "Anomaly"), 2), (("label", "Maintenance"), 1)),
        predicted=((("label", "Leak"), 1),),
    )


# -- projects ---------------------------------------------------------------------------------------

def test_a_project_with_an_owner_marker() -> None:
    item = {"id": "7", "title": "Pumps", "label_config": "<View/>",
            "description": "Pump data.\n\nmanaged-by: lsts-sync owner=team-a name=p1"}
    found, state = project_from_json("main", item)
    assert found == Marker("team-a", "p1")
    assert state == ProjectState("main", "p1", "Pumps", "Pump data.", "<View/>", owner="team-a", id=7)


def test_a_legacy_marker_without_owner_reads_as_the_default_owner() -> None:
    found, state = project_from_json("main", {"id": 7, "title": "Pumps", "label_config": "",
                                              "description": "managed-by: lsts-sync name=p1"})
    assert found == Marker("default", "p1")
    assert (state.owner, state.name, state.description, state.label_config) == ("default", "p1", "", "")


def test_a_project_without_marker_is_nobodys() -> None:
    found, state = project_from_json("main", {"id": 8, "title": "Hand-made", "description": "Mine.",
                                              "label_config": "<View/>"})
    assert found is None
    assert (state.name, state.owner, state.description) == ("", "", "Mine.")


def test_a_null_description_and_title_read_as_empty() -> None:
    found, state = project_from_json("main", {"id": 9, "title": None, "description": None, "label_config": None})
    assert found is None
    assert (state.title, state.description) == ("", "")


@pytest.mark.parametrize("item", [{"title": "x", "label_config": ""}, {"id": 1, "label_config": ""},
                                  {"id": 1, "title": "x"}, [], None])
def test_a_project_without_id_or_title_is_an_error(item: Any) -> None:
    with pytest.raises(MappingError, match="list projects: unexpected answer \\(missing"):
        project_from_json("main", item)


def test_a_project_body_carries_the_marker_with_its_owner() -> None:
    project = ProjectState("main", "p1", "Pumps", "Pump data.", "<View/>", owner="team-a")
    assert project_body(project) == {"title": "Pumps", "label_config": "<View/>",
                                      "description": "Pump data.\n\nmanaged-by: lsts-sync owner=team-a name=p1"}
    assert project_body(project, ["owner"]) == {
        "description": "Pump data.\n\nmanaged-by: lsts-sync owner=team-a name=p1"}
    assert project_body(project, ["title"]) == {"title": "Pumps"}


def test_a_project_body_round_trips_through_project_from_json() -> None:
    project = ProjectState("main", "p1", "Pumps", "", "<View/>", owner="team-b")
    item = {"id": 3, **project_body(project)}
    assert item["description"] == "managed-by: lsts-sync owner=team-b name=p1"
    found, state = project_from_json("main", item)
    assert found == Marker("team-b", "p1")
    assert state == ProjectState("main", "p1", "Pumps", "", "<View/>", owner="team-b", id=3)


# -- storages ---------------------------------------------------------------------------------------

def storage_item(description: str | None, **extra: Any) -> dict:
    return {"id": 4, "title": "lsts-sync source", "description": description, "bucket": "b", "prefix": "pumps/",
            "region_name": "us-east-1", "s3_endpoint": "http://s3.example", "regex_filter": ".*csv",
            "use_blob_urls": True, "presign": True, "presign_ttl": 15, "recursive_scan": False,
            "last_sync": "2024-05-02T09:00:00Z", **extra}


def test_a_storage_whose_marker_names_this_project_and_role() -> None:
    state = storage_from_json("main", "p1", "source",
                              storage_item("managed-by: lsts-sync owner=team-a name=p1/source"))
    assert state == StorageState("main", "p1", "source", "b", "pumps/", "us-east-1", "http://s3.example",
                                 regex_filter=".*csv", use_blob_urls=True, presign=True, presign_ttl=15,
                                 recursive_scan=False, owner="team-a", id=4, last_sync="2024-05-02T09:00:00Z")


@pytest.mark.parametrize("description", [
    "managed-by: lsts-sync owner=team-a name=p2/source",  # another project
    "managed-by: lsts-sync owner=team-a name=p1/target",  # another role
    "managed-by: lsts-sync owner=team-a name=p1",  # a project's marker
    "made by hand",
    None,
])
def test_storages_whose_marker_names_something_else_are_ignored(description: str | None) -> None:
    assert storage_from_json("main", "p1", "source", storage_item(description)) is None


def test_a_storage_without_id_is_an_error() -> None:
    item = storage_item("managed-by: lsts-sync name=p1/source")
    del item["id"]
    with pytest.raises(MappingError, match="list source storages of project p1: unexpected answer \\(missing id\\)"):
        storage_from_json("main", "p1", "source", item)


def test_a_storage_body_carries_its_marker_and_only_source_fields_for_a_source() -> None:
    source = StorageState("main", "p1", "source", "b", "pumps/", "us-east-1", "", owner="team-a", presign_ttl=5)
    target = StorageState("main", "p1", "target", "b", "out/", "us-east-1", "", owner="team-a")
    body = storage_body(source)
    assert body["description"] == "managed-by: lsts-sync owner=team-a name=p1/source"
    assert "regex_filter" not in body  # empty filter is left out rather than sent as ""
    assert (body["presign"], body["presign_ttl"], body["recursive_scan"]) == (True, 5, False)
    assert storage_from_json("main", "p1", "source", {"id": 4, **body}).owner == "team-a"
    target_body = storage_body(target)
    assert target_body["description"] == "managed-by: lsts-sync owner=team-a name=p1/target"
    assert not {"presign", "presign_ttl", "recursive_scan"} & set(target_body)


def _recorded(name: str) -> Any:
    return json.loads((Path(__file__).parent / "data" / "ls" / f"{name}.json").read_text())


def test_a_recorded_project_list_page_maps_every_project_with_its_marker() -> None:
    page = _recorded("projects_page")
    found = [project_from_json("local", item) for item in page["results"]]
    assert [(m.owner, m.name, p.id) for m, p in found] == [
        ("default", "s-7e6687b7", 77), ("default", "s-a7e29e27", 76)]
    assert all(p.description == "" and p.label_config.startswith("<View>") for _, p in found)


def test_recorded_storages_map_every_compared_field() -> None:
    (source,) = _recorded("import_storages")
    (target,) = _recorded("export_storages")
    assert storage_from_json("local", "s-a7e29e27", "source", source) == StorageState(
        instance="local", project="s-a7e29e27", role="source", bucket="lsts-test-a7e29e27", prefix="data/",
        region_name="us-east-1", s3_endpoint="http://127.0.0.1:5000", regex_filter=r"data/(?:.*\.csv)$",
        use_blob_urls=True, presign=True, presign_ttl=60, recursive_scan=False, owner="default", id=67,
        last_sync="2026-11-23T16:04:54.236671Z")
    mapped = storage_from_json("local", "s-a7e29e27", "target", target)
    assert (mapped.id, mapped.bucket, mapped.prefix, mapped.role) == (
        target["id"], "lsts-test-a7e29e27", "annotations/s-a7e29e27", "target")
    assert storage_from_json("local", "s-a7e29e27", "target", source) is None  # the marker names the source


# -- predictions ----------------------------------------------------------------------------------

def test_a_recorded_prediction_list_maps_to_canonical_predictions() -> None:
    from lsts_sync.live.ls_mapping import prediction_from_json
    from lsts_sync.resources.state import canonical_result

    items = json.loads((DATA / "predictions_list.json").read_text())  # GET /api/predictions/?project= on 1.23.2
    found = [prediction_from_json(item, "list predictions") for item in items]
    assert [(p.id, p.task, p.model_version, p.score) for p in found] == [(1, 1, "iforest-1", 0.9),
                                                                         (2, 2, "iforest-1", 0.7)]
    assert found[0].result == canonical_result(list(reversed(items[0]["result"])))  # region order does not matter


def test_a_prediction_body_carries_the_regions_as_json_and_the_score_only_when_there_is_one() -> None:
    from lsts_sync.live.ls_mapping import prediction_body

    assert prediction_body(7, '[{"id":"a"}]', 0.5, "m1") == {"task": 7, "result": [{"id": "a"}], "score": 0.5,
                                                              "model_version": "m1"}
    assert "score" not in prediction_body(7, "[]", None, "m1")


@pytest.mark.parametrize("item", [{"id": 1, "task": 2, "result": []}, {"id": 1, "task": 2, "result": [],
                                                                       "model_version": "m", "score": "high"}])
def test_a_prediction_of_another_shape_is_an_error(item) -> None:
    from lsts_sync.live.ls_mapping import prediction_from_json

    with pytest.raises(MappingError, match="list predictions: unexpected answer"):
        prediction_from_json(item, "list predictions")


def test_a_task_file_keeps_its_id() -> None:
    from lsts_sync.live.ls_mapping import task_file_from_json

    found = task_file_from_json({"id": 9, "storage_filename": "a.csv", "created_at": "2026-01-01T00:00:00Z"}, "t")
    assert (found.key, found.id) == ("a.csv", 9)


# -- pinned field by field: error texts, defaults of missing fields, exact bodies ----------------------

def test_an_item_missing_several_fields_names_them_all_in_order() -> None:
    with pytest.raises(MappingError) as raised:
        project_from_json("main", {"label_config": ""})
    assert str(raised.value) == "list projects: unexpected answer (missing id, title)"


def test_a_storage_with_null_or_missing_fields_reads_as_empty_and_off() -> None:
    item = {"id": "5", "description": "managed-by: lsts-sync owner=team-a name=p1/source", "bucket": None,
            "presign_ttl": None, "use_blob_urls": None}
    assert storage_from_json("main", "p1", "source", item) == StorageState(
        "main", "p1", "source", "", "", "", "", regex_filter="", use_blob_urls=False, presign=False,
        presign_ttl=1, recursive_scan=False, owner="team-a", id=5, last_sync=None)


def test_a_storage_maps_each_boolean_and_the_ttl_from_its_own_field() -> None:
    description = "managed-by: lsts-sync owner=team-a name=p1/source"
    flipped = storage_from_json("main", "p1", "source", storage_item(
        description, use_blob_urls=False, presign=False, presign_ttl=0, recursive_scan=True))
    assert (flipped.use_blob_urls, flipped.presign, flipped.presign_ttl, flipped.recursive_scan) == (
        False, False, 1, True)
    only_blob = storage_from_json("main", "p1", "source", storage_item(description, presign=False))
    assert (only_blob.use_blob_urls, only_blob.presign) == (True, False)


def test_the_exact_storage_bodies_of_a_source_and_a_target() -> None:
    source = StorageState("main", "p1", "source", "b", "pumps/", "eu-west-1", "http://s3.example",
                          regex_filter=r".*\.csv", use_blob_urls=False, presign=False, presign_ttl=7,
                          recursive_scan=True, owner="team-a")
    assert storage_body(source) == {
        "title": "lsts-sync source", "description": "managed-by: lsts-sync owner=team-a name=p1/source",
        "bucket": "b", "prefix": "pumps/", "region_name": "eu-west-1", "s3_endpoint": "http://s3.example",
        "regex_filter": r".*\.csv", "use_blob_urls": False, "presign": False, "presign_ttl": 7,
        "recursive_scan": True}
    target = StorageState("main", "p1", "target", "b", "out/", "eu-west-1", "", owner="team-a")
    assert storage_body(target) == {
        "title": "lsts-sync target", "description": "managed-by: lsts-sync owner=team-a name=p1/target",
        "bucket": "b", "prefix": "out/", "region_name": "eu-west-1", "s3_endpoint": "", "use_blob_urls": True}


def test_a_result_without_type_or_to_name_keeps_those_parts_of_its_control_key_empty() -> None:
    no_type = {"from_name": "label", "to_name": "ts", "value": {}}
    no_to = {"from_name": "quality", "type": "Choices", "value": {"Choices": ["Good"]}}
    usage = usage_from_tasks([task([[no_type, no_to]])], "p1")
    assert usage.controls == (("label|ts|", 1), ("quality||choices", 1))
    assert usage.labels == ((("quality", "Good"), 1),)


def test_annotations_listed_by_id_count_as_work_and_predictions_by_id_do_not_stop_counting() -> None:
    item = {"id": 1, "annotations": [3], "drafts": [],
            "predictions": [5, {"id": 6, "result": [region("Leak")], "model_version": "m1"}]}
    assert usage_from_tasks([item], "p1") == Usage(1, (), (), ((("label", "Leak"), 1),))


def test_a_task_file_maps_creation_time_and_a_missing_source_object() -> None:
    from lsts_sync.live.ls_mapping import task_file_from_json

    found = task_file_from_json({"id": "3", "storage_filename": "", "created_at": "2026-01-01T00:00:10Z"}, "t")
    assert (found.key, found.created, found.id) == (None, 1767225610.0, 3)
    with pytest.raises(MappingError) as raised:
        task_file_from_json({"id": 3, "created_at": "yesterday"}, "list tasks of project p1")
    assert str(raised.value) == "list tasks of project p1: unexpected answer (created_at 'yesterday')"


def test_a_prediction_without_score_or_model_version_reads_as_none_and_empty() -> None:
    from lsts_sync.live.ls_mapping import prediction_from_json

    found = prediction_from_json({"id": "1", "task": "2", "model_version": None, "result": [], "score": None}, "p")
    assert (found.id, found.task, found.model_version, found.score) == (1, 2, "", None)
    assert prediction_from_json({"id": 1, "task": 2, "model_version": "m", "result": [], "score": 1}, "p").score == 1.0


def test_a_task_without_creation_time_is_an_error_naming_the_request() -> None:
    from lsts_sync.live.ls_mapping import task_file_from_json

    with pytest.raises(MappingError) as raised:
        task_file_from_json({"id": 3}, "list tasks of project p1")
    assert str(raised.value) == "list tasks of project p1: unexpected answer (missing created_at)"


# --- project settings: Label Studio's fields <-> the spec's keys and words ---

LIVE_SETTINGS = {"expert_instruction": "Mark &lt;every&gt; rise &amp; fall\n", "show_instruction": True,
                 "show_skip_button": False, "enable_empty_annotation": False, "show_annotation_history": True,
                 "maximum_annotations": 2, "overlap_cohort_percentage": 50, "show_overlap_first": True,
                 "sampling": "Uniform sampling", "skip_queue": "IGNORE_SKIPPED", "show_collab_predictions": True,
                 "reveal_preannotations_interactively": True, "model_version": "iforest-1", "color": "#FF7F0E"}
SPEC_SETTINGS = (("instructions", "Mark <every> rise & fall"), ("show_instructions", True),
                 ("show_skip_button", False), ("enable_empty_annotation", False), ("show_annotation_history", True),
                 ("maximum_annotations", 2), ("overlap_percentage", 50), ("show_overlap_first", True),
                 ("sampling", "uniform"), ("skip_queue", "ignore_skipped"), ("show_predictions", True),
                 ("reveal_predictions_interactively", True), ("predictions_model_version", "iforest-1"),
                 ("color", "#ff7f0e"))


def test_every_setting_reads_into_the_specs_keys_and_words() -> None:
    from lsts_sync.live.ls_mapping import settings_from_json

    assert settings_from_json(LIVE_SETTINGS) == SPEC_SETTINGS


def test_settings_write_as_label_studios_fields_and_read_back_equal() -> None:
    from lsts_sync.live.ls_mapping import settings_body, settings_from_json

    body = settings_body(SPEC_SETTINGS)
    assert body == {**LIVE_SETTINGS, "expert_instruction": "Mark <every> rise & fall", "color": "#ff7f0e"}
    assert settings_from_json(body) == SPEC_SETTINGS
    assert settings_body(SPEC_SETTINGS, {"sampling"}) == {"sampling": "Uniform sampling"}


@pytest.mark.parametrize(("field", "value", "key", "read"), [
    ("sampling", "Sequential sampling", "sampling", "sequential"),
    ("sampling", "Uncertainty sampling", "sampling", "uncertainty"),
    ("sampling", "Something new", "sampling", "Something new"),  # unknown: kept, so it differs from any spec word
    ("sampling", None, "sampling", None),
    ("skip_queue", "REQUEUE_FOR_ME", "skip_queue", "requeue_for_me"),
    ("model_version", None, "predictions_model_version", ""),
    ("expert_instruction", None, "instructions", ""),
])
def test_one_setting_reads_as(field: str, value: Any, key: str, read: Any) -> None:
    from lsts_sync.live.ls_mapping import settings_from_json

    assert settings_from_json({field: value}) == ((key, read),)


def test_a_project_reads_its_settings_and_patches_only_the_changed_ones() -> None:
    _, project = project_from_json("local", {"id": 1, "title": "t", "label_config": "", "sampling": "Uniform sampling"})
    assert project.settings == (("sampling", "uniform"),)
    changed = dataclasses.replace(project, settings=(("sampling", "sequential"), ("color", "#000000")))
    assert project_body(changed, ["settings.sampling"]) == {"sampling": "Sequential sampling"}
    assert project_body(changed, ["title"]) == {"title": "t"}
    assert project_body(changed)["color"] == "#000000"


# --- webhooks: the marker header, header names only ---

HOOK = {"id": 7, "project": 3, "url": "https://ci.example.com/h", "send_payload": False, "send_for_all_actions": False,
        "is_active": True, "actions": ["ANNOTATION_UPDATED", "ANNOTATION_CREATED"],
        "headers": {"Authorization": "Bearer s3cr3t-value", "x-lsts-sync-marker": "managed-by: lsts-sync owner=t name=p/h"}}


def test_a_marked_webhook_reads_with_header_names_only() -> None:
    from lsts_sync.live.ls_mapping import webhook_from_json

    hook = webhook_from_json("local", "p", HOOK)
    assert hook is not None and (hook.name, hook.owner, hook.id, hook.headers) == ("h", "t", 7, ("Authorization",))
    assert (hook.actions, hook.all_actions, hook.send_payload) == (("ANNOTATION_CREATED", "ANNOTATION_UPDATED"), False,
                                                                   False)
    assert "s3cr3t" not in repr(hook)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "x"}, {"X-Lsts-Sync-Marker": "managed-by: lsts-sync owner=t name=q/h"}])
def test_a_webhook_without_this_projects_marker_is_nobodys(headers: dict) -> None:
    from lsts_sync.live.ls_mapping import webhook_from_json

    assert webhook_from_json("local", "p", {**HOOK, "headers": headers}) is None


def test_a_webhook_body_carries_every_field_the_values_and_the_marker() -> None:
    from lsts_sync.live.ls_mapping import webhook_body, webhook_from_json

    hook = webhook_from_json("local", "p", HOOK)
    assert hook is not None
    body = webhook_body(hook, {"Authorization": "Bearer s3cr3t-value"})
    assert body == {"url": "https://ci.example.com/h", "send_payload": False, "send_for_all_actions": False,
                    "actions": ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"], "is_active": True,
                    "headers": {"Authorization": "Bearer s3cr3t-value",
                                "X-Lsts-Sync-Marker": "managed-by: lsts-sync owner=t name=p/h"}}
    assert webhook_from_json("local", "p", {**body, "id": 7}) == hook
