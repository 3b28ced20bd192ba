"""Read the live state the specs refer to: Label Studio projects/storages and bucket CORS.

Request budget for a no-op plan: one project list per instance, two storage lists (import, export)
per managed project, one CORS read per managed bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .live_ls import LabelStudioInstance
from .live_s3 import S3Buckets
from .loader import SpecSet
from .state import State
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


def read_live(specs: SpecSet, desired: State, conn: Connections, targets: set[str] | None = None) -> State:
    """Live state of the instances that desired projects use and of the buckets desired CORS covers.

    ``targets`` keeps only managed projects of those names (so --prune with --target stays local).
    """
    live = State()
    used = sorted({instance for instance, _ in desired.projects} or set(specs.instances))
    for name in used:
        projects, unmanaged = conn.instances[name].read_projects()
        live.unmanaged.update({(name, title): pid for title, pid in unmanaged.items()})
        for project in projects:
            if targets is not None and project.name not in targets:
                continue
            live.projects[project.key] = project
            for storage in conn.instances[name].read_storages(project):
                live.storages[storage.key] = storage
    for bucket in sorted(desired.cors):
        live.cors[bucket] = conn.s3.read_cors(bucket)
    return live
