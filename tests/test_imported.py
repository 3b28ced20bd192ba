"""desired.imported: recorded Label Studio answers for a project made the notebook's way map to spec
documents whose desired state is the live state; what a spec cannot say is one note each."""

from __future__ import annotations

import dataclasses
import json

import yaml

from lsts_sync.desired.imported import LiveProject, import_documents, spec_name, template_notes
from lsts_sync.desired.template import template_xml
from lsts_sync.live.ls_mapping import any_storage_from_json, any_webhook_from_json, project_from_json
from lsts_sync.resources.markers import WEBHOOK_MARKER_HEADER, marker
from lsts_sync.resources.settings import canonical_settings
from lsts_sync.resources.state import ProjectState
from lsts_sync.spec.models import BucketSpec, ProjectSpec, WebhookSpec
from lsts_sync.ui.template import canonical

from .fakes import DATA


def recorded(storages: str = "notebook_import_storages.json") -> LiveProject:
    _, project = project_from_json("local", json.loads((DATA / "ls" / "notebook_project.json").read_text()))
    found = [any_storage_from_json("local", "", "source", item)
             for item in json.loads((DATA / "ls" / storages).read_text())]
    found += [any_storage_from_json("local", "", "target", item)
              for item in json.loads((DATA / "ls" / "notebook_export_storages.json").read_text())]
    return LiveProject(project, tuple(found))


def test_a_notebook_project_maps_to_a_project_and_a_bucket_with_no_notes() -> None:
    live = recorded()
    result = import_documents("local", [live], {})
    assert result.notes == []
    bucket, project = result.documents
    assert bucket == {"kind": "Bucket", "name": "lsts-record", "region": "us-east-1",
                      "endpoint_url": live.storages[0].s3_endpoint, "cors": {"managed": False}}
    assert project["name"] == "pump-7" and project["title"] == "Pump 7" and project["description"] == "Pump labels"
    assert project["source"] == {"bucket": "lsts-record", "prefix": "data/pump", "pattern": ".*csv.*",
                                 "presign_ttl": 15}
    assert project["target"] == {"bucket": "lsts-record", "prefix": "labels/pump"}
    assert project["timeseries"]["channels"][0] == {"column": "vibration", "legend": "", "color": "#1f77b4",
                                                    "format": ",.1f"}
    assert project["labels"] == [{"value": "Anomaly", "color": "red"}, {"value": "Maintenance", "color": "#9467bd"}]
    spec = ProjectSpec.model_validate(project)
    assert canonical(template_xml(spec)) == canonical(live.project.label_config)  # the template round-trips


def test_a_filter_without_an_exact_pattern_leaves_the_source_out_and_says_so() -> None:
    result = import_documents("local", [recorded("notebook_odd_import_storages.json")], {})
    project = result.documents[-1]
    assert "source" not in project and "target" in project
    (note,) = result.notes
    assert note.startswith("project pump-7 (id ") and "has no exact pattern in the spec language; not imported" in note


def test_a_known_bucket_is_not_repeated_and_its_differences_are_named() -> None:
    live = recorded()
    known = {"lsts-record": BucketSpec(kind="Bucket", name="lsts-record", region="eu-west-1",
                                       endpoint_url=live.storages[0].s3_endpoint)}
    result = import_documents("local", [live], known)
    assert [d["kind"] for d in result.documents] == ["Project"]
    assert len(result.notes) == 2 and all("region_name 'us-east-1'; Bucket lsts-record says 'eu-west-1'" in n
                                          for n in result.notes)


def test_template_features_outside_the_spec_are_one_note_each() -> None:
    live = recorded().project.label_config
    extra = live.replace("</View>", '<Header value="Label me"/><Choices name="q" toName="ts"/></View>')
    extra = extra.replace('<Label value="Anomaly" background="red"/>', '<Label value="Anomaly" hotkey="a"/>')
    notes = template_notes(extra, live)
    assert len(notes) == 4, notes
    assert any("Header" in n and "outside what a spec writes" in n for n in notes)
    assert any("Label[label/Anomaly] hotkey='a' is written None" in n for n in notes)
    assert template_notes(live, live) == []


def test_a_project_that_is_not_a_time_series_is_named_not_imported() -> None:
    project = ProjectState("local", "", "Images", "", "<View><Image name='i' value='$img'/></View>", id=9)
    result = import_documents("local", [LiveProject(project)], {})
    assert result.documents == [] and result.notes == [
        "project images (id 9): the template is not a time-series template (no TimeSeries); not imported"]


def test_spec_names_come_from_the_marker_or_the_title_and_never_clash() -> None:
    assert spec_name(ProjectState("local", "", "Pump 7 / line B", "", "", id=4), ()) == "pump-7-line-b"
    assert spec_name(ProjectState("local", "", "Pump 7", "", "", id=4), {"pump-7"}) == "pump-7-4"
    assert spec_name(ProjectState("local", "p7", "Pump 7", "", "", id=4), ()) == "p7"
    assert spec_name(ProjectState("local", "", "!!!", "", "", id=4), ()) == "project-4"


SECRETS = ("s3cr3t-token-value", "pumps-team-secret")  # the header values in notebook_webhooks.json


