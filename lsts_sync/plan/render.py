"""The plan renderer: a Plan for humans (Terraform-like text, Markdown) and machines (JSON).
(The labeling template's XML is built by ``template.template_xml``.)

Nothing secret is in a Plan (credentials are never read or stored in state), and the renderer
prints ``(sensitive)`` for any field named like a secret all the same.
"""

from __future__ import annotations

import difflib
import json
import xml.etree.ElementTree as ET
from dataclasses import asdict

from lsts_sync.plan.build import Change, Create, Delete, FieldDiff, Plan, RotateCredentials, SetPredictions, Update
from lsts_sync.resources.state import CorsState, ProjectState, StorageState
from lsts_sync.ui.template import template_fields

SYMBOL = {"create": "+", "update": "~", "rotate": "~", "delete": "-", "predictions": "~"}
SENSITIVE = ("token", "secret", "aws_access_key_id", "password")


def _value(field: str, value: object) -> str:
    if any(s in field for s in SENSITIVE):
        return "(sensitive)"
    if isinstance(value, str) and "\n" not in value and '"' not in value:
        return f'"{value}"'  # no JSON escaping: regex backslashes read as written
    return json.dumps(value, ensure_ascii=False)


def _config_lines(resource: object) -> list[str]:
    return resource.label_config.splitlines() if isinstance(resource, ProjectState) else []


def _diff_lines(change: Update) -> list[str]:
    lines = []
    for diff in change.diffs:
        if diff.field == "label_config":
            lines.append("    label_config:")
            for line in difflib.unified_diff(_config_lines(change.old), _config_lines(change.new), lineterm="", n=1):
                if not line.startswith(("---", "+++", "@@")):
                    lines.append(f"      {line}")
        elif isinstance(change.new, CorsState):
            lines.extend(_cors_lines(diff))
        else:
            lines.append(f"    {diff.field}: {_value(diff.field, diff.old)} -> {_value(diff.field, diff.new)}")
    return lines


def _cors_lines(diff: FieldDiff) -> list[str]:
    return [f"    {diff.field}: {json.dumps(diff.old)} -> {json.dumps(diff.new)}"]


def _headline(change: Change) -> str:
    resource = change.storage if isinstance(change, RotateCredentials) else \
        change.old if isinstance(change, Delete) else change.new
    where = f" (instance {resource.instance})" if not isinstance(resource, CorsState) else ""
    detail = ""
    if isinstance(resource, ProjectState):
        detail = f" {json.dumps(resource.title)}"
    elif isinstance(resource, StorageState):
        detail = f" s3://{resource.bucket}/{resource.prefix}"
    return f"  {SYMBOL[change.action]} {resource.address}{detail}{where}"


def _create_lines(change: Create) -> list[str]:
    fields = change.new.compared()
    if isinstance(change.new, ProjectState):
        root = ET.fromstring(change.new.label_config)
        fields = {"title": change.new.title,
                  "labels": ", ".join(e.get("value", "") for e in root.iter("Label")),
                  "channels": ", ".join(e.get("column", "") for e in root.iter("Channel"))}
    return [f"    {k}: {_value(k, v)}" for k, v in fields.items()]


def render_text(plan: Plan) -> str:
    """Terraform-like text; ends with the summary line."""
    lines: list[str] = []
    if plan.changes or plan.syncs:
        lines.append("lsts-sync will perform these actions:")
        lines.append("")
    for change in plan.changes:
        if isinstance(change, SetPredictions):
            lines.append(_predictions_line(change))
            continue
        lines.append(_headline(change))
        if isinstance(change, Update):
            lines.extend(_diff_lines(change))
        elif isinstance(change, Create):
            lines.extend(_create_lines(change))
        elif isinstance(change, RotateCredentials):
            lines.append("    credentials: re-sent from the environment (--rotate-credentials)")
    for sync in plan.syncs:
        lines.append(f"  » sync {sync.storage.address} ({sync.reason})")
    if plan.checks:
        lines.append("")
    lines.extend(render_check(check) for check in plan.checks)
    if lines:
        lines.append("")
    lines.append(plan.summary())
    return "\n".join(lines) + "\n"


