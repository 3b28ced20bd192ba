"""check_project: every object read, the clean ones cleared in the reading thread, the rest scanned
row by row in a pool of processes started only for them."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from lsts_sync.data.datachecks import scan_csv
from lsts_sync.data.scan import check_project
from lsts_sync.spec.models import ProjectSpec

from .fakes import FakeS3

CLEAN = b"t,v\n" + b"".join(f"2024-01-01 00:{i // 60:02d}:{i % 60:02d},{i % 7}\n".encode() for i in range(600))
ROLLED = CLEAN.replace(b"2024-01-01 00:00:05", b"2024-02-30 00:00:05")  # a warning: d3 reads 1 March


class InlinePool:
    """A process pool stand-in that runs each call at once and counts the pools started."""

    started = 0

    def __init__(self, max_workers: int) -> None:
        InlinePool.started += 1

    def submit(self, fn, *args) -> Future:
        done: Future = Future()
        done.set_result(fn(*args))
        return done

    def shutdown(self) -> None:
        pass


@pytest.fixture
def pool(monkeypatch) -> type[InlinePool]:
    InlinePool.started = 0
    monkeypatch.setattr("lsts_sync.data.scan.ProcessPoolExecutor", InlinePool)
    return InlinePool


def project() -> ProjectSpec:
    return ProjectSpec.model_validate({
        "kind": "Project", "name": "p", "instance": "i", "source": {"bucket": "data", "prefix": "a/"},
        "timeseries": {"time_column": "t", "time_format": "%Y-%m-%d %H:%M:%S", "channels": [{"column": "v"}]},
        "labels": [{"value": "A"}]})


def test_clean_objects_are_cleared_without_starting_a_process(pool) -> None:
    s3 = FakeS3()
    s3.objects_["data"] = {f"a/{i}.csv": (1.0, CLEAN) for i in range(5)}
    result = check_project(project(), s3, parallelism=2, max_rows=100)
    assert pool.started == 0 and result.objects == 5 and result.bytes == 5 * len(CLEAN)
    assert [(f.row, f.message) for f in result.findings] == [(0, "600 rows: above 100, the chart is hard to use; "
                                                             "split the file")] * 5


def test_an_object_with_a_finding_is_scanned_row_by_row_in_the_process_pool(pool) -> None:
    s3 = FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CLEAN), "a/2.csv": (1.0, ROLLED), "a/3.csv": (1.0, ROLLED)}
    result = check_project(project(), s3, parallelism=2)
    assert pool.started == 1
    expected = [f for k in ("a/2.csv", "a/3.csv") for f in scan_csv(project(), f"s3://data/{k}", ROLLED.decode())]
    assert list(result.findings) == expected  # the rollover (row 7), then the time going back (row 8), twice
    assert [f.row for f in expected] == [7, 8, 7, 8] and "day or month out of range" in expected[0].message
