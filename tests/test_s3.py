"""Live S3 bucket CORS, offline: S3Buckets.read_cors and write_cors against an in-memory bucket.

S3 replaces a bucket's CORS configuration whole, so what write_cors sends is the whole truth:
every rule lsts-sync does not own must be in it, exactly as read.
"""

from __future__ import annotations

import json

import pytest

from lsts_sync.core.stats import RequestStats
from lsts_sync.live.s3 import S3Buckets
from lsts_sync.resources.cors import cors_rule_id, desired_rule
from lsts_sync.resources.state import CorsState

from .fakes import FakeS3Client

BUCKET = "data"
THEIRS = {"ID": "uploads", "AllowedMethods": ["PUT", "POST"], "AllowedOrigins": ["https://upload.example"]}
UNNAMED = {"AllowedMethods": ["HEAD"], "AllowedOrigins": ["*"]}  # a rule without ID is someone else's too


def buckets(client: FakeS3Client, monkeypatch: pytest.MonkeyPatch) -> S3Buckets:
    found = S3Buckets({}, RequestStats())
    monkeypatch.setattr(found, "client", lambda bucket, counted=True: client)
    return found


def ours(owner: str = "default") -> dict:
    return json.loads(desired_rule(["http://ls.example"], cors_rule_id(owner)) or "null")


def test_removing_our_rule_keeps_every_other_rule_of_the_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last project reading the bucket through presigned URLs went: our rule goes, the bucket's
    other rules (another owner's lsts-sync rule included) stay exactly as they were."""
    client = FakeS3Client(cors=[THEIRS, ours("default"), ours("team-b"), UNNAMED])
    s3 = buckets(client, monkeypatch)
    have = s3.read_cors(BUCKET, cors_rule_id("default"))
    assert have.rule is not None and len(have.others) == 3
    s3.write_cors(CorsState(BUCKET, None, have.others, have.rule_id))  # what plan makes of "no reader left"
    assert client.calls == ["get_bucket_cors", "put_bucket_cors"]
    assert client.cors == [THEIRS, ours("team-b"), UNNAMED]


def test_removing_our_rule_when_it_is_the_only_one_deletes_the_configuration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeS3Client(cors=[ours()])
    s3 = buckets(client, monkeypatch)
    have = s3.read_cors(BUCKET, cors_rule_id("default"))
    assert have.others == ()
    s3.write_cors(CorsState(BUCKET, None, have.others, have.rule_id))
    assert client.calls == ["get_bucket_cors", "delete_bucket_cors"] and client.cors is None


def test_writing_our_rule_puts_the_other_rules_first_as_read(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeS3Client(cors=None)
    s3 = buckets(client, monkeypatch)
    assert s3.read_cors(BUCKET, "lsts-sync") == CorsState(BUCKET, None, rule_id="lsts-sync")
    client.cors = [THEIRS]
    have = s3.read_cors(BUCKET, "lsts-sync")
    s3.write_cors(CorsState(BUCKET, desired_rule(["http://ls.example"]), have.others))
    assert client.cors == [THEIRS, ours()]
