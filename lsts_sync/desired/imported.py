"""Spec documents for projects that already exist (``lsts-sync import``): the inverse of desired state.

Pure: live projects and storages in, YAML-ready documents and notes out. A document is written so
that its desired state equals the live state it was read from, wherever the spec language can say
it; every place where it cannot is one note (``project NAME (id N): ...``), and is never changed
silently: either the document leaves the thing out (a storage the spec cannot describe stays
unmanaged) or the note says what adoption would write instead. The check is the round trip
itself: the spec's generated template is compared, element by element, with the live one.

Later kinds of managed settings plug in here: a reader of the live value adds a key to the
Project document (``_project_document``), a new kind adds its own documents to ``Imported``.

Webhook header values are secrets and never reach this module (the live mapping drops them): a
Webhook document names each header with a ``${LSTS_WEBHOOK_PROJECT_WEBHOOK_HEADER}`` placeholder,
which the spec loader fills from the environment, and ``Imported.variables`` lists them.
A webhook made by hand is printed like any other: ``plan --adopt NAME`` adopts it (by its URL,
``resources.adoption``), except where two of them are alike in every field it reads (a note).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from lsts_sync.desired.template import template_xml
from lsts_sync.resources.adoption import pattern_for, same_webhook
from lsts_sync.resources.state import ProjectState, StorageState, WebhookState
from lsts_sync.spec.models import NAME_RE, BucketSpec, ProjectSettings, ProjectSpec, WebhookSpec
from lsts_sync.ui.colors import check_color
from lsts_sync.ui.template import canonical, series_parts, template_fields

DEFAULT_REGION = "us-east-1"


@dataclass
class Imported:
    """What ``import_documents`` found: spec documents (Buckets first) and one note per thing
    the spec language cannot say."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)  # to set to the webhooks' header values


@dataclass(frozen=True)
class LiveProject:
    """One live project to import, every S3 storage and webhook it has (marked or not), and the
    model versions of its predictions (read only when it shows one)."""

    project: ProjectState
    storages: tuple[StorageState, ...] = ()
    webhooks: tuple[WebhookState, ...] = ()
    model_versions: frozenset[str] = frozenset()


def spec_name(project: ProjectState, taken: Iterable[str]) -> str:
    """The spec name: the marker's name if it has one, else its title made a name (lowercase,
    runs of other characters as one ``-``); ``-ID`` is added when that name is taken or empty."""
    name = project.name or re.sub(r"[^a-z0-9._]+", "-", project.title.lower()).strip("-._")[:56]
    if not NAME_RE.match(name) or name in set(taken):
        name = f"{name}-{project.id}" if NAME_RE.match(f"{name}-{project.id}") else f"project-{project.id}"
    return name


def import_documents(instance: str, projects: Iterable[LiveProject], buckets: Mapping[str, BucketSpec],
                     taken: Iterable[str] = ()) -> Imported:
    """Project documents for ``projects`` on ``instance``, and a Bucket document for each bucket
    their storages use that ``buckets`` (the specs' Bucket specs) lacks."""
    result = Imported()
    known = dict(buckets)
    names = set(taken)
    for live in projects:
        name = spec_name(live.project, names)
        names.add(name)
        where = f"project {name} (id {live.project.id})"
        document = _project_document(instance, name, live, known, result, where)
        if document is not None:
            result.documents.append(document)
            result.documents.extend(_webhooks(name, live, result, where))
    return result


def _project_document(instance: str, name: str, live: LiveProject, buckets: dict[str, BucketSpec],
                      result: Imported, where: str) -> dict[str, Any] | None:
    """One Project document, or None (with its notes) when the spec language cannot describe it."""
    project = live.project
    series = _timeseries(project.label_config, result.notes, where)
    if series is None:
        return None
    timeseries, labels = series
    document: dict[str, Any] = {"kind": "Project", "name": name, "instance": instance, "title": project.title}
    if project.description:
        document["description"] = project.description
        if project.description != project.description.strip():
            result.notes.append(f"{where}: description: the spec strips the spaces around it; adoption writes it so")
    for role in ("source", "target"):
        storage = _storage(role, live.storages, buckets, result, where)
        if storage is not None:
            document[role] = storage
    document.update(timeseries=timeseries, labels=labels)
    settings = _settings(live, result.notes, where)
    if settings:
        document["settings"] = settings
    try:
        spec = ProjectSpec.model_validate(document)
    except ValidationError as exc:
        result.notes.extend(f"{where}: {'.'.join(map(str, e['loc']))}: {e['msg']}; not imported" for e in exc.errors())
        return None
    result.notes.extend(f"{where}: {line}" for line in template_notes(project.label_config, template_xml(spec)))
    return document


