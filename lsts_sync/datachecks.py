"""Data checks at plan time: the top reasons labelers see a blank chart, caught before apply.

For every source storage that the plan creates or changes: the prefix holds an object matching the
pattern (Label Studio refuses an empty prefix), and the first such CSV's header holds the time column
and every channel column (case-insensitively, as Label Studio lowercases them) and its first time
values parse with ``time_format`` and ascend. Errors block apply (``--skip-data-checks`` skips the
reads); case/whitespace differences and temporary credentials are warnings.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

from .live_s3 import S3Buckets
from .loader import SpecSet
from .models import ProjectSpec
from .plan import Check, Create, Plan, Update
from .problems import LstsError
from .state import StorageState
from .timefmt import python_format

SAMPLE_ROWS = 20


def check_sources(plan: Plan, specs: SpecSet, s3: S3Buckets, *, skip: bool = False) -> list[Check]:
    """Checks for the sources ``plan`` creates or changes; with ``skip`` only the credentials warning."""
    checks: list[Check] = []
    temporary = False
    for change in plan.changes:
        storage = change.new if isinstance(change, (Create, Update)) else None
        if not isinstance(storage, StorageState):
            continue
        fields = {d.field for d in change.diffs} if isinstance(change, Update) else {"new"}
        if storage.credentials == "environment" and fields & {"new", "credentials"}:
            temporary = temporary or _temporary(s3)
        if storage.role == "source" and fields - {"credentials"} and not skip:
            checks.extend(check_source(specs.projects[storage.project], storage, s3))
    if temporary:
        checks.append(Check("temporary-credentials", "*", "the AWS credentials handed to Label Studio are "
                            "temporary (session token): it stops reading the bucket when they expire; "
                            "re-send fresh ones with --rotate-credentials", blocking=False))
    return checks


def _temporary(s3: S3Buckets) -> bool:
    try:
        return bool(s3.credentials()[2])
    except LstsError:
        return False


def check_source(project: ProjectSpec, storage: StorageState, s3: S3Buckets) -> list[Check]:
    """Checks of one source: a matching object exists and its first CSV fits the template."""
    where = f"s3://{storage.bucket}/{storage.prefix}"
    keys = s3.keys(storage.bucket, storage.prefix, storage.recursive_scan)
    pattern = re.compile(storage.regex_filter)
    matching = [k for k in keys if pattern.match(k)]
    if not matching:
        return [Check("data", project.name, f"no object under {where} matches pattern "
                      f"{project.source.pattern!r} (Label Studio refuses a storage on an empty prefix)",
                      "--skip-data-checks")]
    key = sorted(matching)[0]
    text = s3.head_bytes(storage.bucket, key).decode("utf-8", errors="replace")
    return check_csv(project, f"s3://{storage.bucket}/{key}", text)


def check_csv(project: ProjectSpec, url: str, text: str) -> list[Check]:
    """Header and first time values of one CSV (pure, for unit tests)."""
    ts = project.timeseries
    rows = list(csv.reader(io.StringIO(text), delimiter=ts.sep))[: SAMPLE_ROWS + 1]
    if not rows:
        return [_error(project, f"{url} is empty")]
    header = rows[0]
    index = {h.strip().lower(): i for i, h in enumerate(header)}
    checks = []
    for role, column in [("time column", ts.time_column)] + [("channel", c.column) for c in ts.channels]:
        found = index.get(column.strip().lower())
        if found is None:
            checks.append(_error(project, f"{url}: {role} {column!r} is not in the header {header}"))
        elif header[found] != column:
            checks.append(Check("data", project.name, f"{url}: header {header[found]!r} differs from {role} "
                                f"{column!r} in case or whitespace (Label Studio lowercases both)", blocking=False))
    time_index = index.get(ts.time_column.strip().lower())
    if time_index is not None:
        checks.extend(_check_times(project, url, [r[time_index] for r in rows[1:] if len(r) > time_index]))
    return checks


def _check_times(project: ProjectSpec, url: str, values: list[str]) -> list[Check]:
    fmt = project.timeseries.time_format
    column = project.timeseries.time_column
    parsed = []
    for value in values:
        try:
            parsed.append(datetime.strptime(value.strip(), python_format(fmt)) if fmt else float(value))
        except ValueError:
            expected = f"time_format {fmt!r}" if fmt else "a number (no time_format)"
            return [_error(project, f"{url}: column {column!r} value {value!r} does not match {expected}")]
    for before, after in zip(parsed, parsed[1:]):
        if after <= before:
            return [_error(project, f"{url}: column {column!r} does not ascend ({before} then {after})")]
    return []


def _error(project: ProjectSpec, message: str) -> Check:
    return Check("data", project.name, message, "--skip-data-checks")
