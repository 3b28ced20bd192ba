"""The plan renderer: a Plan for humans (Terraform-like text, Markdown) and machines (JSON).

Each step renders itself (``text_lines``, ``to_json`` in ``plan.changes``); this module puts the
steps, the checks and the summary together. How values are written (quoting, secrets masked,
template diffs) is ``plan.formatting``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from lsts_sync.plan.build import Plan
from lsts_sync.plan.changes import Check


def render_text(plan: Plan) -> str:
    """Terraform-like text; ends with the summary line."""
    lines: list[str] = []
    if plan.changes or plan.syncs:
        lines.append("lsts-sync will perform these actions:")
        lines.append("")
    for step in plan.steps:
        lines.extend(step.text_lines())
    if plan.checks:
        lines.append("")
    lines.extend(render_check(check) for check in plan.checks)
    if lines:
        lines.append("")
    lines.append(plan.summary())
    return "\n".join(lines) + "\n"


def render_other_owners(plan: Plan) -> str:
    """One line on the other owners' managed projects that were seen and left alone ('' if none)."""
    if not plan.other_owners:
        return ""
    owners = ", ".join(f"{owner}: {n}" for owner, n in plan.other_owners)
    return f"Left alone: {sum(n for _, n in plan.other_owners)} managed project(s) of other owners ({owners}).\n"


def render_check(check: Check) -> str:
    """``! name subject: message (override)`` for a blocker; ``warning:``/``allowed:`` otherwise."""
    if not check.blocking:
        return f"Warning: {check.subject}: {check.message}"
    state = f"allowed by {check.override}" if check.allowed else (
        f"blocks apply; allow with {check.override}" if check.override else "blocks apply")
    return f"! {check.name} {check.subject}: {check.message} ({state})"


JSON_FORMAT_VERSION = 1


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan for machines; ``format_version`` changes when a field changes meaning or goes away."""
    return {"format_version": JSON_FORMAT_VERSION, "changes": [change.to_json() for change in plan.changes],
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


