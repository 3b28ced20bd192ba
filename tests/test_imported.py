"""desired.imported: recorded Label Studio answers for a project made the notebook's way map to spec
documents whose desired state is the live state; what a spec cannot say is one note each."""

from __future__ import annotations

import dataclasses
import json
import re

import yaml

from lsts_sync.desired.imported import Imported, LiveProject, import_documents, spec_name, template_notes
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


TANK = """<View>
  <TimeSeriesLabels name="label" toName="ts">
    <Label value="Anomaly" background="red"/>
    <Label value="Drift"/>
    <Label value="Spike" background="sparkly"/>
  </TimeSeriesLabels>
  <TimeSeries name="ts" valueType="url" value="$csv" sep=";" timeColumn="time" timeFormat="%Y-%m-%d"
              timeDisplayFormat="%d.%m" overviewChannels="flow,level">
    <Channel column="flow" legend="Flow" strokeColor="#1f77b4" displayFormat=",.2f" units="l/s" height="120"/>
    <Channel column="level" legend="" strokeColor="nocolour" height="tall"/>
  </TimeSeries>
</View>"""
TANK_NOTES = [  # what the spec cannot say about TANK, before any note on the template's round trip
    "project tank-3 (id 11): channel level colour 'nocolour' is no colour a spec accepts (#rgb, #rrggbb, CSS name); "
    "left out",
    "project tank-3 (id 11): channel level height 'tall' is not a whole number; left out",
    "project tank-3 (id 11): label Spike colour 'sparkly' is no colour a spec accepts (#rgb, #rrggbb, CSS name); "
    "left out"]


def tank(config: str = TANK, settings: tuple[tuple[str, object], ...] = ()) -> Imported:
    project = ProjectState("local", "", "Tank 3", "", config, id=11, settings=settings)
    return import_documents("local", [LiveProject(project)], {})


def test_every_series_channel_and_label_attribute_is_read_and_what_is_no_value_is_named() -> None:
    result = tank()
    (project,) = result.documents
    assert project == {
        "kind": "Project", "name": "tank-3", "instance": "local", "title": "Tank 3",
        "timeseries": {"time_column": "time", "time_format": "%Y-%m-%d", "display_format": "%d.%m", "sep": ";",
                       "overview": ["flow", "level"],
                       "channels": [{"column": "flow", "legend": "Flow", "color": "#1f77b4", "format": ",.2f",
                                     "units": "l/s", "height": 120},
                                    {"column": "level", "legend": ""}]},
        "labels": [{"value": "Anomaly", "color": "red"}, {"value": "Drift"}, {"value": "Spike"}]}
    assert result.notes == [*TANK_NOTES,
                            "project tank-3 (id 11): template: Label[label/Spike] background='sparkly' is written None",
                            "project tank-3 (id 11): template: Channel[level] height='tall' is written None",
                            "project tank-3 (id 11): template: Channel[level] legend='' is written None",
                            "project tank-3 (id 11): template: Channel[level] strokeColor='nocolour' is written "
                            "'#ff7f0e'"]


def test_the_default_separator_is_left_out_whether_written_or_not() -> None:
    assert recorded().project.label_config.count('sep=","') == 1
    (_, project) = import_documents("local", [recorded()], {}).documents
    assert project["timeseries"] == {
        "time_column": "timestamp", "time_format": "%Y-%m-%d %H:%M:%S",
        "channels": [{"column": c, "legend": "", "color": color, "format": ",.1f"}
                     for c, color in (("vibration", "#1f77b4"), ("temperature", "#ff7f0e"), ("pressure", "#2ca02c"))]}
    (project,) = tank(TANK.replace(' sep=";"', "")).documents
    assert "sep" not in project["timeseries"]


