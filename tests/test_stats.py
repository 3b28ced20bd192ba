"""Request counting and secret redaction."""

from lsts_sync.stats import RequestStats, redact


def test_reads_and_writes_are_counted_by_method() -> None:
    stats = RequestStats()
    for method in ("GET", "get", "HEAD", "POST", "PATCH", "DELETE", "PUT"):
        stats.record(method)
    assert (stats.reads, stats.writes) == (3, 4)
    assert stats.line() == "HTTP requests: 7 (3 reads, 4 writes)"


def test_redact_replaces_every_secret_but_not_tiny_strings() -> None:
    text = "token abcdef123456 and key SECRETKEY, again abcdef123456"
    assert redact(text, ["abcdef123456", "SECRETKEY", "", "a"]) == (
        "token (sensitive) and key (sensitive), again (sensitive)")
