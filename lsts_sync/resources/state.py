"""Canonical resource shapes shared by desired state (from specs) and live state (from servers).

Both sides are normalised into these frozen values before anything is compared, so a diff never
sees ids, timestamps or formatting. ``compared()`` is the exact set of fields plan diffs; fields
outside it (ids, counts, credentials mode) are carried along for apply and the safety checks.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Literal

from lsts_sync.resources.cors import CORS_RULE_ID
from lsts_sync.resources.markers import DEFAULT_OWNER
from lsts_sync.resources.settings import PREFIX, Settings
from lsts_sync.ui.template import canonical

Role = Literal["source", "target"]
# What kind of resource a state value is: the key of its apply handler and of its place in the plan order.
ResourceKind = Literal["cors", "project", "storage", "webhook"]


@dataclass(frozen=True)
class FieldDiff:
    """One field of ``compared()`` whose canonical value differs between two states."""

    field: str
    old: object
    new: object


def diff_fields(old: ProjectState | StorageState | CorsState | WebhookState,
                new: ProjectState | StorageState | CorsState | WebhookState) -> tuple[FieldDiff, ...]:
    """Fields of ``compared()`` whose canonical values differ, in field order (``new``'s first).

    A project setting that ``new`` leaves out is not managed: the live value is never a diff."""
    a, b = old.compared(), new.compared()
    keys = dict.fromkeys([*b, *(k for k in a if not k.startswith(PREFIX))])
    return tuple(FieldDiff(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k))


RecordKind = Literal["annotation", "draft", "prediction"]
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def iso_moment(text: object) -> datetime:
    """An ``updated_at`` as an aware datetime: ISO 8601 as ``datetime.fromisoformat`` reads it
    (``Z`` or any UTC offset, whole seconds or a fraction); without an offset, UTC (Label Studio's
    time zone). Missing or unreadable: the earliest time, so any readable one is later."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return _EARLIEST
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ResultRecord:
    """One annotation, draft or prediction of a live project, with its ``result`` as JSON text
    exactly as read: what a rewrite (a label rename, a time-format change) changes and backs up.

    ``updated_at`` and ``cancelled`` decide which annotation of a task counts as the latest one;
    ``annotation`` is the annotation a draft edits (Label Studio deletes such drafts whenever that
    annotation is saved)."""

    kind: RecordKind
    id: int
    task: int
    result: str
    updated_at: str = ""
    cancelled: bool = False
    annotation: int | None = None


@dataclass(frozen=True)
class Usage:
    """What a live project's annotations and drafts use, counted from the results themselves.

    ``annotations`` counts annotations and drafts with at least one result; ``controls`` maps a
    control's name to the number of results that use it; ``labels`` maps ``(control, label)`` to
    the number of results carrying that label. ``predicted`` holds the same label counts for
    predictions, which are only warned about (a model can predict again). ``records`` holds every
    annotation, draft and prediction with a result, for rewrites (by kind, then id).
    """

    annotations: int
    controls: tuple[tuple[str, int], ...] = ()
    labels: tuple[tuple[tuple[str, str], int], ...] = ()
    predicted: tuple[tuple[tuple[str, str], int], ...] = ()
    records: tuple[ResultRecord, ...] = ()


@dataclass(frozen=True)
class ProjectState:
    """A project as lsts-sync sees it. ``description`` is the user's text, without the marker line
    (written by the mapping to Label Studio). ``id``/``usage`` are only known for live projects.
    ``renames`` (desired only): ``(former label, label)`` pairs of the spec's ``renamed_from``,
    ``field_renames`` the ``(former field, field)`` pairs of its fields' and ``choice_renames`` the
    ``(field, former value, value)`` triples of its choices'; they are not compared (a rename changes
    the template through its labels, fields and choices, and the work through a rewrite step). ``settings`` are canonical (``resources.settings``): the managed ones of a desired
    project, every one read of a live project (only the keys the desired project has are compared)."""

    instance: str
    name: str
    title: str
    description: str
    label_config: str
    owner: str = DEFAULT_OWNER
    id: int | None = None
    usage: Usage | None = None
    renames: tuple[tuple[str, str], ...] = ()
    settings: Settings = ()
    field_renames: tuple[tuple[str, str], ...] = ()
    choice_renames: tuple[tuple[str, str, str], ...] = ()

    kind: ClassVar[ResourceKind] = "project"
    write_order: ClassVar[int] = 2  # creates and updates: after CORS, before the storages that need its id
    delete_order: ClassVar[int] = 6  # after its storages, so nothing is left pointing at it

    @property
    def key(self) -> tuple[str, str]:
        return (self.instance, self.name)

    @property
    def address(self) -> str:
        return f"project {self.name}"

    @property
    def headline(self) -> str:
        """How the plan names it: ``project pump-7 "Pump 7" (instance local)``."""
        return f"{self.address} {json.dumps(self.title)} (instance {self.instance})"

    def compared(self) -> dict[str, object]:
        try:
            config: object = canonical(self.label_config)
        except ValueError:
            config = self.label_config
        return {"title": self.title, "description": self.description, "label_config": config, "owner": self.owner,
                **{PREFIX + k: v for k, v in self.settings}}

    def shown(self) -> dict[str, object]:
        """What the plan shows of a new project: its title, labels, channels and managed settings."""
        root = ET.fromstring(self.label_config)
        return {"title": self.title, "labels": ", ".join(e.get("value", "") for e in root.iter("Label")),
                "channels": ", ".join(e.get("column", "") for e in root.iter("Channel")),
                **{PREFIX + k: v for k, v in self.settings}}


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
    owner: str = DEFAULT_OWNER
    id: int | None = None
    last_sync: str | None = None  # live only: when Label Studio last synced it (to confirm a sync started)

    kind: ClassVar[ResourceKind] = "storage"
    write_order: ClassVar[int] = 3  # after its project (it needs the project's id)
    delete_order: ClassVar[int] = 5  # before its project

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.instance, self.project, self.role)

    @property
    def address(self) -> str:
        return f"storage {self.project}/{self.role}"

    @property
    def headline(self) -> str:
        """How the plan names it: ``storage pump-7/source s3://bucket/prefix (instance local)``."""
        return f"{self.address} s3://{self.bucket}/{self.prefix} (instance {self.instance})"

    @property
    def marker_name(self) -> str:
        return f"{self.project}/{self.role}"

    def compared(self) -> dict[str, object]:
        common: dict[str, object] = {"bucket": self.bucket, "prefix": self.prefix, "region_name": self.region_name,
                                     "s3_endpoint": self.s3_endpoint, "owner": self.owner}
        if self.role == "target":
            return common
        return {**common, "regex_filter": self.regex_filter, "use_blob_urls": self.use_blob_urls,
                "presign": self.presign, "presign_ttl": self.presign_ttl, "recursive_scan": self.recursive_scan}

    def shown(self) -> dict[str, object]:
        """What the plan shows of a new storage: its compared fields."""
        return self.compared()


