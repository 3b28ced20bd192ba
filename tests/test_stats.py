"""Request counting."""

from lsts_sync.stats import RequestStats


def test_reads_and_writes_are_counted_by_method() -> None:
    stats = RequestStats()
    for method in ("GET", "get", "HEAD", "POST", "PATCH", "DELETE", "PUT"):
        stats.record(method)
    assert (stats.reads, stats.writes) == (3, 4)
    assert stats.line() == "HTTP requests: 7 (3 reads, 4 writes)"
