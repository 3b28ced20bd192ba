"""lsts-sync check's pipeline: which projects are read, the progress each gets, the report's line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from lsts_sync.data.scan import CheckResult
from lsts_sync.pipeline.data_check import DataCheckReport, check_data
from lsts_sync.resources.facts import Finding
from lsts_sync.spec.loader import SpecSet

from .fakes import FakeS3

CSV = b"t,v\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n"


def test_the_report_line_counts_objects_size_speed_errors_and_warnings() -> None:
    report = DataCheckReport((CheckResult("a", 2, 2_500_000, (Finding("s3://d/a", 3, "bad"),
                                                                Finding("s3://d/b", 0, "odd", error=False))),
                              CheckResult("b", 1, 500_000, (Finding("s3://d/c", 1, "bad"),))), 2.0)
    assert (report.errors, report.warnings) == (2, 1)
    assert report.summary() == "Checked 3 object(s), 3.0 MB in 2.0 s (1.5 MB/s): 2 error(s), 1 warning(s)"


def test_only_the_selected_projects_are_read_each_with_its_progress(two_projects_specs: SpecSet) -> None:
    s3 = FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "a/2.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    seen: list[tuple[str, int, int]] = []

    @contextlib.contextmanager
    def progress(name: str) -> Iterator:
        yield lambda done, total: seen.append((name, done, total))

    report = check_data(two_projects_specs, frozenset({"a"}), s3, max_rows=10, parallelism=1, progress=progress)
    assert [r.project for r in report.results] == ["a"] and report.results[0].objects == 2
    assert seen[-1] == ("a", 2, 2) and {name for name, _, _ in seen} == {"a"}
    everything = check_data(two_projects_specs, None, s3, max_rows=10, parallelism=1)
    assert [r.project for r in everything.results] == ["a", "b"] and everything.errors == 0
