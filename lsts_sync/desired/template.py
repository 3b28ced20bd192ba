"""The Label Studio labeling template generated for a Project spec.

``template_xml`` is deterministic: the same spec gives byte-identical XML (attributes in a fixed
order, ElementTree escaping). The names it uses and how templates are read back and compared are
the labeling UI's rules, in ``lsts_sync.ui.template``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lsts_sync.spec.models import FieldSpec, ProjectSpec
from lsts_sync.ui.colors import TAB10
from lsts_sync.ui.template import CONTROL_NAME, DATA_KEY, OBJECT_NAME


def _set(element: ET.Element, **attrs: str | int | None) -> ET.Element:
    for key, value in attrs.items():
        if value is not None:
            element.set(key, str(value))
    return element


def template_xml(project: ProjectSpec) -> str:
    """The ``<View>`` for ``project``: TimeSeriesLabels first, then TimeSeries with its Channels,
    then the region fields and the task fields (``_fields``; a project without fields ends at the
    TimeSeries, so its template is the one it always had).

    Column names are written lowercased because Label Studio lowercases CSV headers before matching.
    Channels without a colour take the tab10 palette by position, like the notebook workflow; a
    channel without a legend is given its column as legend, and ``legend: ''`` writes none (as a
    template written by hand may have it).
    """
    ts = project.timeseries
    view = ET.Element("View")
    labels = _set(ET.SubElement(view, "TimeSeriesLabels"), name=CONTROL_NAME, toName=OBJECT_NAME)
    for label in project.labels:
        _set(ET.SubElement(labels, "Label"), value=label.value, background=label.color)
    series = _set(
        ET.SubElement(view, "TimeSeries"),
        name=OBJECT_NAME, valueType="url", value=f"${DATA_KEY}", sep=ts.sep,
        timeColumn=ts.time_column.strip().lower(), timeFormat=ts.time_format,
        timeDisplayFormat=ts.display_format,
        overviewChannels=",".join(c.strip().lower() for c in ts.overview) or None,
    )
    for i, channel in enumerate(ts.channel_list):
        _set(
            ET.SubElement(series, "Channel"),
            column=channel.column.strip().lower(), legend=channel.column if channel.legend is None else channel.legend or None,
            strokeColor=channel.color or TAB10[i % len(TAB10)], displayFormat=channel.format,
            units=channel.units, height=channel.height,
        )
    _fields(view, project)
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode") + "\n"


def _fields(view: ET.Element, project: ProjectSpec) -> None:
    """One control per field, each after a ``<Header>`` naming it (a control shows no name of its
    own). Region fields carry ``perRegion="true"`` (their results share the region's id) and sit in
    a ``<View visibleWhen="region-selected">``, so their headers show only with the controls; task
    fields label the whole series."""
    if project.region_fields:
        box = _set(ET.SubElement(view, "View"), visibleWhen="region-selected")
        for spec in project.region_fields:
            _field(box, spec, per_region=True)
    for spec in project.task_fields:
        _field(view, spec, per_region=False)


def _number(value: float | None) -> str | None:
    """A bound as Label Studio reads it (``Number(...)``): ``1`` rather than ``1.0``."""
    if value is None:
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def _field(parent: ET.Element, spec: FieldSpec, per_region: bool) -> None:
    """``<Choices>`` with a ``<Choice>`` per value, ``<TextArea>`` (one text, editable) or ``<Number>``."""
    _set(ET.SubElement(parent, "Header"), value=spec.name)
    common: dict[str, str | int | None] = {
        "name": spec.name, "toName": OBJECT_NAME, "perRegion": "true" if per_region else None,
        "required": "true" if spec.required else None}
    if spec.type == "choices":
        choices = _set(ET.SubElement(parent, "Choices"), **common, choice="single", showInline="true")
        for value in spec.choices:
            _set(ET.SubElement(choices, "Choice"), value=value)
    elif spec.type == "text":
        _set(ET.SubElement(parent, "TextArea"), **common, maxSubmissions=1, editable="true", rows=1)
    else:
        _set(ET.SubElement(parent, "Number"), **common, min=_number(spec.min), max=_number(spec.max))
