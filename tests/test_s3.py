"""Live S3 bucket CORS, offline: S3Buckets.read_cors and write_cors against an in-memory bucket.

S3 replaces a bucket's CORS configuration whole, so what write_cors sends is the whole truth:
every rule lsts-sync does not own must be in it, exactly as read.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lsts_sync.core.stats import RequestStats
from lsts_sync.live.s3 import S3Buckets
from lsts_sync.resources.cors import cors_rule_id, desired_rule
from lsts_sync.resources.state import CorsState

BUCKET = "data"
THEIRS = {"ID": "uploads", "AllowedMethods": ["PUT", "POST"], "AllowedOrigins": ["https://upload.example"]}
UNNAMED = {"AllowedMethods": ["HEAD"], "AllowedOrigins": ["*"]}  # a rule without ID is someone else's too


class FakeCorsClient:
    """One bucket's CORS configuration as S3 keeps it: absent, or a whole list of rules."""

    def __init__(self, rules: list[dict] | None) -> None:
        self.rules = rules
        self.calls: list[str] = []

    def get_bucket_cors(self, *, Bucket: str) -> dict:
        self.calls.append("get_bucket_cors")
        if self.rules is None:
            raise ClientError({"Error": {"Code": "NoSuchCORSConfiguration"}}, "GetBucketCors")
        return {"CORSRules": json.loads(json.dumps(self.rules))}

    def put_bucket_cors(self, *, Bucket: str, CORSConfiguration: dict[str, Any]) -> dict:
        self.calls.append("put_bucket_cors")
        assert CORSConfiguration["CORSRules"], "S3 refuses an empty rule list: delete the configuration instead"
        self.rules = json.loads(json.dumps(CORSConfiguration["CORSRules"]))
        return {}

    def delete_bucket_cors(self, *, Bucket: str) -> dict:
        self.calls.append("delete_bucket_cors")
        self.rules = None
        return {}


def buckets(client: FakeCorsClient, monkeypatch: pytest.MonkeyPatch) -> S3Buckets:
    found = S3Buckets({}, RequestStats())
    monkeypatch.setattr(found, "client", lambda bucket, counted=True: client)
    return found


def ours(owner: str = "default") -> dict:
    return json.loads(desired_rule(["http://ls.example"], cors_rule_id(owner)) or "null")


def test_removing_our_rule_keeps_every_other_rule_of_the_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last project reading the bucket through presigned URLs went: our rule goes, the bucket's
    other rules (another owner's lsts-sync rule included) stay exactly as they were."""
    client = FakeCorsClient([THEIRS, ours("default"), ours("team-b"), UNNAMED])
    s3 = buckets(client, monkeypatch)
    have = s3.read_cors(BUCKET, cors_rule_id("default"))
    assert have.rule is not None and len(have.others) == 3
    s3.write_cors(CorsState(BUCKET, None, have.others, have.rule_id))  # what plan makes of "no reader left"
    assert client.calls == ["get_bucket_cors", "put_bucket_cors"]
    assert client.rules == [THEIRS, ours("team-b"), UNNAMED]


def test_removing_our_rule_when_it_is_the_only_one_deletes_the_configuration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeCorsClient([ours()])
    s3 = buckets(client, monkeypatch)
    have = s3.read_cors(BUCKET, cors_rule_id("default"))
    assert have.others == ()
    s3.write_cors(CorsState(BUCKET, None, have.others, have.rule_id))
    assert client.calls == ["get_bucket_cors", "delete_bucket_cors"] and client.rules is None


def test_writing_our_rule_puts_the_other_rules_first_as_read(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeCorsClient(None)
    s3 = buckets(client, monkeypatch)
    assert s3.read_cors(BUCKET, "lsts-sync") == CorsState(BUCKET, None, rule_id="lsts-sync")
    client.rules = [THEIRS]
    have = s3.read_cors(BUCKET, "lsts-sync")
    s3.write_cors(CorsState(BUCKET, desired_rule(["http://ls.example"]), have.others))
    assert client.rules == [THEIRS, ours()]
