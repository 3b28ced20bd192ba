"""``s3://bucket/key`` locations: the one place that knows how such a URL splits.

Specs name files as a local path or ``s3://bucket/key``; Label Studio's tasks carry their source
object the same way. Every reader of such a URL splits it here, so they all agree on the edge
cases: the bucket is everything between the scheme and the first ``/`` (it may be empty, as in
``s3:///key``), the key is everything after that ``/`` (it may be empty or hold more ``/``), and a
URL without any ``/`` after the bucket (``s3://bucket``) names no object at all.
"""

from __future__ import annotations

S3_SCHEME = "s3://"


def is_s3_url(location: str) -> bool:
    """True if ``location`` is meant as an S3 URL (starts with ``s3://``), however well formed."""
    return location.startswith(S3_SCHEME)


def split_s3_url(location: str) -> tuple[str, str] | None:
    """``(bucket, key)`` of ``s3://bucket/key``; None for a location that is not an S3 URL or has
    no ``/`` after its bucket. Either part may be empty: callers decide what that means."""
    if not is_s3_url(location):
        return None
    bucket, slash, key = location[len(S3_SCHEME):].partition("/")
    return (bucket, key) if slash else None
