"""Template rendering and canonical comparison."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lsts_sync.desired.template import template_xml
from lsts_sync.spec.models import ProjectSpec
from lsts_sync.ui.template import canonical, label_values


def _project(**changes: object) -> ProjectSpec:
    data: dict = {
        "kind": "Project", "name": "p", "instance": "local",
        "timeseries": {"time_column": "Timestamp", "time_format": "%Y-%m-%d %H:%M:%S", "overview": ["Vibration"],
                       "channels": [{"column": "Vibration", "units": "mm/s"}, {"column": "temp", "color": "red"}]},
        "labels": [{"value": 'Valve "A" & B', "color": "#f00"}, {"value": "Anomaly"}],
    }
    data.update(changes)
    return ProjectSpec.model_validate(data)


def test_render_is_valid_xml_with_escaped_labels() -> None:
    root = ET.fromstring(template_xml(_project()))
    assert [label.get("value") for label in root.iter("Label")] == ['Valve "A" & B', "Anomaly"]
    assert root.find("TimeSeriesLabels").get("toName") == root.find("TimeSeries").get("name")


def test_columns_are_lowercased_and_colors_default_to_tab10() -> None:
    root = ET.fromstring(template_xml(_project()))
    series = root.find("TimeSeries")
    assert series.get("timeColumn") == "timestamp"
    assert series.get("overviewChannels") == "vibration"
    assert series.get("valueType") == "url" and series.get("value") == "$csv"
    channels = [(c.get("column"), c.get("legend"), c.get("strokeColor")) for c in series.iter("Channel")]
    assert channels == [("vibration", "Vibration", "#1f77b4"), ("temp", "temp", "red")]


def test_the_pump_7_template_is_exactly_the_recorded_one() -> None:
    """The whole XML of the pump-7 project (``tests/data/good/pump-7.yaml``, the demo's project),
    recorded: a change to the generator changes the template of every existing project on the next
    apply, so it must be deliberate (then re-record the file)."""
    from .fakes import DATA, load_pump7

    recorded = (DATA / "templates" / "pump-7.xml").read_text()
    assert template_xml(load_pump7().projects["pump-7"]) == recorded


def test_optional_attributes_are_omitted() -> None:
    project = _project(timeseries={"time_column": "t", "channels": [{"column": "x"}]})
    series = ET.fromstring(template_xml(project)).find("TimeSeries")
    assert "timeFormat" not in series.attrib and "overviewChannels" not in series.attrib


def test_canonical_ignores_attribute_order_and_whitespace() -> None:
    a = '<View><Label value="x" background="red"/></View>'
    b = '<View>\n  <Label   background="red" value="x" />\n</View>'
    assert canonical(a) == canonical(b)
    assert canonical(a) != canonical('<View><Label value="y" background="red"/></View>')


def test_label_values_per_control() -> None:
    assert label_values(template_xml(_project())) == {"label": {'Valve "A" & B', "Anomaly"}}


# --- What these pin: the exact XML of optional attributes, and the readers plan and the safety
# checks use on live templates (label values, control keys, series attributes, field paths) ---

import pytest  # noqa: E402

from lsts_sync.ui.template import controls, parses, series_attributes, template_fields  # noqa: E402

RICH = """<View>
  <TimeSeriesLabels name="label" toName="ts">
    <Label value="Valve &quot;A&quot; &amp; B" background="#f00" />
    <Label value="Anomaly" />
  </TimeSeriesLabels>
  <TimeSeries name="ts" valueType="url" value="$csv" sep=";" timeColumn="time" timeFormat="%s" \
timeDisplayFormat="%H:%M" overviewChannels="vibration,temp">
    <Channel column="vibration" legend="Vib" strokeColor="#1f77b4" displayFormat=".2f" height="120" />
    <Channel column="temp" legend="Temp" strokeColor="#ff7f0e" />
  </TimeSeries>
</View>
"""

OTHER_CONTROLS = """<View>
  <TimeSeries name="ts" value="$csv" timeColumn="t"><Channel column="b"/><Channel/><Channel column="a"/></TimeSeries>
  <Choices name="quality" toName="ts"><Choice value="good"/><Choice/><Header value="odd"/></Choices>
  <Taxonomy name="cause" toName="ts"><Choice value="pump"/></Taxonomy>
  <TimeSeriesLabels toName="ts"><Label value="Anomaly"/></TimeSeriesLabels>
  <Header value="not a control"/>
</View>"""


def test_rich_template_is_exactly_this_xml() -> None:
    """Every optional attribute at once: separator, time and display formats, several overview
    channels (comma-joined, trimmed, lowercased), legend, number format, height; two-space indent."""
    project = _project(timeseries={
        "time_column": "Time", "overview": ["Vibration", " Temp"], "sep": ";", "display_format": "%H:%M",
        "time_format": "%s",
        "channels": [{"column": "Vibration", "height": 120, "format": ".2f", "legend": "Vib"}, {"column": "Temp"}]})
    assert template_xml(project) == RICH


def test_canonical_refuses_text_that_is_not_xml_with_the_parser_position() -> None:
    with pytest.raises(ValueError, match=r"^labeling config is not valid XML: unclosed token: line 1, column 0$"):
        canonical("<View")


def test_label_values_read_choices_and_taxonomy_and_default_missing_names_to_empty() -> None:
    assert label_values(OTHER_CONTROLS) == {"quality": {"good", ""}, "cause": {"pump"}, "": {"Anomaly"}}
    assert label_values("<View") == {}


def test_controls_are_name_toname_and_lowercased_tag_of_elements_with_toname() -> None:
    assert controls(OTHER_CONTROLS) == frozenset(
        {"quality|ts|choices", "cause|ts|taxonomy", "None|ts|timeserieslabels"})
    assert controls(RICH) == frozenset({"label|ts|timeserieslabels"})
    assert controls("<View") == frozenset()


def test_series_attributes_are_time_column_format_separator_and_sorted_channel_columns() -> None:
    assert series_attributes(RICH) == ("time", "%s", ";", ("temp", "vibration"))
    # nested TimeSeries is found; absent format is None, absent separator reads as ","; a channel
    # without a column counts as ""
    assert series_attributes(OTHER_CONTROLS) == ("t", None, ",", ("", "a", "b"))
    assert series_attributes("<View><Header value='x'/></View>") == ()
    assert series_attributes("<View") == ()


def test_parses_only_well_formed_xml() -> None:
    assert parses(RICH) is True
    assert parses("<View><Label></View>") is False


def test_template_fields_key_elements_by_identity_labels_by_control_and_others_by_position() -> None:
    fields = template_fields('<View><Header size="2"/><TimeSeriesLabels name="label" toName="ts">'
                             '<Label value="A" background="red"/></TimeSeriesLabels><Label value="B"/></View>')
    assert fields == {"Header#0": {"size": "2"},
                      "TimeSeriesLabels[label]": {"name": "label", "toName": "ts"},
                      "Label[label/A]": {"background": "red", "value": "A"},
                      "Label[B]": {"value": "B"}}


FIELDS = {
    "region_fields": [{"name": "severity", "type": "choices", "values": ["low", "medium", "high"], "required": True},
                      {"name": "fault_code", "type": "text"},
                      {"name": "confidence", "type": "number", "min": 0, "max": 0.5}],
    "task_fields": [{"name": "quality", "type": "choices", "values": ["good", "noisy", "unusable"]},
                    {"name": "notes", "type": "text", "required": True}, {"name": "load", "type": "number"}],
}


def test_region_fields_are_per_region_controls_on_the_series_and_task_fields_are_not() -> None:
    root = ET.fromstring(template_xml(_project(**FIELDS)))
    box = root.find("View")
    assert box is not None and box.get("visibleWhen") == "region-selected"
    region = {c.get("name"): c for c in box if c.tag != "Header"}
    assert [(c.tag, c.get("toName"), c.get("perRegion")) for c in region.values()] == [
        ("Choices", "ts", "true"), ("TextArea", "ts", "true"), ("Number", "ts", "true")]
    assert [h.get("value") for h in box.iter("Header")] == ["severity", "fault_code", "confidence"]
    assert [c.get("value") for c in region["severity"].iter("Choice")] == ["low", "medium", "high"]
    assert region["severity"].get("required") == "true" and "required" not in region["fault_code"].attrib
    assert region["severity"].get("choice") == "single"
    assert region["fault_code"].get("maxSubmissions") == "1"
    assert (region["confidence"].get("min"), region["confidence"].get("max")) == ("0", "0.5")
    task = {c.get("name"): c for c in root if c.get("toName") and c.tag != "TimeSeriesLabels"}
    assert [(name, c.tag, c.get("toName"), c.get("perRegion")) for name, c in task.items()] == [
        ("quality", "Choices", "ts", None), ("notes", "TextArea", "ts", None), ("load", "Number", "ts", None)]
    assert task["notes"].get("required") == "true"
    assert "min" not in task["load"].attrib and "max" not in task["load"].attrib
    assert label_values(template_xml(_project(**FIELDS)))["quality"] == {"good", "noisy", "unusable"}


def test_fields_read_as_label_studio_reads_them() -> None:
    """Label Studio's own SDK parses the template: every field is a control on the series, the
    region fields per region."""
    from label_studio_sdk.label_interface import LabelInterface

    interface = LabelInterface(template_xml(_project(**FIELDS)))
    found = {c.name: (c.tag, c.to_name, c.attr.get("perRegion")) for c in interface.controls}
    assert found == {"label": ("TimeSeriesLabels", ["ts"], None), "severity": ("Choices", ["ts"], "true"),
                     "fault_code": ("TextArea", ["ts"], "true"), "confidence": ("Number", ["ts"], "true"),
                     "quality": ("Choices", ["ts"], None), "notes": ("TextArea", ["ts"], None),
                     "load": ("Number", ["ts"], None)}


def test_a_project_without_fields_renders_the_template_it_always_had() -> None:
    assert template_xml(_project(region_fields=[], task_fields=[])) == template_xml(_project())
    assert template_xml(_project()).rstrip().endswith("</TimeSeries>\n</View>")


def test_template_fields_key_choices_by_their_control() -> None:
    fields = template_fields(template_xml(_project(region_fields=[{"name": "a", "type": "choices", "values": ["x"]}],
                                                   task_fields=[{"name": "b", "type": "choices", "values": ["x"]}])))
    assert "Choice[a/x]" in fields and "Choice[b/x]" in fields


def test_renames_of_fields_and_choices_leave_only_the_new_names_in_the_template() -> None:
    renamed = {"region_fields": [{"name": "severity", "renamed_from": "sev", "type": "choices",
                                  "values": ["low", {"value": "medium"}, {"value": "high", "renamed_from": ["severe"]}],
                                  "required": True}, *FIELDS["region_fields"][1:]],
               "task_fields": FIELDS["task_fields"]}
    assert template_xml(_project(**renamed)) == template_xml(_project(**FIELDS))