def _predictions_line(step: SetPredictions) -> str:
    """``~ predictions pump-7/iforest-3 (instance local): 2 to add, 1 to replace, 0 to remove``."""
    return (f"  {SYMBOL[step.action]} {step.address} (instance {step.instance}): {step.added} to add, "
            f"{step.replaced} to replace, {step.removed} to remove")


def render_other_owners(plan: Plan) -> str:
    """One line on the other owners' managed projects that were seen and left alone ('' if none)."""
    if not plan.other_owners:
        return ""
    owners = ", ".join(f"{owner}: {n}" for owner, n in plan.other_owners)
    return f"Left alone: {sum(n for _, n in plan.other_owners)} managed project(s) of other owners ({owners}).\n"


def render_check(check) -> str:
    """``! name subject: message (override)`` for a blocker; ``warning:``/``allowed:`` otherwise."""
    if not check.blocking:
        return f"Warning: {check.subject}: {check.message}"
    state = f"allowed by {check.override}" if check.allowed else (
        f"blocks apply; allow with {check.override}" if check.override else "blocks apply")
    return f"! {check.name} {check.subject}: {check.message} ({state})"


def _json_resource(resource: object) -> dict:
    data = asdict(resource)
    data.pop("credentials", None)
    data.pop("usage", None)
    return data


JSON_FORMAT_VERSION = 1


def _json_diff(change: Update, diff: FieldDiff) -> dict:
    """A field's change; a template change as the XML text of both sides, not its canonical form,
    with its field-level changes (``template_changes``)."""
    if diff.field == "label_config":
        return {"field": "label_config", "old": change.old.label_config, "new": change.new.label_config,
                "template_changes": template_changes(change.old.label_config, change.new.label_config)}
    return {"field": diff.field, "old": diff.old, "new": diff.new}


def template_changes(old: str, new: str) -> list[dict]:
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


def plan_to_dict(plan: Plan) -> dict:
    """The plan for machines; ``format_version`` changes when a field changes meaning or goes away."""
    changes = []
    for change in plan.changes:
        if isinstance(change, SetPredictions):
            changes.append({"action": change.action, "address": change.address, "type": "predictions",
                            "project": change.project, "model_version": change.model_version,
                            "add": change.added, "replace": change.replaced, "remove": change.removed,
                            "delete_ids": list(change.delete_ids), "tasks": [p.task for p in change.add]})
            continue
        resource = change.storage if isinstance(change, RotateCredentials) else \
            change.old if isinstance(change, Delete) else change.new
        entry: dict = {"action": change.action, "address": resource.address,
                       "type": type(resource).__name__.removesuffix("State").lower()}
        if isinstance(change, Update):
            entry["diff"] = [_json_diff(change, d) for d in change.diffs]
        entry["resource"] = _json_resource(resource)
        changes.append(entry)
    return {"format_version": JSON_FORMAT_VERSION, "changes": changes,
            "syncs": [{"address": s.storage.address, "reason": s.reason, "pending": s.pending} for s in plan.syncs],
            "checks": [asdict(c) for c in plan.checks], "blocked": bool(plan.blockers),
            "summary": {**plan.counts, "sync": len(plan.syncs), "predictions": plan.predictions},
            "other_owners": dict(plan.other_owners),
            "changed": bool(plan.changes)}


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True, default=str) + "\n"


def render_markdown(plan: Plan) -> str:
    """A pull-request comment: summary first, then the text plan in a diff block."""
    # diff highlighting needs +/- in the first column
    body = "".join(line[2:] if line.startswith(("  +", "  -")) else line
                   for line in render_text(plan).splitlines(keepends=True))
    others = render_other_owners(plan)
    return f"### lsts-sync plan\n\n**{plan.summary()}**\n\n```diff\n{body}```\n" + (f"\n{others}" if others else "")


