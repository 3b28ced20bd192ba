"""Read the live state the specs refer to: Label Studio projects/storages and bucket CORS.

Request budget for a no-op plan: one project list per instance, two storage lists (import, export)
per managed project, one CORS read per managed bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .live_ls import LabelStudioInstance
from .live_s3 import S3Buckets
from .loader import SpecSet
from .state import ProjectState, State
from .stats import RequestStats


@dataclass
class Connections:
    """Clients for every instance and bucket in the specs, sharing one request counter."""

    instances: dict[str, LabelStudioInstance]
    s3: S3Buckets
    stats: RequestStats = field(default_factory=RequestStats)

    @classmethod
    def open(cls, specs: SpecSet) -> "Connections":
        stats = RequestStats()
        instances = {name: LabelStudioInstance(spec, stats) for name, spec in specs.instances.items()}
        return cls(instances, S3Buckets(specs.buckets, stats), stats)


def read_live(specs: SpecSet, desired: State, conn: Connections, targets: set[str] | None = None,
              prune: bool = False) -> State:
    """Live state of the instances that desired projects use and of the buckets desired CORS covers.

    ``targets`` keeps only managed projects of those names (so --prune with --target stays local).
    Storages are read for declared projects only, or for every managed project with ``prune``.
    """
    live = State()
    used = sorted({instance for instance, _ in desired.projects} or set(specs.instances))
    for name in used:
        projects, unmanaged = conn.instances[name].read_projects()
        live.unmanaged.update({(name, title): p for title, p in unmanaged.items()})
        for project in projects:
            if targets is not None and project.name not in targets:
                continue
            live.projects[project.key] = project
            if not prune and project.key not in desired.projects:
                continue
            for storage in conn.instances[name].read_storages(project):
                live.storages[storage.key] = storage
    for bucket in sorted(desired.cors):
        live.cors[bucket] = conn.s3.read_cors(bucket)
    return live


def read_usage(desired: State, live: State, conn: Connections, *, prune: bool, adopt: set[str]) -> State:
    """Add annotation usage to the live projects whose template would change or that would be deleted.

    Only those cost the extra summary (and /validate/) requests, so a no-op plan stays cheap.
    """
    def template_changes(have: ProjectState, want: ProjectState) -> bool:
        return have.compared()["label_config"] != want.compared()["label_config"]

    for key, have in list(live.projects.items()):
        want = desired.projects.get(key)
        if (want and template_changes(have, want)) or (want is None and prune):
            usage = conn.instances[have.instance].read_usage(have, want.label_config if want else None)
            live.projects[key] = replace(have, usage=usage)
    for (instance, title), have in list(live.unmanaged.items()):
        want = next((p for p in desired.projects.values() if p.instance == instance and p.title == title
                     and p.name in adopt and p.key not in live.projects), None)
        if want and template_changes(have, want):
            usage = conn.instances[instance].read_usage(have, want.label_config)
            live.unmanaged[(instance, title)] = replace(have, usage=usage)
    return live
