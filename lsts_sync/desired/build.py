"""Desired state: what the specs say should exist, in the canonical shapes of ``state``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from dataclasses import replace

from lsts_sync.desired.template import template_xml
from lsts_sync.resources.adoption import filter_text
from lsts_sync.resources.cors import cors_rule_id, desired_rule
from lsts_sync.resources.settings import canonical_settings
from lsts_sync.resources.state import (
    CorsState,
    DesiredState,
    PredictionSet,
    ProjectState,
    Role,
    StorageState,
    WebhookState,
)
from lsts_sync.resources.windows import WINDOW_SUFFIX, staging_folder
from lsts_sync.spec.loader import SpecSet
from lsts_sync.spec.models import ProjectSpec, SourceSpec, TargetSpec


def regex_filter(source: SourceSpec) -> str:
    """Label Studio ``re.match``es ``regex_filter`` against the whole key, prefix included.

    The spec's ``pattern`` is matched against the rest of the key after ``prefix`` and must match
    all of it, so we anchor it behind the escaped prefix (``resources.adoption.filter_text``).
    """
    return filter_text(source.prefix, source.pattern)


def _storage(specs: SpecSet, project: ProjectSpec, role: Role, spec: SourceSpec | TargetSpec) -> StorageState:
    bucket = specs.buckets[spec.bucket]
    common = StorageState(instance=project.instance, project=project.name, role=role, bucket=spec.bucket,
                          owner=specs.owner, region_name=bucket.region, s3_endpoint=bucket.endpoint_url or "",
                          credentials=spec.credentials, prefix=spec.prefix)
    if isinstance(spec, TargetSpec):
        # Label Studio builds keys as prefix + "/" + id: a trailing slash would give "//".
        return replace(common, prefix=spec.prefix.rstrip("/"), use_blob_urls=False, presign=False)
    if spec.staged:  # the import storage reads the windows apply writes, in the project's own folder
        folder = staging_folder(spec.staging_prefix, specs.owner, project.name)
        return replace(common, prefix=folder, regex_filter=f"{re.escape(folder)}(?:.*{re.escape(WINDOW_SUFFIX)})$",
                       use_blob_urls=True, presign=spec.presign, presign_ttl=spec.presign_ttl, recursive_scan=True,
                       sync=spec.sync)
    return replace(common, regex_filter=regex_filter(spec), use_blob_urls=True, presign=spec.presign,
                   presign_ttl=spec.presign_ttl, recursive_scan=spec.recursive, sync=spec.sync)


def desired_state(specs: SpecSet, selected: Set[str] | None = None,
                  predictions: Mapping[tuple[str, str, str], PredictionSet] | None = None) -> DesiredState:
    """Projects, storages, webhooks and managed CORS rules that ``specs`` declare, and the ``predictions``
    read from the Predictions specs' files (``labels.predictions.load_predictions``, which the orchestrator calls; reading them is I/O,
    so the caller does it).

    ``selected`` (the project filter) limits projects (and the buckets whose CORS they need) to those names.
    """
    projects: dict[tuple[str, str], ProjectState] = {}
    storages: dict[tuple[str, str, str], StorageState] = {}
    cors: dict[str, CorsState] = {}
    cors_origins: dict[str, list[str]] = {name: [] for name, b in specs.buckets.items() if b.cors.managed}
    for project in specs.projects.values():
        if project.source and project.source.presign and project.source.bucket in cors_origins:
            cors_origins[project.source.bucket].append(specs.instances[project.instance].browser_origin)
        if selected is not None and project.name not in selected:
            continue
        projects[(project.instance, project.name)] = ProjectState(
            instance=project.instance, name=project.name, title=project.display_title,
            description=project.description.strip(), label_config=template_xml(project), owner=specs.owner,
            renames=tuple(sorted(project.renames.items())),
            field_renames=tuple(sorted(project.field_renames.items())),
            choice_renames=tuple(sorted((field, old, new) for (field, old), new in project.choice_renames.items())),
            settings=canonical_settings(project.settings.managed()))
        for role in ("source", "target"):
            spec = getattr(project, role)
            if spec is not None:
                storage = _storage(specs, project, role, spec)
                storages[storage.key] = storage
    used = {p.source.bucket for p in specs.projects.values() if p.source and (selected is None or p.name in selected)}
    for bucket, found in cors_origins.items():
        if selected is None or bucket in used:
            rule_id = cors_rule_id(specs.owner)
            cors[bucket] = CorsState(bucket, desired_rule(found, rule_id), rule_id=rule_id)
    return DesiredState(projects, storages, cors, dict(predictions or {}), _webhooks(specs, selected))


def _webhooks(specs: SpecSet, selected: Set[str] | None) -> dict[tuple[str, str, str], WebhookState]:
    """The Webhook specs of the selected projects, header names only (their values stay in the specs)."""
    found = {}
    for spec in specs.webhooks.values():
        if selected is not None and spec.project not in selected:
            continue
        webhook = WebhookState(instance=specs.projects[spec.project].instance, project=spec.project, name=spec.name,
                               url=spec.url, all_actions=spec.actions is None, actions=tuple(sorted(spec.actions or ())),
                               send_payload=spec.send_payload, active=spec.active, headers=tuple(sorted(spec.headers)),
                               owner=specs.owner)
        found[webhook.key] = webhook
    return found