def test_a_series_channel_or_label_without_its_name_is_not_imported_and_says_which() -> None:
    for config, field_note in (
            (TANK.replace(' timeColumn="time"', ""), "timeseries.time_column: String should have at least 1 character"),
            (TANK.replace('column="flow" ', ""), "timeseries.channels.[list].0.column: String should have at least 1 "
                                                 "character"),
            (TANK.replace('value="Drift"', ""), "labels.1.value: String should have at least 1 character")):
        result = tank(config)
        assert result.documents == []
        assert result.notes == [*TANK_NOTES, f"project tank-3 (id 11): {field_note}; not imported"]


def test_template_notes_name_a_renamed_control_a_changed_attribute_and_another_order() -> None:
    live = recorded().project.label_config
    outside = "is outside what a spec writes (TimeSeriesLabels with Labels, TimeSeries with Channels); adoption removes it"
    assert template_notes(live.replace('name="label"', 'name="tag"'), live) == [
        f"template: TimeSeriesLabels[tag] {outside}", f"template: Label[tag/Anomaly] {outside}",
        f"template: Label[tag/Maintenance] {outside}",
        "template: the spec writes TimeSeriesLabels[label] {'name': 'label', 'toName': 'ts'}, which the live template "
        "lacks",
        "template: the spec writes Label[label/Anomaly] {'background': 'red', 'value': 'Anomaly'}, which the live "
        "template lacks",
        "template: the spec writes Label[label/Maintenance] {'background': '#9467bd', 'value': 'Maintenance'}, which "
        "the live template lacks"]
    assert template_notes(live.replace('background="red"', 'background="blue"'), live) == [
        "template: Label[label/Anomaly] background='blue' is written 'red'"]
    series_first = re.sub(r"(<TimeSeriesLabels.*?</TimeSeriesLabels>)\s*(<TimeSeries .*?</TimeSeries>)", r"\2\1",
                          live, flags=re.S)
    assert template_notes(series_first, live) == [
        "template: its elements are in another order; the spec writes TimeSeriesLabels first"]


def test_a_title_is_trimmed_of_separators_and_cut_to_56_characters() -> None:
    assert spec_name(ProjectState("local", "", "(Pump 7)", "", "", id=4), ()) == "pump-7"
    assert spec_name(ProjectState("local", "", "P" * 60, "", "", id=4), ()) == "p" * 56


def test_two_projects_with_one_title_get_two_names() -> None:
    live = recorded()
    other = dataclasses.replace(live, project=dataclasses.replace(live.project, id=5))
    result = import_documents("local", [live, other], {})
    assert [d["name"] for d in result.documents if d["kind"] == "Project"] == ["pump-7", "pump-7-5"]


def test_each_source_option_is_read_and_a_second_storage_of_a_role_is_named() -> None:
    live = recorded()
    source, target = live.storages
    source = dataclasses.replace(source, recursive_scan=True, presign=False, presign_ttl=30)
    sources = [dataclasses.replace(source, id=i, prefix=f"data/{i}") for i in (9, 5, 7)]
    target = dataclasses.replace(target, bucket="lsts-out", prefix="labels/pump/", region_name="")
    result = import_documents("local", [dataclasses.replace(live, storages=(*sources, target))], {})
    endpoint = source.s3_endpoint
    assert result.documents[:2] == [
        {"kind": "Bucket", "name": "lsts-record", "region": "us-east-1", "endpoint_url": endpoint,
         "cors": {"managed": False}},
        {"kind": "Bucket", "name": "lsts-out", "region": "us-east-1", "endpoint_url": endpoint,
         "cors": {"managed": False}}]  # no region read: Label Studio's default
    project = result.documents[2]
    assert project["source"] == {"bucket": "lsts-record", "prefix": "data/5", "pattern": ".*csv.*", "recursive": True,
                                 "presign": False, "presign_ttl": 30}
    assert project["target"] == {"bucket": "lsts-out", "prefix": "labels/pump/"}
    assert result.notes == [
        f"project pump-7 (id 4): source storage id {i} s3://lsts-record/data/{i}: a spec has one source; not imported"
        for i in (7, 9)] + [
        "project pump-7 (id 4): target storage id 4 s3://lsts-out/labels/pump/: the spec's target prefix has no "
        "trailing '/' (Label Studio writes prefix + '/' + id); adoption writes it without"]


