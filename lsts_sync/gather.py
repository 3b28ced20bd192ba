"""Gather, then decide: every live fact a plan needs, read in one phase into one ``LiveFacts``.

Order of reads: the owner's projects and storages and the buckets' CORS (``read_live``), label usage
where a change could orphan work (``read_usage``), each desired source's objects and its project's
tasks (``read_sources``), the data samples that are due (``sample_reasons``/``sample_source``) and
whether the environment's AWS credentials are temporary. Nothing is read after ``build_plan``.

Reads that do not depend on each other (per project, per source, per sample, per bucket) run
``conn.parallelism`` at a time; their results are combined in a fixed order, so the facts, and the
plan built from them, are the same for any parallelism.
"""

from __future__ import annotations

from dataclasses import dataclass

from .datachecks import sample_reasons, sample_source
from .facts import LiveFacts
from .live import Connections, read_live, read_usage
from .loader import SpecSet
from .errors import LstsError
from .sources import read_sources
from .state import State


@dataclass(frozen=True)
class GatherOptions:
    """What decides which facts are read: the plan options that widen or narrow the reads."""

    targets: frozenset[str] | None = None
    prune: bool = False
    sync_all: bool = False
    adopt: frozenset[str] = frozenset()
    skip_data_checks: bool = False


def gather(specs: SpecSet, desired: State, conn: Connections, options: GatherOptions) -> LiveFacts:
    """Read the live facts for ``desired`` (``specs`` with channels resolved). Raises LstsError."""
    targets = set(options.targets) if options.targets is not None else None
    live = read_live(specs, desired, conn, targets, prune=options.prune)
    live = read_usage(desired, live, conn, prune=options.prune, adopt=options.adopt)
    sources = read_sources(desired, live, conn.s3, lambda p: conn.instances[p.instance].read_tasks(p),
                           adopt=options.adopt, map_fn=conn.map)
    samples: tuple = ()
    if not options.skip_data_checks:
        reasons = sample_reasons(desired, live, sources, sync_all=options.sync_all, adopt=options.adopt)
        due = [(name, reason, key) for name, reason in sorted(reasons.items())
               if (key := (specs.projects[name].instance, name, "source")) in sources]
        samples = tuple(conn.map(lambda d: sample_source(specs.projects[d[0]], sources[d[2]], conn.s3, d[1]), due))
    sends = any(s.credentials == "environment" for s in desired.storages.values())
    return LiveFacts(live, sources, samples, sends and _temporary(conn))


def _temporary(conn: Connections) -> bool:
    """True when the environment's AWS credentials carry a session token (none found: False)."""
    try:
        return bool(conn.s3.credentials()[2])
    except LstsError:
        return False
