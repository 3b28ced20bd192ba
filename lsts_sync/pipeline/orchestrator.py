"""The one orchestrator of plan and apply: specs -> desired state -> live facts -> ``build_plan`` ->
(the caller renders) -> apply exactly that Plan, under the apply lock.

Commands parse their options into ``PlanOptions`` and call ``Pipeline.plan`` or ``Pipeline.apply``
(``Pipeline.import_projects`` reads existing projects into spec documents and writes nothing);
everything in between happens here, in one order, for a fresh plan and a saved one alike:

1. every bucket the selected projects and their predictions files use must exist (all missing
   ones are reported at once, at their Bucket specs, before anything else is read);
2. ``channels: auto`` is resolved from the data, predictions files are read, desired state is built;
3. the live facts are gathered in one phase (``gather``); nothing is read after ``build_plan``;
4. apply (only ``Pipeline.apply``): the plan is shown, blocking checks refuse it, the user confirms,
   the lock is renewed, and ``apply_plan`` runs exactly the steps of the Plan.

Nothing here writes to the terminal: what a person must see or answer goes through ``ApplyUI``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lsts_sync.apply.executor import BACKUP_DIR, ApplyResult, apply_plan
from lsts_sync.core.errors import LstsError, ProblemsFound
from lsts_sync.core.problems import Problem
from lsts_sync.desired.build import desired_state
from lsts_sync.desired.imported import Imported, LiveProject, import_documents
from lsts_sync.labels.predictions import load_predictions
from lsts_sync.live.connections import Connections
from lsts_sync.live.gather import gather
from lsts_sync.live.lock import S3Lock, holding, instance_locks
from lsts_sync.plan.build import Plan, build_plan
from lsts_sync.plan.options import GatherOptions, Overrides
from lsts_sync.plan.saved import SavedPlan, digest, fingerprint, read
from lsts_sync.resources.facts import LiveFacts
from lsts_sync.resources.protocols import LabelStudioOps
from lsts_sync.resources.state import DesiredState, ProjectState
from lsts_sync.spec.loader import SpecSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanOptions:
    """What a plan reads (``gathering``, with the project filter) and what it allows (``overrides``)."""

    gathering: GatherOptions = field(default_factory=GatherOptions)
    overrides: Overrides = field(default_factory=Overrides)


@dataclass(frozen=True)
class Prepared:
    """A plan and what it was made from: the live facts, the desired state, and the SavedPlan that
    ``plan --out`` writes."""

    plan: Plan
    facts: LiveFacts
    desired: DesiredState
    saved: SavedPlan


@dataclass(frozen=True)
class ApplyOutcome:
    """What an apply did: ``result`` is None when the plan had nothing to do; ``urls`` are
    ``(project name, labeling URL)`` of every declared project that exists after it."""

    prepared: Prepared
    result: ApplyResult | None
    urls: tuple[tuple[str, str], ...]


class ApplyUI(Protocol):
    """What apply shows and asks a person (the CLI implements it with the terminal)."""

    def show(self, plan: Plan) -> None: ...
    def confirm(self, plan: Plan) -> None: ...  # raises LstsError unless approved
    def progress(self, line: str) -> None: ...
    def warn(self, line: str) -> None: ...


def select_projects(specs: SpecSet, names: tuple[str, ...] | frozenset[str]) -> frozenset[str] | None:
    """The ``--project`` filter: None (every project) when empty; an unknown name is an error."""
    if not names:
        return None
    unknown = sorted(set(names) - set(specs.projects))
    if unknown:
        raise LstsError(f"--project names no Project spec: {', '.join(unknown)}")
    return frozenset(names)


class Pipeline:
    """Plan and apply for one loaded spec set over one set of connections."""

    def __init__(self, specs: SpecSet, conn: Connections,
                 locks: Callable[[], Mapping[str, S3Lock | None]] | None = None) -> None:
        """``locks`` gives the apply lock of each instance (default: ``instance_locks`` on ``conn.s3``)."""
        self.specs = specs
        self.conn = conn
        self._locks = locks or (lambda: instance_locks(specs, conn.s3))

    def plan(self, options: PlanOptions) -> Prepared:
        """A fresh plan. Raises ``ProblemsFound`` for missing buckets, LstsError for other failures."""
        gathering = options.gathering
        desired, specs = self._desired(gathering.projects)
        facts = gather(specs, desired, self.conn, gathering)
        plan = build_plan(desired, facts, sync_all=gathering.sync_all, prune=gathering.prune,
                          overrides=options.overrides)
        log.debug("plan built from %d desired and %d live projects", len(desired.projects), len(facts.state.projects))
        saved = SavedPlan(plan, digest(desired), fingerprint(facts, desired), gathering, options.overrides)
        return Prepared(plan, facts, desired, saved)

    def replay(self, path: str) -> Prepared:
        """The plan saved at ``path``, if the specs and the live facts it was made from are unchanged;
        else LstsError (nothing is changed). The saved plan's own options are used."""
        saved = read(path)
        desired, specs = self._desired(saved.options.projects)
        if digest(desired) != saved.desired_digest:
            raise LstsError(f"{path}: the specs (or the headers that channels: auto reads, or the predictions "
                            "files) differ from those the plan was made from; run plan again; nothing was changed")
        facts = gather(specs, desired, self.conn, saved.options)
        if fingerprint(facts, desired) != saved.fingerprint:
            now = build_plan(desired, facts, sync_all=saved.options.sync_all, prune=saved.options.prune,
                             overrides=saved.overrides)
            why = "it has already been applied (the live state matches it now)" if now.empty else \
                "the live state has changed since it was made"
            raise LstsError(f"{path}: saved plan refused: {why}; run plan again; nothing was changed")
        return Prepared(saved.plan, facts, desired, saved)

    def apply(self, make: Callable[[], Prepared], ui: ApplyUI, *, lock_timeout: float = 0.0,
              backup_dir: Path = BACKUP_DIR) -> ApplyOutcome:
        """Take the apply lock, then make the plan under it (``make``: ``self.plan(...)`` or
        ``self.replay(...)``), show it, refuse it while a safety check blocks, confirm, and apply it
        (rewrites back up what they change under ``backup_dir``).
        Raises ``ApplyFailed`` (what was done and what was not) on a failure part-way."""
        with holding(self.specs, self._locks(), lock_timeout, ui.warn) as locks:
            prepared = make()
            plan = prepared.plan
            ui.show(plan)
            if plan.blockers:
                raise LstsError(f"apply refused: {len(plan.blockers)} safety check(s) block this plan "
                                f"({', '.join(c.override or c.name for c in plan.blockers)}); nothing was changed")
            if plan.empty:
                return ApplyOutcome(prepared, None, self.urls(prepared, {}))
            ui.confirm(plan)
            locks.keepalive(force=True)  # the prompt may have waited long: still ours before the first write?
            result = apply_plan(plan, self.conn, progress=ui.progress, before_step=locks.keepalive,
                                backup_dir=backup_dir)
        return ApplyOutcome(prepared, result, self.urls(prepared, result.project_ids))

    def import_projects(self, project_ids: tuple[int, ...], instance: str | None = None) -> Imported:
        """Spec documents for existing projects of ``instance`` (default: the specs' only Instance)
        by id, read in one phase (the project list, then each project's storage and webhook lists,
        marked or not, and its predictions when it shows a model version) and mapped by the pure ``desired.imported``. Nothing is written. An unknown instance
        or id is an LstsError."""
        name = self._instance(instance)
        ls = self.conn.instances[name]
        found = {p.id: p for _, p in ls.read_projects()}
        missing = [str(i) for i in project_ids if i not in found]
        if missing:
            raise LstsError(f"instance {name} has no project with id {', '.join(missing)}")
        projects = [found[i] for i in dict.fromkeys(project_ids)]
        storages = self.conn.map(ls.read_all_storages, projects)
        webhooks = self.conn.map(ls.read_all_webhooks, projects)
        versions = self.conn.map(lambda p: _model_versions(ls, p), projects)
        live = [LiveProject(p, tuple(s), tuple(w), v)
                for p, s, w, v in zip(projects, storages, webhooks, versions, strict=True)]
        return import_documents(name, live, self.specs.buckets, taken=self.specs.projects)

    def _instance(self, instance: str | None) -> str:
        """The Instance spec a command names, or the only one."""
        known = sorted(self.specs.instances)
        if instance is None and len(known) == 1:
            return known[0]
        if instance not in self.specs.instances:
            raise LstsError(f"--instance must name one of the Instance specs ({', '.join(known) or 'none'})")
        return instance

    def urls(self, prepared: Prepared, created: Mapping[tuple[str, str], int]) -> tuple[tuple[str, str], ...]:
        """Where each declared project can be opened: the plan's live ids and the ids apply created."""
        found = []
        for (instance, name), pid in sorted({**prepared.plan.project_ids, **created}.items()):
            if (instance, name) in prepared.desired.projects:
                base = self.specs.instances[instance].public_url or self.specs.instances[instance].url
                found.append((name, f"{base}/projects/{pid}/"))
        return tuple(found)

    def _desired(self, selected: frozenset[str] | None) -> tuple[DesiredState, SpecSet]:
        """Desired state of the selected projects (None: all), and the specs with ``channels: auto``
        resolved."""
        from lsts_sync.data.sources import resolve_channels

        self._check_buckets(selected)
        names = set(selected) if selected is not None else None
        specs = resolve_channels(self.specs, self.conn.s3, names)
        return desired_state(specs, selected, load_predictions(specs, self.conn.s3, selected)), specs

    def _check_buckets(self, selected: frozenset[str] | None) -> None:
        """Every bucket the selected projects and their predictions files use must exist: each missing
        one is a problem at its Bucket spec, all reported at once, and nothing else is read."""
        specs = self.specs
        used = sorted({s.bucket for p in specs.projects.values() if selected is None or p.name in selected
                       for s in (p.source, p.target) if s is not None}
                      | {p.file_bucket for p in specs.predictions.values()
                         if p.file_bucket and (selected is None or p.project in selected)})
        problems = []
        for bucket, why in zip(used, self.conn.map(self.conn.s3.missing, used), strict=True):
            if why:
                location = specs.locations[("Bucket", bucket)]
                problems.append(Problem(location.file, location.line_of(("name",)), why, "Bucket", bucket, ("name",)))
        if problems:
            raise ProblemsFound(problems, f"{len(problems)} bucket(s) do not exist; nothing was changed")


def _model_versions(ls: LabelStudioOps, project: ProjectState) -> frozenset[str]:
    """The model versions the project's predictions have, read only when the project shows one
    (Label Studio refuses a ``model_version`` that no prediction has, so import prints it only then)."""
    if not dict(project.settings).get("predictions_model_version"):
        return frozenset()
    return frozenset(p.model_version for p in ls.read_predictions(project))
