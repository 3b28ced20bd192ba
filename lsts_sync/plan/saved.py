"""Saved plans: ``plan --out FILE`` writes the Plan with a fingerprint of the live facts it was built
on; ``apply --plan FILE`` re-gathers those facts and applies exactly that Plan only while they are
unchanged (Terraform's saved plan: plan in the pull request, apply on merge).

The file is JSON. Our frozen values are written with their class name and read back only into the
classes a SavedPlan can hold: those reachable from its fields' type hints (``value_types``), so
no other code can be named by a file and a new change kind needs no registry entry. Tuples come back as tuples
and dicts with non-string keys as pairs, so a decoded value equals the one that was encoded.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import typing
from dataclasses import dataclass
from typing import Any

from lsts_sync.core.errors import LstsError
from lsts_sync.core.files import write_atomic
from lsts_sync.plan.build import Plan
from lsts_sync.plan.options import GatherOptions, Overrides
from lsts_sync.resources.facts import LiveFacts
from lsts_sync.resources.state import DesiredState

# 2: the Plan carries its live project ids; GatherOptions.targets became projects (the --project filter)
FORMAT_VERSION = 2


@dataclass(frozen=True)
class SavedPlan:
    """A plan and what it was made from: the desired state's digest (the specs as resolved),
    the live facts' fingerprint, and the options it was planned with."""

    plan: Plan
    desired_digest: str
    fingerprint: str
    options: GatherOptions
    overrides: Overrides


@functools.cache
def value_types() -> dict[str, type]:
    """Every dataclass a SavedPlan (or the facts and desired state it is fingerprinted from) can
    hold, by class name: walked from their type hints, through unions, tuples and mappings."""
    found: dict[str, type] = {}
    pending: list[Any] = [SavedPlan, LiveFacts, DesiredState]
    while pending:
        hint = pending.pop()
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            if hint.__name__ in found:
                continue
            found[hint.__name__] = hint
            pending.extend(typing.get_type_hints(hint).values())
        else:
            pending.extend(typing.get_args(hint))
    return found


def encode(value: Any) -> Any:
    """JSON-ready form of our frozen values (see the module docstring)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__name__,
                **{f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, (tuple, frozenset)):
        items = sorted(value) if isinstance(value, frozenset) else value
        return {"__tuple__": [encode(v) for v in items]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__dict__": {k: encode(v) for k, v in value.items()}}
        return {"__pairs__": [[encode(k), encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot save a {type(value).__name__}")


def decode(data: Any) -> Any:
    """The inverse of ``encode``; a class a SavedPlan cannot hold is an error."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__dict__" in data:
        return {k: decode(v) for k, v in data["__dict__"].items()}
    if "__pairs__" in data:
        return {decode(k): decode(v) for k, v in data["__pairs__"]}
    cls = value_types().get(data.get("__type__", ""))
    if cls is None:
        raise ValueError(f"unknown value type {data.get('__type__')!r}")
    fields = {k: decode(v) for k, v in data.items() if k != "__type__"}
    if cls in (Overrides, GatherOptions):  # frozensets were written as tuples
        fields = {k: frozenset(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    return cls(**fields)


def digest(value: Any) -> str:
    """A stable SHA-256 of a value's encoding (dict order does not matter)."""
    return hashlib.sha256(json.dumps(encode(value), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def fingerprint(facts: LiveFacts, desired: DesiredState) -> str:
    """What the live side looked like: every fact the plan was decided on, ids, usage, objects and
    data samples included. Left out: unmanaged projects whose title no desired project has, and
    the other owners' counts, so other teams' work on a shared instance does not make a plan stale."""
    titles = {(p.instance, p.title) for p in desired.projects.values()}
    state = dataclasses.replace(facts.state, other_owners={},
                                unmanaged={k: v for k, v in facts.state.unmanaged.items() if k in titles})
    return digest(dataclasses.replace(facts, state=state))


def save(path: str, saved: SavedPlan) -> None:
    """``plan --out``: ``write``, unless the plan's own checks block it (LstsError naming them;
    nothing written): ``apply --plan`` could only refuse such a plan later."""
    if saved.plan.blockers:
        names = ", ".join(dict.fromkeys(f"{c.name} ({c.subject})" for c in saved.plan.blockers))
        raise LstsError(f"not saved to {path}: safety check(s) {names} block this plan; resolve them or give "
                        "their overrides, then plan again")
    write(path, saved)


def write(path: str, saved: SavedPlan) -> None:
    """Write atomically (``core.files.write_atomic``: a hidden temporary file beside ``path``,
    renamed over it), readable by CI steps (0644)."""
    body = json.dumps({"format_version": FORMAT_VERSION, "saved_plan": encode(saved)}, indent=1, sort_keys=True)
    write_atomic(path, (body + "\n").encode(), 0o644)


def read(path: str) -> SavedPlan:
    """Read a saved plan; a file that is not one (or of another format version) is one line."""
    try:
        with open(path) as source:
            data = json.load(source)
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format_version {data.get('format_version')!r}, expected {FORMAT_VERSION}")
        saved = decode(data["saved_plan"])
        if not isinstance(saved, SavedPlan):
            raise ValueError("no saved plan in it")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LstsError(f"{path}: not a saved lsts-sync plan ({exc})") from None
    return saved


