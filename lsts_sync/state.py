"""Canonical resource shapes shared by desired state (from specs) and live state (from servers).

Both sides are normalised into these frozen values before anything is compared, so a diff never
sees ids, timestamps or formatting. ``compared()`` is the exact set of fields plan diffs; fields
outside it (ids, counts, credentials mode) are carried along for apply and the safety checks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

from .template import canonical

MARKER_RE = re.compile(r"(?:\n\n)?managed-by: lsts-sync name=(\S+)\s*$")
CORS_RULE_ID = "lsts-sync"
EXPOSE_HEADERS = ("x-amz-server-side-encryption", "x-amz-request-id", "x-amz-id-2")

Role = Literal["source", "target"]


def marker(name: str) -> str:
    """The ownership marker lsts-sync writes into descriptions of what it creates."""
    return f"managed-by: lsts-sync name={name}"


def with_marker(description: str, name: str) -> str:
    return f"{description}\n\n{marker(name)}" if description else marker(name)


def split_marker(description: str | None) -> tuple[str, str | None]:
    """``(user description, marked name or None)`` of a live description."""
    text = description or ""
    match = MARKER_RE.search(text)
    if not match:
        return text, None
    return text[: match.start()], match.group(1)


@dataclass(frozen=True)
class Usage:
    """What a live project's annotations use (from Label Studio's project summary).

    ``controls`` are ``from_name|to_name|type`` keys; ``labels`` are ``(control, label)`` pairs.
    ``rejection`` is Label Studio's own ``/validate/`` answer to the desired template, if it refused.
    """

    annotations: int
    controls: frozenset[str] = frozenset()
    labels: frozenset[tuple[str, str]] = frozenset()
    rejection: str | None = None


@dataclass(frozen=True)
class ProjectState:
    """A project as lsts-sync sees it. ``id``/``annotations`` are only known for live projects."""

    instance: str
    name: str
    title: str
    description: str
    label_config: str
    id: int | None = None
    usage: Usage | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.instance, self.name)

    @property
    def address(self) -> str:
        return f"project {self.name}"

    def compared(self) -> dict[str, object]:
        try:
            config: object = canonical(self.label_config)
        except ValueError:
            config = self.label_config
        return {"title": self.title, "description": self.description, "label_config": config}


@dataclass(frozen=True)
class StorageState:
    """An S3 import (``source``) or export (``target``) storage of one project."""

    instance: str
    project: str
    role: Role
    bucket: str
    prefix: str
    region_name: str
    s3_endpoint: str
    regex_filter: str = ""
    use_blob_urls: bool = True
    presign: bool = True
    presign_ttl: int = 1
    recursive_scan: bool = False
    credentials: Literal["environment", "none"] = "environment"
    sync: bool = False
    id: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.instance, self.project, self.role)

    @property
    def address(self) -> str:
        return f"storage {self.project}/{self.role}"

    @property
    def marker_name(self) -> str:
        return f"{self.project}/{self.role}"

    def compared(self) -> dict[str, object]:
        common: dict[str, object] = {"bucket": self.bucket, "prefix": self.prefix,
                                     "region_name": self.region_name, "s3_endpoint": self.s3_endpoint}
        if self.role == "target":
            return common
        return {**common, "regex_filter": self.regex_filter, "use_blob_urls": self.use_blob_urls,
                "presign": self.presign, "presign_ttl": self.presign_ttl, "recursive_scan": self.recursive_scan}


def canonical_rule(rule: dict) -> dict:
    """A CORS rule with sorted lists and keys, for comparing."""
    return {k: sorted(v) if isinstance(v, list) else v for k, v in sorted(rule.items())}


@dataclass(frozen=True)
class CorsState:
    """The ``lsts-sync`` CORS rule of a bucket (``rule`` None: absent) and the rules we never touch.

    ``others`` holds the other rules as JSON text, exactly as read, so apply writes them back as they were.
    """

    bucket: str
    rule: str | None
    others: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.bucket

    @property
    def address(self) -> str:
        return f"bucket {self.bucket} CORS rule {CORS_RULE_ID}"

    def compared(self) -> dict[str, object]:
        return json.loads(self.rule) if self.rule else {}

    def configuration(self) -> list[dict]:
        """The full CORS configuration to write: other rules as they were, then ours."""
        rules = [json.loads(r) for r in self.others]
        return rules + ([json.loads(self.rule)] if self.rule else [])


def desired_rule(origins: list[str]) -> str | None:
    """Our CORS rule for these origins, as canonical JSON; None when no origin needs it."""
    if not origins:
        return None
    rule = {"ID": CORS_RULE_ID, "AllowedMethods": ["GET"], "AllowedOrigins": sorted(set(origins)),
            "AllowedHeaders": ["*"], "ExposeHeaders": list(EXPOSE_HEADERS), "MaxAgeSeconds": 3000}
    return json.dumps(canonical_rule(rule), sort_keys=True)


@dataclass(frozen=True)
class State:
    """A whole side of the comparison, keyed by each resource's ``key``."""

    projects: dict[tuple[str, str], ProjectState] = field(default_factory=dict)
    storages: dict[tuple[str, str, str], StorageState] = field(default_factory=dict)
    cors: dict[str, CorsState] = field(default_factory=dict)
    # Live only: projects without our marker by (instance, title), to report clashes and adopt them.
    unmanaged: dict[tuple[str, str], ProjectState] = field(default_factory=dict)
