"""Desired state from specs: every storage field, CORS origins per bucket, and ``projects``."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsts_sync.desired.build import desired_state
from lsts_sync.resources.cors import desired_rule
from lsts_sync.resources.state import CorsState, StorageState
from lsts_sync.spec.loader import SpecSet, load_specs

# Two instances of owner team-a; a managed bucket with region and endpoint, a managed bucket nobody
# reads, an unmanaged one. a: presigned source + target; b: proxied source; c: source on the
# unmanaged bucket; d: target only.
SPECS = """\
kind: Instance
name: local
url: http://ls:8080
public_url: https://Labels.Example.com/app
token: ${TOKEN}
owner: team-a
---
kind: Instance
name: other
url: http://other:8080
token: ${TOKEN}
owner: team-a
---
kind: Bucket
name: data
region: eu-west-1
endpoint_url: http://s3.example:5000
---
kind: Bucket
name: spare
---
kind: Bucket
name: plain
cors: {managed: false}
---
kind: Project
name: a
instance: local
description: "  hello \\n"
source: {bucket: data, prefix: in/a.b/, presign_ttl: 15, recursive: true, sync: false, credentials: none}
target: {bucket: data, prefix: out/a/, credentials: none}
timeseries: {time_column: t, channels: [{column: v}]}
labels: [{value: Anomaly}]
---
kind: Project
name: b
instance: other
source: {bucket: data, prefix: b/, presign: false}
timeseries: {time_column: t, channels: [{column: v}]}
labels: [{value: Anomaly}]
---
kind: Project
name: c
instance: other
source: {bucket: plain}
timeseries: {time_column: t, channels: [{column: v}]}
labels: [{value: Anomaly}]
---
kind: Project
name: d
instance: other
target: {bucket: spare, prefix: out/BOX/}
timeseries: {time_column: t, channels: [{column: v}]}
labels: [{value: Anomaly}]
"""


@pytest.fixture
def storage_specs(tmp_path: Path) -> SpecSet:
    """``SPECS``: two instances, buckets data (region, endpoint), spare and plain (unmanaged), projects a to d."""
    (tmp_path / "specs.yaml").write_text(SPECS)
    loaded, problems = load_specs([str(tmp_path)], env={"TOKEN": "f" * 40})
    assert problems == []
    return loaded


# --- What desired_state pins: each storage field from its spec, CORS origins, the project filter ---

def test_every_storage_field_comes_from_its_spec_and_bucket(storage_specs: SpecSet) -> None:
    """Sources anchor the pattern behind the escaped prefix and read by blob URL; projects drop the
    prefix's trailing slash (only the slash: "out/BOX/" is "out/BOX") and never presign; region and
    endpoint come from the Bucket spec (AWS: empty endpoint); owner and credentials mode are carried
    for markers and apply."""
    common = dict(owner="team-a", presign_ttl=1, recursive_scan=False, sync=False)
    assert desired_state(storage_specs).storages == {
        ("local", "a", "source"): StorageState(
            "local", "a", "source", "data", "in/a.b/", "eu-west-1", "http://s3.example:5000",
            regex_filter=r"in/a\.b/(?:.*\.csv)$", use_blob_urls=True, presign=True, presign_ttl=15,
            recursive_scan=True, credentials="none", sync=False, owner="team-a"),
        ("local", "a", "target"): StorageState(
            "local", "a", "target", "data", "out/a", "eu-west-1", "http://s3.example:5000",
            use_blob_urls=False, presign=False, credentials="none", **common),
        ("other", "b", "source"): StorageState(
            "other", "b", "source", "data", "b/", "eu-west-1", "http://s3.example:5000",
            regex_filter=r"b/(?:.*\.csv)$", use_blob_urls=True, presign=False, presign_ttl=60,
            recursive_scan=False, credentials="environment", sync=True, owner="team-a"),
        ("other", "c", "source"): StorageState(
            "other", "c", "source", "plain", "", "us-east-1", "",
            regex_filter=r"(?:.*\.csv)$", use_blob_urls=True, presign=True, presign_ttl=60,
            recursive_scan=False, credentials="environment", sync=True, owner="team-a"),
        ("other", "d", "target"): StorageState(
            "other", "d", "target", "spare", "out/BOX", "us-east-1", "",
            use_blob_urls=False, presign=False, credentials="environment", **common),
    }


def test_projects_carry_the_trimmed_description_and_the_owner(storage_specs: SpecSet) -> None:
    projects = desired_state(storage_specs).projects
    assert [(p.name, p.description, p.owner) for p in projects.values()] == [
        ("a", "hello", "team-a"), ("b", "", "team-a"), ("c", "", "team-a"), ("d", "", "team-a")]


def test_managed_buckets_get_the_owners_rule_for_presigned_readers_only(storage_specs: SpecSet) -> None:
    """data: only a's instance (public origin) reads it presigned, b proxies; spare: managed but
    nobody presigns, so the rule is absent (None, i.e. remove ours); plain: not managed."""
    assert desired_state(storage_specs).cors == {
        "data": CorsState("data", desired_rule(["https://labels.example.com"], "lsts-sync-team-a"),
                          rule_id="lsts-sync-team-a"),
        "spare": CorsState("spare", None, rule_id="lsts-sync-team-a"),
    }


def test_targets_limit_projects_storages_and_the_buckets_their_sources_read(storage_specs: SpecSet) -> None:
    """CORS origins still come from every project: a rule written for one target must not drop
    the origins of the others."""
    only_b = desired_state(storage_specs, {"b"})
    assert list(only_b.projects) == [("other", "b")] and list(only_b.storages) == [("other", "b", "source")]
    assert only_b.cors["data"].rule == desired_rule(["https://labels.example.com"], "lsts-sync-team-a")
    assert list(only_b.cors) == ["data"]
    assert desired_state(storage_specs, {"c"}).cors == {}  # plain is unmanaged; data is not read by c
    assert desired_state(storage_specs, {"d"}).cors == {}  # no source at all
