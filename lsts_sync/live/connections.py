"""Read the live state the specs refer to: Label Studio projects/storages and bucket CORS.

Ownership: a live resource is the spec set's own when its marker carries the spec set's owner.
Only own resources enter ``LiveState.projects``/``storages`` (so prune and the change-share check never
see anyone else's); other owners' projects are counted, and kept aside only where a desired name
clashes with one. Several own resources with one marker are duplicates: the lowest id is kept as
the live one and every id is recorded for the plan to block on.

Request budget for a no-op plan: one project list per instance (a page per 100 projects: Label
Studio's maximum page size),
two storage lists (import, export) and one webhook list per declared project, one CORS read per
managed bucket. The
per-project reads and the CORS reads run ``Connections.parallelism`` at a time (``bounded_map``);
their results are used in a fixed order, so the state read does not depend on the parallelism.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field, replace
from typing import TypeVar

from lsts_sync.core.parallel import bounded_map
from lsts_sync.core.secrets import register
from lsts_sync.core.stats import RequestStats
from lsts_sync.plan.checks import needs_usage
from lsts_sync.resources.protocols import LabelStudioOps, S3Ops
from lsts_sync.resources.state import (
    CorsState,
    DesiredState,
    LiveState,
    ProjectState,
    StorageState,
    Usage,
    WebhookState,
)
from lsts_sync.spec.loader import SpecSet

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Connections:
    """Clients for every instance and bucket in the specs, sharing one request counter.

    ``parallelism``: how many independent reads may run at once (``--parallelism``); 1 reads one
    after the other. Writes never use it. ``webhook_headers``: the header values of each Webhook
    spec by webhook key, from the specs (secrets: apply writes them, nothing else reads them).
    """

    instances: dict[str, LabelStudioOps]
    s3: S3Ops
    stats: RequestStats = field(default_factory=RequestStats)
    parallelism: int = 1
    webhook_headers: Mapping[tuple[str, str, str], Mapping[str, str]] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, specs: SpecSet, parallelism: int = 1) -> Connections:
        """The real clients (imported here: boto3 and httpx load only when a server is reached).
        Opening makes no request."""
        from lsts_sync.live.label_studio import LabelStudioInstance
        from lsts_sync.live.s3 import S3Buckets

        stats = RequestStats()
        instances: dict[str, LabelStudioOps] = {name: LabelStudioInstance(spec, stats)
                                                for name, spec in specs.instances.items()}
        return cls(instances, S3Buckets(specs.buckets, stats), stats, parallelism, webhook_headers(specs))

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``fn`` over ``items``, ``parallelism`` at a time, results in the order of ``items``."""
        return bounded_map(fn, items, self.parallelism)


def webhook_headers(specs: SpecSet) -> dict[tuple[str, str, str], dict[str, str]]:
    """Each Webhook spec's header values by webhook key; every value is registered as a secret
    first, so that no message, log line or traceback can show it."""
    found = {}
    for spec in specs.webhooks.values():
        values = {name: value.get_secret_value() for name, value in spec.headers.items()}
        register(*values.values())
        found[(specs.projects[spec.project].instance, spec.project, spec.name)] = values
    return found


def _keep_lowest(found: list, key, live: dict, duplicates: dict[str, tuple[int, ...]], label) -> None:
    """Put the lowest-id resource of each key into ``live``; record keys held by several."""
    groups: dict = defaultdict(list)
    for item in found:
        groups[key(item)].append(item)
    for k, items in groups.items():
        items.sort(key=lambda item: item.id)
        live[k] = items[0]
        if len(items) > 1:
            duplicates[label(items[0])] = tuple(item.id for item in items)


