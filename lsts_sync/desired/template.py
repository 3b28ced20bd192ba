"""The Label Studio labeling template generated for a Project spec.

``template_xml`` is deterministic: the same spec gives byte-identical XML (attributes in a fixed
order, ElementTree escaping). The names it uses and how templates are read back and compared are
the labeling UI's rules, in ``lsts_sync.ui.template``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lsts_sync.spec.models import ProjectSpec
from lsts_sync.ui.colors import TAB10
from lsts_sync.ui.template import CONTROL_NAME, DATA_KEY, OBJECT_NAME


def _set(element: ET.Element, **attrs: str | int | None) -> ET.Element:
    for key, value in attrs.items():
        if value is not None:
            element.set(key, str(value))
    return element


def template_xml(project: ProjectSpec) -> str:
    """The ``<View>`` for ``project``: TimeSeriesLabels first, then TimeSeries with its Channels.

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
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode") + "\n"
