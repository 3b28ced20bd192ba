"""core.locations: how an ``s3://bucket/key`` URL splits, edge cases included (no servers)."""

from __future__ import annotations

from lsts_sync.core.locations import is_s3_url, split_s3_url


def test_the_bucket_ends_at_the_first_slash_and_the_key_keeps_the_rest() -> None:
    assert split_s3_url("s3://bucket/x/y.csv") == ("bucket", "x/y.csv")
    assert split_s3_url("s3://bucket/") == ("bucket", "")
    assert split_s3_url("s3:///k.csv") == ("", "k.csv")


def test_a_url_without_a_slash_after_the_bucket_or_of_another_scheme_names_no_object() -> None:
    assert split_s3_url("s3://bucket") is None
    assert split_s3_url("https://h/y.csv") is None
    assert split_s3_url("out/s3://b/k") is None
    assert is_s3_url("s3://bucket") and not is_s3_url("S3://b/k") and not is_s3_url("/tmp/s3://b/k")