def read_live(specs: SpecSet, desired: DesiredState, conn: Connections, selected: Set[str] | None = None,
              prune: bool = False) -> LiveState:
    """Live state of the instances that desired projects use and of the buckets desired CORS covers.

    ``selected`` (the project filter) keeps only managed projects of those names (so --prune with --project stays local).
    Storages are read for declared projects only, or for every own managed project with ``prune``,
    and for another owner's project whose name is declared (to take it over).
    """
    projects: dict[tuple[str, str], ProjectState] = {}
    storages: dict[tuple[str, str, str], StorageState] = {}
    unmanaged: dict[tuple[str, str], ProjectState] = {}
    foreign: dict[tuple[str, str], ProjectState] = {}
    foreign_storages: dict[tuple[str, str, str], StorageState] = {}
    other_owners: dict[str, int] = {}
    duplicates: dict[str, tuple[int, ...]] = {}
    webhooks: dict[tuple[str, str, str], WebhookState] = {}
    owner = specs.owner
    used = sorted({instance for instance, _ in desired.projects} or set(specs.instances))
    for name in used:
        own: list[ProjectState] = []
        others: defaultdict[str, list[ProjectState]] = defaultdict(list)
        for marker, project in conn.instances[name].read_projects():
            if marker is None:
                unmanaged.setdefault((name, project.title), project)
            elif selected is None or project.name in selected:
                (own if marker.owner == owner else others[marker.owner]).append(project)
        _keep_lowest(own, lambda p: p.key, projects, duplicates, lambda p: p.address)
        for other, theirs in sorted(others.items()):
            other_owners[other] = len(theirs)
            for project in sorted(theirs, key=lambda p: p.id or 0, reverse=True):  # live projects have ids
                if project.key in desired.projects and project.key not in projects:
                    foreign[project.key] = project
        read = [p for p in [*projects.values(), *foreign.values()]
                if p.instance == name and (prune or p.key in desired.projects)]
        for project, attached in zip(read, conn.map(conn.instances[name].read_storages, read), strict=True):
            mine = [s for s in attached if s.owner == project.owner]
            into = storages if project.owner == owner else foreign_storages
            _keep_lowest(mine, lambda s: s.key, into, duplicates, lambda s: s.address)
        own_read = [p for p in read if p.owner == owner]
        for hooks in conn.map(conn.instances[name].read_webhooks, own_read):
            _keep_lowest([w for w in hooks if w.owner == owner], lambda w: w.key, webhooks, duplicates,
                         lambda w: w.address)
    buckets = sorted(desired.cors.items())
    found_cors: dict[str, CorsState] = {}
    for (bucket, _), cors in zip(buckets, conn.map(lambda item: conn.s3.read_cors(item[0], item[1].rule_id), buckets),
                                 strict=True):
        found_cors[bucket] = cors
    return LiveState(projects, storages, found_cors, unmanaged, foreign, foreign_storages, other_owners, duplicates,
                     webhooks=webhooks)


def read_usage(desired: DesiredState, live: LiveState, conn: Connections, *, prune: bool,
               adopt: Set[str]) -> LiveState:
    """Add annotation usage to the live projects whose template change drops a label or control or
    changes the time format, whose spec renames labels, fields or choices (``plan.checks.needs_usage``), and to those
    prune would delete. Only these cost an export request, so a no-op plan stays cheap.

    An unmanaged project that would be adopted, and another owner's project that would be taken
    over, are read in the same way: the template in use there may be anything.
    """
    kept = {"projects": dict(live.projects), "foreign": dict(live.foreign), "unmanaged": dict(live.unmanaged)}
    due: list[tuple[str, tuple[str, str]]] = []  # (which of ``kept`` holds it, its key there)
    for key, have in live.projects.items():
        want = desired.projects.get(key)
        if (want is not None or prune) and needs_usage(have, want):
            due.append(("projects", key))
    for key, have in live.foreign.items():
        if needs_usage(have, desired.projects[key]):
            due.append(("foreign", key))
    for want, have in adopting(desired, live, adopt):
        if needs_usage(have, want):
            due.append(("unmanaged", (want.instance, want.title)))

    def usage_of(item: tuple[str, tuple[str, str]]) -> Usage:
        project = kept[item[0]][item[1]]
        return conn.instances[project.instance].read_usage(project)

    for (where, key), usage in zip(due, conn.map(usage_of, due), strict=True):
        kept[where][key] = replace(kept[where][key], usage=usage)
    return replace(live, projects=kept["projects"], foreign=kept["foreign"], unmanaged=kept["unmanaged"])


def adopting(desired: DesiredState, live: LiveState, adopt: Set[str]) -> list[tuple[ProjectState, ProjectState]]:
    """``(desired project, unmanaged live project)`` for every project ``--adopt`` would take over:
    named in ``adopt``, not yet this owner's, and an unmanaged project has its title."""
    found = []
    for want in desired.projects.values():
        have = live.unmanaged.get((want.instance, want.title))
        if have is not None and want.name in adopt and want.key not in live.projects:
            found.append((want, have))
    return found


def read_unmarked(desired: DesiredState, live: LiveState, conn: Connections, adopt: Set[str]) -> LiveState:
    """Add the storages and webhooks without any marker of each project being adopted (one pair of
    storage lists and one webhook list per such project, ``conn.parallelism`` at a time), so that
    adoption takes over the matching ones instead of creating a second one beside them. Webhook
    header values are dropped by the mapping, unread."""
    pairs = adopting(desired, live, adopt)

    def read(pair: tuple[ProjectState, ProjectState]) -> tuple[list[StorageState], list[WebhookState]]:
        want, have = pair
        ls, named = conn.instances[have.instance], replace(have, name=want.name)
        return ls.read_all_storages(named), ls.read_all_webhooks(named)

    lists = conn.map(read, pairs)
    storages = {want.key: tuple(s for s in found[0] if not s.owner) for (want, _), found in zip(pairs, lists, strict=True)}
    webhooks = {want.key: tuple(w for w in found[1] if not w.owner) for (want, _), found in zip(pairs, lists, strict=True)}
    return replace(live, unmarked_storages=storages, unmarked_webhooks=webhooks)
