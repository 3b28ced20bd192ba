"""How Label Studio reads a labeling template: the names lsts-sync's templates use, the canonical
form plan compares, and the readers of live templates (labels, controls, series attributes).

``canonical`` parses any template to a nested tuple that ignores
attribute order and whitespace, so plan compares meaning, not formatting.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

CONTROL_NAME = "label"
OBJECT_NAME = "ts"
DATA_KEY = "csv"

Canonical = tuple[str, tuple[tuple[str, str], ...], tuple["Canonical", ...]]


def canonical(xml: str) -> Canonical:
    """Parse a template into (tag, sorted attributes, children); text and whitespace are ignored.

    Raises ValueError for XML that does not parse.
    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ValueError(f"labeling config is not valid XML: {exc}") from None
    return _canon(root)


def _canon(element: ET.Element) -> Canonical:
    return (element.tag, tuple(sorted(element.attrib.items())), tuple(_canon(child) for child in element))


def label_values(xml: str) -> dict[str, set[str]]:
    """Labels per control name in a template, e.g. ``{"label": {"Anomaly", "Maintenance"}}``."""
    found: dict[str, set[str]] = {}
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return found
    for control in root.iter():
        if control.tag.endswith("Labels") or control.tag in ("Choices", "Taxonomy"):
            name = control.get("name", "")
            found.setdefault(name, set()).update(
                child.get("value", "") for child in control if child.tag in ("Label", "Choice")
            )
    return found


def controls(xml: str) -> frozenset[str]:
    """``name|toName|type`` of every control tag, the key Label Studio's summary uses."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return frozenset()
    return frozenset(f"{e.get('name')}|{e.get('toName')}|{e.tag.lower()}" for e in root.iter() if e.get("toName"))


def series_attributes(xml: str) -> tuple:
    """What decides whether the chart can read the data: the TimeSeries' time column, time format
    and separator, and its channel columns (sorted). Empty for a template that does not parse."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return ()
    series = root.find(".//TimeSeries")
    if series is None:
        return ()
    columns = tuple(sorted(c.get("column", "") for c in series.iter("Channel")))
    return (series.get("timeColumn"), series.get("timeFormat"), series.get("sep", ","), columns)


def parses(xml: str) -> bool:
    """True if ``xml`` is a well-formed template."""
    try:
        ET.fromstring(xml)
    except ET.ParseError:
        return False
    return True


IDENTITY = ("name", "value", "column")  # the attribute that names an element among its siblings


def template_fields(xml: str) -> dict[str, dict[str, str]]:
    """A template as ``{element: {attribute: value}}``, each element keyed by its tag and identity,
    e.g. ``Channel[vibration]``, ``Label[label/Anomaly]``, ``Choice[severity/high]``, ``TimeSeries[ts]``:
    the shape a field-level diff of two templates reads well in (two controls may share a label or a
    choice, so those are keyed by their control). An element without identity is keyed by tag and position."""
    fields: dict[str, dict[str, str]] = {}

    def walk(element: ET.Element, parent: str) -> None:
        for i, child in enumerate(element):
            ident = next((child.get(a) for a in IDENTITY if child.get(a) is not None), None)
            tag = child.tag
            if tag in ("Label", "Choice") and parent:
                ident = f"{parent}/{ident}"
            key = f"{tag}[{ident}]" if ident is not None else f"{tag}#{i}"
            fields[key] = {k: v for k, v in sorted(child.attrib.items())}
            walk(child, child.get("name") or parent)

    walk(ET.fromstring(xml), "")
    return fields


def series_parts(xml: str) -> tuple[dict[str, str], tuple[dict[str, str], ...], tuple[dict[str, str], ...]] | None:
    """The attributes of a template's first ``TimeSeries``, of its ``Channel``s and of the ``Label``s of
    the first ``TimeSeriesLabels``, as written; None when the template does not parse or has no
    TimeSeries. Everything else in the template is left to the caller to compare."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    series = root.find(".//TimeSeries")
    if series is None:
        return None
    labels = root.find(".//TimeSeriesLabels")
    return (dict(series.attrib), tuple(dict(c.attrib) for c in series.iter("Channel")),
            tuple(dict(label.attrib) for label in (labels.iter("Label") if labels is not None else ())))
