"""Canonical resource shapes: exactly which fields plan compares, under which names (the names are
what plan output, --json and saved plans show), and what apply writes back for CORS."""

from __future__ import annotations

import json

from lsts_sync.resources.state import CorsState, FieldDiff, ProjectState, StorageState, diff_fields
from lsts_sync.ui.template import canonical

TEMPLATE = '<View><Label value="x"/></View>'


def _storage(role: str = "source", **changes: object) -> StorageState:
    values: dict = {"instance": "local", "project": "p", "role": role, "bucket": "data", "prefix": "in/",
                    "region_name": "eu-west-1", "s3_endpoint": "http://s3:5000", "regex_filter": "in/(?:.*)$",
                    "use_blob_urls": True, "presign": False, "presign_ttl": 15, "recursive_scan": True,
                    "owner": "team", "id": 7, "credentials": "none", "sync": True}
    values.update(changes)
    return StorageState(**values)


# --- What compared() pins: the exact field names and values plan diffs, per resource ---

def test_a_source_storage_compares_location_owner_and_every_import_setting_by_name() -> None:
    assert _storage().compared() == {
        "bucket": "data", "prefix": "in/", "region_name": "eu-west-1", "s3_endpoint": "http://s3:5000",
        "owner": "team", "regex_filter": "in/(?:.*)$", "use_blob_urls": True, "presign": False,
        "presign_ttl": 15, "recursive_scan": True,
    }


def test_a_target_storage_compares_only_location_and_owner() -> None:
    """Export storages have no import settings: a differing presign there is never a change."""
    assert _storage("target").compared() == {
        "bucket": "data", "prefix": "in/", "region_name": "eu-west-1", "s3_endpoint": "http://s3:5000",
        "owner": "team",
    }
    assert diff_fields(_storage("target"), _storage("target", presign=True, regex_filter="x")) == ()


def test_ids_credentials_and_sync_are_never_compared() -> None:
    assert diff_fields(_storage(), _storage(id=99, credentials="environment", sync=False, last_sync="now")) == ()


def test_a_project_compares_its_canonical_template_and_keeps_unparseable_text_as_is() -> None:
    project = ProjectState("local", "p", "T", "d", TEMPLATE, owner="team", id=3)
    assert project.compared() == {"title": "T", "description": "d", "label_config": canonical(TEMPLATE),
                                  "owner": "team"}
    broken_a = ProjectState("local", "p", "T", "d", "<View>")
    broken_b = ProjectState("local", "p", "T", "d", "<View><x>")
    assert broken_a.compared()["label_config"] == "<View>"
    assert diff_fields(broken_a, broken_b) == (FieldDiff("label_config", "<View>", "<View><x>"),)


def test_diff_fields_lists_changed_fields_in_the_new_side_order() -> None:
    old, new = _storage(prefix="a/", presign_ttl=1), _storage(prefix="b/", presign_ttl=2)
    assert diff_fields(old, new) == (FieldDiff("prefix", "a/", "b/"), FieldDiff("presign_ttl", 1, 2))


def test_cors_compares_the_parsed_rule_and_an_absent_rule_as_empty() -> None:
    rule = '{"AllowedOrigins": ["https://a"], "ID": "lsts-sync"}'
    assert CorsState("data", rule).compared() == {"AllowedOrigins": ["https://a"], "ID": "lsts-sync"}
    assert CorsState("data", None).compared() == {}
    assert diff_fields(CorsState("data", None), CorsState("data", rule)) == (
        FieldDiff("AllowedOrigins", None, ["https://a"]), FieldDiff("ID", None, "lsts-sync"))


def test_cors_configuration_writes_other_rules_as_read_then_ours_last() -> None:
    theirs = json.dumps({"ID": "theirs", "AllowedMethods": ["PUT"]})
    ours = json.dumps({"ID": "lsts-sync", "AllowedMethods": ["GET"]})
    assert CorsState("data", ours, (theirs,)).configuration() == [
        {"ID": "theirs", "AllowedMethods": ["PUT"]}, {"ID": "lsts-sync", "AllowedMethods": ["GET"]}]
    assert CorsState("data", None, (theirs,)).configuration() == [{"ID": "theirs", "AllowedMethods": ["PUT"]}]


# --- pinned: the canonical text of a prediction's result (what plan compares, what apply re-sends)

def test_a_result_is_one_compact_text_with_sorted_keys_and_sorted_regions() -> None:
    from lsts_sync.resources.state import canonical_result

    regions = [{"value": {"start": 2, "end": 3}, "id": "b"}, {"id": "a", "value": {"end": 1, "start": 0}}]
    text = '[{"id":"a","value":{"end":1,"start":0}},{"id":"b","value":{"end":3,"start":2}}]'
    assert canonical_result(regions) == text
    assert canonical_result(list(reversed(regions))) == text
    assert canonical_result([]) == "[]"


def test_a_result_that_is_not_a_list_is_kept_as_its_compact_sorted_json() -> None:
    from lsts_sync.resources.state import canonical_result

    assert canonical_result({"b": [2, 1], "a": None}) == '{"a":null,"b":[2,1]}'
    assert canonical_result("x") == '"x"'