@dataclass(frozen=True)
class WebhookState:
    """A project's webhook. ``actions`` are sorted (empty with ``all_actions``: every action).

    ``headers`` holds the header names only: their values are secrets, written from the specs at
    apply time (``Connections.webhook_headers``) and never read back, compared or shown; the
    ownership marker's header is not among them.
    """

    instance: str
    project: str
    name: str
    url: str
    all_actions: bool = True
    actions: tuple[str, ...] = ()
    send_payload: bool = True
    active: bool = True
    headers: tuple[str, ...] = ()
    owner: str = DEFAULT_OWNER
    id: int | None = None

    kind: ClassVar[ResourceKind] = "webhook"
    write_order: ClassVar[int] = 3  # with the storages: after its project (it needs the project's id)
    delete_order: ClassVar[int] = 5  # with the storages, before their project

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.instance, self.project, self.name)

    @property
    def address(self) -> str:
        return f"webhook {self.project}/{self.name}"

    @property
    def headline(self) -> str:
        """How the plan names it: ``webhook pump-7/retrain https://ci.example.com/hook (instance local)``."""
        return f"{self.address} {self.url} (instance {self.instance})"

    @property
    def marker_name(self) -> str:
        return f"{self.project}/{self.name}"

    def compared(self) -> dict[str, object]:
        return {"url": self.url, "actions": list(self.actions) if not self.all_actions else "all",
                "send_payload": self.send_payload, "active": self.active, "headers": list(self.headers),
                "owner": self.owner}

    def shown(self) -> dict[str, object]:
        """What the plan shows of a new webhook: its compared fields (header names only)."""
        return self.compared()


@dataclass(frozen=True)
class CorsState:
    """The owner's CORS rule of a bucket (``rule`` None: absent) and the rules we never touch.

    ``others`` holds the other rules (other owners' included) as JSON text, exactly as read, so
    apply writes them back as they were.
    """

    bucket: str
    rule: str | None
    others: tuple[str, ...] = ()
    rule_id: str = CORS_RULE_ID

    kind: ClassVar[ResourceKind] = "cors"
    write_order: ClassVar[int] = 0  # first: the browser must be allowed to read objects before a task opens
    delete_order: ClassVar[int] = 0  # never deleted: a rule no longer needed is an update to "absent"

    @property
    def key(self) -> str:
        return self.bucket

    @property
    def address(self) -> str:
        return f"bucket {self.bucket} CORS rule {self.rule_id}"

    @property
    def headline(self) -> str:
        """How the plan names it: ``bucket data CORS rule lsts-sync`` (S3 has no instance)."""
        return self.address

    def compared(self) -> dict[str, object]:
        return json.loads(self.rule) if self.rule else {}

    def shown(self) -> dict[str, object]:
        """What the plan shows of a new rule: the rule."""
        return self.compared()

    def configuration(self) -> list[dict[str, object]]:
        """The full CORS configuration to write: other rules as they were, then ours."""
        rules = [json.loads(r) for r in self.others]
        return rules + ([json.loads(self.rule)] if self.rule else [])