def with_settings_and_webhooks(versions: frozenset[str] = frozenset({"pump-model-3"})) -> LiveProject:
    """The notebook project with every setting set in the UI and two webhooks made by hand."""
    _, project = project_from_json("local", json.loads((DATA / "ls" / "notebook_project_settings.json").read_text()))
    hooks = tuple(any_webhook_from_json("local", "", item)
                  for item in json.loads((DATA / "ls" / "notebook_webhooks.json").read_text()))
    return LiveProject(project, (), hooks, versions)


def test_settings_are_printed_in_the_spec_words_and_round_trip_to_the_live_settings() -> None:
    live = with_settings_and_webhooks()
    result = import_documents("local", [live], {})
    project = result.documents[0]
    assert project["settings"] == {
        "instructions": "<p>Mark every pump & valve fault</p>", "show_instructions": True, "show_skip_button": False,
        "enable_empty_annotation": True, "show_annotation_history": False, "maximum_annotations": 2,
        "overlap_percentage": 100, "show_overlap_first": False, "sampling": "uniform",
        "skip_queue": "requeue_for_others", "show_predictions": True, "reveal_predictions_interactively": False,
        "predictions_model_version": "pump-model-3", "color": "#ff8800"}
    spec = ProjectSpec.model_validate(project)
    assert canonical_settings(spec.settings.managed()) == live.project.settings  # nothing to update on adoption


def test_a_model_version_no_prediction_has_is_left_out_and_named() -> None:
    result = import_documents("local", [with_settings_and_webhooks(frozenset({"other-model"}))], {})
    assert "predictions_model_version" not in result.documents[0]["settings"]
    assert [n for n in result.notes if "predictions_model_version" in n] == [
        "project pump-7 (id 4): settings.predictions_model_version 'pump-model-3': no prediction of the project "
        "has it, so Label Studio would refuse it; left out"]


def test_empty_and_missing_settings_are_left_out() -> None:
    result = import_documents("local", [recorded()], {})
    assert "settings" not in result.documents[-1]  # notebook_project.json carries no setting fields
    item = json.loads((DATA / "ls" / "notebook_project_settings.json").read_text())
    item.update(expert_instruction="", color=None, model_version="", maximum_annotations=None)
    _, project = project_from_json("local", item)
    result = import_documents("local", [LiveProject(project)], {})
    assert result.notes == [] and result.documents[-1]["settings"]["sampling"] == "uniform"
    assert not {"instructions", "color", "predictions_model_version", "maximum_annotations"} & set(
        result.documents[-1]["settings"])


def test_each_webhook_is_a_document_with_placeholders_for_its_header_values() -> None:
    result = import_documents("local", [with_settings_and_webhooks()], {})
    _, first, second = result.documents
    assert first == {"kind": "Webhook", "name": "webhook-7", "project": "pump-7",
                     "url": "https://hooks.example.com/labels", "actions": ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"],
                     "headers": {"Authorization": "${LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_AUTHORIZATION}",
                                 "X-Team": "${LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_X_TEAM}"}}
    assert second == {"kind": "Webhook", "name": "webhook-8", "project": "pump-7",
                      "url": "https://hooks.example.com/all", "send_payload": False, "active": False}
    for document in (first, second):
        WebhookSpec.model_validate(document)
    assert result.variables == ["LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_AUTHORIZATION", "LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_X_TEAM"]
    assert result.notes == []  # made by hand, printed like any other: plan --adopt adopts them by URL


def test_two_webhooks_made_by_hand_alike_in_every_field_read_are_named() -> None:
    live = with_settings_and_webhooks()
    twin = dataclasses.replace(live.webhooks[0], id=12)
    result = import_documents("local", [dataclasses.replace(live, webhooks=(*live.webhooks, twin))], {})
    assert [d["name"] for d in result.documents if d["kind"] == "Webhook"] == ["webhook-7", "webhook-8", "webhook-12"]
    assert [n for n in result.notes if "webhook" in n] == [
        "project pump-7 (id 4): webhook webhook-12 (id 12): it has no lsts-sync marker and is alike webhook id 7 in "
        "every field lsts-sync reads, so adoption cannot tell them apart (ambiguous-webhook); delete one in Label Studio"]


def test_a_marked_webhook_keeps_its_name_and_a_clash_of_variables_is_numbered() -> None:
    item = {"id": 9, "url": "https://hooks.example.com/x", "headers": {
        "X-Key": "one", "X_Key": "two", WEBHOOK_MARKER_HEADER: marker("default", "pump-7/notify")}}
    live = LiveProject(recorded().project, (), (any_webhook_from_json("local", "pump-7", item),))
    result = import_documents("local", [live], {})
    hook = result.documents[-1]
    assert hook["name"] == "notify" and hook["headers"] == {"X-Key": "${LSTS_WEBHOOK_PUMP_7_NOTIFY_X_KEY}",
                                                            "X_Key": "${LSTS_WEBHOOK_PUMP_7_NOTIFY_X_KEY_2}"}
    assert not [n for n in result.notes if "marker" in n]


def test_no_header_value_reaches_the_documents_or_the_notes() -> None:
    result = import_documents("local", [with_settings_and_webhooks()], {})
    text = yaml.safe_dump_all(result.documents) + "\n".join(result.notes + result.variables)
    assert "Authorization" in text and not [s for s in SECRETS if s in text]
    assert not [s for s in SECRETS if any(s in repr(w) for w in with_settings_and_webhooks().webhooks)]