def _timeseries(config: str, notes: list[str], where: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The ``timeseries`` and ``labels`` of a template, read with ``ui.template.series_parts``."""
    parts = series_parts(config)
    if parts is None:
        notes.append(f"{where}: the template is not a time-series template (no TimeSeries); not imported")
        return None
    series, channels, labels = parts
    if not labels:
        notes.append(f"{where}: the template has no TimeSeriesLabels with a Label; not imported")
        return None
    timeseries: dict[str, Any] = {"time_column": series.get("timeColumn", "")}
    optional = {"time_format": series.get("timeFormat"), "display_format": series.get("timeDisplayFormat"),
                "sep": series.get("sep") if series.get("sep", ",") != "," else None,
                "overview": series["overviewChannels"].split(",") if series.get("overviewChannels") else None}
    timeseries.update({k: v for k, v in optional.items() if v is not None})
    timeseries["channels"] = [_channel(c, notes, where) for c in channels]
    return timeseries, [_label(label, notes, where) for label in labels]


def _color(value: str | None, what: str, notes: list[str], where: str) -> str | None:
    if value is None:
        return None
    try:
        return check_color(value)
    except ValueError:
        notes.append(f"{where}: {what} colour {value!r} is no colour a spec accepts (#rgb, #rrggbb, CSS name); "
                     "left out")
        return None


def _channel(channel: dict[str, str], notes: list[str], where: str) -> dict[str, Any]:
    column = channel.get("column", "")
    found: dict[str, Any] = {"column": column, "legend": channel.get("legend", ""),
                             "color": _color(channel.get("strokeColor"), f"channel {column}", notes, where),
                             "format": channel.get("displayFormat"), "units": channel.get("units")}
    height = channel.get("height")
    if height is not None:
        if height.isdigit():
            found["height"] = int(height)
        else:
            notes.append(f"{where}: channel {column} height {height!r} is not a whole number; left out")
    return {k: v for k, v in found.items() if v is not None}


def _label(label: dict[str, str], notes: list[str], where: str) -> dict[str, Any]:
    value = label.get("value", "")
    color = _color(label.get("background"), f"label {value}", notes, where)
    return {"value": value, "color": color} if color else {"value": value}


def template_notes(live: str, generated: str) -> list[str]:
    """One line per difference between the live template and the one the spec generates: an
    element the spec cannot write, an attribute it writes otherwise, or the elements' order."""
    have, want = template_fields(live), template_fields(generated)
    notes = []
    for key in dict.fromkeys([*have, *want]):
        old, new = have.get(key), want.get(key)
        if new is None:
            notes.append(f"template: {key} is outside what a spec writes (TimeSeriesLabels with Labels, TimeSeries "
                         "with Channels); adoption removes it")
        elif old is None:
            notes.append(f"template: the spec writes {key} {new}, which the live template lacks")
        else:
            notes.extend(f"template: {key} {attr}={old.get(attr)!r} is written {new.get(attr)!r}"
                         for attr in dict.fromkeys([*old, *new]) if old.get(attr) != new.get(attr))
    if not notes and canonical(live) != canonical(generated):
        notes.append("template: its elements are in another order; the spec writes TimeSeriesLabels first")
    return notes


def _storage(role: str, storages: tuple[StorageState, ...], buckets: dict[str, BucketSpec], result: Imported,
             where: str) -> dict[str, Any] | None:
    """The ``source`` or ``target`` of a Project document from the project's first storage of that
    role (lowest id); the others are named. A source the spec cannot describe exactly is left out."""
    found = sorted((s for s in storages if s.role == role), key=lambda s: s.id or 0)
    if not found:
        return None
    storage, others = found[0], found[1:]
    result.notes.extend(f"{where}: {role} storage id {s.id} s3://{s.bucket}/{s.prefix}: a spec has one {role}; "
                        "not imported" for s in others)
    what = f"{where}: {role} storage id {storage.id} s3://{storage.bucket}/{storage.prefix}"
    document: dict[str, Any] = {"bucket": storage.bucket, "prefix": storage.prefix}
    if role == "source":
        pattern = pattern_for(storage.prefix, storage.regex_filter)
        if not storage.use_blob_urls:
            result.notes.append(f"{what}: use_blob_urls is off (tasks are the objects' JSON), which a spec's source "
                                "cannot say; not imported")
            return None
        if pattern is None:
            result.notes.append(f"{what}: regex_filter {storage.regex_filter!r} has no exact pattern in the spec "
                                "language; not imported")
            return None
        document["pattern"] = pattern
        document.update({"recursive": True} if storage.recursive_scan else {})
        document.update({"presign": False} if not storage.presign else {})
        document["presign_ttl"] = storage.presign_ttl
    elif storage.prefix != storage.prefix.rstrip("/"):
        result.notes.append(f"{what}: the spec's target prefix has no trailing '/' (Label Studio writes prefix + '/' "
                            "+ id); adoption writes it without")
    _bucket(storage, buckets, result, what)
    return document


def _bucket(storage: StorageState, buckets: dict[str, BucketSpec], result: Imported, what: str) -> None:
    """Add a Bucket document for a bucket the specs lack (its CORS left alone: ``managed: false``),
    or name where the specs' Bucket says otherwise than the storage."""
    region = storage.region_name or DEFAULT_REGION
    known = buckets.get(storage.bucket)
    if known is None:
        document: dict[str, Any] = {"kind": "Bucket", "name": storage.bucket, "region": region}
        if storage.s3_endpoint:
            document["endpoint_url"] = storage.s3_endpoint
        document["cors"] = {"managed": False}
        buckets[storage.bucket] = BucketSpec.model_validate(document)
        result.documents.insert(sum(d["kind"] == "Bucket" for d in result.documents), document)
        return
    if known.region != storage.region_name:
        result.notes.append(f"{what}: region_name {storage.region_name!r}; Bucket {known.name} says {known.region!r}, "
                            "which adoption writes")
    if (known.endpoint_url or "") != storage.s3_endpoint.rstrip("/"):
        result.notes.append(f"{what}: S3 endpoint {storage.s3_endpoint!r}; Bucket {known.name} says "
                            f"{known.endpoint_url!r}: it is not adopted")


def _settings(live: LiveProject, notes: list[str], where: str) -> dict[str, Any]:
    """The project's settings in the spec's keys, each one a spec accepts: ``None`` and an empty
    text (Label Studio keeps null and "" alike) are left out, so that key stays unmanaged. The
    model version is kept only when a prediction has it: Label Studio refuses any other."""
    found: dict[str, Any] = {}
    for key, value in live.project.settings:
        if value is None or value == "":
            continue
        if key == "predictions_model_version" and value not in live.model_versions:
            notes.append(f"{where}: settings.predictions_model_version {value!r}: no prediction of the project has "
                         "it, so Label Studio would refuse it; left out")
            continue
        try:
            ProjectSettings.model_validate({key: value})
        except ValidationError as exc:
            notes.append(f"{where}: settings.{key} {value!r}: {exc.errors()[0]['msg']}; left out")
            continue
        found[key] = value
    if found.get("show_predictions") is False:
        found.pop("predictions_model_version", None)  # the server clears it then; a spec may not say both
    return found


def header_variable(project: str, webhook: str, header: str) -> str:
    """The environment variable a Webhook document reads a header value from:
    ``LSTS_WEBHOOK_<PROJECT>_<WEBHOOK>_<HEADER>``, upper case, every other character ``_``."""
    return re.sub(r"[^A-Z0-9]", "_", f"LSTS_WEBHOOK_{project}_{webhook}_{header}".upper())


def _webhooks(project: str, live: LiveProject, result: Imported, where: str) -> list[dict[str, Any]]:
    """One Webhook document per webhook of the project (lowest id first), its header values as
    ``${VAR}`` placeholders; a webhook the spec cannot describe is left out with a note."""
    documents: list[dict[str, Any]] = []
    names: set[str] = set()
    for hook in sorted(live.webhooks, key=lambda w: w.id or 0):
        name = hook.name.partition("/")[2] if hook.owner else ""
        if not NAME_RE.match(name) or name in names:
            name = f"webhook-{hook.id}"
        names.add(name)
        what = f"{where}: webhook {name} (id {hook.id})"
        document: dict[str, Any] = {"kind": "Webhook", "name": name, "project": project, "url": hook.url}
        if not hook.all_actions:
            document["actions"] = list(hook.actions)
        document.update({"send_payload": False} if not hook.send_payload else {})
        document.update({"active": False} if not hook.active else {})
        variables = _unique([header_variable(project, name, h) for h in hook.headers], result.variables)
        if hook.headers:
            document["headers"] = {h: f"${{{v}}}" for h, v in zip(hook.headers, variables, strict=True)}
        try:
            WebhookSpec.model_validate(document)
        except ValidationError as exc:
            result.notes.extend(f"{what}: {'.'.join(map(str, e['loc']))}: {e['msg']}; not imported"
                                for e in exc.errors())
            continue
        result.variables.extend(variables)
        alike = sorted(w.id or 0 for w in live.webhooks if not w.owner and not hook.owner and same_webhook(w, hook)
                       and (w.id or 0) < (hook.id or 0))
        if alike:
            result.notes.append(f"{what}: it has no lsts-sync marker and is alike webhook id {alike[0]} in every "
                                "field lsts-sync reads, so adoption cannot tell them apart (ambiguous-webhook); "
                                "delete one in Label Studio")
        documents.append(document)
    return documents


def _unique(wanted: list[str], taken: list[str]) -> list[str]:
    """``wanted`` with ``_2``, ``_3``... added where a name is in ``taken`` or repeated."""
    found: list[str] = []
    for name in wanted:
        chosen, n = name, 1
        while chosen in taken or chosen in found:
            n += 1
            chosen = f"{name}_{n}"
        found.append(chosen)
    return found
