"""The plan renderer, pure: exact text, Markdown and JSON of hand-built plans (golden output is the
user interface, so these tests compare whole renderings, not fragments)."""

from __future__ import annotations

import json

from lsts_sync.plan.build import Check, Create, Delete, Plan, RotateCredentials, Sync, Update
from lsts_sync.plan.render import (
    plan_to_dict,
    render_check,
    render_json,
    render_markdown,
    render_other_owners,
    render_text,
)
from lsts_sync.resources.state import CorsState, FieldDiff, ProjectState, StorageState, Usage, diff_fields

OLD_XML = ('<View><TimeSeries name="ts" value="$csv"><Channel column="a"/><Channel column="b"/></TimeSeries>'
           '<TimeSeriesLabels name="label" toName="ts"><Label value="X"/><Label value="Old"/></TimeSeriesLabels>'
           '</View>')
NEW_XML = """<View>
  <TimeSeries name="ts" value="$csv">
    <Channel column="a"/>
    <Channel column="b"/>
  </TimeSeries>
  <TimeSeriesLabels name="label" toName="ts">
    <Label value="X"/>
    <Label value="New"/>
  </TimeSeriesLabels>
</View>"""
OLD_LINES_XML = NEW_XML.replace('"New"', '"Old"')

RULE = json.dumps({"ID": "lsts-sync", "AllowedMethods": ["GET"], "AllowedOrigins": ["http://a:8080"]})
RULE_2 = json.dumps({"ID": "lsts-sync", "AllowedMethods": ["GET"], "AllowedOrigins": ["http://b:8080"]})


def _project(name: str = "pump", **kw) -> ProjectState:
    fields = {"instance": "local", "name": name, "title": "Pump 7", "description": "d", "label_config": NEW_XML}
    return ProjectState(**{**fields, **kw})


def _storage(role: str = "source", **kw) -> StorageState:
    fields = {"instance": "local", "project": "pump", "role": role, "bucket": "data", "prefix": "p/",
              "region_name": "us-east-1", "s3_endpoint": ""}
    return StorageState(**{**fields, **kw})  # type: ignore[arg-type]


def _rich_plan() -> Plan:
    """One of every change kind, a sync, every kind of check and other owners."""
    cors_old, cors_new = CorsState("data", RULE), CorsState("data", RULE_2)
    old_project = _project(id=4, title="Old", label_config=OLD_LINES_XML)
    new_project = _project()
    old_source = _storage(id=7, presign_ttl=5, regex_filter='a"b')
    new_source = _storage(presign_ttl=60, regex_filter="x\\.csv")
    changes = (
        Create(CorsState("logs", RULE)),
        Update(cors_old, cors_new, diff_fields(cors_old, cors_new)),
        Create(_project("fresh", title="Fresh \"one\"", label_config=OLD_XML)),
        Update(old_project, new_project, diff_fields(old_project, new_project)),
        Create(_storage("target", project="fresh", prefix="out"), None),
        Update(old_source, new_source, diff_fields(old_source, new_source)),
        RotateCredentials(_storage("target"), 8),
        Delete(_storage(project="gone", id=9)),
        Delete(_project("gone", id=3, title="Gone", usage=Usage(2))),
    )
    syncs = (Sync(_storage(), 7, "new or changed", pending=2), Sync(_storage(project="fresh"), None, "--sync"))
    checks = (
        Check("delete-annotated", "gone", "project 'Gone' has 2 annotation(s)", "--allow-delete gone"),
        Check("too-many-changes", "*", "4 of 10", "--force", allowed=True),
        Check("duplicate", "project pump", "2 resources"),
        Check("pending", "pump", "3 object(s) are not yet tasks", blocking=False),
    )
    return Plan(changes, syncs, checks, (("ml", 2), ("ops", 1)))


GOLDEN_TEXT = """\
lsts-sync will perform these actions:

  + bucket logs CORS rule lsts-sync
    ID: "lsts-sync"
    AllowedMethods: ["GET"]
    AllowedOrigins: ["http://a:8080"]
  ~ bucket data CORS rule lsts-sync
    AllowedOrigins: ["http://a:8080"] -> ["http://b:8080"]
  + project fresh "Fresh \\"one\\"" (instance local)
    title: "Fresh \\"one\\""
    labels: "X, Old"
    channels: "a, b"
  ~ project pump "Pump 7" (instance local)
    title: "Old" -> "Pump 7"
    label_config:
           <Label value="X"/>
      -    <Label value="Old"/>
      +    <Label value="New"/>
         </TimeSeriesLabels>
  + storage fresh/target s3://data/out (instance local)
    bucket: "data"
    prefix: "out"
    region_name: "us-east-1"
    s3_endpoint: ""
    owner: "default"
  ~ storage pump/source s3://data/p/ (instance local)
    regex_filter: "a\\"b" -> "x\\.csv"
    presign_ttl: 5 -> 60
  ~ storage pump/target s3://data/p/ (instance local)
    credentials: re-sent from the environment (--rotate-credentials)
  - storage gone/source s3://data/p/ (instance local)
  - project gone "Gone" (instance local)
  » sync storage pump/source (new or changed)
  » sync storage fresh/source (--sync)

! delete-annotated gone: project 'Gone' has 2 annotation(s) (blocks apply; allow with --allow-delete gone)
! too-many-changes *: 4 of 10 (allowed by --force)
! duplicate project pump: 2 resources (blocks apply)
Warning: pump: 3 object(s) are not yet tasks

Plan: 3 to add, 4 to change, 2 to delete. 2 storage(s) to sync.
"""


