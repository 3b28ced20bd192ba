"""The CORS rule lsts-sync owns on a bucket: its ID per owner, its exact content, its canonical form."""

from __future__ import annotations

import json

from lsts_sync.resources.cors import CORS_RULE_ID, canonical_rule, cors_rule_id, desired_rule

# --- What the rule pins: rule IDs per owner, the exact rule S3 receives, canonical comparison ---

def test_default_owner_keeps_the_historical_rule_id_and_other_owners_get_a_suffix() -> None:
    assert cors_rule_id("default") == "lsts-sync" == CORS_RULE_ID
    assert cors_rule_id("team-a") == "lsts-sync-team-a"


def test_desired_rule_is_exactly_get_from_the_sorted_unique_origins() -> None:
    """The rule browsers depend on: GET only, any request header, the S3 headers exposed, 3000 s
    preflight cache. Key spelling matters: S3 rejects or ignores misspelled CORS keys."""
    text = desired_rule(["https://b.example", "https://a.example", "https://b.example"], "lsts-sync-team-a")
    assert text == (
        '{"AllowedHeaders": ["*"], "AllowedMethods": ["GET"], '
        '"AllowedOrigins": ["https://a.example", "https://b.example"], '
        '"ExposeHeaders": ["x-amz-id-2", "x-amz-request-id", "x-amz-server-side-encryption"], '
        '"ID": "lsts-sync-team-a", "MaxAgeSeconds": 3000}'
    )


def test_desired_rule_defaults_to_the_historical_id_and_is_none_without_origins() -> None:
    assert json.loads(desired_rule(["https://a.example"]) or "{}")["ID"] == "lsts-sync"
    assert desired_rule([]) is None


def test_canonical_rule_sorts_keys_and_list_values_and_keeps_scalars() -> None:
    """Two rules that differ only in list order or key order compare equal (S3 may reorder)."""
    rule = {"MaxAgeSeconds": 10, "AllowedOrigins": ["https://b", "https://a"], "ID": "x"}
    canonical = canonical_rule(rule)
    assert canonical == {"AllowedOrigins": ["https://a", "https://b"], "ID": "x", "MaxAgeSeconds": 10}
    assert list(canonical) == ["AllowedOrigins", "ID", "MaxAgeSeconds"]