def test_a_source_whose_tasks_are_the_objects_json_is_left_out_and_named() -> None:
    live = recorded()
    source, target = live.storages
    result = import_documents("local", [dataclasses.replace(
        live, storages=(dataclasses.replace(source, use_blob_urls=False), target))], {})
    assert "source" not in result.documents[-1] and "target" in result.documents[-1]
    assert result.notes == [
        "project pump-7 (id 4): source storage id 4 s3://lsts-record/data/pump: use_blob_urls is off (tasks are the "
        "objects' JSON), which a spec's source cannot say; not imported"]


def test_a_known_bucket_s_endpoint_is_compared_but_for_a_trailing_slash() -> None:
    live = recorded()
    source, target = live.storages

    def notes(endpoint: str, known_endpoint: str | None) -> list[str]:
        storages = tuple(dataclasses.replace(s, s3_endpoint=endpoint) for s in (source, target))
        known = {"lsts-record": BucketSpec(kind="Bucket", name="lsts-record", endpoint_url=known_endpoint)}
        return import_documents("local", [dataclasses.replace(live, storages=storages)], known).notes

    assert notes("", None) == []  # AWS itself on both sides
    assert notes("http://S3.BOX/", "http://S3.BOX") == []
    assert notes("http://s3.other:9000", "http://s3.box:9000") == [
        f"project pump-7 (id 4): {role} storage id 4 s3://lsts-record/{prefix}: S3 endpoint 'http://s3.other:9000'; "
        "Bucket lsts-record says 'http://s3.box:9000': it is not adopted"
        for role, prefix in (("source", "data/pump"), ("target", "labels/pump"))]


def test_a_known_bucket_s_other_region_is_named_once_per_storage() -> None:
    live = recorded()
    known = {"lsts-record": BucketSpec(kind="Bucket", name="lsts-record", region="eu-west-1",
                                       endpoint_url=live.storages[0].s3_endpoint)}
    assert import_documents("local", [live], known).notes == [
        f"project pump-7 (id 4): {role} storage id 4 s3://lsts-record/{prefix}: region_name 'us-east-1'; Bucket "
        "lsts-record says 'eu-west-1', which adoption writes"
        for role, prefix in (("source", "data/pump"), ("target", "labels/pump"))]


def with_settings(*settings: tuple[str, object], versions: frozenset[str] = frozenset()) -> Imported:
    live = recorded()
    return import_documents("local", [LiveProject(dataclasses.replace(live.project, settings=settings), (), (),
                                                  versions)], {})


def test_settings_a_spec_refuses_are_named_and_the_others_still_read() -> None:
    result = with_settings(("instructions", ""), ("show_skip_button", False), ("maximum_annotations", 0),
                           ("sampling", "random"), ("skip_queue", "requeue_for_me"), ("color", "#ff8800"))
    assert result.documents[-1]["settings"] == {"show_skip_button": False, "skip_queue": "requeue_for_me",
                                                "color": "#ff8800"}
    assert result.notes == [
        "project pump-7 (id 4): settings.maximum_annotations 0: Input should be greater than or equal to 1; left out",
        "project pump-7 (id 4): settings.sampling 'random': Input should be 'sequential', 'uniform' or 'uncertainty'; "
        "left out"]


def test_a_model_version_is_left_out_when_predictions_are_hidden() -> None:
    hidden = with_settings(("show_predictions", False), ("predictions_model_version", "m1"), ("color", "#ff8800"),
                           versions=frozenset({"m1"}))
    assert hidden.notes == [] and hidden.documents[-1]["settings"] == {"show_predictions": False, "color": "#ff8800"}
    shown = with_settings(("show_predictions", True), ("predictions_model_version", "m1"), versions=frozenset({"m1"}))
    assert shown.documents[-1]["settings"] == {"show_predictions": True, "predictions_model_version": "m1"}
    assert with_settings(("show_predictions", False)).documents[-1]["settings"] == {"show_predictions": False}
    unknown = with_settings(("predictions_model_version", "gone"), ("color", "#ff8800"))  # read after it
    assert unknown.documents[-1]["settings"] == {"color": "#ff8800"} and len(unknown.notes) == 1


