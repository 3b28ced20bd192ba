"""Project settings in one canonical shape, whichever side they come from.

A spec's ``settings:`` (``spec.models.ProjectSettings``) and a live project's fields (mapped by
``live.ls_mapping``) both become ``(key, value)`` pairs of the spec's own keys and values
(``sampling: uniform``, ``skip_queue: requeue_for_others``), normalised here, so that a diff never
sees how Label Studio stores them: the instructions are HTML, and Label Studio escapes what it
does not allow (``a < b`` comes back ``a &lt; b``), so both sides are compared unescaped; colours
compare in lower case.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

# The keys in the order the plan shows them.
SETTING_KEYS = ("instructions", "show_instructions", "show_skip_button", "enable_empty_annotation",
                "show_annotation_history", "maximum_annotations", "overlap_percentage", "show_overlap_first",
                "sampling", "skip_queue", "show_predictions", "reveal_predictions_interactively",
                "predictions_model_version", "color")
PREFIX = "settings."  # a setting's field name in diffs: ``settings.sampling``

Settings = tuple[tuple[str, object], ...]


def canonical_setting(key: str, value: object) -> object:
    """One setting's value in the shape both sides compare in (None stays None: unknown)."""
    if value is None:
        return None
    if key == "instructions":
        return html.unescape(str(value)).strip()
    if key == "color":
        return str(value).lower()
    return value


def canonical_settings(values: Mapping[str, object]) -> Settings:
    """The settings of ``values`` (spec keys) that are known keys, canonical, in ``SETTING_KEYS`` order."""
    return tuple((k, canonical_setting(k, values[k])) for k in SETTING_KEYS if k in values)
