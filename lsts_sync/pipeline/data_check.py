"""``lsts-sync check``: every row of every object the selected projects' sources would import,
read as the labeling UI reads it (``data.scan``), after ``channels: auto`` is resolved.

The command parses its options, calls ``check_data`` and prints the report; nothing here writes to
the terminal (``progress`` is the caller's).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from lsts_sync.data.scan import CheckResult, check_project
from lsts_sync.data.sources import resolve_channels
from lsts_sync.resources.protocols import S3Ops
from lsts_sync.spec.loader import SpecSet

Report = Callable[[int, int], None]  # (objects done, objects in all) of one project


@dataclass(frozen=True)
class DataCheckReport:
    """Each checked project's result (name order) and how long the reads took."""

    results: tuple[CheckResult, ...]
    seconds: float

    @property
    def errors(self) -> int:
        return sum(f.error for r in self.results for f in r.findings)

    @property
    def warnings(self) -> int:
        return sum(not f.error for r in self.results for f in r.findings)

    def summary(self) -> str:
        """``Checked N object(s), X MB in S s (R MB/s): E error(s), W warning(s)``."""
        objects, size = sum(r.objects for r in self.results), sum(r.bytes for r in self.results)
        return (f"Checked {objects} object(s), {size / 1e6:.1f} MB in {self.seconds:.1f} s "
                f"({size / 1e6 / max(self.seconds, 1e-9):.1f} MB/s): {self.errors} error(s), "
                f"{self.warnings} warning(s)")


@contextlib.contextmanager
def _silent(name: str) -> Iterator[Report]:
    yield lambda done, total: None


def check_data(specs: SpecSet, selected: frozenset[str] | None, s3: S3Ops, *, max_rows: int, parallelism: int,
               progress: Callable[[str], AbstractContextManager[Report]] = _silent) -> DataCheckReport:
    """Check every selected project that has a source (None: all). ``progress(name)`` gives the
    ``report(done, total)`` of one project's scan while it runs."""
    wanted = {n for n, p in specs.projects.items() if p.source is not None and (selected is None or n in selected)}
    resolved = resolve_channels(specs, s3, wanted)
    start, results = time.perf_counter(), []
    for name in sorted(wanted):
        with progress(name) as report:
            results.append(check_project(resolved.projects[name], s3, parallelism=parallelism, max_rows=max_rows,
                                         progress=report))
    return DataCheckReport(tuple(results), time.perf_counter() - start)