@dataclass(frozen=True)
class TaskPrediction:
    """The prediction one source file's task should carry: ``result`` is the canonical JSON text
    of its regions (``canonical_result``), ``score`` the task's score (None: no score), ``rows``
    the file rows it was made from (to name them when no task matches)."""

    key: str
    result: str
    score: float | None = None
    rows: tuple[int, ...] = ()


@dataclass(frozen=True)
class PredictionSet:
    """What one Predictions spec declares for ``model_version`` in one project, read from ``file``.

    ``tasks`` is sorted by source key; ``skipped`` holds ``(row, why)`` for each row that could not
    be used (rows numbered as in the file, the header being row 1); ``rows`` counts every data row read.
    """

    instance: str
    project: str
    name: str
    model_version: str
    file: str
    tasks: tuple[TaskPrediction, ...] = ()
    skipped: tuple[tuple[int, str], ...] = ()
    rows: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.instance, self.project, self.model_version)


@dataclass(frozen=True)
class LivePrediction:
    """A prediction on a live task, with its ``result`` as canonical JSON text (``canonical_result``)."""

    id: int
    task: int
    model_version: str
    result: str
    score: float | None = None


def canonical_result(result: object) -> str:
    """One text for a prediction's regions whatever their order or key order: equal results,
    equal texts (regions sorted by their own canonical JSON)."""
    if not isinstance(result, list):
        return json.dumps(result, sort_keys=True, separators=(",", ":"))
    regions = sorted(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in result)
    return "[" + ",".join(regions) + "]"


@dataclass(frozen=True)
class DesiredState:
    """What the specs ask for, as canonical values keyed by each resource's ``key``
    (built by ``desired.build``; read-only: ``Mapping`` fields)."""

    projects: Mapping[tuple[str, str], ProjectState] = field(default_factory=dict)
    storages: Mapping[tuple[str, str, str], StorageState] = field(default_factory=dict)
    cors: Mapping[str, CorsState] = field(default_factory=dict)
    # every Predictions spec's set, by (instance, project, model_version)
    predictions: Mapping[tuple[str, str, str], PredictionSet] = field(default_factory=dict)
    webhooks: Mapping[tuple[str, str, str], WebhookState] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveState:
    """What Label Studio and S3 hold for this owner, as canonical values keyed like ``DesiredState``
    (read by ``live.connections``; read-only: ``Mapping`` fields), and what else was seen there."""

    projects: Mapping[tuple[str, str], ProjectState] = field(default_factory=dict)
    storages: Mapping[tuple[str, str, str], StorageState] = field(default_factory=dict)
    cors: Mapping[str, CorsState] = field(default_factory=dict)
    # projects without our marker by (instance, title), to report clashes and adopt them
    unmanaged: Mapping[tuple[str, str], ProjectState] = field(default_factory=dict)
    # other owners' managed projects by key (lowest id), and their storages, for conflicts
    foreign: Mapping[tuple[str, str], ProjectState] = field(default_factory=dict)
    foreign_storages: Mapping[tuple[str, str, str], StorageState] = field(default_factory=dict)
    # how many managed projects each other owner has (reported, never touched)
    other_owners: Mapping[str, int] = field(default_factory=dict)
    # ids of every resource that carries the same owner+name marker as another (kept: lowest)
    duplicates: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    # storages without any marker of each project being adopted, by the adopting spec's key
    # (instance, name), ``project`` set to that name: adoption takes over the matching ones
    unmarked_storages: Mapping[tuple[str, str], tuple[StorageState, ...]] = field(default_factory=dict)
    # this owner's webhooks on the projects read (declared ones; every own one with --prune)
    webhooks: Mapping[tuple[str, str, str], WebhookState] = field(default_factory=dict)
    # webhooks without a marker of each project being adopted, keyed and named like
    # ``unmarked_storages`` (header names only): adoption takes over those a spec declares
    unmarked_webhooks: Mapping[tuple[str, str], tuple[WebhookState, ...]] = field(default_factory=dict)
