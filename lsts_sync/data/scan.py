"""``lsts-sync check``: every row of every object a project's source would import.

Objects are read whole by a pool of threads (waiting on S3) and scanned by ``datachecks.scan_csv``
in a pool of processes, one per core (scanning is CPU work that threads would serialise). Results
come back in key order whatever order the reads finish.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

from lsts_sync.data.datachecks import MAX_ROWS, scan_csv
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

    def read(key: str) -> Future:
        data = s3.read_bytes(source.bucket, key)
        return scanners.submit(_scan, project, f"s3://{source.bucket}/{key}", data, max_rows)

    results = []
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as scanners, \
            ThreadPoolExecutor(max_workers=max(1, parallelism)) as readers:
        for scanned in readers.map(read, keys):
            results.append(scanned.result())
            progress(len(results), len(keys))
    findings = tuple(f for _, found in results for f in found)
    return CheckResult(project.name, len(keys), sum(size for size, _ in results), findings)


def _scan(project: ProjectSpec, url: str, data: bytes, max_rows: int) -> tuple[int, list[Finding]]:
    """One object's size and findings (runs in a worker process); Parquet objects of a staged
    source are read by Arrow (``windows.scan_parquet``)."""
    from lsts_sync.data.windows import object_format, scan_parquet

    if project.source is not None and project.source.staged and object_format(project, url) == "parquet":
        return len(data), scan_parquet(project, url, data)
    if project.source is not None and project.source.window is not None:
        max_rows = 2**62  # a long object is what windows are for: no "split the file" warning
    return len(data), scan_csv(project, url, data.decode("utf-8", errors="replace"), max_rows=max_rows)
