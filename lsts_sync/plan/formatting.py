"""How plan values are written for people and machines: quoting, secrets masked, template diffs.

Nothing secret is in a Plan (credentials are never read or stored in state); a field named like a
secret is written ``(sensitive)`` all the same.
"""

from __future__ import annotations

import difflib
import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from typing import Any

from lsts_sync.resources.state import CorsState, FieldDiff, ProjectState, StorageState, WebhookState
from lsts_sync.ui.template import template_fields

SENSITIVE = ("token", "secret", "aws_access_key_id", "password")


def value_text(field: str, value: object) -> str:
    """A field's value in the text plan: ``"text"`` without JSON escaping (regex backslashes read as
    written), JSON otherwise, ``(sensitive)`` for a field named like a secret."""
    if any(s in field for s in SENSITIVE):
        return "(sensitive)"
    if isinstance(value, str) and "\n" not in value and '"' not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def config_diff_lines(old: str, new: str) -> list[str]:
    """A template change as unified-diff lines (one line of context), indented under ``label_config:``."""
    lines = ["    label_config:"]
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1):
        if not line.startswith(("---", "+++", "@@")):
            lines.append(f"      {line}")
    return lines


def json_resource(resource: ProjectState | StorageState | CorsState | WebhookState) -> dict[str, Any]:
    """A resource for ``plan --json``: every field but credentials, label usage and renames (a
    rewrite step shows those); a project's settings as an object."""
    data = asdict(resource)
    data.pop("credentials", None)
    data.pop("usage", None)
    for key in ("renames", "field_renames", "choice_renames"):
        data.pop(key, None)
    if "settings" in data:
        data["settings"] = dict(data["settings"])
    return data


def json_diff(old: object, new: object, diff: FieldDiff) -> dict[str, Any]:
    """A field's change; a template change as the XML text of both sides, not its canonical form,
    with its field-level changes (``template_changes``)."""
    if diff.field == "label_config" and isinstance(old, ProjectState) and isinstance(new, ProjectState):
        return {"field": "label_config", "old": old.label_config, "new": new.label_config,
                "template_changes": template_changes(old.label_config, new.label_config)}
    return {"field": diff.field, "old": diff.old, "new": diff.new}


def template_changes(old: str, new: str) -> list[dict[str, Any]]:
    """Each changed, added or removed element or attribute of a template, as
    ``{"path": "Channel[vibration].strokeColor", "old": ..., "new": ...}`` (None: absent), in path
    order. deepdiff compares the two ``template_fields`` maps; a template that does not parse as XML
    has no field-level changes (its text is in the diff all the same)."""
    from deepdiff import DeepDiff

    try:
        before, after = template_fields(old), template_fields(new)
    except ET.ParseError:
        return []
    found = []
    for kind, items in DeepDiff(before, after, view="tree").items():
        for item in items:
            path = ".".join(str(p) for p in item.path(output_format="list"))
            gone, added = "removed" in kind, "added" in kind
            found.append({"path": path, "old": None if added else item.t1, "new": None if gone else item.t2})
    return sorted(found, key=lambda c: c["path"])
