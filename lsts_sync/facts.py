"""The gathered live facts a plan is built from: one frozen value, read in one phase (``gather``).

``build_plan(desired, facts)`` decides from this value alone, so the plan is pure and the same
facts always give the same plan; a saved plan records ``fingerprint(facts)`` so that apply can
tell whether the live side moved since.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .datachecks import DataSample
from .sources import SourceFacts
from .state import LivePrediction, State


@dataclass(frozen=True)
class LiveFacts:
    """Everything live that a plan depends on.

    ``state``: managed projects, storages and CORS rules (with label usage where a change could
    orphan work); ``sources``: every desired source storage's objects, by storage key;
    ``samples``: the data checks that were due; ``temporary_credentials``: the environment's AWS
    credentials carry a session token (they expire); ``tasks``: ``(source key, task id)`` of every
    task of each live project that a Predictions spec names, by project key; ``predictions``: the
    live predictions of those projects, of the declared model versions only (other versions are
    neither compared nor fingerprinted).
    """

    state: State = field(default_factory=State)
    sources: Mapping[tuple[str, str, str], SourceFacts] = field(default_factory=dict)
    samples: tuple[DataSample, ...] = ()
    temporary_credentials: bool = False
    tasks: Mapping[tuple[str, str], tuple[tuple[str, int], ...]] = field(default_factory=dict)
    predictions: Mapping[tuple[str, str], tuple[LivePrediction, ...]] = field(default_factory=dict)