# --- pinned: the exact text plan, Markdown and other owners' line ---

def test_text_plan_of_every_change_kind_is_exact() -> None:
    assert render_text(_rich_plan()) == GOLDEN_TEXT


def test_empty_plan_is_only_the_summary() -> None:
    assert render_text(Plan()) == "No changes.\n"


def test_a_plan_of_only_syncs_has_the_header_and_the_syncs() -> None:
    plan = Plan(syncs=(Sync(_storage(), 7, "2 new object(s)", pending=2),))
    assert render_text(plan) == ("lsts-sync will perform these actions:\n\n"
                                 "  » sync storage pump/source (2 new object(s))\n\n"
                                 "No changes. 1 storage(s) to sync.\n")


def test_a_plan_of_only_checks_has_no_header() -> None:
    plan = Plan(checks=(Check("pending", "pump", "waiting", blocking=False),))
    assert render_text(plan) == "\nWarning: pump: waiting\n\nNo changes.\n"


def test_markdown_is_summary_then_text_in_a_diff_block_then_other_owners() -> None:
    body = "".join(line[2:] if line.startswith(("  +", "  -")) else line
                   for line in GOLDEN_TEXT.splitlines(keepends=True))
    assert render_markdown(_rich_plan()) == (
        "### lsts-sync plan\n\n**Plan: 3 to add, 4 to change, 2 to delete. 2 storage(s) to sync.**\n\n"
        f"```diff\n{body}```\n\nLeft alone: 3 managed project(s) of other owners (ml: 2, ops: 1).\n")
    assert "\n+ bucket logs CORS rule lsts-sync\n" in body and "\n- project gone" in body
    assert "\n  ~ project pump" in body  # an update keeps its indent


def test_markdown_without_other_owners_ends_with_the_block() -> None:
    assert render_markdown(Plan()) == "### lsts-sync plan\n\n**No changes.**\n\n```diff\nNo changes.\n```\n"


def test_other_owners_line_counts_and_names_each_owner() -> None:
    assert render_other_owners(Plan()) == ""
    assert render_other_owners(Plan(other_owners=(("ml", 2), ("ops", 1)))) == (
        "Left alone: 3 managed project(s) of other owners (ml: 2, ops: 1).\n")


# --- pinned: check lines ---

def test_check_lines_name_the_state_of_their_override() -> None:
    assert render_check(Check("n", "s", "m", "--o")) == "! n s: m (blocks apply; allow with --o)"
    assert render_check(Check("n", "s", "m", "--o", allowed=True)) == "! n s: m (allowed by --o)"
    assert render_check(Check("n", "s", "m")) == "! n s: m (blocks apply)"
    assert render_check(Check("n", "s", "m", "--o", blocking=False)) == "Warning: s: m"


# --- pinned: values (quoting, secrets) ---

def _one_diff(field: str, old: object, new: object) -> str:
    storage = _storage(id=3)
    return render_text(Plan((Update(storage, storage, (FieldDiff(field, old, new),)),))).splitlines()[3]


def test_values_are_quoted_raw_unless_they_need_json() -> None:
    assert _one_diff("prefix", "a\\b", "c") == '    prefix: "a\\b" -> "c"'
    assert _one_diff("prefix", "l1\nl2", 'say "x"') == '    prefix: "l1\\nl2" -> "say \\"x\\""'
    assert _one_diff("prefix", "Pümpe\n", None) == '    prefix: "Pümpe\\n" -> null'
    assert _one_diff("presign", True, 3) == "    presign: true -> 3"


def test_every_field_named_like_a_secret_is_sensitive() -> None:
    for field in ("token", "api_token", "aws_secret_access_key", "aws_access_key_id", "password"):
        assert _one_diff(field, "old-value", "new-value") == f"    {field}: (sensitive) -> (sensitive)"
    assert _one_diff("key_id", "a", "b") == '    key_id: "a" -> "b"'