def test_webhooks_are_printed_by_id_and_one_a_spec_refuses_is_named_and_skipped() -> None:
    live = with_settings_and_webhooks()
    first, second = live.webhooks
    newer = dataclasses.replace(first, id=3, actions=("PROJECT_CREATED",), url="https://hooks.example.com/new")
    result = import_documents("local", [dataclasses.replace(live, webhooks=(second, first, newer))], {})
    assert [d["name"] for d in result.documents if d["kind"] == "Webhook"] == ["webhook-7", "webhook-8"]
    assert result.notes == [
        "project pump-7 (id 4): webhook webhook-3 (id 3): actions.0: Input should be 'PROJECT_UPDATED', "
        "'TASKS_CREATED', 'TASKS_DELETED', 'ANNOTATION_CREATED', 'ANNOTATIONS_CREATED', 'ANNOTATION_UPDATED', "
        "'ANNOTATIONS_DELETED', 'LABEL_LINK_CREATED', 'LABEL_LINK_UPDATED' or 'LABEL_LINK_DELETED'; not imported",
        "project pump-7 (id 4): webhook webhook-3 (id 3): actions: Tuple should have at least 1 item after "
        "validation, not 0; not imported"]
    assert result.variables == ["LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_AUTHORIZATION", "LSTS_WEBHOOK_PUMP_7_WEBHOOK_7_X_TEAM"]


def test_two_marked_webhooks_of_one_name_get_two_names() -> None:
    hooks = tuple(any_webhook_from_json("local", "pump-7", {
        "id": i, "url": f"https://hooks.example.com/{i}",
        "headers": {WEBHOOK_MARKER_HEADER: marker("default", "pump-7/notify")}}) for i in (9, 10))
    result = import_documents("local", [LiveProject(recorded().project, (), hooks)], {})
    assert [d["name"] for d in result.documents if d["kind"] == "Webhook"] == ["notify", "webhook-10"]


def test_a_target_prefix_is_named_only_for_a_trailing_slash() -> None:
    live = recorded()
    source, target = live.storages
    for prefix in ("labels/PUMP-X", "labels/pump"):
        storages = (source, dataclasses.replace(target, prefix=prefix))
        result = import_documents("local", [dataclasses.replace(live, storages=storages)], {})
        assert result.notes == [] and result.documents[-1]["target"]["prefix"] == prefix


def test_a_template_without_labels_is_named_not_imported() -> None:
    config = re.sub(r"<TimeSeriesLabels.*?</TimeSeriesLabels>", "", recorded().project.label_config, flags=re.S)
    project = ProjectState("local", "", "Pump 7", "", config, id=4)
    result = import_documents("local", [LiveProject(project)], {})
    assert result.documents == [] and result.notes == [
        "project pump-7 (id 4): the template has no TimeSeriesLabels with a Label; not imported"]


def test_a_description_with_spaces_around_it_is_kept_as_written_and_named() -> None:
    live = recorded()
    project = dataclasses.replace(live.project, description=" Pump labels\n")
    result = import_documents("local", [dataclasses.replace(live, project=project)], {})
    assert result.documents[-1]["description"] == " Pump labels\n"
    assert result.notes == [
        "project pump-7 (id 4): description: the spec strips the spaces around it; adoption writes it so"]


def test_a_webhook_marker_without_a_project_part_gives_no_name() -> None:
    item = {"id": 9, "url": "https://hooks.example.com/x", "headers": {WEBHOOK_MARKER_HEADER: marker("default", "notify")}}
    live = LiveProject(recorded().project, (), (any_webhook_from_json("local", "pump-7", item),))
    assert import_documents("local", [live], {}).documents[-1]["name"] == "webhook-9"
