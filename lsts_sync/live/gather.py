"""Gather, then decide: every live fact a plan needs, read in one phase into one ``LiveFacts``.

Order of reads: the owner's projects and storages and the buckets' CORS (``read_live``), label usage
where a change could orphan work (``read_usage``), the storages and webhooks made by hand of each
project being adopted (``read_unmarked``), each desired source's objects and its project's
tasks (``read_sources``), the data samples that are due (``sample_reasons``/``sample_source``),
whether the environment's AWS credentials are temporary, and the predictions of each live project
(own or being adopted) that a Predictions spec names (one list per project; its tasks were read
once, for its source).
Nothing is read after ``build_plan``.

Reads that do not depend on each other (per project, per source, per sample, per bucket) run
``conn.parallelism`` at a time; their results are combined in a fixed order, so the facts, and the
plan built from them, are the same for any parallelism.
"""

from __future__ import annotations

from dataclasses import replace

from lsts_sync.core.errors import LstsError
from lsts_sync.data.datachecks import sample_reasons, sample_source
from lsts_sync.data.sources import read_sources
from lsts_sync.data.staging import window_facts
from lsts_sync.live.connections import Connections, adopting, read_live, read_unmarked, read_usage
from lsts_sync.plan.options import GatherOptions
from lsts_sync.plan.windows import at_risk
from lsts_sync.resources.facts import ChangedTask, LiveFacts
from lsts_sync.resources.state import DesiredState, LiveState, ProjectState
from lsts_sync.spec.loader import SpecSet


def gather(specs: SpecSet, desired: DesiredState, conn: Connections, options: GatherOptions) -> LiveFacts:
    """Read the live facts for ``desired`` (``specs`` with channels resolved). Raises LstsError."""
    live = read_live(specs, desired, conn, options.projects, prune=options.prune)
    live = read_usage(desired, live, conn, prune=options.prune, adopt=options.adopt)
    live = read_unmarked(desired, live, conn, options.adopt)
    read: dict[tuple[str, int | None], list] = {}

    def tasks_of(project: ProjectState) -> list:
        """A project's tasks, read once: the sources and the predictions both need them."""
        key = (project.instance, project.id)
        if key not in read:
            read[key] = conn.instances[project.instance].read_tasks(project)
        return read[key]

    sources = read_sources(desired, live, conn.s3, tasks_of, adopt=options.adopt, map_fn=conn.map)
    sources = _changed_tasks(live, conn, sources, options.reimport_changed, tasks_of)
    windows, annotated = _windows(specs, desired, live, conn, options)
    samples: tuple = ()
    if not options.skip_data_checks:
        reasons = sample_reasons(desired, live, sources, sync_all=options.sync_all, adopt=options.adopt)
        due = [(name, reason, key) for name, reason in sorted(reasons.items())
               if (key := (specs.projects[name].instance, name, "source")) in sources
               and key[:2] not in windows]  # window files are what the UI reads by construction
        samples = tuple(conn.map(lambda d: sample_source(specs.projects[d[0]], sources[d[2]], conn.s3, d[1]), due))
    sends = any(s.credentials == "environment" for s in desired.storages.values())
    tasks, predictions = _predictions(desired, live, conn, tasks_of, options.adopt)
    return LiveFacts(live, sources, samples, sends and _temporary(conn), tasks, predictions, windows, annotated)


def _windows(specs: SpecSet, desired: DesiredState, live: LiveState, conn: Connections,
             options: GatherOptions) -> tuple[dict, dict]:
    """The windows of every desired staged source (objects cut ``conn.parallelism`` at a time),
    and the annotated files of each live project where this plan could rewrite or delete a window
    (``plan.windows.at_risk``; a project not live yet has no tasks, so nothing is at risk)."""
    windows, annotated = {}, {}
    for key in sorted(desired.projects):
        project = specs.projects[key[1]]
        if project.source is not None and project.source.staged:
            windows[key] = window_facts(project, specs.owner, conn.s3, conn.map)
            have = live.projects.get(key) or live.foreign.get(key)
            if have is not None and at_risk(windows[key], options.prune):
                annotated[key] = conn.instances[project.instance].annotated_files(have)
    return windows, annotated


def _predictions(desired: DesiredState, live: LiveState, conn: Connections, tasks_of,
                 adopt: frozenset[str]) -> tuple[dict, dict]:
    """Tasks and live predictions (of the declared model versions) of each project that a
    Predictions spec names and that is this owner's, or becomes so in this plan (a project being
    adopted, ``adopt``: its predictions are compared and written in the same apply): one
    prediction list per project, ``conn.parallelism`` at a time. A project that does not exist
    yet, or is another owner's, has nothing to read: predictions wait for its tasks."""
    versions: dict[tuple[str, str], set[str]] = {}
    for instance, project_name, version in desired.predictions:
        versions.setdefault((instance, project_name), set()).add(version)
    projects = {**{want.key: replace(have, name=want.name) for want, have in adopting(desired, live, adopt)},
                **live.projects}
    due = [(key, wanted, projects[key]) for key, wanted in sorted(versions.items()) if key in projects]
    lists = conn.map(lambda d: conn.instances[d[2].instance].read_predictions(d[2]), due)
    tasks, predictions = {}, {}
    for (key, wanted, project), found in zip(due, lists, strict=True):
        tasks[key] = tuple(sorted((t.key, t.id) for t in tasks_of(project) if t.key and t.id is not None))
        predictions[key] = tuple(sorted((p for p in found if p.model_version in wanted), key=lambda p: p.id))
    return tasks, predictions


def _changed_tasks(live: LiveState, conn: Connections, sources: dict, names: frozenset[str], tasks_of) -> dict:
    """``sources`` with the tasks of each changed object of the projects in ``names``
    (``--reimport-changed``) and whether each holds work: one export of the project, read only
    where a source of an own live project has changed objects."""
    found = dict(sources)
    for key, facts in sorted(sources.items()):
        project = live.projects.get(key[:2])
        if key[1] not in names or not facts.changed or project is None or project.id is None:
            continue
        worked = conn.instances[project.instance].read_worked_tasks(project.id, project.name)
        changed = set(facts.changed)
        tasks = [ChangedTask(t.key, t.id, t.id in worked) for t in tasks_of(project) if t.key in changed and t.id is not None]
        found[key] = replace(facts, changed_tasks=tuple(sorted(tasks, key=lambda t: (t.key, t.task))))
    return found


def _temporary(conn: Connections) -> bool:
    """True when the environment's AWS credentials carry a session token (none found: False)."""
    try:
        return bool(conn.s3.credentials()[2])
    except LstsError:
        return False
