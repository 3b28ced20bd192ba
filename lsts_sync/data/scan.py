"""``lsts-sync check``: every row of every object a project's source would import.

Objects are read whole by a pool of threads (waiting on S3). Each thread first tries the
column-wise path on the bytes it read (``datachecks.column_wise``: Arrow and numpy, which release
the interpreter, so the threads share the cores); an object that path cannot clear (it may hold a
finding), and a Parquet object of a staged source, is scanned by ``_scan`` in a pool of processes,
one per core, started on the first such object (the exact scan is Python, which threads would
serialise). Results come back in key order whatever order the reads finish.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

from lsts_sync.data.datachecks import MAX_ROWS, column_wise, scan_object
from lsts_sync.data.sources import matching
from lsts_sync.desired.build import regex_filter
from lsts_sync.resources.facts import Finding
from lsts_sync.resources.protocols import S3Ops
from lsts_sync.spec.models import ProjectSpec


@dataclass(frozen=True)
class CheckResult:
    """Findings of one project's objects, and how much was read."""

    project: str
    objects: int
    bytes: int
    findings: tuple[Finding, ...]


def check_project(project: ProjectSpec, s3: S3Ops, *, parallelism: int = 8, max_rows: int = MAX_ROWS,
                  progress: Callable[[int, int], None] = lambda done, total: None) -> CheckResult:
    """Scan every matching object of ``project``'s source (channels already resolved).

    ``progress(done, total)`` is called in the calling thread as objects are scanned, in key order.
    """
    source = project.source
    assert source is not None, "only projects with a source are checked"
    staging = source.staging_prefix.rstrip("/") + "/"
    keys = [k for k, _ in matching(s3, source.bucket, source.prefix, source.recursive, regex_filter(source))
            if not (source.staged and k.startswith(staging))]
    if not keys:
        url = f"s3://{source.bucket}/{source.prefix}"
        return CheckResult(project.name, 0, 0, (Finding(url, 0, f"no object matches pattern {source.pattern}"),))

    scanners = _Scanners()

    def read(key: str) -> Future:
        url = f"s3://{source.bucket}/{key}"
        data = s3.read_bytes(source.bucket, key)
        fast = None if _parquet(project, url) else column_wise(project, url, data, _max_rows(project, max_rows))
        if fast is not None:
            done: Future = Future()
            done.set_result((len(data), fast))
            return done
        return scanners.submit(_scan, project, url, data, max_rows)

    results = []
    with scanners, ThreadPoolExecutor(max_workers=max(1, parallelism)) as readers:
        for scanned in readers.map(read, keys):
            results.append(scanned.result())
            progress(len(results), len(keys))
    findings = tuple(f for _, found in results for f in found)
    return CheckResult(project.name, len(keys), sum(size for size, _ in results), findings)


class _Scanners:
    """A pool of processes, one per core, started by the first ``submit`` (from any thread)."""

    def __init__(self) -> None:
        self.pool: ProcessPoolExecutor | None = None
        self.lock = threading.Lock()

    def submit(self, fn: Callable, *args: object) -> Future:
        with self.lock:
            if self.pool is None:
                self.pool = ProcessPoolExecutor(max_workers=os.cpu_count() or 1)
        return self.pool.submit(fn, *args)

    def __enter__(self) -> _Scanners:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def _parquet(project: ProjectSpec, url: str) -> bool:
    """Whether an object is read as Parquet (``windows.scan_parquet``), not as a series CSV."""
    if project.source is None or not project.source.staged:
        return False
    from lsts_sync.data.windows import object_format

    return object_format(project, url) == "parquet"


def _max_rows(project: ProjectSpec, max_rows: int) -> int:
    """A long object is what windows are for: no "split the file" warning for a windowed source."""
    return 2**62 if project.source is not None and project.source.window is not None else max_rows


def _scan(project: ProjectSpec, url: str, data: bytes, max_rows: int) -> tuple[int, list[Finding]]:
    """One object's size and findings (runs in a worker process, after ``column_wise`` could not
    clear it); Parquet objects of a staged source are read by Arrow (``windows.scan_parquet``)."""
    if _parquet(project, url):
        from lsts_sync.data.windows import scan_parquet

        return len(data), scan_parquet(project, url, data)
    return len(data), scan_object(project, url, data, max_rows=_max_rows(project, max_rows), column_wise_first=False)