def test_a_project_create_lists_title_labels_and_channels_with_defaults_for_missing_attributes() -> None:
    xml = ('<View><TimeSeries name="ts"><Channel column="a"/><Channel/></TimeSeries>'
           '<TimeSeriesLabels name="l" toName="ts"><Label/><Label value="Y"/></TimeSeriesLabels></View>')
    text = render_text(Plan((Create(_project(label_config=xml, title="T")),)))
    assert text.splitlines()[2:6] == ['  + project pump "T" (instance local)', '    title: "T"',
                                      '    labels: ", Y"', '    channels: "a, "']


# --- pinned: the JSON plan, field by field ---

def test_json_plan_of_every_change_kind() -> None:
    data = plan_to_dict(_rich_plan())
    assert data["format_version"] == 1
    assert [(c["action"], c["address"], c["type"]) for c in data["changes"]] == [
        ("create", "bucket logs CORS rule lsts-sync", "cors"),
        ("update", "bucket data CORS rule lsts-sync", "cors"),
        ("create", "project fresh", "project"),
        ("update", "project pump", "project"),
        ("create", "storage fresh/target", "storage"),
        ("update", "storage pump/source", "storage"),
        ("rotate", "storage pump/target", "storage"),
        ("delete", "storage gone/source", "storage"),
        ("delete", "project gone", "project")]
    assert ["diff" in c for c in data["changes"]] == [False, True, False, True, False, True, False, False, False]
    assert data["changes"][1]["diff"] == [{"field": "AllowedOrigins", "old": ["http://a:8080"],
                                           "new": ["http://b:8080"]}]
    assert data["changes"][5]["diff"] == [{"field": "regex_filter", "old": 'a"b', "new": "x\\.csv"},
                                          {"field": "presign_ttl", "old": 5, "new": 60}]
    title, config = data["changes"][3]["diff"]
    assert title == {"field": "title", "old": "Old", "new": "Pump 7"}
    assert config == {"field": "label_config", "old": OLD_LINES_XML, "new": NEW_XML, "template_changes": [
        {"path": "Label[label/New]", "old": None, "new": {"value": "New"}},
        {"path": "Label[label/Old]", "old": {"value": "Old"}, "new": None}]}
    assert data["syncs"] == [{"address": "storage pump/source", "reason": "new or changed", "pending": 2},
                             {"address": "storage fresh/source", "reason": "--sync", "pending": 0}]
    assert data["checks"][1] == {"name": "too-many-changes", "subject": "*", "message": "4 of 10",
                                 "override": "--force", "blocking": True, "allowed": True}
    assert len(data["checks"]) == 4
    assert data["blocked"] is True
    assert data["summary"] == {"create": 3, "update": 4, "delete": 2, "sync": 2,
                               "predictions": {"add": 0, "replace": 0, "remove": 0}}
    assert data["other_owners"] == {"ml": 2, "ops": 1}
    assert data["changed"] is True


def test_json_resources_are_whole_but_without_credentials_or_usage() -> None:
    data = plan_to_dict(_rich_plan())
    assert data["changes"][8]["resource"] == {"instance": "local", "name": "gone", "title": "Gone",
                                              "description": "d", "label_config": NEW_XML, "owner": "default",
                                              "id": 3, "settings": {}}
    storage = data["changes"][7]["resource"]
    assert "credentials" not in storage and storage["id"] == 9 and storage["presign_ttl"] == 1
    assert data["changes"][0]["resource"] == {"bucket": "logs", "rule": RULE, "others": (),
                                              "rule_id": "lsts-sync"}


def test_json_of_an_empty_plan() -> None:
    assert json.loads(render_json(Plan())) == {
        "format_version": 1, "changes": [], "syncs": [], "checks": [], "blocked": False,
        "summary": {"create": 0, "update": 0, "delete": 0, "sync": 0,
                    "predictions": {"add": 0, "replace": 0, "remove": 0}}, "other_owners": {}, "changed": False}


def test_json_text_is_indented_sorted_and_ends_with_a_newline() -> None:
    plan = Plan(checks=(Check("n", "s", "m", allowed=True),))
    text = render_json(plan)
    assert text.endswith("}\n") and text.startswith('{\n  "blocked": false,\n  "changed": false,\n  "changes": [],\n  "checks": [\n')
    assert json.loads(text)["blocked"] is False  # an allowed check does not block


def test_json_text_writes_unknown_values_as_strings() -> None:
    from pathlib import PurePosixPath

    storage = _storage(id=3)
    plan = Plan((Update(storage, storage, (FieldDiff("prefix", PurePosixPath("a/b"), "c"),)),))
    assert json.loads(render_json(plan))["changes"][0]["diff"] == [{"field": "prefix", "old": "a/b", "new": "c"}]
