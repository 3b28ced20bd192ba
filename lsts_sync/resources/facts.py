"""The gathered live facts a plan is built from: one frozen value, read in one phase (``gather``).

``build_plan(desired, facts)`` decides from this value alone, so the plan is pure and the same
facts always give the same plan; a saved plan records ``fingerprint(facts)`` so that apply can
tell whether the live side moved since.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lsts_sync.resources.state import LivePrediction, LiveState
from lsts_sync.resources.windows import WindowFacts


@dataclass(frozen=True)
class ChangedTask:
    """A task whose source object changed after its import, and whether someone worked on it
    (an annotation, cancelled ones too, a draft or a prediction): such a task is never re-imported."""

    key: str
    task: int
    worked: bool


@dataclass(frozen=True)
class SourceFacts:
    """One source storage's objects. ``pending`` are matching keys that are no task yet (all of
    them for a storage that does not exist yet); ``changed`` were modified after their task was made.
    ``changed_tasks``: the tasks of ``changed``, read only for a project named by ``--reimport-changed``."""

    keys: tuple[str, ...]
    pending: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    already: tuple[str, ...] = ()  # for a storage to be created on an existing project: keys already tasks
    changed_tasks: tuple[ChangedTask, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One problem in one object; ``row`` is the 1-based line in the file (0: the object itself)."""

    url: str
    row: int
    message: str
    error: bool = True

    def __str__(self) -> str:
        return f"{self.url}:{self.row}: {self.message}" if self.row else f"{self.url}: {self.message}"


@dataclass(frozen=True)
class DataSample:
    """The data checks of one source, read at gather time because ``reason`` says they are due.

    ``findings`` come from the first rows of ``sampled`` of the source's ``total`` objects;
    ``empty`` says why no object matches (a blocking problem: Label Studio refuses the storage).
    """

    project: str
    reason: str
    findings: tuple[Finding, ...] = ()
    sampled: int = 0
    total: int = 0
    empty: str | None = None


@dataclass(frozen=True)
class TaskFile:
    """A task's source object (``None`` for tasks not imported from storage), creation time and id."""

    key: str | None
    created: float
    id: int | None = None


@dataclass(frozen=True)
class LiveFacts:
    """Everything live that a plan depends on.

    ``state``: managed projects, storages and CORS rules (with label usage where a change could
    orphan work); ``sources``: every desired source storage's objects, by storage key;
    ``samples``: the data checks that were due; ``temporary_credentials``: the environment's AWS
    credentials carry a session token (they expire); ``tasks``: ``(source key, task id)`` of every
    task of each live project that a Predictions spec names, by project key; ``predictions``: the
    live predictions of those projects, of the declared model versions only (other versions are
    neither compared nor fingerprinted); ``windows`` and ``annotated``: see ``resources.windows``.
    """

    state: LiveState = field(default_factory=LiveState)
    sources: Mapping[tuple[str, str, str], SourceFacts] = field(default_factory=dict)
    samples: tuple[DataSample, ...] = ()
    temporary_credentials: bool = False
    tasks: Mapping[tuple[str, str], tuple[tuple[str, int], ...]] = field(default_factory=dict)
    predictions: Mapping[tuple[str, str], tuple[LivePrediction, ...]] = field(default_factory=dict)
    # staged sources: their windows, by project key; and the source keys of their tasks that carry
    # work, read only for projects where this plan could rewrite or delete a window file
    windows: Mapping[tuple[str, str], WindowFacts] = field(default_factory=dict)
    annotated: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
